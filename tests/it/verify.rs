//! `rolecall verify` against the fake Genesys API: full agreement on an org whose access comes
//! through every path (direct, group, `*`, wildcard, a group that passes no roles, none, the
//! fetching client), planted disagreements named with both sides and a cause, `--max-requests`
//! counted in the fake's request log, a refused endpoint, the stored result shown by `check`
//! and `explain`, and a secret that never shows.

use std::path::Path;
use std::process::Output;

use rolecall::internals::model::{save_snapshot, Org, OrgBuilder, OrgSnapshot};
use rolecall::internals::verify::{plan, Asked, Cause, PlanOptions, Way};

use crate::support::fake_genesys::{FakeConfig, FakeGenesys, PermittedOverride};
use crate::support::rolecall;

const CLIENT: &str = "client-verifier";

/// Access through every path the model knows.
fn every_path_org() -> OrgSnapshot {
    OrgBuilder::new("Verify Org")
        .division("Home")
        .division("Support EU")
        .division("Sales")
        .role("Agent Editor", &["wfm:agent:edit", "wfm:agent:view"])
        .role("Routing Viewer", &["routing:*:view"])
        .role("Queue Admin", &["routing:queue:edit"])
        .role("Auditor", &["directory:user:view"])
        .user("Ann", "ann@x.example", "active")
        .user("Bob", "bob@x.example", "active")
        .user("Cat", "cat@x.example", "active")
        .user("Dan", "dan@x.example", "active")
        .user("Eve", "eve@x.example", "active")
        .user("Fay", "fay@x.example", "active")
        .group("Schedulers", true, &["bob@x.example"])
        .group("Quiet", false, &["fay@x.example"])
        .grant_user("ann@x.example", "Agent Editor", "Support EU")
        .grant_group("Schedulers", "Agent Editor", "Sales")
        .grant_user("cat@x.example", "Auditor", "*")
        .grant_user("dan@x.example", "Routing Viewer", "Home")
        .grant_group("Quiet", "Queue Admin", "Home")
        .client(
            "verifier",
            "CLIENT-CREDENTIALS",
            &[("Auditor", "Home"), ("Agent Editor", "*")],
        )
        .catalog("wfm:agent:edit", true)
        .catalog("wfm:agent:view", true)
        .catalog("routing:queue:view", true)
        .catalog("routing:skill:view", true)
        .catalog("routing:queue:edit", true)
        .catalog("directory:user:view", false)
        .build()
}

fn fake(org: OrgSnapshot, cfg: FakeConfig) -> FakeGenesys {
    FakeGenesys::start(
        org,
        FakeConfig {
            client_id: CLIENT.into(),
            ..cfg
        },
    )
}

fn verify_cli(fake: &FakeGenesys, secret: &str, home: &Path, args: &[&str]) -> Output {
    rolecall()
        .args(["verify", "--no-config", "--api-base", &fake.base])
        // The budget's pacing is the benchmark's subject; here it would only slow the tests.
        .args(["--rate", "60000"])
        .args(args)
        .current_dir(home)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT)
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("HOME", home)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, snap: &OrgSnapshot) -> std::path::PathBuf {
    let p = dir.join("org.json");
    save_snapshot(snap, &p).unwrap();
    p
}

#[test]
fn the_plan_stands_one_user_for_every_way_of_holding_access() {
    let org = Org::new(every_path_org());
    let p = plan(
        &org,
        &PlanOptions {
            caller: Some(CLIENT.into()),
            max_requests: 200,
            token_request: true,
            ..PlanOptions::default()
        },
    )
    .unwrap();
    let ways: Vec<Way> = p.subjects.iter().flat_map(|(_, w)| w.clone()).collect();
    let group = |n: &str| org.group(n).unwrap();
    for w in [
        Way::Direct,
        Way::Group(group("Schedulers")),
        Way::GroupWithoutRoles(group("Quiet")),
        Way::AllDivisions,
        Way::Wildcard,
        Way::NoGrants,
        Way::Caller,
    ] {
        assert!(ways.contains(&w), "{w:?} missing from {ways:?}");
    }
    // The wildcard is asked through the catalog's concrete permissions it covers.
    let dan = org.user("dan@x.example").unwrap();
    assert!(p
        .pairs
        .iter()
        .any(|x| x.asked == Asked::User(dan) && x.permission == "routing:queue:view"));
    assert_eq!(
        p.requests,
        1 + p.pairs.len(),
        "one page per pair, one token"
    );
    assert_eq!(p.left_out, 0);
}

#[test]
fn a_fetch_then_verify_agrees_on_every_path_and_saves_the_result() {
    let fake = fake(every_path_org(), FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fetched.json");
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &["--save", "-o", out.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let pairs = fake
        .log()
        .iter()
        .filter(|l| l.contains("/divisionspermitted/paged/"))
        .count();
    assert!(pairs >= 10, "{pairs} pairs asked");
    let headline = stdout.lines().next().unwrap();
    assert!(
        headline.starts_with(&format!(
            "model agrees with the platform on {pairs} of {pairs} pairs ("
        )),
        "{headline}"
    );
    for way in [
        "direct grants",
        "grants through group `Schedulers`",
        "group `Quiet`, which passes no roles on",
        "a grant in all divisions (`*`)",
        "a wildcard role permission",
        "no grants",
        "the fetching client itself",
    ] {
        assert!(stderr.contains(way), "plan lacks `{way}`: {stderr}");
    }
    assert!(fake
        .log()
        .iter()
        .any(|l| l.contains("/divisionspermitted/paged/me?")));
    let saved = rolecall::internals::model::load_snapshot(&out).unwrap();
    let v = saved.verification.unwrap();
    assert_eq!((v.pairs, v.agreements, v.disagreements), (pairs, pairs, 0));
}

#[test]
fn planted_disagreements_name_the_pair_both_answers_and_the_cause() {
    let org = every_path_org();
    let id = |email: &str| format!("user-{}", rolecall::internals::model::slug(email));
    let fake = fake(
        org.clone(),
        FakeConfig {
            permitted_overrides: vec![
                PermittedOverride {
                    subject: id("ann@x.example"),
                    permission: "wfm:agent:edit".into(),
                    divisions: vec!["div-home".into()],
                    all: false,
                },
                PermittedOverride {
                    subject: id("bob@x.example"),
                    permission: "wfm:agent:edit".into(),
                    divisions: vec![],
                    all: false,
                },
                PermittedOverride {
                    subject: id("dan@x.example"),
                    permission: "routing:queue:view".into(),
                    divisions: vec![],
                    all: false,
                },
            ],
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), &org);
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(": 3 disagreements"), "{stdout}");
    let block = |who: &str, perm: &str| {
        let start = stdout
            .find(&format!("disagreement: user `{who}`, `{perm}`"))
            .unwrap_or_else(|| panic!("no disagreement for {who}: {stdout}"));
        stdout[start..].split("\n\n").next().unwrap().to_owned()
    };
    let ann = block("Ann", "wfm:agent:edit");
    assert!(ann.contains("platform: Home"), "{ann}");
    assert!(ann.contains("rolecall: Support EU"), "{ann}");
    assert!(
        ann.contains("grants used: role `Agent Editor` in division `Support EU`"),
        "{ann}"
    );
    assert!(ann.contains("likely cause: the snapshot is older"), "{ann}");
    let bob = block("Bob", "wfm:agent:edit");
    assert!(bob.contains("platform: none"), "{bob}");
    assert!(bob.contains("through group `Schedulers`"), "{bob}");
    assert!(
        bob.contains("group inheritance is read differently"),
        "{bob}"
    );
    let dan = block("Dan", "routing:queue:view");
    assert!(dan.contains("(by a wildcard)"), "{dan}");
    assert!(dan.contains("a wildcard role permission is read"), "{dan}");
    // What a person sees, whole (the run's duration filtered).
    insta::with_settings!({ filters => vec![(r"in \d+\.\d s", "in [TIME]")] }, {
        insta::assert_snapshot!("verify_disagreements_human", stdout);
    });

    // The same as `rolecall.verify/1`.
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["format"], "rolecall.verify/1");
    assert_eq!(doc["summary"]["disagreements"], 3);
    let causes: Vec<&str> = doc["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["result"] == "disagree")
        .map(|p| p["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes.len(),
        3,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap()
    );
    for c in ["stale-snapshot", "group-inheritance", "wildcard"] {
        assert!(causes.contains(&c), "{causes:?}");
    }
}

#[test]
fn the_causes_of_star_and_awareness_differences_are_named() {
    use rolecall::internals::model::Permission;
    use rolecall::internals::verify::{disagreement, model_answer, PlatformSide};
    let org = Org::new(every_path_org());
    let cat = rolecall::internals::model::SubjectRef::User(org.user("cat@x.example").unwrap());
    let p = Permission::parse("directory:user:view").unwrap();
    let m = model_answer(&org, cat, &p);
    assert!(m.all);
    let side = |ids: &[&str], all: bool| PlatformSide {
        division_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        all_divs_permitted: all,
        complete: true,
    };
    assert_eq!(disagreement(&org, cat, &p, &m, &side(&[], true)), None);
    assert_eq!(
        disagreement(&org, cat, &p, &m, &side(&["div-home"], false)),
        Some(Cause::AllDivisions)
    );
    // Dan holds `routing:*:view` in Home; the platform saying every division for a permission
    // the catalog does not list reads as division-awareness.
    let dan = rolecall::internals::model::SubjectRef::User(org.user("dan@x.example").unwrap());
    let unlisted = Permission::parse("routing:wrapupcode:view").unwrap();
    let m = model_answer(&org, dan, &unlisted);
    assert_eq!(
        disagreement(&org, dan, &unlisted, &m, &side(&[], true)),
        Some(Cause::DivisionAwareness)
    );
    // A division the snapshot never saw: the org changed since.
    let m = model_answer(&org, dan, &Permission::parse("routing:queue:view").unwrap());
    assert_eq!(
        disagreement(
            &org,
            dan,
            &Permission::parse("routing:queue:view").unwrap(),
            &m,
            &side(&["div-home", "div-new"], false)
        ),
        Some(Cause::StaleSnapshot)
    );
}

#[test]
fn max_requests_is_never_exceeded_even_with_retries() {
    let org = every_path_org();
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), &org);
    // Without faults: the token and four pairs, exactly.
    let clean = fake(org.clone(), FakeConfig::default());
    let o = verify_cli(
        &clean,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap(), "--max-requests", "5"],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(clean.log().len(), 5, "{:?}", clean.log());
    assert!(stderr.contains("plan: 4 pairs"), "{stderr}");
    assert!(stderr.contains("at most 5 requests"), "{stderr}");
    assert!(
        stdout.contains("pairs not asked (--max-requests)"),
        "{stdout}"
    );
    // With half the requests failing: retries count too, and the rest is unknown, never "agree".
    let faulty = fake(
        org,
        FakeConfig {
            fault_rate: 0.5,
            seed: 11,
            ..FakeConfig::default()
        },
    );
    let o = verify_cli(
        &faulty,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap(), "--max-requests", "7"],
    );
    let (stdout, stderr) = text(&o);
    assert!(faulty.log().len() <= 7, "{:?}", faulty.log());
    assert!(!faulty.faults().is_empty(), "no fault was injected");
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("unknown (the platform's answer could not be had)"),
        "{stdout}"
    );
}

#[test]
fn a_refused_endpoint_is_a_clear_error_naming_what_the_catalog_says() {
    let org = every_path_org();
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), &org);
    let fake = fake(
        org,
        FakeConfig {
            denied: vec!["/api/v2/authorization/divisionspermitted".into()],
            ..FakeConfig::default()
        },
    );
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr
            .contains("the platform refused `GET /api/v2/authorization/divisionspermitted/paged/")
            && stderr.contains("403 `missing.permissions`"),
        "{stderr}"
    );
    assert!(stderr.contains("operation catalog"), "{stderr}");
    // The platform's own words are passed on.
    assert!(stderr.contains("the platform said:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_stored_verification_is_shown_by_check_and_explain() {
    let org = every_path_org();
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), &org);
    let check = |format: &str| {
        rolecall()
            .args(["check", "--no-config", "--format", format, "--snapshot"])
            .arg(&snap)
            .output()
            .unwrap()
    };
    let before = String::from_utf8_lossy(&check("human").stdout).into_owned();
    assert!(
        before.contains("model not verified against the platform"),
        "{before}"
    );
    let fake = fake(org, FakeConfig::default());
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &["--snapshot", snap.to_str().unwrap(), "--save"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let pairs = fake
        .log()
        .iter()
        .filter(|l| l.contains("/divisionspermitted/paged/"))
        .count();
    let line = format!("model verified against the platform: {pairs}/{pairs} pairs, ");
    let human = String::from_utf8_lossy(&check("human").stdout).into_owned();
    assert!(human.contains(&line), "{human}");
    assert!(human.contains("after this snapshot"), "{human}");
    let md = String::from_utf8_lossy(&check("markdown").stdout).into_owned();
    assert!(md.contains(&line), "{md}");
    let html = String::from_utf8_lossy(&check("html").stdout).into_owned();
    assert!(
        html.contains(&format!("<dd id=\"verification\">{line}")),
        "no verification line in the HTML header"
    );
    let json: serde_json::Value = serde_json::from_slice(&check("json").stdout).unwrap();
    assert_eq!(json["verification"]["pairs"], pairs);
    assert_eq!(json["verification"]["disagreements"], 0);
    let explain = rolecall()
        .args([
            "explain",
            "--as",
            "user:ann@x.example",
            "--op",
            "GET /api/v2/users",
            "--snapshot",
        ])
        .arg(&snap)
        .output()
        .unwrap();
    let ex = String::from_utf8_lossy(&explain.stdout).into_owned();
    assert!(ex.contains(&line), "{ex}");
}

#[test]
fn secrets_never_show_in_verify_output() {
    const SECRET: &str = "Vv7-very-distinctive-verify-secret-3Qp";
    let org = every_path_org();
    let fake = fake(
        org.clone(),
        FakeConfig {
            client_secret: SECRET.into(),
            permitted_overrides: vec![PermittedOverride {
                subject: "me".into(),
                permission: "directory:user:view".into(),
                divisions: vec![],
                all: false,
            }],
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), &org);
    for (secret, format) in [
        (SECRET, "human"),
        (SECRET, "json"),
        ("wrong-Vv7-secret", "human"),
    ] {
        let o = verify_cli(
            &fake,
            secret,
            dir.path(),
            &["--snapshot", snap.to_str().unwrap(), "--format", format],
        );
        let (stdout, stderr) = text(&o);
        let expected = if secret == SECRET { 1 } else { 2 };
        assert_eq!(o.status.code(), Some(expected), "{stdout}\n{stderr}");
        for leak in [SECRET, "wrong-Vv7", "fake-token-"] {
            assert!(
                !stdout.contains(leak) && !stderr.contains(leak),
                "`{leak}` leaked"
            );
        }
    }
    let saved = std::fs::read_to_string(&snap).unwrap();
    assert!(!saved.contains(SECRET));
}

#[test]
fn a_user_deleted_since_the_snapshot_is_unknown_and_an_empty_plan_is_an_error() {
    let served = every_path_org();
    let mut snap = served.clone();
    snap.users.push(rolecall::internals::model::User {
        id: "user-gone".into(),
        name: "Gus".into(),
        email: Some("gus@x.example".into()),
        username: None,
        state: "active".into(),
        division: None,
        ..rolecall::internals::model::User::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &snap);
    let fake = fake(served, FakeConfig::default());
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &[
            "--snapshot",
            file.to_str().unwrap(),
            "--subjects",
            "gus@x.example",
            "--permissions",
            "wfm:agent:edit",
        ],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("unknown: user `Gus`, `wfm:agent:edit`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("does not know this subject (404)"),
        "{stdout}"
    );

    let empty = Org::new(OrgBuilder::new("Empty").division("Home").build());
    let err = plan(
        &empty,
        &PlanOptions {
            max_requests: 200,
            ..PlanOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("nothing to verify"), "{err}");
}

#[test]
fn a_listing_longer_than_rolecall_answer_is_a_disagreement_read_no_further() {
    // 30 divisions: Ann holds the permission in one, the platform (planted) says all 30 but
    // not `allDivsPermitted`. One page was planned for her answer; the second is never read.
    let mut b = OrgBuilder::new("Many Divisions");
    for i in 0..30 {
        b = b.division(&format!("D{i:02}"));
    }
    let org = b
        .role("Agent Editor", &["wfm:agent:edit"])
        .user("Ann", "ann@x.example", "active")
        .grant_user("ann@x.example", "Agent Editor", "D05")
        .catalog("wfm:agent:edit", true)
        .build();
    let every: Vec<String> = org.divisions.iter().map(|d| d.id.clone()).collect();
    let fake = fake(
        org.clone(),
        FakeConfig {
            permitted_overrides: vec![PermittedOverride {
                subject: "user-ann-x-example".into(),
                permission: "wfm:agent:edit".into(),
                divisions: every,
                all: false,
            }],
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &org);
    let o = verify_cli(
        &fake,
        "fake-secret",
        dir.path(),
        &[
            "--snapshot",
            file.to_str().unwrap(),
            "--permissions",
            "wfm:agent:edit",
        ],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("plan: 1 pair"), "{stderr}");
    assert!(
        stdout.contains("disagreement: user `Ann`, `wfm:agent:edit`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(", and more (the listing is longer"),
        "{stdout}"
    );
    assert!(stdout.contains("rolecall: D05"), "{stdout}");
    let pages: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|l| l.contains("/divisionspermitted/paged/"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
}
