//! `explain`: why an API call by a subject is allowed or denied, in the order the platform
//! checks, with the 403 code it would return and the smallest fix.
//!
//! Sources: API-FACTS §1.6 (evaluation steps; their order is UNCONFIRMED), §2.3 and §3 (scopes
//! restrict only user-context grants), §4.4 (WFM divisions), §5 (403 codes). Every place where
//! the facts are UNCONFIRMED adds an entry to [`Explanation::assumptions`].

use serde::Serialize;

use super::decision::{subject_phrase, target_phrase};
use super::policy::{policy_applies, policy_covers_any};
use super::question::{infer_target, input_err, target_text, ExplainInputError, TargetObject};
use super::reach::unit_targets;
use super::{awareness, is_client_credentials, why, Awareness, Target};
use crate::catalog::{Catalog, Origin};
use crate::model::{Org, SubjectRef};

/// Which operation catalog answered the question, for the reader to judge how current it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogUsed {
    /// Where its operations come from.
    pub origin: Origin,
    /// How many operations it holds.
    pub operations: usize,
    /// Whether the built-in catalog answered because the snapshot's own lacks the operation
    /// (then `primary` says how many operations the snapshot's own catalog has).
    pub fell_back: bool,
    /// Operations in the snapshot's own catalog when it fell back.
    pub primary: usize,
}

impl CatalogUsed {
    /// In words, with its age at `now`.
    #[must_use]
    pub fn describe(&self, now: std::time::SystemTime) -> String {
        let text = self.origin.describe(self.operations, now);
        if !self.fell_back {
            text
        } else if self.primary == 0 {
            format!("{text}: {}", crate::catalog::NO_OWN_CATALOG)
        } else {
            format!(
                "{text}: the snapshot's own catalog ({} operations) does not list this operation",
                self.primary
            )
        }
    }
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything the snapshot shows allows the call.
    Allowed,
    /// The call fails with 403 (or, for WFM agent moves, per-agent failures).
    Denied,
    /// A DENY policy with a condition rolecall cannot evaluate matches.
    MayBeDenied,
    /// Missing data or an unknown fact decides the outcome.
    Unknown,
}

impl Verdict {
    /// Lowercase words for reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::MayBeDenied => "may be denied",
            Self::Unknown => "unknown",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Passed.
    Ok,
    /// Failed.
    Fail,
    /// Could not be decided.
    Unknown,
    /// Does not apply.
    Skipped,
}

/// One permission of the operation, checked against the subject's grants.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCheck {
    /// The permission.
    pub permission: String,
    /// `aware`, `not-aware` or `unknown` per the catalog.
    pub division_aware: &'static str,
    /// Where it was needed, e.g. "in division `Support EU`".
    pub needed: String,
    /// Whether the subject's grants cover it.
    pub status: Status,
    /// The grant that gives it, or what is missing.
    pub reason: String,
    /// The smallest fix when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Whether the subject holds it in some other division (decides the 403 code).
    #[serde(skip)]
    pub held_elsewhere: bool,
}

/// One step of the platform's evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `scope`, `permissions`, `divisions`, `policies`, `agents`, `coverage`.
    pub check: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// A full explanation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `METHOD path-template`.
    pub operation: String,
    /// The operationId.
    pub operation_id: String,
    /// `ANY`/`ALL` and the permissions, as declared.
    pub requirement: Option<(String, Vec<String>)>,
    /// The subject, e.g. "client `wfm-sync`".
    pub subject: String,
    /// The target, e.g. "management unit `EU Agents` (division `Support EU`)".
    pub target: Option<String>,
    /// The evaluation steps, in order.
    pub steps: Vec<Step>,
    /// Each permission's check.
    pub permissions: Vec<PermissionCheck>,
    /// Matching DENY policies, by name.
    pub policies: Vec<String>,
    /// Snapshot coverage gaps that limit certainty.
    pub gaps: Vec<String>,
    /// Assumptions taken where the facts are unconfirmed.
    pub assumptions: Vec<String>,
    /// The answer.
    pub verdict: Verdict,
    /// The 403 code the API would return.
    pub code: Option<String>,
    /// Other codes the API may use for the same failure.
    pub alternative_codes: Vec<String>,
    /// The smallest fix.
    pub fix: Option<String>,
    /// The operation catalog that described the operation.
    pub catalog: CatalogUsed,
    /// Division ids the failure concerns (to compare with an error body).
    #[serde(skip)]
    pub division_ids: Vec<String>,
}

impl Explanation {
    /// The verdict in one line: "DENIED: 403 `code` (the service may answer `x` instead)".
    #[must_use]
    pub fn verdict_line(&self) -> String {
        use std::fmt::Write as _;
        let mut out = self.verdict.as_str().to_uppercase();
        if let Some(code) = &self.code {
            let _ = write!(out, ": 403 `{code}`");
            if !self.alternative_codes.is_empty() {
                let alts: Vec<String> = self
                    .alternative_codes
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect();
                let _ = write!(
                    out,
                    " (the service may answer {} instead)",
                    alts.join(" or ")
                );
            }
        }
        out
    }
}

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
const AGENT_MOVE: &str = "/api/v2/workforcemanagement/agents";

/// Explain a call.
///
/// # Errors
/// When the operation is not in the catalog.
#[expect(
    clippy::too_many_lines,
    reason = "the steps read best in the platform's order, in one place"
)]
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
    let catalog_used = CatalogUsed {
        origin: m.source.clone(),
        operations: m.catalog_len,
        fell_back: m.fell_back,
        primary: catalog.len(),
    };
    let op = m.operation;
    let target = q.target.or_else(|| infer_target(org, &m.params));
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
        assumptions: vec![
            "rolecall assumes the platform checks the token's scopes, then the role permissions and their divisions, then access policies; Genesys does not document this order".to_owned(),
        ],
        verdict: Verdict::Allowed,
        code: None,
        alternative_codes: Vec::new(),
        fix: None,
        catalog: catalog_used,
        division_ids: Vec::new(),
    };
    let is_wfm = op.path.starts_with(WFM_PREFIX);

    // 1. Scope: only user-context clients are limited by scopes.
    let mut user_context = false;
    match q.subject {
        SubjectRef::Client(c) if !is_client_credentials(org, c) => {
            user_context = true;
            let client = &org.snapshot().oauth_clients[c as usize];
            let ok = op.scopes.is_empty()
                || op
                    .scopes
                    .iter()
                    .any(|s| client.scope.iter().any(|have| scope_covers(have, s)));
            if ok {
                ex.steps.push(step(
                    "scope",
                    Status::Ok,
                    format!("the client's scopes include one of {}", list(&op.scopes)),
                ));
            } else {
                ex.steps.push(step(
                    "scope",
                    Status::Fail,
                    format!(
                        "the client has {} but the operation needs one of {}",
                        list(&client.scope),
                        list(&op.scopes)
                    ),
                ));
                ex.verdict = Verdict::Denied;
                ex.code = Some("app.not.authorized.for.scope".to_owned());
                ex.fix = op
                    .scopes
                    .first()
                    .map(|s| format!("authorize scope `{s}` for client `{}`", client.name));
            }
            ex.assumptions.push("rolecall assumes any one of the operation's listed scopes is enough, as the API description suggests but does not say; scopes are enforced only in orgs that turned scope enforcement on".to_owned());
        }
        SubjectRef::Client(_) => ex.steps.push(step(
            "scope",
            Status::Skipped,
            "client-credentials tokens are governed by roles, not scopes".to_owned(),
        )),
        _ => ex.steps.push(step(
            "scope",
            Status::Skipped,
            "the app's scopes are not known for a user or group; only permissions are checked"
                .to_owned(),
        )),
    }

    // 2–3. Permissions and their divisions.
    let needed = unit_targets(org, target, is_wfm);
    if is_wfm && matches!(target, Some(TargetObject::ManagementUnit(_))) {
        ex.assumptions.push("rolecall assumes a WFM permission granted in either the management unit's division or its business unit's division covers the unit; Genesys documents only that the caller must be authorized for one of them".to_owned());
    }
    let mut unknown_awareness = false;
    match &op.permissions {
        None => ex.steps.push(step(
            "permissions",
            Status::Ok,
            "the operation declares no permission requirement".to_owned(),
        )),
        Some(req) if user_context => {
            ex.steps.push(step(
                "permissions",
                Status::Unknown,
                format!("the call runs with the signed-in user's permissions ({} of {}); ask again with `--as user:EMAIL`", req.kind, list(&req.list)),
            ));
            if ex.verdict == Verdict::Allowed {
                ex.verdict = Verdict::Unknown;
            }
        }
        Some(req) => {
            for p in &req.list {
                let check = check_permission(org, q.subject, p, &needed);
                unknown_awareness |= check.status == Status::Unknown;
                ex.permissions.push(check);
            }
            let ok = if req.kind == "ALL" {
                ex.permissions.iter().all(|c| c.status == Status::Ok)
            } else {
                ex.permissions.iter().any(|c| c.status == Status::Ok)
            };
            let where_ = needed
                .iter()
                .map(|(_, d)| target_phrase(org, *d))
                .collect::<Vec<_>>()
                .join(" or ");
            if ok {
                ex.steps.push(step(
                    "permissions",
                    Status::Ok,
                    format!("{} of {} held {where_}", req.kind, list(&req.list)),
                ));
            } else {
                let held_elsewhere = ex.permissions.iter().any(|c| c.held_elsewhere);
                let status = if unknown_awareness {
                    Status::Unknown
                } else {
                    Status::Fail
                };
                ex.steps.push(step(
                    "permissions",
                    status,
                    format!("{} of {} is needed {where_}", req.kind, list(&req.list)),
                ));
                if ex.verdict == Verdict::Allowed {
                    ex.verdict = if unknown_awareness {
                        Verdict::Unknown
                    } else {
                        Verdict::Denied
                    };
                    let any = req.kind != "ALL";
                    ex.code = Some(
                        match (held_elsewhere, any) {
                            (true, true) => "missing.any.division.permissions",
                            (true, false) => "missing.division.permission",
                            (false, true) => "missing.any.permissions",
                            (false, false) => "missing.permissions",
                        }
                        .to_owned(),
                    );
                    if held_elsewhere
                        && is_wfm
                        && op
                            .error_codes_403
                            .iter()
                            .any(|c| c == "wfm.permission.failure")
                    {
                        ex.alternative_codes
                            .push("wfm.permission.failure".to_owned());
                    }
                    // Prefer fixing a permission the subject already holds somewhere.
                    let pick = ex
                        .permissions
                        .iter()
                        .filter(|c| c.status != Status::Ok)
                        .find(|c| c.held_elsewhere)
                        .or_else(|| ex.permissions.iter().find(|c| c.status != Status::Ok));
                    ex.fix = pick.and_then(|c| c.fix.clone());
                    ex.division_ids = needed
                        .iter()
                        .filter_map(|(_, d)| match d {
                            Target::Division(i) => org
                                .snapshot()
                                .divisions
                                .get(*i as usize)
                                .map(|d| d.id.clone()),
                            _ => None,
                        })
                        .collect();
                }
                if unknown_awareness {
                    ex.assumptions.push("a permission the catalog does not list was treated as division-aware; if it is not, a grant in any division would do".to_owned());
                }
            }
        }
    }

    // WFM agent moves: each agent's source unit must be covered too (a 202 hides these).
    if op.path == AGENT_MOVE && op.method == "POST" && !q.agents.is_empty() && !user_context {
        let perm = "wfm:agent:edit";
        let mut failed = Vec::new();
        for &a in &q.agents {
            let name = org.subject_name(SubjectRef::User(a)).to_owned();
            match org.agent_management_unit(a) {
                None => ex.steps.push(step(
                    "agents",
                    Status::Unknown,
                    format!("the source unit of `{name}` is not in the snapshot"),
                )),
                Some(src) => {
                    let divs = unit_targets(org, Some(TargetObject::ManagementUnit(src)), true);
                    if check_permission(org, q.subject, perm, &divs).status != Status::Ok {
                        failed.push(format!(
                            "`{name}` ({})",
                            target_text(org, TargetObject::ManagementUnit(src))
                        ));
                    }
                }
            }
        }
        if failed.is_empty() {
            ex.steps.push(step(
                "agents",
                Status::Ok,
                "every agent's source management unit is covered".to_owned(),
            ));
        } else {
            ex.steps.push(step(
                "agents",
                Status::Fail,
                format!(
                    "202 with `SourceManagementUnitNotAuthorized` for {}",
                    failed.join(", ")
                ),
            ));
            if ex.verdict == Verdict::Allowed {
                ex.verdict = Verdict::Denied;
                ex.code =
                    Some("SourceManagementUnitNotAuthorized (per agent, in a 202)".to_owned());
            }
        }
        ex.assumptions.push("the agents' own divisions are not checked: Genesys does not document which of the agent's division and its source and destination units a move checks".to_owned());
    }

    // 4. ABAC: a matching active DENY wins even when roles allow.
    let required: Vec<&str> = op
        .permissions
        .iter()
        .flat_map(|r| r.list.iter().map(String::as_str))
        .collect();
    let mut conditional = false;
    let mut denying: Vec<&str> = Vec::new();
    for p in &org.snapshot().access_policies {
        if !p.active
            || p.effect != "DENY"
            || !policy_covers_any(&p.target_resource, &required)
            || !policy_applies(org, p, q.subject)
        {
            continue;
        }
        conditional |= p.condition.is_some();
        denying.push(&p.name);
        ex.policies.push(format!(
            "`{}` ({}) denies `{}`{}",
            p.name,
            p.id,
            p.target_resource,
            if p.condition.is_some() {
                " when its condition holds"
            } else {
                ""
            }
        ));
    }
    if ex.policies.is_empty() {
        ex.steps.push(step(
            "policies",
            Status::Ok,
            "no active DENY access policy matches".to_owned(),
        ));
    } else {
        let status = if conditional {
            Status::Unknown
        } else {
            Status::Fail
        };
        ex.steps
            .push(step("policies", status, ex.policies.join("; ")));
        if ex.verdict == Verdict::Allowed {
            ex.verdict = if conditional {
                Verdict::MayBeDenied
            } else {
                Verdict::Denied
            };
            ex.code = Some("authz.policy.denied".to_owned());
            ex.fix = Some(format!(
                "narrow access policy {} (its subject, condition or applyToClients) so it no longer matches {}",
                denying.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                ex.subject
            ));
        }
        if conditional {
            ex.assumptions.push("policy conditions are not evaluated: a policy with a condition may or may not match".to_owned());
        }
    }

    // 5. What the snapshot could not read.
    for c in &org.snapshot().coverage {
        if c.status != "ok" && RELEVANT.contains(&c.dataset.as_str()) {
            ex.gaps
                .push(format!("{} ({}) could not be read", c.dataset, c.endpoint));
        }
    }
    if !ex.gaps.is_empty() {
        ex.steps
            .push(step("coverage", Status::Unknown, ex.gaps.join("; ")));
        if ex.verdict == Verdict::Allowed {
            ex.verdict = Verdict::Unknown;
        }
    }
    if needed.iter().any(|(_, t)| *t == Target::Any) && op.permissions.is_some() {
        ex.assumptions.push("no target object was given or found in the path: division-aware permissions were checked in any division".to_owned());
    }
    if ex.verdict == Verdict::Allowed {
        ex.code = None;
        ex.fix = None;
    }
    Ok(ex)
}

const RELEVANT: [&str; 7] = [
    "roles",
    "grants",
    "oauthClients",
    "groups",
    "accessPolicies",
    "permissionCatalog",
    "managementUnits",
];

fn step(check: &'static str, status: Status, detail: String) -> Step {
    Step {
        check,
        status,
        detail,
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "nothing".to_owned();
    }
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scope `x` also grants `x:readonly`.
fn scope_covers(have: &str, need: &str) -> bool {
    have == need || need.strip_suffix(":readonly") == Some(have)
}

fn check_permission(
    org: &Org,
    s: SubjectRef,
    perm: &str,
    needed: &[(&'static str, Target)],
) -> PermissionCheck {
    let mut first = None;
    for &(_, t) in needed {
        let d = why(org, s, perm, t);
        if d.allowed {
            return PermissionCheck {
                permission: perm.to_owned(),
                division_aware: d.awareness.as_str(),
                needed: target_phrase(org, t),
                status: Status::Ok,
                reason: d.reason(org),
                fix: None,
                held_elsewhere: false,
            };
        }
        first.get_or_insert((d, t));
    }
    let Some((d, _)) = first else {
        return PermissionCheck {
            permission: perm.to_owned(),
            division_aware: awareness(org, perm).as_str(),
            needed: String::new(),
            status: Status::Fail,
            reason: "no division to check".to_owned(),
            fix: None,
            held_elsewhere: false,
        };
    };
    PermissionCheck {
        permission: perm.to_owned(),
        division_aware: d.awareness.as_str(),
        needed: needed
            .iter()
            .map(|(_, t)| target_phrase(org, *t))
            .collect::<Vec<_>>()
            .join(" or "),
        status: if d.awareness == Awareness::Unknown && !d.held_elsewhere.is_empty() {
            Status::Unknown
        } else {
            Status::Fail
        },
        reason: d.reason(org),
        fix: d.fix.as_ref().map(ToString::to_string),
        held_elsewhere: !d.held_elsewhere.is_empty(),
    }
}
