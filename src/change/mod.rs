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
mod overlay;
mod terraform;

use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use access::{
    new_access, plan_access, provider_calls, AccessCheck, AccessGain, CallWhen, ProviderCall,
    ResourceAccess, PROVIDER_CALLS,
};
pub use err::ChangeError;
pub use file::CHANGE_FORMAT;
pub use overlay::{apply, Applied, Causes, DiffCauses};

use crate::model::PermissionPolicy;

/// The id an object created by the change gets in the after-org: `planned:` and its address.
/// Real ids are assigned by Genesys on apply; outputs show these so the reader sees the object
/// does not exist yet.
pub const PLANNED_PREFIX: &str = "planned:";

/// Largest change file read, in bytes (a 1,000-resource plan is a few MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Resource types rolecall does not model that can still change who holds what: group
/// membership (roles pass to members), a user's state or division, the provider's other
/// authorization resources. An access gate cannot pass while a plan changes one.
pub const ACCESS_RELEVANT: [&str; 4] = [
    "genesyscloud_group",
    "genesyscloud_user",
    "genesyscloud_auth_",
    "genesyscloud_authorization_",
];

/// The entries of a change set's `not_modelled` list (`ADDRESS (TYPE)`) whose type can change
/// access ([`ACCESS_RELEVANT`]: exact types, or prefixes ending in `_`).
#[must_use]
pub fn access_relevant(not_modelled: &[String]) -> Vec<String> {
    not_modelled
        .iter()
        .filter(|entry| {
            let kind = entry
                .rsplit_once(" (")
                .map_or("", |(_, t)| t.trim_end_matches(')'));
            ACCESS_RELEVANT
                .iter()
                .any(|a| kind == *a || (a.ends_with('_') && kind.starts_with(a)))
        })
        .cloned()
        .collect()
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
}

/// One change, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The Terraform resource address, or `FILE#N` for a change-file entry.
    pub address: String,
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
    /// Resources of types rolecall does not model (`address (type)`), listed once and ignored.
    pub not_modelled: Vec<String>,
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
        self.notes.extend(other.notes);
    }
}

/// Read a plan or change file: Terraform's JSON plan (`terraform show -json tfplan`) when the
/// document has `resource_changes` or `format_version`, else a `rolecall.change/1` file (TOML
/// when the name ends in `.toml`, JSON otherwise).
///
/// # Errors
/// A [`ChangeError`] naming the file, or the resource address that cannot be read.
pub fn load_change(path: &Path) -> Result<ChangeSet, ChangeError> {
    let read = |source| ChangeError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ChangeError::TooLarge {
            path: path.to_owned(),
            limit: MAX_FILE_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return file::parse_toml(&text, path);
    }
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format_error(path, format!("it is not JSON: {e}")))?;
    drop(text);
    if doc.get("resource_changes").is_some() || doc.get("format_version").is_some() {
        terraform::parse(doc, path)
    } else {
        file::parse_json(doc, path)
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
        let mut parts = p.splitn(3, ':');
        let (Some(d), Some(e), Some(a)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err::resource(
                address,
                format!("`{p}` is not a `domain:entity:action` permission"),
            ));
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
