//! The shape of a `terraform show -json` plan, checked before anything is read from it: each
//! `resource_changes` entry's header (`address`, `type`, `mode`, `change.actions`), one entry
//! per address, the masks (`after_sensitive`, `after_unknown`) and typed field readers that
//! name the address and the field of any value of the wrong JSON type.

use std::collections::HashMap;

use serde_json::Value;

use super::super::err::{resource, ChangeError};
use super::super::json_kind;

/// The actions Terraform writes in `change.actions`.
const ACTIONS: [&str; 6] = ["no-op", "create", "read", "update", "delete", "forget"];

/// What a resource change does to the org (`read`, `no-op` and `forget` do nothing to it).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Acts {
    pub(super) create: bool,
    pub(super) update: bool,
    pub(super) delete: bool,
}

impl Acts {
    pub(super) fn writes(self) -> bool {
        self.create || self.update || self.delete
    }
}

/// The parts of a `resource_changes` entry every later step relies on, checked for their JSON
/// types.
pub(super) struct Header<'a> {
    pub(super) change: &'a serde_json::Map<String, Value>,
    pub(super) address: &'a str,
    pub(super) kind: &'a str,
    pub(super) data: bool,
    pub(super) deposed: Option<&'a str>,
    pub(super) acts: Acts,
}

/// `field` of an object: a string, or an error naming `address` and the field.
pub(super) fn required_str<'v>(
    obj: &'v serde_json::Map<String, Value>,
    address: &str,
    field: &str,
) -> Result<&'v str, ChangeError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(resource(address, format!("`{field}` is missing"))),
        Some(v) => Err(wrong(address, field, v, "a string")),
    }
}

pub(super) fn wrong(address: &str, path: &str, v: &Value, want: &str) -> ChangeError {
    resource(address, format!("`{path}` is {}, not {want}", json_kind(v)))
}

pub(super) fn header(i: usize, rc: &Value) -> Result<Header<'_>, ChangeError> {
    let at = format!("resource_changes[{i}]");
    let Value::Object(obj) = rc else {
        return Err(resource(
            &at,
            format!("it is {}, not an object", json_kind(rc)),
        ));
    };
    let address = required_str(obj, &at, "address")?;
    let kind = required_str(obj, address, "type")?;
    let data = match required_str(obj, address, "mode")? {
        "managed" => false,
        "data" => true,
        other => {
            return Err(resource(
                address,
                format!("`mode` is `{other}`, not `managed` or `data`"),
            ))
        }
    };
    let deposed = match obj.get("deposed") {
        None | Some(Value::Null) => None,
        Some(_) => Some(required_str(obj, address, "deposed")?),
    };
    let change = match obj.get("change") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => return Err(resource(address, "`change` is missing")),
        Some(v) => return Err(wrong(address, "change", v, "an object")),
    };
    let acts = actions(change, address)?;
    if data && acts.writes() {
        return Err(ChangeError::Resource {
            address: address.to_owned(),
            line: None,
            message: "`mode` is `data` but `change.actions` writes: a data source only reads".to_owned(),
            help: Some("Terraform plans data sources with `read` or `no-op`; check how the plan was made or edited".to_owned()),
        });
    }
    Ok(Header {
        change,
        address,
        kind,
        data,
        deposed,
        acts,
    })
}

fn actions(change: &serde_json::Map<String, Value>, address: &str) -> Result<Acts, ChangeError> {
    let list = match change.get("actions") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => return Err(resource(address, "`change.actions` is empty")),
        None | Some(Value::Null) => return Err(resource(address, "`change.actions` is missing")),
        Some(v) => return Err(wrong(address, "change.actions", v, "a list")),
    };
    let mut acts = Acts::default();
    for (i, a) in list.iter().enumerate() {
        let path = format!("change.actions[{i}]");
        let Value::String(a) = a else {
            return Err(wrong(address, &path, a, "a string"));
        };
        match a.as_str() {
            "create" => acts.create = true,
            "update" => acts.update = true,
            "delete" => acts.delete = true,
            s if ACTIONS.contains(&s) => {}
            s => {
                return Err(resource(
                    address,
                    format!(
                        "`{path}` is `{s}`, which is not a Terraform action (`{}`)",
                        ACTIONS.join("`, `")
                    ),
                ))
            }
        }
    }
    Ok(acts)
}

/// Refuse a plan that lists one resource (or one deposed object of it) twice: which of the two
/// applies is not something rolecall can know.
pub(super) fn no_duplicates(headers: &[Header<'_>]) -> Result<(), ChangeError> {
    let mut seen: HashMap<(&str, Option<&str>), usize> = HashMap::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        if let Some(first) = seen.insert((h.address, h.deposed), i) {
            return Err(ChangeError::Resource {
                address: h.address.to_owned(),
                line: None,
                message: format!(
                    "the `address` appears twice in `resource_changes` (entries {first} and {i})"
                ),
                help: Some(
                    "`terraform show -json` lists each resource once; was the plan merged or edited by hand?"
                        .to_owned(),
                ),
            });
        }
    }
    Ok(())
}

/// The paths under a sensitivity or unknown-value mask that are marked `true`
/// (`roles[0].division_ids`), the mask checked for its JSON type on the way.
pub(super) fn marked(
    mask: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), (String, &'static str)> {
    if depth > 64 {
        return Err((path.to_owned(), "nested deeper than 64 levels"));
    }
    match mask {
        Value::Bool(true) => out.push(path.to_owned()),
        Value::Bool(false) | Value::Null => {}
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                marked(v, &p, depth + 1, out)?;
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                marked(v, &format!("{path}[{i}]"), depth + 1, out)?;
            }
        }
        v => return Err((path.to_owned(), json_kind(v))),
    }
    Ok(())
}

/// A string at `path`: `None` when null or absent, an error naming the path when of another
/// type.
pub(super) fn opt_str<'v>(
    address: &str,
    path: &str,
    v: Option<&'v Value>,
) -> Result<Option<&'v str>, ChangeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(wrong(address, path, v, "a string")),
    }
}

pub(super) fn opt_bool(
    address: &str,
    path: &str,
    v: Option<&Value>,
) -> Result<Option<bool>, ChangeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(wrong(address, path, v, "a boolean")),
    }
}

pub(super) fn opt_list<'v>(
    address: &str,
    path: &str,
    v: Option<&'v Value>,
) -> Result<Option<&'v [Value]>, ChangeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(v) => Err(wrong(address, path, v, "a list")),
    }
}

pub(super) fn opt_strings(
    address: &str,
    path: &str,
    v: Option<&Value>,
) -> Result<Option<Vec<String>>, ChangeError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(v) => return Err(wrong(address, path, v, "a list of strings")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| match x {
            Value::String(s) => Ok(s.clone()),
            x => Err(wrong(address, &format!("{path}[{i}]"), x, "a string")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
