//! `rolecall diff`: differences in effective access between two orgs, or between an org and
//! the same org after a planned change (`--plan`), with the access gates of a planned change.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use std::sync::Arc;

use miette::IntoDiagnostic;

use super::{emit, emit_data, json_text, load_source, Exit};
use rolecall::internals::authz::OrgDiff;
use rolecall::internals::change::{new_access, AccessGain, DiffCauses};
use rolecall::internals::model::{load_snapshot, Org, Permission};
use rolecall::internals::report::{diff_json, render_diff_attributed, render_gates, GateResult};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The base snapshot (e.g. dev).
    #[arg(required_unless_present = "plans")]
    base: Option<PathBuf>,
    /// The snapshot compared with it (e.g. prod).
    #[arg(required_unless_present = "plans")]
    other: Option<PathBuf>,
    /// With `--plan`: the org the change applies to (the built-in sample org when omitted).
    #[arg(long, value_name = "FILE", requires = "plans")]
    snapshot: Option<PathBuf>,
    /// Compare the org with itself after this change (a Terraform plan or a rolecall change
    /// file; repeatable, applied in order) instead of comparing two snapshots.
    #[arg(long = "plan", value_name = "FILE", conflicts_with_all = ["base", "other"])]
    plans: Vec<PathBuf>,
    /// With `--plan`: exit 1 when any subject gains this permission (in this division, or in
    /// any); repeatable.
    #[arg(
        long = "deny-new-access",
        value_name = "PERM[@DIVISION]",
        requires = "plans"
    )]
    deny_new_access: Vec<String>,
    /// With `--plan`: exit 1 when any subject gains any access.
    #[arg(long, requires = "plans")]
    no_new_access: bool,
    /// Only this subject: `client:NAME`, `user:EMAIL` or `group:NAME` (as named in the base).
    #[arg(long = "as", value_name = "SUBJECT")]
    subject: Option<String>,
    /// Only the permissions this operation needs: `"METHOD /api/v2/…"` or an operationId.
    #[arg(long, value_name = "\"METHOD PATH\"")]
    op: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit 1 when the orgs differ.
    #[arg(long)]
    exit_code: bool,
}

/// The two orgs and their labels: two snapshots, or one and itself after the change.
type Orgs = (
    Org,
    Arc<Org>,
    Option<super::plan::Planned>,
    (String, String),
);

fn orgs(args: &DiffArgs) -> miette::Result<Orgs> {
    Ok(match (&args.base, &args.other) {
        (Some(b), Some(o)) if args.plans.is_empty() => (
            Org::new(load_snapshot(b)?),
            Arc::new(Org::new(load_snapshot(o)?)),
            None,
            (b.display().to_string(), o.display().to_string()),
        ),
        _ => {
            let (snapshot, _, path) = load_source(args.snapshot.as_deref())?;
            let before = Org::new(snapshot);
            let p = super::plan::planned(&before, &args.plans)?;
            let name = path.unwrap_or_else(|| "<sample org>".to_owned());
            let plans: Vec<String> = args.plans.iter().map(|p| p.display().to_string()).collect();
            let names = (name.clone(), format!("{name} + {}", plans.join(" + ")));
            (before, p.after.clone(), Some(p), names)
        }
    })
}

pub fn run(args: &DiffArgs) -> miette::Result<Exit> {
    let (base, other, planned, names) = orgs(args)?;
    let d =
        rolecall::internals::ask::diff(&base, &other, args.subject.as_deref(), args.op.as_deref())?;
    let label = |p: &str, o: &Org| format!("`{p}` (org `{}`)", o.snapshot().organization.name);
    let (causes, gates) = match &planned {
        Some(p) => (
            p.causes.for_diff(&base, &other, &d),
            gates(args, (&base, &other), p, &d)?,
        ),
        None => (DiffCauses::default(), Vec::new()),
    };
    match args.format {
        Format::Human => {
            let mut text = render_diff_attributed(
                &d,
                &label(&names.0, &base),
                &label(&names.1, &other),
                &causes,
            );
            text.push_str(&render_gates(&gates));
            for n in planned.iter().flat_map(|p| &p.notes) {
                text.push_str(&format!("\nnote: {n}"));
            }
            if planned.as_ref().is_some_and(|p| !p.notes.is_empty()) {
                text.push('\n');
            }
            emit(&text)?;
        }
        Format::Json => {
            let mut doc = diff_json(&d, &names.0, &names.1);
            if let Some(p) = &planned {
                doc["causes"] = serde_json::to_value(&causes).into_diagnostic()?;
                doc["gates"] = serde_json::to_value(&gates).into_diagnostic()?;
                doc["notes"] = serde_json::to_value(&p.notes).into_diagnostic()?;
            }
            emit_data(&json_text(&doc)?)?;
        }
    }
    Ok(
        if gates.iter().any(|g| !g.passed()) || (args.exit_code && !d.is_empty()) {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}

/// The access gates asked for: `--deny-new-access` per permission, `--no-new-access` over the
/// whole diff.
fn gates(
    args: &DiffArgs,
    (before, after): (&Org, &Org),
    p: &super::plan::Planned,
    d: &OrgDiff,
) -> miette::Result<Vec<GateResult>> {
    let mut out = Vec::new();
    // Every gate fails closed on what the plan does not let rolecall read.
    let unknown = &p.set.unknown;
    for spec in &args.deny_new_access {
        let (perm, division) = match spec.rsplit_once('@') {
            Some((perm, div)) => (perm, Some(div)),
            None => (spec.as_str(), None),
        };
        if Permission::parse(perm).is_none() {
            return Err(miette::miette!(
                help = "give `domain:entity:action`, optionally `@DIVISION`",
                "`--deny-new-access {spec}`: `{perm}` is not a permission"
            ));
        }
        let gains = new_access((before, after), &p.causes, perm, division)
            .map_err(|m| miette::miette!("`--deny-new-access {spec}`: {m}"))?;
        out.push(GateResult {
            gate: format!("--deny-new-access {spec}"),
            gains,
            unknown: unknown.clone(),
        });
    }
    if args.no_new_access {
        let causes = p.causes.for_diff(before, after, d);
        let mut gains = Vec::new();
        // Gains on effective access: a change that only narrows gains nothing.
        for (i, s) in d.subjects.iter().enumerate() {
            for g in &s.widened {
                gains.push(AccessGain {
                    subject: format!("{} `{}`", s.kind, s.name),
                    permission: g.clone(),
                    division: String::new(),
                    causes: causes.subjects.get(i).cloned().unwrap_or_default(),
                });
            }
        }
        for (i, line) in d.subjects_only.iter().enumerate() {
            // A subject only the after-org has, holding roles: all its access is new.
            if let Some(rest) = line
                .strip_prefix("+ ")
                .filter(|l| !l.ends_with("(no grants)"))
            {
                let (who, what) = rest.split_once(": ").unwrap_or((rest, "its roles"));
                gains.push(AccessGain {
                    subject: who.to_owned(),
                    permission: what.to_owned(),
                    division: String::new(),
                    causes: causes.subjects_only.get(i).cloned().unwrap_or_default(),
                });
            }
        }
        out.push(GateResult {
            gate: "--no-new-access".to_owned(),
            gains,
            unknown: unknown.clone(),
        });
    }
    Ok(out)
}
