//! The HTML report: one self-contained page (inline CSS and JS, no network, works from
//! `file://`) with the header, findings grouped by rule and filterable, the access map and
//! ACC001 explanations step by step.
//!
//! Safety: the header is rendered here with [`escape`]; everything else travels as one JSON
//! island (with `<`, `>` and `&` written as `\u003c`… so no text can close the script element)
//! and the page's script inserts it with `textContent` only, never as markup. A
//! Content-Security-Policy forbids every network fetch, so a page opened anywhere stays local.
//! The access map ships holders' grants, not cells: the script renders one page of rows at a
//! time, so a 100k-user org stays small and quick.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::escape::escape;
use super::{human_age, ReportContext, Summary};
use crate::authz::{who_can, Via, WhoCanQuery};
use crate::engine::{CheckReport, Severity};
use crate::model::{Org, Permission, Scope, SubjectRef};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");
/// The static skeleton the script fills.
const BODY: &str = include_str!("html/body.html");

/// The `format` tag of the page's data island.
pub const HTML_DATA_FORMAT: &str = "rolecall.html-data/1";

/// Most permissions one access map shows (each adds its holders to the page).
const MAX_MAP_PERMISSIONS: usize = 32;

/// What the page shows besides the check report.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// Permissions for the access map besides those the findings name (`--map-permission`).
    pub map_permissions: Vec<String>,
}

/// Text with `backticks` as HTML: each quoted part a `<code>` element, everything escaped (the
/// page's script does the same with `textContent` for the findings).
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

/// JSON for a `<script type="application/json">` island: nothing in it can end the element
/// or start a comment, and raw control and bidi characters are escapes (`text::json_safe`).
fn island(v: &Value) -> String {
    crate::text::json_safe(&v.to_string())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Permissions named in findings (between backticks) that are real permissions: the ones the
/// rules reasoned about, in the order of the findings worst first, with the rule that first
/// names each. The access map opens on the first: the permission the worst finding is about.
fn permissions_in_findings(report: &CheckReport) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for o in super::worst_first(report) {
        for f in &o.findings {
            let texts = std::iter::once(&f.message)
                .chain(f.fix.iter())
                .chain(f.evidence.iter());
            for t in texts {
                for (i, part) in t.split('`').enumerate() {
                    if i % 2 == 1
                        && Permission::parse(part).is_some()
                        && !part.contains(' ')
                        && seen.insert(part.to_owned())
                    {
                        out.push((part.to_owned(), o.meta.id.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Subjects the page names, in first-use order (index = position in the `subjects` table).
#[derive(Default)]
struct Subjects {
    list: Vec<SubjectRef>,
    index: HashMap<SubjectRef, usize>,
}

impl Subjects {
    fn of(&mut self, s: SubjectRef) -> usize {
        *self.index.entry(s).or_insert_with(|| {
            self.list.push(s);
            self.list.len() - 1
        })
    }
}

fn access_maps(org: &Org, permissions: &[String], subjects: &mut Subjects) -> Vec<Value> {
    let mut maps = Vec::new();
    for p in permissions.iter().take(MAX_MAP_PERMISSIONS) {
        let Ok(w) = who_can(
            org,
            &WhoCanQuery {
                permission: p,
                ..WhoCanQuery::default()
            },
        ) else {
            continue;
        };
        let rows: Vec<Value> = w
            .holders
            .iter()
            .map(|h| {
                let s = subjects.of(h.subject);
                let grants: Vec<Value> = h
                    .grants
                    .iter()
                    .map(|g| {
                        let d = match g.grant.scope {
                            Scope::All => -1,
                            Scope::Division(d) => i64::from(d),
                        };
                        let via = match g.via {
                            Via::Direct => -1,
                            Via::Group(grp) => {
                                i64::try_from(subjects.of(SubjectRef::Group(grp))).unwrap_or(-1)
                            }
                        };
                        let role = org
                            .snapshot()
                            .roles
                            .get(g.grant.role as usize)
                            .map_or("?", |r| r.name.as_str());
                        json!([d, via, role])
                    })
                    .collect();
                let mut flags = String::new();
                if h.sign_in.is_some() {
                    flags.push('s');
                }
                if !h.denied_by.is_empty() {
                    flags.push('p');
                }
                json!([s, grants, flags])
            })
            .collect();
        maps.push(json!({
            "permission": w.permission,
            "aware": w.awareness.as_str(),
            "rows": rows,
            "notes": w.notes,
        }));
    }
    maps
}

/// The findings, and the rules that reported or failed (worst first) with their docs.
fn findings_data(report: &CheckReport) -> (Vec<Value>, Value) {
    let mut rules = serde_json::Map::new();
    let outcomes = super::worst_first(report);
    let mut findings = Vec::new();
    let mut order = Vec::new();
    for o in outcomes {
        if o.findings.is_empty() && o.error.is_none() {
            continue;
        }
        order.push(o.meta.id.clone());
        rules.insert(
            o.meta.id.clone(),
            json!({
                "name": o.meta.name,
                "severity": o.meta.severity.as_str(),
                "summary": o.meta.summary,
                "docs": o.meta.docs,
                "error": o.error.as_ref().map(|e| e.message.clone()),
            }),
        );
        for f in &o.findings {
            let mut flags = String::new();
            if f.waiver.as_ref().is_some_and(|w| !w.expired) {
                flags.push('w');
            }
            if f.new == Some(true) {
                flags.push('n');
            }
            if f.is_unknown() {
                flags.push('u');
            }
            findings.push(json!([
                f.rule_id,
                f.severity.as_str(),
                f.subject.kind,
                f.subject.name,
                f.message,
                f.fix,
                f.evidence,
                flags,
            ]));
        }
    }
    (findings, json!({ "order": order, "rules": rules }))
}

/// Render the report as one self-contained HTML page.
#[must_use]
pub fn render_html(report: &CheckReport, ctx: &ReportContext<'_>, opts: &HtmlOptions) -> String {
    let org = ctx.org;
    let named = permissions_in_findings(report);
    let mut permissions: Vec<String> = named.iter().map(|(p, _)| p.clone()).collect();
    for p in &opts.map_permissions {
        if !permissions.contains(p) {
            permissions.push(p.clone());
        }
    }
    let mut subjects = Subjects::default();
    let mut maps = access_maps(org, &permissions, &mut subjects);
    for m in &mut maps {
        let rule = named
            .iter()
            .find(|(p, _)| m["permission"] == p.as_str())
            .map(|(_, r)| r.clone());
        m["rule"] = json!(rule);
    }
    let left_out = permissions.len().saturating_sub(MAX_MAP_PERMISSIONS);
    let (findings, rules) = findings_data(report);
    let data = json!({
        "format": HTML_DATA_FORMAT,
        "severities": Severity::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "ruleOrder": rules["order"],
        "rules": rules["rules"],
        "findings": findings,
        "divisions": org.snapshot().divisions.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        "subjects": subjects.list.iter().map(|&s| json!([
            crate::authz::SubjectKind::of(s).as_str(),
            org.subject_name(s),
            // What the search matches: the keys the one name resolver knows (id, name, email).
            org.name_keys(s),
        ])).collect::<Vec<_>>(),
        "maps": maps,
        "mapsLeftOut": left_out,
    });
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    ));
    let name = &org.snapshot().organization.name;
    let _ = writeln!(
        out,
        "<title>rolecall report: {}</title>\n<style>{CSS}{}</style>\n</head>\n<body>",
        escape(name),
        super::usage::USAGE_CSS
    );
    out.push_str(&header(report, ctx));
    out.push_str(&super::usage::held_used_section(
        org,
        &crate::catalog::Catalog::for_org(org),
    ));
    out.push_str(BODY);
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"rolecall-data\">{}</script>\n<script>{JS}</script>\n</body>\n</html>\n",
        island(&data)
    );
    out
}

fn header(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let snap = ctx.org.snapshot();
    let s = Summary::of(report, ctx);
    let mut h = String::new();
    let _ = write!(
        h,
        "<header>\n<h1>rolecall report: <span id=\"org-name\">{}</span></h1>\n<dl class=\"meta\">",
        escape(&snap.organization.name)
    );
    let source = match &ctx.source_path {
        Some(p) => format!("{} <code>{}</code>", escape(&ctx.source_kind), escape(p)),
        None => escape(&ctx.source_kind),
    };
    let fetched = snap.fetched_at.as_deref().map_or_else(
        || "unknown: the snapshot does not say when it was fetched".to_owned(),
        |at| {
            let age = ctx.age().map(human_age).unwrap_or_default();
            format!("{} ({})", escape(at), escape(&age))
        },
    );
    let _ = writeln!(
        h,
        "<dt>Source</dt><dd>{source}</dd><dt>Fetched</dt><dd>{fetched}</dd>\
         <dt>Rules</dt><dd>{} ran, {} not run, {} error(s)</dd><dt>Verification</dt>\
         <dd id=\"verification\">{}</dd></dl>",
        s.rules - s.not_run,
        s.not_run,
        s.errors,
        escape(&super::verify::verification_line(snap))
    );
    h.push_str("<ul class=\"cards\" aria-label=\"Findings by severity\">");
    for (sev, n) in Severity::ALL.iter().zip(s.by_severity) {
        let _ = write!(
            h,
            "<li class=\"card sev-{0}\"><span class=\"n\">{n}</span> {0}</li>",
            sev.as_str()
        );
    }
    let _ = writeln!(
        h,
        "<li class=\"card\"><span class=\"n\">{}</span> unknown</li><li class=\"card\"><span class=\"n\">{}</span> waived</li></ul>",
        s.unknown, s.waived
    );
    h.push_str(&chart(report, &s));
    let gaps: Vec<_> = snap.coverage.iter().filter(|c| c.status != "ok").collect();
    if gaps.is_empty() {
        h.push_str("<p class=\"gaps ok\">Coverage: every endpoint was read.</p>\n");
    } else {
        h.push_str("<section class=\"gaps\" aria-label=\"Coverage gaps\"><h2>Coverage gaps</h2><p>Rules that need this data report <em>unknown</em>, never clean.</p><ul>");
        for c in gaps {
            let _ = write!(
                h,
                "<li><code>{}</code> ({}): {}{}</li>",
                escape(&c.dataset),
                escape(&c.endpoint),
                c.http_status.map(|s| s.to_string()).unwrap_or_default(),
                c.error_code
                    .as_deref()
                    .map(|e| format!(" <code>{}</code>", escape(e)))
                    .unwrap_or_default()
            );
        }
        h.push_str("</ul></section>\n");
    }
    let errors: Vec<_> = report.errors().collect();
    if !errors.is_empty() {
        h.push_str("<section class=\"errors\" aria-label=\"Rule errors\"><h2>Rule errors</h2><ul>");
        for e in errors {
            let _ = write!(
                h,
                "<li><code>{}</code>: {}</li>",
                escape(&e.location()),
                escape(&e.message)
            );
        }
        h.push_str("</ul></section>\n");
    }
    let not_run: Vec<_> = report.not_run().collect();
    if !not_run.is_empty() {
        // Never green by omission: a rule that did not run is listed with why.
        h.push_str("<section class=\"errors\" id=\"not-run\" aria-label=\"Rules not run\"><h2>Rules not run</h2><ul>");
        for (o, reason) in not_run {
            let _ = write!(
                h,
                "<li data-rule=\"{}\"><code>{}</code> {}: {}</li>",
                escape(&o.meta.id),
                escape(&o.meta.id),
                escape(&o.meta.name),
                code_spans(reason)
            );
        }
        h.push_str("</ul></section>\n");
    }
    for n in &report.notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(n));
    }
    h.push_str("</header>\n");
    h
}

/// Most rules the chart shows a bar for; the rest are summed on one line.
const CHART_RULES: usize = 10;

/// A small chart of findings by severity and by rule (the most first), drawn with CSS bars so
/// it needs no script and no image; every label is escaped text.
fn chart(report: &CheckReport, s: &Summary) -> String {
    let bar = |label: String, n: usize, max: usize, class: &str| {
        // Widths in whole percent of the largest bar; a bar with findings is never invisible.
        let pct = if n == 0 {
            0
        } else {
            (n * 100).div_ceil(max).max(2)
        };
        format!(
            "<li><span class=\"bar-label\">{label}</span><span class=\"bar-track\"><span class=\"bar {class}\" style=\"width:{pct}%\"></span></span><span class=\"bar-n\">{n}</span></li>"
        )
    };
    let mut h = String::from(
        "<section class=\"chart\" id=\"summary-chart\" aria-label=\"Findings by severity and by rule\">",
    );
    let max = s.by_severity.iter().copied().max().unwrap_or(0);
    h.push_str(
        "<figure><figcaption>By severity</figcaption><ul class=\"bars\" data-chart=\"severity\">",
    );
    for (sev, n) in Severity::ALL.iter().zip(s.by_severity) {
        h.push_str(&bar(
            sev.as_str().to_owned(),
            n,
            max,
            &format!("sev-{}", sev.as_str()),
        ));
    }
    h.push_str("</ul></figure>");
    let mut rules: Vec<_> = super::worst_first(report)
        .into_iter()
        .filter(|o| !o.findings.is_empty())
        .collect();
    rules.sort_by_key(|o| std::cmp::Reverse(o.findings.len()));
    let max = rules.first().map_or(0, |o| o.findings.len());
    h.push_str("<figure><figcaption>By rule</figcaption><ul class=\"bars\" data-chart=\"rule\">");
    if rules.is_empty() {
        h.push_str("<li>no findings</li>");
    }
    for o in rules.iter().take(CHART_RULES) {
        h.push_str(&bar(
            format!(
                "<code>{}</code> {}",
                escape(&o.meta.id),
                escape(&o.meta.name)
            ),
            o.findings.len(),
            max,
            &format!("sev-{}", o.meta.severity.as_str()),
        ));
    }
    if rules.len() > CHART_RULES {
        let rest: usize = rules[CHART_RULES..].iter().map(|o| o.findings.len()).sum();
        let _ = write!(
            h,
            "<li class=\"bar-rest\">… and {rest} in {} more rules</li>",
            rules.len() - CHART_RULES
        );
    }
    h.push_str("</ul></figure></section>\n");
    h
}
