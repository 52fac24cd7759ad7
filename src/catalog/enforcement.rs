//! The enforcement table: operations whose enforced permission requirement differs from the
//! public API description (`data/enforcement.json`, each entry with its source and date).
//!
//! Genesys changes enforcement without changing the description: since 1 December 2025, OAuth
//! clients need `directory:user:edit` (or `directory:organization:admin`, or `admin`) for
//! user-management calls whose description declares no permission at all. An answer built from
//! the description alone would say ALLOWED where the platform answers 403. `explain` asks
//! [`lookup`] for every operation and uses the table's requirement over the description's,
//! saying so in plain words ([`Enforced::says`]); operations the description lacks altogether
//! are found through [`catalog`].
//!
//! The single-word permission `admin` appears in a few ANY lists. Roles' permission policies
//! (all the snapshot holds of a role) are always `domain:entity:action`, so nobody can be seen to
//! hold `admin`; rolecall assumes it comes with all-permission roles such as Master Admin, whose
//! holders pass through the operation's other permissions anyway, and says so where it applies.

use std::sync::OnceLock;

use serde::Deserialize;

use super::{Catalog, Origin};
use crate::model::{Operation, Requirement};

const TABLE: &str = include_str!("../../data/enforcement.json");

/// The table's format tag.
pub const FORMAT: &str = "rolecall.enforcement/1";

#[derive(Debug, Deserialize)]
struct File {
    format: String,
    entries: Vec<Enforced>,
}

/// One operation's enforced requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enforced {
    /// HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// operationId, for an operation the description lacks.
    #[serde(default)]
    pub operation_id: String,
    /// Path parameters the entry is limited to (`objectType = USER`).
    #[serde(default)]
    pub when: std::collections::BTreeMap<String, String>,
    /// The requirement enforced, when it differs from the description's.
    #[serde(default)]
    pub requires: Option<Requirement>,
    /// Permissions the operation also accepts that no role's permission policies can hold.
    #[serde(default)]
    pub also_accepts: Vec<String>,
    /// Scopes, for an operation the description lacks.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When it took effect (`YYYY-MM-DD`), if known.
    #[serde(default)]
    pub since: Option<String>,
    /// Where it is documented.
    pub source: String,
    /// What it means, in plain words.
    pub says: String,
}

impl Enforced {
    /// The sentence an explanation states: what is enforced, since when, and where it is said.
    #[must_use]
    pub fn statement(&self) -> String {
        let mut out = self.says.clone();
        if let Some(r) = &self.requires {
            let perms: Vec<String> = r
                .list
                .iter()
                .chain(&self.also_accepts)
                .map(|p| format!("`{p}`"))
                .collect();
            out.push_str(&format!(
                "; rolecall checks {} of {} instead of the description's requirement",
                r.kind,
                perms.join(", ")
            ));
        }
        out.push_str(&format!(" (source: {})", self.source));
        out
    }

    /// The `admin` assumption, where the operation accepts it.
    #[must_use]
    pub fn admin_assumption(&self) -> Option<String> {
        self.also_accepts.iter().any(|p| p == "admin").then(|| {
            "the operation also accepts the single-word permission `admin`, which no role's permission policies can hold; rolecall assumes it comes only with all-permission roles such as Master Admin, whose holders pass through the operation's other permissions".to_owned()
        })
    }
}

fn entries() -> &'static [Enforced] {
    static CELL: OnceLock<Vec<Enforced>> = OnceLock::new();
    CELL.get_or_init(|| {
        serde_json::from_str::<File>(TABLE)
            .ok()
            .filter(|f| f.format == FORMAT)
            .map(|f| f.entries)
            .unwrap_or_default()
    })
}

/// The entry for an operation (method and path template) called with these path parameters.
#[must_use]
pub fn lookup(method: &str, path: &str, params: &[(String, String)]) -> Option<&'static Enforced> {
    entries().iter().find(|e| {
        e.method.eq_ignore_ascii_case(method)
            && e.path == path
            && e.when.iter().all(|(k, v)| {
                params
                    .iter()
                    .any(|(name, value)| name == k && value.eq_ignore_ascii_case(v))
            })
    })
}

/// The operations of the table that the API description lacks, as a catalog: the last one
/// asked, behind the built-in catalog.
#[must_use]
pub fn catalog() -> &'static Catalog<'static> {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    static CELL: OnceLock<Catalog<'static>> = OnceLock::new();
    CELL.get_or_init(|| {
        let ops = OPS.get_or_init(|| {
            entries()
                .iter()
                .filter(|e| e.requires.is_some() && !e.operation_id.is_empty())
                .map(|e| Operation {
                    method: e.method.clone(),
                    path: e.path.clone(),
                    operation_id: e.operation_id.clone(),
                    permissions: e.requires.clone(),
                    scopes: e.scopes.clone(),
                    error_codes_403: Vec::new(),
                })
                .collect()
        });
        Catalog::new(ops).with_origin(Origin::Enforcement)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_table_parses_and_every_entry_has_a_source() {
        assert!(entries().len() >= 5, "{}", entries().len());
        for e in entries() {
            assert!(!e.source.is_empty() && !e.says.is_empty(), "{e:?}");
        }
        let params = [
            ("divisionId".to_owned(), "d1".to_owned()),
            ("objectType".to_owned(), "USER".to_owned()),
        ];
        let path = "/api/v2/authorization/divisions/{divisionId}/objects/{objectType}";
        assert!(lookup("POST", path, &params).is_some());
        let queue = [("objectType".to_owned(), "QUEUE".to_owned())];
        assert!(lookup("POST", path, &queue).is_none(), "only USER objects");
        assert!(catalog().find("PUT /api/v2/users/u-1/profile").is_some());
    }
}
