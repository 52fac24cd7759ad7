//! The `rolecall` binary: output snapshots, exit codes, input errors.

use std::process::Output;

use crate::support::{fixture, rolecall, stable_filters};

fn run(args: &[&str]) -> Output {
    rolecall().args(args).output().unwrap()
}

/// `rolecall check --snapshot FILE` on a temporary file holding `contents`.
fn check_file(contents: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, contents).unwrap();
    rolecall()
        .args(["check", "--snapshot"])
        .arg(&path)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_sample_human_output() {
    let out = run(&["check", "--sample"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "rolecall: no --snapshot given: using the built-in sample org `Acme Contact Center (prod)`\n"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains(
        "client `wfm-sync`: cannot use `wfm:agent:edit` on management unit `EU Agents` in division `Support EU`"
    ));
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("check_sample_human", stdout);
    });
}

#[test]
fn check_sample_json_output() {
    let out = run(&["check", "--sample", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format"], "rolecall.check/1");
    assert_eq!(v["source"]["kind"], "sample");
    assert_eq!(v["summary"]["findings"], 18);
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("check_sample_json", stdout);
    });
}

#[test]
fn fail_on_threshold_and_selection() {
    // Only low/medium findings selected; failing at high passes.
    let out = run(&[
        "check",
        "--sample",
        "--select",
        "ROL001,USR001",
        "--fail-on",
        "high",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2 findings (1 medium, 1 low) from 2 rules"));
    let out = run(&[
        "check",
        "--sample",
        "--select",
        "OAU",
        "--ignore",
        "OAU003",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("from 2 rules"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&[
        "check",
        "--sample",
        "--select",
        "MFA001",
        "--fail-on",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0));
    // A clean run is the verification status and the summary, nothing else.
    let clean = text(&out.stdout);
    let lines: Vec<&str> = clean.lines().collect();
    assert_eq!(lines.len(), 2, "{clean}");
    assert!(lines[0].starts_with("model not verified"), "{clean}");
    assert!(lines[1].starts_with("0 findings from 1 rule "), "{clean}");
}

#[test]
fn params_from_the_command_line() {
    let out = run(&[
        "check",
        "--sample",
        "--select",
        "NET002",
        "--param",
        r#"NET002.required_cidrs=["198.51.100.0/24"]"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("`198.51.100.0/24` is not covered by the IP allow-list"));
    let out = run(&[
        "check",
        "--sample",
        "--select",
        "NET002",
        "--param",
        r#"NET002.required_cidrs=["198.51.100.0/40"]"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains(
        "error[NET002]: config: `198.51.100.0/40` in `required_cidrs` is not an IPv4 CIDR"
    ));
    let out = run(&["check", "--sample", "--param", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not of the form `RULE.key=VALUE`"));
}

#[test]
fn malformed_snapshot_is_a_clear_error_with_location() {
    let out = check_file(
        "{\n  \"format\": \"rolecall.snapshot/1\",\n  \"users\": [\n    {\"id\": \"u1\" \"name\": \"x\"}\n  ]\n}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("snapshot is not valid JSON: expected `,` or `}`"),
        "{err}"
    );
    assert!(err.contains("bad.json:4:17"), "{err}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn wrong_type_names_the_field() {
    let out = check_file(
        r#"{"format": "rolecall.snapshot/1", "oauthClients": [{"id": "c", "name": "n", "roleDivisions": "oops"}]}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("snapshot field `oauthClients[0].roleDivisions` is invalid"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn newer_snapshot_format_is_refused() {
    let out = check_file(r#"{"format": "rolecall.snapshot/7"}"#);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr)
        .contains("snapshot format `rolecall.snapshot/7` is newer than this rolecall supports"));
}

#[test]
fn missing_file_and_usage_errors_exit_2() {
    let out = run(&["check", "--snapshot", "/nonexistent/org.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the snapshot `/nonexistent/org.json`"));
    assert_eq!(run(&["check", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--sample", "--fail-on", "urgent"])
            .status
            .code(),
        Some(2)
    );
    let out = run(&["check", "--sample", "--no-builtin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no rules to run"));
}

#[test]
fn generate_then_check_a_synthetic_org() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.json");
    let out = rolecall()
        .args(["generate", "--users", "1000", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = rolecall()
        .args(["check", "--format", "json", "--snapshot"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"]["kind"], "snapshot");
    assert_eq!(v["source"]["snapshotSource"]["kind"], "synthetic");
    assert_eq!(v["summary"]["errors"], 0);
    assert!(v["summary"]["findings"].as_u64().unwrap() > 0);
}

#[test]
fn rules_list_and_show() {
    let out = run(&["rules", "list"]);
    let list = text(&out.stdout);
    assert_eq!(list.lines().count(), 17);
    assert!(list.contains("WFM001  wfm-client-division-gap"));
    let out = run(&["rules", "show", "wfm001"]);
    let doc = text(&out.stdout);
    assert!(doc.contains("## How to fix"), "{doc}");
    let out = run(&["rules", "show", "NOPE999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn user_rule_directories_add_to_builtins() {
    let out = rolecall()
        .args(["check", "--sample", "--format", "json", "--rules"])
        .arg(fixture("importing"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["rules"], 18);
    let out = rolecall()
        .args([
            "check",
            "--sample",
            "--no-builtin",
            "--fail-on",
            "none",
            "--rules",
        ])
        .arg(fixture("importing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("IMP001 uses-helper [info] 6 findings"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn coverage_gaps_and_dangling_references_are_shown() {
    let snapshot = r#"{"format": "rolecall.snapshot/1",
        "divisions": [{"id": "d1", "name": "Home", "homeDivision": true}],
        "grants": [{"subjectId": "ghost", "subjectType": "PC_USER", "roleId": "r1", "divisionId": "d1"}],
        "coverage": [{"endpoint": "GET /api/v2/authorization/policies", "dataset": "accessPolicies", "status": "gap",
                      "httpStatus": 403, "errorCode": "missing.permissions", "permission": "authorization:policy:view"}]}"#;
    let out = check_file(snapshot);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("coverage gaps (rules that need this data report unknown, not clean):"),
        "{stdout}"
    );
    assert!(
        stdout.contains("GET /api/v2/authorization/policies (accessPolicies): 403 `missing.permissions`, needs `authorization:policy:view`"),
        "{stdout}"
    );
    // The datasets the file lacks are gaps too; the dangling grant is a warning.
    assert!(stdout.contains("1 snapshot warning(s):"), "{stdout}");
    assert!(
        stdout.contains("  roles: not in the snapshot file"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`authSettings` (not in the snapshot file)"),
        "{stdout}"
    );
    assert!(stdout.contains("fetch time unknown"), "{stdout}");
}

/// Every command reads `rolecall.toml` through the same settings: `rules list` and `show` see
/// the config's rule directories, and `test` honours `builtin = false` (issue 10, item 4).
#[test]
fn rules_list_show_and_test_follow_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("team-rules");
    std::fs::create_dir(&rules).unwrap();
    for e in std::fs::read_dir(fixture("importing")).unwrap().flatten() {
        std::fs::copy(e.path(), rules.join(e.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("rolecall.toml"),
        "rules = [\"team-rules\"]\nbuiltin = false\n",
    )
    .unwrap();
    let list = rolecall()
        .current_dir(dir.path())
        .args(["rules", "list"])
        .output()
        .unwrap();
    let listed = text(&list.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("IMP001"), "{listed}");
    let show = rolecall()
        .current_dir(dir.path())
        .args(["rules", "show", "IMP001"])
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    // A rule test that runs a built-in rule fails when the config turns the built-ins off.
    std::fs::write(
        rules.join("uses-builtin.test.rhai"),
        "fn test_builtin() { assert_eq(run_rule(\"WFM001\", fixture(\"t\")).len(), 0); }\n",
    )
    .unwrap();
    let test = rolecall()
        .current_dir(dir.path())
        .args(["test"])
        .output()
        .unwrap();
    let out = text(&test.stdout);
    assert_eq!(test.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL") && out.contains("WFM001"), "{out}");
}

/// `--budget 1e308` and friends are clear errors, not a panic (exit 101).
#[test]
fn out_of_range_limits_are_refused() {
    for args in [
        ["--budget", "1e308"],
        ["--budget", "0"],
        ["--max-memory", "0"],
    ] {
        let out = run(&["check", "--sample", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("out of range"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// Issue 12, item 10: a selector, severity override or parameter that names no rule is an
/// error, so a typo cannot run nothing and pass a CI gate.
#[test]
fn names_that_match_no_rule_are_errors() {
    for args in [
        &["--select", "WFM01"][..],
        &["--ignore", "nosuchtag"][..],
        &["--param", "ZZZ999.x=1"][..],
    ] {
        let out = run(&[&["check", "--sample", "--no-config"][..], args].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("rolecall rules list"), "{stderr}");
    }
    let out = run(&["check", "--sample", "--no-config", "--select", "WFM"]);
    assert_eq!(out.status.code(), Some(1), "a prefix that matches runs");
}

/// A misspelt parameter key must not pass a gate by running the rule with its default, and a
/// bad value is reported at its line of `rolecall.toml` (issue 12, item 7).
#[test]
fn parameter_keys_are_checked_and_config_errors_point_into_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let run = |toml: &str, extra: &[&str]| {
        std::fs::write(dir.path().join("rolecall.toml"), toml).unwrap();
        let out = rolecall()
            .current_dir(dir.path())
            .args(["check", "--sample"])
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = run("[params.WFM001]\npermisions = [\"wfm:agent:edit\"]\n", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`permisions` is not a parameter of WFM001"),
        "{err}"
    );
    assert!(err.contains("rolecall.toml:2:1"), "{err}");
    assert!(err.contains("WFM001's parameters: `permissions`"), "{err}");

    let (code, _, err) = run("", &["--param", "WFM001.permisions=[]"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--param WFM001.permisions"), "{err}");

    let (code, _, err) = run("[params.USR001]\nlimit = 3\n", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("USR001 takes no parameters"), "{err}");

    let (code, out, _) = run(
        "# CI runners\n[params.NET002]\nrequired_cidrs = [\"10.0.0.300/8\"]\n",
        &[],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("error[NET002]: config:"), "{out}");
    assert!(out.contains("rolecall.toml:3:1"), "{out}");
    assert!(
        out.contains("3 | required_cidrs = [\"10.0.0.300/8\"]"),
        "{out}"
    );
}
