//! Rule loading and running: metadata checks, duplicate ids, compile and run-time errors with
//! locations, confined imports, the host API.

use std::sync::Arc;

use rolecall::internals::engine::{CheckConfig, Limits, RuleEngine, RuleErrorKind};
use rolecall::internals::model::{sample, Org, OrgBuilder};

use crate::support::fixture;

const DOCS: &str = "//! A test rule.\n//!\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! y\n//! ## How to fix\n//! z\n";

fn rule(id: &str, body: &str) -> String {
    format!(
        "{DOCS}const RULE = #{{ id: \"{id}\", name: \"test-rule\", severity: \"low\" }};\n{body}\n"
    )
}

fn sample_org() -> Arc<Org> {
    Arc::new(Org::new(sample().unwrap()))
}

#[test]
fn metadata_is_read_without_running_the_script() {
    let mut e = RuleEngine::new(Limits::default());
    // The top level would loop forever if it ran at load time.
    let text = rule("TST001", "fn check(org) {}")
        .replace("fn check", "let x = 0; while x >= 0 { x += 1; }\nfn check");
    let meta = e.add_source("inline:t.rhai", &text).unwrap();
    assert_eq!(meta.id, "TST001");
    assert_eq!(meta.summary, "A test rule.");
}

#[test]
fn missing_doc_section_is_a_load_error_with_a_location() {
    let mut e = RuleEngine::new(Limits::default());
    let text = rule("TST001", "fn check(org) {}").replace("//! ## How to fix\n//! z\n", "");
    let err = e.add_source("inline:t.rhai", &text).unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Metadata);
    assert!(err.message.contains("`## How to fix`"), "{}", err.message);
    assert_eq!(err.location(), "inline:t.rhai:1:1");
    assert_eq!(e.load_errors().len(), 1);
}

#[test]
fn missing_or_bad_rule_const_is_a_load_error() {
    let mut e = RuleEngine::new(Limits::default());
    let err = e
        .add_source("inline:a.rhai", &format!("{DOCS}fn check(org) {{}}"))
        .unwrap_err();
    assert!(err.message.contains("const RULE"), "{}", err.message);
    let bad_sev = rule("TST002", "fn check(org) {}").replace("\"low\"", "\"urgent\"");
    let err = e.add_source("inline:b.rhai", &bad_sev).unwrap_err();
    assert!(
        err.message.contains("unknown severity `urgent`"),
        "{}",
        err.message
    );
    assert_eq!(err.line, 9);
    let err = e
        .add_source("inline:c.rhai", &rule("TST003", "fn other(org) {}"))
        .unwrap_err();
    assert!(err.message.contains("fn check(org)"), "{}", err.message);
}

#[test]
fn duplicate_id_names_both_files() {
    let mut e = RuleEngine::new(Limits::default());
    e.add_source("dir/first.rhai", &rule("TST001", "fn check(org) {}"))
        .unwrap();
    let err = e
        .add_source("dir/second.rhai", &rule("TST001", "fn check(org) {}"))
        .unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::DuplicateId);
    assert_eq!(err.file, "dir/second.rhai");
    assert!(err.message.contains("`dir/first.rhai`"), "{}", err.message);
    assert_eq!(e.rules().count(), 1);
}

#[test]
fn compile_error_has_file_line_column_and_snippet() {
    let mut e = RuleEngine::new(Limits::default());
    let err = e
        .add_source(
            "inline:t.rhai",
            &rule("TST001", "fn check(org) {\n    let x = ;\n}"),
        )
        .unwrap_err();
    assert_eq!(err.kind, RuleErrorKind::Compile);
    assert_eq!((err.line, err.column), (11, 13));
    assert_eq!(err.snippet, "    let x = ;\n            ^");
}

#[test]
fn a_broken_rule_does_not_stop_the_others() {
    let mut e = RuleEngine::with_builtin();
    let _ = e.add_source("inline:broken.rhai", "this is not rhai {");
    e.add_source(
        "inline:throws.rhai",
        &rule("TST001", "fn check(org) {\n    throw \"boom\";\n}"),
    )
    .unwrap();
    let report = e.check(&sample_org(), &CheckConfig::default());
    assert_eq!(report.load_errors.len(), 1);
    let failed = report
        .outcomes
        .iter()
        .find(|o| o.meta.id == "TST001")
        .unwrap();
    let err = failed.error.as_ref().unwrap();
    assert_eq!(
        (err.kind, err.line, err.message.as_str()),
        (RuleErrorKind::Runtime, 11, "boom")
    );
    assert!(report.findings().any(|f| f.rule_id == "WFM001"));
}

#[test]
fn params_reach_two_argument_check_functions() {
    let mut e = RuleEngine::new(Limits::default());
    e.add_source(
        "inline:t.rhai",
        &rule("TST001", "fn check(org, params) {\n    report(org, `limit ${params.limit ?? 5}`).fix(\"f\").evidence([1, \"two\"]);\n}"),
    )
    .unwrap();
    let org = sample_org();
    let report = e.check(&org, &CheckConfig::default());
    let f = &report.outcomes[0].findings[0];
    assert_eq!(f.message, "limit 5");
    assert_eq!(f.fix.as_deref(), Some("f"));
    assert_eq!(f.evidence, ["1", "two"]);
    let mut config = CheckConfig::default();
    config
        .params
        .insert("TST001".into(), serde_json::json!({"limit": 9}));
    assert_eq!(
        e.check(&org, &config).outcomes[0].findings[0].message,
        "limit 9"
    );
}

#[test]
fn rules_import_helpers_from_their_own_directory() {
    let mut e = RuleEngine::new(Limits::default());
    assert_eq!(
        e.add_dir(&fixture("importing")).unwrap(),
        1,
        "the `_helpers.rhai` module is not a rule"
    );
    let report = e.check(&sample_org(), &CheckConfig::default());
    assert!(
        report.outcomes[0].error.is_none(),
        "{:?}",
        report.outcomes[0].error
    );
    assert!(report.findings().any(|f| f.message == "client wfm-sync"));
}

#[test]
fn host_api_lookups_and_queries() {
    let mut e = RuleEngine::new(Limits::default());
    e.add_source(
        "inline:t.rhai",
        &rule(
            "TST001",
            r#"fn check(org) {
    let c = org.client("wfm-sync");
    let eu = org.division("Support EU");
    let mu = org.management_unit("EU Agents");
    let out = [
        c.grant_type, c.can("wfm:agent:edit"), c.can("wfm:agent:edit", eu), c.can("wfm:agent:edit", "Home"),
        mu.division == eu, mu.business_unit.name, org.home_division.name,
        org.users.len, org.clients_with("wfm:agent:edit").len, org.subjects_with("authorization:grant:add", "*").len,
        c.why("wfm:agent:edit", eu).allowed, c.why("wfm:agent:edit", eu).division_aware,
        type_of(org.user("nobody")), org.user("ALICE.ADMIN@acme.example").name, org.users[0].name,
        org.role("Legacy Telephony").holder_count, org.settings.ip_allowlist.len(),
    ];
    report(org, out.map(|x| x.to_string()).join("|"));
}"#,
        ),
    )
    .unwrap();
    let report = e.check(&sample_org(), &CheckConfig::default());
    assert!(
        report.outcomes[0].error.is_none(),
        "{:?}",
        report.outcomes[0].error
    );
    assert_eq!(
        report.outcomes[0].findings[0].message,
        "CLIENT-CREDENTIALS|true|false|true|true|Europe|Home|6|2|4|false|aware|()|Alice Admin|Alice Admin|0|2"
    );
}

#[test]
fn one_engine_serves_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleEngine>();
    assert_send_sync::<Org>();
    let e = Arc::new(RuleEngine::with_builtin());
    let org = sample_org();
    let counts: Vec<usize> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    e.check(
                        &org,
                        &CheckConfig {
                            threads: 1,
                            ..Default::default()
                        },
                    )
                    .findings()
                    .count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        counts.iter().all(|&c| c == counts[0] && c > 0),
        "{counts:?}"
    );
}

#[test]
fn fixtures_build_orgs_without_dangling_references() {
    let org = Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .role("R", &["a:b:c"])
            .user("A", "a@x.example", "active")
            .grant_user("a@x.example", "R", "Home")
            .grant_user("ghost@x.example", "R", "Home")
            .build(),
    );
    assert_eq!(org.warnings().len(), 1);
    assert!(
        org.warnings()[0].contains("user-ghost-x-example"),
        "{:?}",
        org.warnings()
    );
}

#[test]
fn sort_and_dedup_with_a_comparer_keep_rhais_meaning() {
    let mut e = RuleEngine::new(Limits::default());
    let body = r#"fn check(org) {
        let a = [5, 3, 9, 1, 3, 7];
        a.sort(|x, y| x - y);
        let b = ["bb", "a", "ccc", "dd"];
        b.sort(|x, y| x.len() < y.len());
        let c = [1, 1, 2, 2, 2, 3, 1];
        c.dedup(|x, y| x == y);
        let d = [4, 2, 8];
        d.sort_by(|x, y| y - x);
        report(org, `${a} ${b} ${c} ${d}`);
    }"#;
    e.add_source("inline:sort.rhai", &rule("TST001", body))
        .unwrap();
    let report = e.check(&sample_org(), &CheckConfig::default());
    let o = &report.outcomes[0];
    assert!(o.error.is_none(), "{:?}", o.error);
    // A bool comparer means "less" when true and "greater" when false, as in Rhai: ties
    // ("bb", "dd") compare as greater and swap.
    assert_eq!(
        o.findings[0].message,
        r#"[1, 3, 3, 5, 7, 9] ["a", "dd", "bb", "ccc"] [1, 2, 3, 1] [8, 4, 2]"#
    );
}
