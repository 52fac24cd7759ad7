//! `explain`: why an API call by a subject is allowed or denied, in the order the platform
//! checks, with the 403 code it would return and the smallest fix.
//!
//! The explanation is a fold: each check of `steps` (scope, permissions and their divisions,
//! agents, policies, coverage) reports its own [`Outcome`], and [`combine`] turns them into the
//! verdict. Sources: API-FACTS §1.6 (evaluation steps; their order is UNCONFIRMED), §2.3 and §3
//! (scopes restrict only user-context grants), §4.4 (WFM divisions), §5 (403 codes). Every place
//! where the facts are UNCONFIRMED adds an entry to [`Explanation::assumptions`], in plain words.

pub use super::explanation::{
    CatalogUsed, Explanation, PermissionCheck, Status, Step, TargetVerdict,
};
use super::is_client_credentials;
use super::question::{infer_target, input_err, ExplainInputError, TargetObject};
use super::reach::unit_targets;
use super::steps::{self, Ctx};
use super::verdict::{combine, Outcome, Verdict};
use super::words::subject_phrase;
use super::words::target_text;
use crate::catalog::Catalog;
use crate::model::{Org, SubjectRef};

/// The question: who calls what, on which object, moving which agents.
#[derive(Debug, Clone)]
pub struct Question<'a> {
    /// The caller.
    pub subject: SubjectRef,
    /// `"METHOD /path"` or an operationId.
    pub operation: &'a str,
    /// The object acted on, if known; otherwise inferred from ids in the path.
    pub target: Option<TargetObject>,
    /// For WFM agent moves: the agents (user indexes), checked against their source units.
    pub agents: Vec<u32>,
    /// A target that was named but could not be looked up because the snapshot could not read
    /// where it would be ([`ExplainInputError::unread`]): the question is answered without a
    /// target, and this makes it unknown wherever it would otherwise be allowed.
    pub unread_target: Option<String>,
}

const WFM_PREFIX: &str = "/api/v2/workforcemanagement/";

/// Explain a call. When the operation needs a division-aware permission and no target is given
/// or found in the path, the call is answered for every candidate target (every management unit
/// for WFM operations, every division otherwise) and [`Explanation::targets`] lists them: the
/// person asking may not know that the target decides.
///
/// # Errors
/// When the operation is not in the catalog.
pub fn explain(
    org: &Org,
    catalog: &Catalog<'_>,
    q: &Question<'_>,
) -> Result<Explanation, ExplainInputError> {
    let m = catalog.find(q.operation).ok_or_else(|| {
        let near = catalog.suggest(q.operation);
        let help = if near.is_empty() {
            "give `METHOD /api/v2/…` or an operationId, or pass `--catalog` with a newer API description (`/api/v2/docs/swagger`)".to_owned()
        } else {
            format!(
                "did you mean {}?",
                near.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )
        };
        input_err(
            format!(
                "operation `{}` is not in {}",
                q.operation,
                catalog.describe(std::time::SystemTime::now())
            ),
            &help,
        )
    })?;
    let used = CatalogUsed {
        origin: m.source.clone(),
        operations: m.catalog_len,
        fell_back: m.fell_back,
        primary: catalog.len(),
    };
    // Where Genesys enforces more than the description says, the table's requirement decides.
    let enforced = m.enforced();
    let table_op;
    let op = if enforced.is_some_and(|e| e.requires.is_some()) {
        table_op = crate::model::Operation {
            permissions: m.requirement(),
            ..m.operation.clone()
        };
        &table_op
    } else {
        m.operation
    };
    let target = q.target.or_else(|| infer_target(org, &m.params));
    let mut ex = explain_at(org, op, q, target, used.clone());
    if let Some(e) = enforced {
        if e.requires.is_some() {
            ex.assumptions.push(e.statement());
        }
        if let Some(a) = e.admin_assumption() {
            ex.assumptions.push(a);
        }
    }
    // No target decides anything for a subject that cannot sign in.
    let candidates = match target {
        None if ex.verdict != Verdict::CannotAuthenticate => {
            candidate_targets(org, op, q.subject, &m.params)
        }
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        if target.is_none() && op.permissions.is_some() && ex.verdict != Verdict::CannotAuthenticate
        {
            ex.assumptions.push(if is_query(op) {
                "this call is a query over many objects, not a change to one: rolecall assumes it answers with what the caller may see rather than failing, so a grant in any division lets it through (and its results cover only those divisions)".to_owned()
            } else {
                "no target object was given or found in the path: division-aware permissions were checked in any division".to_owned()
            });
        }
        return Ok(ex);
    }
    let answers: Vec<Explanation> = candidates
        .iter()
        .map(|&t| explain_at(org, op, q, Some(t), used.clone()))
        .collect();
    ex.targets = candidates
        .iter()
        .zip(&answers)
        .map(|(&t, a)| TargetVerdict::of(org, t, a))
        .collect();
    per_target_verdict(&mut ex, &answers, &candidates);
    // The per-target answers rest on their own assumptions (a unit's business unit's division).
    for a in answers.iter().flat_map(|a| &a.assumptions) {
        if !ex.assumptions.contains(a) {
            ex.assumptions.push(a.clone());
        }
    }
    Ok(ex)
}

/// The object a question acts on: the one it names, else the one the ids in its path name
/// (as [`explain`] finds it).
#[must_use]
pub fn target_of(org: &Org, catalog: &Catalog<'_>, q: &Question<'_>) -> Option<TargetObject> {
    q.target.or_else(|| {
        catalog
            .find(q.operation)
            .and_then(|m| infer_target(org, &m.params))
    })
}

/// The targets a question without one is answered for. Only a call that acts on one object is
/// answered per target: a write (it changes one object), or a read of one object whose id the
/// snapshot does not place. A listing acts on no single object: it answers with what the caller
/// may see, so a grant in any division suffices there (as the "anywhere" answer says); so does
/// a query sent with POST ([`is_query`]). And the operation must need a division-aware
/// permission (or one the catalog does not know).
fn candidate_targets(
    org: &Org,
    op: &crate::model::Operation,
    s: SubjectRef,
    params: &[(String, String)],
) -> Vec<TargetObject> {
    let Some(req) = &op.permissions else {
        return Vec::new();
    };
    let one_object = (op.method != "GET" && !is_query(op)) || !params.is_empty();
    let user_context = matches!(s, SubjectRef::Client(c) if !is_client_credentials(org, c));
    let aware = req
        .list
        .iter()
        .any(|p| super::awareness(org, p).treated_as_aware());
    if !one_object || user_context || !aware {
        return Vec::new();
    }
    let snap = org.snapshot();
    // Units the snapshot could not read cannot be enumerated, and their divisions are not
    // known: the divisions are no stand-in (a certain answer per division would rest on a
    // guess). The question is answered once, for any division, with the gap said.
    if op.path.starts_with(WFM_PREFIX)
        && super::gaps(org, &["managementUnits", "businessUnits"])
            .next()
            .is_some()
    {
        return Vec::new();
    }
    if op.path.starts_with(WFM_PREFIX) && !snap.management_units.is_empty() {
        (0..snap.management_units.len())
            .filter_map(|i| u32::try_from(i).ok())
            .map(TargetObject::ManagementUnit)
            .collect()
    } else {
        (0..snap.divisions.len())
            .filter_map(|i| u32::try_from(i).ok())
            .map(TargetObject::Division)
            .collect()
    }
}

/// Whether a POST is a read-only query over many objects rather than a write to one: no path
/// parameter, and a path that ends in `/query`, `/search` or `/query/jobs`, or an analytics
/// `…/aggregates|details|messages/jobs` (the asynchronous form of the same query). Such a call
/// answers with what the caller may see, like a listing (`POST /api/v2/users/search`,
/// `POST /api/v2/analytics/conversations/details/query`).
pub(crate) fn is_query(op: &crate::model::Operation) -> bool {
    if op.method != "POST" || op.path.contains('{') {
        return false;
    }
    let mut segs = op.path.trim_end_matches('/').rsplit('/');
    match (segs.next(), segs.next()) {
        (Some("query" | "search"), _) | (Some("jobs"), Some("query")) => true,
        (Some("jobs"), Some("aggregates" | "details" | "messages")) => {
            op.path.contains("/analytics/")
        }
        _ => false,
    }
}

/// Most targets a headline or a combined fix names; the table and JSON list them all.
const MAX_NAMED: usize = 5;

/// `a, b, c` or `a, b, c and 12 more`.
fn named(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(MAX_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_NAMED {
        text.push_str(&format!(" and {} more", items.len() - MAX_NAMED));
    }
    text
}

/// The overall answer of a per-target explanation: the shared verdict when every target agrees,
/// else "depends on the target"; the headline counts each verdict and names the targets that
/// are not allowed; code and fix are those of the denied targets (else of those that may be).
fn per_target_verdict(ex: &mut Explanation, answers: &[Explanation], candidates: &[TargetObject]) {
    let first = answers.first().map_or(Verdict::Allowed, |a| a.verdict);
    let kind = match candidates.first() {
        Some(TargetObject::ManagementUnit(_)) => "management units",
        Some(TargetObject::BusinessUnit(_)) => "business units",
        _ => "divisions",
    };
    ex.verdict = if answers.iter().all(|a| a.verdict == first) {
        first
    } else {
        Verdict::DependsOnTarget
    };
    let n = answers.len();
    let of = |v: Verdict| -> Vec<String> {
        ex.targets
            .iter()
            .filter(|t| t.verdict == v)
            .map(|t| t.target.clone())
            .collect()
    };
    let parts: Vec<String> = [
        Verdict::Denied,
        Verdict::MayBeDenied,
        Verdict::Unknown,
        Verdict::CannotAuthenticate,
    ]
    .into_iter()
    .filter_map(|v| {
        let names = of(v);
        (!names.is_empty()).then(|| {
            format!(
                "{} for {} of {n} {kind}: {}",
                v.as_str(),
                names.len(),
                named(&names)
            )
        })
    })
    .collect();
    ex.headline = Some(if parts.is_empty() {
        format!("{} for all {n} {kind}", ex.verdict.as_str())
    } else {
        parts.join("; ")
    });
    // The deciding answers: the denied ones, else those that may be denied.
    let deciding: Vec<&Explanation> = {
        let denied: Vec<&Explanation> = answers
            .iter()
            .filter(|a| a.verdict == Verdict::Denied)
            .collect();
        if denied.is_empty() {
            answers
                .iter()
                .filter(|a| a.verdict == Verdict::MayBeDenied)
                .collect()
        } else {
            denied
        }
    };
    ex.code = deciding.first().and_then(|a| a.code.clone());
    ex.alternative_codes = deciding
        .first()
        .map(|a| a.alternative_codes.clone())
        .unwrap_or_default();
    let mut fixes: Vec<String> = Vec::new();
    for f in deciding.iter().filter_map(|a| a.fix.clone()) {
        if !fixes.contains(&f) {
            fixes.push(f);
        }
    }
    ex.fix = (!fixes.is_empty()).then(|| {
        if fixes.len() > MAX_NAMED {
            format!(
                "{}; and {} more like it (see the table)",
                fixes[..MAX_NAMED].join("; "),
                fixes.len() - MAX_NAMED
            )
        } else {
            fixes.join("; ")
        }
    });
    ex.division_ids = deciding
        .iter()
        .flat_map(|a| a.division_ids.iter().cloned())
        .collect();
    ex.changes.clear();
    for c in deciding.iter().flat_map(|a| a.changes.iter()) {
        if !ex.changes.contains(c) {
            ex.changes.push(c.clone());
        }
    }
    ex.fixes = ex.changes.iter().map(ToString::to_string).collect();
    if ex.verdict == Verdict::Allowed {
        ex.code = None;
        ex.fix = None;
        ex.fixes.clear();
        ex.changes.clear();
    }
}

/// Explain the call on one target (or, with `None`, anywhere).
fn explain_at(
    org: &Org,
    op: &crate::model::Operation,
    q: &Question<'_>,
    target: Option<TargetObject>,
    catalog: CatalogUsed,
) -> Explanation {
    let is_wfm = op.path.starts_with(WFM_PREFIX);
    let mut ex = Explanation {
        operation: format!("{} {}", op.method, op.path),
        operation_id: op.operation_id.clone(),
        requirement: op
            .permissions
            .as_ref()
            .map(|r| (r.kind.clone(), r.list.clone())),
        subject: subject_phrase(org, q.subject),
        target: target.map(|t| target_text(org, t)),
        steps: Vec::new(),
        permissions: Vec::new(),
        policies: Vec::new(),
        gaps: Vec::new(),
        unverified: Vec::new(),
        targets: Vec::new(),
        headline: None,
        assumptions: vec![
            "rolecall assumes the platform checks the token's scopes, then the role permissions and their divisions, then access policies; Genesys does not document this order".to_owned(),
        ],
        verdict: Verdict::Allowed,
        code: None,
        alternative_codes: Vec::new(),
        fix: None,
        fixes: Vec::new(),
        changes: Vec::new(),
        fix_checked: None,
        catalog,
        division_ids: Vec::new(),
    };
    let ctx = Ctx {
        org,
        subject: q.subject,
        op,
        needed: unit_targets(org, target, is_wfm),
        wfm_unit: is_wfm && matches!(target, Some(TargetObject::ManagementUnit(_))),
        user_context: matches!(q.subject, SubjectRef::Client(c) if !is_client_credentials(org, c)),
        agents: &q.agents,
        unread_target: q.unread_target.as_deref(),
    };
    // The checks in the platform's order; each reports its own outcome.
    let mut outcomes: Vec<(&'static str, Outcome)> = Vec::new();
    for (check, run) in steps::CHECKS {
        if let Some((detail, outcome)) = run(&ctx, &mut ex) {
            let no_token = matches!(outcome, Outcome::NoToken(_));
            ex.steps.push(Step {
                check,
                status: Status::of(&outcome),
                detail,
            });
            outcomes.push((check, outcome));
            // Without a token the platform checks nothing else: neither does the explanation.
            if no_token {
                break;
            }
        }
    }
    // The IP allow-list is checked before anything here, and answers 401, not 403: where the
    // org has one, the answer holds only for a caller inside it.
    let allow = &org.snapshot().auth_settings.ip_address_allowlist;
    if !allow.is_empty()
        && !outcomes
            .iter()
            .any(|(_, o)| matches!(o, Outcome::NoToken(_)))
    {
        ex.assumptions.push(format!(
            "the org accepts API calls only from its IP allow-list ({} range(s)); rolecall cannot see where the call comes from and assumes inside it: a caller outside gets 401 `{}`, not 403, whatever its permissions",
            allow.len(),
            super::explanation::IP_NOT_AUTHORIZED
        ));
    }
    let combined = combine(outcomes.iter().map(|(c, o)| (*c, o)));
    ex.verdict = combined.verdict;
    ex.unverified = combined.unverified;
    if let Some(d) = combined.denial {
        ex.code = Some(d.code);
        ex.alternative_codes = d.alternative_codes;
        ex.fix = d.fix;
        ex.fixes = d.changes.iter().map(ToString::to_string).collect();
        ex.changes = d.changes;
        ex.division_ids = d.division_ids;
    }
    ex
}
