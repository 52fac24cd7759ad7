//! The file edges of issue 20 ("Secrets stay home"): every input a pull request or a script can
//! point rolecall at (links to `/proc/self/environ` or a `.env` file, FIFOs, `/dev/zero`,
//! directories) and every output path it can be told to replace (devices, FIFOs, planted links),
//! each run with a canary secret in the environment that must never appear in stdout, stderr or
//! any file written.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::rolecall;

const CANARY: &str = "canary-S3cr3t-9f2e61d0";
const CLIENT_ID: &str = "edge-client-id";

/// Every encoding of the canary that rolecall itself could produce.
fn canary_forms() -> Vec<String> {
    vec![
        CANARY.to_owned(),
        rolecall::internals::redact::base64(format!("{CLIENT_ID}:{CANARY}").as_bytes()),
    ]
}

/// `rolecall` with the canary credentials in its environment, run in `dir`.
fn guarded(dir: &Path) -> Command {
    let mut c = rolecall();
    c.current_dir(dir)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", CANARY)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Run with a deadline: a hang on a FIFO must fail the test, not stall the suite.
fn run(mut cmd: Command) -> Output {
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rolecall did not finish within 60 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// No canary form in the output, nor in any file under `dirs`.
fn assert_sealed(out: &Output, dirs: &[&Path]) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for form in canary_forms() {
        assert!(!all.contains(&form), "`{form}` leaked:\n{all}");
    }
    for d in dirs {
        for f in files_under(d) {
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for form in canary_forms() {
                assert!(!text.contains(&form), "`{form}` written to {}", f.display());
            }
        }
    }
    all
}

fn files_under(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(d) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            out.extend(files_under(&e.path()));
        } else if m.is_file() {
            out.push(e.path());
        }
    }
    out
}

fn mkfifo(p: &Path) -> bool {
    Command::new("mkfifo")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

/// A `.env` file holding the canary, as a CI job or a developer's checkout has one.
fn dot_env(dir: &Path) -> PathBuf {
    let p = dir.join(".env");
    std::fs::write(
        &p,
        format!(
            "GENESYSCLOUD_OAUTHCLIENT_ID={CLIENT_ID}\nGENESYSCLOUD_OAUTHCLIENT_SECRET={CANARY}\n"
        ),
    )
    .unwrap();
    p
}

/// A gc config holding the canary (valid TOML, so a parser reads it far).
fn gc_config(dir: &Path) -> PathBuf {
    let gc = dir.join(".gc");
    std::fs::create_dir_all(&gc).unwrap();
    let p = gc.join("config.toml");
    std::fs::write(
        &p,
        format!(
            "[default]\nclient_credentials = '{CLIENT_ID}'\nclient_secret = '{CANARY}'\nenvironment = 'mypurecloud.com'\n"
        ),
    )
    .unwrap();
    p
}

// Class 1: a `rolecall.toml` found upward (or given) that is a link to the environment, a
// `.env` file or a gc config, through every command that reads the config.
#[test]
fn a_config_linked_to_secrets_never_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        PathBuf::from("/proc/self/environ"),
        dot_env(dir.path()),
        gc_config(dir.path()),
    ];
    let mut cases = 0;
    for source in &sources {
        let work = tempfile::tempdir().unwrap();
        symlink(source, work.path().join("rolecall.toml")).unwrap();
        for args in [
            &["rules", "list"][..],
            &["check", "--sample"],
            &["test"],
            &["check", "--sample", "--config", "rolecall.toml"],
        ] {
            let mut c = guarded(work.path());
            c.args(args);
            let out = run(c);
            let all = assert_sealed(&out, &[work.path()]);
            assert_eq!(out.status.code(), Some(2), "{args:?} on {source:?}:\n{all}");
            assert!(
                all.contains("rolecall.toml"),
                "the error names the file:\n{all}"
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 12);
}

// Class 1: `--snapshot` (and the commands beside `check` that take one) pointing at a link to
// the environment or to a `.env` file.
#[test]
fn a_snapshot_linked_to_secrets_never_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let env_link = dir.path().join("env.json");
    symlink("/proc/self/environ", &env_link).unwrap();
    let dotenv_link = dir.path().join("dotenv.json");
    symlink(dot_env(secrets.path()), &dotenv_link).unwrap();
    for link in [&env_link, &dotenv_link] {
        let l = link.to_str().unwrap();
        for args in [
            vec!["check", "--snapshot", l],
            vec!["diff", l, l],
            vec!["who-can", "directory:user:edit", "--snapshot", l],
            vec!["access", "client:wfm-sync", "--snapshot", l],
            vec![
                "explain",
                "--as",
                "client:wfm-sync",
                "--op",
                "GET /api/v2/users",
                "--snapshot",
                l,
            ],
        ] {
            let mut c = guarded(dir.path());
            c.args(&args);
            let out = run(c);
            let all = assert_sealed(&out, &[dir.path()]);
            assert_eq!(out.status.code(), Some(2), "{args:?}:\n{all}");
        }
    }
}

// Class 6: inputs that are devices, FIFOs or directories are refused at once, naming what they
// are, for every flag that takes a file.
#[test]
fn special_files_as_inputs_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(mkfifo(&fifo), "mkfifo is needed for this test");
    let mut held = 0;
    for (special, what) in [
        (Path::new("/dev/zero"), "a character device"),
        (fifo.as_path(), "a FIFO"),
        (dir.path(), "a directory"),
    ] {
        let s = special.to_str().unwrap();
        for args in [
            vec!["check", "--snapshot", s],
            vec!["check", "--sample", "--config", s],
            vec!["check", "--sample", "--baseline-findings", s],
            vec![
                "explain",
                "--as",
                "client:wfm-sync",
                "--op",
                "GET /api/v2/users",
                "--catalog",
                s,
            ],
            vec![
                "explain",
                "--as",
                "client:wfm-sync",
                "--op",
                "GET /api/v2/users",
                "--error-body",
                s,
            ],
            vec!["rules", "list", "--config", s],
        ] {
            let started = Instant::now();
            let mut c = guarded(dir.path());
            c.args(&args);
            let out = run(c);
            let all = assert_sealed(&out, &[dir.path()]);
            assert_eq!(out.status.code(), Some(2), "{args:?}:\n{all}");
            assert!(
                all.contains(what),
                "{args:?} does not say it is {what}:\n{all}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{args:?} took {:?}",
                started.elapsed()
            );
            held += 1;
        }
    }
    assert_eq!(held, 18);
}

// Class 5: outputs that are devices, FIFOs, links to devices or directories are never
// replaced; a planted link in an output directory is never followed.
#[test]
fn outputs_never_replace_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    assert!(mkfifo(&fifo));
    let to_null = dir.path().join("to-null.json");
    symlink("/dev/null", &to_null).unwrap();
    let mut held = 0;
    for target in [
        PathBuf::from("/dev/null"),
        PathBuf::from("/dev/full"),
        PathBuf::from("/dev/stdout"),
        fifo.clone(),
        to_null.clone(),
        dir.path().to_owned(),
    ] {
        let t = target.to_str().unwrap();
        for args in [
            vec!["check", "--sample", "--format", "json", "-o", t],
            vec!["generate", "--users", "10", "-o", t],
        ] {
            let before = std::fs::symlink_metadata(&target).unwrap().file_type();
            let mut c = guarded(dir.path());
            c.args(&args);
            let out = run(c);
            let all = assert_sealed(&out, &[dir.path()]);
            assert_eq!(out.status.code(), Some(2), "{args:?}:\n{all}");
            assert!(all.contains("replaces only"), "{all}");
            let after = std::fs::symlink_metadata(&target).unwrap().file_type();
            assert_eq!(before, after, "{t} was replaced");
            held += 1;
        }
    }
    assert_eq!(held, 12);
    // The temp files of refused writes are gone too.
    let leftovers: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // `rules definitions -o DIR` with a link planted in DIR: the file outside is untouched.
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    let mut c = guarded(dir.path());
    c.args(["rules", "definitions", "-o"]).arg(&defs);
    let out = run(c);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planted = files_under(&defs)
        .into_iter()
        .next()
        .expect("definitions were written");
    std::fs::remove_file(&planted).unwrap();
    symlink(&victim, &planted).unwrap();
    let mut c = guarded(dir.path());
    c.args(["rules", "definitions", "-o"]).arg(&defs);
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("symbolic link inside"), "{all}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

// Class 5: a link to a regular file that the user names is replaced (the link, not the file it
// points at), and a regular file is replaced atomically.
#[test]
fn a_named_link_to_a_regular_file_is_replaced_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    symlink(&real, &link).unwrap();
    let mut c = guarded(dir.path());
    c.args([
        "check",
        "--sample",
        "--format",
        "json",
        "--fail-on",
        "none",
        "-o",
    ])
    .arg(&link);
    let out = run(c);
    assert_sealed(&out, &[dir.path()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "old");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert!(std::fs::read_to_string(&link)
        .unwrap()
        .contains("\"findings\""));
}

// Class 8: a rule that declares `needs: ["users"]` but reads `org.policies` where policies are a
// gap is unknown, not a confident finding.
#[test]
fn a_rule_reading_a_gap_it_did_not_declare_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut snap: serde_json::Value =
        serde_json::from_str(rolecall::internals::model::SAMPLE_JSON).unwrap();
    snap["accessPolicies"] = serde_json::json!([]);
    snap["coverage"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "endpoint": "/api/v2/authorization/policies",
            "dataset": "accessPolicies",
            "status": "forbidden",
            "httpStatus": 403,
            "permission": "authorization:policy:view"
        }));
    let snap_path = dir.path().join("gap.json");
    std::fs::write(&snap_path, snap.to_string()).unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("nodeny.rhai"),
        "//! No DENY policy covers users.\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! x\n//! ## How to fix\n//! x\n\
         const RULE = #{ id: \"ORG901\", name: \"no-deny\", severity: \"high\", needs: [\"users\"] };\n\
         fn check(org) {\n    if org.policies.len() == 0 { report(org, \"no DENY policy protects users\"); }\n}\n",
    )
    .unwrap();
    let mut c = guarded(dir.path());
    c.args([
        "check",
        "--no-config",
        "--no-builtin",
        "--format",
        "json",
        "--snapshot",
    ])
    .arg(&snap_path)
    .arg("--rules")
    .arg(&rules);
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{all}");
    assert_eq!(findings[0]["status"], "unknown", "{all}");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("accessPolicies"), "{message}");
    assert!(message.contains("RULE.needs"), "{message}");
}

// Class 8: a test file that redefines an assertion is refused, not passed.
#[test]
fn a_test_file_cannot_redefine_the_assertions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cheat.test.rhai"),
        "fn assert_eq(a, b) {}\nfn test_always_green() { assert_eq(1, 2); }\n",
    )
    .unwrap();
    let mut c = guarded(dir.path());
    c.args(["test", "--no-config"]).arg(dir.path());
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("`fn assert_eq` redefines a function of the test API"),
        "{all}"
    );
    assert!(!all.contains("1 passed"), "{all}");
}

// Class 8: `--rules` at the root of the file system (through a link) fails fast with a clear
// error instead of walking everything.
#[test]
fn a_rules_directory_linked_to_the_root_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rules");
    symlink("/", &root).unwrap();
    let started = Instant::now();
    let mut c = guarded(dir.path());
    c.args([
        "check",
        "--sample",
        "--no-config",
        "--fail-on",
        "none",
        "--rules",
    ])
    .arg(&root);
    let out = run(c);
    let all = assert_sealed(&out, &[]);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("more than a rule directory does") || all.contains("nested deeper than"),
        "{all}"
    );
    // A bound, not a timing goal: printed for the closing note.
    eprintln!("--rules / failed after {:?}", started.elapsed());
}

// Class 8: absurd sizes are usage errors, never an abort with a backtrace; a huge error body
// field is quoted bounded.
#[test]
fn absurd_sizes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = guarded(dir.path());
    c.args(["generate", "--users", "1000000000", "-o", "x.json"]);
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        !all.contains("backtrace") && !all.contains("memory allocation"),
        "{all}"
    );

    let body = dir.path().join("body.json");
    let huge = "x".repeat(300_000);
    std::fs::write(
        &body,
        serde_json::json!({
            "code": format!("missing.division.permission{huge}"),
            "messageParams": {"permissions": huge},
            "contextId": huge,
        })
        .to_string(),
    )
    .unwrap();
    let mut c = guarded(dir.path());
    c.args([
        "explain",
        "--as",
        "client:wfm-sync",
        "--op",
        "POST /api/v2/workforcemanagement/agents",
        "--error-body",
    ])
    .arg(&body);
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert!(all.len() < 64 * 1024, "{} bytes of output", all.len());
    assert!(all.contains("more bytes cut"), "{all}");
}

// ---- the review of issue 20: a fresh corpus, each failure a test ----

/// Secrets rolecall was never told about (in files a config or a snapshot links to) are not
/// quoted: only a file that parses as the expected format is.
#[test]
fn files_of_other_formats_are_never_quoted() {
    const LEAK: &str = "Unreg1stered-Leak-4242";
    let secrets = tempfile::tempdir().unwrap();
    let files = [
        (
            "aws",
            format!("[default]\naws_secret_access_key = {LEAK}\n"),
        ),
        ("tfvars", format!("db_password = \"{LEAK}\"\n")),
        (
            "git-credentials",
            format!("https://x-access-token:{LEAK}@github.com\n"),
        ),
        (
            "npmrc",
            format!("//registry.npmjs.org/:_authToken={LEAK}\n"),
        ),
        (
            "netrc",
            format!("machine api.example login me password {LEAK}\n"),
        ),
        ("ini", format!("password={LEAK}\n")),
    ];
    let mut held = 0;
    for (name, body) in &files {
        let file = secrets.path().join(name);
        std::fs::write(&file, body).unwrap();
        let work = tempfile::tempdir().unwrap();
        symlink(&file, work.path().join("rolecall.toml")).unwrap();
        let f = file.to_str().unwrap();
        for args in [
            vec!["check", "--sample"],
            vec!["check", f],
            vec!["who-can", "wfm:agent:edit", f],
            vec!["diff", f, f],
        ] {
            let mut c = guarded(work.path());
            c.args(&args);
            let out = run(c);
            let all = assert_sealed(&out, &[work.path()]);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {all}");
            assert!(
                !all.contains(LEAK),
                "{name} {args:?} quoted the file:\n{all}"
            );
            held += 1;
        }
    }
    assert_eq!(held, 24);
}

/// A secret long enough to be wrapped by the diagnostic layout is still redacted whole.
#[test]
fn a_wrapped_diagnostic_never_splits_a_secret_past_the_redactor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        format!("rules = [\"{}/{CANARY}\"]\n", "x".repeat(30)),
    )
    .unwrap();
    for columns in ["40", "60", "80", "100"] {
        let mut c = guarded(dir.path());
        c.env("COLUMNS", columns)
            .args(["check", "--sample", "--config", "c.toml"]);
        let out = run(c);
        // The config itself holds the canary (on purpose): only the output is checked.
        let all = assert_sealed(&out, &[]);
        for part in ["canary-S3cr3t", "9f2e61d0"] {
            assert!(
                !all.contains(part),
                "COLUMNS={columns}: `{part}` shown:\n{all}"
            );
        }
    }
}

/// A plan with a key given twice is refused (exit 2) by every gate: JSON readers disagree on
/// which value wins.
#[test]
fn a_plan_with_a_key_given_twice_fails_every_gate() {
    let dir = tempfile::tempdir().unwrap();
    let snap = crate::support::fixture("plans/org.json");
    let plan = dir.path().join("dup.json");
    std::fs::write(
        &plan,
        r#"{"format_version": "1.2", "resource_changes": [], "resource_changes": []}"#,
    )
    .unwrap();
    let (s, p) = (snap.to_str().unwrap(), plan.to_str().unwrap());
    for args in [
        vec!["diff", "--snapshot", s, "--plan", p, "--no-new-access"],
        vec![
            "diff",
            "--snapshot",
            s,
            "--plan",
            p,
            "--deny-new-access",
            "directory:user:add",
        ],
        vec!["check", s, "--plan", p, "--new-only"],
        vec![
            "plan-access",
            "--as",
            "client:tf-deployer",
            "--plan",
            p,
            "--snapshot",
            s,
        ],
    ] {
        let mut c = guarded(dir.path());
        c.args(&args);
        let out = run(c);
        let all = assert_sealed(&out, &[dir.path()]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains("given twice"), "{args:?}: {all}");
    }
}

/// `--error-body -` on a pipe nobody writes to stops at its bound.
#[test]
fn an_error_body_on_an_idle_pipe_stops_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = guarded(dir.path());
    c.env("ROLECALL_STDIN_SECONDS", "1")
        .stdin(Stdio::piped())
        .args([
            "explain",
            "--as",
            "client:wfm-sync",
            "--op",
            "POST /api/v2/workforcemanagement/agents",
            "--error-body",
            "-",
        ]);
    // `run` holds the child's stdin open and silent while it waits for the command to give up.
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("no error body arrived"), "{all}");
}

/// A test that catches its own failed assertion still fails.
#[test]
fn a_caught_assertion_still_fails_the_test() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("catch.test.rhai"),
        "fn test_green() { try { assert_eq(1, 2); } catch (e) {} }\n",
    )
    .unwrap();
    let mut c = guarded(dir.path());
    c.args(["test", "--no-config"]).arg(dir.path());
    let out = run(c);
    let all = assert_sealed(&out, &[dir.path()]);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("0 passed, 1 failed"), "{all}");
}
