//! The network edge against a hostile server (issue 20, "Secrets stay home"): credentials sent
//! to another host (class 2), encoded secrets echoed (class 3), server-supplied numbers trusted
//! (class 7). Every case signs in with a canary secret; the server's tokens carry the canary
//! too, and none of them, nor base64 of `id:secret`, may appear in stdout, stderr, a written
//! file, an error, or any request to host B (a second server that must receive nothing).
//!
//! Each case prints its wall time and peak memory (`hostile case …`): run with
//! `--test-threads=1 --nocapture` for exact figures (the library cases' peak is the test
//! process's, reset per case through `/proc/self/clear_refs`; the binary's is measured with
//! `/usr/bin/time` when present).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rolecall::internals::fetch::client::{
    fetch, FetchError, FetchOptions, FetchStats, DEFAULT_MAX_BODY, DEFAULT_MAX_PAGES,
};
use rolecall::internals::fetch::credentials::{Auth, Secret};
use rolecall::internals::model::OrgSnapshot;
use serde_json::{json, Value};

use crate::support::hostile_http::{Hostile, Reply, Seen};

const ID: &str = "hostile-client";
/// The canary: URL-encoding changes it (`/`, `+`, `=`), and every form of it that rolecall
/// produces except base64 still reads `canary`.
const SECRET: &str = "canary-Zq8/x+Tm=secret";

/// The `n`th token the server issues: it carries the canary too.
fn token(n: usize) -> String {
    format!("tok-canary-{n}-Hq3")
}

/// The Basic credential rolecall sends: base64 of `id:secret`.
fn basic() -> String {
    rolecall::internals::redact::base64(format!("{ID}:{SECRET}").as_bytes())
}

/// `text` holds no form of the canary: raw, URL- or JSON-encoded, base64, or a token.
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains("canary"),
        "{what} holds the secret or a token:\n{text}"
    );
    assert!(
        !text.contains(&basic()),
        "{what} holds base64(id:secret):\n{text}"
    );
}

/// Host B received nothing at all: no request, so no credential.
fn assert_untouched(b: &Hostile) {
    let seen: Vec<String> = b.seen().iter().map(Seen::raw).collect();
    assert!(seen.is_empty(), "host B received: {seen:#?}");
}

/// The peak resident memory of this process since the last reset, in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Run one library case, printing its wall time and the peak memory it reached.
fn case<T>(name: &str, f: impl FnOnce() -> T) -> T {
    // Linux: `5` resets the peak resident size (VmHWM) to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let out = f();
    report(name, started.elapsed(), peak_kib(), "test process");
    out
}

#[expect(
    clippy::print_stderr,
    reason = "the closing note's figures: wall time and peak memory per case"
)]
fn report(name: &str, elapsed: Duration, kib: u64, whose: &str) {
    eprintln!("hostile case {name}: {elapsed:.2?}, peak RSS {kib} KiB ({whose})");
}

fn options(a: &Hostile) -> FetchOptions {
    FetchOptions {
        api_base: a.base.clone(),
        login_base: a.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: ID.into(),
            secret: Secret::new(SECRET),
        },
        region: None,
        per_minute: 1_000_000,
        concurrency: 8,
        max_attempts: 6,
        progress: None,
        max_body_bytes: DEFAULT_MAX_BODY,
        max_pages: DEFAULT_MAX_PAGES,
        // Small, so that nothing in this file can hang for long.
        attempt_timeout: Duration::from_secs(10),
        max_wait: Duration::from_secs(5),
    }
}

/// Fetch, failing the test (instead of hanging it) if a regression makes the fetch endless:
/// an endless cursor chain, a wait of 126 years.
fn run(opts: FetchOptions) -> Result<(OrgSnapshot, FetchStats), FetchError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            match tokio::time::timeout(Duration::from_secs(60), fetch(opts)).await {
                Ok(done) => done,
                Err(_) => panic!("the fetch did not end within 60 s"),
            }
        })
}

/// A fetch that must fail: its error, checked clean in both renderings.
fn failing(opts: FetchOptions) -> FetchError {
    let Err(err) = run(opts) else {
        panic!("the fetch should fail")
    };
    assert_clean("the error", &format!("{err} {err:?}"));
    err
}

/// The login: a token for the right Basic credential, 401 otherwise.
fn login(req: &Seen, tok: &str) -> Reply {
    if req.header("authorization") == Some(format!("Basic {}", basic()).as_str()) {
        Reply::json(
            200,
            &json!({"access_token": tok, "token_type": "bearer", "expires_in": 86400}),
        )
    } else {
        Reply::json(401, &json!({"error": "invalid_client"}))
    }
}

/// 403 for a read: the fetch records a gap and goes on.
fn refuse() -> Reply {
    Reply::json(
        403,
        &json!({"code": "missing.permissions", "message": "no", "status": 403}),
    )
}

/// An API that signs in and refuses every read, except what `special` answers.
fn api(
    special: impl Fn(&Seen) -> Option<Reply> + Send + Sync + 'static,
) -> impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static {
    move |req, _| {
        if let Some(r) = special(req) {
            return r;
        }
        if req.path() == "/oauth/token" {
            return login(req, &token(0));
        }
        refuse()
    }
}

fn requests_to(a: &Hostile, path: &str) -> usize {
    a.seen().iter().filter(|r| r.path() == path).count()
}

/// A run of the binary, timed, with its peak memory when `/usr/bin/time` is there.
struct Cli {
    out: Output,
    /// The output directory: every file in it is checked.
    dir: tempfile::TempDir,
}

impl Cli {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// stdout, stderr and every file written are free of the canary.
    fn assert_clean(&self) {
        assert_clean("stdout", &String::from_utf8_lossy(&self.out.stdout));
        assert_clean("stderr", &self.stderr());
        for f in files(self.dir.path()) {
            let bytes = std::fs::read(&f).unwrap();
            assert_clean(&f.display().to_string(), &String::from_utf8_lossy(&bytes));
        }
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `rolecall fetch` against `a` (`--api-base` and `--login-base`), with the canary in the
/// environment, `RUST_LOG=trace`, `HOME` at `home` (a gc config may be there), and `extra`
/// arguments.
fn cli_fetch(name: &str, a: &Hostile, home: &Path, extra: &[&str]) -> Cli {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["fetch".into(), "--api-base".into(), a.base.clone()];
    // Requests at full speed: the default 300 a minute would space them 200 ms apart.
    args.extend([
        "--login-base".into(),
        a.base.clone(),
        "--rate".into(),
        "100000".into(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend([
        "-o".into(),
        dir.path().join("org.json").display().to_string(),
    ]);
    cli(name, &args, home, dir)
}

fn cli(name: &str, args: &[String], home: &Path, dir: tempfile::TempDir) -> Cli {
    cli_with(name, args, home, dir, true)
}

/// [`cli`], with the canary client in the environment or not (a gc profile's own).
fn cli_with(
    name: &str,
    args: &[String],
    home: &Path,
    dir: tempfile::TempDir,
    env_client: bool,
) -> Cli {
    let bin = env!("CARGO_BIN_EXE_rolecall");
    // The peak memory goes to a file outside the checked directory.
    let rss = tempfile::NamedTempFile::new().unwrap();
    let timed = Path::new("/usr/bin/time").exists();
    let mut c = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(rss.path()).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("RUST_LOG", "trace")
        .env("HOME", home)
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("GENESYSCLOUD_REGION");
    if env_client {
        c.env("GENESYSCLOUD_OAUTHCLIENT_ID", ID)
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET);
    } else {
        c.env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
            .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET");
    }
    let started = Instant::now();
    let out = c.output().unwrap();
    let kib = std::fs::read_to_string(rss.path())
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    report(name, started.elapsed(), kib, "rolecall binary");
    Cli { out, dir }
}

// ---------------------------------------------------------------------------------------------
// Class 2: credentials sent to another host.

#[test]
fn a_login_redirect_is_an_error_naming_the_status_and_host_and_is_not_followed() {
    let b = Hostile::start(|req, _| login(req, &token(9)));
    let to_b = format!("{}/oauth/token", b.base);
    let a = Hostile::start(move |_, _| Reply::redirect(307, &to_b));
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch("login 307 to host B (binary)", &a, home.path(), &[]);
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("answered HTTP 307, a redirect to `")
            && err.contains(&format!("`{}`", b.host()))
            && err.contains("redirects are not followed"),
        "{err}"
    );
    assert!(!ran.dir.path().join("org.json").exists());
    assert_eq!(a.seen().len(), 1, "one login, not retried");
    assert_untouched(&b);
    ran.assert_clean();
}

#[test]
fn redirect_chains_never_reach_another_host() {
    let b = Hostile::start(|req, _| login(req, &token(9)));
    // Each shape that carried a credential to B: a hop within A, then B; B, then B again;
    // for the login and for an API read; every 3xx status.
    let b_base = b.base.clone();
    let cases: Vec<(&str, u16, bool)> = vec![
        ("login 302 via A to B", 302, true),
        ("login 308 to B then B", 308, true),
        ("API 301 via A to B", 301, false),
        ("API 303 to B", 303, false),
        ("API 307 via A to B", 307, false),
        ("API 308 to B then B", 308, false),
    ];
    for (name, status, at_login) in cases {
        let b_base = b_base.clone();
        let a = Hostile::start(move |req, _| {
            let hop = |r: &Seen| r.target.contains("hop=1");
            match (req.path(), at_login) {
                ("/oauth/token", true) | ("/api/v2/organizations/me", false) if !hop(req) => {
                    if name.contains("via A") {
                        Reply::redirect(status, &format!("{}?hop=1", req.target))
                    } else {
                        Reply::redirect(status, &format!("{b_base}/x?hop=1"))
                    }
                }
                (_, _) if hop(req) => Reply::redirect(status, &format!("{b_base}/y")),
                ("/oauth/token", _) => login(req, &token(0)),
                _ => refuse(),
            }
        });
        let err = case(name, || failing(options(&a)));
        let expected_host = if name.contains("via A") {
            a.host().to_owned()
        } else {
            b.host().to_owned()
        };
        match &err {
            FetchError::Redirect { status: s, to, .. } => {
                assert_eq!(
                    (*s, to.as_str()),
                    (status, expected_host.as_str()),
                    "{name}"
                );
            }
            other => panic!("{name}: {other}"),
        }
        assert!(
            !a.seen().iter().any(|r| r.target.contains("hop=1")),
            "{name}: followed"
        );
    }
    assert_untouched(&b);
}

/// A `nextUri` naming another host, in every shape that could send the token there.
#[test]
fn a_next_uri_off_the_api_origin_is_refused_and_the_token_stays_home() {
    let b = Hostile::start(|_, _| Reply::json(200, &json!({"entities": []})));
    let bh = b.host().to_owned();
    let shapes = [
        format!("@{bh}/v2/x"),
        format!("@{bh}/api/v2/authorization/policies?after=2"),
        format!("http://{bh}/api/v2/authorization/policies?after=2"),
        format!("//{bh}/api/v2/authorization/policies?after=2"),
        format!("http://user@{bh}/api/v2/authorization/policies"),
        "https://api.evil.example/api/v2/authorization/policies".to_owned(),
        "v2/authorization/policies?after=2".to_owned(),
        "/v2/authorization/policies?after=2".to_owned(),
    ];
    for next in shapes {
        let served = next.clone();
        let a = Hostile::start(api(move |req| {
            (req.path() == "/api/v2/authorization/policies")
                .then(|| Reply::json(200, &json!({"entities": [], "nextUri": served})))
        }));
        let err = case(&format!("nextUri {next}"), || failing(options(&a)));
        assert!(
            matches!(
                &err,
                FetchError::ForeignUri {
                    field: "nextUri",
                    ..
                }
            ),
            "{next}: {err}"
        );
        assert_eq!(
            requests_to(&a, "/api/v2/authorization/policies"),
            1,
            "{next}"
        );
        // Every request A saw is its own: nothing but `/api/…` and the login.
        for r in a.seen() {
            assert!(
                r.target.starts_with("/api/v2/") || r.target == "/oauth/token",
                "{next}: {}",
                r.target
            );
        }
    }
    assert_untouched(&b);
}

#[test]
fn the_issues_next_uri_fails_the_binary_and_reaches_no_other_host() {
    let b = Hostile::start(|_, _| Reply::json(200, &json!({"entities": []})));
    let next = format!("@{}/v2/x", b.host());
    let a = Hostile::start(api(move |req| {
        (req.path() == "/api/v2/authorization/policies")
            .then(|| Reply::json(200, &json!({"entities": [], "nextUri": next})))
    }));
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch("nextUri @B/v2/x (binary)", &a, home.path(), &[]);
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused the `nextUri` of `GET /api/v2/authorization/policies`"),
        "{err}"
    );
    assert!(!ran.dir.path().join("org.json").exists());
    assert_untouched(&b);
    ran.assert_clean();
}

#[test]
fn a_next_uri_on_the_api_origin_is_followed() {
    // The control: absolute URLs and paths on A itself are pages like any other.
    let a_base = Arc::new(Mutex::new(String::new()));
    let base = Arc::clone(&a_base);
    let a = Hostile::start(api(move |req| {
        (req.path() == "/api/v2/authorization/policies").then(|| {
            let policy = |id: &str| json!({"id": id, "name": id, "effect": "DENY"});
            let page = if req.target.contains("after=3") {
                json!({"entities": [policy("p3")]})
            } else if req.target.contains("after=2") {
                json!({"entities": [policy("p2")], "nextUri": "/api/v2/authorization/policies?after=3"})
            } else {
                let next = format!("{}/api/v2/authorization/policies?after=2", base.lock().unwrap());
                json!({"entities": [policy("p1")], "nextUri": next})
            };
            Reply::json(200, &page)
        })
    }));
    *a_base.lock().unwrap() = a.base.clone();
    let (snap, _) = case("nextUri on A (control)", || run(options(&a)).unwrap());
    let ids: Vec<&str> = snap.access_policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3"]);
}

/// A gc config whose cached login token is for `us-west-2`, with client credentials.
fn gc_home(grant: &str, with_secret: bool) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".gc")).unwrap();
    let secret = if with_secret { SECRET } else { "" };
    std::fs::write(
        home.path().join(".gc/config.toml"),
        format!(
            "[default]\nclient_credentials = '{ID}'\nclient_secret = '{secret}'\n\
             environment = 'usw2.pure.cloud'\ngrant_type = '{grant}'\n\
             oauth_token_data = '{{\"access_token\":\"tok-canary-cached-gc\",\
             \"oauth_token_expiry\":\"2999-01-01T00:00:00Z\"}}'\n"
        ),
    )
    .unwrap();
    home
}

#[test]
fn a_token_gc_cached_for_one_region_is_not_sent_to_another_host() {
    let a = Hostile::start(api(|_| None));
    let home = gc_home("1", true);
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = ["fetch", "--api-base", &a.base, "--rate", "100000", "-o"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([dir.path().join("org.json").display().to_string()])
        .collect();
    // The profile's own client credentials: no variables.
    let ran = cli_with(
        "gc cached token, --api-base A (binary)",
        &args,
        home.path(),
        dir,
        false,
    );
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "the login token gc cached for profile `default` is for `https://api.usw2.pure.cloud`, not this host"
        ),
        "{err}"
    );
    let seen = a.seen();
    assert!(
        seen.iter().all(|r| !r.raw().contains("cached-gc")),
        "{seen:#?}"
    );
    assert_eq!(
        seen[0].path(),
        "/oauth/token",
        "a client-credentials login first"
    );
    assert!(seen[1..]
        .iter()
        .all(|r| r.bearer() == Some(token(0).as_str())));
    ran.assert_clean();
}

#[test]
fn a_token_gc_cached_for_one_region_is_not_used_for_another_region() {
    // A browser-login profile has nothing else: an error before any connection.
    let home = gc_home("3", false);
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = ["fetch", "--region", "eu-west-1", "-o"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([dir.path().join("org.json").display().to_string()])
        .collect();
    let ran = cli_with(
        "gc cached token, --region eu-west-1 (binary)",
        &args,
        home.path(),
        dir,
        false,
    );
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    // miette wraps the message: its parts.
    assert!(
        err.contains("the login token gc cached for profile `default` is for")
            && err.contains("`https://api.usw2.pure.cloud`, not")
            && err.contains("`https://api.mypurecloud.ie`"),
        "{err}"
    );
    ran.assert_clean();
}

// ---------------------------------------------------------------------------------------------
// Class 3: encoded secrets echoed.

/// A login refusal whose description echoes what was sent: the header, the secret raw and
/// URL-encoded.
fn echoing_login() -> Hostile {
    Hostile::start(|req, _| {
        let echo = format!(
            "bad client: {} / {SECRET} / canary-Zq8%2Fx%2BTm%3Dsecret / {}",
            req.header("authorization").unwrap_or_default(),
            String::from_utf8_lossy(&req.body)
        );
        Reply::json(
            401,
            &json!({"error": "invalid_client", "error_description": echo}),
        )
    })
}

#[test]
fn a_login_refusal_echoing_the_basic_credential_is_redacted() {
    let a = echoing_login();
    let err = case("login 401 echoing Basic (library)", || failing(options(&a)));
    let shown = err.to_string();
    assert!(
        shown.contains("HTTP 401 `invalid_client`: bad client: Basic [redacted]"),
        "{shown}"
    );
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch("login 401 echoing Basic (binary)", &a, home.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(2), "{}", ran.stderr());
    assert!(ran.stderr().contains("[redacted]"), "{}", ran.stderr());
    ran.assert_clean();
}

#[test]
fn a_server_echoing_the_token_in_gaps_and_uris_is_redacted() {
    // 403 bodies (stored in the snapshot and printed as gaps), a 501's body, and a `nextUri`
    // quoted in an error: each echoes the bearer token and the Basic credential.
    let a = Hostile::start(api(|req| {
        let echo = format!(
            "{} {}",
            req.header("authorization").unwrap_or_default(),
            basic()
        );
        match req.path() {
            "/oauth/token" => None,
            // 501 is not retried: one answer, quoted nowhere.
            "/api/v2/groups" => Some(Reply::json(501, &json!({"code": echo, "message": echo}))),
            _ => Some(Reply::json(403, &json!({"code": echo, "message": echo}))),
        }
    }));
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch("gaps echoing the token (binary)", &a, home.path(), &[]);
    assert_eq!(ran.out.status.code(), Some(2), "{}", ran.stderr());
    ran.assert_clean();
    // Without the failing listing, the snapshot is written: its gaps are redacted.
    let a = Hostile::start(api(|req| {
        let echo = format!(
            "{} {}",
            req.header("authorization").unwrap_or_default(),
            basic()
        );
        (req.path() != "/oauth/token")
            .then(|| Reply::json(403, &json!({"code": echo, "message": echo})))
    }));
    let ran = cli_fetch(
        "gaps echoing the token, written (binary)",
        &a,
        home.path(),
        &[],
    );
    assert_eq!(ran.out.status.code(), Some(0), "{}", ran.stderr());
    let written = std::fs::read_to_string(ran.dir.path().join("org.json")).unwrap();
    assert!(written.contains("Bearer [redacted]"), "{written}");
    ran.assert_clean();
    // A refused `nextUri` is quoted redacted.
    let a = Hostile::start(api(|req| {
        (req.path() == "/api/v2/authorization/policies").then(|| {
            let next = format!("weird:{}?{}", req.bearer().unwrap_or_default(), basic());
            Reply::json(200, &json!({"entities": [], "nextUri": next}))
        })
    }));
    let err = case("nextUri echoing the token (library)", || {
        failing(options(&a))
    });
    assert!(err.to_string().contains("[redacted]"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Class 7: server-supplied numbers trusted.

/// Roles listings that claim `pages` pages of one role each (`pageSize` 1).
fn lying_roles(page_count: u64, total: u64) -> Hostile {
    Hostile::start(api(move |req| {
        (req.path() == "/api/v2/authorization/roles").then(|| {
            Reply::json(
                200,
                &json!({"entities": [{"id": "r", "name": "r"}], "pageSize": 1, "pageNumber": 1,
                        "pageCount": page_count, "total": total}),
            )
        })
    }))
}

#[test]
fn two_billion_claimed_pages_are_an_error_not_an_abort() {
    let a = lying_roles(2_000_000_000, 2_000_000_000);
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch("pageCount = total = 2e9 (binary)", &a, home.path(), &[]);
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`GET /api/v2/authorization/roles` has more than 10000 page(s)")
            && err.contains("`pageCount` 2000000000 and `total` 2000000000")
            && err.contains("--max-pages"),
        "{err}"
    );
    assert_eq!(requests_to(&a, "/api/v2/authorization/roles"), 1);
    ran.assert_clean();
}

#[test]
fn a_page_count_lie_costs_one_request_and_the_cap_is_configurable() {
    let a = lying_roles(100_000, 100_000);
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch(
        "pageCount 1e5, --max-pages 50 (binary)",
        &a,
        home.path(),
        &["--max-pages", "50"],
    );
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    assert!(err.contains("has more than 50 page(s)"), "{err}");
    assert_eq!(requests_to(&a, "/api/v2/authorization/roles"), 1);
    ran.assert_clean();
    // Within the cap, `total` still bounds the count: 3 pages, not 100,000.
    let a = lying_roles(100_000, 3);
    let mut opts = options(&a);
    opts.max_pages = 50;
    let (snap, _) = case("pageCount 1e5, total 3 (library)", || run(opts).unwrap());
    assert_eq!(snap.roles.len(), 3);
    assert_eq!(requests_to(&a, "/api/v2/authorization/roles"), 3);
}

#[test]
fn endless_cursors_stop_at_the_cap_and_a_repeated_cursor_ends_the_listing() {
    let a = Hostile::start(api(|req| {
        (req.path() == "/api/v2/authorization/policies").then(|| {
            let n: u64 = req
                .target
                .split("after=")
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let next = format!("/api/v2/authorization/policies?after={}", n + 1);
            Reply::json(200, &json!({"entities": [], "nextUri": next}))
        })
    }));
    let mut opts = options(&a);
    opts.max_pages = 20;
    let err = case("new cursor every page, cap 20 (library)", || failing(opts));
    assert!(
        matches!(&err, FetchError::TooManyPages { cap: 20, .. })
            && err.to_string().contains("cursors did not end"),
        "{err}"
    );
    assert_eq!(requests_to(&a, "/api/v2/authorization/policies"), 20);
    // A cursor that comes back: the listing ends there, with what was read.
    let a = Hostile::start(api(|req| {
        (req.path() == "/api/v2/authorization/policies").then(|| {
            let next = "/api/v2/authorization/policies?after=same";
            let id = if req.target.contains("after=") {
                "p2"
            } else {
                "p1"
            };
            Reply::json(
                200,
                &json!({"entities": [{"id": id, "name": id}], "nextUri": next}),
            )
        })
    }));
    let (snap, _) = case("repeated cursor (library)", || run(options(&a)).unwrap());
    assert_eq!(snap.access_policies.len(), 2);
    assert_eq!(requests_to(&a, "/api/v2/authorization/policies"), 2);
}

#[test]
fn a_rate_window_reset_of_126_years_is_waited_only_the_cap() {
    let a = Hostile::start(|req, _| {
        let reply = if req.path() == "/oauth/token" {
            login(req, &token(0))
        } else {
            refuse()
        };
        reply
            .with("inin-ratelimit-count", "180")
            .with("inin-ratelimit-allowed", "180")
            .with("inin-ratelimit-reset", "4000000000")
    });
    let mut opts = options(&a);
    opts.max_wait = Duration::from_millis(500);
    let started = Instant::now();
    let (snap, _) = case("inin-ratelimit-reset 4e9, cap 0.5 s (library)", || {
        run(opts).unwrap()
    });
    assert!(snap.coverage.iter().all(|c| c.status != "ok"));
    // Every read waits for the window (at most the cap each, several at once): seconds.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A 429 asking for more than the cap fails the read at once, saying so.
    let a = Hostile::start(api(|req| {
        (req.path() == "/api/v2/organizations/me")
            .then(|| Reply::json(429, &json!({})).with("Retry-After", "4000000000"))
    }));
    let err = case("Retry-After 4e9 on a read (library)", || {
        failing(options(&a))
    });
    let shown = err.to_string();
    assert!(
        shown.contains("after 1 attempt(s): HTTP 429, asking to wait")
            && shown.contains("longer than the 5s rolecall waits"),
        "{shown}"
    );
}

#[test]
fn the_login_honours_retry_after_within_the_cap() {
    let logins = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&logins);
    let a = Hostile::start(api(move |req| {
        (req.path() == "/oauth/token" && count.fetch_add(1, Ordering::SeqCst) == 0)
            .then(|| Reply::json(429, &json!({})).with("Retry-After", "1"))
    }));
    case("login 429 Retry-After 1 (library)", || {
        run(options(&a)).unwrap()
    });
    let times: Vec<Instant> = a
        .seen()
        .iter()
        .filter(|r| r.path() == "/oauth/token")
        .map(|r| r.at)
        .collect();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_secs(1),
        "{:?}",
        times[1] - times[0]
    );
    // Past the cap: one attempt, and the error names the wait.
    let a = Hostile::start(api(|req| {
        (req.path() == "/oauth/token")
            .then(|| Reply::json(429, &json!({})).with("Retry-After", "30"))
    }));
    let err = case("login 429 Retry-After 30, cap 5 s (library)", || {
        failing(options(&a))
    });
    let shown = err.to_string();
    assert!(
        shown.contains("after 1 attempt(s)")
            && shown.contains("asked to wait 30s, longer than the 5s"),
        "{shown}"
    );
    assert_eq!(requests_to(&a, "/oauth/token"), 1);
}

#[test]
fn slow_answers_are_cut_off_at_the_deadline_and_reported_as_timeouts() {
    let slow = |every_ms| Reply::SlowHead {
        every: Duration::from_millis(every_ms),
    };
    let cases: Vec<(&str, &str, Reply)> = vec![
        ("slowloris login headers", "/oauth/token", slow(50)),
        (
            "slowloris login body",
            "/oauth/token",
            Reply::SlowBody {
                every: Duration::from_millis(50),
                len: 10_000,
            },
        ),
        (
            "slowloris API headers",
            "/api/v2/organizations/me",
            slow(50),
        ),
        (
            "slowloris API body",
            "/api/v2/organizations/me",
            Reply::SlowBody {
                every: Duration::from_millis(50),
                len: 10_000,
            },
        ),
    ];
    for (name, path, reply) in cases {
        let a = Hostile::start(api(move |req| (req.path() == path).then(|| reply.clone())));
        let mut opts = options(&a);
        opts.attempt_timeout = Duration::from_millis(400);
        let started = Instant::now();
        let err = case(&format!("{name}, deadline 0.4 s (library)"), || {
            failing(opts)
        });
        let shown = err.to_string();
        assert!(
            shown.contains("after 2 attempt(s)") && shown.contains("timed out: no complete answer"),
            "{name}: {shown}"
        );
        assert!(!shown.contains("decoding"), "{name}: {shown}");
        assert_eq!(requests_to(&a, path), 2, "{name}");
        // Two deadlines and a backoff, not 6 × 60 s.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            started.elapsed()
        );
    }
    // The binary's flag.
    let a = Hostile::start(api(move |req| {
        (req.path() == "/api/v2/organizations/me").then(|| slow(100))
    }));
    let home = tempfile::tempdir().unwrap();
    let ran = cli_fetch(
        "slowloris API headers, --request-timeout 1 (binary)",
        &a,
        home.path(),
        &["--request-timeout", "1"],
    );
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("timed out: no complete answer (headers and body) within 1s"),
        "{err}"
    );
    ran.assert_clean();
}

#[test]
fn tokens_that_cannot_be_sent_are_refused_at_once() {
    for (name, issued) in [
        ("token with CR LF", "tok-canary\r\nX-Injected: 1"),
        ("token with NUL", "tok-canary\u{0}x"),
        ("token with a space", "tok canary"),
        ("empty token", ""),
    ] {
        let a = Hostile::start(api(move |req| {
            (req.path() == "/oauth/token")
                .then(|| Reply::json(200, &json!({"access_token": issued, "expires_in": 60})))
        }));
        let err = case(&format!("{name} (library)"), || failing(options(&a)));
        assert!(
            matches!(&err, FetchError::Shape { .. })
                && err.to_string().contains("other than visible ASCII"),
            "{name}: {err}"
        );
        assert_eq!(a.seen().len(), 1, "{name}: one login, no read");
    }
    // A token given to rolecall (a variable, a gc profile) is checked the same way.
    let a = Hostile::start(api(|_| None));
    let mut opts = options(&a);
    opts.auth = Auth::Token(Secret::new("tok-canary-given\nX-Injected: 1"));
    let err = case("given token with LF (library)", || failing(opts));
    assert!(err.to_string().contains("visible ASCII"), "{err}");
    assert!(a.seen().is_empty());
}

#[test]
fn a_negative_lifetime_is_named_as_such() {
    let a = Hostile::start(api(|req| {
        (req.path() == "/oauth/token")
            .then(|| Reply::json(200, &json!({"access_token": token(0), "expires_in": -5})))
    }));
    let err = case("expires_in -5 (library)", || failing(options(&a)));
    let shown = err.to_string();
    assert!(
        shown.contains("`expires_in` is `-5`, not a lifetime in seconds")
            && !shown.contains("no `access_token`"),
        "{shown}"
    );
}

#[test]
fn a_fetch_outlives_many_token_lifetimes() {
    // Each token serves 12 reads, then answers 401; 60 roles make ~75 reads: 6 lifetimes.
    struct Tokens {
        current: usize,
        uses: usize,
    }
    let state = Arc::new(Mutex::new(Tokens {
        current: 0,
        uses: 0,
    }));
    let s = Arc::clone(&state);
    let a = Hostile::start(move |req, _| {
        let mut t = s.lock().unwrap();
        if req.path() == "/oauth/token" {
            t.current += 1;
            t.uses = 0;
            return login(req, &token(t.current));
        }
        if req.bearer() != Some(token(t.current).as_str()) || t.uses >= 12 {
            return Reply::json(401, &json!({"code": "credentials.expired"}));
        }
        t.uses += 1;
        drop(t);
        match req.path() {
            "/api/v2/authorization/roles" => {
                let roles: Vec<Value> = (0..60)
                    .map(|i| json!({"id": format!("role-{i}"), "name": format!("Role {i}")}))
                    .collect();
                Reply::json(
                    200,
                    &json!({"entities": roles, "pageCount": 1, "total": 60}),
                )
            }
            p if p.ends_with("/subjectgrants") => {
                Reply::json(200, &json!({"entities": [], "pageCount": 1, "total": 0}))
            }
            _ => refuse(),
        }
    });
    let (snap, stats) = case("tokens lasting 12 reads (library)", || {
        run(options(&a)).unwrap()
    });
    assert_eq!(snap.roles.len(), 60);
    let logins = requests_to(&a, "/oauth/token");
    assert!(logins >= 6, "{logins} logins");
    assert!(stats.retries > 0);
    // Every 401 was answered by a read that succeeded with a newer token.
    let grants = snap
        .coverage
        .iter()
        .find(|c| c.dataset == "grants")
        .unwrap();
    assert_eq!(grants.status, "ok");
}

#[test]
fn a_gc_config_that_is_a_device_or_a_fifo_is_refused_at_once() {
    let b = Hostile::start(|_, _| refuse());
    for (name, make) in [
        ("gc config -> /dev/zero", "zero"),
        ("gc config is a FIFO", "fifo"),
    ] {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".gc")).unwrap();
        let config = home.path().join(".gc/config.toml");
        if make == "zero" {
            std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
        } else {
            assert!(Command::new("mkfifo")
                .arg(&config)
                .status()
                .unwrap()
                .success());
        }
        let ran = cli_fetch(&format!("{name} (binary)"), &b, home.path(), &[]);
        let err = ran.stderr();
        assert_eq!(ran.out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains("cannot read the gc config") && err.contains(".gc/config.toml"),
            "{name}: {err}"
        );
        ran.assert_clean();
    }
    assert_untouched(&b);
}

/// Review of issue 20 (class 7): a listing that reports 50 roles and returns none (no page
/// count) was recorded as read, `ok`, with 0 roles; every verdict after was certain on data
/// rolecall never saw. It is a coverage gap naming what was missing.
#[test]
fn a_listing_shorter_than_its_total_is_a_gap_not_ok() {
    let a = Hostile::start(api(|req| {
        (req.path() == "/api/v2/authorization/roles").then(|| {
            Reply::json(
                200,
                &json!({"entities": [], "pageSize": 0, "total": 50, "pageCount": null}),
            )
        })
    }));
    let (snap, _) = case("total 50, no entities (library)", || {
        run(options(&a)).unwrap()
    });
    let roles = snap
        .coverage
        .iter()
        .find(|c| c.dataset == "roles")
        .expect("a coverage entry for roles");
    assert_ne!(roles.status, "ok", "{roles:?}");
    assert!(
        roles
            .message
            .as_deref()
            .is_some_and(|m| m.contains("0 of the 50")),
        "{roles:?}"
    );
}
