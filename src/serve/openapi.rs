//! The OpenAPI 3.1 document of the `/v1` API, written from the same endpoint table the router is
//! built from ([`super::api::ENDPOINTS`]), so the two cannot drift. The repository keeps a copy
//! (`docs/openapi.json`); a test fails when it differs from what this writes.

use serde_json::{json, Map, Value};

use super::api::{Endpoint, Field, Method, Ty, ENDPOINTS};

/// The path the document is served at.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

fn field_schema(f: &Field) -> Value {
    let mut s = match f.ty {
        Ty::Str => json!({ "type": "string" }),
        Ty::Strs => json!({ "type": "array", "items": { "type": "string" } }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Object => json!({ "type": "object" }),
    };
    s["description"] = json!(f.doc);
    s
}

fn request_schema(e: &Endpoint) -> Value {
    let properties: Map<String, Value> = e
        .fields
        .iter()
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    let required: Vec<&str> = e
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn response_schema(e: &Endpoint) -> Value {
    json!({
        "type": "object",
        "description": format!("The `{}` document (described in the README), with the answer's `meta`.", e.format),
        "properties": {
            "format": { "const": e.format },
            "meta": { "$ref": "#/components/schemas/Meta" },
        },
        "required": ["format", "meta"],
    })
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
    })
}

fn operation(e: &Endpoint) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json!({
            "description": e.summary,
            "content": { "application/json": { "schema": response_schema(e) } },
        }),
    );
    if e.method == Method::Post {
        responses.insert(
            "400".to_owned(),
            problem("The question cannot be answered as asked (the command line's words)."),
        );
        responses.insert(
            "413".to_owned(),
            problem("The body is larger than the server accepts."),
        );
    }
    if e.path.contains("{id}") {
        responses.insert("404".to_owned(), problem("No rule with this id."));
    }
    responses.insert(
        "401".to_owned(),
        problem("A bearer token is required and was not given, or is wrong."),
    );
    responses.insert(
        "503".to_owned(),
        problem("Busy, out of time for this answer, or shutting down."),
    );
    let mut op = json!({
        "operationId": e.id,
        "summary": e.summary,
        "responses": responses,
    });
    if e.method == Method::Post {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": request_schema(e) } },
        });
    }
    if e.path.contains("{id}") {
        op["parameters"] = json!([{
            "name": "id", "in": "path", "required": true,
            "description": "A rule id, e.g. `WFM001` (any case).",
            "schema": { "type": "string" },
        }]);
    }
    op
}

fn components() -> Value {
    json!({
        "schemas": {
            "Meta": {
                "type": "object",
                "description": "Which state answered: the snapshot's id and age, and whether a reload or fetch failed since (the last good state answers then).",
                "properties": {
                    "snapshotId": { "type": "string" },
                    "snapshotAge": { "type": ["integer", "null"], "description": "Seconds since the snapshot's `fetchedAt`; null when it does not say." },
                    "stale": { "type": "boolean" },
                    "staleReasons": { "type": "array", "items": { "type": "string" } },
                    "loadedAt": { "type": "string", "format": "date-time" },
                    "generation": { "type": "integer", "description": "Counts the states put in place since the server started." },
                },
                "required": ["snapshotId", "snapshotAge", "stale", "staleReasons", "loadedAt", "generation"],
            },
            "Problem": {
                "type": "object",
                "description": "RFC 9457 problem details; `detail` and `help` are the command line's words.",
                "properties": {
                    "type": { "type": "string" },
                    "title": { "type": "string" },
                    "status": { "type": "integer" },
                    "detail": { "type": "string" },
                    "help": { "type": ["string", "null"] },
                    "meta": { "$ref": "#/components/schemas/Meta" },
                },
                "required": ["type", "title", "status", "detail"],
            },
        },
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "Required when the server was given a token (always on a non-loopback address)." },
        },
    })
}

/// The OpenAPI 3.1 document.
#[must_use]
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let method = match e.method {
            Method::Get => "get",
            Method::Post => "post",
        };
        let entry = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = operation(e);
    }
    paths.insert(
        OPENAPI_PATH.to_owned(),
        json!({ "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": { "200": { "description": "The OpenAPI 3.1 document.", "content": { "application/json": { "schema": { "type": "object" } } } } },
        }}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "rolecall serve",
            "version": "1",
            "description": "Genesys Cloud permissions audited over HTTP: the answers of `rolecall explain`, `who-can`, `access`, `check`, `diff` and `rules` as the same JSON documents their `--format json` writes. Plain HTTP: put TLS in a reverse proxy.",
        },
        "paths": paths,
        "components": components(),
        "security": [{}, { "bearer": [] }],
    })
}

/// The document as committed in the repository (`docs/openapi.json`).
///
/// # Errors
/// When it cannot be serialized.
pub fn openapi_text() -> Result<String, serde_json::Error> {
    crate::report::json_document(&openapi())
}
