//! Command-line front end: argument definitions, dispatch and exit codes.
//!
//! Owns clap types and terminal concerns only; all work is done by library calls. One file per
//! subcommand.

mod access;
mod check;
mod diff;
mod explain;
mod fetch;
mod generate;
mod impact;
mod plan;
mod rightsize;
mod rules;
mod serve;
mod signals;
mod test;
mod verify;
mod watch;
mod who_can;

use std::io::Write;
use std::path::PathBuf;
use std::process::{ExitCode, Termination};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use rolecall::internals::config::{ConfigSource, Overrides, Settings};

/// Exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: no findings at or above the threshold, no errors.
    Clean,
    /// 1: findings at or above `--fail-on`.
    Findings,
    /// 2: usage, input, rule or fetch error.
    Error,
    /// 3: `explain --exit-code` could not decide (unknown, or may be denied).
    Unknown,
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(match self {
            Self::Clean => 0,
            Self::Findings => 1,
            Self::Error => 2,
            Self::Unknown => 3,
        })
    }
}

/// `rolecall --version`: the package version and the commit it was built from (`build.rs`;
/// "unknown" outside a git checkout), so a bug report names the exact build.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ROLECALL_COMMIT"),
    ")"
);

const EXIT_HELP: &str =
    "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage, input or rule error; \
     `explain --exit-code`: 0 allowed, 1 denied (or cannot get a token, or denied for some target), \
     3 unknown or may be denied (or undecided for some target and denied for none); \
     `verify`: 0 full agreement, 1 any disagreement, 3 some pairs unknown; \
     `impact --exit-code` as `explain --exit-code` over every call; `rightsize`: 0 proven, 1 not.";

#[derive(Debug, Parser)]
#[command(name = "rolecall", version = VERSION, about = "Audit Genesys Cloud permissions as code", after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run rules against a snapshot (the built-in sample org when no source is given).
    Check(Box<check::CheckArgs>),
    /// Differences in effective access between two orgs (matched by name).
    Diff(diff::DiffArgs),
    /// Read a live org into a snapshot file.
    Fetch(fetch::FetchArgs),
    /// Explain why a subject's API call is allowed or denied (403), and the smallest fix.
    Explain(explain::ExplainArgs),
    /// Whether the deploying client may make the calls the provider makes to apply a plan.
    PlanAccess(plan::PlanAccessArgs),
    /// Write a deterministic synthetic org snapshot (for benchmarks and experiments).
    Generate(generate::GenerateArgs),
    /// Check rolecall's model against the platform's own answers (divisions permitted).
    Verify(verify::VerifyArgs),
    /// Check once, then re-check on every save of a rule, the config or the snapshot.
    Watch(watch::WatchArgs),
    /// Answer explain, who-can, access, check, diff and rules over HTTP (JSON, `/v1/...`),
    /// reloading on save like `watch`.
    Serve(Box<serve::ServeArgs>),
    /// Run rule tests (`*.test.rhai`).
    Test(test::TestArgs),
    /// List, show, scaffold rules; write editor definitions.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Who holds a permission, per division, and how (role, division, through which group).
    WhoCan(who_can::WhoCanArgs),
    /// What one subject can do: its grants per division; with `--op`, where a call is allowed.
    Access(access::AccessArgs),
    /// The role a subject's observed API calls need (usage), proposed and proven by replay.
    Rightsize(rightsize::RightsizeArgs),
    /// Calls observed in one org (usage) explained in another, or across a planned change.
    Impact(impact::ImpactArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print a man page (roff): rolecall's, or a subcommand's; `-o DIR` writes every page.
    Man {
        /// The subcommand whose page to print, e.g. `check` or `rules list`.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
        /// Write every page (`rolecall.1`, `rolecall-check.1`, …) into this directory instead.
        #[arg(short, long, value_name = "DIR", conflicts_with = "command")]
        output: Option<PathBuf>,
    },
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

/// The command tree the man pages describe: built (so each subcommand's name is
/// `rolecall-check`, as the parent page refers to it), without clap's `help` subcommand, which
/// has no page of its own.
fn man_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn man_page(cmd: &clap::Command) -> miette::Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render(&mut out)
        .map_err(|e| miette::miette!("cannot render the man page: {e}"))?;
    Ok((man.get_filename(), out))
}

/// Every page: the command's, then its subcommands' (recursively, `rules` has its own).
fn man_pages(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> miette::Result<()> {
    out.push(man_page(cmd)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, out)?;
    }
    Ok(())
}

fn man(command: &[String], output: Option<&std::path::Path>) -> miette::Result<Exit> {
    let root = man_command();
    if let Some(dir) = output {
        let mut pages = Vec::new();
        man_pages(&root, &mut pages)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| miette::miette!("cannot create `{}`: {e}", dir.display()))?;
        for (name, text) in &pages {
            rolecall::internals::io::write_in_dir(dir, name, text, true)?;
        }
        emit(&format!(
            "wrote {} man pages to {}\n",
            pages.len(),
            dir.display()
        ))?;
        return Ok(Exit::Clean);
    }
    let mut cmd = &root;
    for name in command {
        cmd = cmd.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
            miette::miette!(
                help = format!("pages exist for: {}", known.join(", ")),
                "no man page for `{name}`"
            )
        })?;
    }
    let (_, text) = man_page(cmd)?;
    emit(&String::from_utf8_lossy(&text))?;
    Ok(Exit::Clean)
}

pub fn main() -> Exit {
    signals::install();
    // Secrets this process may hold are known to the one redactor before anything is read or
    // printed: a config file that links to a `.env` file must not be quoted with them.
    rolecall::internals::fetch::register_known_secrets(
        &|v| std::env::var(v).ok(),
        &fetch::gc_config(),
    );
    // Logs go to stderr, off unless `RUST_LOG` asks (`RUST_LOG=rolecall=debug` shows each
    // request). Nothing logged carries a secret: tokens travel only in headers, never logged.
    // Log lines can carry ids and names from the server: each goes through the sanitiser.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(|buf, record| {
            let line = record.args().to_string();
            writeln!(
                buf,
                "[{} {:<5} {}] {}",
                humantime::format_rfc3339_millis(std::time::SystemTime::now()),
                record.level(),
                rolecall::internals::text::visible(record.target()),
                rolecall::internals::text::visible(&rolecall::internals::redact::redact(&line))
            )
        })
        .init();
    // Diagnostics wrap at the terminal width; `COLUMNS` overrides it (scripts, tests, CI logs).
    // No hyperlink sequences: the terminal pass of the sanitiser lets only colours through.
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok());
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new().terminal_links(false);
        Box::new(match width {
            Some(w) => opts.width(w).build(),
            None => opts.build(),
        })
    }));
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
        Command::Check(args) => check::run(*args),
        Command::Diff(args) => diff::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Fetch(args) => fetch::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::PlanAccess(args) => plan::run(&args),
        Command::Rules(cmd) => rules::run(&cmd),
        Command::Test(args) => test::run(&args),
        Command::Verify(args) => verify::run_verify(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::WhoCan(args) => who_can::run(&args),
        Command::Access(args) => access::run(&args),
        Command::Rightsize(args) => rightsize::run(&args),
        Command::Impact(args) => impact::run(&args),
        Command::Completions { shell } => completions(shell),
        Command::Man { command, output } => man(&command, output.as_deref()),
    };
    match result {
        Ok(exit) => exit,
        Err(report) => {
            eprint_report(&report);
            Exit::Error
        }
    }
}

/// Render a diagnostic on stderr with miette's handler (colors follow `NO_COLOR` and the
/// terminal), through the sanitiser's terminal pass: an error can quote a name or a file.
fn eprint_report(report: &miette::Report) {
    let wrapped = format!("{report:?}");
    // miette wraps long lines at the terminal's width, which can split a secret across two
    // lines where the redactor no longer sees it whole. The report is also laid out without
    // wrapping; when that holds a secret, the unwrapped layout is printed, redacted.
    let flat = unwrapped(report.as_ref());
    let text = if rolecall::internals::redact::holds_secret(&flat) {
        rolecall::internals::redact::redact(&flat).into_owned()
    } else {
        rolecall::internals::redact::redact(&wrapped).into_owned()
    };
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        rolecall::internals::text::for_terminal(&text)
    );
}

/// A diagnostic laid out by miette's handler without wrapping.
fn unwrapped(diagnostic: &dyn miette::Diagnostic) -> String {
    use miette::ReportHandler as _;
    struct Flat<'a>(miette::MietteHandler, &'a dyn miette::Diagnostic);
    impl std::fmt::Display for Flat<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.debug(self.1, f)
        }
    }
    let handler = miette::MietteHandlerOpts::new()
        .terminal_links(false)
        .width(1 << 20)
        .build();
    Flat(handler, diagnostic).to_string()
}

/// Write human text (a report, a listing) to stdout, through the sanitiser's terminal pass.
fn emit(text: &str) -> miette::Result<()> {
    emit_data(&rolecall::internals::text::for_terminal(text))
}

/// Write a document to stdout as it is: JSON made safe by `text::json_safe`, XML by its escaper;
/// every registered secret redacted. A closed pipe (`rolecall check | head`) is not an error.
fn emit_data(text: &str) -> miette::Result<()> {
    let text = rolecall::internals::redact::redact(text);
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
) -> miette::Result<(
    rolecall::internals::model::OrgSnapshot,
    &'static str,
    Option<String>,
)> {
    match path {
        Some(p) => Ok((
            rolecall::internals::model::load_snapshot(p)?,
            "snapshot",
            Some(p.display().to_string()),
        )),
        None => {
            let s = rolecall::internals::model::sample()?;
            note(&format!(
                "no --snapshot given: using the built-in sample org `{}`",
                s.organization.name
            ));
            Ok((s, "sample", None))
        }
    }
}

/// The snapshot a command was given: `--snapshot FILE` or the positional `SNAPSHOT` (clap
/// refuses both at once).
fn either<'a>(
    flag: &'a Option<PathBuf>,
    positional: &'a Option<PathBuf>,
) -> Option<&'a std::path::Path> {
    flag.as_deref().or(positional.as_deref())
}

/// Which configuration file: `--config FILE`, `--no-config`, or `rolecall.toml` found upward.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Configuration file (default: `rolecall.toml` here or in a parent directory).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Ignore any `rolecall.toml`.
    #[arg(long)]
    no_config: bool,
}

impl ConfigArgs {
    fn source(&self) -> ConfigSource {
        match (&self.config, self.no_config) {
            (Some(p), _) => ConfigSource::File(p.clone()),
            (None, true) => ConfigSource::Disabled,
            (None, false) => {
                std::env::current_dir().map_or(ConfigSource::Disabled, ConfigSource::Search)
            }
        }
    }
}

/// The flags that choose and tune rules, shared by `check` and `watch`.
#[derive(Debug, Clone, Args)]
pub struct RuleSetArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Add user rules from a directory, recursively (repeatable).
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
    /// Rule parameter, `RULE.key=VALUE` (VALUE is JSON, or a plain string); repeatable.
    #[arg(long = "param", value_name = "RULE.KEY=VALUE")]
    params: Vec<String>,
    /// Wall-clock budget per rule, in seconds (default 10).
    #[arg(long, value_name = "SECONDS")]
    budget: Option<f64>,
    /// Most memory the rules may add while a check runs, in MiB (default 2048): the rule that
    /// passes it is stopped with an error.
    #[arg(long, value_name = "MIB")]
    max_memory: Option<u64>,
}

impl RuleSetArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.source(),
            rules: self.rules.clone(),
            no_builtin: self.no_builtin,
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            params: self.params.clone(),
            budget_seconds: self.budget,
            max_memory_mib: self.max_memory,
            ..Overrides::default()
        }
    }
}

/// Resolve the settings once and say which config file was used.
fn settings(o: &Overrides) -> miette::Result<Settings> {
    let s = Settings::resolve(o)?;
    for n in &s.notes {
        note(n);
    }
    Ok(s)
}

/// The rule engine of these settings (the one constructor every command uses), with its notes
/// said on stderr.
fn engine(s: &Settings) -> miette::Result<rolecall::internals::engine::RuleEngine> {
    let started = std::time::Instant::now();
    let (engine, notes) = s.engine()?;
    for n in &notes {
        note(n);
    }
    // The summary line times the run; a slow load is said apart so it is not hidden.
    let took = started.elapsed();
    if took >= std::time::Duration::from_secs(1) {
        note(&format!(
            "loading and compiling the rules took {:.1} s",
            took.as_secs_f64()
        ));
    }
    Ok(engine)
}

/// Whether colour may be used: `NO_COLOR` set to a non-empty value turns it off
/// (<https://no-color.org>: an empty value does not count).
fn color_allowed() -> bool {
    color_allowed_by(std::env::var_os("NO_COLOR").as_deref())
}

fn color_allowed_by(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// A note for the person at the terminal, on stderr: one line, made visible by the one
/// sanitiser as a whole (notes quote file names, org names and servers' words, and a newline in
/// one must not start a line that looks like rolecall's own).
fn note(text: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "rolecall: {}",
        rolecall::internals::text::visible(&rolecall::internals::redact::redact(text))
    );
}

/// A JSON document for stdout or a file: pretty, with unsafe characters as `\uXXXX` escapes.
fn json_text(doc: &impl serde::Serialize) -> miette::Result<String> {
    rolecall::internals::report::json_document(doc)
        .map_err(|e| miette::miette!("cannot write JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_empty_no_color_turns_colour_off() {
        assert!(color_allowed_by(None));
        assert!(color_allowed_by(Some("".as_ref())));
        assert!(!color_allowed_by(Some("1".as_ref())));
        assert!(
            !color_allowed_by(Some("0".as_ref())),
            "any non-empty value counts"
        );
    }
}
