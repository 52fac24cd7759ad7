//! Plans read strictly, gates that fail closed (issue 20, class 4): a resource change rolecall
//! cannot read completely fails `diff --no-new-access`, `--deny-new-access` and
//! `check --plan --new-only` with "unknown: …" (exit 1), or is refused as invalid input
//! (exit 2), naming the address and the field; change-file mistakes name the line.
//!
//! Every plan here would pass the gates if its unreadable part were silently dropped: the
//! readable rest grants nothing new.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use rolecall::internals::change::{apply, load_change};
use rolecall::internals::model::{load_snapshot, Org};

use crate::support::{fixture, rolecall};

const DAN: &str = "ce326ea6-d7d2-50b1-a99f-361064e053da";
const EMPLOYEE: &str = "c95e2ecd-3fc8-507f-80a2-15346940019c";
const MASTER_ADMIN: &str = "b68f3c1e-7291-53de-8ba9-d3683401ab35";
const HOME: &str = "42d18977-64a0-590c-b0b2-ea0ba4904f7a";
const WFM_SYNC: &str = "5dd52ec4-63ac-571c-86b2-fe13515b83b0";
const WFM_ROLE: &str = "94ac1946-67b4-542e-bf0f-fd25acb18737";
const EU: &str = "36610d59-4845-5a4e-8f2d-419e19c6932e";

fn snapshot() -> String {
    fixture("plans/org.json").to_str().unwrap().to_owned()
}

/// Run the binary with a deadline: a FIFO or a device must never make it hang.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = rolecall()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("rolecall {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// One resource change of the provider's documented plan format; `change` is merged into the
/// default `change` block (`actions: ["update"]`, empty masks).
fn rc(address: &str, kind: &str, change: &Value) -> Value {
    let mut c = json!({"actions": ["update"], "before": null, "after": {}, "after_unknown": {}, "after_sensitive": {}});
    for (k, v) in change.as_object().unwrap() {
        c[k] = v.clone();
    }
    json!({"address": address, "mode": "managed", "type": kind, "name": "x", "change": c})
}

/// Dan's `user_roles`, keeping the one grant he holds (Employee at home) unless `roles` says
/// otherwise: read completely, it changes nothing.
fn dan_roles(roles: &Value, masks: &Value) -> Value {
    let mut change = json!({
        "before": {"id": DAN, "user_id": DAN, "roles": [{"role_id": EMPLOYEE, "division_ids": [HOME]}]},
        "after": {"id": DAN, "user_id": DAN, "roles": roles},
    });
    for (k, v) in masks.as_object().unwrap() {
        change[k] = v.clone();
    }
    rc(
        "genesyscloud_user_roles.dan",
        "genesyscloud_user_roles",
        &change,
    )
}

fn keep_dan() -> Value {
    json!([{"role_id": EMPLOYEE, "division_ids": [HOME]}])
}

fn plan_of(changes: &[Value]) -> Value {
    json!({"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes})
}

fn write(dir: &Path, name: &str, doc: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    p.to_str().unwrap().to_owned()
}

/// The org authentication settings resource (`organization_authentication_settings.md`).
fn auth_settings(after: &Value, masks: &Value) -> Value {
    let mut change = json!({
        "before": {"id": "Settings", "multifactor_authentication_required": true, "domain_allowlist_enabled": false,
                   "domain_allowlist": [], "ip_address_allowlist": ["203.0.113.0/24", "198.51.100.16/28"]},
        "after": after,
    });
    for (k, v) in masks.as_object().unwrap() {
        change[k] = v.clone();
    }
    rc(
        "genesyscloud_organization_authentication_settings.org",
        "genesyscloud_organization_authentication_settings",
        &change,
    )
}

/// Plans rolecall can read only in part: each must fail all three gates with an unknown naming
/// the address and the field. (name, plan, what the output names)
fn unknown_cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "sensitive roles",
            plan_of(&[dan_roles(
                &json!([{"role_id": MASTER_ADMIN, "division_ids": ["*"]}]),
                &json!({"after_sensitive": {"roles": true}}),
            )]),
            "unknown: `genesyscloud_user_roles.dan`: `roles` is marked sensitive",
        ),
        (
            "sensitive divisions",
            plan_of(&[dan_roles(
                &json!([{"role_id": EMPLOYEE, "division_ids": ["*"]}]),
                &json!({"after_sensitive": {"roles": [{"division_ids": true}]}}),
            )]),
            "unknown: `genesyscloud_user_roles.dan`: `roles[0].division_ids` is marked sensitive",
        ),
        (
            "policies unknown until apply",
            plan_of(&[rc(
                "genesyscloud_auth_role.employee",
                "genesyscloud_auth_role",
                &json!({"before": {"id": EMPLOYEE, "name": "Employee"},
                        "after": {"id": EMPLOYEE, "name": "Employee", "permission_policies": null},
                        "after_unknown": {"permission_policies": true}}),
            )]),
            "unknown: `genesyscloud_auth_role.employee`: `permission_policies` is unknown until apply",
        ),
        (
            "sensitive IP allow-list",
            plan_of(&[auth_settings(
                &json!({"id": "Settings", "multifactor_authentication_required": true, "ip_address_allowlist": ["0.0.0.0/0"]}),
                &json!({"after_sensitive": {"ip_address_allowlist": true}}),
            )]),
            "unknown: `genesyscloud_organization_authentication_settings.org`: `ip_address_allowlist` is marked sensitive",
        ),
        (
            "an identity provider (not modelled, decides who signs in)",
            plan_of(&[rc(
                "genesyscloud_idp_okta.sso",
                "genesyscloud_idp_okta",
                &json!({"actions": ["create"], "after": {"name": "okta"}}),
            )]),
            "unknown: `genesyscloud_idp_okta.sso`: `type` `genesyscloud_idp_okta` is not modelled",
        ),
    ]
}

/// Plans that are not valid `terraform show -json` output for what they claim: refused (exit 2)
/// with the address and the field. (name, plan, what stderr names)
fn invalid_cases() -> Vec<(&'static str, Value, &'static [&'static str])> {
    let dan = |roles: Value| dan_roles(&roles, &json!({}));
    let mut no_type = dan(keep_dan());
    no_type.as_object_mut().unwrap().remove("type");
    let mut type_number = dan(keep_dan());
    type_number["type"] = json!(7);
    let mut no_actions = dan(keep_dan());
    no_actions["change"]
        .as_object_mut()
        .unwrap()
        .remove("actions");
    let mut actions_string = dan(keep_dan());
    actions_string["change"]["actions"] = json!("update");
    let mut actions_word = dan(keep_dan());
    actions_word["change"]["actions"] = json!(["upgrade"]);
    let mut data_mode = dan(json!([{"role_id": MASTER_ADMIN, "division_ids": ["*"]}]));
    data_mode["mode"] = json!("data");
    let mut mode_number = dan(keep_dan());
    mode_number["mode"] = json!(1);
    let mut no_address = dan(keep_dan());
    no_address.as_object_mut().unwrap().remove("address");
    let client = |after: Value| {
        rc(
            "genesyscloud_oauth_client.wfm_sync",
            "genesyscloud_oauth_client",
            &json!({"before": {"id": WFM_SYNC}, "after": after}),
        )
    };
    let wfm_sync = |extra: Value| {
        let mut a = json!({"id": WFM_SYNC, "name": "wfm-sync", "authorized_grant_type": "CLIENT-CREDENTIALS",
                           "state": "active", "roles": [{"role_id": WFM_ROLE, "division_id": HOME}]});
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        client(a)
    };
    vec![
        (
            "type missing",
            plan_of(&[no_type]),
            &["genesyscloud_user_roles.dan", "`type` is missing"],
        ),
        (
            "type a number",
            plan_of(&[type_number]),
            &["genesyscloud_user_roles.dan", "`type` is a number"],
        ),
        (
            "actions missing",
            plan_of(&[no_actions]),
            &["genesyscloud_user_roles.dan", "`change.actions` is missing"],
        ),
        (
            "actions a string",
            plan_of(&[actions_string]),
            &[
                "genesyscloud_user_roles.dan",
                "`change.actions` is a string",
            ],
        ),
        (
            "an action Terraform does not have",
            plan_of(&[actions_word]),
            &["genesyscloud_user_roles.dan", "`upgrade`"],
        ),
        (
            "roles an object",
            plan_of(&[dan(json!({"role_id": MASTER_ADMIN, "division_ids": ["*"]}))]),
            &["genesyscloud_user_roles.dan", "`roles` is an object"],
        ),
        (
            "a data source with a write action",
            plan_of(&[data_mode]),
            &["genesyscloud_user_roles.dan", "`mode`", "`data`"],
        ),
        (
            "mode a number",
            plan_of(&[mode_number]),
            &["genesyscloud_user_roles.dan", "`mode` is a number"],
        ),
        (
            "address missing",
            plan_of(&[no_address]),
            &["resource_changes[0]", "`address` is missing"],
        ),
        (
            "two changes of one address",
            plan_of(&[
                dan(json!([{"role_id": MASTER_ADMIN, "division_ids": ["*"]}])),
                dan(keep_dan()),
            ]),
            &["genesyscloud_user_roles.dan", "twice"],
        ),
        (
            "division_ids a number",
            plan_of(&[dan(json!([{"role_id": EMPLOYEE, "division_ids": 7}]))]),
            &[
                "genesyscloud_user_roles.dan",
                "`roles[0].division_ids` is a number",
            ],
        ),
        (
            "action_set a string",
            plan_of(&[rc(
                "genesyscloud_auth_role.employee",
                "genesyscloud_auth_role",
                &json!({"before": {"id": EMPLOYEE, "name": "Employee"},
                        "after": {"id": EMPLOYEE, "name": "Employee",
                                  "permission_policies": [{"domain": "directory", "entity_name": "*", "action_set": "*"}]}}),
            )]),
            &[
                "genesyscloud_auth_role.employee",
                "`permission_policies[0].action_set` is a string",
            ],
        ),
        (
            "client state a number",
            plan_of(&[wfm_sync(json!({"state": 5}))]),
            &["genesyscloud_oauth_client.wfm_sync", "`state` is a number"],
        ),
        (
            "client scopes a string",
            plan_of(&[wfm_sync(json!({"scopes": "admin"}))]),
            &["genesyscloud_oauth_client.wfm_sync", "`scopes` is a string"],
        ),
        (
            "division home a string",
            plan_of(&[rc(
                "genesyscloud_auth_division.eu",
                "genesyscloud_auth_division",
                &json!({"before": {"id": EU, "name": "Support EU"},
                        "after": {"id": EU, "name": "Support EU", "home": "yes"}}),
            )]),
            &["genesyscloud_auth_division.eu", "`home` is a string"],
        ),
        (
            "MFA a string",
            plan_of(&[auth_settings(
                &json!({"id": "Settings", "multifactor_authentication_required": "false"}),
                &json!({}),
            )]),
            &[
                "genesyscloud_organization_authentication_settings.org",
                "`multifactor_authentication_required` is a string",
            ],
        ),
    ]
}

/// The three gates on one plan: (exit code, output) each.
fn gates(p: &str) -> [(&'static str, Option<i32>, String); 3] {
    let snap = snapshot();
    let (a, out_a, err_a) = run(&["diff", "--snapshot", &snap, "--plan", p, "--no-new-access"]);
    let (b, out_b, err_b) = run(&[
        "diff",
        "--snapshot",
        &snap,
        "--plan",
        p,
        "--deny-new-access",
        "directory:user:add",
    ]);
    let (c, out_c, err_c) = run(&[
        "check",
        "--no-config",
        "--snapshot",
        &snap,
        "--plan",
        p,
        "--new-only",
    ]);
    [
        ("--no-new-access", a, format!("{out_a}{err_a}")),
        ("--deny-new-access", b, format!("{out_b}{err_b}")),
        ("check --new-only", c, format!("{out_c}{err_c}")),
    ]
}

/// The control: a plan read completely that grants nothing passes every gate, so a failure
/// below is the unreadable part's doing.
#[test]
fn a_readable_plan_granting_nothing_passes_every_gate() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "ok.json",
        &plan_of(&[dan_roles(&keep_dan(), &json!({}))]),
    );
    for (gate, code, out) in gates(&p) {
        assert_eq!(code, Some(0), "{gate}: {out}");
    }
}

#[test]
fn every_gate_fails_closed_with_unknown_on_a_plan_it_can_read_only_in_part() {
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    let cases = unknown_cases();
    for (i, (name, doc, want)) in cases.iter().enumerate() {
        let p = write(dir.path(), &format!("u{i}.json"), doc);
        for (gate, code, out) in gates(&p) {
            if code != Some(1) || !out.contains(want) {
                failed.push(format!(
                    "{name}, {gate}: exit {code:?}, want 1 and `{want}`:\n{out}"
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} gate runs passed a plan they could not read:\n{}",
        failed.len(),
        cases.len() * 3,
        failed.join("\n")
    );
}

#[test]
fn a_plan_of_the_wrong_shape_is_refused_naming_the_address_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    let cases = invalid_cases();
    for (i, (name, doc, want)) in cases.iter().enumerate() {
        let p = write(dir.path(), &format!("e{i}.json"), doc);
        for (gate, code, out) in gates(&p) {
            if code != Some(2) || want.iter().any(|w| !out.contains(w)) {
                failed.push(format!(
                    "{name}, {gate}: exit {code:?}, want 2 and {want:?}:\n{out}"
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} gate runs accepted a malformed plan:\n{}",
        failed.len(),
        cases.len() * 3,
        failed.join("\n")
    );
}

/// MFA001 and NET001 check exactly what `genesyscloud_organization_authentication_settings`
/// changes: turning MFA off and emptying the IP allow-list are new findings.
#[test]
fn a_plan_turning_mfa_off_and_emptying_the_ip_allowlist_makes_mfa001_and_net001_new() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "mfa.json",
        &plan_of(&[auth_settings(
            &json!({"id": "Settings", "multifactor_authentication_required": false, "domain_allowlist_enabled": false,
                    "domain_allowlist": [], "ip_address_allowlist": []}),
            &json!({}),
        )]),
    );
    let snap = snapshot();
    let (code, out, err) = run(&[
        "check",
        "--no-config",
        "--snapshot",
        &snap,
        "--plan",
        &p,
        "--new-only",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    for rule in ["MFA001", "NET001"] {
        let f = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule} finding:\n{out}"));
        assert_eq!(f["planChange"], "new", "{f}");
        assert_eq!(
            f["causedBy"],
            json!(["genesyscloud_organization_authentication_settings.org"]),
            "{f}"
        );
    }
    assert!(
        !err.contains("not modelled"),
        "the settings are modelled: {err}"
    );
    // Destroying the resource leaves the settings as they are (the provider's delete does
    // nothing), so nothing is new.
    let mut destroy = auth_settings(&Value::Null, &json!({}));
    destroy["change"]["actions"] = json!(["delete"]);
    let gone = write(dir.path(), "gone.json", &plan_of(&[destroy]));
    let (code, out, err) = run(&[
        "check",
        "--no-config",
        "--snapshot",
        &snap,
        "--plan",
        &gone,
        "--new-only",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
}

/// `--plan` goes through the one bounded reader: a device or a FIFO is refused at once.
#[test]
fn a_plan_that_is_a_device_or_a_fifo_is_refused_without_reading_or_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let snap = snapshot();
    for (p, what) in [
        (PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
    ] {
        let p = p.to_str().unwrap();
        let (code, out, err) = run(&["diff", "--snapshot", &snap, "--plan", p, "--no-new-access"]);
        assert_eq!(code, Some(2), "{p}: {out}{err}");
        assert!(err.contains(what), "{p}: {err}");
    }
}

/// A change-file mistake is an error naming the line: keys of another op, malformed
/// permissions, wrong types, and a revoke of a grant the subject does not hold.
#[test]
fn change_file_mistakes_are_errors_naming_the_line() {
    let before = Org::new(load_snapshot(&fixture("plans/org.json")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let head = "format = \"rolecall.change/1\"\n\n[[change]]\n";
    // (file, body after `head`, line, what the error names); `head` is three lines.
    let cases: [(&str, &str, usize, &str); 8] = [
        ("other-op.toml", "op = \"grant\"\nsubject = \"user:dan.agent@acme.example\"\nrole = \"Employee\"\npermissions = [\"wfm:agent:view\"]\n", 7, "`permissions`"),
        ("div-role.toml", "op = \"create-division\"\nname = \"APAC\"\nrole = \"Employee\"\n", 6, "`role`"),
        ("colons.toml", "op = \"add-permissions\"\nrole = \"Employee\"\npermissions = [\":::\"]\n", 6, "`:::`"),
        ("four.toml", "op = \"create-role\"\nname = \"R\"\npermissions = [\"wfm:agent:view\", \"a:b:c:d\"]\n", 6, "`a:b:c:d`"),
        ("remove.toml", "op = \"remove-permissions\"\nrole = \"Employee\"\npermissions = [\"wfm\"]\n", 6, "`wfm`"),
        ("type.toml", "op = \"grant\"\nsubject = \"user:dan.agent@acme.example\"\nrole = \"Employee\"\ndivision = 7\n", 7, "`division`"),
        ("revoke.toml", "op = \"revoke\"\nsubject = \"user:dan.agent@acme.example\"\nrole = \"Supervisor\"\ndivision = \"Support EU\"\n", 4, "does not hold"),
        ("revoke-client.toml", "op = \"revoke\"\nsubject = \"client:wfm-sync\"\nrole = \"Employee\"\n", 4, "does not hold"),
    ];
    let mut failed = Vec::new();
    for (name, body, line, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{head}{body}")).unwrap();
        let e = match load_change(&p) {
            Err(e) => e.to_string(),
            Ok(set) => match apply(&before, &set) {
                Err(e) => e.to_string(),
                Ok(_) => {
                    failed.push(format!("{name}: accepted"));
                    continue;
                }
            },
        };
        if !e.contains(&format!("line {line}")) || !e.contains(want) {
            failed.push(format!("{name}: want line {line} and {want}: {e}"));
        }
    }
    // JSON change files name the line too.
    let p = dir.path().join("other-op.json");
    std::fs::write(
        &p,
        "{\"format\": \"rolecall.change/1\", \"change\": [\n  {\"op\": \"grant\", \"subject\": \"client:wfm-sync\", \"role\": \"Employee\"},\n  {\"op\": \"client-state\",\n   \"client\": \"wfm-sync\", \"state\": \"inactive\", \"role\": \"Employee\"}\n]}\n",
    )
    .unwrap();
    match load_change(&p) {
        Err(e) if e.to_string().contains("line 4") && e.to_string().contains("`role`") => {}
        other => failed.push(format!("other-op.json: want line 4 and `role`: {other:?}")),
    }
    assert!(
        failed.is_empty(),
        "{} of 9 change-file mistakes not named by line:\n{}",
        failed.len(),
        failed.join("\n")
    );
    // And through the binary: exit 2.
    let p = dir.path().join("revoke.toml");
    let (code, _, err) = run(&[
        "diff",
        "--snapshot",
        &snapshot(),
        "--plan",
        p.to_str().unwrap(),
        "--no-new-access",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 4"), "{err}");
}
