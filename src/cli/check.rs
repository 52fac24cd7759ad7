//! `rolecall check`: load a snapshot, run the rules, print a report, pick the exit code.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

use super::{emit, load_source, Exit};
use rolecall::engine::{CheckConfig, Limits, RuleEngine, Severity};
use rolecall::model::Org;
use rolecall::report::{render_human, write_json, HumanOptions, ReportContext, Summary};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Snapshot file to check.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    snapshot: Option<PathBuf>,
    /// Check the built-in sample org (the default when no source is given).
    #[arg(long)]
    sample: bool,
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
    /// Exit 1 when a finding is at or above this severity (`none` never fails).
    #[arg(long, default_value = "info", value_name = "SEVERITY")]
    fail_on: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Rule parameter, `RULE.key=VALUE` (VALUE is JSON, or a plain string); repeatable.
    #[arg(long = "param", value_name = "RULE.KEY=VALUE")]
    params: Vec<String>,
    /// Wall-clock budget per rule, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    budget: f64,
    /// Most memory one rule's run may add, in MiB.
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    max_memory: u64,
    /// Show per-rule timings and what rules printed.
    #[arg(short, long)]
    verbose: bool,
}

fn parse_params(items: &[String]) -> miette::Result<HashMap<String, serde_json::Value>> {
    let mut out: HashMap<String, serde_json::Value> = HashMap::new();
    for item in items {
        let bad = || {
            miette::miette!(
                help = "write `--param NET002.required_cidrs='[\"198.51.100.0/24\"]'`",
                "`--param {item}` is not of the form `RULE.key=VALUE`"
            )
        };
        let (path, value) = item.split_once('=').ok_or_else(bad)?;
        let (rule, key) = path.split_once('.').ok_or_else(bad)?;
        if rule.is_empty() || key.is_empty() {
            return Err(bad());
        }
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        let entry = out
            .entry(rule.to_ascii_uppercase())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(m) = entry {
            m.insert(key.to_owned(), value);
        }
    }
    Ok(out)
}

pub fn run(args: CheckArgs) -> miette::Result<Exit> {
    let fail_on = match args.fail_on.to_ascii_lowercase().as_str() {
        "none" | "never" => None,
        s => Some(s.parse::<Severity>().map_err(|m| {
            miette::miette!(
                help = "use critical, high, medium, low, info or none",
                "{m}"
            )
        })?),
    };
    if !(args.budget.is_finite() && args.budget > 0.0) {
        return Err(miette::miette!(
            "`--budget` must be a positive number of seconds"
        ));
    }
    let params = parse_params(&args.params)?;
    let (snapshot, kind, path) = load_source(args.snapshot.as_deref())?;
    let org = Arc::new(Org::new(snapshot));
    let limits = Limits {
        budget: Duration::from_secs_f64(args.budget),
        max_memory: args.max_memory << 20,
        ..Limits::default()
    };
    let mut engine = RuleEngine::new(limits);
    if !args.no_builtin {
        engine.add_builtin();
    }
    for dir in &args.rules {
        engine.add_dir(dir)?;
    }
    if engine.rules().next().is_none() && engine.load_errors().is_empty() {
        return Err(miette::miette!(
            help = "drop --no-builtin, or give --rules DIR with rule files",
            "no rules to run"
        ));
    }
    let config = CheckConfig {
        select: args.select,
        ignore: args.ignore,
        params,
        threads: 0,
    };
    let report = engine.check(&org, &config);
    let ctx = ReportContext {
        org: &org,
        source_kind: kind.to_owned(),
        source_path: path,
        fail_on,
        now: SystemTime::now(),
    };
    match args.format {
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            emit(&render_human(
                &report,
                &ctx,
                HumanOptions {
                    color,
                    verbose: args.verbose,
                },
            ))?;
        }
        Format::Json => match write_json(&report, &ctx, std::io::stdout().lock()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(miette::miette!("cannot write to stdout: {e}"));
            }
            _ => {}
        },
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
