//! Live fetch against the fake Genesys API: round trip, faults, gaps, credentials, token
//! expiry, atomic output, the request plan, and secrets that never leak.

use std::collections::BTreeSet;

use rolecall::internals::fetch::client::{fetch, FetchOptions};
use rolecall::internals::fetch::credentials::{Auth, Secret};
use rolecall::internals::fetch::plan::{naive_requests, planned_requests};
use rolecall::internals::model::{load_snapshot, sample, synthetic_org, OrgSnapshot};

use crate::support::fake_genesys::{plan_shape, FakeConfig, FakeGenesys, FAULT_KINDS};
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
        max_body_bytes: rolecall::internals::fetch::client::DEFAULT_MAX_BODY,
        max_pages: rolecall::internals::fetch::client::DEFAULT_MAX_PAGES,
        attempt_timeout: rolecall::internals::fetch::client::DEFAULT_ATTEMPT_TIMEOUT,
        max_wait: rolecall::internals::fetch::client::MAX_RETRY_AFTER,
    }
}

fn run(
    opts: FetchOptions,
) -> Result<
    (OrgSnapshot, rolecall::internals::fetch::client::FetchStats),
    rolecall::internals::fetch::client::FetchError,
> {
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
                    m.business_unit.as_ref().map(|b| &b.id),
                    m.user_ids.iter().collect::<BTreeSet<_>>()
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
    let served = synthetic_org(3_000, 3);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            fault_rate: 0.2,
            seed: 12,
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    // The fake draws its faults from one seeded sequence, so which kinds occur does not depend
    // on the order requests arrive in.
    let faults = fake.faults();
    for kind in FAULT_KINDS {
        assert!(
            faults.get(kind).is_some_and(|&n| n > 0),
            "no `{kind}` in {faults:?}"
        );
    }
    let failed: usize = faults
        .iter()
        .filter(|(k, _)| **k != "slow")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        stats.retries, failed,
        "every failed request was retried once: {faults:?}"
    );
    assert_eq!(stats.rate_limited, faults["429 burst"]);
}

#[test]
fn a_binding_server_rate_limit_is_followed_from_its_headers() {
    let served = synthetic_org(1_000, 8);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            rate_limit: Some((25, std::time::Duration::from_secs(1))),
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    // The client's own rate is unlimited here; what keeps it out of 429s is the
    // `inin-ratelimit-*` headers: it stops when the window is used up, counting requests out.
    let limited = fake.faults().get("429 rate limit").copied().unwrap_or(0);
    assert_eq!((stats.rate_limited, limited), (0, 0), "{stats:?}");
    assert_eq!(stats.requests, planned_requests(&plan_shape(&served)));
    // The plan needs more requests than one window allows, so the fetch waited for a reset.
    assert!(stats.requests > 25 + 1 && stats.elapsed >= std::time::Duration::from_secs(1));
}

#[test]
fn without_rate_headers_429s_are_waited_out_and_repeated() {
    let served = synthetic_org(1_000, 8);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            // A window long enough that no machine is too slow to overrun it.
            rate_limit: Some((25, std::time::Duration::from_secs(2))),
            rate_headers: false,
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    let limited = fake.faults().get("429 rate limit").copied().unwrap_or(0);
    assert!(limited > 0, "the limit was hit");
    assert_eq!(stats.rate_limited, limited);
    assert_eq!(stats.retries, limited);
    // The plan's requests plus one repeat per 429, and nothing else.
    assert_eq!(
        stats.requests,
        planned_requests(&plan_shape(&served)) + limited
    );
}

#[test]
fn request_count_matches_the_plan() {
    let served = synthetic_org(3_000, 5);
    let fake = FakeGenesys::start(served.clone(), FakeConfig::default());
    let (_, stats) = run(options(&fake, "fake-secret")).unwrap();
    let shape = plan_shape(&served);
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
fn inactive_users_past_the_listing_limit_that_hold_roles_are_read_by_id() {
    let mut served = synthetic_org(200, 4);
    let role = served.roles[0].id.clone();
    let group = served
        .groups
        .iter()
        .find(|g| served.grants.iter().any(|x| x.subject_id == g.id))
        .map(|g| g.id.clone())
        .unwrap();
    for i in 0..10_250 {
        served.users.push(rolecall::internals::model::User {
            id: format!("inactive-{i:05}"),
            name: format!("Former {i}"),
            state: "inactive".into(),
            ..rolecall::internals::model::User::default()
        });
    }
    // Listed last, so past the limit: one holds a role directly, one through a group.
    served.grants.push(rolecall::internals::model::Grant {
        subject_id: "inactive-10200".into(),
        subject_type: "PC_USER".into(),
        role_id: role,
        division_id: "*".into(),
    });
    served
        .groups
        .iter_mut()
        .find(|g| g.id == group)
        .unwrap()
        .member_ids
        .push("inactive-10240".into());
    let fake = FakeGenesys::start(served.clone(), FakeConfig::default());
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    let shape = plan_shape(&served);
    assert_eq!(shape.unlisted_users, 2);
    assert_eq!(stats.requests, planned_requests(&shape));
    let ids: BTreeSet<&str> = got.users.iter().map(|u| u.id.as_str()).collect();
    assert!(ids.contains("inactive-10200") && ids.contains("inactive-10240"));
    // The listing stopped at the limit instead of asking for a page the API refuses.
    let inactive = served
        .users
        .iter()
        .filter(|u| u.state == "inactive")
        .count();
    assert!(inactive > 10_000);
    let listed_inactive = got.users.iter().filter(|u| u.state == "inactive").count();
    assert_eq!(listed_inactive, 10_000 + 2);
    let log = fake.log();
    assert!(log
        .iter()
        .any(|l| l.contains("id=inactive-10200") && l.contains("id=inactive-10240")));
    assert!(!log
        .iter()
        .any(|l| l.contains("state=inactive") && l.contains("pageNumber=21")));
    let note = got
        .coverage
        .iter()
        .find(|c| c.endpoint == "GET /api/v2/users?id")
        .unwrap();
    assert_eq!(note.status, "ok");
    assert!(note.message.as_deref().unwrap().contains("the 2 of them"));
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
    // The sample's catalog lacks the endpoint; the plan's table names the permission.
    assert_eq!(gap.permission.as_deref(), Some("authorization:policy:view"));
    assert!(got.access_policies.is_empty());
    let f = crate::support::run_rule("POL001", got, None);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("unknown"), "{}", f[0].message);
    assert_eq!(
        f[0].fix.as_deref(),
        Some("grant the fetching client `authorization:policy:view`, then fetch again")
    );
}

/// Issue 11, item 3: each management unit's agents are fetched (one request per unit); a unit
/// whose members the client may not read is a gap like any other, naming its permission.
#[test]
fn management_unit_agents_are_fetched_and_a_refusal_is_a_gap() {
    let served = synthetic_org(400, 3);
    assert!(served
        .management_units
        .iter()
        .any(|m| !m.user_ids.is_empty()));
    let fake = FakeGenesys::start(served.clone(), FakeConfig::default());
    let (got, _) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    let unit = &served.management_units[0];
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            denied: vec![format!(
                "/api/v2/workforcemanagement/managementunits/{}/users",
                unit.id
            )],
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    assert_eq!(stats.gaps, 1);
    let gap = got.coverage.iter().find(|c| c.status != "ok").unwrap();
    assert_eq!(gap.dataset, "managementUnitMembers");
    assert_eq!(gap.http_status, Some(403));
    assert!(gap
        .permission
        .as_deref()
        .is_some_and(|p| p.starts_with("wfm:agent:view or ")));
    assert!(got.management_units[0].user_ids.is_empty());
}

#[test]
fn token_expiry_mid_fetch_is_recovered() {
    let served = synthetic_org(1_000, 9);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            token_lifetime: Some(20),
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    assert_eq!(got.users.len(), 1_000);
    // Every request resent after the 401 counts as a retry (issue 11: they were not counted).
    let gets = fake.log().iter().filter(|l| l.starts_with("GET ")).count();
    let planned_gets = planned_requests(&plan_shape(&served)) - 1;
    assert!(stats.retries > 0);
    assert_eq!(stats.retries, gets - planned_gets);
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
        // A token in the caller's environment would come first.
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
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
    // Trace logging was on: requests, token renewals and rate headers were all logged.
    assert!(
        text.contains("GET /api/v2/users?state=active") && text.contains("TRACE"),
        "{text}"
    );
    assert!(
        text.contains("POST") && text.contains("/oauth/token"),
        "{text}"
    );
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

#[test]
fn check_live_with_a_gc_profile_reports_findings_and_gaps() {
    const SECRET: &str = "Pq4-profile-secret-distinct-9Lm";
    let fake = FakeGenesys::start(
        sample().unwrap(),
        FakeConfig {
            client_id: "profile-client".into(),
            client_secret: SECRET.into(),
            denied: vec!["/api/v2/authorization/policies".into()],
            ..FakeConfig::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".gc")).unwrap();
    std::fs::write(
        home.path().join(".gc/config.toml"),
        format!(
            "[DEFAULT]\nenvironment = \"mypurecloud.ie\"\nclient_credentials = \"wrong\"\nclient_secret = \"wrong\"\n\n\
             [audit]\nenvironment = \"mypurecloud.ie\"\nclient_credentials = \"profile-client\"\nclient_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let o = rolecall()
        .args(["check", "--no-config", "--live", "--profile", "audit"])
        .args(["--api-base", &fake.base])
        .env("HOME", home.path())
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("gc profile `audit`"), "{err}");
    assert!(out.contains("WFM001 wfm-client-division-gap"), "{out}");
    // The refused endpoint is listed, and the rule that needs it says unknown, not clean.
    assert!(
        out.contains("GET /api/v2/authorization/policies (accessPolicies): 403 `missing.permissions`, needs `authorization:policy:view`"),
        "{out}"
    );
    assert!(
        out.contains("unknown: the snapshot could not read"),
        "{out}"
    );
    for leak in [SECRET, "fake-token-"] {
        assert!(
            !out.contains(leak) && !err.contains(leak),
            "`{leak}` leaked"
        );
    }
}

/// `rolecall` with no `GENESYSCLOUD_*` variable from the caller's environment, and `home` as
/// `$HOME` (where `~/.gc/config.toml` is looked for).
fn rolecall_at_home(home: &std::path::Path) -> std::process::Command {
    let mut c = rolecall();
    c.env("HOME", home);
    for v in [
        "GENESYSCLOUD_REGION",
        "GENESYSCLOUD_OAUTHCLIENT_ID",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET",
        "GENESYSCLOUD_ACCESS_TOKEN",
    ] {
        c.env_remove(v);
    }
    c
}

fn write_gc_config(home: &std::path::Path, text: &str) {
    std::fs::create_dir_all(home.join(".gc")).unwrap();
    std::fs::write(home.join(".gc/config.toml"), text).unwrap();
}

#[test]
fn the_default_profile_as_gc_writes_it_is_found() {
    const SECRET: &str = "Wd3-lowercase-default-secret-8Rt";
    let fake = FakeGenesys::start(
        sample().unwrap(),
        FakeConfig {
            client_id: "gc-client".into(),
            client_secret: SECRET.into(),
            ..FakeConfig::default()
        },
    );
    let home = tempfile::tempdir().unwrap();
    // What `gc profiles new` leaves after a client-credentials login a day ago: viper wrote the
    // profile `DEFAULT` as `[default]`, and the cached token has expired, so (as gc does) the
    // client credentials are used again.
    write_gc_config(
        home.path(),
        &format!(
            "[default]\naccess_token = ''\nclient_credentials = 'gc-client'\nclient_secret = '{SECRET}'\n\
             environment = 'mypurecloud.ie'\ngrant_type = '1'\n\
             oauth_token_data = '{{\"access_token\":\"tok-stale-Hq2\",\"token_type\":\"bearer\",\"expires_in\":86399,\"error\":\"\",\"oauth_token_expiry\":\"2020-01-01T09:00:00+01:00\"}}'\n\
             redirect_uri = ''\nsecure_login_enabled = false\n"
        ),
    );
    let out = home.path().join("org.json");
    let o = rolecall_at_home(home.path())
        .args(["fetch", "--api-base", &fake.base, "-o"])
        .arg(&out)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("with credentials from gc profile `default` (client credentials)"),
        "{err}"
    );
    assert!(
        err.contains("the cached login token expired at `2020-01-01T08:00:00Z`"),
        "{err}"
    );
    for leak in [SECRET, "tok-stale", "fake-token-"] {
        assert!(!err.contains(leak), "`{leak}` leaked: {err}");
    }
}

#[test]
fn an_expired_browser_login_asks_to_log_in_again_with_gc() {
    let home = tempfile::tempdir().unwrap();
    write_gc_config(
        home.path(),
        "[audit]\naccess_token = ''\nclient_credentials = 'pkce-client'\nclient_secret = ''\n\
         environment = 'mypurecloud.de'\ngrant_type = '3'\n\
         oauth_token_data = '{\"access_token\":\"tok-pkce-Vb5\",\"token_type\":\"bearer\",\"expires_in\":86399,\"error\":\"\",\"oauth_token_expiry\":\"2020-01-01T09:00:00Z\"}'\n\
         redirect_uri = 'http://localhost:0'\nsecure_login_enabled = false\n",
    );
    let o = rolecall_at_home(home.path())
        .args(["fetch", "--profile", "AUDIT", "-o"])
        .arg(home.path().join("org.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "the login token gc cached for profile `audit` expired at `2020-01-01T09:00:00Z`"
        ),
        "{err}"
    );
    assert!(err.contains("gc users me get --profile audit"), "{err}");
    assert!(!err.contains("tok-pkce"), "{err}");
    assert!(!home.path().join("org.json").exists());
}

#[test]
fn a_base_url_whose_host_follows_an_at_sign_is_refused_before_any_connection() {
    // Every proxy variable points at a listener of ours: had rolecall sent a request to
    // `evil.example` (over plain http, with the token), it would have arrived here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let home = tempfile::tempdir().unwrap();
    let mut cmd = rolecall_at_home(home.path());
    cmd.args([
        "fetch",
        "--api-base",
        "http://127.0.0.1:80@evil.example/",
        "-o",
    ])
    .arg(home.path().join("org.json"))
    .env("GENESYSCLOUD_ACCESS_TOKEN", "tok-Jm6-would-leak");
    for v in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(v, &proxy);
    }
    let o = cmd
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    // The report wraps at the terminal width; its words are what matter.
    let err = String::from_utf8_lossy(&o.stderr)
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "refused `--api-base`: `http://…@evil.example/` has a user name or password before its host `evil.example`"
        ),
        "{err}"
    );
    assert!(!err.contains("tok-Jm6"), "{err}");
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "rolecall connected"
    );
    assert!(!home.path().join("org.json").exists());
}

/// Issue 15: each family's page size is learned from the server's 400s (both documented forms),
/// once per fetch even with hundreds of concurrent requests, recorded in the statistics and the
/// snapshot, and counted exactly by the plan; the snapshot is the org whatever the sizes.
#[test]
fn page_sizes_are_learned_once_per_family_and_the_org_is_the_same() {
    use crate::support::fake_genesys::{plan_shape_with, PageLimits};
    use rolecall::internals::fetch::plan::learned;
    let served = synthetic_org(2_000, 7);
    // Users take the documented 500 in every case: that size is not learned.
    let smallest = PageLimits {
        users: 500,
        ..PageLimits::uniform(25)
    };
    for limits in [PageLimits::default(), PageLimits::uniform(500), smallest] {
        let fake = FakeGenesys::start(
            served.clone(),
            FakeConfig {
                page_limits: limits.clone(),
                ..FakeConfig::default()
            },
        );
        let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
        same(&got, &served);
        assert_eq!(
            stats.requests,
            planned_requests(&plan_shape_with(&served, &limits)),
            "{limits:?}"
        );
        let size_of = |family: &str| {
            stats
                .page_sizes
                .iter()
                .find(|p| p.family == family)
                .map(|p| (p.size, p.learning_requests))
        };
        assert_eq!(size_of("roles"), Some(learned(limits.roles)), "{limits:?}");
        assert_eq!(
            size_of("subjectgrants"),
            Some(learned(limits.subject_grants))
        );
        assert_eq!(
            size_of("divisions"),
            Some(learned(limits.divisions)),
            "the pageSize-naming 400"
        );
        assert_eq!(
            size_of("users"),
            Some((500, 0)),
            "a size known from the facts is not probed"
        );
        assert_eq!(got.source.page_sizes, stats.page_sizes);
        // Hundreds of roles' grants at once: the oversized size was asked once, not per role.
        if limits.subject_grants < 500 {
            let probes = fake
                .log()
                .iter()
                .filter(|l| l.contains("/subjectgrants?pageSize=500"))
                .count();
            assert_eq!(probes, 1);
        }
    }
}

/// A learned size refused later (the limit is on the response's size, and later pages are
/// bigger) steps the family down and reads the listing again, instead of failing the fetch.
#[test]
fn a_later_refusal_steps_the_size_down_and_the_org_is_the_same() {
    use crate::support::fake_genesys::PageLimits;
    // 400 users: one page of users; the default role's ~400 holders need two pages at 250.
    let served = synthetic_org(400, 7);
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            page_limits: PageLimits {
                users: 500,
                ..PageLimits::uniform(250)
            },
            later_page_limit: Some(100),
            ..FakeConfig::default()
        },
    );
    let (got, stats) = run(options(&fake, "fake-secret")).unwrap();
    same(&got, &served);
    let grants = stats
        .page_sizes
        .iter()
        .find(|p| p.family == "subjectgrants")
        .unwrap();
    assert_eq!(grants.size, 100, "{:?}", stats.page_sizes);
    // One refusal while probing (500), one later (a second page at 250).
    assert_eq!(grants.learning_requests, 2);
}

/// A hostile or broken server cannot make the fetcher read without end, page without end, or
/// give up on a login that failed for a moment (issue 12, item 9).
mod hostile_servers {
    use super::*;

    #[test]
    fn an_endless_body_is_stopped_at_the_cap_with_an_error_naming_the_endpoint() {
        let fake = FakeGenesys::start(
            sample().unwrap(),
            FakeConfig {
                endless: vec!["/api/v2/authorization/roles".into()],
                ..FakeConfig::default()
            },
        );
        let mut opts = options(&fake, "fake-secret");
        opts.max_body_bytes = 1 << 20;
        let err = run(opts).unwrap_err().to_string();
        assert!(
            err.contains("/api/v2/authorization/roles")
                && err.contains("larger than 1 MiB")
                && err.contains("1 attempt(s)"),
            "{err}"
        );
    }

    #[test]
    fn a_claimed_page_count_is_not_believed_past_a_short_page() {
        let honest = FakeGenesys::start(sample().unwrap(), FakeConfig::default());
        let (expected, honest_stats) = run(options(&honest, "fake-secret")).unwrap();
        let fake = FakeGenesys::start(
            sample().unwrap(),
            FakeConfig {
                claimed_page_count: Some(2000),
                ..FakeConfig::default()
            },
        );
        let (snap, stats) = run(options(&fake, "fake-secret")).unwrap();
        assert_eq!(essence(&snap), essence(&expected));
        assert_eq!(
            stats.requests,
            honest_stats.requests,
            "{:?}",
            fake.log().len()
        );
    }

    #[test]
    fn a_login_that_fails_with_500_is_retried() {
        let fake = FakeGenesys::start(
            sample().unwrap(),
            FakeConfig {
                login_failures: 2,
                ..FakeConfig::default()
            },
        );
        let (snap, stats) = run(options(&fake, "fake-secret")).unwrap();
        assert_eq!(snap.organization.name, "Acme Contact Center (prod)");
        assert!(stats.retries >= 2, "{stats:?}");
        let logins = fake
            .log()
            .iter()
            .filter(|l| *l == "POST /oauth/token")
            .count();
        assert_eq!(logins, 3);
    }

    #[test]
    fn a_login_host_that_refuses_connections_is_said_to_be_unreachable() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let o = rolecall()
            .args(["fetch", "--api-base", &format!("http://127.0.0.1:{port}")])
            .args(["--login-base", &format!("http://127.0.0.1:{port}"), "-o"])
            .arg(dir.path().join("org.json"))
            .env("GENESYSCLOUD_OAUTHCLIENT_ID", "fake-client")
            .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "s3cret-unreachable")
            .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("cannot log in"), "{err}");
        assert!(err.contains("could not connect"), "{err}");
        assert!(err.contains("check the network"), "{err}");
        assert!(!err.contains("client id and secret"), "{err}");
        assert!(!err.contains("s3cret-unreachable"), "{err}");
    }

    #[test]
    fn refused_credentials_say_so_with_the_servers_code() {
        let fake = FakeGenesys::start(sample().unwrap(), FakeConfig::default());
        let err = run(options(&fake, "wrong-secret")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("HTTP 401 `invalid_client`"), "{shown}");
        assert!(matches!(
            err,
            rolecall::internals::fetch::client::FetchError::Auth { .. }
        ));
    }
}
