//! `rolecall check`: load a snapshot and the config, run the rules, apply waivers and the
//! findings baseline, write the report, pick the exit code.

use std::collections::HashSet;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{emit, load_config, load_source, note, parse_params, Exit};
use rolecall::config::{self, apply_waivers};
use rolecall::engine::{CheckConfig, CheckReport, Limits, RuleEngine, Severity};
use rolecall::model::Org;
use rolecall::report::{
    render_human, render_junit, render_markdown, render_sarif, summary_line, write_json,
    HumanOptions, ReportContext, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
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
    /// Configuration file (default: `rolecall.toml` here or in a parent directory).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore any `rolecall.toml`.
    #[arg(long)]
    no_config: bool,
    /// Add user rules from a directory (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    no_builtin: bool,
    /// Run only these rules: ids, id prefixes, names or tags (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    select: Vec<String>,
    /// Skip these rules: ids, id prefixes, names or tags (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    ignore: Vec<String>,
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
    /// Rule parameter, `RULE.key=VALUE` (VALUE is JSON, or a plain string); repeatable.
    #[arg(long = "param", value_name = "RULE.KEY=VALUE")]
    params: Vec<String>,
    /// Wall-clock budget per rule, in seconds (default 10).
    #[arg(long, value_name = "SECONDS")]
    budget: Option<f64>,
    /// Most memory one rule's run may add, in MiB.
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    max_memory: u64,
    /// Show per-rule timings and what rules printed.
    #[arg(short, long)]
    verbose: bool,
}

fn parse_fail_on(text: &str) -> miette::Result<Option<Severity>> {
    match text.to_ascii_lowercase().as_str() {
        "none" | "never" => Ok(None),
        s => s.parse::<Severity>().map(Some).map_err(|m| {
            miette::miette!(
                help = "use critical, high, medium, low, info or none",
                "{m}"
            )
        }),
    }
}

/// Fingerprints of the findings in an earlier JSON report.
fn baseline_fingerprints(path: &PathBuf) -> miette::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| miette::miette!("cannot read findings baseline `{}`: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        miette::miette!(
            help = "give a report written by `rolecall check --format json`",
            "findings baseline `{}` is not JSON: {e}",
            path.display()
        )
    })?;
    if doc["format"] != rolecall::report::JSON_FORMAT {
        return Err(miette::miette!(
            help = "give a report written by `rolecall check --format json`",
            "findings baseline `{}` is not a `{}` report",
            path.display(),
            rolecall::report::JSON_FORMAT
        ));
    }
    Ok(doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["fingerprint"].as_str().map(str::to_owned))
        .collect())
}

fn mark_new(report: &mut CheckReport, known: &HashSet<String>) {
    for o in &mut report.outcomes {
        for f in &mut o.findings {
            f.new = Some(!known.contains(&f.fingerprint()));
        }
    }
}

pub fn run(args: CheckArgs) -> miette::Result<Exit> {
    let cfg = load_config(args.config.as_deref(), args.no_config)?;
    let fail_on = match (&args.fail_on, cfg.fail_on) {
        (Some(text), _) => parse_fail_on(text)?,
        (None, Some(from_config)) => from_config,
        (None, None) => Some(Severity::Info),
    };
    let budget = args.budget.or(cfg.budget_seconds).unwrap_or(10.0);
    if !(budget.is_finite() && budget > 0.0) {
        return Err(miette::miette!(
            "`--budget` must be a positive number of seconds"
        ));
    }
    let mut params = cfg.params.clone();
    parse_params(&args.params, &mut params)?;
    let known = args
        .baseline_findings
        .as_ref()
        .map(baseline_fingerprints)
        .transpose()?;

    let (snapshot, kind, path) = if args.live {
        (super::fetch::fetch_org(&args.connect)?.0, "live", None)
    } else {
        load_source(args.snapshot.as_deref())?
    };
    let org = Arc::new(Org::new(snapshot));
    let limits = Limits {
        budget: Duration::from_secs_f64(budget),
        max_memory: args.max_memory << 20,
        ..Limits::default()
    };
    let mut engine = RuleEngine::new(limits);
    if !args.no_builtin && cfg.builtin {
        engine.add_builtin();
    }
    for dir in cfg.rules.iter().chain(&args.rules) {
        engine.add_dir(dir)?;
    }
    if engine.rules().next().is_none() && engine.load_errors().is_empty() {
        return Err(miette::miette!(
            help = "drop --no-builtin, or give --rules DIR with rule files",
            "no rules to run"
        ));
    }
    let config = CheckConfig {
        select: if args.select.is_empty() {
            cfg.select.clone()
        } else {
            args.select.clone()
        },
        ignore: cfg.ignore.iter().chain(&args.ignore).cloned().collect(),
        params,
        severity: cfg.severity.clone(),
        threads: 0,
    };
    let mut report = engine.check(&org, &config);
    report.notes = apply_waivers(&mut report, &cfg.waivers, &config::today());
    if let Some(known) = &known {
        mark_new(&mut report, known);
    }
    let ctx = ReportContext {
        org: &org,
        source_kind: kind.to_owned(),
        source_path: path,
        fail_on,
        now: SystemTime::now(),
    };
    let text = match args.format {
        Format::Human => {
            let color = args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
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
            String::from_utf8(buf).into_diagnostic()?
        }
        Format::Sarif => {
            serde_json::to_string_pretty(&render_sarif(&report, &ctx)).into_diagnostic()? + "\n"
        }
        Format::Junit => render_junit(&report, &ctx),
        Format::Markdown => render_markdown(&report, &ctx),
    };
    match &args.output {
        Some(file) => {
            write_atomic(file, text.as_bytes())?;
            note(&summary_line(&report, &ctx));
        }
        None => emit(&text)?,
    }
    let summary = Summary::of(&report, fail_on);
    Ok(if summary.errors > 0 {
        Exit::Error
    } else if summary.failing > 0 {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

/// Write a report file so a reader never sees it half-written.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> miette::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let fail = |e: std::io::Error| miette::miette!("cannot write `{}`: {e}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
