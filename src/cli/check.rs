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
use rolecall::internals::config::Overrides;
use rolecall::internals::model::Org;
use rolecall::internals::report::{
    render_github, render_html, render_human, render_junit, render_markdown, render_sarif,
    render_statistics, statistics_json, summary_line, write_json, HtmlOptions, HumanOptions,
    ReportContext, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    /// GitHub Actions workflow commands: annotations on the run and the pull request.
    Github,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Junit => "junit",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Github => "github",
        }
    }
}

/// One more report of the same run: `FORMAT:PATH` (`-` or no path: stdout).
#[derive(Debug, Clone)]
struct Report {
    format: Format,
    path: Option<PathBuf>,
}

fn parse_report(s: &str) -> Result<Report, String> {
    let (format, path) = s.split_once(':').unwrap_or((s, "-"));
    let format = Format::from_str(format, true).map_err(|_| {
        format!("unknown format `{format}`: expected human, json, sarif, junit, markdown, html or github, as in `sarif:rolecall.sarif`")
    })?;
    let path = match path {
        "-" => None,
        "" => {
            return Err(format!(
                "no path after `{}:`: give one, or `-` for stdout",
                format.name()
            ))
        }
        p => Some(PathBuf::from(p)),
    };
    Ok(Report { format, path })
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The snapshot file to check, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with_all = ["snapshot", "sample", "live"])]
    snapshot_file: Option<PathBuf>,
    /// Snapshot file to check.
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    snapshot: Option<PathBuf>,
    /// Check the built-in sample org (the default on a terminal when no source is given).
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
    /// Output format (`--output-format` as in ruff).
    #[arg(
        long,
        visible_alias = "output-format",
        value_enum,
        default_value = "human"
    )]
    format: Format,
    /// Write the report to this file; the summary line still goes to stderr.
    #[arg(short, long, visible_alias = "output-file", value_name = "FILE")]
    output: Option<PathBuf>,
    /// One more report of the same run, `FORMAT:PATH` (`FORMAT` or `FORMAT:-` for stdout);
    /// repeatable, e.g. `--report sarif:rolecall.sarif --report junit:rolecall.xml`.
    #[arg(long = "report", value_name = "FORMAT:PATH", value_parser = parse_report)]
    reports: Vec<Report>,
    /// Count findings per rule (most first) instead of listing them; with `--format json`,
    /// as `rolecall.statistics/1`. Other formats still go to `--report`.
    #[arg(long)]
    statistics: bool,
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

/// Whether a person is at the terminal: standard input and standard error both are one. A CI
/// job has neither, and there a missing source is a mistake, never the demo org.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub fn run(args: CheckArgs) -> miette::Result<Exit> {
    let primary = Report {
        format: args.format,
        path: args.output.clone(),
    };
    let outputs: Vec<Report> = std::iter::once(primary)
        .chain(args.reports.clone())
        .collect();
    if outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        return Err(miette::miette!(
            help = "give every `--report` but one a path, as in `--report sarif:rolecall.sarif`",
            "more than one report would go to stdout"
        ));
    }
    for (i, o) in outputs.iter().enumerate() {
        if let Some(p) = &o.path {
            rolecall::internals::io::check_target(p)?;
            if outputs[..i].iter().any(|e| e.path.as_ref() == Some(p)) {
                return Err(miette::miette!(
                    "two reports would be written to `{}`",
                    p.display()
                ));
            }
        }
    }
    if args.statistics && !matches!(args.format, Format::Human | Format::Json) {
        return Err(miette::miette!(
            help = "use `--format human` or `--format json` with `--statistics`, and `--report FORMAT:PATH` for the others",
            "--statistics prints a table or JSON, not {}",
            args.format.name()
        ));
    }
    let file = super::either(&args.snapshot, &args.snapshot_file);
    if file.is_none() && !args.sample && !args.live && !interactive() {
        return Err(miette::miette!(
            help = "pass a snapshot (`rolecall check org.json` or `--snapshot org.json`), `--live` to fetch the org, or `--sample` for the built-in demo org",
            "no org to check: no snapshot given, and no terminal to show the demo org on"
        ));
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
        load_source(file)?
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
    for (i, o) in outputs.iter().enumerate() {
        let statistics = args.statistics && i == 0;
        let text = render(&report, &ctx, o, statistics, &args)?;
        match &o.path {
            Some(file) => {
                rolecall::internals::io::write_file(file, text.as_bytes())?;
                // The main report went to a file: its summary line still reaches the log.
                if i == 0 {
                    note(&summary_line(&report, &ctx));
                }
            }
            None => emit_data(&text)?,
        }
    }
    if args.verbose {
        if let Some(peak) = rolecall::internals::engine::peak_rss_bytes() {
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

/// One report of the run, as the text written to its destination.
fn render(
    report: &rolecall::internals::engine::CheckReport,
    ctx: &ReportContext<'_>,
    o: &Report,
    statistics: bool,
    args: &CheckArgs,
) -> miette::Result<String> {
    let text = match o.format {
        Format::Human if statistics => render_statistics(report, ctx),
        Format::Json if statistics => json_text(&statistics_json(report, ctx))?,
        Format::Human => {
            let color = o.path.is_none() && std::io::stdout().is_terminal() && color_allowed();
            render_human(
                report,
                ctx,
                HumanOptions {
                    color,
                    verbose: args.verbose,
                },
            )
        }
        Format::Json => {
            let mut buf = Vec::new();
            write_json(report, ctx, &mut buf).into_diagnostic()?;
            let doc = String::from_utf8(buf).into_diagnostic()?;
            rolecall::internals::text::passed(doc, rolecall::internals::text::json_safe)
        }
        Format::Sarif => json_text(&render_sarif(report, ctx))?,
        Format::Junit => render_junit(report, ctx),
        Format::Markdown => render_markdown(report, ctx),
        Format::Github => render_github(report, ctx),
        Format::Html => render_html(
            report,
            ctx,
            &HtmlOptions {
                map_permissions: args.map_permissions.clone(),
            },
        ),
    };
    // Human, Markdown and annotation text get the terminal pass wherever they go (a file is
    // `cat` later); the documents are already safe and must stay byte-exact.
    Ok(match o.format {
        Format::Human | Format::Markdown | Format::Github => {
            rolecall::internals::text::passed(text, rolecall::internals::text::for_terminal)
        }
        Format::Json | Format::Sarif | Format::Junit | Format::Html => text,
    })
}
