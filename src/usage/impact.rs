//! `impact`: every call a subject made in one org (dev, where usage was read), explained in
//! another (prod) with the subject matched by name, or in the same org across a planned change:
//! which observed calls will be denied, which may be, which are allowed.

use serde::Serialize;

use super::{matches, observed, regressed, UsageError};
use crate::authz::{explain, same_subject, subject_phrase, Explanation, Question, Verdict};
use crate::catalog::Catalog;
use crate::model::{Org, SubjectRef};

/// How a replayed call fares, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Denied (for every target, or for some of the targets it may act on), or the subject
    /// cannot get a token.
    Denied,
    /// May be denied, unknown, or undecided for some target: not certainly allowed.
    MayBeDenied,
    /// Allowed.
    Allowed,
}

impl Class {
    /// The class of an explanation, as `explain --exit-code` reads it.
    #[must_use]
    pub fn of(ex: &Explanation) -> Self {
        match ex.verdict {
            Verdict::Allowed => Self::Allowed,
            Verdict::Denied | Verdict::CannotAuthenticate => Self::Denied,
            Verdict::DependsOnTarget if ex.targets.iter().any(|t| t.verdict == Verdict::Denied) => {
                Self::Denied
            }
            _ => Self::MayBeDenied,
        }
    }

    /// Words for reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "will be denied",
            Self::MayBeDenied => "may be denied",
            Self::Allowed => "allowed",
        }
    }
}

/// One observed call replayed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallImpact {
    /// `METHOD template`, as observed.
    pub call: String,
    /// The catalog operation it matched (`None`: not replayed, counted as "may be denied").
    pub operation: Option<String>,
    /// Requests over the window where it was observed.
    pub requests: u64,
    /// 4xx answers other than 429 where it was observed.
    pub failing: u64,
    /// How it fares.
    pub class: Class,
    /// The verdict (`None` when not replayed).
    pub verdict: Option<Verdict>,
    /// Why, in one line: the verdict line, and what is missing or the smallest fix.
    pub why: String,
    /// With a plan: the class before the change, and whether the change makes it worse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Class>,
    /// With a plan: the change makes this call worse.
    pub broken: bool,
}

/// One subject's calls replayed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectImpact {
    /// "client `wfm-sync`" in the org where usage was read.
    pub subject: String,
    /// Whether a subject named like it exists where the calls are replayed.
    pub found: bool,
    /// Every call, worst first.
    pub calls: Vec<CallImpact>,
}

impl SubjectImpact {
    /// Calls of a class.
    #[must_use]
    pub fn count(&self, class: Class) -> usize {
        self.calls.iter().filter(|c| c.class == class).count()
    }

    /// The worst class of its calls (allowed when it made none).
    #[must_use]
    pub fn worst(&self) -> Class {
        self.calls
            .iter()
            .map(|c| c.class)
            .min()
            .unwrap_or(Class::Allowed)
    }
}

/// Every subject's replay.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// The org whose usage was read.
    pub from: String,
    /// The org the calls are replayed in.
    pub to: String,
    /// The usage interval.
    pub interval: String,
    /// Days it spans.
    pub days: u32,
    /// Whether a planned change was applied to `to`.
    pub planned: bool,
    /// Subjects, worst first, then by name.
    pub subjects: Vec<SubjectImpact>,
    /// Templates that matched no catalog operation.
    pub unmatched: Vec<String>,
    /// What the answers rest on that is not confirmed.
    pub notes: Vec<String>,
}

impl Impact {
    /// The worst class of every call.
    #[must_use]
    pub fn worst(&self) -> Class {
        self.subjects
            .iter()
            .map(SubjectImpact::worst)
            .min()
            .unwrap_or(Class::Allowed)
    }
}

/// Which subjects to replay, and the org before a planned change.
#[derive(Default)]
pub struct ImpactOptions<'a> {
    /// Only this subject of the `from` org (else every subject with usage).
    pub subject: Option<SubjectRef>,
    /// The org (and its catalog) before a planned change applied to `to`: calls the change
    /// makes worse are marked `broken`.
    pub before_plan: Option<(&'a Org, &'a Catalog<'a>)>,
}

/// Replay the calls observed in `from` in `to`.
///
/// # Errors
/// When `from` has no usage dataset.
pub fn impact(
    (from, from_catalog): (&Org, &Catalog<'_>),
    (to, to_catalog): (&Org, &Catalog<'_>),
    opts: &ImpactOptions<'_>,
) -> Result<Impact, UsageError> {
    let m = matches(from, from_catalog)?;
    let index = from.usage().ok_or_else(|| super::no_usage(from))?;
    let mut subjects: Vec<SubjectRef> = match opts.subject {
        Some(s) => vec![s],
        None => index.subjects().collect(),
    };
    subjects.sort_by(|a, b| {
        (kind_rank(*a), from.subject_name(*a)).cmp(&(kind_rank(*b), from.subject_name(*b)))
    });
    // Subjects are independent: replayed on every core, in order.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 16);
    let chunk = subjects.len().div_ceil(threads).max(1);
    let replay_all = |part: &[SubjectRef]| -> Result<Vec<SubjectImpact>, UsageError> {
        part.iter()
            .map(|&s| replay_subject(s, (from, from_catalog, &m), (to, to_catalog), opts))
            .collect()
    };
    let mut out = Vec::with_capacity(subjects.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = subjects
            .chunks(chunk)
            .map(|part| scope.spawn(move || replay_all(part)))
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => out.push(done),
                Err(_) => out.push(Err(UsageError::Input {
                    message: "a replay thread stopped".to_owned(),
                    help: "report this as a bug".to_owned(),
                })),
            }
        }
    });
    let mut out: Vec<SubjectImpact> = out
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    out.sort_by_key(SubjectImpact::worst);
    let usage = from.snapshot().usage.as_deref();
    Ok(Impact {
        from: from.snapshot().organization.name.clone(),
        to: to.snapshot().organization.name.clone(),
        interval: usage.map(|u| u.interval.clone()).unwrap_or_default(),
        days: usage.map_or(0, |u| u.days),
        planned: opts.before_plan.is_some(),
        subjects: out,
        unmatched: m.unmatched(),
        notes: vec![
            "subjects are matched by name (users by email) between the orgs".to_owned(),
            "usage has no object ids: a call that acts on one object is answered for every \
             object it may act on, and \"will be denied\" means denied for at least one of them"
                .to_owned(),
            crate::catalog::usage::TEMPLATE_UNCONFIRMED.to_owned(),
        ],
    })
}

/// One subject's calls replayed in `to` (and in the org before the plan).
fn replay_subject(
    s: SubjectRef,
    (from, from_catalog, m): (&Org, &Catalog<'_>, &crate::catalog::usage::Matches),
    (to, to_catalog): (&Org, &Catalog<'_>),
    opts: &ImpactOptions<'_>,
) -> Result<SubjectImpact, UsageError> {
    let obs = observed(from, from_catalog, m, s)?;
    let target = same_subject(from, s, to);
    let before = opts
        .before_plan
        .map(|(o, c)| (o, c, same_subject(from, s, o)));
    let mut calls: Vec<CallImpact> = obs
        .calls
        .iter()
        .map(|c| replay(c, (to, to_catalog, target), before))
        .collect();
    calls.sort_by(|a, b| (a.class, &a.call).cmp(&(b.class, &b.call)));
    Ok(SubjectImpact {
        subject: subject_phrase(from, s),
        found: target.is_some(),
        calls,
    })
}

fn kind_rank(s: SubjectRef) -> u8 {
    match s {
        SubjectRef::Client(_) => 0,
        SubjectRef::User(_) => 1,
        SubjectRef::Group(_) => 2,
    }
}

fn ask(org: &Org, catalog: &Catalog<'_>, s: SubjectRef, op: &str) -> Option<Explanation> {
    explain(
        org,
        catalog,
        &Question {
            subject: s,
            operation: op,
            target: None,
            agents: Vec::new(),
            unread_target: None,
        },
    )
    .ok()
}

type Side<'a> = (&'a Org, &'a Catalog<'a>, Option<SubjectRef>);

fn replay(c: &super::Call, (to, cat, s): Side<'_>, before: Option<Side<'_>>) -> CallImpact {
    let mut out = CallImpact {
        call: c.usage.call(),
        operation: c.operation.clone(),
        requests: c.usage.requests,
        failing: c.usage.failing(),
        class: Class::MayBeDenied,
        verdict: None,
        why: String::new(),
        before: None,
        broken: false,
    };
    let (Some(op), Some(s)) = (c.operation.as_deref(), s) else {
        out.why = if c.operation.is_none() {
            "not replayed: the template matched no catalog operation".to_owned()
        } else {
            "not replayed: no subject named like it in this org".to_owned()
        };
        return out;
    };
    let Some(ex) = ask(to, cat, s, op) else {
        out.why = "not replayed: the catalog does not describe it".to_owned();
        return out;
    };
    out.class = Class::of(&ex);
    out.verdict = Some(ex.verdict);
    out.why = why(&ex);
    if let Some((o, oc, Some(os))) = before {
        if let Some(b) = ask(o, oc, os, op) {
            out.before = Some(Class::of(&b));
            out.broken = regressed(&b, &ex);
        }
    }
    out
}

/// Most alternatives of an `ANY` requirement named as missing.
const MAX_MISSING: usize = 3;

/// The verdict line, what is missing (for `ANY`, the alternatives the subject holds elsewhere,
/// else the first few), and the smallest fix.
fn why(ex: &Explanation) -> String {
    let mut text = ex.verdict_line();
    if ex.verdict == Verdict::Allowed {
        return text;
    }
    let failing: Vec<&crate::authz::PermissionCheck> = ex
        .permissions
        .iter()
        .filter(|p| p.status == crate::authz::Status::Fail)
        .collect();
    let elsewhere: Vec<&&crate::authz::PermissionCheck> =
        failing.iter().filter(|p| p.held_elsewhere).collect();
    let named: Vec<String> = if elsewhere.is_empty() {
        failing
            .iter()
            .take(MAX_MISSING)
            .map(|p| format!("`{}`", p.permission))
            .collect()
    } else {
        elsewhere
            .iter()
            .map(|p| format!("`{}`", p.permission))
            .collect()
    };
    if !named.is_empty() {
        let more = failing.len().saturating_sub(named.len());
        text.push_str(&format!("; missing {}", named.join(", ")));
        if more > 0 && elsewhere.is_empty() {
            text.push_str(&format!(" (or any of {more} other alternatives)"));
        }
    }
    if let Some(t) = ex.targets.iter().find(|t| t.verdict == Verdict::Denied) {
        text.push_str(&format!("; in {}: {}", t.target, t.reason));
    }
    if let Some(fix) = &ex.fix {
        text.push_str(&format!("; fix: {fix}"));
    }
    text
}
