//! `rolecall test`: run `*.test.rhai` rule tests.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use rolecall::internals::text::visible;

use super::{emit, engine, settings, ConfigArgs, Exit};
use rolecall::internals::config::Overrides;
use rolecall::internals::engine::testing::{find_test_files, run_tests, BUILTIN_TESTS};
use rolecall::internals::engine::{RuleError, BUILTIN_PREFIX};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directories with rules and their `*.test.rhai` tests (default: the config's rule
    /// directories, or the built-in rules' tests). A rule here replaces a built-in rule with
    /// the same id, so edited copies of the built-ins are tested as edited.
    dirs: Vec<PathBuf>,
    /// Run only tests whose `file::name` contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Do not load the built-in rules.
    #[arg(long)]
    no_builtin: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

fn render_failure(out: &mut String, e: &RuleError, with_message: bool) {
    if with_message {
        // The assertion's own lines (`left:`, `right:`) stay lines; the values in them are
        // quoted with escapes already, and anything else is made visible.
        for line in e.message.lines() {
            let _ = writeln!(out, "  {}", visible(line));
        }
    }
    let _ = writeln!(out, "  --> {}", visible(&e.location()));
    let mut lines = e.snippet.lines();
    if let Some(code) = lines.next() {
        let w = e.line.to_string().len();
        let _ = writeln!(out, "  {:>w$} | {}", e.line, visible(code));
        if let Some(caret) = lines.next() {
            let _ = writeln!(out, "  {:>w$} | {caret}", "");
        }
    }
}

pub fn run(args: &TestArgs) -> miette::Result<Exit> {
    let mut settings = settings(&Overrides {
        config: args.config.source(),
        no_builtin: args.no_builtin,
        // Only directories named here are "under test"; the config's load as `check` loads them.
        replace_builtin: !args.dirs.is_empty(),
        ..Overrides::default()
    })?;
    // Directories named on the command line are the ones under test, instead of the config's.
    if !args.dirs.is_empty() {
        settings.rule_dirs.clone_from(&args.dirs);
    }
    let dirs = settings.rule_dirs.clone();
    let engine = engine(&settings)?;
    let sources: Vec<(String, String)> = if dirs.is_empty() {
        BUILTIN_TESTS
            .iter()
            .map(|(p, t)| (format!("{BUILTIN_PREFIX}{p}"), (*t).to_owned()))
            .collect()
    } else {
        find_test_files(&dirs)
            .into_iter()
            .map(|p| {
                let text =
                    rolecall::internals::io::read_text(&p, rolecall::internals::io::Input::Rule)?;
                Ok((p.display().to_string(), text))
            })
            .collect::<miette::Result<_>>()?
    };
    let engine = Arc::new(engine);
    let report = run_tests(&engine, &sources, args.filter.as_deref());
    let mut out = String::new();
    for e in engine.load_errors().iter().chain(&report.load_errors) {
        let _ = writeln!(out, "error: {} ({})", visible(&e.message), e.kind);
        render_failure(&mut out, e, false);
    }
    for o in &report.outcomes {
        let ms = o.elapsed.as_secs_f64() * 1000.0;
        match &o.failure {
            None => {
                let _ = writeln!(
                    out,
                    "ok    {}::{} ({ms:.1} ms)",
                    visible(&o.file),
                    visible(&o.name)
                );
            }
            Some(e) => {
                let _ = writeln!(out, "FAIL  {}::{}", visible(&o.file), visible(&o.name));
                render_failure(&mut out, e, true);
            }
        }
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    emit(&out)?;
    Ok(
        if !engine.load_errors().is_empty()
            || !report.load_errors.is_empty()
            || report.outcomes.is_empty()
        {
            Exit::Error
        } else if report.failed() > 0 {
            Exit::Findings
        } else {
            Exit::Clean
        },
    )
}
