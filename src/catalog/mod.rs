//! The operation catalog: which permissions, scopes and 403 codes each API operation has, and
//! matching a concrete request (`POST /api/v2/…/abc/agents`) or an operationId to it.
//!
//! Built from the API description by [`parse_swagger`]; stored in snapshots as `operations`.

mod swagger;

use std::collections::HashMap;

pub use swagger::parse_swagger;

use crate::model::Operation;

/// An operation matched to a request, with the path parameters it bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'a> {
    /// The operation.
    pub operation: &'a Operation,
    /// `(name, value)` for each `{param}` in the template, in order.
    pub params: Vec<(String, String)>,
}

/// Operations indexed for lookup by method and path shape, and by operationId.
#[derive(Debug, Clone, Default)]
pub struct Catalog<'a> {
    ops: &'a [Operation],
    by_shape: HashMap<(String, usize), Vec<usize>>,
    by_id: HashMap<&'a str, usize>,
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_end_matches('/').split('/').collect()
}

impl<'a> Catalog<'a> {
    /// Index operations (usually `org.snapshot().operations`).
    #[must_use]
    pub fn new(ops: &'a [Operation]) -> Self {
        let mut by_shape: HashMap<(String, usize), Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_shape
                .entry((op.method.to_ascii_uppercase(), segments(&op.path).len()))
                .or_default()
                .push(i);
            by_id.insert(op.operation_id.as_str(), i);
        }
        Self {
            ops,
            by_shape,
            by_id,
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
    /// (`/users/me` over `/users/{userId}`).
    #[must_use]
    pub fn find(&self, spec: &str) -> Option<Matched<'a>> {
        let spec = spec.trim();
        let Some((method, path)) = spec.split_once(char::is_whitespace) else {
            return self.by_id.get(spec).map(|&i| Matched {
                operation: &self.ops[i],
                params: Vec::new(),
            });
        };
        let path = path.trim();
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        // Accept full URLs: keep what starts at `/api/`.
        let path = path.find("/api/").map_or(path, |i| &path[i..]);
        let want = segments(path);
        let candidates = self
            .by_shape
            .get(&(method.to_ascii_uppercase(), want.len()))?;
        let mut best: Option<(usize, usize)> = None;
        for &i in candidates {
            let tmpl = segments(&self.ops[i].path);
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
        let params = segments(&op.path)
            .into_iter()
            .zip(want)
            .filter(|(t, _)| t.starts_with('{') && t.ends_with('}'))
            .map(|(t, w)| (t.trim_matches(['{', '}']).to_owned(), w.to_owned()))
            .collect();
        Some(Matched {
            operation: op,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
