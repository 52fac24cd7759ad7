//! Rendering `verify`: the plan, the human report (a headline, then each disagreement with both
//! answers, the grants rolecall used and the likeliest cause), the `rolecall.verify/1` JSON
//! document, and the one line `check` and `explain` print about a stored verification.
//!
//! Names from org data reach a terminal here, so every such text goes through [`clean`].

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::model::{Org, OrgSnapshot, Verification};
use crate::verify::{Asked, PairOutcome, Plan, VerifyReport, Way};

/// The `format` tag of `verify --format json`.
pub const VERIFY_FORMAT: &str = "rolecall.verify/1";

/// Most disagreements and unknown pairs listed one by one; the rest are counted.
const MAX_LISTED: usize = 100;

/// Text from org data, made visible by the one sanitiser.
fn clean(text: &str) -> String {
    crate::text::visible(text).into_owned()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn way_words(org: &Org, w: Way) -> String {
    let group = |g: u32| clean(org.subject_name(crate::model::SubjectRef::Group(g)));
    match w {
        Way::Direct => "direct grants".to_owned(),
        Way::DirectInDivision => "a direct grant in one division".to_owned(),
        Way::Group(g) => format!("grants through group `{}`", group(g)),
        Way::GroupWithoutRoles(g) => {
            format!("group `{}`, which passes no roles on", group(g))
        }
        Way::AllDivisions => "a grant in all divisions (`*`)".to_owned(),
        Way::Wildcard => "a wildcard role permission".to_owned(),
        Way::NoGrants => "no grants".to_owned(),
        Way::Holder => "the only holder chosen of a permission".to_owned(),
        Way::Named => "named with --subjects".to_owned(),
        Way::Caller => "the fetching client itself (`…/paged/me`)".to_owned(),
    }
}

/// The plan, printed before it runs: its size, request count and who stands for what.
#[must_use]
pub fn render_plan(org: &Org, plan: &Plan) -> String {
    let mut out = format!(
        "plan: {} ({} users, {}), at most {}",
        plural(plan.pairs.len(), "pair"),
        plan.subjects
            .iter()
            .filter(|(a, _)| matches!(a, Asked::User(_)))
            .count(),
        plural(plan.permissions, "permission"),
        plural(plan.requests, "request"),
    );
    if plan.left_out > 0 {
        let _ = write!(
            out,
            "; {} left out to stay within --max-requests",
            plural(plan.left_out, "pair")
        );
    }
    out.push('\n');
    for (asked, ways) in &plan.subjects {
        let words: Vec<String> = ways.iter().map(|&w| way_words(org, w)).collect();
        let _ = writeln!(
            out,
            "  {}: {}",
            clean(&crate::authz::subject_phrase(org, asked.subject())),
            words.join(", ")
        );
    }
    out
}

/// The headline: "model agrees with the platform on 187 of 187 pairs (31 users, 24
/// permissions)", with the disagreements and unknown pairs counted after it.
#[must_use]
pub fn verify_headline(r: &VerifyReport) -> String {
    let mut line = format!(
        "model agrees with the platform on {} of {} ({}, {})",
        r.agreements(),
        plural(r.pairs.len(), "pair"),
        plural(r.users, "user"),
        plural(r.permissions, "permission")
    );
    let mut extra = Vec::new();
    if r.disagreements() > 0 {
        extra.push(plural(r.disagreements(), "disagreement"));
    }
    if r.unknown() > 0 {
        extra.push(format!(
            "{} unknown (the platform's answer could not be had)",
            r.unknown()
        ));
    }
    if !extra.is_empty() {
        let _ = write!(line, ": {}", extra.join(", "));
    }
    line
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|i| clean(i))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The human report.
#[must_use]
pub fn render_verify(r: &VerifyReport) -> String {
    let mut out = verify_headline(r);
    out.push('\n');
    let mut listed = 0;
    for p in &r.pairs {
        let cause = match &p.outcome {
            PairOutcome::Agree => continue,
            PairOutcome::Disagree { cause } => cause.words().to_owned(),
            PairOutcome::Unknown { reason } => format!("unknown: {}", clean(reason)),
        };
        listed += 1;
        if listed > MAX_LISTED {
            continue;
        }
        let kind = if matches!(p.outcome, PairOutcome::Unknown { .. }) {
            "unknown"
        } else {
            "disagreement"
        };
        let via = if p.caller {
            " (asked as `…/paged/me`)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n{kind}: {}{via}, `{}`",
            clean(&p.subject),
            clean(&p.permission)
        );
        if let Some(pl) = &p.platform {
            let _ = writeln!(
                out,
                "  platform: {}{}{}",
                if pl.all_divs_permitted {
                    "all divisions (`allDivsPermitted`); listed: "
                } else {
                    ""
                },
                list(&pl.divisions),
                if pl.complete {
                    ""
                } else {
                    ", and more (the listing is longer than rolecall's answer; not read further)"
                }
            );
        }
        let _ = writeln!(
            out,
            "  rolecall: {}{}",
            if p.model.all_divisions {
                "all divisions (a `*` grant); also: "
            } else {
                ""
            },
            list(&p.model.divisions)
        );
        let _ = writeln!(out, "  grants used: {}", list(&p.model.grants));
        let _ = writeln!(out, "  likely cause: {cause}");
    }
    if listed > MAX_LISTED {
        let _ = writeln!(out, "\n… and {} more", listed - MAX_LISTED);
    }
    if r.left_out > 0 {
        let _ = writeln!(
            out,
            "\n{} not asked (--max-requests)",
            plural(r.left_out, "pair")
        );
    }
    out.push_str("\nassumed (not confirmed by the API facts):\n");
    for a in &r.assumptions {
        let _ = writeln!(out, "  - {a}");
    }
    let _ = writeln!(
        out,
        "{} sent ({} retried, {} rate-limited) in {:.1} s",
        plural(r.stats.requests, "request"),
        r.stats.retries,
        r.stats.rate_limited,
        Duration::from_millis(r.stats.elapsed_ms).as_secs_f64()
    );
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyDoc<'a> {
    format: &'static str,
    summary: Verification,
    #[serde(flatten)]
    report: &'a VerifyReport,
}

/// The `rolecall.verify/1` JSON document.
#[must_use]
pub fn verify_json(r: &VerifyReport) -> serde_json::Value {
    serde_json::to_value(VerifyDoc {
        format: VERIFY_FORMAT,
        summary: r.verification(),
        report: r,
    })
    .unwrap_or_default()
}

/// The line reports print about the snapshot's stored verification: "model verified against
/// the platform: 187/187 pairs, 2 hours after this snapshot", or "model not verified against
/// the platform".
#[must_use]
pub fn verification_line(snap: &OrgSnapshot) -> String {
    let Some(v) = &snap.verification else {
        return "model not verified against the platform (`rolecall verify --save`)".to_owned();
    };
    let mut line = format!(
        "model verified against the platform: {}/{} pairs",
        v.agreements, v.pairs
    );
    if v.disagreements > 0 {
        let _ = write!(line, " agree, {} disagree", v.disagreements);
    }
    if v.unknown > 0 {
        let _ = write!(line, ", {} unknown", v.unknown);
    }
    let parse = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    let when = match (
        parse(&v.verified_at),
        snap.fetched_at.as_deref().and_then(parse),
    ) {
        (Some(at), Some(fetched)) => match at.duration_since(fetched) {
            Ok(d) => format!("{} after this snapshot", span(d)),
            Err(e) => format!("{} before this snapshot", span(e.duration())),
        },
        _ => format!("at {}", clean(&v.verified_at)),
    };
    let _ = write!(line, ", {when}");
    line
}

/// "2 h", "5 min", "3 days", "under a minute".
fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => "under a minute".to_owned(),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => plural(usize::try_from(s / 86_400).unwrap_or(usize::MAX), "day"),
    }
}
