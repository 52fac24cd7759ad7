//! Questions asked in words, answered as documents: the one code path from a question's text
//! (a subject spec, an operation, a target spec, agents; a permission and divisions; a second
//! org) to the answers `explain`, `who-can`, `access` and `diff` print with `--format json`.
//! The command line and `rolecall serve` both call these functions, so a question asked over
//! HTTP gets the same document, and a mistake the same words, as on the command line.
//!
//! Errors are [`AskError`]s: the command line's message and help, and whether the thing named
//! was not found (a server answers 404 then, 400 otherwise).

use serde::{Deserialize, Serialize};

use crate::authz::{
    access_of, check_error_body, explain, resolve_subject, resolve_target, subject_key, Access,
    BodyCheck, DiffOptions, ExplainInputError, Explanation, OrgDiff, Question, SubjectKind, WhoCan,
    WhoCanQuery,
};
use crate::catalog::Catalog;
use crate::model::Org;

/// A question that cannot be answered as asked: the command line's words for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct AskError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    #[help]
    pub help: Option<String>,
}

impl AskError {
    /// An error with its help.
    #[must_use]
    pub fn new(message: impl Into<String>, help: Option<&str>) -> Self {
        Self {
            message: message.into(),
            help: help.map(str::to_owned),
        }
    }

    /// Any diagnostic, in its own words (message and help).
    #[must_use]
    pub fn of(d: &dyn miette::Diagnostic) -> Self {
        Self {
            message: d.to_string(),
            help: d.help().map(|h| h.to_string()),
        }
    }
}

impl From<ExplainInputError> for AskError {
    fn from(e: ExplainInputError) -> Self {
        Self {
            message: e.message,
            help: Some(e.help),
        }
    }
}

/// `explain`'s question in words (`--as`, `--op`, `--target`, `--agent`; over HTTP also the
/// 403 body as JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainAsk {
    /// `client:NAME|ID`, `user:EMAIL|ID` or `group:NAME|ID`.
    pub subject: String,
    /// `"METHOD /api/v2/…"` or an operationId.
    pub operation: String,
    /// `division:NAME`, `management-unit:NAME` or `business-unit:NAME`.
    #[serde(default)]
    pub target: Option<String>,
    /// Agents being moved (emails or ids).
    #[serde(default)]
    pub agents: Vec<String>,
    /// The JSON body of the 403 the API returned.
    #[serde(default)]
    pub error_body: Option<serde_json::Value>,
}

/// Resolve the question's names in `org`. A target the snapshot could not read is a question
/// answered as unknown, not a typo.
///
/// # Errors
/// An unknown subject, target or agent, in the command line's words.
pub fn question<'q>(org: &Org, ask: &'q ExplainAsk) -> Result<Question<'q>, AskError> {
    let subject = resolve_subject(org, &ask.subject)?;
    let (target, unread_target) = match ask.target.as_deref().map(|t| resolve_target(org, t)) {
        None => (None, None),
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) if e.unread.is_some() => (None, e.unread),
        Some(Err(e)) => return Err(e.into()),
    };
    // Agents resolve as subjects do: email, id or name, regardless of case.
    let agents = ask
        .agents
        .iter()
        .map(|a| match resolve_subject(org, &format!("user:{a}"))? {
            crate::model::SubjectRef::User(u) => Ok(u),
            _ => Err(AskError::new(format!("`{a}` is not a user"), None)),
        })
        .collect::<Result<Vec<_>, AskError>>()?;
    Ok(Question {
        subject,
        operation: &ask.operation,
        target,
        agents,
        unread_target,
    })
}

/// The explanation, with its fix proven: applied to the org and explained again.
///
/// # Errors
/// An operation no catalog knows, or a fix that cannot be applied.
pub fn explained(
    org: &Org,
    catalog: &Catalog<'_>,
    q: &Question<'_>,
) -> Result<Explanation, AskError> {
    let mut ex = explain(org, catalog, q)?;
    if let Some(proof) =
        crate::change::prove_fix(org, catalog, q, &ex).map_err(|e| AskError::of(&e))?
    {
        proof.attach(&mut ex);
    }
    Ok(ex)
}

/// A 403 body given as text, read as JSON.
///
/// # Errors
/// When it is not JSON.
pub fn error_body(text: &str) -> Result<serde_json::Value, AskError> {
    serde_json::from_str(text).map_err(|e| {
        AskError::new(
            format!("error body is not JSON: {e}"),
            Some("pass the JSON body of the 403 response"),
        )
    })
}

/// What the 403 body says against the explanation.
#[must_use]
pub fn read_body(org: &Org, ex: &Explanation, body: &serde_json::Value) -> BodyCheck {
    check_error_body(org, ex, body)
}

/// The `rolecall.explain/1` document with the snapshot's stored verification.
#[must_use]
pub fn explain_document(
    org: &Org,
    ex: &Explanation,
    snapshot: Option<&str>,
    body: Option<&BodyCheck>,
    baseline: Option<(&str, &str, &crate::authz::BaselineAnswer)>,
) -> serde_json::Value {
    let mut doc = crate::report::explanation_json(
        ex,
        snapshot,
        &org.snapshot().organization.name,
        body,
        baseline,
    );
    doc["verification"] =
        serde_json::to_value(&org.snapshot().verification).unwrap_or(serde_json::Value::Null);
    doc
}

/// Who holds `permission`, in these divisions (names or ids; all when empty), of these kinds.
///
/// # Errors
/// An unknown division, or a permission that is not `domain:entity:action`.
pub fn who_can(
    org: &Org,
    permission: &str,
    divisions: &[String],
    kinds: Vec<SubjectKind>,
) -> Result<WhoCan, AskError> {
    // Divisions resolve by the one name resolver (regardless of case, nearest names).
    let divisions = divisions
        .iter()
        .map(|d| match resolve_target(org, &format!("division:{d}"))? {
            crate::authz::TargetObject::Division(i) => Ok(i),
            _ => Err(AskError::new(format!("`{d}` is not a division"), None)),
        })
        .collect::<Result<Vec<_>, AskError>>()?;
    crate::authz::who_can(
        org,
        &WhoCanQuery {
            permission,
            divisions,
            kinds,
        },
    )
    .map_err(|e| AskError::of(&e))
}

/// What one subject can do (permissions overlapping `permission`, when given) and, with `op`,
/// where that call is allowed.
///
/// # Errors
/// An unknown subject or operation, or a pattern that is not three parts.
pub fn access(
    org: &Org,
    subject: &str,
    permission: Option<&str>,
    op: Option<&str>,
) -> Result<(Access, Option<Explanation>), AskError> {
    let subject = resolve_subject(org, subject)?;
    let access = access_of(org, subject, permission).map_err(|e| AskError::of(&e))?;
    let ex = match op {
        None => None,
        Some(op) => {
            let catalog = Catalog::for_org(org);
            let q = Question {
                subject,
                operation: op,
                target: None,
                agents: Vec::new(),
                unread_target: None,
            };
            Some(explain(org, &catalog, &q)?)
        }
    };
    Ok((access, ex))
}

/// Effective-access differences from `base` to `other`, for one subject (named in either org)
/// and the permissions one operation needs, when given.
///
/// # Errors
/// A subject in neither org, or an operation in no catalog.
pub fn diff(
    base: &Org,
    other: &Org,
    subject: Option<&str>,
    op: Option<&str>,
) -> Result<OrgDiff, AskError> {
    // The subject may exist in either org (an integration added or removed by a change).
    let subject = subject
        .map(|s| match resolve_subject(base, s) {
            Ok(r) => Ok(subject_key(base, r)),
            Err(e) => resolve_subject(other, s)
                .map(|r| subject_key(other, r))
                .map_err(|_| AskError::from(e)),
        })
        .transpose()?;
    let permissions = match op {
        None => None,
        Some(op) => {
            // Either snapshot's own catalog, then the built-in one behind both.
            let from_base = Catalog::new(&base.snapshot().operations);
            let from_other = Catalog::for_org(other);
            let m = from_base.find(op).or_else(|| from_other.find(op)).ok_or_else(|| {
                AskError::new(
                    format!("operation `{op}` is in neither snapshot's catalog nor in rolecall's built-in one"),
                    Some("give `METHOD /api/v2/…` or an operationId"),
                )
            })?;
            Some(
                m.operation
                    .permissions
                    .as_ref()
                    .map(|r| r.list.clone())
                    .unwrap_or_default(),
            )
        }
    };
    Ok(crate::authz::diff(
        base,
        other,
        &DiffOptions {
            subject,
            permissions,
        },
    ))
}

/// The rule with this id (any case).
///
/// # Errors
/// When no rule loaded has it.
pub fn rule<'a>(
    mut rules: impl Iterator<Item = &'a crate::engine::RuleMeta>,
    id: &str,
) -> Result<&'a crate::engine::RuleMeta, AskError> {
    rules
        .find(|m| m.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            AskError::new(
                format!("no rule with id `{id}`"),
                Some("`rolecall rules list` shows the ids"),
            )
        })
}
