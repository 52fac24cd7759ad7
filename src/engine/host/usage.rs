//! What subjects really call, for rules: `subject.usage` (operations by `name`, counts, statuses, first
//! and last day, and what each operation needs), `user.last_token_issued`, `org.fetched_at` and
//! `days_between`.
//!
//! Reading `subject.usage` on a snapshot without usage notes the gap, so a rule that did not
//! declare `needs: ["usage"]` is still reported unknown rather than clean.

use rhai::{Array, Dynamic, Engine, Map};

use super::api::read_dataset;
use super::handles::{ClientH, GroupH, OrgH, Subject, UserH};
use crate::catalog::usage::{match_template, requirement};
use crate::catalog::Catalog;
use crate::model::Org;

/// `subject.usage`: `()` when usage was not read; else a map with `operations` (one map per
/// operation called), `requests`, `first`, `last` and `window_days`.
fn usage_of(org: &Org, s: crate::model::SubjectRef) -> Dynamic {
    read_dataset(org, "usage");
    let Some(index) = org.usage() else {
        return Dynamic::UNIT;
    };
    let catalog = Catalog::for_org(org);
    let mut ops = Array::new();
    let (mut requests, mut first, mut last) = (0_u64, String::new(), String::new());
    for u in index.of(s) {
        let operation = match_template(&catalog, &u.method, &u.template);
        let req = operation.as_deref().and_then(|o| requirement(&catalog, o));
        let mut m = Map::new();
        m.insert("name".into(), u.call().into());
        m.insert("method".into(), u.method.clone().into());
        m.insert("template".into(), u.template.clone().into());
        m.insert(
            "operation".into(),
            operation.map_or(Dynamic::UNIT, Dynamic::from),
        );
        m.insert(
            "requires".into(),
            req.as_ref()
                .map_or_else(Array::new, |r| {
                    r.list.iter().map(|p| Dynamic::from(p.clone())).collect()
                })
                .into(),
        );
        m.insert(
            "kind".into(),
            req.map_or(Dynamic::UNIT, |r| Dynamic::from(r.kind)),
        );
        for (k, v) in [
            ("requests", u.requests),
            ("ok", u.ok),
            ("client_errors", u.client_errors),
            ("failing", u.failing()),
            ("throttled", u.throttled),
            ("server_errors", u.server_errors),
        ] {
            m.insert(k.into(), i64::try_from(v).unwrap_or(i64::MAX).into());
        }
        m.insert("first".into(), u.first.clone().into());
        m.insert("last".into(), u.last.clone().into());
        requests += u.requests;
        if first.is_empty() || u.first < first {
            first.clone_from(&u.first);
        }
        if u.last > last {
            last.clone_from(&u.last);
        }
        ops.push(m.into());
    }
    let mut out = Map::new();
    out.insert("operations".into(), ops.into());
    out.insert(
        "requests".into(),
        i64::try_from(requests).unwrap_or(i64::MAX).into(),
    );
    out.insert("first".into(), opt_str(first));
    out.insert("last".into(), opt_str(last));
    let days = org.snapshot().usage.as_deref().map_or(0, |u| u.days);
    out.insert("window_days".into(), i64::from(days).into());
    out.into()
}

fn opt_str(s: String) -> Dynamic {
    if s.is_empty() {
        Dynamic::UNIT
    } else {
        s.into()
    }
}

/// Seconds since the epoch of an RFC 3339 time or a `yyyy-MM-dd` date.
fn epoch_seconds(text: &str) -> Option<i64> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    let t = humantime::parse_rfc3339_weak(full.trim_end_matches('Z')).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

fn register_usage<H: Subject>(engine: &mut Engine) {
    engine.register_get("usage", |h: &mut H| usage_of(h.org(), h.subject()));
}

pub(crate) fn register(engine: &mut Engine) {
    register_usage::<UserH>(engine);
    register_usage::<ClientH>(engine);
    register_usage::<GroupH>(engine);
    // `()` when not read; `""` when the platform says no token was ever issued; else the time.
    engine.register_get("last_token_issued", |u: &mut UserH| -> Dynamic {
        match u.org.snapshot().users.get(u.i as usize) {
            Some(user) => match &user.last_token_issued {
                None => Dynamic::UNIT,
                Some(t) => t.date_issued.clone().unwrap_or_default().into(),
            },
            None => Dynamic::UNIT,
        }
    });
    engine.register_get("fetched_at", |o: &mut OrgH| -> Dynamic {
        o.0.snapshot()
            .fetched_at
            .clone()
            .map_or(Dynamic::UNIT, Dynamic::from)
    });
    // Whole days from `a` to `b` (RFC 3339 times or `yyyy-MM-dd` dates); `()` if either is not
    // a date.
    engine.register_fn("days_between", |a: &str, b: &str| -> Dynamic {
        match (epoch_seconds(a), epoch_seconds(b)) {
            (Some(x), Some(y)) => Dynamic::from((y - x).div_euclid(86_400)),
            _ => Dynamic::UNIT,
        }
    });
}
