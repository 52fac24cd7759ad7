//! The hostile-rules corpus: each script is stopped with a clear error, in about its budget,
//! while the built-in rules' findings are still reported.

use std::sync::Arc;
use std::time::Duration;

use rolecall::internals::engine::{CheckConfig, Limits, RuleEngine, RuleErrorKind};
use rolecall::internals::model::{sample, Org};

use crate::support::{fixture, rolecall};

const BUDGET: Duration = Duration::from_millis(500);

#[test]
fn every_hostile_rule_is_contained() {
    let mut engine = RuleEngine::new(Limits {
        budget: BUDGET,
        // Small enough that the map limit trips well within the budget, even in debug builds.
        max_map_size: 500,
        // Small enough that the report flood reaches it well within the budget too.
        max_output_bytes: 4 << 20,
        ..Limits::default()
    });
    engine.add_builtin();
    assert_eq!(engine.add_dir(&fixture("hostile")).unwrap(), 15);
    let org = Arc::new(Org::new(sample().unwrap()));
    let report = engine.check(&org, &CheckConfig::default());

    let expect = [
        (
            "HOS001",
            RuleErrorKind::Timeout,
            "stopped after its time budget of 500ms",
        ),
        (
            "HOS002",
            RuleErrorKind::Limit,
            "function calls nested deeper than 64 levels",
        ),
        (
            "HOS003",
            RuleErrorKind::Limit,
            "length of string exceeded its size limit",
        ),
        (
            "HOS004",
            RuleErrorKind::Limit,
            "size of array/blob exceeded its size limit",
        ),
        (
            "HOS005",
            RuleErrorKind::Import,
            "import of `/etc/passwd` is not allowed",
        ),
        (
            "HOS006",
            RuleErrorKind::Import,
            "import of `../escape` is not allowed",
        ),
        ("HOS008", RuleErrorKind::Runtime, "property"),
        // Rhai does not size-check `map[key] = value`; the budget (or the memory limit, tested
        // below in its own process) stops it.
        (
            "HOS009",
            RuleErrorKind::Timeout,
            "stopped after its time budget",
        ),
        // Native calls and callbacks keep the budget: glob matching, comparers, `join`.
        (
            "HOS010",
            RuleErrorKind::Timeout,
            "stopped after its time budget",
        ),
        (
            "HOS011",
            RuleErrorKind::Timeout,
            "stopped after its time budget",
        ),
        ("HOS012", RuleErrorKind::Runtime, "the comparer failed"),
        (
            "HOS013",
            RuleErrorKind::Runtime,
            "`join` would make a string of",
        ),
        (
            "HOS014",
            RuleErrorKind::Runtime,
            "reported more than 4 MiB of findings text",
        ),
    ];
    for (id, kind, text) in expect {
        let o = report
            .outcomes
            .iter()
            .find(|o| o.meta.id == id)
            .unwrap_or_else(|| panic!("{id} did not run"));
        let e = o
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{id} was not stopped"));
        assert_eq!(e.kind, kind, "{id}: {e:?}");
        assert!(
            e.message.contains(text),
            "{id}: `{}` lacks `{text}`",
            e.message
        );
        assert!(
            e.line > 0 && e.file.ends_with(".rhai"),
            "{id} has no location: {}",
            e.location()
        );
        if id == "HOS014" {
            // What it reported before the cap is kept, each message cut to 4 KiB.
            assert!(o
                .findings
                .iter()
                .all(|f| f.message.len() < 4200 && f.message.ends_with("more bytes cut]")));
        } else {
            assert!(o.findings.is_empty(), "{id} reported {:?}", o.findings);
        }
        // Contained "in about its budget": never much past it (generous for slow CI machines).
        assert!(o.elapsed < BUDGET * 10, "{id} ran {:?}", o.elapsed);
    }
    // `eval` never compiles, so it is a load error and never runs.
    let eval = report
        .load_errors
        .iter()
        .find(|e| e.file.ends_with("uses-eval.rhai"))
        .expect("eval rejected");
    assert_eq!(eval.kind, RuleErrorKind::Compile);
    assert!(eval
        .help
        .as_deref()
        .unwrap_or_default()
        .contains("`eval` is disabled"));
    assert!(!report.outcomes.iter().any(|o| o.meta.id == "HOS007"));
    // The built-in rules still ran and found the seed problem.
    let wfm = report
        .outcomes
        .iter()
        .find(|o| o.meta.id == "WFM001")
        .unwrap();
    assert!(wfm.error.is_none() && !wfm.findings.is_empty());
    // HOS015 is judged by its own process test (below): here the budget or its own `throw`
    // ends it, if the machine's memory probe does not.
    assert_eq!(report.errors().count(), 15);
}

#[test]
fn the_timeout_is_the_budget_not_the_operation_count() {
    let mut engine = RuleEngine::new(Limits {
        budget: Duration::from_millis(200),
        ..Limits::default()
    });
    engine.add_dir(&fixture("hostile")).unwrap();
    let org = Arc::new(Org::new(sample().unwrap()));
    let report = engine.check(
        &org,
        &CheckConfig {
            select: vec!["HOS001".into()],
            ..Default::default()
        },
    );
    let o = &report.outcomes[0];
    assert_eq!(o.error.as_ref().unwrap().kind, RuleErrorKind::Timeout);
    assert!(
        o.elapsed >= Duration::from_millis(200),
        "stopped early: {:?}",
        o.elapsed
    );
}

#[test]
fn cli_reports_hostile_rules_and_exits_2() {
    let out = rolecall()
        .args(["check", "--sample", "--budget", "0.3", "--rules"])
        .arg(fixture("hostile"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("WFM001 wfm-client-division-gap"),
        "{stdout}"
    );
    assert!(
        stdout.contains("error[HOS001]: timeout: stopped after its time budget of 300ms"),
        "{stdout}"
    );
    assert!(stdout.contains("infinite-loop.rhai:14:1"), "{stdout}");
    assert!(stdout.contains("error[HOS015]"), "{stdout}");
    assert!(stdout.contains("15 errors"), "{stdout}");
    // The flood's findings before its cap are counted, not all printed.
    assert!(stdout.contains("… and "), "{stdout}");
    assert!(stdout.len() < 2 << 20, "{} bytes of output", stdout.len());
}

#[test]
fn map_growth_is_stopped_by_the_memory_limit() {
    // A separate process, so other tests' allocations do not move the measured memory.
    let out = rolecall()
        .args([
            "check",
            "--sample",
            "--no-builtin",
            "--select",
            "HOS009",
            "--budget",
            "60",
            "--max-memory",
            "24",
            "--rules",
        ])
        .arg(fixture("hostile"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error[HOS009]: limit: used more than 24 MiB of memory"),
        "{stdout}"
    );
}

/// Peak resident memory of a `check --verbose` run, from its note, in MiB.
fn peak_mib(stderr: &str) -> u64 {
    let at = stderr.find("peak memory: ").unwrap();
    stderr[at + "peak memory: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn memory_no_size_limit_counts_is_held_to_the_limit() {
    const LIMIT: u64 = 64;
    let run = |select: &str| {
        rolecall()
            .args([
                "check",
                "--sample",
                "--no-config",
                "--no-builtin",
                "--verbose",
                "--select",
                select,
            ])
            .args([
                "--budget",
                "60",
                "--max-memory",
                &LIMIT.to_string(),
                "--rules",
            ])
            .arg(fixture("hostile"))
            .output()
            .unwrap()
    };
    let hostile = run("HOS015");
    let stdout = String::from_utf8_lossy(&hostile.stdout);
    assert!(
        stdout.contains(&format!(
            "error[HOS015]: limit: used more than {LIMIT} MiB of memory"
        )),
        "{stdout}"
    );
    // Against the same process running a rule that allocates nothing (HOS012 throws at once).
    let quiet = run("HOS012");
    let (peak, base) = (
        peak_mib(&String::from_utf8_lossy(&hostile.stderr)),
        peak_mib(&String::from_utf8_lossy(&quiet.stderr)),
    );
    println!("HOS015 peak {peak} MiB, quiet run {base} MiB, limit {LIMIT} MiB");
    assert!(
        peak <= base + LIMIT + 64,
        "peak {peak} MiB over a {base} MiB base with a {LIMIT} MiB limit"
    );
}

#[test]
fn deep_recursion_is_contained_on_the_callers_thread_too() {
    // One worker runs on the calling thread (a 2 MiB test thread) with a grown stack segment.
    let mut engine = RuleEngine::new(Limits::default());
    engine.add_dir(&fixture("hostile")).unwrap();
    let org = Arc::new(Org::new(sample().unwrap()));
    let report = engine.check(
        &org,
        &CheckConfig {
            select: vec!["HOS002".into()],
            threads: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        report.outcomes[0].error.as_ref().unwrap().kind,
        RuleErrorKind::Limit
    );
}

/// Issue 12, item 1 and 7: a rules directory from a pull request cannot make rolecall read the
/// environment (`env.rhai -> /proc/self/environ`) or any file outside it, hang on a FIFO, or
/// walk forever through directory links; each is passed over with a warning naming it, files
/// over the size limit and non-UTF-8 files are refused without a snippet, and the other rules'
/// findings are still reported.
#[test]
fn a_hostile_rules_directory_cannot_read_out_hang_or_loop() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, rules.join(name)).unwrap();
    };
    link(std::path::Path::new("/proc/self/environ"), "env.rhai");
    let outside = dir.path().join("outside.rhai");
    std::fs::write(&outside, "CANARY-OUTSIDE").unwrap();
    link(&outside, "outside.rhai");
    link(std::path::Path::new("."), "a");
    link(std::path::Path::new("."), "b");
    let fifo = rules.join("x.rhai");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    std::fs::write(rules.join("huge.rhai"), vec![b'/'; (1 << 20) + 10]).unwrap();
    std::fs::write(
        rules.join("binary.rhai"),
        [0xff, 0xfe, b'C', b'A', b'N', b'A', b'R', b'Y'],
    )
    .unwrap();
    // A link inside the directory to a real rule is fine.
    std::fs::copy(
        fixture("importing/uses-helper.rhai"),
        rules.join("real.rhai"),
    )
    .unwrap();
    std::fs::copy(
        fixture("importing/_helpers.rhai"),
        rules.join("_helpers.rhai"),
    )
    .unwrap();
    link(&rules.join("real.rhai"), "again.rhai");

    let mut child = rolecall()
        .args([
            "check",
            "--sample",
            "--no-config",
            "--fail-on",
            "none",
            "--rules",
        ])
        .arg(&rules)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "CANARY-SECRET-b7e1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A hang on the FIFO must fail the test, not stall it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("rolecall hung on the rules directory");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    let all = format!("{stdout}{stderr}");
    for canary in ["CANARY-SECRET-b7e1", "CANARY-OUTSIDE", "CANARY"] {
        assert!(!all.contains(canary), "`{canary}` leaked:\n{all}");
    }
    for skipped in [
        "env.rhai`: a link that leads outside",
        "outside.rhai`: a link that leads outside",
        "x.rhai`: not a regular file",
        "a`: a link to a directory is not followed",
    ] {
        assert!(
            stderr.contains(skipped),
            "no warning `{skipped}`:\n{stderr}"
        );
    }
    assert!(stdout.contains("larger than the 1 MiB"), "{stdout}");
    assert!(stdout.contains("not UTF-8 text"), "{stdout}");
    // The other rules still ran: the built-ins' findings and the real rule's.
    assert!(
        stdout.contains("WFM001 wfm-client-division-gap"),
        "{stdout}"
    );
    assert!(stdout.contains("IMP001"), "{stdout}");
}

/// Issue 12, item 2: a rule that imports itself, or whose helpers import each other, is the
/// rule's error (the process overflowed its stack, exit 134, with no report at all).
#[test]
fn import_cycles_are_rule_errors_not_crashes() {
    let out = rolecall()
        .args([
            "check",
            "--sample",
            "--no-config",
            "--fail-on",
            "none",
            "--rules",
        ])
        .arg(fixture("cycles"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("imports-itself.rhai → imports-itself.rhai"),
        "{stdout}"
    );
    assert!(
        stdout.contains("_ping.rhai → _pong.rhai → _ping.rhai"),
        "{stdout}"
    );
    assert!(
        stdout.contains("WFM001 wfm-client-division-gap"),
        "the other rules ran: {stdout}"
    );
}

#[test]
fn a_rule_file_that_would_compile_for_minutes_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..6000).map(|i| format!("  let x{i} = {i};\n")).collect();
    std::fs::write(
        dir.path().join("slow.rhai"),
        format!(
            "//! Slow.\n//!\n//! ## What it does\n//! x\n//!\n//! ## Why is this bad?\n//! x\n//!\n//! ## How to fix\n//! x\n\
             const RULE = #{{ id: \"HOS020\", name: \"slow\", severity: \"low\" }};\nfn check(org) {{\n{body}}}\n"
        ),
    )
    .unwrap();
    let mut engine = RuleEngine::with_builtin();
    engine.add_dir(dir.path()).unwrap();
    let e = &engine.load_errors()[0];
    assert_eq!(e.kind, RuleErrorKind::Limit);
    assert!(
        e.message
            .contains("6001 `let`/`const` bindings, more than the 5000"),
        "{}",
        e.message
    );
    // The other rules load and run.
    let report = engine.check(
        &Arc::new(Org::new(sample().unwrap())),
        &CheckConfig::default(),
    );
    assert!(report.findings().any(|f| f.rule_id == "WFM001"));
}
