//! Comparing an explanation with the world: an actual 403 body, or the same question asked of
//! another org (`--baseline`), with objects matched by name.

use serde::Serialize;

use super::explanation::Explanation;
use super::policy::policy_covers_any;
use super::question::TargetObject;
use super::words::{grant_phrase, target_text};
use super::{effective_grants, role_grants};
use crate::model::{Org, Permission, SubjectRef};

/// Whether `role` grants `perm` (re-exported for diff and rules).
#[must_use]
pub fn role_has(org: &Org, role: u32, perm: &str) -> bool {
    Permission::parse(perm).is_some_and(|p| role_grants(org, role, &p))
}

/// The subject's grants that carry `perm`, as "role `R` in division `D`".
#[must_use]
pub fn grants_with(org: &Org, s: SubjectRef, perm: &str) -> Vec<String> {
    effective_grants(org, s)
        .into_iter()
        .filter(|g| role_has(org, g.grant.role, perm))
        .map(|g| grant_phrase(org, &g.grant))
        .collect()
}

/// What an actual 403 body says against the prediction.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BodyCheck {
    /// The `code` the API returned.
    pub code: String,
    /// Whether it matches the predicted code (or an accepted alternative).
    pub agrees: bool,
    /// Whether the prediction was undecided (unknown or may be denied), so the body settles it
    /// rather than contradicting it.
    pub settles: bool,
    /// What the body adds: permissions and divisions it names, hints when it disagrees.
    pub notes: Vec<String>,
    /// The `contextId` to quote in a support case.
    pub context_id: Option<String>,
}

/// Most text of an error body searched for object ids: bodies are small; a hostile one is not
/// searched further.
const MAX_BODY_TEXT: usize = 64 << 10;

/// The body's words: `message`, `messageWithParams`, `entityId` and every `messageParams` value.
fn body_texts(body: &serde_json::Value) -> String {
    let mut out = String::new();
    for k in ["message", "messageWithParams", "entityId"] {
        if let Some(t) = body.get(k).and_then(|v| v.as_str()) {
            out.push_str(t);
            out.push('\n');
        }
    }
    if let Some(p) = body.get("messageParams").and_then(|p| p.as_object()) {
        for v in p.values().filter_map(|v| v.as_str()) {
            out.push_str(v);
            out.push('\n');
        }
    }
    let mut end = out.len().min(MAX_BODY_TEXT);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// Why the explanation denies, in one line: the failing permission's reason, else the first
/// check that did not allow the call.
fn denial_reason(ex: &Explanation) -> Option<String> {
    ex.permissions
        .iter()
        .find(|p| p.status != super::explanation::Status::Ok)
        .map(|p| p.reason.clone())
        .or_else(|| {
            ex.steps
                .iter()
                .find(|s| s.status == super::explanation::Status::Fail)
                .map(|s| format!("{}: {}", s.check, s.detail))
        })
}

/// Most bytes of any one value of an error body quoted back.
const MAX_QUOTED: usize = 256;

/// Compare a 403 error body (`{code, message, messageParams, contextId}`) with an explanation.
///
/// The body's `code` and any division or WFM unit ids in its words pick what it speaks to: for
/// a question asked without a target, the candidate target whose answer has that code (and, when
/// the body names one, that division or unit). It "matches" when some reading of the snapshot
/// predicts it; only when none does is the snapshot called possibly stale.
#[must_use]
pub fn check_error_body(org: &Org, ex: &Explanation, body: &serde_json::Value) -> BodyCheck {
    // Whatever the body says is quoted bounded: a pasted body can hold a field of megabytes.
    let code = crate::text::clip(
        body.get("code")
            .and_then(|c| c.as_str())
            .unwrap_or_default(),
        MAX_QUOTED,
    )
    .into_owned();
    let text = body_texts(body);
    let snap = org.snapshot();
    let named_divisions: Vec<&crate::model::Division> = snap
        .divisions
        .iter()
        .filter(|d| !d.id.is_empty() && text.contains(d.id.as_str()))
        .collect();
    let divisions: Vec<&str> = named_divisions.iter().map(|d| d.name.as_str()).collect();
    let units: Vec<String> = (0..snap.management_units.len())
        .filter(|&i| {
            let id = &snap.management_units[i].id;
            !id.is_empty() && text.contains(id.as_str())
        })
        .filter_map(|i| u32::try_from(i).ok())
        .map(|i| target_text(org, TargetObject::ManagementUnit(i)))
        .collect();
    let mut notes = Vec::new();
    let params = body.get("messageParams").and_then(|p| p.as_object());
    if let Some(perms) = params
        .and_then(|p| p.get("permissions"))
        .and_then(|v| v.as_str())
    {
        let perms = crate::text::clip(perms, MAX_QUOTED);
        notes.push(format!("the API names permission(s) `{perms}`"));
    }
    if !divisions.is_empty() {
        let named: Vec<String> = divisions.iter().map(|d| format!("`{d}`")).collect();
        notes.push(format!("the API checked division(s) {}", named.join(", ")));
    }
    let unknown_divisions: Vec<String> = params
        .and_then(|p| p.get("divisions"))
        .and_then(|v| v.as_str())
        .into_iter()
        .flat_map(|d| d.split(','))
        .map(str::trim)
        .filter(|d| !d.is_empty() && org.division(d).is_none())
        .take(20)
        .map(|d| format!("`{}`", crate::text::clip(d, MAX_QUOTED)))
        .collect();
    if !unknown_divisions.is_empty() {
        notes.push(format!(
            "division(s) {} are not in the snapshot",
            unknown_divisions.join(", ")
        ));
    }
    // A 401 from the IP allow-list comes before any permission is weighed: it matches when the
    // org has a list (the explanation says a caller outside it gets exactly this).
    if code == super::explanation::IP_NOT_AUTHORIZED {
        let list = &snap.auth_settings.ip_address_allowlist;
        let agrees = !list.is_empty();
        notes.push(if agrees {
            format!(
                "the call was refused at the org's IP allow-list (401, before any permission was checked): make it from an address inside {}",
                list.iter().take(5).map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            )
        } else {
            "the API refused the caller's IP address, but the snapshot has no IP allow-list: it may be stale, or the settings could not be read".to_owned()
        });
        return BodyCheck {
            code,
            agrees,
            settles: false,
            notes,
            context_id: body
                .get("contextId")
                .and_then(|c| c.as_str())
                .map(|c| crate::text::clip(c, MAX_QUOTED).into_owned()),
        };
    }
    let own = ex.code.as_deref() == Some(code.as_str()) || ex.alternative_codes.contains(&code);
    // A question without a target: the candidate the body speaks to, by its code (or one the
    // service may answer instead) and, when the body names them, its unit or the divisions that
    // decide it (the unit's own and its business unit's).
    let target = ex.targets.iter().find(|t| {
        (t.code.as_deref() == Some(code.as_str()) || t.alternative_codes.contains(&code))
            && ((named_divisions.is_empty() && units.is_empty())
                || units.contains(&t.target)
                || named_divisions.iter().any(|d| {
                    t.division_ids.contains(&d.id) || t.division.as_deref() == Some(d.name.as_str())
                }))
    });
    let agrees = match (&ex.targets.is_empty(), target) {
        (true, _) => own,
        (false, Some(_)) => true,
        (false, None) => false,
    };
    // An undecided prediction is not contradicted by a 403: it said the call might fail.
    let undecided = matches!(
        ex.verdict,
        super::Verdict::Unknown | super::Verdict::MayBeDenied
    ) || (target.is_none()
        && ex.targets.iter().any(|t| {
            matches!(
                t.verdict,
                super::Verdict::Unknown | super::Verdict::MayBeDenied
            )
        }));
    if agrees {
        match target {
            Some(t) => notes.push(format!(
                "the 403 matches the answer for {}: {}",
                t.target, t.reason
            )),
            None => {
                if let Some(r) = denial_reason(ex) {
                    notes.push(format!("the 403 matches: {r}"));
                }
            }
        }
        if ex.targets.is_empty()
            && !divisions.is_empty()
            && !ex.division_ids.is_empty()
            && !ex.division_ids.iter().any(|id| {
                snap.divisions
                    .iter()
                    .any(|d| &d.id == id && divisions.contains(&d.name.as_str()))
            })
        {
            notes.push("the divisions differ from the target's: the call may act on another object than the one given".to_owned());
        }
    } else if undecided {
        notes.push(format!(
            "the prediction was undecided ({}): the 403 settles it{}",
            ex.verdict.as_str(),
            if ex.unverified.is_empty() {
                String::new()
            } else {
                format!("; rolecall could not check: {}", ex.unverified.join("; "))
            }
        ));
    } else {
        let predicted = ex
            .code
            .as_deref()
            .map_or_else(|| "no 403".to_owned(), |c| format!("`{c}`"));
        notes.push(format!("this contradicts the prediction ({predicted})"));
        let hint = match code.as_str() {
            "authz.policy.denied" => "an access policy denies it that the snapshot lacks or could not read; the message lists the policy ids",
            "app.not.authorized.for.scope" => "the app's scopes differ from the snapshot's, or the token came from another client",
            c if c.starts_with("missing.") => "no reading of the snapshot explains it: the grants differ from the snapshot's (it may be stale, or a role change is less than five minutes old)",
            "wfm.permission.failure" => "the WFM service checked a business or management unit the snapshot does not place in the divisions assumed",
            _ => "the API may check something rolecall does not model for this operation",
        };
        notes.push(hint.to_owned());
    }
    BodyCheck {
        code,
        agrees,
        settles: !agrees && undecided,
        notes,
        context_id: body
            .get("contextId")
            .and_then(|c| c.as_str())
            .map(|c| crate::text::clip(c, MAX_QUOTED).into_owned()),
    }
}

/// The same question asked of another org (`--baseline`): its explanation, and the grants that
/// differ between the two for the permissions the operation needs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineAnswer {
    /// The other org's explanation.
    pub explanation: Explanation,
    /// Grant differences, worded for "this org" and "the baseline".
    pub differences: Vec<String>,
}

/// Ask `ex`'s question (by `subject`, on `target`) of `other`, matching the subject and target by
/// name and the operation by the other catalog's description of it (or, when it lacks the
/// spelling asked, by `ex`'s resolved operation).
///
/// # Errors
/// When the other org has no subject or target named like this org's, or no such operation.
pub fn explain_baseline(
    org: &Org,
    (subject, target, asked, agents): (SubjectRef, Option<TargetObject>, &str, &[u32]),
    ex: &Explanation,
    other: &Org,
    other_catalog: &crate::catalog::Catalog<'_>,
) -> Result<BaselineAnswer, super::ExplainInputError> {
    let o_subject = same_subject(org, subject, other).ok_or_else(|| {
        super::question::input_err(
            format!("the baseline has no subject named like {}", ex.subject),
            "subjects are matched by name (users by email)",
        )
    })?;
    let o_target = match target {
        Some(t) => Some(same_target(org, t, other).ok_or_else(|| {
            super::question::input_err(
                "the baseline has no target named like the given one".to_owned(),
                "targets are matched by name",
            )
        })?),
        None => None,
    };
    let op_spec = if other_catalog.find(asked).is_some() {
        asked
    } else {
        ex.operation.as_str()
    };
    let explanation = super::explain(
        other,
        other_catalog,
        &super::Question {
            subject: o_subject,
            operation: op_spec,
            target: o_target,
            agents: agents
                .iter()
                .filter_map(|&a| match same_subject(org, SubjectRef::User(a), other) {
                    Some(SubjectRef::User(u)) => Some(u),
                    _ => None,
                })
                .collect(),
            unread_target: None,
        },
    )?;
    let perms = ex
        .requirement
        .as_ref()
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    let differences = baseline_differences(
        (org, subject, target),
        (other, o_subject, o_target),
        &perms,
        ("this org", "the baseline"),
    );
    Ok(BaselineAnswer {
        explanation,
        differences,
    })
}

/// Map a subject of one org to the same-named subject of another.
#[must_use]
pub fn same_subject(from: &Org, s: SubjectRef, to: &Org) -> Option<SubjectRef> {
    let snap = from.snapshot();
    match s {
        SubjectRef::Client(c) => to
            .client(&snap.oauth_clients.get(c as usize)?.name)
            .map(SubjectRef::Client),
        SubjectRef::Group(g) => to
            .group(&snap.groups.get(g as usize)?.name)
            .map(SubjectRef::Group),
        SubjectRef::User(u) => {
            let user = snap.users.get(u as usize)?;
            to.user(user.email.as_deref().unwrap_or(&user.name))
                .map(SubjectRef::User)
        }
    }
}

/// Map a target of one org to the same-named object of another.
#[must_use]
pub fn same_target(from: &Org, t: TargetObject, to: &Org) -> Option<TargetObject> {
    let snap = from.snapshot();
    match t {
        TargetObject::Division(d) => to
            .division(&snap.divisions.get(d as usize)?.name)
            .map(TargetObject::Division),
        TargetObject::ManagementUnit(m) => to
            .management_unit(&snap.management_units.get(m as usize)?.name)
            .map(TargetObject::ManagementUnit),
        TargetObject::BusinessUnit(b) => to
            .business_unit(&snap.business_units.get(b as usize)?.name)
            .map(TargetObject::BusinessUnit),
    }
}

/// What differs between two orgs for one subject and the permissions an operation needs:
/// the subject's grants that carry them, the roles' contents, the target's division, policies.
#[must_use]
pub fn baseline_differences(
    base: (&Org, SubjectRef, Option<TargetObject>),
    other: (&Org, SubjectRef, Option<TargetObject>),
    permissions: &[String],
    labels: (&str, &str),
) -> Vec<String> {
    let (b_org, b_s, b_t) = base;
    let (o_org, o_s, o_t) = other;
    let mut out = Vec::new();
    for p in permissions {
        let b = grants_with(b_org, b_s, p);
        let o = grants_with(o_org, o_s, p);
        for g in b.iter().filter(|g| !o.contains(g)) {
            out.push(format!("`{p}`: {g} in {} only", labels.0));
        }
        for g in o.iter().filter(|g| !b.contains(g)) {
            out.push(format!("`{p}`: {g} in {} only", labels.1));
        }
        // Same-named roles held by the subject whose content differs for this permission.
        for g in effective_grants(b_org, b_s) {
            let Some(role) = b_org.snapshot().roles.get(g.grant.role as usize) else {
                continue;
            };
            if let Some(or) = o_org.role(&role.name) {
                let (hb, ho) = (role_has(b_org, g.grant.role, p), role_has(o_org, or, p));
                if hb != ho {
                    let (yes, no) = if hb { labels } else { (labels.1, labels.0) };
                    out.push(format!(
                        "role `{}` includes `{p}` in {yes} but not in {no}",
                        role.name
                    ));
                }
            }
        }
    }
    if let (Some(bt), Some(ot)) = (b_t, o_t) {
        let (bd, od) = (target_text(b_org, bt), target_text(o_org, ot));
        if bd != od {
            out.push(format!(
                "the target is {bd} in {} but {od} in {}",
                labels.0, labels.1
            ));
        }
    }
    let deny = |org: &Org| -> Vec<String> {
        org.snapshot()
            .access_policies
            .iter()
            .filter(|p| {
                p.active
                    && p.effect == "DENY"
                    && policy_covers_any(
                        &p.target_resource,
                        &permissions.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
            })
            .map(|p| p.name.clone())
            .collect()
    };
    let (bp, op) = (deny(b_org), deny(o_org));
    for p in bp.iter().filter(|p| !op.contains(p)) {
        out.push(format!("DENY policy `{p}` exists in {} only", labels.0));
    }
    for p in op.iter().filter(|p| !bp.contains(p)) {
        out.push(format!("DENY policy `{p}` exists in {} only", labels.1));
    }
    out.sort();
    out.dedup();
    out
}
