//! The checks of an explanation, one function each, in the platform's order: scope,
//! permissions (with their divisions), agents' source units, access policies, coverage. Each
//! returns what it found in words and its [`Outcome`]; `explain` folds them with
//! [`combine`](super::verdict::combine). A check never says "allowed" about data the snapshot
//! lacks: missing data is an [`Outcome::Unknown`] naming what is missing.

use super::explanation::{Explanation, PermissionCheck, Status};
use super::policy::{policy_applies, policy_covers_any};
use super::question::TargetObject;
use super::reach::unit_targets;
use super::verdict::{Denial, Outcome};
use super::words::target_phrase;
use super::words::target_text;
use super::{awareness, gaps, sign_in_problem, unread, why, Awareness, Target};
use crate::model::{Operation, Org, SubjectRef};

const AGENT_MOVE: &str = "/api/v2/workforcemanagement/agents";

/// What every check may read.
pub(super) struct Ctx<'a> {
    pub org: &'a Org,
    pub subject: SubjectRef,
    pub op: &'a Operation,
    /// The divisions any one of which satisfies a division-aware permission.
    pub needed: Vec<(&'static str, Target)>,
    /// The target is a WFM management unit (its business unit's division counts too).
    pub wfm_unit: bool,
    /// The caller is a user-context OAuth client (scopes apply; permissions are the user's).
    pub user_context: bool,
    pub agents: &'a [u32],
    /// A target named but unreadable (its dataset is a gap), in words.
    pub unread_target: Option<&'a str>,
}

/// A check: what it found, or `None` when it has nothing to say about this call.
type Check = fn(&Ctx<'_>, &mut Explanation) -> Option<(String, Outcome)>;

/// The checks, in the order the platform is assumed to make them.
pub(super) const CHECKS: [(&str, Check); 6] = [
    ("token", token),
    ("scope", scope),
    ("permissions", permissions),
    ("agents", agents),
    ("policies", policies),
    ("coverage", coverage),
];

/// Datasets whose absence leaves any subject's grants incomplete (all of them, for the coverage
/// listing); a subject's own are [`grant_data`].
const GRANT_DATA: [&str; 4] = ["roles", "grants", "groups", "oauthClients"];

/// The datasets a subject's grants come from: a permission that seems missing may be held
/// through data rolecall has not seen in one of these. Clients hold `roleDivisions`; users their
/// grants and their groups'; groups their grants.
pub(super) fn grant_data(s: SubjectRef) -> &'static [&'static str] {
    match s {
        SubjectRef::Client(_) => &["roles", "oauthClients"],
        SubjectRef::User(_) => &["roles", "grants", "groups"],
        SubjectRef::Group(_) => &["roles", "grants"],
    }
}

/// Datasets the coverage check reports for any call (the others are weighed by the checks that
/// read them) and, for WFM calls, the units.
const OTHER_DATA: [&str; 1] = ["permissionCatalog"];
const WFM_DATA: [&str; 2] = ["managementUnits", "businessUnits"];

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

/// Step 0, token: a disabled or inactive client, or an inactive or deleted user, cannot get a
/// token, so no permission is ever checked. Said only when it decides.
fn token(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    let why = sign_in_problem(ctx.org, ctx.subject)?;
    if matches!(ctx.subject, SubjectRef::User(_)) {
        ex.assumptions.push(
            "rolecall assumes an inactive or deleted user cannot sign in, so no permission of theirs is ever checked"
                .to_owned(),
        );
    }
    Some((
        format!("{why}; the call fails at sign-in (or with 401 `bad.credentials`), not with 403"),
        Outcome::NoToken(why.to_owned()),
    ))
}

/// Step 1, scope: only user-context clients are limited by scopes.
fn scope(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    let (org, op) = (ctx.org, ctx.op);
    let SubjectRef::Client(c) = ctx.subject else {
        return Some((
            "the app's scopes are not known for a user or group; only permissions are checked"
                .to_owned(),
            Outcome::Skipped,
        ));
    };
    if !ctx.user_context {
        return Some((
            "client-credentials tokens are governed by roles, not scopes".to_owned(),
            Outcome::Skipped,
        ));
    }
    ex.assumptions.push("rolecall assumes any one of the operation's listed scopes is enough, as the API description suggests but does not say; scopes are enforced only in orgs that turned scope enforcement on".to_owned());
    let client = org.snapshot().oauth_clients.get(c as usize)?;
    let ok = op.scopes.is_empty()
        || op
            .scopes
            .iter()
            .any(|s| client.scope.iter().any(|have| scope_covers(have, s)));
    if ok {
        return Some((
            format!("the client's scopes include one of {}", list(&op.scopes)),
            Outcome::Allowed,
        ));
    }
    let detail = format!(
        "the client has {} but the operation needs one of {}",
        list(&client.scope),
        list(&op.scopes)
    );
    let change = op.scopes.first().map(|s| super::Fix::AuthorizeScope {
        scope: s.clone(),
        client: client.name.clone(),
    });
    let denial = Denial {
        code: "app.not.authorized.for.scope".to_owned(),
        fix: change.as_ref().map(ToString::to_string),
        changes: change.into_iter().collect(),
        ..Denial::default()
    };
    // Scopes are enforced only in orgs that opted in, which no API reports: certain only when
    // the snapshot records the setting.
    Some(match org.snapshot().organization.scope_enforcement {
        Some(true) => (
            format!("{detail} (the org enforces scopes)"),
            Outcome::Denied(denial),
        ),
        Some(false) => (
            format!("{detail}, but the org does not enforce scopes"),
            Outcome::Allowed,
        ),
        None => (
            format!(
                "{detail}; whether the org enforces scopes (an opt-in no API reports) is not known"
            ),
            Outcome::MayBeDenied(denial),
        ),
    })
}

/// Steps 2–3: each required permission, in the divisions that matter.
fn permissions(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    let (org, op) = (ctx.org, ctx.op);
    if ctx.wfm_unit {
        ex.assumptions.push("rolecall assumes a WFM permission granted in either the management unit's division or its business unit's division covers the unit; Genesys documents only that the caller must be authorized for one of them".to_owned());
    }
    let Some(req) = &op.permissions else {
        return Some((
            "the operation declares no permission requirement".to_owned(),
            Outcome::Allowed,
        ));
    };
    if ctx.user_context {
        return Some((
            format!("the call runs with the signed-in user's permissions ({} of {}); ask again with `--as user:EMAIL`", req.kind, list(&req.list)),
            Outcome::Unknown("the signed-in user's permissions decide".to_owned()),
        ));
    }
    for p in &req.list {
        let check = check_permission(org, ctx.subject, p, &ctx.needed);
        ex.permissions.push(check);
    }
    let all = req.kind == "ALL";
    let ok = if all {
        ex.permissions.iter().all(|c| c.status == Status::Ok)
    } else {
        ex.permissions.iter().any(|c| c.status == Status::Ok)
    };
    // Undecided when a needed permission's division-awareness is unknown: for ALL, only when no
    // permission certainly fails (one certain failure denies whatever the others are).
    let unknown_awareness = if all {
        ex.permissions.iter().any(|c| c.status == Status::Unknown)
            && !ex.permissions.iter().any(|c| c.status == Status::Fail)
    } else {
        ex.permissions.iter().any(|c| c.status == Status::Unknown)
    };
    let where_ = ctx
        .needed
        .iter()
        .map(|(_, d)| target_phrase(org, *d))
        .collect::<Vec<_>>()
        .join(" or ");
    if ok {
        if let Some(split) = split_unit_coverage(ctx, req) {
            return Some(split);
        }
        return Some((
            format!("{} of {} held {where_}", req.kind, list(&req.list)),
            Outcome::Allowed,
        ));
    }
    let detail = format!("{} of {} is needed {where_}", req.kind, list(&req.list));
    if unknown_awareness {
        ex.assumptions.push("a permission the catalog does not list was treated as division-aware; if it is not, a grant in any division would do".to_owned());
        return Some((
            detail,
            Outcome::Unknown(
                "the catalog does not say whether the permission is division-aware".to_owned(),
            ),
        ));
    }
    // A unit's business unit that could not be read may sit in a division the grants cover:
    // the unit is not certainly out of reach.
    if ctx.wfm_unit && ctx.needed.len() == 1 {
        if let Some(g) = gaps(org, &["businessUnits"]).next() {
            return Some((
                detail,
                Outcome::Unknown(format!(
                    "{}: the unit's business unit may be in a division the grants cover",
                    unread(g)
                )),
            ));
        }
    }
    // Grants rolecall could not read may hold the permission: the denial is not certain.
    let missing: Vec<String> = gaps(org, grant_data(ctx.subject)).map(unread).collect();
    if !missing.is_empty() {
        return Some((
            detail,
            Outcome::Unknown(format!(
                "{}: the subject may hold the permission through data rolecall has not seen",
                missing.join("; ")
            )),
        ));
    }
    Some((detail, Outcome::Denied(permission_denial(ctx, ex, req))))
}

/// One division a unit's answer depends on, whether the requirement is met there, and the
/// checks that say so.
type PerDivision<'a> = (&'a (&'static str, Target), (bool, Vec<PermissionCheck>));

/// A WFM unit whose own division and business unit's division differ in coverage: the grants
/// satisfy the requirement in one and not the other. Which one Genesys checks is not confirmed,
/// so the call may be denied; `None` when both (or neither) are covered.
fn split_unit_coverage(
    ctx: &Ctx<'_>,
    req: &crate::model::Requirement,
) -> Option<(String, Outcome)> {
    if !ctx.wfm_unit || ctx.needed.len() < 2 {
        return None;
    }
    let satisfied = |t: &(&'static str, Target)| {
        let checks: Vec<PermissionCheck> = req
            .list
            .iter()
            .map(|p| check_permission(ctx.org, ctx.subject, p, std::slice::from_ref(t)))
            .collect();
        let ok = if req.kind == "ALL" {
            checks.iter().all(|c| c.status == Status::Ok)
        } else {
            checks.iter().any(|c| c.status == Status::Ok)
        };
        (ok, checks)
    };
    let per: Vec<_> = ctx.needed.iter().map(|t| (t, satisfied(t))).collect();
    let (covered, lacking): (Vec<_>, Vec<_>) = per.iter().partition(|(_, (ok, _))| *ok);
    if covered.is_empty() || lacking.is_empty() {
        return None;
    }
    let names = |v: &[&PerDivision<'_>]| {
        v.iter()
            .map(|((label, t), _)| format!("the {label}'s ({})", target_phrase(ctx.org, *t)))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let detail = format!(
        "{} of {} is held in {} division but not in {}; Genesys does not confirm which of them it checks",
        req.kind,
        list(&req.list),
        names(&covered),
        names(&lacking)
    );
    let change = lacking
        .iter()
        .flat_map(|(_, (_, checks))| checks.iter().filter_map(|c| c.change.clone()))
        .next();
    let fix = change.as_ref().map(ToString::to_string);
    let division_ids = lacking
        .iter()
        .filter_map(|((_, t), _)| division_id(ctx.org, *t))
        .collect();
    Some((
        detail,
        Outcome::MayBeDenied(Denial {
            code: "missing.any.division.permissions".to_owned(),
            alternative_codes: vec!["wfm.permission.failure".to_owned()],
            fix,
            changes: change.into_iter().collect(),
            division_ids,
        }),
    ))
}

/// The id of a division target (the 403 body names divisions by id).
fn division_id(org: &Org, t: Target) -> Option<String> {
    match t {
        Target::Division(i) => org
            .snapshot()
            .divisions
            .get(i as usize)
            .map(|d| d.id.clone()),
        _ => None,
    }
}

/// The 403 a permission failure gets: the code by whether the permission is held in another
/// division and by ANY/ALL, and the fix for a permission the subject already holds somewhere.
fn permission_denial(ctx: &Ctx<'_>, ex: &Explanation, req: &crate::model::Requirement) -> Denial {
    let held_elsewhere = ex.permissions.iter().any(|c| c.held_elsewhere);
    let any = req.kind != "ALL";
    let code = match (held_elsewhere, any) {
        (true, true) => "missing.any.division.permissions",
        (true, false) => "missing.division.permission",
        (false, true) => "missing.any.permissions",
        (false, false) => "missing.permissions",
    };
    let mut alternative_codes = Vec::new();
    if held_elsewhere
        && ctx.op.path.starts_with("/api/v2/workforcemanagement/")
        && ctx
            .op
            .error_codes_403
            .iter()
            .any(|c| c == "wfm.permission.failure")
    {
        alternative_codes.push("wfm.permission.failure".to_owned());
    }
    // Prefer fixing a permission the subject already holds somewhere.
    let pick = ex
        .permissions
        .iter()
        .filter(|c| c.status != Status::Ok)
        .find(|c| c.held_elsewhere)
        .or_else(|| ex.permissions.iter().find(|c| c.status != Status::Ok));
    Denial {
        code: code.to_owned(),
        alternative_codes,
        fix: pick.and_then(|c| c.fix.clone()),
        changes: pick.and_then(|c| c.change.clone()).into_iter().collect(),
        division_ids: ctx
            .needed
            .iter()
            .filter_map(|(_, d)| division_id(ctx.org, *d))
            .collect(),
    }
}

/// WFM agent moves: each agent's source unit must be covered too (a 202 hides these).
fn agents(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    let (org, op) = (ctx.org, ctx.op);
    if op.path != AGENT_MOVE || op.method != "POST" || ctx.agents.is_empty() || ctx.user_context {
        return None;
    }
    ex.assumptions.push("rolecall assumes each agent's source management unit must be covered like the destination (Genesys reports `SourceManagementUnitNotAuthorized` per agent in the move's 202 answer) and that the agent's own division matters while it moves, as Genesys says without saying how".to_owned());
    let perm = "wfm:agent:edit";
    let mut failed = Vec::new();
    let mut unplaced = Vec::new();
    let mut own_division = Vec::new();
    // Source units whose coverage the catalog cannot decide (division-awareness unknown).
    let mut unsure = Vec::new();
    for &a in ctx.agents {
        let name = org.subject_name(SubjectRef::User(a)).to_owned();
        match org.agent_management_unit(a) {
            None => unplaced.push(format!("`{name}`")),
            Some(src) => {
                let divs = unit_targets(org, Some(TargetObject::ManagementUnit(src)), true);
                let unit = format!(
                    "`{name}` ({})",
                    target_text(org, TargetObject::ManagementUnit(src))
                );
                match check_permission(org, ctx.subject, perm, &divs).status {
                    Status::Fail => failed.push(unit),
                    Status::Unknown => unsure.push(unit),
                    Status::Ok | Status::Skipped => {}
                }
            }
        }
        if let Some(d) = org.user_division(a) {
            let t = [("agent's division", Target::Division(d))];
            if check_permission(org, ctx.subject, perm, &t).status != Status::Ok {
                own_division.push(format!(
                    "`{name}` ({})",
                    target_text(org, TargetObject::Division(d))
                ));
            }
        }
    }
    let members_gap = gaps(org, &["managementUnitMembers"]).next().map(unread);
    let mut undecided = Vec::new();
    // Grants rolecall could not read may cover the source units: then no failure is certain.
    let grant_gaps: Vec<String> = gaps(org, grant_data(ctx.subject)).map(unread).collect();
    if !grant_gaps.is_empty() && !failed.is_empty() {
        undecided.push(format!(
            "the source units of {} seem not covered, but {}",
            failed.join(", "),
            grant_gaps.join("; ")
        ));
        failed.clear();
    }
    if !unsure.is_empty() {
        undecided.push(format!(
            "whether `{perm}` covers the source units of {} depends on its division-awareness, which the catalog does not say",
            unsure.join(", ")
        ));
    }
    if !unplaced.is_empty() {
        undecided.push(match &members_gap {
            Some(g) => format!(
                "the source unit of {} is not known: {g}",
                unplaced.join(", ")
            ),
            None => format!(
                "{} is in no management unit of the snapshot",
                unplaced.join(", ")
            ),
        });
    }
    if !own_division.is_empty() {
        undecided.push(format!(
            "`{perm}` is not held in the own division of {}, which may matter while an agent moves",
            own_division.join(", ")
        ));
    }
    let unplaced_text = (!undecided.is_empty()).then(|| undecided.join("; "));
    if !failed.is_empty() {
        let mut detail = format!(
            "202 with `SourceManagementUnitNotAuthorized` for {}",
            failed.join(", ")
        );
        if let Some(u) = &unplaced_text {
            detail.push_str("; ");
            detail.push_str(u);
        }
        return Some((
            detail,
            Outcome::Denied(Denial {
                code: super::explanation::PER_AGENT_CODE.to_owned(),
                ..Denial::default()
            }),
        ));
    }
    Some(match unplaced_text {
        Some(u) => (u.clone(), Outcome::Unknown(u)),
        None => (
            "every agent's source management unit is covered".to_owned(),
            Outcome::Allowed,
        ),
    })
}

/// Step 4, access policies: an active DENY that applies to the subject and covers a permission
/// the call needs wins even when roles allow. Every active DENY policy that applies to the
/// subject, or that targets what the call needs, is explained: the cause, may be, or not.
fn policies(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    let org = ctx.org;
    let required: Vec<&str> = ctx
        .op
        .permissions
        .iter()
        .flat_map(|r| r.list.iter().map(String::as_str))
        .collect();
    // A policy targets a permission: a call that needs none is out of every policy's reach.
    if required.is_empty() {
        return Some((
            "the call needs no permission a policy could target".to_owned(),
            Outcome::Allowed,
        ));
    }
    if let Some(gap) = gaps(org, &["accessPolicies"]).next() {
        let why = match (gap.http_status, gap.permission.as_deref()) {
            (Some(403), Some(perm)) => {
                format!("a DENY policy cannot be ruled out (`{perm}` is missing)")
            }
            _ => format!("a DENY policy cannot be ruled out: {}", unread(gap)),
        };
        return Some((why.clone(), Outcome::Unknown(why)));
    }
    // With ANY of several permissions, a policy on one of them decides only if the subject
    // holds no other one the policy leaves alone.
    let held: Vec<&str> = ex
        .permissions
        .iter()
        .filter(|c| c.status == Status::Ok)
        .map(|c| c.permission.as_str())
        .collect();
    let any = ctx.op.permissions.as_ref().is_some_and(|r| r.kind != "ALL");
    let (mut causes, mut conditional) = (Vec::new(), Vec::new());
    for p in &org.snapshot().access_policies {
        if !p.active || p.effect != "DENY" {
            continue;
        }
        let covers = policy_covers_any(&p.target_resource, &required);
        // Most policies neither cover the call nor apply to the subject: they are passed over
        // before any words are written (this runs per policy, per target).
        let applies = policy_applies(org, p, ctx.subject);
        if !covers && !applies {
            continue;
        }
        let name = format!("`{}` ({})", p.name, p.id);
        // Team membership is not modelled, and group membership is unknown when groups are
        // unread: whether such a policy applies cannot be told.
        let unsure = matches!(ctx.subject, SubjectRef::User(_))
            && (p.subject.kind == "TEAM"
                || (p.subject.kind == "GROUP" && gaps(org, &["groups"]).next().is_some()));
        if covers && unsure {
            conditional.push(p.name.clone());
            ex.policies.push(format!(
                "{name} denies `{}` for {} `{}`, and rolecall cannot tell whether {} belongs to it: may be the cause",
                p.target_resource,
                p.subject.kind.to_ascii_lowercase(),
                p.subject.id.as_deref().unwrap_or("?"),
                ex.subject
            ));
            continue;
        }
        let bypass: Vec<&str> = held
            .iter()
            .copied()
            .filter(|h| any && !policy_covers_any(&p.target_resource, &[h]))
            .collect();
        let line = match (applies, covers) {
            (false, false) => continue,
            (true, true) if p.has_condition() => {
                conditional.push(p.name.clone());
                format!("{name} denies `{}` when its condition holds, which rolecall does not evaluate: may be the cause", p.target_resource)
            }
            (true, true) if !bypass.is_empty() => {
                conditional.push(p.name.clone());
                format!(
                    "{name} denies `{}`, but the call accepts any of its permissions and {} also holds {}, which it does not target: may be the cause",
                    p.target_resource,
                    ex.subject,
                    list(&bypass.iter().map(|b| (*b).to_owned()).collect::<Vec<_>>())
                )
            }
            (true, true) => {
                causes.push(p.name.clone());
                format!(
                    "{name} denies `{}`, which this call needs: the cause",
                    p.target_resource
                )
            }
            (true, false) => format!(
                "{name} applies to {} and targets `{}`, which this call does not need: not the cause",
                ex.subject, p.target_resource
            ),
            (false, true) => format!(
                "{name} targets `{}` but does not apply to {}{}: not the cause",
                p.target_resource,
                ex.subject,
                if matches!(ctx.subject, SubjectRef::Client(_)) && p.subject.kind == "ALL" {
                    " (`applyToClients` is off)"
                } else {
                    ""
                }
            ),
        };
        ex.policies.push(line);
    }
    let denial = |names: &[String]| {
        let changes: Vec<super::Fix> = names
            .iter()
            .map(|n| super::Fix::NarrowPolicy {
                policy: n.clone(),
                subject: ex.subject.clone(),
            })
            .collect();
        Denial {
            code: "authz.policy.denied".to_owned(),
            fix: Some(
                changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; and "),
            ),
            changes,
            ..Denial::default()
        }
    };
    if !causes.is_empty() {
        let detail = format!(
            "active DENY {} the call",
            if causes.len() == 1 {
                format!("policy `{}` denies", causes[0])
            } else {
                format!("policies {} deny", list(&causes))
            }
        );
        return Some((detail, Outcome::Denied(denial(&causes))));
    }
    if !conditional.is_empty() {
        if ex
            .policies
            .iter()
            .any(|l| l.contains("when its condition holds"))
        {
            ex.assumptions.push(
                "policy conditions are not evaluated: a policy with a condition may or may not match"
                    .to_owned(),
            );
        }
        return Some((
            format!(
                "active DENY policy {} may deny the call (see below)",
                list(&conditional)
            ),
            Outcome::MayBeDenied(denial(&conditional)),
        ));
    }
    Some((
        "no active DENY access policy applies to this call".to_owned(),
        Outcome::Allowed,
    ))
}

/// Step 5, coverage: other data the snapshot could not read.
fn coverage(ctx: &Ctx<'_>, ex: &mut Explanation) -> Option<(String, Outcome)> {
    ex.gaps = gaps(ctx.org, &GRANT_DATA)
        .chain(gaps(ctx.org, &["accessPolicies"]))
        .chain(gaps(ctx.org, &OTHER_DATA))
        .chain(gaps(ctx.org, &WFM_DATA))
        .map(unread)
        .collect();
    // Unread WFM units matter only to WFM calls: a client without WFM view rights is common.
    let wfm = ctx.op.path.starts_with("/api/v2/workforcemanagement/");
    let other: Vec<String> = ctx
        .unread_target
        .map(str::to_owned)
        .into_iter()
        .chain(
            gaps(ctx.org, &OTHER_DATA)
                .chain(gaps(ctx.org, if wfm { &WFM_DATA[..] } else { &[] }))
                .map(unread)
                .filter(|g| ctx.unread_target.is_none_or(|t| !t.contains(g.as_str()))),
        )
        .collect();
    if other.is_empty() {
        return None;
    }
    let text = other.join("; ");
    Some((text.clone(), Outcome::Unknown(text)))
}

pub(super) fn check_permission(
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
                change: None,
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
            change: None,
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
        change: d.fix.clone(),
        held_elsewhere: !d.held_elsewhere.is_empty(),
    }
}
