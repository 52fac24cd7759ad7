//! Live fetch against the fake Genesys API: round trip, faults, gaps, credentials, token
//! expiry, atomic output, the request plan, and secrets that never leak.

use std::collections::BTreeSet;

use rolecall::fetch::client::{fetch, FetchOptions};
use rolecall::fetch::credentials::{Auth, Secret};
use rolecall::fetch::plan::{naive_requests, planned_requests, Shape};
use rolecall::model::{load_snapshot, sample, synthetic_org, OrgSnapshot};

use crate::support::fake_genesys::{FakeConfig, FakeGenesys};
use crate::support::rolecall;

fn options(fake: &FakeGenesys, secret: &str) -> FetchOptions {
    FetchOptions {
        api_base: fake.base.clone(),
        login_base: fake.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: "fake-client".into(),
            secret: Secret::new(secret),
        },
        region: None,
        per_minute: 1_000_000,
        concurrency: 8,
        max_attempts: 8,
        progress: None,
    }
}

fn run(
    opts: FetchOptions,
) -> Result<(OrgSnapshot, rolecall::fetch::client::FetchStats), rolecall::fetch::client::FetchError>
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fetch(opts))
}

/// The org as the fetcher can know it: grants as tuples (client rows come from roleDivisions),
/// members only of groups holding roles.
type Essence = [BTreeSet<String>; 5];

fn essence(s: &OrgSnapshot) -> Essence {
    let users = s
        .users
        .iter()
        .map(|u| format!("{} {} {:?} {}", u.id, u.name, u.email, u.state))
        .collect();
    let roles = s
        .roles
        .iter()
        .map(|r| format!("{} {} {:?}", r.id, r.name, r.permission_policies))
        .collect();
    let grants = s
        .grants
        .iter()
        .filter(|g| g.subject_type != "PC_OAUTH_CLIENT")
        .map(|g| {
            format!(
                "{} {} {} {}",
                g.subject_type, g.subject_id, g.role_id, g.division_id
            )
        })
        .collect();
    let holders: BTreeSet<&str> = s
        .grants
        .iter()
        .filter(|g| g.subject_type == "PC_GROUP")
        .map(|g| g.subject_id.as_str())
        .collect();
    let groups = s
        .groups
        .iter()
        .map(|g| {
            let mut m = if holders.contains(g.id.as_str()) {
                g.member_ids.clone()
            } else {
                Vec::new()
            };
            m.sort();
            format!("{} {} {} {:?}", g.id, g.name, g.roles_enabled, m)
        })
        .collect();
    let rest = [
        format!("{:?}", s.oauth_clients),
        format!("{:?}", s.divisions),
        format!("{:?}", s.access_policies),
        format!("{:?}", s.auth_settings),
        // Units carry division references without names, as the API returns them.
        format!(
            "{:?}",
            s.business_units
                .iter()
                .map(|b| (&b.id, &b.name, b.division.as_ref().map(|d| &d.id)))
                .collect::<Vec<_>>()
        ),
        format!(
            "{:?}",
            s.management_units
                .iter()
                .map(|m| (
                    &m.id,
                    &m.name,
                    m.division.as_ref().map(|d| &d.id),
                    m.business_unit.as_ref().map(|b| &b.id)
                ))
                .collect::<Vec<_>>()
        ),
        format!("{:?}", s.organization),
        format!("{}", s.permission_catalog.len()),
    ]
    .into_iter()
    .collect();
    [users, roles, grants, groups, rest]
}

/// Compare part by part, showing only the first difference.
fn same(got: &OrgSnapshot, served: &OrgSnapshot) {
    let (a, b) = (essence(got), essence(served));
    for ((name, x), y) in ["users", "roles", "grants", "groups", "rest"]
        .iter()
        .zip(&a)
        .zip(&b)
    {
        let only_got: Vec<_> = x.difference(y).take(2).collect();
        let only_served: Vec<_> = y.difference(x).take(2).collect();
        assert!(
            only_got.is_empty() && only_served.is_empty(),
            "{name} differ:\n fetched only: {only_got:?}\n served only: {only_served:?}"
        );
    }
}

#[test]
fn round_trip_returns_the_org_it_served() {
    let served = synthetic_org(2_000, 7);
    let fake = FakeGenesys::start(served.clone(), FakeConfig::default());
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    assert!(
        got.coverage.iter().all(|c| c.status == "ok"),
        "{:?}",
        got.coverage
    );
    assert_eq!(got.source.kind, "api");
    assert_eq!(stats.retries, 0);
}

#[test]
fn the_same_org_through_twenty_percent_faults() {
    let served = synthetic_org(1_000, 3);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            fault_rate: 0.2,
            seed: 11,
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    assert!(
        stats.retries > 5,
        "faults were injected and retried: {stats:?}"
    );
}

#[test]
fn request_count_matches_the_plan() {
    let served = synthetic_org(3_000, 5);
    let fake = FakeGenesys::start(served.clone(), FakeConfig::default());
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    let org = rolecall::model::Org::new(got.clone());
    let role_subjects: Vec<usize> = (0..got.roles.len() as u32)
        .map(|r| {
            let subjects: BTreeSet<_> = org.role_holders(r).iter().map(|(s, _)| *s).collect();
            subjects.len()
        })
        .collect();
    let holders: BTreeSet<&str> = served
        .grants
        .iter()
        .filter(|g| g.subject_type == "PC_GROUP")
        .map(|g| g.subject_id.as_str())
        .collect();
    let shape = Shape {
        active_users: served.users.iter().filter(|u| u.state == "active").count(),
        inactive_users: served
            .users
            .iter()
            .filter(|u| u.state == "inactive")
            .count(),
        role_subjects,
        groups: served.groups.len(),
        role_group_members: served
            .groups
            .iter()
            .filter(|g| holders.contains(g.id.as_str()))
            .map(|g| g.member_ids.len())
            .collect(),
        divisions: served.divisions.len(),
        permission_domains: served
            .permission_catalog
            .iter()
            .map(|p| &p.domain)
            .collect::<BTreeSet<_>>()
            .len(),
        policies: served.access_policies.len(),
        subjects: served.users.len() + served.groups.len() + served.oauth_clients.len(),
    };
    assert_eq!(
        stats.requests,
        planned_requests(&shape),
        "log: {:#?}",
        &fake.log()[..20.min(fake.log().len())]
    );
    assert_eq!(fake.log().len(), stats.requests);
    assert!(naive_requests(&shape) > 5 * planned_requests(&shape));
}

#[test]
fn a_forbidden_endpoint_becomes_a_gap_and_rules_say_unknown() {
    let fake = FakeGenesys::start(
        sample().unwrap(),
        FakeConfig {
            denied: vec!["/api/v2/authorization/policies".into()],
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    assert_eq!(stats.gaps, 1);
    let gap = got.coverage.iter().find(|c| c.status != "ok").unwrap();
    assert_eq!(gap.dataset, "accessPolicies");
    assert_eq!(gap.http_status, Some(403));
    assert_eq!(gap.error_code.as_deref(), Some("missing.permissions"));
    assert!(got.access_policies.is_empty());
    let f = crate::support::run_rule("POL001", got, None);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("unknown"), "{}", f[0].message);
}

#[test]
fn token_expiry_mid_fetch_is_recovered() {
    let fake = FakeGenesys::start(
        synthetic_org(1_000, 9),
        FakeConfig {
            token_lifetime: Some(20),
            ..FakeConfig::default()
        },
    );
    let (got, _) = run(options(&fake, "fake-secret")).unwrap();
    assert_eq!(got.users.len(), 1_000);
    let tokens = fake
        .log()
        .iter()
        .filter(|l| l.starts_with("POST /oauth/token"))
        .count();
    assert!(tokens > 1, "the token was renewed");
}

fn cli_fetch(fake: &FakeGenesys, secret: &str, out: &std::path::Path) -> std::process::Output {
    rolecall()
        .args(["fetch", "--api-base", &fake.base, "-o"])
        .arg(out)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "fake-client")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret)
        .env("HOME", out.parent().unwrap())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap()
}

#[test]
fn cli_fetch_then_check_and_secrets_never_leak() {
    const SECRET: &str = "Zq9-very-distinctive-secret-7Xk";
    let fake = FakeGenesys::start(
        sample().unwrap(),
        FakeConfig {
            client_secret: SECRET.into(),
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("org.json");
    let o = cli_fetch(&fake, SECRET, &out);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    let file = std::fs::read_to_string(&out).unwrap();
    for leak in [SECRET, "fake-token-"] {
        assert!(
            !text.contains(leak) && !file.contains(leak),
            "`{leak}` leaked"
        );
    }
    let snap = load_snapshot(&out).unwrap();
    assert_eq!(snap.users.len(), sample().unwrap().users.len());
    let check = rolecall()
        .args(["check", "--no-config", "--snapshot"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&check.stdout).contains("WFM001 wfm-client-division-gap"));
    // Wrong secret: a clear error, exit 2, and the secret still not shown.
    let bad = cli_fetch(&fake, "wrong-Zq9-secret", &dir.path().join("other.json"));
    let err = String::from_utf8_lossy(&bad.stderr).into_owned();
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("authentication failed") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(!err.contains("wrong-Zq9-secret"), "{err}");
    assert!(!dir.path().join("other.json").exists());
}

#[test]
fn an_interrupted_fetch_leaves_the_existing_snapshot_untouched() {
    let fake = FakeGenesys::start(
        sample().unwrap(),
        FakeConfig {
            broken: vec!["/api/v2/groups".into()],
            ..FakeConfig::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("org.json");
    std::fs::write(&out, "the previous good snapshot").unwrap();
    let o = cli_fetch(&fake, "fake-secret", &out);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("failed to fetch `GET /api/v2/groups") && err.contains("attempt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "the previous good snapshot"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}
