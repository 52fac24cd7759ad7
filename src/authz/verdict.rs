//! The verdict algebra: what one check of an explanation found ([`Outcome`]) and the one
//! function that combines the checks into a verdict ([`combine`]). `explain`, rules
//! (`subject.explain`) and ACC001 all reach their verdict here.
//!
//! The rule: a subject that cannot get a token never reaches authorization, so that decides
//! first (the platform answers it at sign-in, not with a 403); then a certain denial wins,
//! whatever else is unknown (a DENY policy nobody could read can
//! only add to a denial), and the unknowns are still listed as "also unverified"; otherwise a
//! check that may deny makes the call "may be denied", and any other unknown makes it
//! "unknown"; the call is allowed only when every check allowed it (or did not apply).

use serde::Serialize;

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check allowed the call.
    Allowed,
    /// The call fails with 403 (or, for WFM agent moves, per-agent failures).
    Denied,
    /// A check may deny it: a DENY policy with a condition rolecall cannot evaluate.
    MayBeDenied,
    /// Missing data or an unconfirmed fact decides the outcome.
    Unknown,
    /// Asked without a target, the answer differs between the candidate targets.
    DependsOnTarget,
    /// The subject cannot get a token at all (a disabled or inactive client, an inactive or
    /// deleted user): the call never reaches the permission checks.
    CannotAuthenticate,
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
            Self::DependsOnTarget => "depends on the target",
            Self::CannotAuthenticate => "cannot get a token",
        }
    }
}

/// How a call is denied: the 403 code the API would return, other codes the service may use,
/// and the smallest fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Denial {
    /// The 403 code.
    pub code: String,
    /// Other codes the service may answer for the same failure.
    pub alternative_codes: Vec<String>,
    /// The smallest fix, when there is one.
    pub fix: Option<String>,
    /// Division ids the failure concerns (to compare with an error body).
    pub division_ids: Vec<String>,
    /// The fix as changes, one per part.
    pub changes: Vec<super::Fix>,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed.
    Allowed,
    /// The check does not apply to this call.
    Skipped,
    /// The check certainly fails.
    Denied(Denial),
    /// The check may fail: it would deny, under a condition rolecall cannot evaluate.
    MayBeDenied(Denial),
    /// The check could not be decided; the text says what is missing.
    Unknown(String),
    /// The subject cannot get a token; the text says why.
    NoToken(String),
}

/// The combined answer of a sequence of checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    /// The verdict.
    pub verdict: Verdict,
    /// The deciding denial (for `Denied` and `MayBeDenied`).
    pub denial: Option<Denial>,
    /// Checks that could not be decided, as `check: what is missing`, listed beside a denial.
    pub unverified: Vec<String>,
}

/// Combine checks, given in the platform's order as `(check name, outcome)`: a subject without a
/// token decides first; then the first certain denial wins; else the first "may deny"; else any
/// unknown makes the verdict unknown; else allowed.
#[must_use]
pub fn combine<'a>(checks: impl IntoIterator<Item = (&'a str, &'a Outcome)>) -> Combined {
    let mut no_token = false;
    let mut denied: Option<&Denial> = None;
    // Every certain denial: each must be fixed for the call to work, so the fix names them all.
    let mut all_denied: Vec<&Denial> = Vec::new();
    let mut may: Option<&Denial> = None;
    let mut unverified = Vec::new();
    for (name, outcome) in checks {
        match outcome {
            Outcome::Allowed | Outcome::Skipped => {}
            Outcome::Denied(d) => {
                denied.get_or_insert(d);
                all_denied.push(d);
            }
            Outcome::MayBeDenied(d) => {
                may.get_or_insert(d);
                unverified.push(format!("{name}: may deny (`{}`)", d.code));
            }
            Outcome::Unknown(why) => unverified.push(format!("{name}: {why}")),
            Outcome::NoToken(_) => no_token = true,
        }
    }
    if no_token {
        // No 403 is predicted and no fix offered: no grant would make the call work.
        return Combined {
            verdict: Verdict::CannotAuthenticate,
            denial: None,
            unverified,
        };
    }
    let (verdict, denial) = match (denied, may) {
        (Some(d), _) => (Verdict::Denied, Some(joined(d, &all_denied))),
        (None, Some(d)) => (Verdict::MayBeDenied, Some(d.clone())),
        (None, None) if !unverified.is_empty() => (Verdict::Unknown, None),
        (None, None) => (Verdict::Allowed, None),
    };
    Combined {
        verdict,
        denial,
        unverified,
    }
}

/// The deciding denial (its code) with the fixes of every certain denial: applying only the
/// first would leave the call denied by the next.
fn joined(first: &Denial, all: &[&Denial]) -> Denial {
    let mut d = first.clone();
    let mut texts: Vec<String> = d.fix.iter().cloned().collect();
    for other in all.iter().skip(1) {
        for c in &other.changes {
            if !d.changes.contains(c) {
                d.changes.push(c.clone());
            }
        }
        if let Some(f) = &other.fix {
            if !texts.contains(f) {
                texts.push(f.clone());
            }
        }
        for id in &other.division_ids {
            if !d.division_ids.contains(id) {
                d.division_ids.push(id.clone());
            }
        }
    }
    d.fix = (!texts.is_empty()).then(|| texts.join("; and "));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denial(code: &str) -> Denial {
        Denial {
            code: code.into(),
            ..Denial::default()
        }
    }

    /// Every outcome a check can have, one of each kind.
    fn kinds() -> Vec<Outcome> {
        vec![
            Outcome::Allowed,
            Outcome::Skipped,
            Outcome::Denied(denial("missing.permissions")),
            Outcome::MayBeDenied(denial("authz.policy.denied")),
            Outcome::Unknown("not read".into()),
            Outcome::NoToken("disabled".into()),
        ]
    }

    /// All sequences of three checks over every kind (216 cases): the algebra's laws hold for each.
    #[test]
    fn the_laws_hold_for_every_combination() {
        let k = kinds();
        for a in &k {
            for b in &k {
                for c in &k {
                    let checks = [("a", a), ("b", b), ("c", c)];
                    let r = combine(checks.iter().map(|(n, o)| (*n, *o)));
                    let any = |f: fn(&Outcome) -> bool| checks.iter().any(|(_, o)| f(o));
                    let denied = any(|o| matches!(o, Outcome::Denied(_)));
                    let may = any(|o| matches!(o, Outcome::MayBeDenied(_)));
                    let unknown = any(|o| matches!(o, Outcome::Unknown(_)));
                    let no_token = any(|o| matches!(o, Outcome::NoToken(_)));
                    if no_token {
                        // No token: never a 403, never a fix.
                        assert_eq!(r.verdict, Verdict::CannotAuthenticate);
                        assert!(r.denial.is_none());
                        continue;
                    }
                    // Never allowed when any check denied, may deny or is unknown.
                    assert_eq!(r.verdict == Verdict::Allowed, !(denied || may || unknown));
                    // A certain denial wins over every unknown.
                    assert_eq!(r.verdict == Verdict::Denied, denied);
                    if !denied {
                        assert_eq!(r.verdict == Verdict::MayBeDenied, may);
                    }
                    // Unknowns are never hidden, not even beside a denial.
                    assert_eq!(!r.unverified.is_empty(), may || unknown);
                    assert_eq!(r.denial.is_some(), denied || may);
                }
            }
        }
    }

    #[test]
    fn the_first_denial_in_the_platforms_order_decides() {
        let first = Outcome::Denied(denial("app.not.authorized.for.scope"));
        let second = Outcome::Denied(denial("missing.permissions"));
        let gap = Outcome::Unknown("policies not read".into());
        let r = combine([
            ("scope", &first),
            ("policies", &gap),
            ("permissions", &second),
        ]);
        assert_eq!(r.verdict, Verdict::Denied);
        assert_eq!(r.denial.unwrap().code, "app.not.authorized.for.scope");
        assert_eq!(r.unverified, ["policies: policies not read"]);
    }
}
