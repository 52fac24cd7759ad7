//! Which divisions an object's access is decided in, and whether a subject reaches it: the
//! target's division; for a WFM management unit its own division or its business unit's.
//! Used by `explain` and by rules (`subject.can_reach(perm, unit)`, WFM001), so both read WFM
//! divisions the same way.
//!
//! Fact: a management unit and its business unit each sit in one division, which need not be
//! the same. That a WFM permission granted in either the unit's or its business unit's division
//! covers the unit is rolecall's reading of `wfm.permission.failure` ("authorized neither for
//! the business unit's division nor for the requested management units"), not a documented rule.

use super::question::TargetObject;
use super::{can, Target};
use crate::model::{Org, SubjectRef};

/// The divisions any one of which satisfies a division-aware permission on `target`, each with
/// a label ("management unit", "business unit"). `wfm` adds a management unit's business unit.
#[must_use]
pub fn unit_targets(
    org: &Org,
    target: Option<TargetObject>,
    wfm: bool,
) -> Vec<(&'static str, Target)> {
    let t = |d: Option<u32>| d.map_or(Target::Any, Target::Division);
    match target {
        None => vec![("anywhere", Target::Any)],
        Some(TargetObject::Division(d)) => vec![("division", Target::Division(d))],
        Some(TargetObject::BusinessUnit(b)) => vec![("business unit", t(org.bu_division(b)))],
        Some(TargetObject::ManagementUnit(m)) => {
            let mut v = vec![("management unit", t(org.mu_division(m)))];
            if wfm {
                if let Some(bu_div) = org.mu_business_unit(m).and_then(|b| org.bu_division(b)) {
                    if v[0].1 != Target::Division(bu_div) {
                        v.push(("business unit", Target::Division(bu_div)));
                    }
                }
            }
            v
        }
    }
}

/// Whether `subject` holds `permission` where it counts for a WFM object: a management unit's
/// division or its business unit's, a business unit's division, or a division itself. An
/// object without a known division is reached by a grant in any division (as `explain` checks
/// it, with the gap stated there).
#[must_use]
pub fn can_reach(org: &Org, subject: SubjectRef, permission: &str, target: TargetObject) -> bool {
    unit_targets(org, Some(target), true)
        .into_iter()
        .any(|(_, t)| can(org, subject, permission, t))
}
