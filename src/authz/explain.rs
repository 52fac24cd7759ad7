//! `explain`: why an API call by a subject is allowed or denied, in the order the platform
//! checks, with the 403 code it would return and the smallest fix.
//!
//! The explanation is a fold: each check of `steps` (scope, permissions and their divisions,
//! agents, policies, coverage) reports its own [`Outcome`], and [`combine`] turns them into the
//! verdict. Sources: API-FACTS §1.6 (evaluation steps; their order is UNCONFIRMED), §2.3 and §3
//! (scopes restrict only user-context grants), §4.4 (WFM divisions), §5 (403 codes). Every place
//! where the facts are UNCONFIRMED adds an entry to [`Explanation::assumptions`], in plain words.

use super::decision::subject_phrase;
pub use super::explanation::{CatalogUsed, Explanation, PermissionCheck, Status, Step};
use super::question::{infer_target, input_err, target_text, ExplainInputError, TargetObject};
use super::reach::unit_targets;
use super::steps::{self, Ctx};
use super::verdict::{combine, Outcome, Verdict};
use super::{is_client_credentials, Target};
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

/// Explain a call.
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
    let op = m.operation;
    let target = q.target.or_else(|| infer_target(org, &m.params));
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
        assumptions: vec![
            "rolecall assumes the platform checks the token's scopes, then the role permissions and their divisions, then access policies; Genesys does not document this order".to_owned(),
        ],
        verdict: Verdict::Allowed,
        code: None,
        alternative_codes: Vec::new(),
        fix: None,
        catalog: CatalogUsed {
            origin: m.source.clone(),
            operations: m.catalog_len,
            fell_back: m.fell_back,
            primary: catalog.len(),
        },
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
            ex.steps.push(Step {
                check,
                status: Status::of(&outcome),
                detail,
            });
            outcomes.push((check, outcome));
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
    if ctx.needed.iter().any(|(_, t)| *t == Target::Any) && op.permissions.is_some() {
        ex.assumptions.push("no target object was given or found in the path: division-aware permissions were checked in any division".to_owned());
    }
    Ok(ex)
}
