//! `rolecall serve` over real HTTP on 127.0.0.1, with the real binary: the answers are the CLI's
//! `--format json` documents, reloads change them (or mark them stale), the guards hold, the
//! token never shows, SIGTERM finishes cleanly and flushes the decision log.
//!
//! Tests wait for conditions with deadlines, never for a fixed time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{rolecall, root};

const SEED: &str = r#"{"subject":"client:wfm-sync","operation":"POST /api/v2/workforcemanagement/agents","target":"management-unit:EU Agents"}"#;

const RULE: &str = r#"//! Reports every client.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{ id: "SRV001", name: "every-client", severity: "low" };
fn check(org) { for c in org.clients { report(c, "MESSAGE"); } }
"#;

struct Server {
    child: Child,
    addr: String,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    #[expect(
        clippy::zombie_processes,
        reason = "the server's Drop kills and waits for it"
    )]
    fn start(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = rolecall()
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--debounce-ms", "50"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("serve did not start listening")
            });
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().to_owned();
                return Self {
                    child,
                    addr,
                    stderr: rx,
                };
            }
        }
    }

    fn ask(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.ask_with(method, path, body, &[])
    }

    fn ask_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[&str],
    ) -> (u16, Value) {
        let (status, text) = http(&self.addr, method, path, body, headers);
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Ask until `ok` holds for the answer, within a deadline.
    fn wait_for(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, v) = self.ask(method, path, body);
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "condition never held; last answer: {v}"
            );
            std::thread::yield_now();
        }
    }

    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY-free: `kill` on our own child's pid.
        assert_eq!(unsafe_free_kill(pid), 0);
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status, rest.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server runs with mimalloc's purge delay at 0 (it restarts itself so, keeping its pid), so
/// a reload's freed org goes back to the OS; a delay the user set is kept.
#[cfg(target_os = "linux")]
#[test]
fn the_server_returns_freed_memory_at_once_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let snap = sample(dir.path());
    let snap = snap.to_str().unwrap();
    let delay = |server: &Server| {
        let environ = std::fs::read(format!("/proc/{}/environ", server.child.id())).unwrap();
        environ
            .split(|b| *b == 0)
            .find_map(|v| v.strip_prefix(b"MIMALLOC_PURGE_DELAY="))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let server = Server::start(&["--no-config", snap], dir.path(), &[]);
    assert_eq!(delay(&server).as_deref(), Some("0"));
    // Still the process that was started, answering.
    let (status, _) = server.ask("GET", "/v1/health", None);
    assert_eq!(status, 200);
    drop(server);
    let server = Server::start(
        &["--no-config", snap],
        dir.path(),
        &[("MIMALLOC_PURGE_DELAY", "25")],
    );
    assert_eq!(delay(&server).as_deref(), Some("25"));
}

/// A server on the sample with one connection allowed and a 2 s bound on each.
fn one_place_server(dir: &Path) -> Server {
    let snap = sample(dir);
    let snap = snap.to_str().unwrap();
    Server::start(
        &[
            "--no-config",
            snap,
            "--timeout",
            "2",
            "--max-connections",
            "1",
        ],
        dir,
        &[],
    )
}

/// A client that opens a connection and never finishes its request head is disconnected after
/// `--timeout`, and holds its place among `--max-connections` only until then: with one place,
/// a second client is answered only after the silent one was let go.
#[test]
fn silent_clients_are_disconnected_and_connections_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = one_place_server(dir.path());
    let opened = Instant::now();
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // Half a request head, then nothing.
    silent
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let addr = server.addr.clone();
    let asked = std::thread::spawn(move || {
        let answer = http(&addr, "GET", "/v1/health", None, &[]);
        (answer, Instant::now())
    });
    let mut rest = Vec::new();
    let read = silent.read_to_end(&mut rest);
    assert!(
        read.is_ok(),
        "the server closed the silent connection (no read timeout on our side): {read:?}"
    );
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "the half request was not answered"
    );
    let ((status, _), answered) = asked.join().unwrap();
    assert_eq!(status, 200);
    // A lower bound only (a busy machine makes it later, never earlier): without the bound on
    // connections the second client is answered at once.
    assert!(
        answered.duration_since(opened) >= Duration::from_millis(1_500),
        "with one connection allowed, the second client waited for the first to be let go \
         (2 s): answered after {:?}",
        answered.duration_since(opened)
    );
}

/// A client that asks and asks and never reads its answers is disconnected once an answer has
/// waited `--timeout` to be read: with one connection allowed, the next client is answered.
#[test]
fn clients_that_never_read_their_answers_are_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let server = one_place_server(dir.path());
    let mut greedy = TcpStream::connect(&server.addr).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let ask = format!(
        "GET /v1/openapi.json HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    // Far more answers than the socket buffers hold (the document is tens of KiB), never read.
    let writer = std::thread::spawn(move || {
        for _ in 0..4_000 {
            if greedy.write_all(ask.as_bytes()).is_err() {
                break;
            }
        }
        greedy
    });
    let (status, _) = http(&server.addr, "GET", "/v1/health", None, &[]);
    assert_eq!(status, 200, "answered once the greedy client was let go");
    drop(writer.join().unwrap());
}

/// SIGTERM through the `kill` command (the crate forbids unsafe code, tests included).
fn unsafe_free_kill(pid: i32) -> i32 {
    let s = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    if s.success() {
        0
    } else {
        1
    }
}

/// One HTTP/1.1 request on its own connection; the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[&str],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// The sample org as a snapshot file in `dir`.
fn sample(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("org.json");
    std::fs::write(&p, rolecall::internals::model::SAMPLE_JSON).unwrap();
    p
}

fn cli_json(args: &[&str]) -> Value {
    let out = rolecall()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn without_meta(mut v: Value) -> Value {
    let meta = v.as_object_mut().unwrap().remove("meta");
    assert!(meta.is_some(), "every answer carries meta");
    v
}

#[test]
fn the_committed_openapi_document_is_current() {
    let path = root().join("docs/openapi.json");
    let now = rolecall::internals::serve::openapi_text().unwrap();
    if std::env::var_os("ROLECALL_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "docs/openapi.json is not what the code writes: run `ROLECALL_WRITE_OPENAPI=1 cargo test --test it serve::the_committed` and commit it"
    );
    let doc: Value = serde_json::from_str(&now).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for e in rolecall::internals::serve::api::ENDPOINTS {
        assert!(doc["paths"][e.path].is_object(), "{} is documented", e.path);
    }
}

/// The seed question over HTTP and on the command line: one document (the answer's `meta`
/// aside); who-can, access, rules, check and diff too.
#[test]
fn answers_are_the_cli_documents() {
    let dir = tempfile::tempdir().unwrap();
    let snap = sample(dir.path());
    let snap = snap.to_str().unwrap();
    let server = Server::start(&["--no-config", snap], dir.path(), &[]);
    let (status, served) = server.ask("POST", "/v1/explain", Some(SEED));
    assert_eq!(status, 200, "{served}");
    assert_eq!(served["meta"]["stale"], false);
    let cli = cli_json(&[
        "explain",
        snap,
        "--as",
        "client:wfm-sync",
        "--op",
        "POST /api/v2/workforcemanagement/agents",
        "--target",
        "management-unit:EU Agents",
    ]);
    assert_eq!(without_meta(served), cli);
    assert_eq!(cli["explanation"]["verdict"], "denied");

    let (_, who) = server.ask(
        "POST",
        "/v1/who-can",
        Some(r#"{"permission":"wfm:agent:edit"}"#),
    );
    assert_eq!(
        without_meta(who),
        cli_json(&["who-can", "wfm:agent:edit", snap])
    );
    let (_, access) = server.ask(
        "POST",
        "/v1/access",
        Some(r#"{"subject":"client:wfm-sync"}"#),
    );
    assert_eq!(
        without_meta(access),
        cli_json(&["access", "client:wfm-sync", snap])
    );
    let (_, rules) = server.ask("GET", "/v1/rules", None);
    assert_eq!(
        without_meta(rules),
        cli_json(&["rules", "list", "--no-config"])
    );
    let (status, rule) = server.ask("GET", "/v1/rules/wfm001", None);
    assert_eq!(status, 200);
    assert_eq!(
        without_meta(rule),
        cli_json(&["rules", "show", "WFM001", "--no-config"])
    );

    let (_, check) = server.ask("POST", "/v1/check", Some("{}"));
    let mut cli_check = cli_json(&["check", "--no-config", snap]);
    let mut check = without_meta(check);
    for doc in [&mut check, &mut cli_check] {
        doc["summary"]["elapsedMs"] = json!(0);
        doc["source"]["ageSeconds"] = json!(0);
    }
    assert_eq!(check["findings"], cli_check["findings"]);
    assert_eq!(check["summary"], cli_check["summary"]);
    // Selection and severity as on the command line.
    let (_, high) = server.ask(
        "POST",
        "/v1/check",
        Some(r#"{"select":["WFM"],"failOn":"critical"}"#),
    );
    assert!(high["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["ruleId"].as_str().unwrap().starts_with("WFM")));
    assert_eq!(high["summary"]["failOn"], "critical");

    let other = rolecall::internals::model::SAMPLE_JSON;
    let body = format!(r#"{{"snapshot":{other},"name":"same"}}"#);
    let (status, d) = server.ask("POST", "/v1/diff", Some(&body));
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["format"], "rolecall.diff/1");
    assert_eq!(d["diff"]["subjects"], json!([]));
}

/// Mistakes are problem documents in the command line's words.
#[test]
fn problems_are_rfc9457_in_the_cli_words() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--no-config"], dir.path(), &[]);
    let (status, p) = server.ask(
        "POST",
        "/v1/explain",
        Some(r#"{"subject":"client:nobody","operation":"GET /api/v2/users"}"#),
    );
    assert_eq!(status, 400);
    assert_eq!(
        (
            p["type"].as_str(),
            p["title"].as_str(),
            p["status"].as_u64()
        ),
        (Some("about:blank"), Some("Bad Request"), Some(400))
    );
    let cli = rolecall()
        .args([
            "explain",
            "--as",
            "client:nobody",
            "--op",
            "GET /api/v2/users",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert!(
        stderr.contains(p["detail"].as_str().unwrap()),
        "{stderr}\n{p}"
    );
    assert!(
        stderr.contains(p["help"].as_str().unwrap()),
        "{stderr}\n{p}"
    );
    let (status, p) = server.ask("GET", "/v1/rules/NOPE999", None);
    assert_eq!(
        (status, p["detail"].as_str()),
        (404, Some("no rule with id `NOPE999`"))
    );
    let (status, p) = server.ask(
        "POST",
        "/v1/who-can",
        Some(r#"{"permission":"x","extra":1}"#),
    );
    assert_eq!(status, 400, "{p}");
    let (status, _) = server.ask("GET", "/v1/explain", None);
    assert_eq!(status, 405);
    // Bodies are bounded: a 403 body is at most 1 MiB.
    let big = format!(
        r#"{{"subject":"client:wfm-sync","operation":"x","errorBody":{{"m":"{}"}}}}"#,
        "x".repeat(2 << 20)
    );
    let (status, p) = server.ask("POST", "/v1/explain", Some(&big));
    assert_eq!(status, 413, "{p}");
    let (status, _) = server.ask("GET", "/v1/openapi.json", None);
    assert_eq!(status, 200);
}

/// A rule edit changes the next `/v1/check` answer; a broken edit, or a snapshot that no longer
/// reads, keeps the last good state and says so in health and every answer's `meta`.
#[test]
fn reloads_change_answers_and_failed_reloads_mark_them_stale() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let rule = rules.join("every-client.rhai");
    std::fs::write(&rule, RULE.replace("MESSAGE", "first")).unwrap();
    let snap = sample(dir.path());
    let server = Server::start(
        &[
            "--no-config",
            "--no-builtin",
            "--rules",
            "rules",
            "--snapshot",
            "org.json",
        ],
        dir.path(),
        &[],
    );
    let messages = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["message"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let (_, first) = server.ask("POST", "/v1/check", Some("{}"));
    assert!(!messages(&first).is_empty() && messages(&first).iter().all(|m| m == "first"));
    let generation = first["meta"]["generation"].as_u64().unwrap();

    std::fs::write(&rule, RULE.replace("MESSAGE", "second")).unwrap();
    let second = server.wait_for("POST", "/v1/check", Some("{}"), |v| {
        messages(v).iter().any(|m| m == "second")
    });
    assert!(second["meta"]["generation"].as_u64().unwrap() > generation);
    assert_eq!(second["meta"]["stale"], false);

    // A rule that does not compile: the previous version keeps running, and answers say stale.
    std::fs::write(
        &rule,
        RULE.replace("fn check(org) {", "fn check(org) { let x = ;"),
    )
    .unwrap();
    let broken = server.wait_for("GET", "/v1/health", None, |v| v["stale"] == true);
    assert!(
        broken["staleReasons"][0]
            .as_str()
            .unwrap()
            .contains("does not compile"),
        "{broken}"
    );
    let (_, still) = server.ask("POST", "/v1/check", Some("{}"));
    assert!(messages(&still).iter().all(|m| m == "second"));
    assert_eq!(still["meta"]["stale"], true);
    std::fs::write(&rule, RULE.replace("MESSAGE", "third")).unwrap();
    server.wait_for("POST", "/v1/check", Some("{}"), |v| {
        v["meta"]["stale"] == false && messages(v).iter().any(|m| m == "third")
    });

    // A snapshot that no longer reads: explain still answers, from the last good org, stale.
    let id = server.ask("GET", "/v1/health", None).1["snapshot"]["id"].clone();
    std::fs::write(&snap, "{ not json").unwrap();
    let health = server.wait_for("GET", "/v1/health", None, |v| v["stale"] == true);
    assert!(
        health["staleReasons"][0]
            .as_str()
            .unwrap()
            .contains("snapshot not reloaded"),
        "{health}"
    );
    assert_eq!(health["snapshot"]["id"], id);
    let (status, ex) = server.ask("POST", "/v1/explain", Some(SEED));
    assert_eq!((status, &ex["meta"]["stale"]), (200, &json!(true)));
    // A good snapshot again: fresh, with a new id.
    let changed = rolecall::internals::model::SAMPLE_JSON.replacen("wfm-sync", "wfm-sync-2", 1);
    std::fs::write(&snap, changed).unwrap();
    let fresh = server.wait_for("GET", "/v1/health", None, |v| v["stale"] == false);
    assert_ne!(fresh["snapshot"]["id"], id);
}

/// Off loopback a token is required; with one, requests without it are refused, and the token
/// never appears in an answer or the decision log, even when a question quotes it.
#[test]
fn tokens_guard_the_server_and_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let out = rolecall()
        .current_dir(dir.path())
        .args(["serve", "--no-config", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("is not a loopback address, and no token was given"));

    let token = "s3cret-token-0123456789abcdef";
    let log = dir.path().join("decisions.jsonl");
    let server = Server::start(
        &[
            "--no-config",
            "--token-env",
            "RC_TOKEN",
            "--decision-log",
            log.to_str().unwrap(),
        ],
        dir.path(),
        &[("RC_TOKEN", token)],
    );
    let (status, p) = server.ask("POST", "/v1/explain", Some(SEED));
    assert_eq!(status, 401, "{p}");
    let wrong = "Authorization: Bearer s3cret-token-0123456789abcdeX";
    assert_eq!(server.ask_with("GET", "/v1/health", None, &[wrong]).0, 401);
    let (status, _) = server.ask("GET", "/v1/ready", None);
    assert_eq!(status, 200, "readiness is open");
    let auth = format!("Authorization: Bearer {token}");
    let quoting = format!(r#"{{"subject":"client:{token}","operation":"GET /api/v2/users"}}"#);
    let (status, text) = http(
        &server.addr,
        "POST",
        "/v1/explain",
        Some(&quoting),
        &[&auth],
    );
    assert_eq!(status, 400);
    assert!(!text.contains(token), "{text}");
    let (status, text) = http(&server.addr, "POST", "/v1/explain", Some(SEED), &[&auth]);
    assert_eq!(status, 200);
    assert!(!text.contains(token));
    let (status, _) = server.terminate();
    assert!(status.success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains(token), "{logged}");
    assert_eq!(logged.lines().count(), 5, "{logged}");
}

/// SIGTERM: answers in flight finish, the decision log is complete, the exit is clean.
#[test]
fn sigterm_stops_gracefully_and_flushes_the_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let server = Server::start(
        &["--no-config", "--decision-log", log.to_str().unwrap()],
        dir.path(),
        &[],
    );
    let addr = server.addr.clone();
    let asking = std::thread::spawn(move || {
        (0..20)
            .map(|_| http(&addr, "POST", "/v1/explain", Some(SEED), &[]).0)
            .collect::<Vec<_>>()
    });
    let statuses = asking.join().unwrap();
    assert!(statuses.iter().all(|s| *s == 200));
    // Health says whether the log lost lines (none here).
    let (_, health) = server.ask("GET", "/v1/health", None);
    assert_eq!(health["decisionLog"], json!({"dropped": 0, "failed": 0}));
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("serve stopped"), "{stderr}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["endpoint"] != "health")
        .collect();
    assert_eq!(lines.len(), 20);
    for l in &lines {
        assert_eq!(l["endpoint"], "explain");
        assert_eq!(l["outcome"]["verdict"], "denied");
        assert!(
            l["snapshotId"].is_string() && l["durationMs"].is_number() && l["time"].is_string()
        );
        assert_eq!(l["question"]["subject"], "client:wfm-sync");
    }
}

/// `--live --refresh`: the org is fetched again on schedule (a new state each time); a fetch
/// that fails keeps the last good org and marks answers stale, without a failed answer.
#[test]
fn live_refresh_fetches_again_and_a_failed_fetch_marks_answers_stale() {
    use crate::support::fake_genesys::{FakeConfig, FakeGenesys};
    const SECRET: &str = "Zq9-serve-live-secret-7Xk";
    let fake = FakeGenesys::start(
        rolecall::internals::model::sample().unwrap(),
        FakeConfig {
            client_secret: SECRET.into(),
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap().to_owned();
    let server = Server::start(
        &[
            "--no-config",
            "--live",
            "--refresh",
            "1s",
            "--api-base",
            &fake.base,
            "--quiet",
        ],
        dir.path(),
        &[
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "fake-client"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", SECRET),
            ("GENESYSCLOUD_ACCESS_TOKEN", ""),
            ("HOME", &home),
        ],
    );
    let (_, first) = server.ask("GET", "/v1/health", None);
    assert_eq!(
        (
            first["snapshot"]["source"].as_str(),
            first["stale"].as_bool()
        ),
        (Some("live"), Some(false))
    );
    let g = first["generation"].as_u64().unwrap();
    server.wait_for("GET", "/v1/health", None, |v| {
        v["generation"].as_u64() > Some(g)
    });
    // The API goes away: the next fetch fails, the last good org still answers.
    drop(fake);
    let stale = server.wait_for("GET", "/v1/health", None, |v| v["stale"] == true);
    assert!(
        stale["staleReasons"][0]
            .as_str()
            .unwrap()
            .contains("live fetch failed"),
        "{stale}"
    );
    let (status, text) = http(&server.addr, "POST", "/v1/explain", Some(SEED), &[]);
    assert_eq!(status, 200);
    assert!(text.contains("\"stale\": true") && !text.contains(SECRET));
}
