//! Rendering of the access queries: `who-can` (human, JSON `rolecall.who-can/1`, CSV) and
//! `access` (human, JSON `rolecall.access/1`), with `access --op`'s per-target answers.
//!
//! Every piece of org text in human output goes through the one sanitiser
//! ([`crate::text::visible`]); JSON and CSV keep the values (the CLI writes JSON through
//! `text::json_safe`).

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::authz::{
    held_grant_phrase, scope_phrase, subject_phrase, Access, Explanation, Holder, SubjectKind,
    Verdict, Via, WhoCan,
};
use crate::model::{Org, Scope, SubjectRef};
use crate::text::visible as v;

/// The `format` tag of `who-can` JSON.
pub const WHO_CAN_FORMAT: &str = "rolecall.who-can/1";
/// The `format` tag of `access` JSON.
pub const ACCESS_FORMAT: &str = "rolecall.access/1";

fn bucket_name(org: &Org, division: Option<u32>) -> String {
    division.map_or_else(
        || "in any division".to_owned(),
        |d| v(&scope_phrase(org, Scope::Division(d))).into_owned(),
    )
}

fn marks(org: &Org, h: &Holder) -> String {
    let mut m = String::new();
    if h.sign_in.is_some() {
        m.push_str(" [cannot sign in]");
    }
    for &p in &h.denied_by {
        if let Some(p) = org.snapshot().access_policies.get(p as usize) {
            let _ = write!(m, " [denied by policy `{}`]", v(&p.name));
        }
    }
    m
}

fn kind_counts(w: &WhoCan, list: &[u32]) -> String {
    let mut n = [0usize; 3];
    for &i in list {
        if let Some(h) = w.holders.get(i as usize) {
            n[match h.subject {
                SubjectRef::User(_) => 0,
                SubjectRef::Group(_) => 1,
                SubjectRef::Client(_) => 2,
            }] += 1;
        }
    }
    let parts: Vec<String> = ["user", "group", "client"]
        .iter()
        .zip(n)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}{}", if n == 1 { "" } else { "s" }))
        .collect();
    if parts.is_empty() {
        "no one".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `who-can` for people: counts first, then per division who and how.
#[must_use]
pub fn render_who_can(org: &Org, w: &WhoCan) -> String {
    let aware = w.aware();
    let mut out = format!(
        "`{}` ({}): {} holder{}\n",
        v(&w.permission),
        match w.awareness {
            crate::authz::Awareness::Aware => "division-aware",
            crate::authz::Awareness::NotAware => "not division-aware",
            crate::authz::Awareness::Unknown => "not in the catalog, treated as division-aware",
        },
        w.holders.len(),
        if w.holders.len() == 1 { "" } else { "s" }
    );
    for b in &w.divisions {
        let _ = writeln!(
            out,
            "  {}: {}",
            bucket_name(org, b.division),
            kind_counts(w, &b.holders)
        );
    }
    for b in &w.divisions {
        let _ = writeln!(
            out,
            "\n{} ({}):",
            bucket_name(org, b.division),
            b.holders.len()
        );
        for &i in &b.holders {
            let Some(h) = w.holders.get(i as usize) else {
                continue;
            };
            let how: Vec<String> = h
                .grants_at(b.target(), aware)
                .map(|g| v(&held_grant_phrase(org, g)).into_owned())
                .collect();
            let _ = writeln!(
                out,
                "  {}: {}{}",
                v(&subject_phrase(org, h.subject)),
                how.join("; "),
                marks(org, h)
            );
        }
    }
    for n in &w.notes {
        let _ = writeln!(out, "\nnote: {}", v(n));
    }
    out
}

fn subject_json(org: &Org, s: SubjectRef) -> Value {
    json!({
        "kind": SubjectKind::of(s).as_str(),
        "id": org.subject_id(s),
        "name": org.subject_name(s),
    })
}

fn grant_json(org: &Org, g: &crate::authz::EffectiveGrant) -> Value {
    let snap = org.snapshot();
    let role = snap.roles.get(g.grant.role as usize);
    json!({
        "role": { "id": role.map(|r| r.id.as_str()), "name": role.map(|r| r.name.as_str()) },
        "division": match g.grant.scope {
            Scope::All => json!("*"),
            Scope::Division(d) => json!({
                "id": snap.divisions.get(d as usize).map(|x| x.id.as_str()),
                "name": org.scope_name(g.grant.scope),
            }),
        },
        "via": match g.via {
            Via::Direct => json!("direct"),
            Via::Group(grp) => json!({ "group": subject_json(org, SubjectRef::Group(grp)) }),
        },
    })
}

/// `who-can` as JSON, format [`WHO_CAN_FORMAT`].
#[must_use]
pub fn who_can_json(org: &Org, w: &WhoCan) -> Value {
    let aware = w.aware();
    let snap = org.snapshot();
    let divisions: Vec<Value> = w
        .divisions
        .iter()
        .map(|b| {
            let holders: Vec<Value> = b
                .holders
                .iter()
                .filter_map(|&i| w.holders.get(i as usize))
                .map(|h| {
                    let mut v = subject_json(org, h.subject);
                    v["grants"] = h
                        .grants_at(b.target(), aware)
                        .map(|g| grant_json(org, g))
                        .collect();
                    if let Some(why) = h.sign_in {
                        v["cannotSignIn"] = json!(why);
                    }
                    if !h.denied_by.is_empty() {
                        v["deniedBy"] = h
                            .denied_by
                            .iter()
                            .filter_map(|&p| snap.access_policies.get(p as usize))
                            .map(|p| json!({ "id": p.id, "name": p.name }))
                            .collect();
                    }
                    v
                })
                .collect();
            json!({
                "division": b.division.map(|d| json!({
                    "id": snap.divisions.get(d as usize).map(|x| x.id.as_str()),
                    "name": org.scope_name(Scope::Division(d)),
                })),
                "count": holders.len(),
                "holders": holders,
            })
        })
        .collect();
    json!({
        "format": WHO_CAN_FORMAT,
        "permission": w.permission,
        "divisionAware": w.awareness.as_str(),
        "holders": w.holders.len(),
        "divisions": divisions,
        "notes": w.notes,
    })
}

/// One CSV field: control and bidi characters (newlines too) shown as escapes by the one
/// sanitiser, since CSV is read with `cat` as often as with a spreadsheet; a leading `=`, `+`,
/// `-` or `@` defused so that a spreadsheet does not run org data as a formula; quoted when
/// needed.
fn csv_field(s: &str) -> String {
    let s = v(s);
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `who-can` as CSV: one row per division, holder and grant.
#[must_use]
pub fn who_can_csv(org: &Org, w: &WhoCan) -> String {
    let aware = w.aware();
    let mut out = String::from(
        "division,kind,id,name,role,grant_division,via_group,cannot_sign_in,denied_by\n",
    );
    let snap = org.snapshot();
    for b in &w.divisions {
        let division = b.division.map_or("*any*".to_owned(), |d| {
            org.scope_name(Scope::Division(d)).to_owned()
        });
        for h in b.holders.iter().filter_map(|&i| w.holders.get(i as usize)) {
            let denied: Vec<&str> = h
                .denied_by
                .iter()
                .filter_map(|&p| snap.access_policies.get(p as usize))
                .map(|p| p.name.as_str())
                .collect();
            for g in h.grants_at(b.target(), aware) {
                let role = snap
                    .roles
                    .get(g.grant.role as usize)
                    .map_or("?", |r| r.name.as_str());
                let via = match g.via {
                    Via::Direct => String::new(),
                    Via::Group(grp) => org.subject_name(SubjectRef::Group(grp)).to_owned(),
                };
                let row = [
                    division.as_str(),
                    SubjectKind::of(h.subject).as_str(),
                    org.subject_id(h.subject),
                    org.subject_name(h.subject),
                    role,
                    match g.grant.scope {
                        Scope::All => "*",
                        s => org.scope_name(s),
                    },
                    &via,
                    if h.sign_in.is_some() { "yes" } else { "" },
                    &denied.join("; "),
                ];
                let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
                out.push_str(&fields.join(","));
                out.push('\n');
            }
        }
    }
    out
}

/// `access` for people: grants per scope with the permissions each gives, then the answers
/// for `--op` when asked.
#[must_use]
pub fn render_access(org: &Org, a: &Access, op: Option<&Explanation>) -> String {
    let grants: usize = a.scopes.iter().map(|(_, g)| g.len()).sum();
    let mut out = format!(
        "{}: {grants} grant{}\n",
        v(&subject_phrase(org, a.subject)),
        if grants == 1 { "" } else { "s" }
    );
    if let Some(why) = a.sign_in {
        let _ = writeln!(out, "  cannot sign in: {}", v(why));
    }
    for (scope, list) in &a.scopes {
        let _ = writeln!(out, "\n{}:", v(&scope_phrase(org, *scope)));
        for g in list {
            let gives = if g.permissions.is_empty() {
                "nothing (the role has no permission policies)".to_owned()
            } else {
                g.permissions.join(", ")
            };
            let _ = writeln!(
                out,
                "  {}: {}",
                v(&held_grant_phrase(org, &g.grant)),
                v(&gives)
            );
        }
    }
    if let Some(ex) = op {
        out.push('\n');
        out.push_str(&op_lines(ex));
    }
    for n in &a.notes {
        let _ = writeln!(out, "\nnote: {}", v(n));
    }
    out
}

fn op_lines(ex: &Explanation) -> String {
    let mut out = String::new();
    if ex.targets.is_empty() {
        let _ = writeln!(
            out,
            "`{}`: {}{}",
            v(&ex.operation),
            ex.verdict.as_str(),
            ex.target
                .as_deref()
                .map(|t| format!(" on {}", v(t)))
                .unwrap_or_default()
        );
    } else {
        let allowed: Vec<&str> = ex
            .targets
            .iter()
            .filter(|t| t.verdict == Verdict::Allowed)
            .map(|t| t.target.as_str())
            .collect();
        let _ = writeln!(
            out,
            "`{}`: allowed on {} of {} target{}",
            v(&ex.operation),
            allowed.len(),
            ex.targets.len(),
            if ex.targets.len() == 1 { "" } else { "s" }
        );
        for t in &ex.targets {
            let _ = writeln!(
                out,
                "  {}: {}{}",
                v(&t.target),
                t.verdict.as_str(),
                if t.verdict == Verdict::Allowed {
                    String::new()
                } else {
                    format!(" ({})", v(&t.reason))
                }
            );
        }
    }
    for a in &ex.assumptions {
        let _ = writeln!(out, "  assumed: {}", v(a));
    }
    out
}

/// `access` as JSON, format [`ACCESS_FORMAT`].
#[must_use]
pub fn access_json(org: &Org, a: &Access, op: Option<&Explanation>) -> Value {
    let scopes: Vec<Value> = a
        .scopes
        .iter()
        .map(|(scope, list)| {
            json!({
                "division": scope_json(org, *scope),
                "grants": list.iter().map(|g| {
                    let mut v = grant_json(org, &g.grant);
                    v["permissions"] = json!(g.permissions);
                    v
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut v = json!({
        "format": ACCESS_FORMAT,
        "subject": subject_json(org, a.subject),
        "scopes": scopes,
        "notes": a.notes,
    });
    if let Some(why) = a.sign_in {
        v["cannotSignIn"] = json!(why);
    }
    if let Some(ex) = op {
        v["operation"] = json!({
            "operation": ex.operation,
            "verdict": ex.verdict.as_str(),
            "target": ex.target,
            "targets": ex.targets,
            "assumptions": ex.assumptions,
        });
    }
    v
}

fn scope_json(org: &Org, scope: Scope) -> Value {
    match scope {
        Scope::All => json!("*"),
        Scope::Division(d) => json!({
            "id": org.snapshot().divisions.get(d as usize).map(|x| x.id.as_str()),
            "name": org.scope_name(scope),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@cmd"), "'@cmd");
        assert_eq!(csv_field("a\r\nb\u{1b}"), "a\\r\\nb\\u{1b}");
    }
}
