//! Reading `terraform show -json` plans of the `genesyscloud` provider into a [`ChangeSet`].
//!
//! Field names follow the provider's published schema (`docs/resources/auth_role.md`,
//! `user_roles.md`, `group_roles.md`, `oauth_client.md`, `auth_division.md`,
//! `organization_authentication_settings.md` in MyPureCloud/terraform-provider-genesyscloud).
//! Values unknown until apply (ids of objects the same plan creates) are resolved through
//! `configuration` references to the planned object. Sensitive values are removed from each
//! resource before any field is read.
//!
//! The reading is strict, because a gate that passes a plan it could not read is worse than
//! no gate: every field the overlay uses is checked for its JSON type, and a plan of the wrong
//! shape (a missing `type` or `actions`, a data source that writes, one address twice) is an
//! error naming the address and the field. A resource whose access-deciding fields are marked
//! sensitive or unknown until apply, or whose type is unmodelled but can change access, is an
//! [`UnknownChange`]: left out of the after-org, and failed by every gate.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use super::err::{resource, ChangeError};
use super::{
    access_relevant, format_error, AuthSettingsSpec, Change, ChangeSet, ClientSpec, Edit,
    PlannedGrant, RoleSpec, SubjectKind, UnknownChange, AUTH_SETTINGS, MAX_CHANGES, PLANNED_PREFIX,
};
use crate::model::PermissionPolicy;

mod shape;

use shape::{
    header, marked, no_duplicates, opt_bool, opt_list, opt_str, opt_strings, wrong, Header,
};

/// The resource types rolecall models.
const MODELLED: [&str; 6] = [
    "genesyscloud_auth_role",
    "genesyscloud_user_roles",
    "genesyscloud_group_roles",
    "genesyscloud_oauth_client",
    "genesyscloud_auth_division",
    AUTH_SETTINGS,
];

/// The fields of a modelled type that decide access or what a rule checks: one of them marked
/// sensitive, or unknown until apply where no reference resolves it, makes the resource an
/// [`UnknownChange`]. (A description is not among them: a sensitive one is simply dropped.)
fn used_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "genesyscloud_auth_role" => &["name", "permission_policies", "default_role_id"],
        "genesyscloud_user_roles" => &["user_id", "roles"],
        "genesyscloud_group_roles" => &["group_id", "roles"],
        "genesyscloud_oauth_client" => {
            &["name", "authorized_grant_type", "state", "scopes", "roles"]
        }
        "genesyscloud_auth_division" => &["name", "home"],
        AUTH_SETTINGS => &[
            "multifactor_authentication_required",
            "domain_allowlist_enabled",
            "domain_allowlist",
            "ip_address_allowlist",
        ],
        _ => &[],
    }
}

/// Unknown-until-apply paths rolecall resolves through `configuration` references: subject ids,
/// and the role and division ids of `roles` blocks (or the whole set).
fn resolvable(path: &str) -> bool {
    if matches!(path, "user_id" | "group_id" | "roles") {
        return true;
    }
    let Some((_, field)) = path
        .strip_prefix("roles[")
        .and_then(|rest| rest.split_once("]."))
    else {
        return false;
    };
    let name = field.split('[').next().unwrap_or(field);
    matches!(name, "role_id" | "division_ids" | "division_id")
        && field[name.len()..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '[' || c == ']')
}

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
    let headers = changes
        .iter()
        .enumerate()
        .map(|(i, rc)| header(i, rc))
        .collect::<Result<Vec<_>, _>>()?;
    no_duplicates(&headers)?;
    let mut config = HashMap::new();
    if let Some(root) = doc.pointer("/configuration/root_module") {
        config_resources(root, "", 0, &mut config);
    }
    let created: HashMap<&str, &str> = headers
        .iter()
        .filter(|h| h.acts.create && h.deposed.is_none())
        .map(|h| (h.address, h.kind))
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
    for h in &headers {
        if h.data || !h.acts.writes() {
            continue;
        }
        if !MODELLED.contains(&h.kind) {
            if access_relevant(h.kind) {
                set.unknown.push(UnknownChange {
                    address: h.address.to_owned(),
                    kind: h.kind.to_owned(),
                    field: "type".to_owned(),
                    reason: format!("`{}` is not modelled, and it can change who holds access or how users sign in", h.kind),
                });
            } else {
                not_modelled.insert(format!("{} ({})", h.address, h.kind));
            }
            continue;
        }
        let r = Resource::new(h)?;
        if let Some(u) = r.unreadable() {
            set.unknown.push(u);
            continue;
        }
        ctx.convert(&r, &mut set)?;
    }
    set.not_modelled = not_modelled.into_iter().collect();
    Ok(set)
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

/// One resource change, its sensitive values removed, with the paths its masks mark.
struct Resource<'a> {
    address: &'a str,
    kind: &'a str,
    create: bool,
    delete: bool,
    before: Value,
    after: Value,
    unknown: Value,
    /// `after_sensitive` / `before_sensitive` paths marked `true` (`""`: the whole value).
    sensitive: Vec<String>,
    /// `after_unknown` paths marked `true`.
    unknown_paths: Vec<String>,
}

impl<'a> Resource<'a> {
    fn new(h: &Header<'a>) -> Result<Self, ChangeError> {
        let part = |name: &str| h.change.get(name).unwrap_or(&Value::Null);
        let object_or_null = |name: &str| match part(name) {
            v @ (Value::Object(_) | Value::Null) => Ok(v.clone()),
            v => Err(wrong(h.address, &format!("change.{name}"), v, "an object")),
        };
        let mut after = object_or_null("after")?;
        let mut before = object_or_null("before")?;
        if (h.acts.create || h.acts.update) && !after.is_object() {
            return Err(resource(h.address, "`change.after` is missing"));
        }
        let mask = |name: &str| {
            let mut out = Vec::new();
            marked(part(name), "", 0, &mut out).map_err(|(path, what)| {
                let dot = if path.starts_with('[') || path.is_empty() {
                    ""
                } else {
                    "."
                };
                resource(
                    h.address,
                    format!("`change.{name}{dot}{path}` is {what}, not a boolean, list or object"),
                )
            })?;
            Ok::<_, ChangeError>(out)
        };
        let mut sensitive = mask("after_sensitive")?;
        sensitive.extend(mask("before_sensitive")?);
        let unknown_paths = mask("after_unknown")?;
        scrub(&mut after, h.change.get("after_sensitive"), 0);
        scrub(&mut before, h.change.get("before_sensitive"), 0);
        Ok(Self {
            address: h.address,
            kind: h.kind,
            create: h.acts.create,
            delete: h.acts.delete,
            before,
            after,
            unknown: part("after_unknown").clone(),
            sensitive,
            unknown_paths,
        })
    }

    /// The first field the overlay needs that the plan does not state: marked sensitive, or
    /// unknown until apply where no reference can resolve it.
    fn unreadable(&self) -> Option<UnknownChange> {
        let used = used_fields(self.kind);
        let top = |p: &str| p.split(['.', '[']).next().unwrap_or(p).to_owned();
        let found = |field: &str, reason: &str| UnknownChange {
            address: self.address.to_owned(),
            kind: self.kind.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if self.sensitive.iter().any(String::is_empty) {
            return Some(found(
                "change",
                "is marked sensitive as a whole: rolecall does not read sensitive values, so it cannot tell what the change does",
            ));
        }
        if let Some(p) = self
            .sensitive
            .iter()
            .find(|p| used.contains(&top(p).as_str()))
        {
            return Some(found(
                p,
                "is marked sensitive: rolecall does not read sensitive values, so it cannot tell what the change does",
            ));
        }
        if !self.create && !self.after.is_object() {
            // A plain delete reads only `before`.
            return None;
        }
        self.unknown_paths
            .iter()
            .find(|p| p.is_empty() || (used.contains(&top(p).as_str()) && !resolvable(p)))
            .map(|p| {
                found(
                    if p.is_empty() { "after" } else { p },
                    "is unknown until apply, and no reference to an object the plan creates states it",
                )
            })
    }

    /// A string field of `after`: `None` when null or absent, an error when of another type.
    fn str(&self, field: &str) -> Result<Option<&str>, ChangeError> {
        opt_str(self.address, field, self.after.get(field))
    }

    fn before_id(&self) -> Result<String, ChangeError> {
        opt_str(self.address, "before.id", self.before.get("id"))?
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
        match self.str("id")? {
            Some(id) => Ok(id.to_owned()),
            None => self.before_id(),
        }
    }

    fn required(&self, field: &str) -> Result<String, ChangeError> {
        self.str(field)?
            .map(str::to_owned)
            .ok_or_else(|| resource(self.address, format!("`{field}` is missing")))
    }

    /// A list of strings in `after`: `None` when null or absent.
    fn strings(&self, field: &str) -> Result<Option<Vec<String>>, ChangeError> {
        opt_strings(self.address, field, self.after.get(field))
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
        if let Some(v) = r.str(field)? {
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
                line: None,
                edit,
            });
        };
        // A replacement deletes the old object first; a plain delete stops there.
        if r.delete {
            if let Some(edit) = self.deletion(r, set)? {
                push(set, edit);
            }
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
                description: r.str("description")?.map(str::to_owned),
                home: opt_bool(r.address, "home", r.after.get("home"))?.unwrap_or(false),
            },
            AUTH_SETTINGS => auth_settings(r, set)?,
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

    /// What destroying the resource does: `None` for the org's authentication settings (the
    /// provider's delete leaves them as they are).
    fn deletion(&self, r: &Resource<'_>, set: &mut ChangeSet) -> Result<Option<Edit>, ChangeError> {
        Ok(Some(match r.kind {
            "genesyscloud_auth_role" => Edit::DeleteRole { id: r.before_id()? },
            "genesyscloud_oauth_client" => Edit::DeleteClient { id: r.before_id()? },
            "genesyscloud_auth_division" => Edit::DeleteDivision { id: r.before_id()? },
            AUTH_SETTINGS => {
                if !r.create {
                    set.notes.push(format!(
                        "`{}`: destroying it leaves the org's authentication settings as they are (the provider's delete changes nothing)",
                        r.address
                    ));
                }
                return Ok(None);
            }
            _ => {
                let (kind, field) = subject_field(r.kind);
                let subject = opt_str(r.address, &format!("before.{field}"), r.before.get(field))?
                    .ok_or_else(|| resource(r.address, format!("`before.{field}` is missing")))?;
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
        }))
    }

    fn role(&self, r: &Resource<'_>, set: &mut ChangeSet) -> Result<Edit, ChangeError> {
        let name = r.required("name")?;
        if r.create && r.str("default_role_id")?.is_some() {
            return Err(ChangeError::Resource {
                address: r.address.to_owned(),
                line: None,
                message: "it takes over an existing default role (`default_role_id`), which rolecall cannot match to a snapshot role before the provider has read it".to_owned(),
                help: Some("apply or import it once, then plan changes to it as an update".to_owned()),
            });
        }
        let list = opt_list(
            r.address,
            "permission_policies",
            r.after.get("permission_policies"),
        )?;
        let mut policies = Vec::new();
        for (i, p) in list.unwrap_or_default().iter().enumerate() {
            let at = |f: &str| format!("permission_policies[{i}].{f}");
            if !p.is_object() {
                return Err(wrong(
                    r.address,
                    &format!("permission_policies[{i}]"),
                    p,
                    "an object",
                ));
            }
            let text = |f: &str| {
                opt_str(r.address, &at(f), p.get(f))?
                    .map(str::to_owned)
                    .ok_or_else(|| resource(r.address, format!("`{}` is missing", at(f))))
            };
            let (domain, entity_name) = (text("domain")?, text("entity_name")?);
            let action_set = opt_strings(r.address, &at("action_set"), p.get("action_set"))?
                .ok_or_else(|| resource(r.address, format!("`{}` is missing", at("action_set"))))?;
            if opt_list(r.address, &at("conditions"), p.get("conditions"))?
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
        if r.strings("permissions")?.is_some_and(|p| !p.is_empty()) {
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
                description: r.str("description")?.map(str::to_owned),
                policies,
            },
        })
    }

    fn client(&self, r: &Resource<'_>) -> Result<Edit, ChangeError> {
        Ok(Edit::PutClient {
            id: r.id()?,
            create: r.create,
            spec: ClientSpec {
                name: r.required("name")?,
                grant_type: r.required("authorized_grant_type")?,
                state: r.str("state")?.unwrap_or("active").to_owned(),
                scopes: r.strings("scopes")?.unwrap_or_default(),
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
        let blocks = opt_list(r.address, "roles", r.after.get("roles"))?;
        let config: Vec<&Value> = self
            .expressions(r.address)
            .and_then(|e| e.get("roles"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        // The whole set unknown until apply: read it from the configuration's blocks.
        let Some(blocks) = blocks else {
            if r.unknown.get("roles") == Some(&Value::Bool(true)) {
                return self.grants_from_config(r, division_field, &config);
            }
            return Ok(Vec::new());
        };
        let unknown_blocks = r.unknown.get("roles").and_then(Value::as_array);
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
            if !b.is_object() {
                return Err(wrong(r.address, &format!("roles[{i}]"), b, "an object"));
            }
            let unk = unknown_blocks.and_then(|u| u.get(i));
            let field = |f: &str| format!("roles[{i}].{f}");
            let role = match opt_str(r.address, &field("role_id"), b.get("role_id"))? {
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
            let mut divisions =
                block_divisions(r, b, &field(division_field), division_field, div_unknown)?;
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

/// The known divisions of one `roles` block: `division_ids` a list of strings (an element may
/// be null only where `after_unknown` marks it), `division_id` a string (empty: home).
fn block_divisions(
    r: &Resource<'_>,
    block: &Value,
    path: &str,
    division_field: &str,
    unknown: Option<&Value>,
) -> Result<Vec<Option<String>>, ChangeError> {
    let v = block.get(division_field);
    if division_field == "division_id" {
        return Ok(opt_str(r.address, path, v)?
            .filter(|d| !d.is_empty())
            .map(|d| vec![Some(d.to_owned())])
            .unwrap_or_default());
    }
    let mut out = Vec::new();
    for (j, d) in opt_list(r.address, path, v)?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match d {
            Value::String(s) => out.push(Some(s.clone())),
            Value::Null
                if unknown == Some(&Value::Bool(true))
                    || unknown.and_then(|u| u.get(j)) == Some(&Value::Bool(true)) => {}
            d => return Err(wrong(r.address, &format!("{path}[{j}]"), d, "a string")),
        }
    }
    Ok(out)
}

/// The org authentication settings as the provider sends them: it PATCHes all four fields on
/// every create and update, so one not set is sent as `false` or an empty list.
fn auth_settings(r: &Resource<'_>, set: &mut ChangeSet) -> Result<Edit, ChangeError> {
    let mut unset = Vec::new();
    let mut flag = |f: &'static str| -> Result<bool, ChangeError> {
        Ok(opt_bool(r.address, f, r.after.get(f))?.unwrap_or_else(|| {
            unset.push(f);
            false
        }))
    };
    let mfa_required = flag("multifactor_authentication_required")?;
    let domain_allowlist_enabled = flag("domain_allowlist_enabled")?;
    let mut list = |f: &'static str| -> Result<Vec<String>, ChangeError> {
        Ok(r.strings(f)?.unwrap_or_else(|| {
            unset.push(f);
            Vec::new()
        }))
    };
    let domain_allowlist = list("domain_allowlist")?;
    let ip_address_allowlist = list("ip_address_allowlist")?;
    if !unset.is_empty() {
        set.notes.push(format!(
            "`{}`: {} not set; the provider sends `false` or an empty list for them, and rolecall reads them so",
            r.address,
            unset.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Edit::PutAuthSettings(AuthSettingsSpec {
        mfa_required,
        domain_allowlist_enabled,
        domain_allowlist,
        ip_address_allowlist,
    }))
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
                let at = || format!("configuration: {}.constant_value", field(f));
                match expr.and_then(|e| e.get("constant_value")) {
                    Some(Value::String(v)) => Ok(vec![v.clone()]),
                    Some(Value::Array(vs)) => vs
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s.clone()),
                            v => Err(wrong(r.address, &at(), v, "a string")),
                        })
                        .collect(),
                    Some(Value::Null) => Ok(Vec::new()),
                    Some(v) => Err(wrong(r.address, &at(), v, "a string or a list of strings")),
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
                {"address": "genesyscloud_auth_role.r", "mode": "managed", "type": "genesyscloud_auth_role", "change": {
                    "actions": ["create"], "before": null, "after": {"name": "R"}, "after_unknown": {"id": true}}},
                {"address": "genesyscloud_oauth_client.c", "mode": "managed", "type": "genesyscloud_oauth_client", "change": {
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

    fn roles_change(address: &str, extra: &serde_json::Value) -> serde_json::Value {
        let mut rc = serde_json::json!({"address": address, "mode": "managed", "type": "genesyscloud_user_roles", "change": {
            "actions": ["update"], "before": {"id": "u", "user_id": "u"},
            "after": {"id": "u", "user_id": "u", "roles": [{"role_id": "r", "division_ids": ["d"]}]}}});
        for (k, v) in extra.as_object().into_iter().flatten() {
            rc[k] = v.clone();
        }
        rc
    }

    fn parsed(changes: &[serde_json::Value]) -> Result<ChangeSet, ChangeError> {
        parse(
            serde_json::json!({"format_version": "1.2", "resource_changes": changes}),
            Path::new("p.json"),
        )
    }

    #[test]
    fn only_reference_ids_unknown_until_apply_are_resolvable() {
        for p in [
            "user_id",
            "roles",
            "roles[0].role_id",
            "roles[3].division_ids",
            "roles[3].division_ids[12]",
            "roles[0].division_id",
        ] {
            assert!(resolvable(p), "{p}");
        }
        for p in [
            "name",
            "roles[0]",
            "roles[0].division_ids.x",
            "permission_policies[0].action_set",
        ] {
            assert!(!resolvable(p), "{p}");
        }
    }

    #[test]
    fn a_deposed_object_shares_its_address_and_forget_or_no_op_changes_nothing() {
        let deposed = roles_change(
            "genesyscloud_user_roles.a",
            &serde_json::json!({"deposed": "00000001"}),
        );
        let mut forget = roles_change("genesyscloud_user_roles.b", &serde_json::json!({}));
        forget["change"]["actions"] = serde_json::json!(["forget"]);
        let set = parsed(&[
            roles_change("genesyscloud_user_roles.a", &serde_json::json!({})),
            deposed,
            forget,
        ])
        .unwrap();
        let addresses: Vec<&str> = set.changes.iter().map(|c| c.address.as_str()).collect();
        assert_eq!(addresses, ["genesyscloud_user_roles.a"; 2]);
    }

    #[test]
    fn a_mask_of_the_wrong_type_is_an_error_naming_the_path() {
        let rc = roles_change("genesyscloud_user_roles.a", &serde_json::json!({}));
        let mut bad = rc.clone();
        bad["change"]["after_sensitive"] = serde_json::json!({"roles": [{"division_ids": "yes"}]});
        let e = parsed(&[bad]).unwrap_err().to_string();
        assert!(
            e.contains("`change.after_sensitive.roles[0].division_ids` is a string"),
            "{e}"
        );
        let mut whole = rc;
        whole["change"]["before_sensitive"] = serde_json::Value::Bool(true);
        let set = parsed(&[whole]).unwrap();
        assert!(set.changes.is_empty(), "{set:?}");
        assert_eq!(set.unknown[0].field, "change");
    }

    #[test]
    fn a_sensitive_description_is_dropped_but_a_sensitive_name_is_unknown() {
        let role = |sensitive: serde_json::Value| {
            serde_json::json!({"address": "genesyscloud_auth_role.r", "mode": "managed", "type": "genesyscloud_auth_role", "change": {
                "actions": ["create"], "before": null, "after": {"name": "R", "description": "secret"},
                "after_unknown": {"id": true}, "after_sensitive": sensitive}})
        };
        let set = parsed(&[role(serde_json::json!({"description": true}))]).unwrap();
        let Edit::PutRole { spec, .. } = &set.changes[0].edit else {
            panic!("{set:?}")
        };
        assert_eq!(
            (spec.name.as_str(), spec.description.as_deref()),
            ("R", None)
        );
        let set = parsed(&[role(serde_json::json!({"name": true}))]).unwrap();
        assert!(set.changes.is_empty());
        assert_eq!(
            set.unknown[0].to_string(),
            "`genesyscloud_auth_role.r`: `name` is marked sensitive: rolecall does not read sensitive values, so it cannot tell what the change does"
        );
    }

    #[test]
    fn org_authentication_settings_send_every_field_and_destroying_them_changes_nothing() {
        let settings = |actions: serde_json::Value, after: serde_json::Value| {
            serde_json::json!({"address": "genesyscloud_organization_authentication_settings.s", "mode": "managed",
                "type": AUTH_SETTINGS, "change": {"actions": actions, "before": {"id": "Settings"}, "after": after}})
        };
        let set = parsed(&[settings(
            serde_json::json!(["update"]),
            serde_json::json!({"id": "Settings", "multifactor_authentication_required": true, "ip_address_allowlist": ["10.0.0.0/8"]}),
        )])
        .unwrap();
        assert_eq!(
            set.changes[0].edit,
            Edit::PutAuthSettings(AuthSettingsSpec {
                mfa_required: true,
                domain_allowlist_enabled: false,
                domain_allowlist: Vec::new(),
                ip_address_allowlist: vec!["10.0.0.0/8".to_owned()],
            })
        );
        assert!(
            set.notes[0].contains("`domain_allowlist_enabled`, `domain_allowlist` not set"),
            "{:?}",
            set.notes
        );
        let set = parsed(&[settings(
            serde_json::json!(["delete"]),
            serde_json::Value::Null,
        )])
        .unwrap();
        assert!(set.changes.is_empty() && set.unknown.is_empty(), "{set:?}");
    }
}
