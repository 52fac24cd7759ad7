//! Rendering what subjects really call: `rightsize` (human, JSON), `impact` (human, JSON,
//! Markdown, HTML) and the HTML report's picture of held against used permissions per client.
//!
//! Org text (names, template URIs, verdict lines that quote them) passes through the one
//! sanitiser (`text::visible`) in human and Markdown output, and through [`escape`] in HTML.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::escape::escape;
use crate::catalog::Catalog;
use crate::model::{Org, SubjectRef};
use crate::text::visible;
use crate::usage::{held_and_used, Class, Impact, Rightsize};

/// The `format` tag of `rightsize --format json`.
pub const RIGHTSIZE_FORMAT: &str = "rolecall.rightsize/1";
/// The `format` tag of `impact --format json`.
pub const IMPACT_FORMAT: &str = "rolecall.impact/1";

fn verdict_word(v: Option<crate::authz::Verdict>) -> &'static str {
    v.map_or("not replayed", crate::authz::Verdict::as_str)
}

/// `rightsize` for people.
#[must_use]
pub fn render_rightsize(r: &Rightsize) -> String {
    let mut out = format!("{} {}\n", visible(&r.subject), r.headline());
    let _ = writeln!(
        out,
        "  usage window: {} ({} days)",
        visible(&r.interval),
        r.days
    );
    let _ = writeln!(out, "  roles today: {}", visible(&r.held.roles.join(", ")));
    out.push_str("\nobserved calls and what they need:\n");
    for c in &r.calls {
        let need = c.need.as_ref().map_or_else(
            || "no permission declared".to_owned(),
            |n| {
                let mut t = format!("{} {}", n.kind, n.chosen.join(", "));
                if !n.alternatives.is_empty() {
                    let _ = write!(t, " (alternatives: {})", n.alternatives.join(", "));
                }
                t
            },
        );
        let _ = writeln!(
            out,
            "  {:<60} {:>7} calls  {}",
            visible(&c.call),
            c.requests,
            visible(&need)
        );
    }
    render_proposal(r, &mut out);
    out.push_str(
        "\nproof: every observed call replayed through `explain` with the proposal applied\n",
    );
    for c in &r.calls {
        let mark = if c.regressed { "WORSE" } else { "ok" };
        let _ = writeln!(
            out,
            "  {mark:<5} {:<60} {} -> {}",
            visible(&c.call),
            verdict_word(c.before),
            verdict_word(c.after)
        );
    }
    let _ = writeln!(
        out,
        "{}",
        if r.proven {
            "no observed call is denied or less certain with the proposal applied"
        } else {
            "NOT PROVEN: some observed calls are worse off with the proposal applied (marked WORSE)"
        }
    );
    render_failing(r, &mut out);
    for n in &r.notes {
        let _ = writeln!(out, "note: {}", visible(n));
    }
    out
}

fn render_proposal(r: &Rightsize, out: &mut String) {
    match &r.role {
        Some(role) => {
            let _ = writeln!(
                out,
                "\nproposed role `{}`: {}",
                visible(role),
                r.needed.join(", ")
            );
            let _ = writeln!(
                out,
                "granted in: {} (the divisions it holds roles in today; usage cannot narrow divisions)",
                visible(&r.divisions.join(", "))
            );
        }
        None => out.push_str("\nthe observed calls need no permission: every role can go\n"),
    }
    if !r.revoked.is_empty() {
        let _ = writeln!(out, "replacing: {}", visible(&r.revoked.join("; ")));
    }
    if !r.inherited.is_empty() {
        let _ = writeln!(
            out,
            "left as they are (through groups): {}",
            visible(&r.inherited.join("; "))
        );
    }
    let _ = write!(
        out,
        "\nchange file (rolecall.change/1):\n{}\nCX as Code:\n{}",
        visible_block(&r.change_file),
        visible_block(&r.cx_as_code)
    );
}

fn render_failing(r: &Rightsize, out: &mut String) {
    let failing: Vec<_> = r.failing().collect();
    if failing.is_empty() {
        return;
    }
    out.push_str(
        "\nthese calls are failing today (4xx answers other than 429 in the usage window):\n",
    );
    for c in failing {
        let _ = writeln!(
            out,
            "  {:<60} {} of {} failed",
            visible(&c.call),
            c.failing,
            c.requests
        );
    }
}

/// Multi-line text, each line made visible.
fn visible_block(text: &str) -> String {
    text.lines().map(|l| format!("{}\n", visible(l))).collect()
}

/// `rightsize --format json`.
#[must_use]
pub fn rightsize_json(r: &Rightsize, snapshot: Option<&str>) -> Value {
    json!({
        "format": RIGHTSIZE_FORMAT,
        "snapshot": snapshot,
        "headline": r.headline(),
        "rightsize": r,
    })
}

/// `impact` for people.
#[must_use]
pub fn render_impact(i: &Impact) -> String {
    let mut out = String::new();
    let place = if i.planned {
        format!("`{}` after the planned change", visible(&i.to))
    } else {
        format!("`{}`", visible(&i.to))
    };
    for s in &i.subjects {
        let denied: Vec<_> = s
            .calls
            .iter()
            .filter(|c| c.class == Class::Denied)
            .collect();
        let _ = writeln!(
            out,
            "{} makes {} kind{} of calls in `{}`; in {place} {} will be denied, {} may be denied, {} allowed{}",
            visible(&s.subject),
            s.calls.len(),
            if s.calls.len() == 1 { "" } else { "s" },
            visible(&i.from),
            denied.len(),
            s.count(Class::MayBeDenied),
            s.count(Class::Allowed),
            if s.found { "" } else { " (no subject named like it there)" }
        );
        for c in s.calls.iter().filter(|c| c.class != Class::Allowed) {
            let broken = if c.broken {
                " [broken by the change]"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {}: {}{broken}\n    {}",
                c.class.as_str(),
                visible(&c.call),
                visible(&c.why)
            );
        }
    }
    if !i.unmatched.is_empty() {
        let _ = writeln!(
            out,
            "not in the catalog (not replayed): {}",
            visible(&i.unmatched.join(", "))
        );
    }
    for n in &i.notes {
        let _ = writeln!(out, "note: {}", visible(n));
    }
    out
}

/// `impact --format json`.
#[must_use]
pub fn impact_json(i: &Impact) -> Value {
    json!({ "format": IMPACT_FORMAT, "worst": i.worst(), "impact": i })
}

fn md(s: &str) -> String {
    visible(s).replace('|', "\\|")
}

/// `impact --format markdown`: a section for a pull-request comment.
#[must_use]
pub fn impact_markdown(i: &Impact) -> String {
    let mut out = format!(
        "### rolecall impact: calls observed in `{}`, replayed in `{}`{}\n\n",
        md(&i.from),
        md(&i.to),
        if i.planned {
            " after the planned change"
        } else {
            ""
        }
    );
    out.push_str("| subject | call | verdict | why |\n|---|---|---|---|\n");
    for s in &i.subjects {
        for c in &s.calls {
            let _ = writeln!(
                out,
                "| {} | `{}` | {}{} | {} |",
                md(&s.subject),
                md(&c.call),
                c.class.as_str(),
                if c.broken {
                    " (broken by the change)"
                } else {
                    ""
                },
                md(&c.why)
            );
        }
    }
    for n in &i.notes {
        let _ = writeln!(out, "\n_{}_", md(n));
    }
    out
}

/// `impact --format html`: one self-contained page.
#[must_use]
pub fn impact_html(i: &Impact) -> String {
    let mut body = format!(
        "<h1>Calls observed in <code>{}</code>, replayed in <code>{}</code>{}</h1>\n",
        escape(&i.from),
        escape(&i.to),
        if i.planned {
            " after the planned change"
        } else {
            ""
        }
    );
    for s in &i.subjects {
        let _ = writeln!(
            body,
            "<section class=\"subject\"><h2>{}</h2><p>{} kinds of calls: {} will be denied, {} may be denied, {} allowed</p><table><tr><th>call</th><th>verdict</th><th>why</th></tr>",
            escape(&s.subject),
            s.calls.len(),
            s.count(Class::Denied),
            s.count(Class::MayBeDenied),
            s.count(Class::Allowed)
        );
        for c in &s.calls {
            let _ = writeln!(
                body,
                "<tr class=\"{}\"><td><code>{}</code></td><td>{}{}</td><td>{}</td></tr>",
                class_css(c.class),
                escape(&c.call),
                c.class.as_str(),
                if c.broken {
                    " (broken by the change)"
                } else {
                    ""
                },
                escape(&c.why)
            );
        }
        body.push_str("</table></section>\n");
    }
    for n in &i.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(n));
    }
    page(&format!("rolecall impact: {}", i.to), &body)
}

fn class_css(c: Class) -> &'static str {
    match c {
        Class::Denied => "denied",
        Class::MayBeDenied => "may",
        Class::Allowed => "allowed",
    }
}

const PAGE_CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}\
tr.denied td:nth-child(2){color:#b00020;font-weight:bold}tr.may td:nth-child(2){color:#8a5a00}tr.allowed td:nth-child(2){color:#1b6e20}\
.note{color:#555;font-size:.9rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{PAGE_CSS}{USAGE_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// Most clients the picture shows; the rest are counted.
const MAX_PICTURE_ROWS: usize = 60;

/// The picture's styles (also in the check report's page).
pub const USAGE_CSS: &str = ".held-used{margin:1.5rem 0}.held-used .row{display:grid;grid-template-columns:16rem 1fr 14rem;gap:.6rem;align-items:center;margin:.2rem 0}\
.held-used .bar{background:#e4e4e4;height:1rem;border-radius:3px;position:relative;overflow:hidden}\
.held-used .used{background:#2e7d32;height:100%}.held-used .idle .bar{background:#f3c6c6}\
.held-used .hu-legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}";

/// Per client that holds roles: permissions held against permissions its observed calls need,
/// as bars (grey: held, green: used), most unused first. Empty when the org has no usage.
#[must_use]
pub fn held_used_section(org: &Org, catalog: &Catalog<'_>) -> String {
    let Ok(matches) = crate::usage::matches(org, catalog) else {
        return String::new();
    };
    let mut rows = Vec::new();
    for (c, client) in org.snapshot().oauth_clients.iter().enumerate() {
        let Ok(ci) = u32::try_from(c) else { break };
        let s = SubjectRef::Client(ci);
        let Ok(obs) = crate::usage::observed(org, catalog, &matches, s) else {
            continue;
        };
        let (held, used) = held_and_used(org, &obs, s);
        if held.permissions == 0 {
            continue;
        }
        rows.push((
            client.name.clone(),
            held.permissions,
            used.len(),
            obs.calls.len(),
        ));
    }
    if rows.is_empty() {
        return String::new();
    }
    rows.sort_by(|a, b| {
        (b.1 - b.2.min(b.1))
            .cmp(&(a.1 - a.2.min(a.1)))
            .then(a.0.cmp(&b.0))
    });
    let mut h = String::from(
        "<section class=\"held-used\" id=\"held-used\"><h2>Held against used, per client</h2>\
         <p class=\"hu-legend\"><span style=\"background:#e4e4e4\"></span>permissions held\
         <span style=\"background:#2e7d32\"></span>permissions its observed calls need\
         <span style=\"background:#f3c6c6\"></span>no calls in the usage window</p>\n",
    );
    for (name, held, used, calls) in rows.iter().take(MAX_PICTURE_ROWS) {
        let pct = if *held == 0 {
            0
        } else {
            (used * 100 / held).min(100)
        };
        let idle = if *calls == 0 { " idle" } else { "" };
        let _ = writeln!(
            h,
            "<div class=\"row{idle}\"><span>{}</span><div class=\"bar\" role=\"img\" aria-label=\"uses {used} of {held}\"><div class=\"used\" style=\"width:{pct}%\"></div></div><span>uses {used} of {held} ({calls} kinds of calls)</span></div>",
            escape(name)
        );
    }
    if rows.len() > MAX_PICTURE_ROWS {
        let _ = writeln!(
            h,
            "<p>and {} more clients</p>",
            rows.len() - MAX_PICTURE_ROWS
        );
    }
    h.push_str("<p class=\"note\">Usage has no divisions: this compares permissions, not where they are held.</p></section>\n");
    h
}
