//! Planned changes (issue 14): Terraform plans and change files applied to an org as an
//! overlay; `check`, `diff`, `explain --plan` against the before-org; `plan-access`.
//! Fixtures are hand-written in the provider's documented plan format (`tests/fixtures/plans/`).

use std::collections::HashMap;

use rolecall::internals::authz::{can, resolve_subject, Target};
use rolecall::internals::catalog::{load_file, Catalog};
use rolecall::internals::change::{
    apply, load_change, ChangeError, Edit, PLANNED_PREFIX, PROVIDER_CALLS,
};
use rolecall::internals::model::{load_snapshot, Org};

use crate::support::{fixture, rolecall, stable_filters};

const MOVE: &str = "POST /api/v2/workforcemanagement/agents";

fn plan(name: &str) -> String {
    fixture(&format!("plans/{name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn org() -> Org {
    Org::new(load_snapshot(&fixture("plans/org.json")).unwrap())
}

/// An ACC001 expectation: `wfm-sync` moves agents into `unit`.
fn expect_move(unit: &str) -> String {
    format!(
        r#"ACC001.expectations=[{{"subject":"client:wfm-sync","op":"{MOVE}","target":"management-unit:{unit}"}}]"#
    )
}

/// Run the binary; (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = rolecall().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn filters() -> Vec<(&'static str, &'static str)> {
    let mut f = stable_filters();
    // Absolute paths differ between clones.
    f.push((r#"/[^ `"]*/tests/fixtures/"#, "[FIXTURES]/"));
    f
}

fn check_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["check", "--no-config", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    assert!(!out.is_empty(), "no output; stderr: {err}");
    (code, serde_json::from_str(&out).unwrap())
}

fn by_rule<'a>(list: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["ruleId"] == rule)
        .collect()
}

#[test]
fn a_plan_granting_the_wfm_role_in_the_units_division_resolves_wfm001_and_acc001() {
    let snap = plan("org.json");
    let p = plan("grant-wfm-eu.json");
    let exp = expect_move("EU Agents");
    let args = ["--snapshot", &snap, "--plan", &p, "--param", &exp];
    let (code, v) = check_json(&args);
    // The after-org still has other findings, and without --new-only they all count.
    assert_eq!(code, Some(1));
    let resolved = &v["resolved"];
    for rule in ["WFM001", "ACC001"] {
        let r = by_rule(resolved, rule);
        let wfm_sync: Vec<_> = r
            .iter()
            .filter(|f| f["subject"]["name"] == "wfm-sync")
            .collect();
        assert_eq!(
            wfm_sync.len(),
            1,
            "{rule} resolved for wfm-sync: {resolved}"
        );
        assert_eq!(wfm_sync[0]["planChange"], "resolved");
        assert_eq!(
            wfm_sync[0]["causedBy"],
            serde_json::json!(["genesyscloud_oauth_client.wfm_sync"])
        );
        // The before-org's text: its denial and fix.
        assert!(wfm_sync[0]["fix"]
            .as_str()
            .unwrap()
            .contains("in division `Support EU`"));
        assert!(by_rule(&v["findings"], rule)
            .iter()
            .all(|f| f["subject"]["name"] != "wfm-sync"));
    }
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["planChange"] == "unchanged"));
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("not modelled, ignored: genesyscloud_routing_queue.support"),
        "{notes}"
    );
    // Only new findings fail with --new-only: none are new.
    let mut new_only = args.to_vec();
    new_only.push("--new-only");
    let (code, v) = check_json(&new_only);
    assert_eq!(code, Some(0), "{}", v["summary"]);
    assert_eq!(v["summary"]["new"], 0);
}

#[test]
fn a_plan_removing_agent_edit_newly_denies_an_expectation_and_fails() {
    let snap = plan("org.json");
    let p = plan("remove-agent-edit.json");
    let exp = expect_move("NA Agents");
    let args = [
        "check",
        "--no-config",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--param",
        &exp,
        "--new-only",
        "--select",
        "ACC001,WFM001",
    ];
    let (code, human, _) = run(&args);
    assert_eq!(code, Some(1), "{human}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("plan_check_newly_denied_human", human);
    });
    let (code, v) = check_json(&args[2..]);
    assert_eq!(code, Some(1));
    let acc = by_rule(&v["findings"], "ACC001");
    assert_eq!(acc.len(), 1, "{}", v["findings"]);
    assert_eq!(acc[0]["planChange"], "new");
    assert_eq!(acc[0]["new"], true);
    assert_eq!(
        acc[0]["causedBy"],
        serde_json::json!(["genesyscloud_auth_role.wfm_integration"])
    );
    let msg = acc[0]["message"].as_str().unwrap();
    assert!(msg.contains("DENIED") && msg.contains("NA Agents"), "{msg}");
    // WFM001 about EU Agents was there before and still is: unchanged, not failing.
    let wfm: Vec<_> = by_rule(&v["findings"], "WFM001");
    assert!(
        wfm.iter()
            .all(|f| f["planChange"] == "unchanged" && f["new"] == false),
        "{wfm:?}"
    );
}

#[test]
fn ids_of_objects_created_in_the_same_plan_resolve_through_references() {
    let before = org();
    let set = load_change(&fixture("plans/create-and-grant.json")).unwrap();
    let original = before.snapshot().clone();
    let applied = apply(&before, &set).unwrap();
    assert_eq!(before.snapshot(), &original, "the before-org is untouched");
    let after = Org::new(applied.snapshot);
    let role = format!("{PLANNED_PREFIX}genesyscloud_auth_role.apac_wfm");
    let division = format!("{PLANNED_PREFIX}genesyscloud_auth_division.apac");
    assert!(after.role(&role).is_some() && after.role("APAC WFM") == after.role(&role));
    let apac = after.division("APAC").unwrap();
    assert_eq!(after.division(&division), Some(apac));
    for who in ["user:bob.supervisor@acme.example", "client:apac-sync"] {
        let s = resolve_subject(&after, who).unwrap();
        assert!(
            can(&after, s, "wfm:agent:edit", Target::Division(apac)),
            "{who}"
        );
    }
    // Bob keeps his other grant: user_roles is authoritative, and it lists Employee too.
    let bob = resolve_subject(&after, "user:bob.supervisor@acme.example").unwrap();
    assert!(can(&after, bob, "directory:user:view", Target::Any));
    let bob_id =
        &after.snapshot().users[after.user("bob.supervisor@acme.example").unwrap() as usize].id;
    assert_eq!(
        applied.causes.for_object(&before, &after, "user", bob_id),
        [
            "genesyscloud_auth_role.apac_wfm",
            "genesyscloud_user_roles.bob"
        ]
    );
    assert!(applied.notes.is_empty(), "{:?}", applied.notes);
}

#[test]
fn the_diff_of_a_plan_names_the_addresses_and_gates_fail_on_new_access() {
    let snap = plan("org.json");
    let p = plan("create-and-grant.json");
    let (code, human, _) = run(&["diff", "--snapshot", &snap, "--plan", &p]);
    assert_eq!(code, Some(0), "no gate: a diff alone does not fail");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("plan_diff_human", human);
    });
    let (code, out, _) = run(&[
        "diff",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--deny-new-access",
        "wfm:agent:edit@APAC",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let gains = v["gates"][0]["gains"].as_array().unwrap();
    let who: Vec<&str> = gains
        .iter()
        .map(|g| g["subject"].as_str().unwrap())
        .collect();
    // Alice and ci-deployer held it in all divisions (future ones too): not new.
    assert_eq!(who, ["user `Bob Supervisor`", "client `apac-sync`"]);
    assert_eq!(
        gains[1]["causes"],
        serde_json::json!([
            "genesyscloud_auth_role.apac_wfm",
            "genesyscloud_oauth_client.apac_sync"
        ])
    );
    assert_eq!(
        v["causes"]["subjects"][0],
        serde_json::json!([
            "genesyscloud_auth_role.apac_wfm",
            "genesyscloud_user_roles.bob"
        ])
    );
}

#[test]
fn deny_new_access_passes_where_nothing_is_gained_and_no_new_access_fails_on_any_gain() {
    let snap = plan("org.json");
    let p = plan("grant-wfm-eu.json");
    let gate = |extra: &[&str]| {
        let mut a = vec!["diff", "--snapshot", &snap, "--plan", &p];
        a.extend_from_slice(extra);
        run(&a)
    };
    let (code, out, _) = gate(&["--deny-new-access", "wfm:agent:edit@Support EU"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("gate --deny-new-access wfm:agent:edit@Support EU: FAILED (1 gain(s))"),
        "{out}"
    );
    assert!(
        out.contains("client `wfm-sync` gains `wfm:agent:edit` in division `Support EU`"),
        "{out}"
    );
    assert!(
        out.contains("caused by: `genesyscloud_oauth_client.wfm_sync`"),
        "{out}"
    );
    let (code, out, _) = gate(&[
        "--deny-new-access",
        "wfm:agent:edit@Sales NA",
        "--deny-new-access",
        "authorization:grant:add",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("gate --deny-new-access wfm:agent:edit@Sales NA: passed"),
        "{out}"
    );
    let (code, out, _) = gate(&["--no-new-access"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("gate --no-new-access: FAILED"), "{out}");
    let (code, _, err) = gate(&["--deny-new-access", "not-a-permission"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not a permission"), "{err}");
    let (code, _, err) = gate(&["--deny-new-access", "wfm:agent:edit@Nowhere"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("division `Nowhere` is not in the org"),
        "{err}"
    );
}

#[test]
fn explain_after_a_plan_shows_the_before_verdict_beside_it() {
    let snap = plan("org.json");
    let p = plan("grant-wfm-eu.json");
    let args = [
        "explain",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--as",
        "client:wfm-sync",
        "--op",
        MOVE,
        "--target",
        "management-unit:EU Agents",
        "--format",
        "json",
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["explanation"]["verdict"], "allowed");
    assert_eq!(v["baseline"]["explanation"]["verdict"], "denied");
    assert!(v["baseline"]["snapshot"]
        .as_str()
        .unwrap()
        .ends_with("before the change"));
    assert_eq!(v["plan"]["files"].as_array().unwrap().len(), 1);
    // A subject the change creates has no "before": said, not an error.
    let c = plan("create-and-grant.json");
    let (code, out, err) = run(&[
        "explain",
        "--snapshot",
        &snap,
        "--plan",
        &c,
        "--as",
        "client:apac-sync",
        "--op",
        MOVE,
        "--target",
        "division:APAC",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("verdict: ALLOWED"), "{out}");
    assert!(
        err.contains("before the change: the baseline has no subject named like"),
        "{err}"
    );
}

#[test]
fn an_unresolvable_reference_is_an_error_naming_the_address() {
    let e = load_change(&fixture("plans/unresolved.json")).unwrap_err();
    assert!(matches!(e, ChangeError::Unresolved { .. }));
    assert_eq!(
        e.to_string(),
        "resource `genesyscloud_user_roles.dan`: `roles[1].role_id` is unknown until apply and refers to `genesyscloud_auth_role.missing.id`, `genesyscloud_auth_role.missing`, which this plan does not create"
    );
    let (code, out, err) = run(&[
        "check",
        "--snapshot",
        &plan("org.json"),
        "--plan",
        &plan("unresolved.json"),
    ]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("genesyscloud_user_roles.dan"), "{err}");
}

#[test]
fn sensitive_values_never_reach_the_change_set_or_any_output() {
    const CANARIES: [&str; 2] = [
        "CANARY-client-secret-9f8e7d6c",
        "CANARY-sensitive-description-5b1e",
    ];
    let set = load_change(&fixture("plans/secret.json")).unwrap();
    let debug = format!("{set:?}");
    let Edit::PutClient { spec, .. } = &set.changes[0].edit else {
        panic!("{debug}")
    };
    assert_eq!(spec.name, "exporter");
    let snap = plan("org.json");
    let p = plan("secret.json");
    let mut outputs = vec![debug];
    for args in [
        vec!["check", "--snapshot", &snap, "--plan", &p],
        vec![
            "check",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--format",
            "json",
        ],
        vec![
            "check",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--format",
            "sarif",
        ],
        vec!["diff", "--snapshot", &snap, "--plan", &p, "--no-new-access"],
        vec![
            "diff",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--format",
            "json",
        ],
        vec![
            "explain",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--as",
            "client:exporter",
            "--op",
            "GET /api/v2/analytics/reporting/exports",
        ],
        vec![
            "plan-access",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--as",
            "client:tf-deployer",
            "--format",
            "json",
        ],
    ] {
        let mut c = rolecall();
        c.args(&args).env("RUST_LOG", "rolecall=trace");
        let out = c.output().unwrap();
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    assert!(
        outputs.iter().any(|o| o.contains("exporter")),
        "the client itself is shown"
    );
    for o in &outputs {
        for c in CANARIES {
            assert!(!o.contains(c), "`{c}` leaked:\n{o}");
        }
    }
}

#[test]
fn plan_access_reports_the_missing_grant_permission_and_the_fix_per_address() {
    let snap = plan("org.json");
    let p = plan("deployer.json");
    let args = [
        "plan-access",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--as",
        "client:tf-deployer",
    ];
    let (code, human, err) = run(&args);
    assert_eq!(code, Some(1), "{err}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("plan_access_human", human);
    });
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let (_, out, _) = run(&json);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let by: HashMap<&str, &serde_json::Value> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["address"].as_str().unwrap(), r))
        .collect();
    let bob = by["genesyscloud_user_roles.bob"];
    assert_eq!(bob["verdict"], "may-be-denied");
    let missing: Vec<_> = bob["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "allowed")
        .collect();
    assert_eq!(missing.len(), 1, "{bob}");
    assert_eq!(
        missing[0]["operation"],
        "POST /api/v2/authorization/subjects/{subjectId}/bulkadd"
    );
    assert_eq!(
        missing[0]["check"],
        "`authorization:grant:add` in division `Support EU`"
    );
    assert_eq!(missing[0]["fix"], "grant role `Terraform Deployer` to client `tf-deployer` in division `Support EU` (it already holds the role elsewhere)");
    assert_eq!(
        by["genesyscloud_oauth_client.wfm_sync"]["verdict"],
        "allowed"
    );
    assert_eq!(
        by["genesyscloud_oauth_client.reporting"]["verdict"],
        "denied"
    );
    assert_eq!(by["genesyscloud_auth_division.apac"]["verdict"], "denied");
    // Master Admin everywhere covers every permission, but the provider gives a client only
    // roles the deployer holds itself, and it holds neither client's role.
    let (code, out, _) = run(&[
        "plan-access",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--as",
        "client:ci-deployer",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("2 of 4 resource change(s) ok"), "{out}");
    assert_eq!(
        out.matches("fix: grant role `WFM Integration` to client `ci-deployer` first")
            .count(),
        1,
        "one check per role: {out}"
    );
}

#[test]
fn the_provider_call_table_matches_the_api_description() {
    let ops = load_file(&fixture("swagger.json.gz")).unwrap();
    let catalog = Catalog::new(&ops);
    for c in PROVIDER_CALLS {
        let m = catalog.find(c.operation).unwrap_or_else(|| {
            panic!(
                "`{}` ({}) is not in the API description",
                c.operation, c.resource
            )
        });
        let (method, path) = c.operation.split_once(' ').unwrap();
        assert_eq!(
            (m.operation.method.as_str(), m.operation.path.as_str()),
            (method, path)
        );
    }
}

#[test]
fn a_change_file_grants_like_the_plan_and_its_mistakes_name_the_entry() {
    let before = org();
    let set = load_change(&fixture("plans/grant-eu.toml")).unwrap();
    assert_eq!(set.changes[0].address, "ticket-4711");
    let after = Org::new(apply(&before, &set).unwrap().snapshot);
    let eu = after.division("Support EU").unwrap();
    let s = resolve_subject(&after, "client:wfm-sync").unwrap();
    assert!(can(&after, s, "wfm:agent:edit", Target::Division(eu)));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let head = "format = \"rolecall.change/1\"\n[[change]]\n";
    let cases = [
        ("role.toml", "op = \"grant\"\nsubject = \"client:wfm-sync\"\nrole = \"No Such Role\"\n", "role `No Such Role` is not in the org"),
        ("div.toml", "op = \"grant\"\nsubject = \"client:wfm-sync\"\nrole = \"WFM Integration\"\ndivision = \"Mars\"\n", "division `Mars` is not in the org"),
        ("wild.toml", "op = \"remove-permissions\"\nrole = \"Master Admin\"\npermissions = [\"wfm:agent:edit\"]\n", "role `Master Admin` still grants `wfm:agent:edit` through `wfm:*:*`"),
    ];
    for (name, body, want) in cases {
        let p = write(name, &format!("{head}{body}"));
        let set = load_change(&p).unwrap();
        let e = apply(&before, &set).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
        assert!(
            e.to_string().starts_with(&format!("{}#1", p.display())),
            "{e}"
        );
    }
    let typo = write(
        "typo.toml",
        &format!("{head}op = \"grant\"\nsubjct = \"client:x\"\n"),
    );
    assert!(load_change(&typo)
        .unwrap_err()
        .to_string()
        .contains("unknown field `subjct`"));
    let json = write(
        "c.json",
        r#"{"format": "rolecall.change/1", "change": [{"op": "create-role", "name": "Viewer", "permissions": ["wfm:agent:view"]}, {"op": "grant", "subject": "user:dan.agent@acme.example", "role": "Viewer", "division": "*"}]}"#,
    );
    let after = Org::new(
        apply(&before, &load_change(&json).unwrap())
            .unwrap()
            .snapshot,
    );
    let dan = resolve_subject(&after, "user:dan.agent@acme.example").unwrap();
    assert!(can(&after, dan, "wfm:agent:view", Target::All));
    // A revoke removes one grant and keeps the others; granting it twice adds it once.
    let json = write(
        "r.json",
        r#"{"format": "rolecall.change/1", "change": [
        {"op": "revoke", "subject": "user:carol.former@acme.example", "role": "Supervisor", "division": "Support EU"},
        {"op": "grant", "subject": "user:carol.former@acme.example", "role": "Employee"},
        {"op": "grant", "subject": "user:carol.former@acme.example", "role": "Employee"}]}"#,
    );
    let after = Org::new(
        apply(&before, &load_change(&json).unwrap())
            .unwrap()
            .snapshot,
    );
    let carol = |o: &Org| resolve_subject(o, "user:carol.former@acme.example").unwrap();
    assert!(can(
        &before,
        carol(&before),
        "wfm:schedule:view",
        Target::Any
    ));
    assert!(!can(
        &after,
        carol(&after),
        "wfm:schedule:view",
        Target::Any
    ));
    assert_eq!(
        after.direct_grants(carol(&after)).len(),
        1,
        "Employee in Home, once"
    );
}

#[test]
fn the_readme_change_file_example_applies_to_the_fixture_org() {
    let readme = std::fs::read_to_string(crate::support::root().join("README.md")).unwrap();
    let start = readme
        .find("```toml\nformat = \"rolecall.change/1\"")
        .expect("the README documents the change file");
    let body = &readme[start + "```toml\n".len()..];
    let body = &body[..body.find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.toml");
    std::fs::write(&path, body).unwrap();
    let set = load_change(&path).unwrap();
    assert_eq!(set.changes.len(), 5);
    let before = org();
    let after = Org::new(apply(&before, &set).unwrap().snapshot);
    assert!(after.role("WFM Viewer").is_some() && after.division("APAC").is_some());
    let old = &after.snapshot().oauth_clients[after.client("old-etl").unwrap() as usize];
    assert_eq!(old.state, "inactive");
    let bob = |o: &Org| resolve_subject(o, "user:bob.supervisor@acme.example").unwrap();
    let view = "analytics:conversationDetail:view";
    assert!(
        can(&before, bob(&before), view, Target::Any),
        "held through `Supervisor` before"
    );
    assert!(!can(&after, bob(&after), view, Target::Any));
}

#[test]
fn escape_characters_in_a_change_reach_the_terminal_visible_not_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forged.json");
    let doc = serde_json::json!({"format": "rolecall.change/1", "change": [{
        "id": "ticket\u{1b}[2J\u{1b}[31mFORGED", "op": "grant", "subject": "client:wfm-sync",
        "role": "WFM Integration", "division": "Support EU"}]});
    std::fs::write(&path, doc.to_string()).unwrap();
    let (snap, p) = (plan("org.json"), path.to_str().unwrap().to_owned());
    for args in [
        vec!["check", "--snapshot", &snap, "--plan", &p],
        vec!["diff", "--snapshot", &snap, "--plan", &p, "--no-new-access"],
        vec![
            "plan-access",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--as",
            "client:tf-deployer",
        ],
        vec![
            "check",
            "--snapshot",
            &snap,
            "--plan",
            &p,
            "--format",
            "json",
        ],
    ] {
        let (_, out, err) = run(&args);
        assert!(
            out.contains("FORGED"),
            "{args:?}: the address is shown: {out}"
        );
        assert!(
            !out.contains('\u{1b}') && !err.contains('\u{1b}'),
            "{args:?}: raw escape in {out}{err}"
        );
    }
}

#[test]
fn watch_checks_the_org_after_the_plan_and_rereads_the_plan_when_it_is_saved() {
    use rolecall::internals::config::{ConfigSource, Overrides, Settings};
    use rolecall::internals::engine::PlanChange;
    use rolecall::internals::watch::Session;
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("org.json");
    std::fs::copy(fixture("plans/org.json"), &snap).unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::copy(fixture("plans/grant-wfm-eu.json"), &plan_file).unwrap();
    let overrides = Overrides {
        config: ConfigSource::Disabled,
        select: vec!["WFM001".into()],
        ..Overrides::default()
    };
    let settings = Settings::resolve(&overrides).unwrap();
    let org = std::sync::Arc::new(Org::new(load_snapshot(&snap).unwrap()));
    let mut session = Session::new(settings, overrides, org, Some(&snap)).unwrap();
    session.set_plans(std::slice::from_ref(&plan_file)).unwrap();
    session.run(None);
    let wfm_sync = |r: &rolecall::internals::engine::CheckReport| -> Option<PlanChange> {
        r.findings()
            .chain(&r.resolved)
            .find(|f| f.subject.name == "wfm-sync")
            .and_then(|f| f.plan_change)
    };
    assert_eq!(wfm_sync(&session.report()), Some(PlanChange::Resolved));
    // The plan is saved without the grant: the finding is back, unchanged by the change.
    std::fs::write(
        &plan_file,
        r#"{"format_version": "1.2", "resource_changes": []}"#,
    )
    .unwrap();
    let changed = std::collections::BTreeSet::from([plan_file.canonicalize().unwrap()]);
    let delta = session
        .handle(&changed)
        .expect("a saved plan re-runs the rules");
    assert_eq!(delta.new.len(), 1, "{:?}", delta.new);
    assert_eq!(wfm_sync(&session.report()), Some(PlanChange::Unchanged));
    // A plan that no longer applies keeps the previous one, with a note.
    std::fs::write(&plan_file, "{\"format_version\": 3").unwrap();
    session.handle(&changed);
    assert!(
        session
            .notes
            .iter()
            .any(|n| n.contains("planned change not re-applied")),
        "{:?}",
        session.notes
    );
    assert_eq!(wfm_sync(&session.report()), Some(PlanChange::Unchanged));
}

/// A plan that changes group membership (not modelled) cannot pass an access gate: members
/// inherit the group's roles, so access may be gained that rolecall cannot see. `check --plan`
/// says so, and the rules that read grants or groups cannot decide.
#[test]
fn an_access_gate_fails_closed_on_unmodelled_changes_that_can_grant_access() {
    let snap = plan("org.json");
    let p = plan("group-members.json");
    let (code, out, err) = run(&["diff", "--snapshot", &snap, "--plan", &p, "--no-new-access"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("gate --no-new-access: FAILED (unknown: `genesyscloud_group.schedulers`: `type` `genesyscloud_group` is not modelled, and it can change who holds access"),
        "{out}"
    );
    let (code, out, err) = run(&["check", "--snapshot", &snap, "--plan", &p, "--new-only"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        format!("{out}{err}").contains(
            "unknown: `genesyscloud_group.schedulers`: `type` `genesyscloud_group` is not modelled"
        ),
        "{out}{err}"
    );
}
