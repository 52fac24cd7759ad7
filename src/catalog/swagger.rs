//! Reading the API description (Swagger 2.0, as Genesys serves it) into operations.
//!
//! Only the fields the catalog needs are deserialized; schemas, parameters and descriptions are
//! skipped by serde without building values, which keeps the 22 MB document fast to read.

use std::collections::{BTreeMap, HashMap};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::model::{Operation, Permission, Requirement};

#[derive(Deserialize)]
struct Swagger {
    #[serde(default)]
    paths: BTreeMap<String, PathItem>,
}

#[derive(Deserialize)]
struct PathItem {
    get: Option<OpDef>,
    put: Option<OpDef>,
    post: Option<OpDef>,
    delete: Option<OpDef>,
    patch: Option<OpDef>,
    head: Option<OpDef>,
    options: Option<OpDef>,
}

#[derive(Deserialize)]
struct OpDef {
    #[serde(rename = "operationId", default)]
    operation_id: String,
    #[serde(default)]
    security: Vec<HashMap<String, Vec<String>>>,
    #[serde(rename = "x-inin-requires-permissions", default)]
    requires: Option<serde_json::Value>,
    #[serde(default)]
    responses: Responses,
}

#[derive(Deserialize, Default)]
struct Responses {
    #[serde(rename = "403")]
    forbidden: Option<Forbidden>,
}

#[derive(Deserialize)]
struct Forbidden {
    #[serde(rename = "x-inin-error-codes", default)]
    codes: BTreeMap<String, IgnoredAny>,
}

/// Parse an API description into operations, sorted by path then method.
///
/// Per operation: `x-inin-requires-permissions` (type and list; entries that are not
/// `domain:entity:action`, such as `admin`, are dropped and duplicates removed), the scopes of the
/// `PureCloud OAuth` scheme (sorted, deduplicated), and the 403 error codes (sorted).
///
/// # Errors
/// The JSON error when the document is not a Swagger object with `paths`.
pub fn parse_swagger(bytes: &[u8]) -> Result<Vec<Operation>, serde_json::Error> {
    let doc: Swagger = serde_json::from_slice(bytes)?;
    let mut out = Vec::new();
    for (path, item) in doc.paths {
        let methods = [
            ("GET", item.get),
            ("PUT", item.put),
            ("POST", item.post),
            ("DELETE", item.delete),
            ("PATCH", item.patch),
            ("HEAD", item.head),
            ("OPTIONS", item.options),
        ];
        let mut ops: Vec<Operation> = methods
            .into_iter()
            .filter_map(|(m, op)| op.map(|op| operation(m, &path, op)))
            .collect();
        ops.sort_by(|a, b| a.method.cmp(&b.method));
        out.extend(ops);
    }
    Ok(out)
}

fn operation(method: &str, path: &str, op: OpDef) -> Operation {
    let mut scopes: Vec<String> = op
        .security
        .into_iter()
        .filter_map(|mut s| s.remove("PureCloud OAuth"))
        .flatten()
        .collect();
    scopes.sort();
    scopes.dedup();
    Operation {
        method: method.to_owned(),
        path: path.to_owned(),
        operation_id: op.operation_id,
        permissions: op.requires.as_ref().and_then(requirement),
        scopes,
        error_codes_403: op
            .responses
            .forbidden
            .map(|f| f.codes.into_keys().collect())
            .unwrap_or_default(),
    }
}

/// `{type, permissions}` → [`Requirement`], keeping only well-formed, distinct permissions.
pub(crate) fn requirement(value: &serde_json::Value) -> Option<Requirement> {
    let obj = value.as_object()?;
    let kind = obj.get("type")?.as_str()?.to_owned();
    let mut list: Vec<String> = Vec::new();
    for p in obj
        .get("permissions")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_str() {
            if Permission::parse(p).is_some() && !list.iter().any(|x| x == p) {
                list.push(p.to_owned());
            }
        }
    }
    Some(Requirement { kind, list })
}
