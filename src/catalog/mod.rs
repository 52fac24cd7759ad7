//! The operation catalog: which permissions, scopes and 403 codes each API operation has, and
//! matching a concrete request (`POST /api/v2/…/abc/agents`) or an operationId to it.
//!
//! Built from the API description by [`parse_swagger`]; stored in snapshots as `operations`.
//! Which catalog answers a question is decided here, once: `--catalog FILE` (via
//! [`Catalog::new`] with [`Origin::File`]) over the snapshot's own catalog, and the built-in
//! catalog ([`builtin()`]) for snapshots that carry none or lack the operation asked about.

mod builtin;
pub mod enforcement;
mod swagger;
pub mod usage;

use std::path::Path;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde::Serialize;

pub use builtin::{
    builtin, decode, encode, gunzip, is_gzip, BuiltinCatalog, FORMAT, MAX_DECOMPRESSED,
};
pub use swagger::parse_swagger;

use crate::model::{Operation, OperationIndex, Org};

/// Where a catalog's operations come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Origin {
    /// The snapshot's own catalog (read from the org's API description when it was fetched).
    Snapshot {
        /// When the snapshot was fetched, if it says.
        #[serde(rename = "fetchedAt")]
        fetched_at: Option<String>,
    },
    /// The catalog compiled into rolecall.
    Builtin {
        /// Date of the API description it was built from.
        date: String,
    },
    /// A file given on the command line.
    File {
        /// The file.
        path: String,
    },
    /// rolecall's enforcement table: an operation Genesys enforces that the API description
    /// lacks.
    Enforcement,
}

impl Origin {
    /// In words, with the number of operations and the age: "built-in catalog (API description
    /// of 2026-07-23, 131 days old; 3180 operations)".
    #[must_use]
    pub fn describe(&self, operations: usize, now: SystemTime) -> String {
        match self {
            Self::Snapshot { fetched_at } => {
                let when = fetched_at.as_deref().map_or_else(
                    || "fetch time unknown".to_owned(),
                    |t| format!("fetched {t}{}", age(t, now)),
                );
                format!("the snapshot's own catalog ({when}; {operations} operations)")
            }
            Self::Builtin { date } => format!(
                "rolecall's built-in catalog (API description of {date}{}; {operations} operations)",
                age(date, now)
            ),
            Self::File { path } => format!("catalog file `{path}` ({operations} operations)"),
            Self::Enforcement => format!(
                "rolecall's enforcement table of operations Genesys enforces beyond the API description ({operations} operations)"
            ),
        }
    }
}

/// Said when the built-in catalog stands in for a snapshot that carries none.
pub const NO_OWN_CATALOG: &str = "the snapshot has no catalog of its own";

/// ", N days old" for an RFC 3339 time or a `YYYY-MM-DD` date; empty when it does not parse.
fn age(when: &str, now: SystemTime) -> String {
    let full = if when.len() == 10 {
        format!("{when}T00:00:00Z")
    } else {
        when.to_owned()
    };
    humantime::parse_rfc3339_weak(&full)
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .map(|d| format!(", {} days old", d.as_secs() / 86_400))
        .unwrap_or_default()
}

/// Read operations from a file: Genesys's API description (`swagger.json`, as served at
/// `/api/v2/docs/swagger`), a JSON list of operations, or a built-in-style catalog file, each
/// optionally gzip-compressed.
///
/// # Errors
/// A message naming the file when it cannot be read or is none of these.
pub fn load_file(path: &Path) -> Result<Vec<Operation>, String> {
    let raw = crate::io::read_bytes(path, crate::io::Input::Catalog).map_err(|e| e.to_string())?;
    let bytes = if is_gzip(&raw) {
        gunzip(&raw).map_err(|e| format!("catalog `{}`: {e}", path.display()))?
    } else {
        raw
    };
    if let Ok(ops) = serde_json::from_slice::<Vec<Operation>>(&bytes) {
        return Ok(ops);
    }
    if let Ok(c) = serde_json::from_slice::<BuiltinCatalog>(&bytes) {
        if c.format == FORMAT {
            return Ok(c.operations);
        }
    }
    parse_swagger(&bytes).map_err(|e| {
        format!(
            "`{}` is neither an API description nor an operation list: {e}",
            path.display()
        )
    })
}

/// An operation matched to a request, with the path parameters it bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'a> {
    /// The operation.
    pub operation: &'a Operation,
    /// `(name, value)` for each `{param}` in the template, in order.
    pub params: Vec<(String, String)>,
    /// Which catalog answered, in words (see [`Origin::describe`]), and whether it was the
    /// built-in one standing in for a catalog that lacks the operation.
    pub source: &'a Origin,
    /// Whether the built-in catalog answered because the primary one lacks the operation.
    pub fell_back: bool,
    /// How many operations the answering catalog holds.
    pub catalog_len: usize,
}

impl Matched<'_> {
    /// The enforcement table's entry for this call, when Genesys enforces more than the API
    /// description says (see [`enforcement`]).
    #[must_use]
    pub fn enforced(&self) -> Option<&'static enforcement::Enforced> {
        enforcement::lookup(&self.operation.method, &self.operation.path, &self.params)
    }

    /// The requirement the call is enforced with: the table's when it has one, else the
    /// description's. The one place that choice is made.
    #[must_use]
    pub fn requirement(&self) -> Option<crate::model::Requirement> {
        self.enforced()
            .and_then(|e| e.requires.clone())
            .or_else(|| self.operation.permissions.clone())
    }
}

/// Operations indexed for lookup by method and path shape, and by operationId.
#[derive(Debug, Clone)]
pub struct Catalog<'a> {
    ops: &'a [Operation],
    /// Built with the catalog, or the org's own, built once ([`Org::operations`]).
    index: std::borrow::Cow<'a, OperationIndex>,
    origin: Origin,
    /// Asked when `ops` lacks an operation (the built-in catalog behind a snapshot's own).
    fallback: Option<&'static Catalog<'static>>,
}

impl Default for Catalog<'_> {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// The built-in catalog, indexed once per process.
#[must_use]
pub fn builtin_catalog() -> &'static Catalog<'static> {
    static CELL: OnceLock<Catalog<'static>> = OnceLock::new();
    CELL.get_or_init(|| {
        let b = builtin();
        Catalog::new(&b.operations)
            .with_origin(Origin::Builtin {
                date: b.date.clone(),
            })
            .with_fallback(enforcement::catalog())
    })
}

impl<'a> Catalog<'a> {
    /// The catalog for questions about `org`: its snapshot's own operations, with the built-in
    /// catalog behind them for operations the snapshot lacks (or all of them, when it has none).
    #[must_use]
    pub fn for_org(org: &'a Org) -> Self {
        let snap = org.snapshot();
        Self {
            ops: &snap.operations,
            index: std::borrow::Cow::Borrowed(org.operations()),
            origin: Origin::Snapshot {
                fetched_at: snap.fetched_at.clone(),
            },
            fallback: Some(builtin_catalog()),
        }
    }

    /// Label where the operations come from (default: the snapshot's own).
    #[must_use]
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Ask `fallback` for operations this catalog lacks.
    #[must_use]
    pub fn with_fallback(mut self, fallback: &'static Catalog<'static>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Where the operations come from.
    #[must_use]
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The catalog in words, for reports: which one, how old, how many operations; with the
    /// built-in one named when it stands behind an empty catalog.
    #[must_use]
    pub fn describe(&self, now: SystemTime) -> String {
        match self.fallback {
            Some(f) if self.ops.is_empty() => {
                format!("{}: {NO_OWN_CATALOG}", f.origin.describe(f.len(), now))
            }
            Some(f) => format!(
                "{} or {}",
                self.origin.describe(self.len(), now),
                f.origin.describe(f.len(), now)
            ),
            None => self.origin.describe(self.len(), now),
        }
    }

    /// Index operations (usually `org.snapshot().operations`).
    #[must_use]
    pub fn new(ops: &'a [Operation]) -> Self {
        Self {
            ops,
            index: std::borrow::Cow::Owned(OperationIndex::of(ops)),
            origin: Origin::Snapshot { fetched_at: None },
            fallback: None,
        }
    }

    /// Number of operations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the catalog is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Find the operation for `"METHOD /path"` (a concrete path or a template), or an operationId.
    /// Query strings are ignored. Literal segments win over parameters when templates overlap
    /// (`/users/me` over `/users/{userId}`). The fallback catalog answers only when this one
    /// has no match.
    #[must_use]
    pub fn find(&self, spec: &str) -> Option<Matched<'_>> {
        if let Some(m) = self.find_here(spec) {
            return Some(m);
        }
        let mut m = self.fallback?.find(spec)?;
        m.fell_back = true;
        Some(m)
    }

    /// The operations nearest to a `"METHOD /path"` that matched none (at most three): same
    /// method and number of segments, all but one literal segment matching, the other within a
    /// few edits; or another method on the same path. For "did you mean" in errors.
    #[must_use]
    pub fn suggest(&self, spec: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut c = Some(self);
        while let Some(cat) = c {
            for s in cat.suggest_here(spec) {
                if !out.contains(&s) && out.len() < 3 {
                    out.push(s);
                }
            }
            c = cat.fallback;
        }
        out
    }

    fn suggest_here(&self, spec: &str) -> Vec<String> {
        let spec = spec.trim();
        let Some((method, path)) = spec.split_once(char::is_whitespace) else {
            return crate::model::nearest(spec, self.index.by_id.keys().map(String::as_str));
        };
        let path = path.trim();
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let path = path.find("/api/").map_or(path, |i| &path[i..]);
        let want = OperationIndex::split(path);
        let mut scored: Vec<(usize, String)> = Vec::new();
        for op in self.ops {
            let tmpl = OperationIndex::split(&op.path);
            if tmpl.len() != want.len() {
                continue;
            }
            let mut cost = usize::from(!op.method.eq_ignore_ascii_case(method)) * 2;
            for (t, w) in tmpl.iter().zip(&want) {
                if (t.starts_with('{') && t.ends_with('}')) || t == w {
                    continue;
                }
                cost += if crate::model::nearest(w, std::iter::once(*t)).is_empty() {
                    10
                } else {
                    1
                };
            }
            if cost <= 2 {
                let shown = format!("{} {}", op.method, op.path);
                scored.push((cost, crate::text::visible(&shown).into_owned()));
            }
        }
        scored.sort();
        scored.into_iter().take(3).map(|(_, s)| s).collect()
    }

    fn find_here(&self, spec: &str) -> Option<Matched<'_>> {
        let spec = spec.trim();
        let Some((method, path)) = spec.split_once(char::is_whitespace) else {
            return self.index.by_id.get(spec).map(|&i| Matched {
                operation: &self.ops[i],
                params: Vec::new(),
                source: &self.origin,
                fell_back: false,
                catalog_len: self.ops.len(),
            });
        };
        let path = path.trim();
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        // Accept full URLs: keep what starts at `/api/`.
        let path = path.find("/api/").map_or(path, |i| &path[i..]);
        let want = OperationIndex::split(path);
        let candidates = self
            .index
            .by_shape
            .get(&(method.to_ascii_uppercase(), want.len()))?;
        let mut best: Option<(usize, usize)> = None;
        for &i in candidates {
            let tmpl = OperationIndex::split(&self.ops[i].path);
            let mut literal = 0;
            let ok = tmpl.iter().zip(&want).all(|(t, w)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !w.is_empty()
                } else if t == w {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if ok && best.is_none_or(|(_, l)| literal > l) {
                best = Some((i, literal));
            }
        }
        let (i, _) = best?;
        let op = &self.ops[i];
        let params = OperationIndex::split(&op.path)
            .into_iter()
            .zip(want)
            .filter(|(t, _)| t.starts_with('{') && t.ends_with('}'))
            .map(|(t, w)| (t.trim_matches(['{', '}']).to_owned(), w.to_owned()))
            .collect();
        Some(Matched {
            operation: op,
            params,
            source: &self.origin,
            fell_back: false,
            catalog_len: self.ops.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server asks every question through `for_org`: the org's operations are indexed once,
    /// and every catalog of that org borrows the one index (and finds through it).
    #[test]
    fn catalogs_of_one_org_share_its_operation_index() {
        let mut snap = crate::model::OrgBuilder::new("t").division("Home").build();
        snap.operations = vec![op("GET", "/api/v2/things/{id}", "getThing")];
        let org = Org::new(snap);
        let (a, b) = (Catalog::for_org(&org), Catalog::for_org(&org));
        assert!(matches!(a.index, std::borrow::Cow::Borrowed(_)));
        assert!(std::ptr::eq(&*a.index, &*b.index));
        let found = a
            .find("GET /api/v2/things/7")
            .map(|m| m.operation.operation_id.clone());
        assert_eq!(found.as_deref(), Some("getThing"));
        assert!(a.find("getThing").is_some());
    }

    fn op(method: &str, path: &str, id: &str) -> Operation {
        Operation {
            method: method.into(),
            path: path.into(),
            operation_id: id.into(),
            ..Operation::default()
        }
    }

    #[test]
    fn concrete_paths_match_templates() {
        let ops = vec![
            op(
                "PATCH",
                "/api/v2/workforcemanagement/managementunits/{managementUnitId}/agents",
                "patchAgents",
            ),
            op("GET", "/api/v2/users/{userId}", "getUser"),
            op("GET", "/api/v2/users/me", "getUsersMe"),
            op("POST", "/api/v2/workforcemanagement/agents", "postAgents"),
        ];
        let c = Catalog::new(&ops);
        let m = c
            .find("PATCH /api/v2/workforcemanagement/managementunits/abc/agents")
            .unwrap();
        assert_eq!(m.operation.operation_id, "patchAgents");
        assert_eq!(
            m.params,
            [("managementUnitId".to_owned(), "abc".to_owned())]
        );
        assert_eq!(
            c.find("get /api/v2/users/me")
                .unwrap()
                .operation
                .operation_id,
            "getUsersMe"
        );
        assert_eq!(
            c.find("GET /api/v2/users/u-1?expand=x")
                .unwrap()
                .operation
                .operation_id,
            "getUser"
        );
        assert_eq!(
            c.find("GET https://api.mypurecloud.ie/api/v2/users/u-1")
                .unwrap()
                .operation
                .operation_id,
            "getUser"
        );
        assert_eq!(
            c.find("postAgents").unwrap().operation.path,
            "/api/v2/workforcemanagement/agents"
        );
        assert!(c.find("DELETE /api/v2/users/u-1").is_none());
        assert!(c.find("GET /api/v2/users/u-1/extra").is_none());
    }

    #[test]
    fn requirements_drop_non_permissions_and_duplicates() {
        let v = serde_json::json!({"type": "ANY", "permissions": ["admin", "wfm:agent:edit", "wfm:agent:edit", "They are enforced by the backend"]});
        let r = swagger::requirement(&v).unwrap();
        assert_eq!(
            (r.kind.as_str(), r.list.as_slice()),
            ("ANY", &["wfm:agent:edit".to_owned()][..])
        );
        assert!(swagger::requirement(&serde_json::json!("x")).is_none());
    }
}
