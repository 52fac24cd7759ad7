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
        input_err(
            format!(
                "operation `{}` is not in {}",
                q.operation,
                catalog.describe(std::time::SystemTime::now())
            ),
            "give `METHOD /api/v2/…` or an operationId, or pass `--catalog` with a newer API description (`/api/v2/docs/swagger`)",
        )
    })?;
    let used = CatalogUsed {
        origin: m.source.clone(),
        operations: m.catalog_len,
        fell_back: m.fell_back,
        primary: catalog.len(),
    };
    let op = m.operation;
    let target = q.target.or_else(|| infer_target(org, &m.params));
    let mut ex = explain_at(org, op, q, target, used.clone());
    // No target decides anything for a subject that cannot sign in.
    let candidates = match target {
        None if ex.verdict != Verdict::CannotAuthenticate => candidate_targets(org, op, q.subject),
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        if target.is_none() && op.permissions.is_some() && ex.verdict != Verdict::CannotAuthenticate
        {
            ex.assumptions.push("no target object was given or found in the path: division-aware permissions were checked in any division".to_owned());
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

/// The targets a question without one is answered for: the operation needs a division-aware
/// permission (or one the catalog does not know), and the caller's permissions decide.
fn candidate_targets(org: &Org, op: &crate::model::Operation, s: SubjectRef) -> Vec<TargetObject> {
    let Some(req) = &op.permissions else {
        return Vec::new();
    };
    let user_context = matches!(s, SubjectRef::Client(c) if !is_client_credentials(org, c));
    let aware = req
        .list
        .iter()
        .any(|p| super::awareness(org, p).treated_as_aware());
    if user_context || !aware {
        return Vec::new();
    }
    let snap = org.snapshot();
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

/// The overall answer of a per-target explanation: the shared verdict when every target agrees,
/// else "depends on the target", with the fixes of the denied targets.
fn per_target_verdict(ex: &mut Explanation, answers: &[Explanation], candidates: &[TargetObject]) {
    let first = answers.first().map_or(Verdict::Allowed, |a| a.verdict);
    let kind = match candidates.first() {
        Some(TargetObject::ManagementUnit(_)) => "management units",
        Some(TargetObject::BusinessUnit(_)) => "business units",
        _ => "divisions",
    };
    let denied: Vec<&TargetVerdict> = ex
        .targets
        .iter()
        .filter(|t| t.verdict == Verdict::Denied)
        .collect();
    ex.verdict = if answers.iter().all(|a| a.verdict == first) {
        first
    } else {
        Verdict::DependsOnTarget
    };
    ex.headline = Some(if denied.is_empty() {
        format!("{} for all {} {kind}", ex.verdict.as_str(), answers.len())
    } else {
        format!(
            "denied for {} of {} {kind}: {}",
            denied.len(),
            answers.len(),
            denied
                .iter()
                .map(|t| t.target.clone())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    // The code and fix: those of the denied targets (one fix each, without repeats).
    let denied_answers: Vec<&Explanation> = answers
        .iter()
        .filter(|a| a.verdict == Verdict::Denied)
        .collect();
    ex.code = denied_answers.first().and_then(|a| a.code.clone());
    ex.alternative_codes = denied_answers
        .first()
        .map(|a| a.alternative_codes.clone())
        .unwrap_or_default();
    let mut fixes: Vec<String> = Vec::new();
    for f in denied_answers.iter().filter_map(|a| a.fix.clone()) {
        if !fixes.contains(&f) {
            fixes.push(f);
        }
    }
    ex.fix = (!fixes.is_empty()).then(|| fixes.join("; "));
    ex.division_ids = denied_answers
        .iter()
        .flat_map(|a| a.division_ids.iter().cloned())
        .collect();
    if ex.verdict == Verdict::Allowed {
        ex.code = None;
        ex.fix = None;
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
    let combined = combine(outcomes.iter().map(|(c, o)| (*c, o)));
    ex.verdict = combined.verdict;
    ex.unverified = combined.unverified;
    if let Some(d) = combined.denial {
        ex.code = Some(d.code);
        ex.alternative_codes = d.alternative_codes;
        ex.fix = d.fix;
        ex.division_ids = d.division_ids;
    }
    ex
}
