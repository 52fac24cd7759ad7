//! The rolecall change file (`rolecall.change/1`, TOML or JSON): changes made by hand, in the
//! same terms as a plan. Documented in the README ("Checking a change before you apply it").
//!
//! ```toml
//! format = "rolecall.change/1"
//!
//! [[change]]
//! op = "grant"                 # or "revoke"
//! subject = "client:wfm-sync"  # client:, user: or group:, by name, email or id
//! role = "WFM Integration"
//! division = "Support EU"      # omitted: the home division; "*": all divisions
//! ```
//!
//! Objects are named by id or name; a role or division created earlier in the file can be
//! named by its name. Each op takes its own keys: any other key, a value of the wrong type, a
//! malformed permission or a revoke of a grant not held is an error naming the entry's line, so
//! a typo cannot silently drop or change a change.

use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::err::resource;
use super::{
    format_error, json_kind, not_a_permission, Change, ChangeError, ChangeSet, Edit, PlannedGrant,
    RoleSpec, SubjectKind, MAX_CHANGES, PLANNED_PREFIX,
};
use crate::model::Permission;

/// The `format` a change file declares.
pub const CHANGE_FORMAT: &str = "rolecall.change/1";

/// The keys each op takes besides `id` and `op`.
const OPS: [(&str, &[&str]); 7] = [
    ("grant", &["subject", "role", "division"]),
    ("revoke", &["subject", "role", "division"]),
    ("add-permissions", &["role", "permissions"]),
    ("remove-permissions", &["role", "permissions"]),
    ("create-role", &["name", "description", "permissions"]),
    ("create-division", &["name", "description"]),
    ("client-state", &["client", "state"]),
];

/// A map's pairs in document order, duplicates kept (so a key given twice can be refused).
struct Pairs<K, V>(Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pv<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Pv<K, V> {
            type Value = Pairs<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of keys and values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    out.push(pair);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Pv(std::marker::PhantomData))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDoc {
    format: String,
    #[serde(default)]
    change: Vec<toml::Spanned<Pairs<String, toml::Spanned<toml::Value>>>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDoc<'a> {
    format: String,
    #[serde(default, borrow)]
    change: Vec<&'a RawValue>,
}

/// One key of an entry: its line and its value (as JSON, whichever format it came in).
struct Field {
    key: String,
    line: usize,
    value: Value,
}

/// One `[[change]]` entry: the line of its first key, its keys in order.
struct Entry {
    line: usize,
    fields: Vec<Field>,
}

/// Where each line of a text starts, so a byte offset's line is a binary search (a change
/// file may hold 200,000 entries: scanning from the start for each would be quadratic).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Self {
        Self(
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }

    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset).max(1)
    }
}

pub(super) fn parse_toml(text: &str, path: &Path) -> Result<ChangeSet, ChangeError> {
    let doc: TomlDoc = toml::from_str(text)
        .map_err(|e| format_error(path, format!("it is not a change file: {}", e.message())))?;
    let lines = Lines::of(text);
    let mut entries = Vec::with_capacity(doc.change.len());
    for table in doc.change {
        let start = lines.line(table.span().start);
        let mut fields = Vec::new();
        for (key, value) in table.into_inner().0 {
            let line = lines.line(value.span().start);
            // A TOML date becomes an object here, so it is refused where a string goes.
            let value = serde_json::to_value(value.into_inner()).unwrap_or(Value::Null);
            fields.push(Field { key, line, value });
        }
        let line = fields.iter().map(|f| f.line).min().unwrap_or(start);
        entries.push(Entry { line, fields });
    }
    convert(&doc.format, entries, path)
}

pub(super) fn parse_json(text: &str, path: &Path) -> Result<ChangeSet, ChangeError> {
    let doc: JsonDoc<'_> = serde_json::from_str(text).map_err(|e| {
        format_error(
            path,
            format!("it is neither a Terraform plan nor a change file: {e}"),
        )
    })?;
    // Raw values borrow from `text`: where one starts in it is its line.
    let offset =
        |raw: &RawValue| (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let lines = Lines::of(text);
    let mut entries = Vec::with_capacity(doc.change.len());
    for raw in doc.change {
        let start = lines.line(offset(raw));
        let pairs: Pairs<String, &RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
            resource(&path.display().to_string(), "a change is not an object").at_line(Some(start))
        })?;
        let mut fields = Vec::with_capacity(pairs.0.len());
        for (key, value) in pairs.0 {
            fields.push(Field {
                key,
                line: lines.line(offset(value)),
                value: serde_json::from_str(value.get()).unwrap_or(Value::Null),
            });
        }
        entries.push(Entry {
            line: fields.first().map_or(start, |f| f.line),
            fields,
        });
    }
    convert(&doc.format, entries, path)
}

fn convert(format: &str, entries: Vec<Entry>, path: &Path) -> Result<ChangeSet, ChangeError> {
    if format != CHANGE_FORMAT {
        return Err(format_error(
            path,
            format!("its `format` is `{format}`, not `{CHANGE_FORMAT}`"),
        ));
    }
    if entries.len() > MAX_CHANGES {
        return Err(format_error(
            path,
            format!("it has more than {MAX_CHANGES} changes"),
        ));
    }
    let name = path.display().to_string();
    let mut set = ChangeSet {
        source: name.clone(),
        ..ChangeSet::default()
    };
    for (i, e) in entries.into_iter().enumerate() {
        let line = e.line;
        let keys = Keys::read(e, &format!("{name}#{}", i + 1))?;
        let address = keys.address.clone();
        let edit = keys.edit().map_err(|err| err.at_line(Some(line)))?;
        set.changes.push(Change {
            address,
            line: Some(line),
            edit,
        });
    }
    Ok(set)
}

/// An entry's keys, each checked against its op and for its type.
#[derive(Default)]
struct Keys {
    address: String,
    op: String,
    subject: Option<String>,
    role: Option<String>,
    division: Option<String>,
    permissions: Vec<String>,
    name: Option<String>,
    description: Option<String>,
    client: Option<String>,
    state: Option<String>,
}

impl Keys {
    fn read(e: Entry, default_address: &str) -> Result<Self, ChangeError> {
        // The address first, so every later error names the entry as outputs do.
        let address = match e.fields.iter().find(|f| f.key == "id") {
            Some(f) => string(f).map_err(|m| resource(default_address, m).at_line(Some(f.line)))?,
            None => default_address.to_owned(),
        };
        let fail = |line: usize, message: String, help: Option<String>| ChangeError::Resource {
            address: address.clone(),
            line: Some(line),
            message,
            help,
        };
        let Some(op) = e.fields.iter().find(|f| f.key == "op") else {
            return Err(fail(
                e.line,
                "the change has no `op`".to_owned(),
                Some(ops_help()),
            ));
        };
        let op_name = string(op).map_err(|m| fail(op.line, m, None))?;
        let Some((_, takes)) = OPS.iter().find(|(o, _)| *o == op_name) else {
            return Err(fail(
                op.line,
                format!("unknown op `{op_name}`"),
                Some(ops_help()),
            ));
        };
        let mut k = Self {
            address: address.clone(),
            op: op_name.clone(),
            ..Self::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for f in &e.fields {
            if seen.contains(&f.key.as_str()) {
                return Err(fail(f.line, format!("`{}` is given twice", f.key), None));
            }
            seen.push(&f.key);
            if f.key == "id" || f.key == "op" {
                continue;
            }
            if !takes.contains(&f.key.as_str()) {
                let list: Vec<String> = takes.iter().map(|t| format!("`{t}`")).collect();
                return Err(fail(
                    f.line,
                    format!("unknown field `{}` for op `{op_name}`", f.key),
                    Some(format!(
                        "op `{op_name}` takes {} (and `id`)",
                        list.join(", ")
                    )),
                ));
            }
            let slot = match f.key.as_str() {
                "permissions" => {
                    k.permissions = permissions(f).map_err(|m| fail(f.line, m, None))?;
                    continue;
                }
                "subject" => &mut k.subject,
                "role" => &mut k.role,
                "division" => &mut k.division,
                "name" => &mut k.name,
                "description" => &mut k.description,
                "client" => &mut k.client,
                _ => &mut k.state,
            };
            *slot = Some(string(f).map_err(|m| fail(f.line, m, None))?);
        }
        Ok(k)
    }

    fn need(&mut self, field: &str) -> Result<String, ChangeError> {
        let slot = match field {
            "subject" => &mut self.subject,
            "role" => &mut self.role,
            "name" => &mut self.name,
            "client" => &mut self.client,
            _ => &mut self.state,
        };
        slot.take()
            .ok_or_else(|| resource(&self.address, format!("`{}` needs `{field}`", self.op)))
    }

    fn edit(mut self) -> Result<Edit, ChangeError> {
        let op = self.op.clone();
        let address = self.address.clone();
        Ok(match op.as_str() {
            "grant" | "revoke" => {
                let subject = self.need("subject")?;
                let (kind, key) = match subject.split_once(':') {
                    Some(("client", k)) => (SubjectKind::Client, k),
                    Some(("user", k)) => (SubjectKind::User, k),
                    Some(("group", k)) => (SubjectKind::Group, k),
                    _ => {
                        return Err(resource(
                            &address,
                            format!("subject `{subject}` is not `client:NAME`, `user:EMAIL` or `group:NAME`"),
                        ))
                    }
                };
                Edit::Grant {
                    kind,
                    subject: key.to_owned(),
                    grant: PlannedGrant {
                        role: self.need("role")?,
                        division: self.division,
                    },
                    revoke: op == "revoke",
                }
            }
            "add-permissions" | "remove-permissions" => {
                if self.permissions.is_empty() {
                    return Err(resource(&address, format!("`{op}` needs `permissions`")));
                }
                let role = self.need("role")?;
                let (add, remove) = if op == "add-permissions" {
                    (self.permissions, Vec::new())
                } else {
                    (Vec::new(), self.permissions)
                };
                Edit::RolePermissions { role, add, remove }
            }
            "create-role" => Edit::PutRole {
                id: format!("{PLANNED_PREFIX}{address}"),
                create: true,
                spec: RoleSpec {
                    name: self.need("name")?,
                    description: self.description,
                    policies: super::policies_of(&self.permissions, &address)?,
                },
            },
            "create-division" => Edit::PutDivision {
                id: format!("{PLANNED_PREFIX}{address}"),
                create: true,
                name: self.need("name")?,
                description: self.description,
                home: false,
            },
            _ => {
                let state = self.need("state")?;
                if !["active", "inactive", "disabled"].contains(&state.as_str()) {
                    return Err(resource(
                        &address,
                        format!("state `{state}` is not `active`, `inactive` or `disabled`"),
                    ));
                }
                Edit::ClientState {
                    client: self.need("client")?,
                    state,
                }
            }
        })
    }
}

/// A key whose value must be a string.
fn string(f: &Field) -> Result<String, String> {
    match &f.value {
        Value::String(s) => Ok(s.clone()),
        v => Err(format!("`{}` is {}, not a string", f.key, json_kind(v))),
    }
}

fn ops_help() -> String {
    let names: Vec<&str> = OPS.iter().map(|(o, _)| *o).collect();
    format!("use {}", names.join(", "))
}

/// `permissions`: a list of `domain:entity:action` strings.
fn permissions(f: &Field) -> Result<Vec<String>, String> {
    let Value::Array(items) = &f.value else {
        return Err(format!(
            "`permissions` is {}, not a list of strings",
            json_kind(&f.value)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(p) if Permission::parse(p).is_some() => Ok(p.clone()),
            Value::String(p) => Err(not_a_permission(p)),
            v => Err(format!(
                "`permissions[{i}]` is {}, not a string",
                json_kind(v)
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_in_json_is_refused_at_its_line() {
        let text = "{\"format\": \"rolecall.change/1\", \"change\": [\n {\"op\": \"grant\", \"subject\": \"client:a\",\n  \"role\": \"R\", \"role\": \"S\"}]}";
        let e = parse_json(text, Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "resource `c.json#1` (line 3): `role` is given twice");
    }

    #[test]
    fn each_entry_is_at_the_line_of_its_first_key() {
        let text = "format = \"rolecall.change/1\"\n\n[[change]]\nid = \"t-1\"\nop = \"create-role\"\nname = \"R\"\npermissions = [\n  \"wfm:agent:view\",\n]\n\n[[change]]\nop = \"create-division\"\nname = \"D\"\n";
        let set = parse_toml(text, Path::new("c.toml")).unwrap();
        let at: Vec<(&str, Option<usize>)> = set
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c.line))
            .collect();
        assert_eq!(at, [("t-1", Some(4)), ("c.toml#2", Some(12))]);
    }

    #[test]
    fn an_op_without_its_keys_or_with_a_list_where_a_string_goes_names_the_line() {
        let head = "format = \"rolecall.change/1\"\n[[change]]\n";
        let cases = [
            (
                "op = \"client-state\"\nclient = \"c\"\n",
                "resource `c.toml#1` (line 3): `client-state` needs `state`",
            ),
            (
                "op = \"grant\"\nsubject = [\"client:a\"]\n",
                "resource `c.toml#1` (line 4): `subject` is a list, not a string",
            ),
            (
                "op = \"add-permissions\"\nrole = \"R\"\npermissions = [\"a:b:c\", 7]\n",
                "resource `c.toml#1` (line 5): `permissions[1]` is a number, not a string",
            ),
            (
                "subject = \"client:a\"\n",
                "resource `c.toml#1` (line 3): the change has no `op`",
            ),
        ];
        for (body, want) in cases {
            let e = parse_toml(&format!("{head}{body}"), Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert_eq!(e, want);
        }
    }
}
