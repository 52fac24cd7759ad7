//! `rolecall watch`: check once, then re-check on every save of a rule, the config or the
//! snapshot, re-running only what changed and marking new and resolved findings.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};

use clap::Args;
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use super::{emit, load_config, load_source, note, parse_params, Exit};
use rolecall::config::Config;
use rolecall::engine::{CheckConfig, Limits, RuleEngine};
use rolecall::model::{load_snapshot, Org};
use rolecall::report::{render_human, HumanOptions, ReportContext};
use rolecall::watch::{classify, Change, Delta, Reload, Session};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Snapshot file to check (the built-in sample org when omitted; then it is not watched).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// Rule directory to watch (repeatable; adds to the config's).
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Configuration file (default: `rolecall.toml` here or in a parent directory).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any `rolecall.toml`.
    #[arg(long)]
    no_config: bool,
    /// Do not load the built-in rules.
    #[arg(long)]
    no_builtin: bool,
    /// Rule parameter, `RULE.key=VALUE`; repeatable.
    #[arg(long = "param", value_name = "RULE.KEY=VALUE")]
    params: Vec<String>,
    /// Debounce window in milliseconds.
    #[arg(long, default_value_t = 200)]
    debounce_ms: u64,
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_owned())
}

fn check_config(cfg: &Config, params: &[String]) -> miette::Result<CheckConfig> {
    let mut p = cfg.params.clone();
    parse_params(params, &mut p)?;
    Ok(CheckConfig {
        select: cfg.select.clone(),
        ignore: cfg.ignore.clone(),
        params: p,
        severity: cfg.severity.clone(),
        threads: 0,
    })
}

fn rule_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rhai") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

struct View<'a> {
    source_kind: &'a str,
    source_path: Option<String>,
    run: usize,
    color: bool,
}

fn render(session: &Session, delta: &Delta, view: &View<'_>) -> String {
    let mut out = String::new();
    if view.color {
        out.push_str("\x1b[2J\x1b[H");
    }
    let report = session.report();
    let ctx = ReportContext {
        org: session.org(),
        source_kind: view.source_kind.to_owned(),
        source_path: view.source_path.clone(),
        fail_on: None,
        now: SystemTime::now(),
    };
    out.push_str(&format!(
        "[watch] run {}: re-ran {} rule(s) in {:.1} ms · +{} new · -{} resolved\n",
        view.run,
        delta.ran.len(),
        delta.elapsed.as_secs_f64() * 1000.0,
        delta.new.len(),
        delta.resolved.len()
    ));
    // The first run lists everything below; only later runs say what changed.
    for f in delta.new.iter().filter(|_| view.run > 1) {
        out.push_str(&format!(
            "+ new      {} {} `{}`: {}\n",
            f.rule_id, f.subject.kind, f.subject.name, f.message
        ));
    }
    for f in &delta.resolved {
        out.push_str(&format!(
            "- resolved {} {} `{}`: {}\n",
            f.rule_id, f.subject.kind, f.subject.name, f.message
        ));
    }
    out.push('\n');
    out.push_str(&render_human(
        &report,
        &ctx,
        HumanOptions {
            color: view.color,
            verbose: false,
        },
    ));
    out.push_str("[watch] waiting for changes (Ctrl-C to stop)\n");
    out
}

#[expect(
    clippy::too_many_lines,
    reason = "the event loop reads best as one piece"
)]
pub fn run(args: &WatchArgs) -> miette::Result<Exit> {
    let cfg = load_config(args.config.as_deref(), args.no_config)?;
    let config_path = cfg.path.as_deref().map(canonical);
    let snapshot_path = args.snapshot.as_deref().map(canonical);
    let (snapshot, kind, path) = load_source(snapshot_path.as_deref())?;
    let dirs: Vec<PathBuf> = cfg
        .rules
        .iter()
        .chain(&args.rules)
        .map(|d| canonical(d))
        .collect();
    let mut engine = RuleEngine::new(Limits::default());
    if cfg.builtin && !args.no_builtin {
        engine.add_builtin();
    }
    for d in &dirs {
        engine.add_dir(d)?;
    }
    let mut session = Session::new(
        engine,
        Arc::new(Org::new(snapshot)),
        check_config(&cfg, &args.params)?,
        &rule_files(&dirs),
    );
    let mut view = View {
        source_kind: kind,
        source_path: path,
        run: 1,
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    // A fine tick keeps the delay after the last event close to the debounce window itself
    // (the default tick is a quarter of the window, adding up to 50 ms).
    let window = Duration::from_millis(args.debounce_ms);
    let mut debouncer = new_debouncer(window, Some(window / 10), tx)
        .map_err(|e| miette::miette!("cannot watch files: {e}"))?;
    for d in &dirs {
        debouncer
            .watch(d, RecursiveMode::Recursive)
            .map_err(|e| miette::miette!("cannot watch `{}`: {e}", d.display()))?;
    }
    // Editors save by writing a temp file and renaming it: watch the directory, not the file.
    let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
    for f in config_path.iter().chain(snapshot_path.iter()) {
        if let Some(p) = f.parent() {
            parents.insert(p.to_owned());
        }
    }
    for p in &parents {
        if !dirs.iter().any(|d| p.starts_with(d)) {
            debouncer
                .watch(p, RecursiveMode::NonRecursive)
                .map_err(|e| miette::miette!("cannot watch `{}`: {e}", p.display()))?;
        }
    }
    // Watch before the first run, so saves made while it runs are not missed.
    let first = session.run(None);
    emit(&render(&session, &first, &view))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    // Without a handler Ctrl-C still ends the process; with one we say goodbye cleanly.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let mut gone: BTreeSet<PathBuf> = BTreeSet::new();

    while !stop.load(Ordering::SeqCst) {
        let batch = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(events)) => events,
            Ok(Err(errors)) => {
                for e in errors {
                    session.notes.push(format!("file watching: {e}"));
                }
                Vec::new()
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
        for ev in batch {
            paths.extend(ev.event.paths.iter().cloned());
        }
        let mut all = false;
        let mut ids: Vec<String> = Vec::new();
        let mut changed = false;
        for d in &dirs {
            if !d.exists() && gone.insert(d.clone()) {
                session.drop_dir(d);
                changed = true;
            }
        }
        for p in &paths {
            match classify(p, &dirs, config_path.as_deref(), snapshot_path.as_deref()) {
                Change::Rule(file) => match session.reload(&file) {
                    Reload::Updated(id) => ids.push(id),
                    Reload::Broken | Reload::Removed(_) => changed = true,
                    Reload::Unchanged => {}
                },
                Change::Module(file) => {
                    ids.extend(session.rules_under(file.parent().unwrap_or(Path::new("/"))))
                }
                Change::Config => match config_path
                    .as_deref()
                    .map(rolecall::config::load)
                    .transpose()
                {
                    Ok(Some(c)) => match check_config(&c, &args.params) {
                        Ok(cc) => {
                            session.set_config(cc);
                            all = true;
                        }
                        Err(e) => session.notes.push(format!("config not applied: {e}")),
                    },
                    Ok(None) => {}
                    Err(e) => {
                        session.notes.push(format!(
                            "config not reloaded, keeping the previous one: {e}"
                        ));
                        changed = true;
                    }
                },
                Change::Snapshot => match snapshot_path.as_deref().map(load_snapshot).transpose() {
                    Ok(Some(s)) => {
                        session.set_org(Arc::new(Org::new(s)));
                        all = true;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        session.notes.push(format!(
                            "snapshot not reloaded, keeping the previous one: {e}"
                        ));
                        changed = true;
                    }
                },
                Change::Ignored => {}
            }
        }
        if !all && ids.is_empty() && !changed {
            continue;
        }
        let delta = if all {
            session.run(None)
        } else {
            session.run(Some(&ids))
        };
        view.run += 1;
        emit(&render(&session, &delta, &view))?;
        session.notes.clear();
    }
    drop(debouncer);
    note("watch stopped");
    Ok(Exit::Clean)
}
