//! Reading `terraform show -json` plans of the `genesyscloud` provider into a [`ChangeSet`].
//!
//! Field names follow the provider's published schema (`docs/resources/auth_role.md`,
//! `user_roles.md`, `group_roles.md`, `oauth_client.md`, `auth_division.md` in
//! MyPureCloud/terraform-provider-genesyscloud). Values unknown until apply (ids of objects the
//! same plan creates) are resolved through `configuration` references to the planned object.
//! Sensitive values are removed from each resource before any field is read.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use super::err::{resource, ChangeError};
use super::{
    format_error, Change, ChangeSet, ClientSpec, Edit, PlannedGrant, RoleSpec, SubjectKind,
    MAX_CHANGES, PLANNED_PREFIX,
};
use crate::model::PermissionPolicy;

/// The resource types rolecall models.
const MODELLED: [&str; 5] = [
    "genesyscloud_auth_role",
    "genesyscloud_user_roles",
    "genesyscloud_group_roles",
    "genesyscloud_oauth_client",
    "genesyscloud_auth_division",
];

/// Read a parsed plan document.
pub(super) fn parse(doc: Value, path: &Path) -> Result<ChangeSet, ChangeError> {
    let Some(changes) = doc.get("resource_changes").and_then(Value::as_array) else {
        return Err(format_error(
            path,
            "the plan has no `resource_changes` array (was it made with `terraform show -json tfplan`?)".to_owned(),
        ));
    };
    if changes.len() > MAX_CHANGES {
        return Err(format_error(
            path,
            format!(
                "the plan has {} resource changes; rolecall reads at most {MAX_CHANGES}",
                changes.len()
            ),
        ));
    }
    let mut config = HashMap::new();
    if let Some(root) = doc.pointer("/configuration/root_module") {
        config_resources(root, "", 0, &mut config);
    }
    let created: HashMap<&str, &str> = changes
        .iter()
        .filter(|rc| actions(rc).iter().any(|a| a == "create"))
        .filter_map(|rc| Some((rc.get("address")?.as_str()?, rc.get("type")?.as_str()?)))
        .collect();
    let mut stripped: HashMap<String, Vec<(&str, &str)>> = HashMap::new();
    for (a, t) in &created {
        stripped.entry(strip_keys(a)).or_default().push((a, t));
    }
    let ctx = Ctx {
        created,
        stripped,
        config,
    };
    let mut set = ChangeSet {
        source: path.display().to_string(),
        ..ChangeSet::default()
    };
    let mut not_modelled = BTreeSet::new();
    for rc in changes {
        let address = rc.get("address").and_then(Value::as_str).unwrap_or("?");
        let kind = rc.get("type").and_then(Value::as_str).unwrap_or("?");
        let acts = actions(rc);
        if rc.get("mode").and_then(Value::as_str) == Some("data")
            || acts.iter().all(|a| a == "no-op" || a == "read")
        {
            continue;
        }
        if !MODELLED.contains(&kind) {
            not_modelled.insert(format!("{address} ({kind})"));
            continue;
        }
        let r = Resource::new(rc, address, kind, &acts)?;
        ctx.convert(&r, &mut set)?;
    }
    set.not_modelled = not_modelled.into_iter().collect();
    Ok(set)
}

fn actions(rc: &Value) -> Vec<String> {
    rc.pointer("/change/actions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Collect `expressions` of configuration resources by address without instance keys,
/// descending into module calls (bounded depth: configurations are trees, but the input is not
/// trusted).
fn config_resources(module: &Value, prefix: &str, depth: usize, out: &mut HashMap<String, Value>) {
    if depth > 16 {
        return;
    }
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(a), Some(e)) = (
            r.get("address").and_then(Value::as_str),
            r.get("expressions"),
        ) {
            out.insert(format!("{prefix}{a}"), e.clone());
        }
    }
    if let Some(calls) = module.get("module_calls").and_then(Value::as_object) {
        for (name, call) in calls {
            if let Some(m) = call.get("module") {
                config_resources(m, &format!("{prefix}module.{name}."), depth + 1, out);
            }
        }
    }
}

/// An address without instance keys (`module.m["a"].t.n[0]` → `module.m.t.n`).
/// `text` and each prefix of it that ends before a `.`: the addresses a reference may name.
fn dot_prefixes(text: &str) -> impl Iterator<Item = &str> {
    std::iter::once(text).chain(text.match_indices('.').map(|(i, _)| &text[..i]))
}

fn strip_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Remove sensitive values: every key `sensitive` marks `true`, and `client_secret` wherever
/// it appears (the provider marks it sensitive; this does not rely on the plan saying so).
fn scrub(value: &mut Value, sensitive: Option<&Value>, depth: usize) {
    if depth > 32 {
        *value = Value::Null;
        return;
    }
    match value {
        Value::Object(map) => {
            map.remove("client_secret");
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let s = sensitive.and_then(|s| s.get(&k));
                if s == Some(&Value::Bool(true)) {
                    map.remove(&k);
                } else if let Some(v) = map.get_mut(&k) {
                    scrub(v, s, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let s = sensitive.and_then(|s| s.get(i));
                if s == Some(&Value::Bool(true)) {
                    *v = Value::Null;
                } else {
                    scrub(v, s, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// One resource change, its sensitive values removed.
struct Resource<'a> {
    address: &'a str,
    kind: &'a str,
    create: bool,
    delete: bool,
    before: Value,
    after: Value,
    unknown: Value,
}

impl<'a> Resource<'a> {
    fn new(
        rc: &'a Value,
        address: &'a str,
        kind: &'a str,
        acts: &[String],
    ) -> Result<Self, ChangeError> {
        let part = |name: &str| {
            rc.pointer(&format!("/change/{name}"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut after = part("after");
        let mut before = part("before");
        if part("after_sensitive") == Value::Bool(true)
            || part("before_sensitive") == Value::Bool(true)
        {
            return Err(resource(
                address,
                "the whole resource is marked sensitive: rolecall does not read it",
            ));
        }
        scrub(&mut after, rc.pointer("/change/after_sensitive"), 0);
        scrub(&mut before, rc.pointer("/change/before_sensitive"), 0);
        Ok(Self {
            address,
            kind,
            create: acts.iter().any(|a| a == "create"),
            delete: acts.iter().any(|a| a == "delete"),
            before,
            after,
            unknown: part("after_unknown"),
        })
    }

    fn after_str(&self, field: &str) -> Option<&str> {
        self.after.get(field).and_then(Value::as_str)
    }

    fn before_id(&self) -> Result<String, ChangeError> {
        self.before
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                resource(
                    self.address,
                    "`before.id` is missing: cannot tell which object changes",
                )
            })
    }

    /// The object's id after the change: a planned id when it is created.
    fn id(&self) -> Result<String, ChangeError> {
        if self.create {
            return Ok(format!("{PLANNED_PREFIX}{}", self.address));
        }
        match self.after_str("id") {
            Some(id) => Ok(id.to_owned()),
            None => self.before_id(),
        }
    }

    fn required(&self, field: &str) -> Result<String, ChangeError> {
        self.after_str(field).map(str::to_owned).ok_or_else(|| {
            let why = if self.unknown.get(field) == Some(&Value::Bool(true)) {
                "is unknown until apply"
            } else {
                "is missing (or sensitive)"
            };
            resource(self.address, format!("`{field}` {why}"))
        })
    }
}

struct Ctx<'a> {
    /// Addresses the plan creates, with their types.
    created: HashMap<&'a str, &'a str>,
    /// The same, by address without instance keys (`x.y["k"]` → `x.y`).
    stripped: HashMap<String, Vec<(&'a str, &'a str)>>,
    /// Configuration expressions by address without instance keys.
    config: HashMap<String, Value>,
}

/// The references an expression lists (`{"references": [...]}`).
fn references(expr: Option<&Value>) -> Vec<&str> {
    expr.and_then(|e| e.get("references"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl Ctx<'_> {
    /// The expressions of a resource's configuration block.
    fn expressions(&self, address: &str) -> Option<&Value> {
        self.config.get(&strip_keys(address))
    }

    /// Resolve the references of an unknown value to the planned object of `want` type they
    /// name.
    fn planned(
        &self,
        r: &Resource<'_>,
        field: &str,
        refs: &[&str],
        want: &str,
    ) -> Result<String, ChangeError> {
        let unresolved = |reason: String| ChangeError::Unresolved {
            address: r.address.to_owned(),
            field: field.to_owned(),
            reason,
        };
        if refs.is_empty() {
            return Err(unresolved(
                "the plan's configuration lists no reference for it".to_owned(),
            ));
        }
        // References inside a module name resources of that module.
        let module = r
            .address
            .rfind(&format!("{}.", r.kind))
            .map_or("", |i| &r.address[..i]);
        let mut found: BTreeSet<(&str, &str)> = BTreeSet::new();
        for reference in refs {
            let full = format!("{module}{reference}");
            // A reference names a created address or an attribute under one: look each
            // `.`-prefix up (linear in the reference, whatever the plan's size).
            let exact: Vec<(&str, &str)> = dot_prefixes(&full)
                .filter_map(|p| self.created.get_key_value(p).map(|(a, t)| (*a, *t)))
                .collect();
            if exact.is_empty() {
                let base = strip_keys(&full);
                for p in dot_prefixes(&base) {
                    found.extend(self.stripped.get(p).into_iter().flatten().copied());
                }
            } else {
                found.extend(exact);
            }
        }
        let of_type: Vec<&str> = found
            .iter()
            .filter(|(_, t)| *t == want)
            .map(|(a, _)| *a)
            .collect();
        match (of_type.as_slice(), found.first()) {
            ([one], _) => Ok(format!("{PLANNED_PREFIX}{one}")),
            ([], Some((a, t))) => Err(unresolved(format!(
                "refers to `{a}` ({t}), which this plan creates but rolecall does not model here (it needs a `{want}`)"
            ))),
            ([], None) => Err(unresolved(format!(
                "refers to {}, which this plan does not create",
                refs.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ")
            ))),
            (many, _) => Err(unresolved(format!(
                "refers to several planned objects ({}); rolecall cannot tell which one",
                many.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// A top-level id field: its value, or the planned object its reference names.
    fn id_field(&self, r: &Resource<'_>, field: &str, want: &str) -> Result<String, ChangeError> {
        if let Some(v) = r.after_str(field) {
            return Ok(v.to_owned());
        }
        if r.unknown.get(field) == Some(&Value::Bool(true)) {
            let exprs = self.expressions(r.address);
            return self.planned(
                r,
                field,
                &references(exprs.and_then(|e| e.get(field))),
                want,
            );
        }
        Err(resource(r.address, format!("`{field}` is missing")))
    }

    fn convert(&self, r: &Resource<'_>, set: &mut ChangeSet) -> Result<(), ChangeError> {
        let push = |set: &mut ChangeSet, edit| {
            set.changes.push(Change {
                address: r.address.to_owned(),
                edit,
            });
        };
        // A replacement deletes the old object first; a plain delete stops there.
        if r.delete {
            let edit = match r.kind {
                "genesyscloud_auth_role" => Edit::DeleteRole { id: r.before_id()? },
                "genesyscloud_oauth_client" => Edit::DeleteClient { id: r.before_id()? },
                "genesyscloud_auth_division" => Edit::DeleteDivision { id: r.before_id()? },
                _ => {
                    let (kind, field) = subject_field(r.kind);
                    let subject = r.before.get(field).and_then(Value::as_str).ok_or_else(|| {
                        resource(r.address, format!("`before.{field}` is missing"))
                    })?;
                    if !r.create {
                        set.notes.push(format!(
                            "`{}`: destroying it is read as removing every role it manages from the {} (the provider's delete removes the grants it manages)",
                            r.address,
                            kind.as_str()
                        ));
                    }
                    Edit::SetGrants {
                        kind,
                        subject: subject.to_owned(),
                        grants: Vec::new(),
                    }
                }
            };
            push(set, edit);
            if !r.create {
                return Ok(());
            }
        }
        let edit = match r.kind {
            "genesyscloud_auth_role" => self.role(r, set)?,
            "genesyscloud_oauth_client" => self.client(r)?,
            "genesyscloud_auth_division" => Edit::PutDivision {
                id: r.id()?,
                create: r.create,
                name: r.required("name")?,
                description: r.after_str("description").map(str::to_owned),
                home: r
                    .after
                    .get("home")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            _ => {
                let (kind, field) = subject_field(r.kind);
                let want = if kind == SubjectKind::User {
                    "genesyscloud_user"
                } else {
                    "genesyscloud_group"
                };
                Edit::SetGrants {
                    kind,
                    subject: self.id_field(r, field, want)?,
                    grants: self.grants(r, "division_ids")?,
                }
            }
        };
        push(set, edit);
        Ok(())
    }

    fn role(&self, r: &Resource<'_>, set: &mut ChangeSet) -> Result<Edit, ChangeError> {
        let name = r.required("name")?;
        if r.create && r.after_str("default_role_id").is_some() {
            return Err(ChangeError::Resource {
                address: r.address.to_owned(),
                message: "it takes over an existing default role (`default_role_id`), which rolecall cannot match to a snapshot role before the provider has read it".to_owned(),
                help: Some("apply or import it once, then plan changes to it as an update".to_owned()),
            });
        }
        let mut policies = Vec::new();
        for (i, p) in r
            .after
            .get("permission_policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let text = |f: &str| p.get(f).and_then(Value::as_str).map(str::to_owned);
            let (Some(domain), Some(entity_name)) = (text("domain"), text("entity_name")) else {
                return Err(resource(r.address, format!("`permission_policies[{i}]` lacks `domain` or `entity_name` (or they are unknown until apply)")));
            };
            let action_set: Vec<String> = p
                .get("action_set")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            if p.get("conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty())
            {
                set.notes.push(format!(
                    "`{}`: the policy `{domain}:{entity_name}` has conditions rolecall does not evaluate; it is treated as unconditional, so the real access may be narrower",
                    r.address
                ));
            }
            policies.push(PermissionPolicy {
                domain,
                entity_name,
                action_set,
                allow_conditions: false,
            });
        }
        if r.after
            .get("permissions")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty())
        {
            set.notes.push(format!(
                "`{}`: general role permissions (`permissions`) are not modelled",
                r.address
            ));
        }
        Ok(Edit::PutRole {
            id: r.id()?,
            create: r.create,
            spec: RoleSpec {
                name,
                description: r.after_str("description").map(str::to_owned),
                policies,
            },
        })
    }

    fn client(&self, r: &Resource<'_>) -> Result<Edit, ChangeError> {
        let scopes = r
            .after
            .get("scopes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        Ok(Edit::PutClient {
            id: r.id()?,
            create: r.create,
            spec: ClientSpec {
                name: r.required("name")?,
                grant_type: r.required("authorized_grant_type")?,
                state: r.after_str("state").unwrap_or("active").to_owned(),
                scopes,
                roles: self.grants(r, "division_id")?,
            },
        })
    }

    /// The `roles` blocks of a resource as grants. `division_field` is `division_ids` (a set)
    /// for user and group roles, `division_id` (one) for clients; unset means home.
    fn grants(
        &self,
        r: &Resource<'_>,
        division_field: &str,
    ) -> Result<Vec<PlannedGrant>, ChangeError> {
        let blocks: Vec<&Value> = r
            .after
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let unknown_blocks = r.unknown.get("roles").and_then(Value::as_array);
        let config: Vec<&Value> = self
            .expressions(r.address)
            .and_then(|e| e.get("roles"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        // The whole set unknown until apply: read it from the configuration's blocks.
        if r.unknown.get("roles") == Some(&Value::Bool(true))
            && r.after.get("roles").is_none_or(Value::is_null)
        {
            return self.grants_from_config(r, division_field, &config);
        }
        // Unknown role ids are paired, in order, with the configuration blocks whose `role_id`
        // is a reference; likewise for unknown divisions.
        let mut role_refs = config
            .iter()
            .filter(|c| !references(c.get("role_id")).is_empty());
        let mut div_refs = config
            .iter()
            .filter(|c| !references(c.get(division_field)).is_empty());
        let mut out = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let unk = unknown_blocks.and_then(|u| u.get(i));
            let field = |f: &str| format!("roles[{i}].{f}");
            let role = match b.get("role_id").and_then(Value::as_str) {
                Some(id) => id.to_owned(),
                None if unk.and_then(|u| u.get("role_id")) == Some(&Value::Bool(true)) => {
                    let refs = role_refs
                        .next()
                        .map(|c| references(c.get("role_id")))
                        .unwrap_or_default();
                    self.planned(r, &field("role_id"), &refs, "genesyscloud_auth_role")?
                }
                None => {
                    return Err(resource(
                        r.address,
                        format!("`{}` is missing", field("role_id")),
                    ))
                }
            };
            let div_unknown = unk.and_then(|u| u.get(division_field));
            let mut divisions: Vec<Option<String>> = match b.get(division_field) {
                Some(Value::String(d)) if !d.is_empty() => vec![Some(d.clone())],
                Some(Value::Array(ds)) => ds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|d| Some(d.to_owned()))
                    .collect(),
                _ => Vec::new(),
            };
            let any_unknown = match div_unknown {
                Some(Value::Bool(true)) => true,
                Some(Value::Array(a)) => a.iter().any(|x| x == &Value::Bool(true)),
                _ => false,
            };
            if any_unknown {
                let refs = div_refs
                    .next()
                    .map(|c| references(c.get(division_field)))
                    .unwrap_or_default();
                divisions.push(Some(self.planned(
                    r,
                    &field(division_field),
                    &refs,
                    "genesyscloud_auth_division",
                )?));
            }
            if divisions.is_empty() {
                divisions.push(None);
            }
            out.extend(divisions.into_iter().map(|division| PlannedGrant {
                role: role.clone(),
                division,
            }));
        }
        Ok(out)
    }
}

impl Ctx<'_> {
    /// Grants from configuration blocks alone: constant values, or references to objects the
    /// plan creates.
    fn grants_from_config(
        &self,
        r: &Resource<'_>,
        division_field: &str,
        config: &[&Value],
    ) -> Result<Vec<PlannedGrant>, ChangeError> {
        if config.is_empty() {
            return Err(ChangeError::Unresolved {
                address: r.address.to_owned(),
                field: "roles".to_owned(),
                reason: "the plan's configuration has no `roles` blocks for it".to_owned(),
            });
        }
        let mut out = Vec::new();
        for (i, c) in config.iter().enumerate() {
            let field = |f: &str| format!("roles[{i}].{f}");
            let value = |f: &str, want: &str| -> Result<Vec<String>, ChangeError> {
                let expr = c.get(f);
                match expr.and_then(|e| e.get("constant_value")) {
                    Some(Value::String(v)) => Ok(vec![v.clone()]),
                    Some(Value::Array(vs)) => Ok(vs
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()),
                    Some(_) => Ok(Vec::new()),
                    None if expr.is_none() => Ok(Vec::new()),
                    None => Ok(vec![self.planned(r, &field(f), &references(expr), want)?]),
                }
            };
            let role = value("role_id", "genesyscloud_auth_role")?
                .into_iter()
                .next()
                .ok_or_else(|| resource(r.address, format!("`{}` is missing", field("role_id"))))?;
            let divisions = value(division_field, "genesyscloud_auth_division")?;
            if divisions.is_empty() {
                out.push(PlannedGrant {
                    role,
                    division: None,
                });
            } else {
                out.extend(divisions.into_iter().map(|d| PlannedGrant {
                    role: role.clone(),
                    division: Some(d),
                }));
            }
        }
        Ok(out)
    }
}

fn subject_field(kind: &str) -> (SubjectKind, &'static str) {
    if kind == "genesyscloud_group_roles" {
        (SubjectKind::Group, "group_id")
    } else {
        (SubjectKind::User, "user_id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wholly_unknown_role_set_is_read_from_the_configuration() {
        let doc = serde_json::json!({
            "format_version": "1.2",
            "resource_changes": [
                {"address": "genesyscloud_auth_role.r", "type": "genesyscloud_auth_role", "change": {
                    "actions": ["create"], "before": null, "after": {"name": "R"}, "after_unknown": {"id": true}}},
                {"address": "genesyscloud_oauth_client.c", "type": "genesyscloud_oauth_client", "change": {
                    "actions": ["create"], "before": null,
                    "after": {"name": "c", "authorized_grant_type": "CLIENT-CREDENTIALS", "roles": null},
                    "after_unknown": {"id": true, "roles": true}}}],
            "configuration": {"root_module": {"resources": [{"address": "genesyscloud_oauth_client.c", "expressions": {"roles": [
                {"role_id": {"references": ["genesyscloud_auth_role.r.id", "genesyscloud_auth_role.r"]}, "division_id": {"constant_value": "*"}}]}}]}}
        });
        let set = parse(doc, Path::new("p.json")).unwrap();
        let Edit::PutClient { spec, .. } = &set.changes[1].edit else {
            panic!("{set:?}")
        };
        assert_eq!(
            spec.roles,
            [PlannedGrant {
                role: format!("{PLANNED_PREFIX}genesyscloud_auth_role.r"),
                division: Some("*".to_owned())
            }]
        );
    }

    #[test]
    fn instance_keys_are_stripped() {
        assert_eq!(strip_keys("a.b[0]"), "a.b");
        assert_eq!(strip_keys(r#"module.m["x[1]"].t.n[2]"#), "module.m.t.n");
    }

    #[test]
    fn secrets_and_marked_values_are_removed() {
        let mut v = serde_json::json!({"name": "x", "client_secret": "s3cret", "nested": [{"token": "t", "keep": 1}]});
        let sens = serde_json::json!({"nested": [{"token": true}]});
        scrub(&mut v, Some(&sens), 0);
        assert_eq!(v, serde_json::json!({"name": "x", "nested": [{"keep": 1}]}));
    }
}
