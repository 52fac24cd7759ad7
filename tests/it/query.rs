//! The access queries end to end: `who-can` and `access` on the sample org (human, JSON, CSV,
//! exit codes) and `org.who_can` in rules.

use std::process::Output;
use std::sync::Arc;

use rolecall::internals::engine::{CheckConfig, Limits, RuleEngine};
use rolecall::internals::model::{sample, Org};

use crate::support::rolecall;

fn run(args: &[&str]) -> Output {
    rolecall().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn who_can_on_the_sample_org() {
    let out = run(&["who-can", "wfm:agent:edit"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("who_can_sample_human", text(&out.stdout));

    let out = run(&[
        "who-can",
        "wfm:agent:edit",
        "--division",
        "Support EU",
        "--kind",
        "client",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "rolecall.who-can/1");
    assert_eq!(v["divisionAware"], "aware");
    let eu = &v["divisions"][0];
    assert_eq!(eu["division"]["name"], "Support EU");
    let names: Vec<&str> = eu["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ci-deployer"], "wfm-sync holds it in Home only");
    assert_eq!(eu["holders"][0]["grants"][0]["division"], "*");

    let out = run(&[
        "who-can",
        "wfm:agent:edit",
        "--division",
        "Home",
        "--format",
        "csv",
    ]);
    let csv = text(&out.stdout);
    assert!(csv.starts_with(
        "division,kind,id,name,role,grant_division,via_group,cannot_sign_in,denied_by\n"
    ));
    assert!(
        csv.contains(",client,") && csv.contains(",wfm-sync,WFM Integration,Home,"),
        "{csv}"
    );
}

#[test]
fn who_can_says_what_it_does_not_know() {
    let out = run(&["who-can", "nosuch:thing:do"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("not in the snapshot's permission catalog: it was matched literally"),
        "{stdout}"
    );
    let out = run(&["who-can", "admin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`admin` is not a `domain:entity:action` permission"));
    let out = run(&["who-can", "wfm:agent:edit", "--division", "Mars"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no division `Mars` in the snapshot"));
}

#[test]
fn access_of_a_client_with_an_operation() {
    let out = run(&[
        "access",
        "client:wfm-sync",
        "--op",
        "POST /api/v2/workforcemanagement/agents",
    ]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("access_wfm_sync_human", text(&out.stdout));

    let out = run(&[
        "access",
        "user:erin.security@acme.example",
        "--permission",
        "authorization:*:*",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "rolecall.access/1");
    let grant = &v["scopes"][0]["grants"][0];
    assert_eq!(
        grant["via"]["group"]["name"], "Security Team",
        "inherited: {v}"
    );
    assert!(grant["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p.as_str().unwrap().starts_with("authorization:")));
}

#[test]
fn rules_ask_who_can_with_via() {
    let mut e = RuleEngine::new(Limits::default());
    e.add_source(
        "inline:t.rhai",
        r#"//! Test.
//!
//! ## What it does
//! Test.
//! ## Why is this bad?
//! Test.
//! ## How to fix
//! Test.
const RULE = #{ id: "TST001", name: "test-rule", severity: "low" };
fn check(org) {
    let out = [];
    for h in org.who_can("authorization:grant:add", "*") {
        let via = if type_of(h.via) == "string" { h.via } else { `group ${h.via.name}` };
        out.push(`${h.kind} ${h.name} ${via} ${h.grants.len()}`);
    }
    out.push(`home:${org.who_can("wfm:agent:edit", "Home").len()}`);
    out.push(`eu:${org.who_can("wfm:agent:edit", org.division("Support EU")).len()}`);
    report(org, out.join("|"));
}"#,
    )
    .unwrap();
    let report = e.check(
        &Arc::new(Org::new(sample().unwrap())),
        &CheckConfig::default(),
    );
    assert!(
        report.outcomes[0].error.is_none(),
        "{:?}",
        report.outcomes[0].error
    );
    assert_eq!(
        report.outcomes[0].findings[0].message,
        "user Alice Admin direct 1|user Erin Security group Security Team 1|group Security Team direct 1|client ci-deployer direct 1|home:3|eu:2"
    );
}
