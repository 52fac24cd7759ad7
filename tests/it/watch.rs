//! `rolecall watch` on a real file system: edits reload, broken edits keep the last good rule,
//! rapid saves settle, deletions drop findings, a new snapshot re-runs everything.
//!
//! The tests wait for the output a change must produce (with a generous deadline), never for a
//! fixed time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{fixture, rolecall};

const RULE: &str = r#"//! Reports every client.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{ id: "WAT001", name: "every-client", severity: "low" };
fn check(org) { for c in org.clients { report(c, "MESSAGE"); } }
"#;

fn rule(message: &str) -> String {
    RULE.replace("MESSAGE", message)
}

pub(crate) struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Watch {
    pub(crate) fn start(args: &[&str], dir: &Path) -> Self {
        let mut child = rolecall()
            .current_dir(dir)
            .args(["watch", "--no-config", "--debounce-ms", "50"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut w = Self {
            child,
            lines: rx,
            seen: String::new(),
        };
        w.wait_for("waiting for changes");
        w
    }

    /// Read output until a redraw that ends with the waiting line contains `text`; returns
    /// that redraw.
    pub(crate) fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut frame = String::new();
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    frame.push_str(&line);
                    frame.push('\n');
                    if line.starts_with("[watch] waiting") {
                        self.seen.push_str(&frame);
                        if frame.contains(text) {
                            return frame;
                        }
                        frame.clear();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "no redraw contained `{text}`; output so far:\n{}{frame}",
            self.seen
        );
    }

    pub(crate) fn stop(mut self) -> Option<i32> {
        // SIGINT, as Ctrl-C sends: the watcher exits cleanly.
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            let _ = self.lines.recv_timeout(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        None
    }
}

/// A test that fails before `stop` must not leave its watcher running after the suite.
impl Drop for Watch {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("every-client.rhai"), rule("first")).unwrap();
    (dir, rules)
}

/// Save the way many editors do: write a temporary file, then rename it over the original.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("rhai.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn edits_reload_broken_edits_keep_the_last_good_rule_and_fixes_recover() {
    let (dir, rules) = setup();
    let file = rules.join("every-client.rhai");
    let mut w = Watch::start(&["--no-builtin", "--rules", "rules"], dir.path());
    save(&file, &rule("second"));
    let frame = w.wait_for("client `wfm-sync`: second");
    assert!(
        frame.contains("+ new      WAT001 client `wfm-sync`: second"),
        "{frame}"
    );
    assert!(
        frame.contains("- resolved WAT001 client `wfm-sync`: first"),
        "{frame}"
    );
    assert!(frame.contains("re-ran 1 rule(s)"), "{frame}");

    save(
        &file,
        &rule("third").replace("fn check(org) {", "fn check(org) { let x = ;"),
    );
    let frame = w.wait_for("error: compile");
    assert!(
        frame.contains("client `wfm-sync`: second"),
        "the previous version keeps running:\n{frame}"
    );
    assert!(
        frame.contains("the previous version of this rule keeps running"),
        "{frame}"
    );
    assert!(frame.contains("every-client.rhai:9:"), "{frame}");

    save(&file, &rule("fourth"));
    let frame = w.wait_for("client `wfm-sync`: fourth");
    assert!(!frame.contains("error: compile"), "{frame}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn many_rapid_saves_end_in_the_last_state() {
    let (dir, rules) = setup();
    let file = rules.join("every-client.rhai");
    let mut w = Watch::start(&["--no-builtin", "--rules", "rules"], dir.path());
    for i in 0..200 {
        save(&file, &rule(&format!("save {i}")));
    }
    let frame = w.wait_for("client `wfm-sync`: save 199");
    assert!(
        frame.contains("WAT001 every-client [low] 6 findings"),
        "{frame}"
    );
    assert!(!frame.contains("save 198\n"), "{frame}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn deleting_a_rule_drops_its_findings_and_deleting_the_directory_is_survived() {
    let (dir, rules) = setup();
    std::fs::write(
        rules.join("other.rhai"),
        rule("other")
            .replace("WAT001", "WAT002")
            .replace("every-client", "other"),
    )
    .unwrap();
    let mut w = Watch::start(&["--no-builtin", "--rules", "rules"], dir.path());
    std::fs::remove_file(rules.join("every-client.rhai")).unwrap();
    let frame = w.wait_for("- resolved WAT001");
    assert!(!frame.contains("WAT001 every-client"), "{frame}");
    assert!(frame.contains("WAT002 other"), "{frame}");
    std::fs::remove_dir_all(&rules).unwrap();
    let frame = w.wait_for("was removed");
    assert!(frame.contains("0 findings from 0 rules"), "{frame}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_changed_snapshot_reruns_every_rule() {
    let (dir, _) = setup();
    let snap = dir.path().join("org.json");
    std::fs::copy(fixture("pair/prod.json"), &snap).unwrap();
    let mut w = Watch::start(&["--snapshot", "org.json", "--rules", "rules"], dir.path());
    let mut org: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    org["oauthClients"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["name"] != "legacy-reports");
    let tmp = dir.path().join("org.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&org).unwrap()).unwrap();
    std::fs::rename(&tmp, &snap).unwrap();
    let frame = w.wait_for("- resolved OAU001");
    assert!(frame.contains("re-ran 18 rule(s)"), "{frame}");
    assert!(
        frame.contains("- resolved WAT001 client `legacy-reports`"),
        "{frame}"
    );
    // A broken snapshot keeps the last good one.
    std::fs::write(&snap, "{ not json").unwrap();
    let frame = w.wait_for("snapshot not reloaded");
    assert!(frame.contains("WFM001"), "{frame}");
    assert_eq!(w.stop(), Some(0));
}

#[test]
fn a_rules_directory_deleted_and_created_again_is_watched_again() {
    let (dir, rules) = setup();
    let mut w = Watch::start(&["--no-builtin", "--rules", "rules"], dir.path());
    std::fs::remove_dir_all(&rules).unwrap();
    w.wait_for("was removed");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("every-client.rhai"), rule("reborn")).unwrap();
    let frame = w.wait_for("reborn");
    assert!(frame.contains("WAT001 every-client"), "{frame}");
    // And it is watched: a later edit is seen.
    save(&rules.join("every-client.rhai"), &rule("edited after"));
    w.wait_for("edited after");
    assert_eq!(w.stop(), Some(0));
}
