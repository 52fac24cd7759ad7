//! The `/v1` API: one table of endpoints ([`ENDPOINTS`]) from which the router is built and the
//! OpenAPI document is written, and one handler per endpoint. Handlers are plain functions of
//! the state and the request's JSON, answering with the documents the command line writes with
//! `--format json` (through [`crate::ask`] and [`crate::report`]) or a [`Problem`].

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{json, Value};

use super::problem::Problem;
use super::state::Current;
use crate::ask::{self, ExplainAsk};
use crate::authz::SubjectKind;
use crate::catalog::Catalog;
use crate::model::Org;
use crate::report::{ReportContext, WHO_CAN_FORMAT};

/// What an endpoint answers from.
pub struct Ctx {
    /// The state for this answer.
    pub cur: std::sync::Arc<Current>,
    /// When the question was asked.
    pub now: SystemTime,
    /// Whether the server is shutting down.
    pub stopping: bool,
    /// The decision log's lost lines, `(dropped, failed)` (`None` without a log).
    pub decision_log: Option<(u64, u64)>,
}

/// A request as the handlers see it: the JSON body (`null` without one) and the path's `{id}`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The body.
    pub body: Value,
    /// The `{id}` of the path, when it has one.
    pub id: Option<String>,
}

/// An answer: the document, its status, and what the decision log records of it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The document (the answer's metadata is added by the server).
    pub doc: Value,
    /// The HTTP status (200, or 503 for a server that is not ready).
    pub status: u16,
    /// The verdict, or counts, for the decision log.
    pub outcome: Value,
}

impl Answer {
    fn ok(doc: Value, outcome: Value) -> Self {
        Self {
            doc,
            status: 200,
            outcome,
        }
    }
}

/// The HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST, with a JSON body.
    Post,
}

/// The JSON type of a request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string.
    Str,
    /// A list of strings.
    Strs,
    /// true or false.
    Bool,
    /// Any JSON object.
    Object,
}

/// One field of a request body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Whether it must be given.
    pub required: bool,
    /// What it means.
    pub doc: &'static str,
}

const fn field(name: &'static str, ty: Ty, required: bool, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required,
        doc,
    }
}

type Handler = fn(&Ctx, &Request) -> Result<Answer, Problem>;

/// One endpoint of the API.
pub struct Endpoint {
    /// GET or POST.
    pub method: Method,
    /// The path (`{id}` for a path parameter).
    pub path: &'static str,
    /// The OpenAPI `operationId`.
    pub id: &'static str,
    /// One line: what it answers.
    pub summary: &'static str,
    /// The request body's fields (POST).
    pub fields: &'static [Field],
    /// The `format` tag of the document answered.
    pub format: &'static str,
    /// Whether the body may be as large as a snapshot (`--max-body-mib`); others are small.
    pub large_body: bool,
    /// The answer.
    pub handler: Handler,
}

const EXPLAIN_FIELDS: &[Field] = &[
    field("subject", Ty::Str, true, "Who calls: `client:NAME|ID`, `user:EMAIL|ID` or `group:NAME|ID` (`--as`)."),
    field("operation", Ty::Str, true, "The call: `METHOD /api/v2/…` (a concrete path or a template) or an operationId (`--op`)."),
    field("target", Ty::Str, false, "The object acted on: `division:NAME`, `management-unit:NAME` or `business-unit:NAME` (`--target`)."),
    field("agents", Ty::Strs, false, "For WFM agent moves: the agents moved, emails or ids (`--agent`)."),
    field("errorBody", Ty::Object, false, "The JSON body of the 403 the API returned (`--error-body`)."),
];
const WHO_CAN_FIELDS: &[Field] = &[
    field(
        "permission",
        Ty::Str,
        true,
        "`domain:entity:action` (wildcard grants honoured).",
    ),
    field(
        "divisions",
        Ty::Strs,
        false,
        "Only these divisions, names or ids (`--division`).",
    ),
    field(
        "kinds",
        Ty::Strs,
        false,
        "Only these kinds of subject: `user`, `group`, `client` (`--kind`).",
    ),
];
const ACCESS_FIELDS: &[Field] = &[
    field(
        "subject",
        Ty::Str,
        true,
        "`client:NAME`, `user:EMAIL` or `group:NAME`.",
    ),
    field(
        "permission",
        Ty::Str,
        false,
        "Only permissions overlapping this pattern (`wfm:*:*`).",
    ),
    field(
        "operation",
        Ty::Str,
        false,
        "Also where this call is allowed (`--op`).",
    ),
];
const CHECK_FIELDS: &[Field] = &[
    field("select", Ty::Strs, false, "Only these rules: ids, id prefixes, names or tags, within the served selection (`--select`)."),
    field("ignore", Ty::Strs, false, "Leave out these rules (`--ignore`)."),
    field("failOn", Ty::Str, false, "The severity at or above which counting findings fail: critical, high, medium, low, info or none (`--fail-on`; default: the config's)."),
    field("allowUnknown", Ty::Bool, false, "Findings a rule could not decide do not fail (`--allow-unknown`)."),
];
const DIFF_FIELDS: &[Field] = &[
    field(
        "snapshot",
        Ty::Object,
        true,
        "The other org: a `rolecall.snapshot/1` document, compared with the served one.",
    ),
    field(
        "name",
        Ty::Str,
        false,
        "What to call the other org in the answer (default `request`).",
    ),
    field("subject", Ty::Str, false, "Only this subject (`--as`)."),
    field(
        "operation",
        Ty::Str,
        false,
        "Only the permissions this operation needs (`--op`).",
    ),
];

/// Every endpoint, in the order the OpenAPI document lists them.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: Method::Post, path: "/v1/explain", id: "explain", summary: "Why a subject's API call is allowed or denied (403), and the smallest fix: `rolecall explain --format json`.", fields: EXPLAIN_FIELDS, format: "rolecall.explain/1", large_body: false, handler: explain },
    Endpoint { method: Method::Post, path: "/v1/who-can", id: "whoCan", summary: "Who holds a permission, per division, and how: `rolecall who-can --format json`.", fields: WHO_CAN_FIELDS, format: WHO_CAN_FORMAT, large_body: false, handler: who_can },
    Endpoint { method: Method::Post, path: "/v1/access", id: "access", summary: "What one subject can do, per division: `rolecall access --format json`.", fields: ACCESS_FIELDS, format: crate::report::ACCESS_FORMAT, large_body: false, handler: access },
    Endpoint { method: Method::Post, path: "/v1/check", id: "check", summary: "The findings of the served rules on the served org: `rolecall check --format json`.", fields: CHECK_FIELDS, format: crate::report::JSON_FORMAT, large_body: false, handler: check },
    Endpoint { method: Method::Post, path: "/v1/diff", id: "diff", summary: "Differences in effective access from the served org to another: `rolecall diff --format json`.", fields: DIFF_FIELDS, format: "rolecall.diff/1", large_body: true, handler: diff },
    Endpoint { method: Method::Get, path: "/v1/rules", id: "listRules", summary: "The rules loaded: `rolecall rules list --format json`.", fields: &[], format: crate::report::RULES_FORMAT, large_body: false, handler: rules },
    Endpoint { method: Method::Get, path: "/v1/rules/{id}", id: "showRule", summary: "One rule and its documentation: `rolecall rules show ID --format json`.", fields: &[], format: crate::report::RULE_FORMAT, large_body: false, handler: rule },
    Endpoint { method: Method::Get, path: "/v1/health", id: "health", summary: "The served snapshot: org, age, coverage gaps, verification, whether stale.", fields: &[], format: HEALTH_FORMAT, large_body: false, handler: health },
    Endpoint { method: Method::Get, path: "/v1/ready", id: "ready", summary: "200 while the server answers; 503 once it is shutting down.", fields: &[], format: READY_FORMAT, large_body: false, handler: ready },
];

/// The `format` tag of the health document.
pub const HEALTH_FORMAT: &str = "rolecall.health/1";
/// The `format` tag of the readiness document.
pub const READY_FORMAT: &str = "rolecall.ready/1";

fn body<T: for<'de> Deserialize<'de>>(r: &Request) -> Result<T, Problem> {
    let value = if r.body.is_null() {
        json!({})
    } else {
        r.body.clone()
    };
    serde_json::from_value(value).map_err(|e| {
        Problem::new(
            400,
            format!("the request body does not fit: {e}"),
            Some("`GET /v1/openapi.json` describes every request"),
        )
    })
}

fn snapshot_label(cur: &Current) -> Option<&str> {
    cur.state.source.path.as_deref()
}

fn explain(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let a: ExplainAsk = body(r)?;
    let org: &Org = &cx.cur.state.org;
    let catalog = Catalog::for_org(org);
    let q = ask::question(org, &a)?;
    let ex = ask::explained(org, &catalog, &q)?;
    let checked = a.error_body.as_ref().map(|b| ask::read_body(org, &ex, b));
    let doc = ask::explain_document(org, &ex, snapshot_label(&cx.cur), checked.as_ref(), None);
    Ok(Answer::ok(doc, json!({ "verdict": ex.verdict.as_str() })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WhoCanAsk {
    permission: String,
    #[serde(default)]
    divisions: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
}

fn kind(k: &str) -> Result<SubjectKind, Problem> {
    match k {
        "user" => Ok(SubjectKind::User),
        "group" => Ok(SubjectKind::Group),
        "client" => Ok(SubjectKind::Client),
        _ => Err(Problem::new(
            400,
            format!("invalid value '{k}' for '--kind <KINDS>'"),
            Some("possible values: user, group, client"),
        )),
    }
}

fn who_can(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let a: WhoCanAsk = body(r)?;
    let kinds = a.kinds.iter().map(|k| kind(k)).collect::<Result<_, _>>()?;
    let org = &cx.cur.state.org;
    let w = ask::who_can(org, &a.permission, &a.divisions, kinds)?;
    let outcome = json!({ "holders": w.holders.len() });
    Ok(Answer::ok(crate::report::who_can_json(org, &w), outcome))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccessAsk {
    subject: String,
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    operation: Option<String>,
}

fn access(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let a: AccessAsk = body(r)?;
    let org = &cx.cur.state.org;
    let (access, ex) = ask::access(
        org,
        &a.subject,
        a.permission.as_deref(),
        a.operation.as_deref(),
    )?;
    let outcome = json!({ "verdict": ex.as_ref().map(|e| e.verdict.as_str()) });
    Ok(Answer::ok(
        crate::report::access_json(org, &access, ex.as_ref()),
        outcome,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckAsk {
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    fail_on: Option<String>,
    #[serde(default)]
    allow_unknown: Option<bool>,
}

fn check(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let a: CheckAsk = body(r)?;
    let s = &cx.cur.state;
    // The command line's words for a selector that names no rule.
    for (key, list) in [("select", &a.select), ("ignore", &a.ignore)] {
        if let Some(sel) = list
            .iter()
            .find(|sel| !s.rules.iter().any(|m| m.matches_selector(sel)))
        {
            let ids: Vec<&str> = s.rules.iter().map(|m| m.id.as_str()).collect();
            return Err(Problem::new(
                400,
                format!("`{key}` entry `{sel}` matches no rule"),
                Some(&format!(
                    "`rolecall rules list` shows the rules; loaded ids: {}",
                    ids.join(", ")
                )),
            ));
        }
    }
    let fail_on = match a.fail_on.as_deref() {
        None => s.fail_on,
        Some(t) => {
            crate::config::parse_fail_on(t).map_err(|e| Problem::bad(ask::AskError::of(&e)))?
        }
    };
    let picked = |m: &crate::engine::RuleMeta| {
        (a.select.is_empty() || a.select.iter().any(|x| m.matches_selector(x)))
            && !a.ignore.iter().any(|x| m.matches_selector(x))
    };
    let mut report = s.report.clone();
    report.outcomes.retain(|o| picked(&o.meta));
    let ctx = ReportContext {
        org: &s.org,
        source_kind: s.source.kind.to_owned(),
        source_path: s.source.path.clone(),
        fail_on,
        now: cx.now,
        allow_unknown: a.allow_unknown.unwrap_or(s.allow_unknown),
    };
    let mut text = Vec::new();
    crate::report::write_json(&report, &ctx, &mut text)
        .map_err(|e| Problem::new(500, format!("cannot write JSON: {e}"), None))?;
    let doc: Value = serde_json::from_slice(&text)
        .map_err(|e| Problem::new(500, format!("cannot write JSON: {e}"), None))?;
    let summary = crate::report::Summary::of(&report, &ctx);
    let outcome = json!({ "findings": report.findings().count(), "failing": summary.failing });
    Ok(Answer::ok(doc, outcome))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DiffAsk {
    snapshot: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    operation: Option<String>,
}

fn diff(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let a: DiffAsk = body(r)?;
    let name = a.name.as_deref().unwrap_or("request");
    let bytes = serde_json::to_vec(&a.snapshot)
        .map_err(|e| Problem::new(400, format!("cannot read the snapshot: {e}"), None))?;
    let other = crate::model::parse_snapshot(&bytes, name)
        .map_err(|e| Problem::bad(ask::AskError::of(&e)))?;
    let other = Org::new(other);
    let base = &cx.cur.state.org;
    let d = ask::diff(base, &other, a.subject.as_deref(), a.operation.as_deref())?;
    let base_name = snapshot_label(&cx.cur).unwrap_or("<sample org>");
    let outcome = json!({ "subjects": d.subjects.len(), "empty": d.is_empty() });
    Ok(Answer::ok(
        crate::report::diff_json(&d, base_name, name),
        outcome,
    ))
}

fn rules(cx: &Ctx, _: &Request) -> Result<Answer, Problem> {
    let s = &cx.cur.state;
    let outcome = json!({ "rules": s.rules.len() });
    Ok(Answer::ok(crate::report::rules_json(&s.rules), outcome))
}

fn rule(cx: &Ctx, r: &Request) -> Result<Answer, Problem> {
    let id = r.id.as_deref().unwrap_or_default();
    let m = ask::rule(cx.cur.state.rules.iter(), id).map_err(|e| Problem {
        status: 404,
        detail: e.message,
        help: e.help,
    })?;
    Ok(Answer::ok(
        crate::report::rule_json(m),
        json!({ "rule": m.id }),
    ))
}

fn health(cx: &Ctx, _: &Request) -> Result<Answer, Problem> {
    let s = &cx.cur.state;
    let snap = s.org.snapshot();
    let gaps: Vec<&crate::model::Coverage> =
        snap.coverage.iter().filter(|c| c.status != "ok").collect();
    let stale = !cx.cur.stale.is_empty();
    let doc = json!({
        "format": HEALTH_FORMAT,
        "status": if stale { "stale" } else { "ok" },
        "organization": snap.organization,
        "snapshot": {
            "id": s.snapshot_id,
            "source": s.source.kind,
            "path": s.source.path,
            "fetchedAt": snap.fetched_at,
            "ageSeconds": s.age(cx.now),
            "loadedAt": humantime::format_rfc3339_seconds(s.loaded_at).to_string(),
        },
        "stale": stale,
        "staleReasons": cx.cur.stale,
        "gaps": gaps,
        "verification": snap.verification,
        "rules": s.rules.len(),
        "ruleErrors": s.report.load_errors.len(),
        "generation": s.generation,
        "decisionLog": cx.decision_log.map(|(dropped, failed)| json!({ "dropped": dropped, "failed": failed })),
    });
    Ok(Answer::ok(doc, json!({ "stale": stale })))
}

fn ready(cx: &Ctx, _: &Request) -> Result<Answer, Problem> {
    let ready = !cx.stopping;
    Ok(Answer {
        doc: json!({ "format": READY_FORMAT, "ready": ready }),
        status: if ready { 200 } else { 503 },
        outcome: json!({ "ready": ready }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each table's fields are exactly what its request type reads: a body with every field
    /// is read, a body without a required one is refused.
    #[test]
    fn the_field_tables_match_the_request_types() {
        let value = |f: &Field| match f.ty {
            Ty::Str => json!("x"),
            Ty::Strs => json!([]),
            Ty::Bool => json!(true),
            Ty::Object => json!({}),
        };
        let full = |fields: &[Field]| -> Value {
            fields
                .iter()
                .map(|f| (f.name.to_owned(), value(f)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        fn reads<T: for<'de> Deserialize<'de>>(v: Value) -> bool {
            serde_json::from_value::<T>(v).is_ok()
        }
        type Reads = fn(Value) -> bool;
        let cases: [(&[Field], Reads); 5] = [
            (EXPLAIN_FIELDS, reads::<ExplainAsk>),
            (WHO_CAN_FIELDS, reads::<WhoCanAsk>),
            (ACCESS_FIELDS, reads::<AccessAsk>),
            (CHECK_FIELDS, reads::<CheckAsk>),
            (DIFF_FIELDS, reads::<DiffAsk>),
        ];
        for (fields, read) in cases {
            assert!(read(full(fields)), "{:?}", fields[0].name);
            let mut extra = full(fields);
            extra["unknownField"] = json!(1);
            assert!(!read(extra), "unknown fields are refused");
            for f in fields.iter().filter(|f| f.required) {
                let mut v = full(fields);
                v.as_object_mut().unwrap().remove(f.name);
                assert!(!read(v), "{} is required", f.name);
            }
        }
    }
}
