//! `rolecall check`: resolve the settings, load a snapshot, run the rules (with the settings'
//! finishing step: waivers and the findings baseline), write the report, pick the exit code.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{
    color_allowed, emit_data, engine, json_text, load_source, note, settings, Exit, RuleSetArgs,
};
use rolecall::config::Overrides;
use rolecall::model::Org;
use rolecall::report::{
    render_html, render_human, render_junit, render_markdown, render_sarif, summary_line,
    write_json, HtmlOptions, HumanOptions, ReportContext, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Snapshot file to check.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    snapshot: Option<PathBuf>,
    /// Check the built-in sample org (the default when no source is given).
    #[arg(long)]
    sample: bool,
    /// Fetch the org live (into memory) and check it.
    #[arg(long, conflicts_with_all = ["snapshot", "sample"])]
    live: bool,
    #[command(flatten)]
    connect: super::fetch::ConnectArgs,
    #[command(flatten)]
    rule_set: RuleSetArgs,
    /// Exit 1 when a counting finding is at or above this severity (`none` never fails;
    /// default `info`: any finding).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Write the report to this file; the summary line still goes to stderr.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// An earlier JSON report: only findings it lacks are new, and only new findings fail.
    #[arg(long, value_name = "FILE")]
    baseline_findings: Option<PathBuf>,
    /// Check the org as it will be after this change: a Terraform plan (`terraform show -json
    /// tfplan`) or a rolecall change file; repeatable, applied in order. Findings are marked
    /// new, resolved or unchanged against the org before it.
    #[arg(long = "plan", value_name = "FILE", conflicts_with = "live")]
    plans: Vec<PathBuf>,
    /// With `--plan`: only findings the change makes new fail the run.
    #[arg(long, requires = "plans", conflicts_with = "baseline_findings")]
    new_only: bool,
    /// Findings a rule could not decide (missing data) do not fail the run. Without it an audit
    /// gate fails closed: an unknown counts at its rule's severity.
    #[arg(long)]
    allow_unknown: bool,
    /// With `--format html`: also map who holds this permission per division (repeatable;
    /// the permissions the findings name are always mapped).
    #[arg(long = "map-permission", value_name = "PERM")]
    map_permissions: Vec<String>,
    /// Show per-rule timings, what rules printed, every finding (not the first 100 per rule)
    /// and the peak memory.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(args: CheckArgs) -> miette::Result<Exit> {
    if let Some(out) = &args.output {
        rolecall::io::check_target(out)?;
    }
    let settings = settings(&Overrides {
        fail_on: args.fail_on.clone(),
        allow_unknown: args.allow_unknown,
        baseline_findings: args.baseline_findings.clone(),
        ..args.rule_set.overrides()
    })?;
    let (snapshot, kind, path) = if args.live {
        (super::fetch::fetch_org(&args.connect)?.0, "live", None)
    } else {
        load_source(args.snapshot.as_deref())?
    };
    let mut org = Arc::new(Org::new(snapshot));
    let engine = engine(&settings)?;
    settings.check_names(&engine)?;
    if engine.rules().next().is_none() && engine.load_errors().is_empty() {
        return Err(miette::miette!(
            help = "drop --no-builtin, or give --rules DIR with rule files",
            "no rules to run"
        ));
    }
    let (report, kind) = if args.plans.is_empty() {
        (settings.check(&engine, &org), kind.to_owned())
    } else {
        let p = super::plan::planned(&org, &args.plans)?;
        let mut report = settings.check_change(
            &engine,
            &org,
            &p.after,
            (&p.causes, &p.set.unknown),
            args.new_only,
        );
        report.notes.extend(p.notes);
        org = p.after;
        (report, format!("{kind}+plan"))
    };
    let fail_on = settings.fail_on;
    let ctx = ReportContext {
        org: &org,
        source_kind: kind,
        source_path: path,
        fail_on,
        now: SystemTime::now(),
        allow_unknown: settings.allow_unknown,
    };
    let text = match args.format {
        Format::Human => {
            let color = args.output.is_none() && std::io::stdout().is_terminal() && color_allowed();
            render_human(
                &report,
                &ctx,
                HumanOptions {
                    color,
                    verbose: args.verbose,
                },
            )
        }
        Format::Json => {
            let mut buf = Vec::new();
            write_json(&report, &ctx, &mut buf).into_diagnostic()?;
            let doc = String::from_utf8(buf).into_diagnostic()?;
            rolecall::text::passed(doc, rolecall::text::json_safe)
        }
        Format::Sarif => json_text(&render_sarif(&report, &ctx))?,
        Format::Junit => render_junit(&report, &ctx),
        Format::Markdown => render_markdown(&report, &ctx),
        Format::Html => render_html(
            &report,
            &ctx,
            &HtmlOptions {
                map_permissions: args.map_permissions.clone(),
            },
        ),
    };
    // Human and Markdown text get the terminal pass wherever they go (a file is `cat` later);
    // the documents are already safe and must stay byte-exact.
    let text = match args.format {
        Format::Human | Format::Markdown => {
            rolecall::text::passed(text, rolecall::text::for_terminal)
        }
        Format::Json | Format::Sarif | Format::Junit | Format::Html => text,
    };
    match &args.output {
        Some(file) => {
            rolecall::io::write_file(file, text.as_bytes())?;
            note(&summary_line(&report, &ctx));
        }
        None => emit_data(&text)?,
    }
    if args.verbose {
        if let Some(peak) = rolecall::engine::peak_rss_bytes() {
            note(&format!("peak memory: {} MiB resident", peak >> 20));
        }
    }
    let summary = Summary::of(&report, &ctx);
    Ok(if summary.errors > 0 {
        Exit::Error
    } else if summary.failing > 0 {
        Exit::Findings
    } else {
        Exit::Clean
    })
}
