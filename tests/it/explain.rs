//! `explain` and `diff` on the seed case (a dev/prod pair) and on small fixture orgs.

use rolecall::internals::authz::{
    baseline_differences, check_error_body, diff, explain, resolve_subject, resolve_target,
    DiffOptions, Explanation, Question, Verdict,
};
use rolecall::internals::catalog::Catalog;
use rolecall::internals::model::{load_snapshot, Org, OrgBuilder};

use crate::support::{fixture, rolecall, stable_filters};

const MOVE: &str = "POST /api/v2/workforcemanagement/agents";

fn pair(name: &str) -> Org {
    Org::new(load_snapshot(&fixture(&format!("pair/{name}.json"))).unwrap())
}

fn ask(org: &Org, subject: &str, op: &str, target: Option<&str>) -> Explanation {
    let catalog = Catalog::new(&org.snapshot().operations);
    let q = Question {
        subject: resolve_subject(org, subject).unwrap(),
        operation: op,
        target: target.map(|t| resolve_target(org, t).unwrap()),
        agents: Vec::new(),
        unread_target: None,
    };
    explain(org, &catalog, &q).unwrap()
}

#[test]
fn prod_denies_the_move_with_a_division_code_and_the_fix() {
    let prod = pair("prod");
    let ex = ask(
        &prod,
        "client:wfm-sync",
        MOVE,
        Some("management-unit:EU Agents"),
    );
    assert_eq!(ex.verdict, Verdict::Denied);
    assert_eq!(ex.code.as_deref(), Some("missing.any.division.permissions"));
    assert_eq!(ex.alternative_codes, ["wfm.permission.failure"]);
    assert!(
        ex.permissions[0].needed.contains("division `Support EU`"),
        "{:?}",
        ex.permissions
    );
    assert_eq!(
        ex.fix.as_deref(),
        Some("grant role `WFM Integration` to client `wfm-sync` in division `Support EU` (it already holds the role elsewhere)")
    );
    // The same question with the unit's id in the path finds the target by itself.
    let mu_id = &prod.snapshot().management_units[0].id;
    let by_path = ask(
        &prod,
        "client:wfm-sync",
        &format!("PATCH /api/v2/workforcemanagement/managementunits/{mu_id}/agents"),
        None,
    );
    assert_eq!(
        by_path.target.as_deref(),
        Some("management unit `EU Agents` (division `Support EU`)")
    );
    assert_eq!(by_path.verdict, Verdict::Denied);
}

#[test]
fn dev_allows_it_through_the_all_divisions_grant() {
    let (prod, dev) = (pair("prod"), pair("dev"));
    let ex = ask(
        &dev,
        "client:wfm-sync",
        MOVE,
        Some("management-unit:EU Agents"),
    );
    assert_eq!(ex.verdict, Verdict::Allowed);
    assert_eq!(
        ex.permissions[0].reason,
        "granted by role `WFM Integration` in all divisions"
    );
    assert!(ex.code.is_none() && ex.fix.is_none());
    let s = |o: &Org| resolve_subject(o, "client:wfm-sync").unwrap();
    let t = |o: &Org| Some(resolve_target(o, "management-unit:EU Agents").unwrap());
    let diffs = baseline_differences(
        (&prod, s(&prod), t(&prod)),
        (&dev, s(&dev), t(&dev)),
        &["wfm:agent:edit".into()],
        ("prod", "dev"),
    );
    assert_eq!(
        diffs,
        [
            "`wfm:agent:edit`: role `WFM Integration` in all divisions in dev only",
            "`wfm:agent:edit`: role `WFM Integration` in division `Home` in prod only"
        ]
    );
}

#[test]
fn deny_policies_that_apply_to_clients() {
    let prod = pair("prod");
    let ex = ask(
        &prod,
        "client:analytics-export",
        "POST /api/v2/analytics/conversations/details/query",
        None,
    );
    assert_eq!(
        (ex.verdict, ex.code.as_deref()),
        (Verdict::Denied, Some("authz.policy.denied"))
    );
    assert!(ex
        .fix
        .unwrap()
        .contains("`No conversation exports by integrations`"));
    // The same policy without applyToClients leaves clients alone.
    let org = |clients: bool| {
        Org::new(
            OrgBuilder::new("t")
                .division("Home")
                .role("Export", &["analytics:conversationDetail:view"])
                .client("exporter", "CLIENT-CREDENTIALS", &[("Export", "Home")])
                .policy(
                    "No exports",
                    "analytics:conversationDetail:view",
                    "DENY",
                    "ALL",
                    clients,
                )
                .operation(
                    "POST",
                    "/api/v2/analytics/conversations/details/query",
                    "ANY",
                    &["analytics:conversationDetail:view"],
                    &["analytics"],
                )
                .catalog("analytics:conversationDetail:view", false)
                .build(),
        )
    };
    assert_eq!(
        ask(
            &org(false),
            "client:exporter",
            "POST /api/v2/analytics/conversations/details/query",
            None
        )
        .verdict,
        Verdict::Allowed
    );
    assert_eq!(
        ask(
            &org(true),
            "client:exporter",
            "POST /api/v2/analytics/conversations/details/query",
            None
        )
        .verdict,
        Verdict::Denied
    );
}

#[test]
fn a_code_grant_client_needs_the_scope() {
    let org = Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .client("portal", "CODE", &[])
            .client_scopes(&["users:readonly"])
            .operation(
                "POST",
                "/api/v2/workforcemanagement/agents",
                "ANY",
                &["wfm:agent:edit"],
                &["workforce-management"],
            )
            .build(),
    );
    // Issue 21, item 5: scope enforcement is an org opt-in that no API reports, so the denial
    // is only "may be" until the snapshot records the setting.
    let ex = ask(&org, "client:portal", MOVE, None);
    assert_eq!(
        (ex.verdict, ex.code.as_deref()),
        (Verdict::MayBeDenied, Some("app.not.authorized.for.scope"))
    );
    assert!(
        ex.steps
            .iter()
            .any(|s| s.detail.contains("whether the org enforces scopes")),
        "{:?}",
        ex.steps
    );
    assert_eq!(
        ex.fix.as_deref(),
        Some("authorize scope `workforce-management` for client `portal`")
    );
    for (enforced, verdict) in [(true, Verdict::Denied), (false, Verdict::Unknown)] {
        let mut snap = org.snapshot().clone();
        snap.organization.scope_enforcement = Some(enforced);
        let ex = ask(&Org::new(snap), "client:portal", MOVE, None);
        // Not enforced: the scope step passes, and the user's permissions decide (unknown).
        assert_eq!(ex.verdict, verdict, "enforced: {enforced}");
    }
}

#[test]
fn unknown_when_the_catalog_lacks_the_permission() {
    let org = |catalog: bool| {
        let mut b = OrgBuilder::new("t")
            .division("Home")
            .division("EU")
            .role("W", &["wfm:agent:edit"])
            .client("sync", "CLIENT-CREDENTIALS", &[("W", "Home")])
            .business_unit("B", "EU")
            .management_unit("M", "B", "EU")
            .operation(
                "POST",
                "/api/v2/workforcemanagement/agents",
                "ANY",
                &["wfm:agent:edit"],
                &["workforce-management"],
            );
        if catalog {
            b = b.catalog("wfm:agent:edit", true);
        }
        Org::new(b.build())
    };
    let ex = ask(&org(false), "client:sync", MOVE, Some("management-unit:M"));
    assert_eq!(ex.verdict, Verdict::Unknown);
    assert!(
        ex.assumptions
            .iter()
            .any(|a| a.contains("treated as division-aware")),
        "{:?}",
        ex.assumptions
    );
    assert_eq!(
        ask(&org(true), "client:sync", MOVE, Some("management-unit:M")).verdict,
        Verdict::Denied
    );
}

#[test]
fn agents_from_uncovered_source_units_fail_inside_a_202() {
    let org = Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .division("EU")
            .role("W", &["wfm:agent:edit"])
            .client("sync", "CLIENT-CREDENTIALS", &[("W", "Home")])
            .user("Ann", "ann@x.example", "active")
            .business_unit("B", "Home")
            .management_unit("Dest", "B", "Home")
            .business_unit("BE", "EU")
            .management_unit("Src", "BE", "EU")
            .mu_agents(&["ann@x.example"])
            .operation(
                "POST",
                "/api/v2/workforcemanagement/agents",
                "ANY",
                &["wfm:agent:edit"],
                &["workforce-management"],
            )
            .catalog("wfm:agent:edit", true)
            .build(),
    );
    let catalog = Catalog::new(&org.snapshot().operations);
    let q = Question {
        subject: resolve_subject(&org, "client:sync").unwrap(),
        operation: MOVE,
        target: Some(resolve_target(&org, "management-unit:Dest").unwrap()),
        agents: vec![org.user("ann@x.example").unwrap()],
        unread_target: None,
    };
    let ex = explain(&org, &catalog, &q).unwrap();
    assert_eq!(ex.verdict, Verdict::Denied);
    let agents = ex.steps.iter().find(|s| s.check == "agents").unwrap();
    assert!(
        agents.detail.contains("SourceManagementUnitNotAuthorized")
            && agents.detail.contains("`Ann`"),
        "{}",
        agents.detail
    );
}

#[test]
fn an_error_body_that_contradicts_the_prediction() {
    let prod = pair("prod");
    let ex = ask(
        &prod,
        "client:wfm-sync",
        MOVE,
        Some("management-unit:EU Agents"),
    );
    let eu = &prod.snapshot().divisions[1].id;
    let agrees = serde_json::json!({"code": "missing.any.division.permissions", "status": 403,
        "messageParams": {"permissions": "wfm:agent:edit", "divisions": eu}, "contextId": "ctx-1"});
    let b = check_error_body(&prod, &ex, &agrees);
    assert!(b.agrees);
    assert!(
        b.notes
            .iter()
            .any(|n| n == "the API checked division(s) `Support EU`"),
        "{:?}",
        b.notes
    );
    assert_eq!(b.context_id.as_deref(), Some("ctx-1"));
    let contradicts = serde_json::json!({"code": "authz.policy.denied", "contextId": "ctx-2"});
    let b = check_error_body(&prod, &ex, &contradicts);
    assert!(!b.agrees);
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("contradicts the prediction (`missing.any.division.permissions`)")),
        "{:?}",
        b.notes
    );
    assert!(
        b.notes.iter().any(|n| n.contains("access policy")),
        "{:?}",
        b.notes
    );
}

#[test]
fn diff_of_the_pair_is_the_one_grant() {
    let (dev, prod) = (pair("dev"), pair("prod"));
    let d = diff(&dev, &prod, &DiffOptions::default());
    assert_eq!(
        d.grants,
        [
            "- client `wfm-sync`: role `WFM Integration` in all divisions",
            "+ client `wfm-sync`: role `WFM Integration` in `Home`"
        ]
    );
    assert_eq!(d.subjects.len(), 1);
    assert!(
        d.roles.is_empty()
            && d.divisions.is_empty()
            && d.policies.is_empty()
            && d.settings.is_empty()
    );
    // Narrowed to the operation's permissions.
    let narrow = diff(
        &dev,
        &prod,
        &DiffOptions {
            subject: None,
            permissions: Some(vec!["wfm:agent:edit".into()]),
        },
    );
    assert_eq!(
        narrow.subjects[0].lost,
        ["`wfm:agent:edit` in all divisions"]
    );
    assert_eq!(narrow.subjects[0].gained, ["`wfm:agent:edit` in `Home`"]);
    assert!(diff(&prod, &prod, &DiffOptions::default()).is_empty());
}

#[test]
fn diff_reports_roles_policies_and_settings() {
    let a = Org::new(
        OrgBuilder::new("a")
            .division("Home")
            .role("R", &["a:b:c"])
            .settings(false, &["10.0.0.0/8"])
            .build(),
    );
    let b = Org::new(
        OrgBuilder::new("b")
            .division("Home")
            .division("New")
            .role("R", &["a:b:c", "a:b:d"])
            .policy("P", "a:b:c", "DENY", "ALL", true)
            .settings(true, &[])
            .build(),
    );
    let d = diff(&a, &b, &DiffOptions::default());
    assert_eq!(d.roles[0].added, ["a:b:d"]);
    assert_eq!(d.divisions, ["+ `New`"]);
    assert_eq!(d.policies, ["+ `P`: DENY `a:b:c` for ALL incl. clients"]);
    assert_eq!(
        d.settings,
        [
            "MFA required: false → true",
            "IP allow-list: - `10.0.0.0/8`"
        ]
    );
}

fn cli(args: &[&str]) -> (Option<i32>, String) {
    let out = rolecall().args(args).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn cli_explain_with_baseline_human_and_json() {
    let prod = fixture("pair/prod.json");
    let dev = fixture("pair/dev.json");
    let (p, d) = (prod.to_str().unwrap(), dev.to_str().unwrap());
    let args = [
        "explain",
        "--snapshot",
        p,
        "--as",
        "client:wfm-sync",
        "--op",
        MOVE,
        "--target",
        "management-unit:EU Agents",
        "--baseline",
        d,
    ];
    let (code, human) = cli(&args);
    assert_eq!(code, Some(0));
    let mut filters = stable_filters();
    filters.push((r"`[^`]*tests/fixtures/", "`[FIXTURES]/"));
    filters.push((r#""[^"]*tests/fixtures/"#, r#""[FIXTURES]/"#));
    insta::with_settings!({ filters => filters.clone() }, {
        insta::assert_snapshot!("explain_seed_human", human);
    });
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json", "--exit-code"]);
    let (code, json) = cli(&json_args);
    assert_eq!(code, Some(1), "--exit-code makes a denial exit 1");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["explanation"]["verdict"], "denied");
    assert_eq!(v["baseline"]["explanation"]["verdict"], "allowed");
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("explain_seed_json", json);
    });
}

#[test]
fn cli_explain_reads_an_error_body_from_stdin() {
    use std::io::Write as _;
    let mut child = rolecall()
        .args([
            "explain",
            "--as",
            "client:wfm-sync",
            "--op",
            MOVE,
            "--target",
            "management-unit:EU Agents",
            "--error-body",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"code": "wfm.permission.failure", "status": 403, "contextId": "abc-123"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("error body: `wfm.permission.failure` confirms the prediction"),
        "{stdout}"
    );
    assert!(
        stdout.contains("contextId for a support case: abc-123"),
        "{stdout}"
    );
}

#[test]
fn cli_explain_input_errors() {
    let (code, _) = cli(&["explain", "--as", "client:nobody", "--op", MOVE]);
    assert_eq!(code, Some(2));
    let out = rolecall()
        .args([
            "explain",
            "--as",
            "client:wfm-sync",
            "--op",
            "GET /api/v2/nothing/here",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not in the snapshot's own catalog"));
}

#[test]
fn cli_diff_of_the_pair() {
    let (dev, prod) = (fixture("pair/dev.json"), fixture("pair/prod.json"));
    let (code, out) = cli(&[
        "diff",
        dev.to_str().unwrap(),
        prod.to_str().unwrap(),
        "--op",
        MOVE,
        "--exit-code",
    ]);
    assert_eq!(code, Some(1));
    let mut filters = stable_filters();
    filters.push((r"`[^`]*tests/fixtures/", "`[FIXTURES]/"));
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("diff_pair_op", out);
    });
    let (code, out) = cli(&[
        "diff",
        prod.to_str().unwrap(),
        prod.to_str().unwrap(),
        "--exit-code",
    ]);
    assert_eq!(code, Some(0));
    assert!(out.ends_with("no differences\n"));
}

#[test]
fn acc001_reports_denied_expectations_with_fixes() {
    let expectations = serde_json::json!({"expectations": [
        {"subject": "client:wfm-sync", "op": MOVE, "target": "management-unit:EU Agents"},
        {"subject": "client:wfm-sync", "op": MOVE, "target": "management-unit:NA Agents"},
    ]});
    let f = crate::support::run_rule(
        "ACC001",
        rolecall::internals::model::sample().unwrap(),
        Some(expectations),
    );
    assert_eq!(f.len(), 1, "only the EU unit is denied: {f:?}");
    assert!(
        f[0].message
            .contains("DENIED: 403 `missing.any.division.permissions`"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].fix.as_deref(),
        Some("grant role `WFM Integration` to client `wfm-sync` in division `Support EU` (it already holds the role elsewhere)")
    );
    assert!(crate::support::run_rule(
        "ACC001",
        rolecall::internals::model::sample().unwrap(),
        None
    )
    .is_empty());
}

#[test]
fn cli_explain_with_the_full_api_description() {
    // The description as a user downloads it: a (here gzip-compressed) swagger file.
    let swagger = crate::support::fixture("swagger.json.gz");
    let carol = rolecall::internals::model::sample()
        .unwrap()
        .users
        .iter()
        .find(|u| u.name == "Carol Former")
        .unwrap()
        .id
        .clone();
    let op = format!("PATCH /api/v2/users/{carol}");
    let (code, out) = cli(&[
        "explain",
        "--catalog",
        swagger.to_str().unwrap(),
        "--as",
        "client:wfm-sync",
        "--op",
        &op,
        "--exit-code",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("(patchUser)"), "{out}");
    // The user's own division is the target, found from the id in the path.
    assert!(out.contains("target: division `Support EU`"), "{out}");
    assert!(
        out.contains("verdict: DENIED: 403 `missing.any.permissions`"),
        "{out}"
    );
}

/// Assumptions are stated as facts about the platform, never as references to documents the
/// user does not have.
#[test]
fn assumptions_are_plain_words() {
    let org = pair("prod");
    let mut all = Vec::new();
    for (op, target) in [
        (MOVE, Some("management-unit:EU Agents")),
        (MOVE, None),
        ("GET /api/v2/authorization/roles", None),
    ] {
        all.extend(ask(&org, "client:wfm-sync", op, target).assumptions);
    }
    assert!(!all.is_empty());
    for a in &all {
        assert!(!a.contains("API-FACTS") && !a.contains('§'), "{a}");
    }
}
