//! Planned changes on the command line: reading `--plan` files into the after-org (shared by
//! `check`, `diff` and `explain`) and `rolecall plan-access`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::{emit, emit_data, json_text, load_source, note, Exit};
use rolecall::internals::authz::{resolve_subject, subject_phrase, Verdict};
use rolecall::internals::catalog::Catalog;
use rolecall::internals::change::{apply, load_change, plan_access, Causes, ChangeSet};
use rolecall::internals::model::Org;
use rolecall::internals::report::{plan_access_json, render_plan_access};

/// A planned change applied to an org.
pub struct Planned {
    /// The org after the change.
    pub after: Arc<Org>,
    /// Which resource addresses touched which object.
    pub causes: Causes,
    /// The changes read.
    pub set: ChangeSet,
    /// What the reading and applying leaned on, the resources not modelled, and the changes
    /// that could not be read.
    pub notes: Vec<String>,
}

/// Read the plan files in order and apply them to `before`.
pub fn planned(before: &Org, plans: &[PathBuf]) -> miette::Result<Planned> {
    let mut set = ChangeSet::default();
    for p in plans {
        set.extend(load_change(p)?);
    }
    let applied = apply(before, &set)?;
    let mut notes = vec![format!(
        "planned change from {}: {} change(s) applied to a copy of the org",
        plans
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", "),
        set.changes.len()
    )];
    if !set.not_modelled.is_empty() {
        notes.push(format!(
            "not modelled, ignored: {}",
            set.not_modelled.join(", ")
        ));
    }
    for u in &set.unknown {
        notes.push(format!(
            "unknown: {u}; the org after the change leaves it out, and no gate passes while it is there"
        ));
    }
    notes.extend(set.notes.iter().cloned());
    notes.extend(applied.notes);
    // Addresses and types come from the plan: every note is shown through the one sanitiser,
    // whichever command prints it.
    let notes: Vec<String> = notes
        .iter()
        .map(|n| rolecall::internals::text::visible(n).into_owned())
        .collect();
    Ok(Planned {
        after: Arc::new(Org::new(applied.snapshot)),
        causes: applied.causes,
        set,
        notes,
    })
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanAccessArgs {
    /// The plan (`terraform show -json tfplan`) or change file; repeatable, applied in order.
    #[arg(long = "plan", value_name = "FILE", required = true)]
    plans: Vec<PathBuf>,
    /// The client that applies the change: `client:NAME|ID`.
    #[arg(long = "as", value_name = "SUBJECT")]
    deployer: String,
    /// Snapshot of the org the change applies to (the built-in sample org when omitted).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with = "snapshot")]
    snapshot_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub fn run(args: &PlanAccessArgs) -> miette::Result<Exit> {
    let (snapshot, _, _) = load_source(super::either(&args.snapshot, &args.snapshot_file))?;
    let before = Org::new(snapshot);
    let deployer = resolve_subject(&before, &args.deployer)
        .map_err(|e| miette::miette!(help = e.help, "{}", e.message))?;
    let p = planned(&before, &args.plans)?;
    let catalog = Catalog::for_org(&before);
    let results = plan_access((&before, &p.after), &p.set, deployer, &catalog);
    let who = subject_phrase(&before, deployer);
    let mut notes = p.notes;
    notes.push(format!(
        "operations and permissions from {}",
        catalog.describe(std::time::SystemTime::now())
    ));
    match args.format {
        Format::Human => emit(&render_plan_access(&results, &who, &notes))?,
        Format::Json => emit_data(&json_text(&plan_access_json(&results, &who, &notes))?)?,
    }
    // A gate fails closed: what may be denied or is unknown fails as a denial does.
    Ok(if results.iter().all(|r| r.verdict == Verdict::Allowed) {
        Exit::Clean
    } else {
        Exit::Findings
    })
}

/// Say the planned change's notes on stderr.
pub fn say_notes(notes: &[String]) {
    for n in notes {
        note(n);
    }
}
