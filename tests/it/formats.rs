//! CI formats (SARIF, JUnit, Markdown), waivers, the findings baseline, completions and man page.

use std::path::Path;
use std::process::Output;

use crate::support::{fixture, rolecall, stable_filters};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    rolecall().current_dir(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn filters() -> Vec<(&'static str, &'static str)> {
    let mut f = stable_filters();
    f.push((r#"time="[0-9.]+""#, r#"time="[TIME]""#));
    f
}

const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn escape_stray_bracket(v: &mut serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(m) => {
            let mut n = 0;
            for (k, x) in m.iter_mut() {
                if k == "pattern" && x == STRAY {
                    *x = serde_json::json!(STRAY.replace("]?$", "\\]?$"));
                    n += 1;
                } else {
                    n += escape_stray_bracket(x);
                }
            }
            n
        }
        serde_json::Value::Array(a) => a.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_is_valid_sarif_2_1_0_and_anchored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("pair/prod.json"), dir.path().join("prod.json")).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--snapshot",
            "prod.json",
            "--format",
            "sarif",
            "--no-config",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    // The official schema's `language` patterns have a stray `]`, a literal in the ECMA regexes
    // JSON Schema specifies but an error for Rust's regex engine; escaping it keeps the meaning.
    assert_eq!(escape_stray_bracket(&mut schema), 2);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:#?}");
    // And the schema is really checking: a broken log fails.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&broken));

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 17);
    let wfm = rules.iter().find(|r| r["id"] == "WFM001").unwrap();
    assert_eq!(wfm["properties"]["security-severity"], "8.0");
    assert!(wfm["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## How to fix"));
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "WFM001")
        .unwrap();
    let loc = &result["locations"][0];
    // Built-in rules anchor to the snapshot, relative to the repository (working directory).
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "prod.json"
    );
    assert_eq!(loc["logicalLocations"][0]["kind"], "client");
    assert_eq!(loc["logicalLocations"][0]["name"], "wfm-sync");
    let fp = result["partialFingerprints"]["rolecallFinding/v1"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same problem keeps its fingerprint across runs.
    let again: serde_json::Value = serde_json::from_slice(
        &run_in(
            dir.path(),
            &[
                "check",
                "--snapshot",
                "prod.json",
                "--format",
                "sarif",
                "--no-config",
            ],
        )
        .stdout,
    )
    .unwrap();
    let fp2 = again["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "WFM001")
        .unwrap()["partialFingerprints"]["rolecallFinding/v1"]
        .clone();
    assert_eq!(fp2, fp.as_str());
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("sarif_sample", text(&out.stdout));
    });
}

#[test]
fn sarif_anchors_user_rules_to_their_file() {
    let out = rolecall()
        .current_dir(crate::support::root())
        .args([
            "check",
            "--sample",
            "--no-config",
            "--no-builtin",
            "--format",
            "sarif",
            "--fail-on",
            "none",
            "--rules",
            "tests/fixtures/importing",
        ])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let loc = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "tests/fixtures/importing/uses-helper.rhai"
    );
    assert_eq!(loc["region"]["startLine"], 14);
}

#[test]
fn junit_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--sample", "--format", "junit", "--no-config"],
    );
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 17);
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(
        failures, 11,
        "one failure per failing rule, listing its findings"
    );
    // Counts are of test cases and add up: never `failures="14"` with `tests="13"`.
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("17"));
    assert_eq!(root.attribute("failures"), Some("11"));
    assert_eq!(root.attribute("errors"), Some("0"));
    assert_eq!(root.attribute("skipped"), Some("2"));
    // Rules missing a required parameter are skipped with why, not passing.
    for id in ["ACC001", "NET002"] {
        let case = cases
            .iter()
            .find(|c| c.attribute("name").unwrap().starts_with(id))
            .unwrap();
        let skipped = case.children().find(|n| n.has_tag_name("skipped")).unwrap();
        assert!(
            skipped
                .attribute("message")
                .unwrap()
                .starts_with("not run: required parameter"),
            "{id}"
        );
    }
    let adm = cases
        .iter()
        .find(|c| c.attribute("name") == Some("ADM001 can-grant-roles-everywhere"))
        .unwrap();
    let f = adm.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(f
        .attribute("message")
        .unwrap()
        .starts_with("4 findings; first: "));
    assert_eq!(
        f.text().unwrap().matches("\nfix: ").count(),
        4,
        "every finding listed"
    );
    let wfm = cases
        .iter()
        .find(|c| c.attribute("name") == Some("WFM001 wfm-client-division-gap"))
        .unwrap();
    let f = wfm.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(f.attribute("type"), Some("high"));
    assert!(f
        .text()
        .unwrap()
        .contains("fix: grant role `WFM Integration`"));
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("junit_sample", xml);
    });
}

#[test]
fn junit_reports_rule_errors() {
    let out = rolecall()
        .args([
            "check",
            "--sample",
            "--no-config",
            "--format",
            "junit",
            "--budget",
            "0.2",
            "--rules",
        ])
        .arg(fixture("hostile"))
        .output()
        .unwrap();
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("error"))
            .count(),
        15
    );
}

#[test]
fn markdown_is_compact_and_worst_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--sample", "--format", "markdown", "--no-config"],
    );
    let md = text(&out.stdout);
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| severity"))
        .collect();
    assert_eq!(rows.len(), 18);
    assert!(rows[0].starts_with("| critical | OAU002 |"), "{}", rows[0]);
    insta::assert_snapshot!("markdown_sample", md);
}

#[test]
fn output_file_keeps_the_summary_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--no-config",
            "--format",
            "sarif",
            "-o",
            "report.sarif",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("18 findings (1 critical"),
        "{}",
        text(&out.stderr)
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.sarif")).unwrap()).unwrap();
    assert_eq!(written["version"], "2.1.0");
}

#[test]
fn waivers_active_expired_and_unmatched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.toml"),
        r#"
[[waivers]]
rule = "OAU002"
subject = "client:ci-*"
reason = "CI deployer keeps admin until the 2099 migration"
expires = "2099-12-31"

[[waivers]]
rule = "USR001"
subject = "Carol*"
reason = "leaver, cleanup ticket open"
expires = "2020-01-01"

[[waivers]]
rule = "ROL001"
subject = "role:Nope"
reason = "nothing"
expires = "2099-01-01"
"#,
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--format",
            "json",
            "--select",
            "OAU002,USR001,ROL001",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        text(&out.stderr).contains("using config"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(v["summary"]["findings"], 3);
    assert_eq!(v["summary"]["waived"], 1);
    assert_eq!(
        v["summary"]["failing"], 2,
        "the expired waiver's finding counts again"
    );
    let oau = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "OAU002")
        .unwrap();
    assert_eq!(oau["waiver"]["expired"], false);
    let usr = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "USR001")
        .unwrap();
    assert_eq!(usr["waiver"]["expired"], true);
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "waiver for USR001 `Carol*` expired on 2020-01-01: its findings count again",
            "waiver for ROL001 `role:Nope` matches no finding: remove it"
        ]
    );
    // Only the waived rule selected: nothing counts, exit 0, and the human report shows it waived.
    let out = run_in(dir.path(), &["check", "--sample", "--select", "OAU002"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("[waived until 2099-12-31: CI deployer keeps admin until the 2099 migration] client `ci-deployer`"));
    assert!(
        text(&out.stdout).contains("1 finding (1 critical), 1 waived"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn config_errors_point_at_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.toml"),
        "fail_on = \"high\"\nrulez = [\"x\"]\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "--sample"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unknown field `rulez`"), "{err}");
    // Not quoted (the file may be a link to secrets): named, with the line and column.
    assert!(err.contains("rolecall.toml` (line 2, column 1)"), "{err}");
}

#[test]
fn config_supplies_params_severity_and_threshold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.toml"),
        r#"
fail_on = "high"
select = ["NET002", "ROL001"]
[severity]
ROL001 = "critical"
[params.NET002]
required_cidrs = ["198.51.100.0/24"]
"#,
    )
    .unwrap();
    let out = run_in(dir.path(), &["check", "--sample", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["rules"], 2);
    assert_eq!(v["summary"]["failOn"], "high");
    let rol = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "ROL001")
        .unwrap();
    assert_eq!(rol["severity"], "critical");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["ruleId"] == "NET002"));
}

#[test]
fn baseline_gate_reports_only_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("pair/prod.json"), dir.path().join("org.json")).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--snapshot",
            "org.json",
            "--format",
            "json",
            "-o",
            "before.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // Unchanged org: nothing new, the gate passes.
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--snapshot",
            "org.json",
            "--baseline-findings",
            "before.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(", 0 new"),
        "{}",
        text(&out.stdout)
    );
    // One new grant: Master Admin for Dan in all divisions -> exactly one new finding (ADM001).
    let mut org: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("org.json")).unwrap()).unwrap();
    let dan = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Dan Agent")
        .unwrap()["id"]
        .clone();
    let admin = org["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Role Granter")
        .unwrap()["id"]
        .clone();
    org["grants"].as_array_mut().unwrap().push(serde_json::json!({"subjectId": dan, "subjectType": "PC_USER", "roleId": admin, "divisionId": "*"}));
    std::fs::write(
        dir.path().join("org.json"),
        serde_json::to_vec(&org).unwrap(),
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--snapshot",
            "org.json",
            "--baseline-findings",
            "before.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["new"] == true)
        .collect();
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(new[0]["ruleId"], "ADM001");
    assert_eq!(new[0]["subject"]["name"], "Dan Agent");
    assert_eq!(v["summary"]["failing"], 1);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = rolecall().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let script = text(&out.stdout);
        assert!(
            script.contains("explain") && script.contains("baseline-findings"),
            "{shell}"
        );
    }
    let man = text(&rolecall().arg("man").output().unwrap().stdout);
    assert!(man.contains(".TH rolecall 1"), "{man}");
    assert!(man.contains("explain"));
}
