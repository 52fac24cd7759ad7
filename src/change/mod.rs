//! Planned changes: a Terraform plan of the `genesyscloud` provider (`terraform show -json`) or a
//! rolecall change file, read into a [`ChangeSet`] and applied to a loaded org as an overlay that
//! yields a new org ([`apply`]), each change attributed to the resource address that makes it.
//!
//! What it must not do: read sensitive values (`client_secret`, anything Terraform marks in
//! `after_sensitive`) into the change set, or touch the org it applies to. It decides nothing
//! about access itself: `check`, `diff` and `explain` run on the org it returns, and
//! [`plan_access`] asks `authz` whether the deploying client may make the calls.

mod access;
mod err;
mod file;
mod fix;
mod overlay;
mod terraform;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

pub use access::{
    new_access, plan_access, provider_calls, AccessCheck, AccessGain, CallWhen, ProviderCall,
    ResourceAccess, PROVIDER_CALLS,
};
pub use err::ChangeError;
pub use file::CHANGE_FORMAT;
pub use fix::{prove_fix, ProvenFix};
pub use overlay::{apply, Applied, Causes, DiffCauses};

use crate::model::{Permission, PermissionPolicy};

/// The id an object created by the change gets in the after-org: `planned:` and its address.
/// Real ids are assigned by Genesys on apply; outputs show these so the reader sees the object
/// does not exist yet.
pub const PLANNED_PREFIX: &str = "planned:";

/// Resource types rolecall does not model that can still change who holds what or how anyone
/// signs in: group membership (roles pass to members), a user's state or division, the
/// provider's other authorization resources, identity providers (who signs in, and with which
/// second factor) and trustee pairings (another org's access to this one). A plan that changes
/// one is read as an [`UnknownChange`] of its `type`: no gate passes it. Exact types, or
/// prefixes ending in `_`.
pub const ACCESS_RELEVANT: [&str; 6] = [
    "genesyscloud_group",
    "genesyscloud_user",
    "genesyscloud_auth_",
    "genesyscloud_authorization_",
    "genesyscloud_idp_",
    "genesyscloud_orgauthorization_pairing",
];

/// Whether a resource type rolecall does not model is in [`ACCESS_RELEVANT`].
#[must_use]
pub fn access_relevant(kind: &str) -> bool {
    ACCESS_RELEVANT
        .iter()
        .any(|a| kind == *a || (a.ends_with('_') && kind.starts_with(a)))
}

/// The org authentication settings resource (MFA, the IP and domain allow-lists).
pub const AUTH_SETTINGS: &str = "genesyscloud_organization_authentication_settings";

/// A resource change rolecall could not read completely: a field the overlay needs is marked
/// sensitive or unknown until apply, or its type is unmodelled and can change access. Its
/// effect is left out of the org after the change, and it is the one "unknown" every gate
/// fails on: `--no-new-access`, `--deny-new-access`, `plan-access`, and `check --plan` (as
/// unknown findings of the rules whose data it could change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownChange {
    /// The resource address.
    pub address: String,
    /// Its resource type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The field that could not be read (`roles[0].division_ids`), or `type`.
    pub field: String,
    /// Why, in words that follow the field's name (`is marked sensitive …`).
    pub reason: String,
}

impl UnknownChange {
    /// The snapshot datasets the change could alter: the rules that read them cannot decide.
    #[must_use]
    pub fn datasets(&self) -> &'static [&'static str] {
        match self.kind.as_str() {
            "genesyscloud_user_roles" | "genesyscloud_group_roles" => &["grants"],
            "genesyscloud_auth_role" => &["roles"],
            "genesyscloud_oauth_client" => &["oauthClients"],
            "genesyscloud_auth_division" => &["divisions"],
            AUTH_SETTINGS => &["authSettings"],
            "genesyscloud_group" => &["groups", "grants"],
            "genesyscloud_user" => &["users", "grants"],
            k if k.starts_with("genesyscloud_idp_") => &["authSettings", "users"],
            // Other authorization resources and trustee pairings: who holds what.
            _ => &["roles", "grants", "oauthClients"],
        }
    }
}

impl std::fmt::Display for UnknownChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: `{}` {}", self.address, self.field, self.reason)
    }
}

/// Most resource changes (or change-file entries) read from one file.
pub const MAX_CHANGES: usize = 200_000;

/// Who a grant change is for: the one subject-kind type of the crate (`authz`'s).
pub use crate::authz::SubjectKind;

/// One role in one division, as a change states it. `division: None` is the home division
/// (the provider's documented default); `*` is all divisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlannedGrant {
    /// Role id or name (or a planned id).
    pub role: String,
    /// Division id or name (or a planned id, or `*`); `None` = home.
    pub division: Option<String>,
}

/// A role as a change defines it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Permission policies.
    pub policies: Vec<PermissionPolicy>,
}

/// A client as a change defines it (never its secret).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientSpec {
    /// Name.
    pub name: String,
    /// `CLIENT-CREDENTIALS`, `CODE`, …
    pub grant_type: String,
    /// `active` or `inactive`.
    pub state: String,
    /// Scopes (user-context clients).
    pub scopes: Vec<String>,
    /// Roles by division (client-credentials clients).
    pub roles: Vec<PlannedGrant>,
}

/// What one change does to the org.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Edit {
    /// Create a role (`id` is a planned id) or replace an existing one's definition.
    PutRole {
        /// The role's id.
        id: String,
        /// Whether it exists before the change.
        create: bool,
        /// What it will be.
        spec: RoleSpec,
    },
    /// Delete a role.
    DeleteRole {
        /// Its id.
        id: String,
    },
    /// Set a subject's whole grant set (`genesyscloud_user_roles`, `genesyscloud_group_roles`
    /// are authoritative: grants not listed are removed).
    SetGrants {
        /// User or group.
        kind: SubjectKind,
        /// Its id.
        subject: String,
        /// Every grant it will hold.
        grants: Vec<PlannedGrant>,
    },
    /// Create or update a client (its roles are authoritative, as its `roleDivisions` are).
    PutClient {
        /// The client's id.
        id: String,
        /// Whether it exists before the change.
        create: bool,
        /// What it will be.
        spec: ClientSpec,
    },
    /// Delete a client.
    DeleteClient {
        /// Its id.
        id: String,
    },
    /// Create or rename a division.
    PutDivision {
        /// The division's id.
        id: String,
        /// Whether it exists before the change.
        create: bool,
        /// Name.
        name: String,
        /// Description.
        description: Option<String>,
        /// The provider's `home = true`: this resource manages the org's existing home
        /// division (whatever its id).
        home: bool,
    },
    /// Delete a division.
    DeleteDivision {
        /// Its id.
        id: String,
    },
    /// Grant (or revoke) one role to one subject in one division (change files).
    Grant {
        /// User, group or client.
        kind: SubjectKind,
        /// Id, name or email.
        subject: String,
        /// The grant.
        grant: PlannedGrant,
        /// Revoke instead of grant.
        revoke: bool,
    },
    /// Add or remove permissions of a role (change files).
    RolePermissions {
        /// Role id or name.
        role: String,
        /// `domain:entity:action` to add.
        add: Vec<String>,
        /// `domain:entity:action` to remove.
        remove: Vec<String>,
    },
    /// Set a client's state (change files).
    ClientState {
        /// Client id or name.
        client: String,
        /// `active`, `inactive` or `disabled`.
        state: String,
    },
    /// Set the org's authentication settings (`genesyscloud_organization_authentication_settings`:
    /// the provider sends all four fields on every create and update).
    PutAuthSettings(AuthSettingsSpec),
    /// Turn a group's `rolesEnabled` on or off (its roles pass to members only when on).
    GroupRoles {
        /// Group id or name.
        group: String,
        /// Whether roles pass to members.
        enabled: bool,
    },
    /// Set an access policy's `active` flag.
    PolicyActive {
        /// Policy id or name.
        policy: String,
        /// Whether it is in force.
        active: bool,
    },
    /// Add scopes to a user-context client.
    ClientScopes {
        /// Client id or name.
        client: String,
        /// Scopes to add.
        add: Vec<String>,
    },
}

/// The org authentication settings a change sets, as the provider sends them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSettingsSpec {
    /// `multifactor_authentication_required`.
    pub mfa_required: bool,
    /// `domain_allowlist_enabled`.
    pub domain_allowlist_enabled: bool,
    /// `domain_allowlist`.
    pub domain_allowlist: Vec<String>,
    /// `ip_address_allowlist`: empty lets every address call the API.
    pub ip_address_allowlist: Vec<String>,
}

/// One change, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The Terraform resource address, or `FILE#N` for a change-file entry.
    pub address: String,
    /// The line of a change-file entry (its first key), for errors; `None` for a plan.
    pub line: Option<usize>,
    /// What it does.
    pub edit: Edit,
}

/// Everything a plan or change file changes, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeSet {
    /// Where it was read from.
    pub source: String,
    /// The changes rolecall models.
    pub changes: Vec<Change>,
    /// Resources of types rolecall does not model and that cannot change access
    /// (`address (type)`), listed once and ignored.
    pub not_modelled: Vec<String>,
    /// Resource changes rolecall could not read completely: left out of the after-org, and
    /// every gate fails on them.
    pub unknown: Vec<UnknownChange>,
    /// Facts the reading leans on that the plan does not state (said to the user).
    pub notes: Vec<String>,
}

impl ChangeSet {
    /// Append another set (several `--plan` files apply in the order given).
    pub fn extend(&mut self, other: Self) {
        if self.source.is_empty() {
            self.source = other.source;
        } else {
            self.source = format!("{}, {}", self.source, other.source);
        }
        self.changes.extend(other.changes);
        self.not_modelled.extend(other.not_modelled);
        self.unknown.extend(other.unknown);
        self.notes.extend(other.notes);
    }
}

/// Read a `rolecall.change/1` TOML text that rolecall wrote itself (a `rightsize` proposal), the
/// same way [`load_change`] reads a file: what is proven is exactly what is written.
///
/// # Errors
/// A [`ChangeError`] naming `name` and the entry's line.
pub fn parse_change_toml(text: &str, name: &str) -> Result<ChangeSet, ChangeError> {
    file::parse_toml(text, Path::new(name))
}

/// Read a plan or change file through the one bounded reader ([`crate::io`]: regular files
/// only, never waiting on a FIFO, capped while reading): Terraform's JSON plan (`terraform show
/// -json tfplan`) when the document has `resource_changes` or `format_version`, else a
/// `rolecall.change/1` file (TOML when the name ends in `.toml`, JSON otherwise).
///
/// # Errors
/// A [`ChangeError`] naming the file, the resource address that cannot be read and the field,
/// or the change-file line.
pub fn load_change(path: &Path) -> Result<ChangeSet, ChangeError> {
    use crate::io::{read_text, Input};
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return file::parse_toml(&read_text(path, Input::ChangeFile)?, path);
    }
    // Which of the two a JSON file is shows only once it is parsed: read it with the plan's
    // cap, then hold a change file to its own.
    let text = read_text(path, Input::Plan)?;
    // A key given twice is refused: JSON readers disagree on which one wins, so a plan could
    // show one value to a reviewer's tool and another to rolecall.
    let doc: serde_json::Value = serde_json::from_str::<Strict>(&text)
        .map(|s| s.0)
        .map_err(|e| format_error(path, format!("it is not JSON rolecall can read: {e}")))?;
    if doc.get("resource_changes").is_some() || doc.get("format_version").is_some() {
        drop(text);
        return terraform::parse(doc, path);
    }
    drop(doc);
    let cap = Input::ChangeFile.max_bytes();
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > cap {
        return Err(format_error(
            path,
            format!(
                "a change file may be at most {} MiB; this one is larger",
                cap >> 20
            ),
        ));
    }
    file::parse_json(&text, path)
}

/// A JSON value whose objects hold every key once (a duplicate is an error naming it).
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Strict;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Strict, E> {
                Ok(Strict(b.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Strict, E> {
                Ok(Strict(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Strict, E> {
                Ok(Strict(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Strict, E> {
                Ok(Strict(
                    serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into),
                ))
            }
            fn visit_str<E>(self, s: &str) -> Result<Strict, E> {
                Ok(Strict(s.into()))
            }
            fn visit_string<E>(self, s: String) -> Result<Strict, E> {
                Ok(Strict(s.into()))
            }
            fn visit_unit<E>(self) -> Result<Strict, E> {
                Ok(Strict(serde_json::Value::Null))
            }
            fn visit_none<E>(self) -> Result<Strict, E> {
                Ok(Strict(serde_json::Value::Null))
            }
            fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Strict, D2::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
                let mut out = Vec::new();
                while let Some(Strict(v)) = a.next_element()? {
                    out.push(v);
                }
                Ok(Strict(out.into()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some(k) = a.next_key::<String>()? {
                    let Strict(v) = a.next_value()?;
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "the key `{}` is given twice in one object",
                            crate::text::visible(&k)
                        )));
                    }
                    out.insert(k, v);
                }
                Ok(Strict(out.into()))
            }
        }
        d.deserialize_any(V)
    }
}

fn format_error(path: &Path, message: String) -> ChangeError {
    ChangeError::Format {
        path: path.to_owned(),
        message,
    }
}

/// Permission policies granting each of `permissions` (`domain:entity:action`), one policy per
/// domain and entity.
fn policies_of(
    permissions: &[String],
    address: &str,
) -> Result<Vec<PermissionPolicy>, ChangeError> {
    let mut out: Vec<PermissionPolicy> = Vec::new();
    // Indexes, so a role of 100k permissions is read in linear time.
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for p in permissions {
        let Some(Permission {
            domain: d,
            entity: e,
            action: a,
        }) = Permission::parse(p)
        else {
            return Err(err::resource(address, not_a_permission(p)));
        };
        if !seen.insert(p.as_str()) {
            continue;
        }
        match at.get(&(d.to_owned(), e.to_owned())) {
            Some(&i) => out[i].action_set.push(a.to_owned()),
            None => {
                at.insert((d.to_owned(), e.to_owned()), out.len());
                out.push(PermissionPolicy {
                    domain: d.to_owned(),
                    entity_name: e.to_owned(),
                    action_set: vec![a.to_owned()],
                    allow_conditions: false,
                });
            }
        }
    }
    Ok(out)
}

/// The error text for a string that is not exactly three non-empty `:`-separated parts.
fn not_a_permission(p: &str) -> String {
    format!("`{p}` is not a `domain:entity:action` permission (three non-empty parts)")
}

/// What a JSON value is, in words, for errors about a field of the wrong type.
fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
