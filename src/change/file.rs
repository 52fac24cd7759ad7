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
//! named by its name. Unknown fields are errors, so a typo cannot silently drop a change.

use std::path::Path;

use serde::Deserialize;

use super::{
    format_error, policies_of, Change, ChangeError, ChangeSet, Edit, PlannedGrant, RoleSpec,
    SubjectKind, MAX_CHANGES, PLANNED_PREFIX,
};

/// The `format` a change file declares.
pub const CHANGE_FORMAT: &str = "rolecall.change/1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    format: String,
    #[serde(default)]
    change: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// A label used as the address in outputs (default `FILE#N`).
    #[serde(default)]
    id: Option<String>,
    op: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    division: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

pub(super) fn parse_toml(text: &str, path: &Path) -> Result<ChangeSet, ChangeError> {
    let doc: FileDoc = toml::from_str(text)
        .map_err(|e| format_error(path, format!("it is not a change file: {}", e.message())))?;
    convert(doc, path)
}

pub(super) fn parse_json(doc: serde_json::Value, path: &Path) -> Result<ChangeSet, ChangeError> {
    let doc: FileDoc = serde_json::from_value(doc).map_err(|e| {
        format_error(
            path,
            format!("it is neither a Terraform plan nor a change file: {e}"),
        )
    })?;
    convert(doc, path)
}

fn convert(doc: FileDoc, path: &Path) -> Result<ChangeSet, ChangeError> {
    if doc.format != CHANGE_FORMAT {
        return Err(format_error(
            path,
            format!("its `format` is `{}`, not `{CHANGE_FORMAT}`", doc.format),
        ));
    }
    if doc.change.len() > MAX_CHANGES {
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
    for (i, e) in doc.change.into_iter().enumerate() {
        let address = e.id.clone().unwrap_or_else(|| format!("{name}#{}", i + 1));
        let edit = entry(e, &address)?;
        set.changes.push(Change { address, edit });
    }
    Ok(set)
}

fn need(v: Option<String>, field: &str, address: &str, op: &str) -> Result<String, ChangeError> {
    v.ok_or_else(|| super::err::resource(address, format!("`{op}` needs `{field}`")))
}

fn entry(e: Entry, address: &str) -> Result<Edit, ChangeError> {
    let op = e.op.as_str();
    Ok(match op {
        "grant" | "revoke" => {
            let subject = need(e.subject, "subject", address, op)?;
            let (kind, key) = match subject.split_once(':') {
                Some(("client", k)) => (SubjectKind::Client, k),
                Some(("user", k)) => (SubjectKind::User, k),
                Some(("group", k)) => (SubjectKind::Group, k),
                _ => {
                    return Err(super::err::resource(
                        address,
                        format!("subject `{subject}` is not `client:NAME`, `user:EMAIL` or `group:NAME`"),
                    ))
                }
            };
            Edit::Grant {
                kind,
                subject: key.to_owned(),
                grant: PlannedGrant {
                    role: need(e.role, "role", address, op)?,
                    division: e.division,
                },
                revoke: op == "revoke",
            }
        }
        "add-permissions" | "remove-permissions" => {
            if e.permissions.is_empty() {
                return Err(super::err::resource(address, format!("`{op}` needs `permissions`")));
            }
            let role = need(e.role, "role", address, op)?;
            let (add, remove) = if op == "add-permissions" {
                (e.permissions, Vec::new())
            } else {
                (Vec::new(), e.permissions)
            };
            Edit::RolePermissions { role, add, remove }
        }
        "create-role" => Edit::PutRole {
            id: format!("{PLANNED_PREFIX}{address}"),
            create: true,
            spec: RoleSpec {
                name: need(e.name, "name", address, op)?,
                description: e.description,
                policies: policies_of(&e.permissions, address)?,
            },
        },
        "create-division" => Edit::PutDivision {
            id: format!("{PLANNED_PREFIX}{address}"),
            create: true,
            name: need(e.name, "name", address, op)?,
            description: e.description,
            home: false,
        },
        "client-state" => {
            let state = need(e.state, "state", address, op)?;
            if !["active", "inactive", "disabled"].contains(&state.as_str()) {
                return Err(super::err::resource(
                    address,
                    format!("state `{state}` is not `active`, `inactive` or `disabled`"),
                ));
            }
            Edit::ClientState {
                client: need(e.client, "client", address, op)?,
                state,
            }
        }
        other => {
            return Err(ChangeError::Resource {
                address: address.to_owned(),
                message: format!("unknown op `{other}`"),
                help: Some("use grant, revoke, add-permissions, remove-permissions, create-role, create-division or client-state".to_owned()),
            })
        }
    })
}
