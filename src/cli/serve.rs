//! `rolecall serve`: the audit as a local JSON-over-HTTP service ([`rolecall::internals::serve`]).
//!
//! The org, rules and config are held by a watch session and reloaded the way `watch` reloads
//! them (the same [`super::watch::Follower`]); with `--live --refresh`, the org is fetched again
//! on a schedule. Each reload publishes a new state; a failed one keeps the last good state and
//! marks it stale. SIGINT/SIGTERM (the process's one handler) stops the server gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use super::{load_source, note, settings, Exit, RuleSetArgs};
use rolecall::internals::config::Overrides;
use rolecall::internals::model::{Org, OrgSnapshot};
use rolecall::internals::serve::{DecisionLog, Options, Shared, Source, State};
use rolecall::internals::watch::Session;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Snapshot file to serve, reloaded when saved (the built-in sample org when no source is
    /// given).
    #[arg(long, value_name = "FILE", conflicts_with = "live")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with_all = ["snapshot", "live"])]
    snapshot_file: Option<PathBuf>,
    /// Fetch the org live (into memory) and serve it.
    #[arg(long)]
    live: bool,
    /// With `--live`: fetch again this often (e.g. `15m`, `1h`); a failed fetch keeps the last
    /// good org and marks answers stale.
    #[arg(long, value_name = "DURATION", requires = "live", value_parser = humantime::parse_duration)]
    refresh: Option<Duration>,
    #[command(flatten)]
    connect: super::fetch::ConnectArgs,
    #[command(flatten)]
    rule_set: RuleSetArgs,
    /// `/v1/check`'s default threshold (`--fail-on` of `check`; a request may give its own).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<String>,
    /// `/v1/check`'s default for findings a rule could not decide: they do not fail.
    #[arg(long)]
    allow_unknown: bool,
    /// The address to listen on. Anything but loopback needs a token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8181")]
    listen: SocketAddr,
    /// Require `Authorization: Bearer TOKEN`, the token being this file's content (trimmed).
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    token_file: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN`, the token being this environment variable's value.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// The largest request body `/v1/diff` takes (a snapshot), in MiB; other requests take at
    /// most 1 MiB and 64 KiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_body_mib: u64,
    /// The longest one answer may take, waiting for its turn included, in seconds; also the
    /// longest a connection may take to send a request's head (or stay idle between requests).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Connections open at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=16384))]
    max_connections: u16,
    /// Answers computed at once; more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_concurrent: u16,
    /// Threads serving connections.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
    /// Append one JSON line per answer to this file (question, verdict or counts, snapshot id
    /// and age, duration).
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,
    /// Rotate the decision log past this size (to `FILE.1`), in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    decision_log_max_mib: u64,
    /// Debounce window of file reloads, in milliseconds.
    #[arg(long, default_value_t = 200)]
    debounce_ms: u64,
}

/// The token, from a file (through the one bounded reader) or the environment; registered with
/// the redactor so it never appears in an answer, a log line or the decision log.
fn token(args: &ServeArgs) -> miette::Result<Option<String>> {
    let token = match (&args.token_file, &args.token_env) {
        (Some(f), _) => {
            rolecall::internals::io::read_text(f, rolecall::internals::io::Input::Token)?
                .trim()
                .to_owned()
        }
        (None, Some(var)) => std::env::var(var)
            .map_err(|_| {
                miette::miette!(
                    help = "export it, or give `--token-file FILE`",
                    "the environment variable `{var}` is not set"
                )
            })?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if token.is_empty() {
        return Err(rolecall::internals::serve::ServeError::Token("is empty".to_owned()).into());
    }
    rolecall::internals::redact::register(&token);
    Ok(Some(token))
}

/// The org to start with, and where it came from.
fn source(args: &ServeArgs) -> miette::Result<(OrgSnapshot, Source)> {
    if args.live {
        let (snap, _) = super::fetch::fetch_org(&args.connect)?;
        return Ok((
            snap,
            Source {
                kind: "live",
                path: None,
            },
        ));
    }
    let (snap, kind, path) = load_source(super::either(&args.snapshot, &args.snapshot_file))?;
    Ok((snap, Source { kind, path }))
}

pub fn run(args: &ServeArgs) -> miette::Result<Exit> {
    // First, before anything is read, bound or started (it may replace this process).
    crate::purge_freed_memory_promptly().map_err(|why| {
        miette::miette!(
            help = "start it with `MIMALLOC_PURGE_DELAY=0` set (or any value, to keep that one)",
            "{why}"
        )
    })?;
    let overrides = Overrides {
        fail_on: args.fail_on.clone(),
        allow_unknown: args.allow_unknown,
        ..args.rule_set.overrides()
    };
    let token = token(args)?;
    let mut opts = Options::new(args.listen);
    opts.token = token;
    opts.max_body = usize::try_from(args.max_body_mib << 20).unwrap_or(usize::MAX);
    opts.timeout = Duration::from_secs(args.timeout);
    opts.concurrency = usize::from(args.max_concurrent);
    opts.threads = usize::from(args.threads);
    opts.max_connections = usize::from(args.max_connections);
    // Refused before anything is loaded: a public address without a token never serves.
    if !rolecall::internals::serve::is_loopback(&opts.listen) && opts.token.is_none() {
        return Err(
            rolecall::internals::serve::ServeError::TokenRequired(opts.listen.to_string()).into(),
        );
    }
    let settings = settings(&overrides)?;
    // Every state is built and replaced on the reload thread, the first one included, so its
    // memory belongs to a thread that keeps allocating and gives freed pages back. (An org
    // built on this thread, which then only waits on the server, would leave its pages with
    // this thread's heap when a reload frees it: about an eighth of the RSS, kept for good.)
    let (ready, first) = mpsc::channel::<miette::Result<Arc<Shared>>>();
    std::thread::scope(|scope| {
        // Inside the scope: should serving panic, these are dropped before the scope waits for
        // the reload thread, which then stops instead of waiting for ever.
        let (go, serving) = mpsc::channel::<Arc<AtomicBool>>();
        let reloads = scope.spawn(move || match first_state(args, settings, overrides) {
            Err(e) => {
                let _ = ready.send(Err(e));
            }
            Ok((session, follower, shared, src)) => {
                if ready.send(Ok(Arc::clone(&shared))).is_err() {
                    return;
                }
                // Reloads start once the server does (no flag: it did not start).
                let Ok(stop) = serving.recv() else {
                    return;
                };
                let fetched = args
                    .refresh
                    .map(|every| refetch(args, every, Arc::clone(&stop)));
                reload(session, follower, fetched, &shared, &src, &stop);
            }
        });
        let served = first
            .recv()
            .map_err(|_| miette::miette!("the reload thread stopped before the first state"))
            .and_then(|r| r)
            .and_then(|shared| {
                let log = args
                    .decision_log
                    .as_deref()
                    .map(|p| DecisionLog::open(p, args.decision_log_max_mib << 20))
                    .transpose()?;
                // From here on a signal stops the server gracefully (while loading, it ends
                // the process as anywhere else).
                let stop = super::signals::stay_on_signal();
                let _raise = RaiseOnDrop(Arc::clone(&stop));
                let _ = go.send(Arc::clone(&stop));
                let served =
                    rolecall::internals::serve::run(opts, shared, log, Arc::clone(&stop), |addr| {
                        note(&format!(
                            "listening on http://{addr} (plain HTTP: put TLS in a reverse proxy); GET /v1/openapi.json describes the API"
                        ));
                    });
                stop.store(true, Ordering::SeqCst);
                served.map_err(miette::Report::from)
            });
        drop(go);
        let _ = reloads.join();
        served
    })?;
    note("serve stopped");
    Ok(Exit::Clean)
}

/// Raises the stop flag when dropped, a panic's unwinding included: the reload thread ends.
struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The first state: the org read, the rules run, and what to watch for reloads.
fn first_state(
    args: &ServeArgs,
    settings: rolecall::internals::config::Settings,
    overrides: Overrides,
) -> miette::Result<(Session, super::watch::Follower, Arc<Shared>, Source)> {
    let (snapshot, src) = source(args)?;
    let file = if args.live {
        None
    } else {
        super::either(&args.snapshot, &args.snapshot_file)
    };
    let mut session = Session::new(settings, overrides, Arc::new(Org::new(snapshot)), file)?;
    session.run(None);
    for n in session.notes.drain(..) {
        note(&n);
    }
    let shared = Arc::new(Shared::new(State::of(&session, src.clone(), None)));
    shared.set_stale(session.stale());
    let follower = super::watch::Follower::new(&session, Duration::from_millis(args.debounce_ms))?;
    Ok((session, follower, shared, src))
}

/// A fetch of the live org: the snapshot, or why it failed.
type Fetched = Result<OrgSnapshot, String>;

/// Fetch the org every `every` on a thread of its own, until `stop`.
fn refetch(args: &ServeArgs, every: Duration, stop: Arc<AtomicBool>) -> mpsc::Receiver<Fetched> {
    let (tx, rx) = mpsc::channel();
    let connect = args.connect.clone();
    std::thread::spawn(move || loop {
        let due = Instant::now() + every;
        while Instant::now() < due {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100).min(every));
        }
        let got = super::fetch::fetch_org(&connect)
            .map(|(s, _)| s)
            .map_err(|e| format!("live fetch failed, keeping the previous org: {e}"));
        if tx.send(got).is_err() {
            return;
        }
    });
    rx
}

/// The reload loop: file changes through the watch mechanism, fetched orgs from `fetched`;
/// each run publishes a new state, each failure marks the state stale.
fn reload(
    mut session: Session,
    mut follower: super::watch::Follower,
    fetched: Option<mpsc::Receiver<Fetched>>,
    shared: &Shared,
    src: &Source,
    stop: &AtomicBool,
) {
    let mut publish = |session: &mut Session, _: &rolecall::internals::watch::Delta| {
        let before = shared.now();
        shared.publish(
            State::of(session, src.clone(), Some(&before.state)),
            session.stale(),
        );
        for n in session.notes.drain(..) {
            note(&n);
        }
        Ok(())
    };
    while !stop.load(Ordering::SeqCst) {
        match follower.step(&mut session, Duration::from_millis(100), &mut publish) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => note(&format!("file watching: {e}")),
        }
        let Some(got) = fetched.as_ref().and_then(|rx| rx.try_recv().ok()) else {
            continue;
        };
        match got {
            Ok(snap) => {
                if let Some(delta) = session.replace_org(Arc::new(Org::new(snap)), "fetch") {
                    let _ = publish(&mut session, &delta);
                    continue;
                }
            }
            Err(why) => session.fail("fetch", why),
        }
        shared.set_stale(session.stale());
        for n in session.notes.drain(..) {
            note(&n);
        }
    }
}
