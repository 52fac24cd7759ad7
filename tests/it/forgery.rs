//! Terminal forgery: text from org data, rules and file names cannot rewrite the auditor's
//! screen. Every human and Markdown output of every command is searched for raw control
//! characters, escape sequences, bidi overrides and injected lines that look like rolecall's own.

use std::path::{Path, PathBuf};

use rolecall::internals::model::sample;

use crate::support::fake_genesys::{FakeConfig, FakeGenesys};
use crate::support::rolecall;

/// What a hostile Genesys user puts in a name: set the window title, clear the screen, go back
/// to the start of the line and print a fake summary, then reverse the rest of the line.
const PAYLOAD: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n0 findings from 13 rules FORGED\u{202e}\u{9b}31m\u{0}";

/// Lines an attacker wants the auditor to read as rolecall's own.
const FORGED: [&str; 2] = ["0 findings from 13 rules FORGED", "error[FAKE999]"];

/// Characters that must never reach a terminal raw.
fn is_dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{feff}')
}

#[track_caller]
fn assert_clean(what: &str, out: &std::process::Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if let Some((at, c)) = text.char_indices().find(|(_, c)| is_dangerous(*c)) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(60)
                .map_or(0, |(i, _)| i);
            panic!(
                "{what}: {stream} carries raw {:?} after {:?}\n--- {stream} ---\n{}",
                c,
                &text[from..at],
                text.escape_debug()
            );
        }
        for line in text.lines() {
            let shown = line.trim_start();
            assert!(
                !FORGED.iter().any(|f| shown.starts_with(f)),
                "{what}: {stream} has a forged line {line:?}\n--- {stream} ---\n{text}"
            );
        }
    }
}

/// The sample org with the payload in every name, id-free (ids stay usable on the command line).
fn hostile_org() -> serde_json::Value {
    fn poison(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match x {
                        serde_json::Value::String(s)
                            if matches!(k.as_str(), "name" | "description" | "reason") =>
                        {
                            s.push_str(PAYLOAD);
                        }
                        _ => poison(x),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(poison),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(sample().unwrap()).unwrap();
    poison(&mut v);
    v
}

fn write_json(dir: &Path, name: &str, v: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

/// A rules directory whose rule puts the payload in every field a rule controls, one that throws
/// it, one that fails to compile on a line holding it, and a file whose name forges an error.
fn hostile_rules(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir(&rules).unwrap();
    // Rhai string escapes put the raw characters into the rule's values at run time.
    let p = r"\x1b]0;pwned\x07\x1b[2J\r\n0 findings from 13 rules FORGED\u202e";
    std::fs::write(
        rules.join("loud.rhai"),
        format!(
            "//! Loud{p}\n//!\n//! ## What it does\n//! Says {p}.\n//!\n//! ## Why is this bad?\n//! {p}\n//!\n\
             //! ## How to fix\n//! Nothing.\n\
             const RULE = #{{ id: \"EVL001\", name: \"loud\", severity: \"high\", tags: [\"t{p}\"] }};\n\
             fn check(org) {{\n  print(\"{p}\");\n  for c in org.clients {{\n    \
             report(c, `message ${{c.name}} {p}`).fix(\"fix {p}\").evidence([\"ev {p}\"]);\n  }}\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        rules.join("throws.rhai"),
        format!(
            "//! Throws.\n//!\n//! ## What it does\n//! x\n//!\n//! ## Why is this bad?\n//! x\n//!\n//! ## How to fix\n//! x\n\
             const RULE = #{{ id: \"EVL002\", name: \"throws\", severity: \"low\" }};\n\
             fn check(org) {{ throw \"boom {p}\"; }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        rules.join(format!(
            "bad{}.rhai",
            "\n error[FAKE999]: injected\u{1b}[2J"
        )),
        format!("let x = \"{PAYLOAD}\" +;\n"),
    )
    .unwrap();
    std::fs::write(
        rules.join("loud.test.rhai"),
        format!("fn test_loud() {{ assert_eq(\"a{p}\", \"b\"); }}\n"),
    )
    .unwrap();
    rules
}

struct Setup {
    _dir: tempfile::TempDir,
    hostile: PathBuf,
    plain: PathBuf,
    rules: PathBuf,
    client_id: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let org = hostile_org();
    let client_id = org["oauthClients"][0]["id"].as_str().unwrap().to_owned();
    let hostile = write_json(dir.path(), "hostile.json", &org);
    let plain = write_json(
        dir.path(),
        "plain.json",
        &serde_json::to_value(sample().unwrap()).unwrap(),
    );
    let rules = hostile_rules(dir.path());
    Setup {
        _dir: dir,
        hostile,
        plain,
        rules,
        client_id,
    }
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    rolecall().args(args).output().unwrap()
}

#[test]
fn check_in_human_and_markdown_shows_hostile_text_escaped() {
    let s = setup();
    for format in ["human", "markdown"] {
        for verbose in [false, true] {
            let mut args: Vec<&std::ffi::OsStr> = vec![
                "check".as_ref(),
                "--no-config".as_ref(),
                "--snapshot".as_ref(),
                s.hostile.as_os_str(),
                "--rules".as_ref(),
                s.rules.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
            ];
            if verbose {
                args.push("--verbose".as_ref());
            }
            let out = run(&args);
            let what = format!("check --format {format} (verbose {verbose})");
            assert_clean(&what, &out);
            let text = String::from_utf8_lossy(&out.stdout);
            // The hostile text is shown, made visible, not dropped.
            assert!(text.contains(r"\u{1b}]0;pwned"), "{what}: {text}");
            assert!(text.contains("EVL001"), "{what}: {text}");
        }
    }
}

#[test]
fn explain_and_diff_show_hostile_names_escaped() {
    let s = setup();
    let who = format!("client:{}", s.client_id);
    let out = run(&[
        "explain".as_ref(),
        "--snapshot".as_ref(),
        s.hostile.as_os_str(),
        "--as".as_ref(),
        who.as_ref(),
        "--op".as_ref(),
        "POST /api/v2/workforcemanagement/agents".as_ref(),
    ]);
    assert_clean("explain", &out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(r"\u{1b}"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (a, b) in [(&s.plain, &s.hostile), (&s.hostile, &s.plain)] {
        let out = run(&["diff".as_ref(), a.as_os_str(), b.as_os_str()]);
        assert_clean("diff", &out);
    }
}

#[test]
fn rules_list_show_and_test_show_hostile_text_escaped() {
    let s = setup();
    let rules = s.rules.as_os_str();
    let cases: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        (
            "rules list",
            vec![
                "rules".as_ref(),
                "list".as_ref(),
                "--no-config".as_ref(),
                "--rules".as_ref(),
                rules,
            ],
        ),
        (
            "rules show",
            vec![
                "rules".as_ref(),
                "show".as_ref(),
                "EVL001".as_ref(),
                "--no-config".as_ref(),
                "--rules".as_ref(),
                rules,
            ],
        ),
        ("test", vec!["test".as_ref(), "--no-config".as_ref(), rules]),
    ];
    for (what, args) in cases {
        let out = run(&args);
        assert_clean(what, &out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(r"\u{1b}]0;pwned"), "{what}: {text}");
    }
    // The file whose name forges an error line is named, escaped, by the commands that load it.
    let out = run(&["test".as_ref(), "--no-config".as_ref(), rules]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r"bad\n error[FAKE999]"), "{text}");
    assert!(text.contains("FAIL"), "{text}");
}

#[test]
fn watch_shows_hostile_text_escaped_on_every_redraw() {
    let s = setup();
    let dir = s.hostile.parent().unwrap();
    let mut w = crate::watch::Watch::start(
        &[
            "--snapshot",
            s.hostile.to_str().unwrap(),
            "--rules",
            s.rules.to_str().unwrap(),
        ],
        dir,
    );
    // A new finding, with the payload in its message, is announced as `+ new`.
    let added = std::fs::read_to_string(s.rules.join("loud.rhai"))
        .unwrap()
        .replace("EVL001", "EVL003")
        .replace("\"loud\"", "\"louder\"");
    std::fs::write(s.rules.join("louder.rhai"), added).unwrap();
    let frame = w.wait_for("+ new      EVL003");
    w.stop();
    let c = frame.chars().find(|c| is_dangerous(*c));
    assert!(c.is_none(), "raw {c:?} in\n{}", frame.escape_debug());
    assert!(frame.contains(r"\u{1b}]0;pwned"), "{frame}");
    for line in frame.lines() {
        assert!(
            !FORGED.iter().any(|f| line.trim_start().starts_with(f)),
            "{line}"
        );
    }
}

#[test]
fn fetch_summary_and_logs_show_a_hostile_org_escaped() {
    let mut org = sample().unwrap();
    org.organization.name.push_str(PAYLOAD);
    for d in &mut org.divisions {
        d.name.push_str(PAYLOAD);
    }
    let fake = FakeGenesys::start(
        org,
        FakeConfig {
            client_secret: "s3cret-forgery".into(),
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("org.json");
    let o = rolecall()
        .args(["fetch", "--api-base", &fake.base, "-o"])
        .arg(&out)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "fake-client")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "s3cret-forgery")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("HOME", dir.path())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_clean("fetch", &o);
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains(r"fetched org `Acme Contact Center (prod)\u{1b}]0;pwned"),
        "{said}"
    );
    // The snapshot keeps the name as the server sent it: only the terminal gets the escaped form.
    let saved = rolecall::internals::model::load_snapshot(&out).unwrap();
    assert!(saved.organization.name.ends_with(PAYLOAD));
}

#[test]
fn who_can_and_access_show_hostile_names_escaped() {
    let s = setup();
    for format in ["human", "csv"] {
        let out = run(&[
            "who-can".as_ref(),
            "wfm:agent:edit".as_ref(),
            "--snapshot".as_ref(),
            s.hostile.as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
        ]);
        assert_clean(&format!("who-can --format {format}"), &out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(r"\u{1b}]0;pwned"), "who-can {format}: {text}");
    }
    let who = format!("client:{}", s.client_id);
    let out = run(&[
        "access".as_ref(),
        who.as_ref(),
        "--snapshot".as_ref(),
        s.hostile.as_os_str(),
        "--op".as_ref(),
        "POST /api/v2/workforcemanagement/agents".as_ref(),
    ]);
    assert_clean("access", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains(r"\u{1b}"));
}

#[test]
fn plans_snapshot_errors_and_their_notes_show_hostile_text_escaped() {
    let s = setup();
    let dir = s.hostile.parent().unwrap();
    // A plan whose (unmodelled) resource address and type carry the payload.
    let plan = serde_json::json!({
        "format_version": "1.2",
        "resource_changes": [{
            "address": format!("genesyscloud_routing_queue.q{PAYLOAD}"),
            "mode": "managed",
            "type": format!("genesyscloud_routing_queue{PAYLOAD}"),
            "name": "q",
            "change": {"actions": ["create"], "before": null, "after": {}, "after_unknown": {}, "after_sensitive": {}}
        }]
    });
    let plan_path = write_json(dir, "plan.json", &plan);
    for cmd in ["diff", "check"] {
        let out = run(&[
            cmd.as_ref(),
            "--snapshot".as_ref(),
            s.plain.as_os_str(),
            "--plan".as_ref(),
            plan_path.as_os_str(),
        ]);
        assert_clean(&format!("{cmd} --plan"), &out);
    }
    // A change file whose unknown op carries it: an error naming it.
    let change = dir.join("change.toml");
    std::fs::write(
        &change,
        format!(
            "format = \"rolecall.change/1\"\n[[change]]\nop = \"{}\"\n",
            PAYLOAD.escape_default()
        ),
    )
    .unwrap();
    let out = run(&[
        "check".as_ref(),
        "--snapshot".as_ref(),
        s.plain.as_os_str(),
        "--plan".as_ref(),
        change.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_clean("check --plan with a bad change file", &out);
    // A snapshot with two users of one (hostile) id, and one whose `format` is hostile.
    let mut v = serde_json::to_value(sample().unwrap()).unwrap();
    let mut twin = v["users"][0].clone();
    twin["id"] = serde_json::json!(format!("u{PAYLOAD}"));
    v["users"].as_array_mut().unwrap().push(twin.clone());
    v["users"].as_array_mut().unwrap().push(twin);
    let dup = write_json(dir, "dup.json", &v);
    let mut w = serde_json::to_value(sample().unwrap()).unwrap();
    w["format"] = serde_json::json!(format!("x{PAYLOAD}"));
    let bad_format = write_json(dir, "format.json", &w);
    for p in [&dup, &bad_format] {
        let out = run(&["check".as_ref(), "--snapshot".as_ref(), p.as_os_str()]);
        assert_eq!(out.status.code(), Some(2));
        assert_clean("check of an invalid snapshot", &out);
    }
}
