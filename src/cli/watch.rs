//! `rolecall watch`: check once, then re-check on every save of a rule, the config or the
//! snapshot, re-running only what changed and marking new and resolved findings.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};

use clap::Args;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::RecommendedWatcher;
use notify_debouncer_full::notify::{EventKind, RecursiveMode, Watcher};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

use rolecall::internals::text::visible;

use super::{color_allowed, emit, emit_data, load_source, note, settings, Exit, RuleSetArgs};
use rolecall::internals::model::Org;
use rolecall::internals::report::{render_human, HumanOptions, ReportContext};
use rolecall::internals::watch::{Delta, Session};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Snapshot file to check (the built-in sample org when omitted; then it is not watched).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with = "snapshot")]
    snapshot_file: Option<PathBuf>,
    #[command(flatten)]
    rule_set: RuleSetArgs,
    /// Check the org as it will be after this change (a Terraform plan or a rolecall change
    /// file; repeatable, applied in order), re-read when it or the snapshot is saved.
    #[arg(long = "plan", value_name = "FILE")]
    plans: Vec<PathBuf>,
    /// Debounce window in milliseconds.
    #[arg(long, default_value_t = 200)]
    debounce_ms: u64,
}

struct View<'a> {
    source_kind: &'a str,
    source_path: Option<String>,
    run: usize,
    color: bool,
}

/// Show a run's text, on a cleared screen when colours are on. The clear is written apart: the
/// sanitiser's terminal pass lets no sequence but colours through `emit`.
fn show(text: &str, clear: bool) -> miette::Result<()> {
    if clear {
        emit_data("\x1b[2J\x1b[H")?;
    }
    emit(text)
}

fn render(session: &Session, delta: &Delta, view: &View<'_>) -> String {
    let mut out = String::new();
    let report = session.report();
    let ctx = ReportContext {
        org: session.org(),
        source_kind: view.source_kind.to_owned(),
        source_path: view.source_path.clone(),
        fail_on: session.settings().fail_on,
        allow_unknown: session.settings().allow_unknown,
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
    let line = |mark: &str, f: &rolecall::internals::engine::Finding| {
        format!(
            "{mark} {} {} `{}`: {}\n",
            visible(&f.rule_id),
            f.subject.kind,
            visible(&f.subject.name),
            visible(&f.message)
        )
    };
    for f in delta.new.iter().filter(|_| view.run > 1) {
        out.push_str(&line("+ new     ", f));
    }
    for f in &delta.resolved {
        out.push_str(&line("- resolved", f));
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

/// Whether an event is only a read: an open, or a close after reading. A close after writing is
/// a change (some editors' only event for a save).
fn is_read(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

/// Start watching the session's rule directories and the parents of its config and snapshot
/// files (editors save by writing a temp file and renaming it: watch the directory, not the
/// file). Already watched paths are skipped.
fn watch_paths<W: Watcher>(
    debouncer: &mut Debouncer<W, RecommendedCache>,
    watched: &mut BTreeSet<PathBuf>,
    session: &Session,
) -> miette::Result<()> {
    let dirs = session.rule_dirs();
    let files: Vec<PathBuf> = session
        .config_path()
        .into_iter()
        .chain(session.snapshot_path().map(Path::to_owned))
        .chain(session.plans().iter().cloned())
        .collect();
    for d in dirs {
        if d.exists() && watched.insert(d.clone()) {
            debouncer
                .watch(d, RecursiveMode::Recursive)
                .map_err(|e| miette::miette!("cannot watch `{}`: {e}", d.display()))?;
        }
        // The parent too, so a rule directory deleted and created again is seen coming back.
        if let Some(p) = d.parent().filter(|p| p.exists()) {
            if !dirs.iter().any(|o| p.starts_with(o)) && watched.insert(p.to_owned()) {
                debouncer
                    .watch(p, RecursiveMode::NonRecursive)
                    .map_err(|e| miette::miette!("cannot watch `{}`: {e}", p.display()))?;
            }
        }
    }
    for f in &files {
        let Some(p) = f.parent() else { continue };
        if !dirs.iter().any(|d| p.starts_with(d)) && watched.insert(p.to_owned()) {
            debouncer
                .watch(p, RecursiveMode::NonRecursive)
                .map_err(|e| miette::miette!("cannot watch `{}`: {e}", p.display()))?;
        }
    }
    Ok(())
}

/// File notifications fed to a watch session: the one reload mechanism, shared by `watch`
/// (which shows each run) and `serve` (which publishes each run's state).
pub(super) struct Follower {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    rx: mpsc::Receiver<DebounceEventResult>,
    watched: BTreeSet<PathBuf>,
}

impl Follower {
    /// Watch what the session reads, with this debounce window.
    pub(super) fn new(session: &Session, window: Duration) -> miette::Result<Self> {
        let (tx, rx) = mpsc::channel::<DebounceEventResult>();
        // A fine tick keeps the delay after the last event close to the debounce window itself
        // (the default tick is a quarter of the window, adding up to 50 ms).
        let debouncer = new_debouncer(window, Some(window / 10), tx)
            .map_err(|e| miette::miette!("cannot watch files: {e}"))?;
        let mut f = Self {
            debouncer,
            rx,
            watched: BTreeSet::new(),
        };
        watch_paths(&mut f.debouncer, &mut f.watched, session)?;
        Ok(f)
    }

    /// Wait up to `wait` for a batch of changes, hand it to the session, and pass each run it
    /// caused to `ran`. `false` when notifications ended.
    pub(super) fn step(
        &mut self,
        session: &mut Session,
        wait: Duration,
        ran: &mut dyn FnMut(&mut Session, &Delta) -> miette::Result<()>,
    ) -> miette::Result<bool> {
        let batch = match self.rx.recv_timeout(wait) {
            Ok(Ok(events)) => events,
            Ok(Err(errors)) => {
                for e in errors {
                    session.notes.push(format!("file watching: {e}"));
                }
                Vec::new()
            }
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(true),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(false),
        };
        // Opening and reading a file (rolecall's own reads included) is no change.
        let paths: BTreeSet<PathBuf> = batch
            .into_iter()
            .filter(|ev| !is_read(&ev.event.kind))
            .flat_map(|ev| ev.event.paths.clone())
            .collect();
        if paths.is_empty() {
            return Ok(true);
        }
        let Some(delta) = session.handle(&paths) else {
            return Ok(true);
        };
        // A directory created again needs a new watch; a reloaded config may name new ones.
        let back = session.take_rewatch();
        for d in &back {
            let _ = self.debouncer.unwatch(d);
            self.watched.remove(d);
        }
        watch_paths(&mut self.debouncer, &mut self.watched, session)?;
        ran(session, &delta)?;
        // Files written into a re-created directory before its new watch was in place.
        if let Some(delta) = session.rescan(&back) {
            ran(session, &delta)?;
        }
        Ok(true)
    }
}

pub fn run(args: &WatchArgs) -> miette::Result<Exit> {
    let overrides = args.rule_set.overrides();
    let settings = settings(&overrides)?;
    let file = super::either(&args.snapshot, &args.snapshot_file);
    let (snapshot, kind, path) = load_source(file)?;
    let mut session = Session::new(settings, overrides, Arc::new(Org::new(snapshot)), file)?;
    if !args.plans.is_empty() {
        session.set_plans(&args.plans)?;
    }
    for n in session.notes.drain(..) {
        note(&n);
    }
    let kind = if args.plans.is_empty() {
        kind
    } else {
        "snapshot+plan"
    };
    let mut view = View {
        source_kind: kind,
        source_path: path,
        run: 1,
        color: std::io::stdout().is_terminal() && color_allowed(),
    };
    let window = Duration::from_millis(args.debounce_ms);
    let mut follower = Follower::new(&session, window)?;
    // Watch before the first run, so saves made while it runs are not missed.
    let first = session.run(None);
    show(&render(&session, &first, &view), view.color)?;

    // The process's one signal handler (installed by `cli::main`) stops the loop instead of
    // exiting, so watch says goodbye cleanly.
    let stop = super::signals::stay_on_signal();
    let mut shown = |session: &mut Session, delta: &Delta| {
        view.run += 1;
        show(&render(session, delta, &view), view.color)?;
        session.notes.clear();
        Ok(())
    };
    while !stop.load(Ordering::SeqCst) {
        if !follower.step(&mut session, Duration::from_millis(100), &mut shown)? {
            break;
        }
    }
    drop(follower);
    note("watch stopped");
    Ok(Exit::Clean)
}
