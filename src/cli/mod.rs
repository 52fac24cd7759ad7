//! Command-line front end: argument definitions, dispatch and exit codes.
//!
//! Owns clap types and terminal concerns only; all work is done by library calls. One file per
//! subcommand.

mod check;
mod diff;
mod explain;
mod fetch;
mod generate;
mod rules;
mod test;
mod watch;

use std::io::Write;
use std::process::{ExitCode, Termination};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// Exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: no findings at or above the threshold, no errors.
    Clean,
    /// 1: findings at or above `--fail-on`.
    Findings,
    /// 2: usage, input, rule or fetch error.
    Error,
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(match self {
            Self::Clean => 0,
            Self::Findings => 1,
            Self::Error => 2,
        })
    }
}

const EXIT_HELP: &str =
    "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage, input or rule error.";

#[derive(Debug, Parser)]
#[command(name = "rolecall", version, about = "Audit Genesys Cloud permissions as code", after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run rules against a snapshot (the built-in sample org when no source is given).
    Check(check::CheckArgs),
    /// Differences in effective access between two orgs (matched by name).
    Diff(diff::DiffArgs),
    /// Read a live org into a snapshot file.
    Fetch(fetch::FetchArgs),
    /// Explain why a subject's API call is allowed or denied (403), and the smallest fix.
    Explain(explain::ExplainArgs),
    /// Write a deterministic synthetic org snapshot (for benchmarks and experiments).
    Generate(generate::GenerateArgs),
    /// Check once, then re-check on every save of a rule, the config or the snapshot.
    Watch(watch::WatchArgs),
    /// Run rule tests (`*.test.rhai`).
    Test(test::TestArgs),
    /// List, show, scaffold rules; write editor definitions.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

fn completions(shell: Shell) -> miette::Result<Exit> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rolecall", &mut out);
    emit(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Clean)
}

fn man() -> miette::Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| miette::miette!("cannot render the man page: {e}"))?;
    emit(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Clean)
}

pub fn main() -> Exit {
    // Logs go to stderr, off unless `RUST_LOG` asks (`RUST_LOG=rolecall=debug` shows each
    // request). Nothing logged carries a secret: tokens travel only in headers, never logged.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp_millis()
        .init();
    // Diagnostics wrap at the terminal width; `COLUMNS` overrides it (scripts, tests, CI logs).
    if let Some(width) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
    {
        let _ = miette::set_hook(Box::new(move |_| {
            Box::new(miette::MietteHandlerOpts::new().width(width).build())
        }));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Clean
            };
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Diff(args) => diff::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Fetch(args) => fetch::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Rules(cmd) => rules::run(&cmd),
        Command::Test(args) => test::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
    };
    match result {
        Ok(exit) => exit,
        Err(report) => {
            eprint_report(&report);
            Exit::Error
        }
    }
}

/// Render a diagnostic on stderr with miette's handler (colors follow `NO_COLOR` and the terminal).
fn eprint_report(report: &miette::Report) {
    let _ = writeln!(std::io::stderr(), "{report:?}");
}

/// Write to stdout; a closed pipe (`rolecall check | head`) is not an error.
fn emit(text: &str) -> miette::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(miette::miette!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// The snapshot to work on: a file, or the built-in sample org (announced on stderr).
/// Returns the snapshot, its source kind and its path.
fn load_source(
    path: Option<&std::path::Path>,
) -> miette::Result<(rolecall::model::OrgSnapshot, &'static str, Option<String>)> {
    match path {
        Some(p) => Ok((
            rolecall::model::load_snapshot(p)?,
            "snapshot",
            Some(p.display().to_string()),
        )),
        None => {
            let s = rolecall::model::sample()?;
            note(&format!(
                "no --snapshot given: using the built-in sample org `{}`",
                s.organization.name
            ));
            Ok((s, "sample", None))
        }
    }
}

/// The configuration: `explicit`, else `rolecall.toml` found upward, else defaults.
fn load_config(
    explicit: Option<&std::path::Path>,
    no_config: bool,
) -> miette::Result<rolecall::config::Config> {
    let defaults = || rolecall::config::Config {
        builtin: true,
        ..rolecall::config::Config::default()
    };
    if no_config {
        return Ok(defaults());
    }
    let path = match explicit {
        Some(p) => Some(p.to_owned()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| rolecall::config::find(&d)),
    };
    match path {
        Some(p) => {
            let c = rolecall::config::load(&p)?;
            note(&format!("using config `{}`", p.display()));
            Ok(c)
        }
        None => Ok(defaults()),
    }
}

/// `--param RULE.key=VALUE` items merged into per-rule parameter objects.
fn parse_params(
    items: &[String],
    into: &mut std::collections::HashMap<String, serde_json::Value>,
) -> miette::Result<()> {
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
        let entry = into
            .entry(rule.to_ascii_uppercase())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(m) = entry {
            m.insert(key.to_owned(), value);
        }
    }
    Ok(())
}

/// A note for the person at the terminal, on stderr.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "rolecall: {text}");
}
