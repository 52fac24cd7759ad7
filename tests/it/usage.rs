//! What integrations really call: usage read from the fake Genesys API (jobs queued, running,
//! failed, refused, paged), `rightsize` on the sample org and `impact` on a dev/prod pair.

use std::time::{Duration, SystemTime};

use rolecall::internals::fetch::client::{fetch_with_usage, FetchOptions};
use rolecall::internals::fetch::credentials::{Auth, Secret};
use rolecall::internals::fetch::usage::UsageOptions;
use rolecall::internals::model::{load_snapshot, Caller, Counts, OrgSnapshot, UsageBuilder};
use serde_json::Value;

use crate::support::fake_genesys::{FakeConfig, FakeGenesys};
use crate::support::{fixture, rolecall, root};

fn options(fake: &FakeGenesys) -> FetchOptions {
    FetchOptions {
        api_base: fake.base.clone(),
        login_base: fake.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: "fake-client".into(),
            secret: Secret::new("fake-secret"),
        },
        region: None,
        per_minute: 1_000_000,
        concurrency: 8,
        max_attempts: 4,
        progress: None,
        max_body_bytes: rolecall::internals::fetch::client::DEFAULT_MAX_BODY,
        max_pages: rolecall::internals::fetch::client::DEFAULT_MAX_PAGES,
        attempt_timeout: rolecall::internals::fetch::client::DEFAULT_ATTEMPT_TIMEOUT,
        max_wait: rolecall::internals::fetch::client::MAX_RETRY_AFTER,
    }
}

/// The dev org of the pair with the usage in `tests/fixtures/pair/dev-usage.json` (the API's
/// own entity shape, read here by the test, not by the fetcher), its dates moved so the last
/// one is `days_ago` days before `end`.
fn dev_with_usage(end: SystemTime, days_ago: u64) -> OrgSnapshot {
    let mut dev = load_snapshot(&fixture("pair/dev.json")).unwrap();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("pair/dev-usage.json")).unwrap())
            .unwrap();
    let dates: Vec<&str> = doc["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["date"].as_str().unwrap())
        .collect();
    let last = dates.iter().max().copied().unwrap().to_owned();
    let day = |d: &str| {
        humantime::parse_rfc3339(&format!("{d}T00:00:00Z"))
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 86_400
    };
    let end_day = end
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let shift = |d: &str| {
        let n = end_day - days_ago - (day(&last) - day(d));
        humantime::format_rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(n * 86_400))
            .to_string()[..10]
            .to_owned()
    };
    let n = |e: &Value, k: &str| e[k].as_u64().unwrap_or(0);
    let mut usage = UsageBuilder::default();
    for e in doc["entities"].as_array().unwrap() {
        usage.push(
            &shift(e["date"].as_str().unwrap()),
            Caller {
                client_id: e["oauthClient"]["id"].as_str().map(str::to_owned),
                user_id: e["user"]["id"].as_str().map(str::to_owned),
            },
            e["httpMethod"].as_str().unwrap(),
            e["templateUri"].as_str().unwrap(),
            Counts {
                requests: n(e, "requestCount"),
                status200: n(e, "status200"),
                status300: n(e, "status300"),
                status400: n(e, "status400"),
                status429: n(e, "status429"),
                status500: n(e, "status500"),
            },
        );
    }
    dev.usage = Some(std::sync::Arc::new(usage.finish()));
    dev
}

fn quick(days: u32, end: SystemTime) -> UsageOptions {
    UsageOptions {
        first_poll: Duration::from_millis(1),
        max_poll_interval: Duration::from_millis(4),
        end,
        ..UsageOptions::days(days)
    }
}

fn run(
    opts: FetchOptions,
    usage: UsageOptions,
) -> Result<
    (OrgSnapshot, rolecall::internals::fetch::client::FetchStats),
    rolecall::internals::fetch::client::FetchError,
> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fetch_with_usage(opts, Some(usage)))
}

fn end() -> SystemTime {
    humantime::parse_rfc3339("2026-11-20T10:00:00Z").unwrap()
}

#[test]
fn usage_is_read_through_queued_and_running_polls_and_every_page() {
    let served = dev_with_usage(end(), 2);
    let total = served.usage.as_ref().unwrap().rows.len();
    let fake = FakeGenesys::start(
        served,
        FakeConfig {
            usage_page: 7,
            ..FakeConfig::default()
        },
    );
    let (snap, stats) = run(options(&fake), quick(90, end())).unwrap();
    let usage = snap.usage.as_ref().expect("usage was read");
    assert_eq!(usage.rows.len(), total, "every page");
    assert_eq!(usage.days, 90);
    assert!(
        usage.interval.ends_with("/2026-11-20T00:00:00Z"),
        "{}",
        usage.interval
    );
    let log = fake.log();
    let posts = log
        .iter()
        .filter(|l| l.starts_with("POST /api/v2/usage"))
        .count();
    let gets = log
        .iter()
        .filter(|l| l.starts_with("GET /api/v2/usage/aggregates/query/jobs/"))
        .count();
    let pages = total.div_ceil(7);
    assert_eq!(posts, 1);
    // Two polls answered Queued and Running, the third brought page 1, then the other pages:
    // the request floor of its pages plus polls, nothing more.
    assert_eq!(gets, 2 + pages, "{log:#?}");
    assert!(
        stats.requests > gets,
        "the job POST and the polls are counted"
    );
    // Users come with their token dates.
    assert!(log
        .iter()
        .any(|l| l.contains("/api/v2/users?state=active&expand=lasttokenissued")));
    // Template matches are stored: the agent move matched, the unknown ones did not.
    let op = |t: &str| {
        usage
            .templates
            .iter()
            .find(|m| m.template_uri == t)
            .map(|m| m.operation.clone())
    };
    assert_eq!(
        op("/api/v2/workforcemanagement/agents"),
        Some(Some("POST /api/v2/workforcemanagement/agents".to_owned()))
    );
    assert_eq!(op("/api/v2/workforcemanagement/timezones"), Some(None));
    assert!(snap
        .coverage
        .iter()
        .any(|c| c.dataset == "usage" && c.status == "ok"));
}

#[test]
fn a_year_is_read_in_jobs_of_at_most_90_days() {
    let fake = FakeGenesys::start(dev_with_usage(end(), 2), FakeConfig::default());
    let (snap, _) = run(options(&fake), quick(200, end())).unwrap();
    let posts = fake
        .log()
        .iter()
        .filter(|l| l.starts_with("POST /api/v2/usage"))
        .count();
    assert_eq!(posts, 3);
    assert_eq!(snap.usage.as_ref().unwrap().days, 200);
}

#[test]
fn a_refused_job_is_a_gap_naming_the_permission() {
    let fake = FakeGenesys::start(
        dev_with_usage(end(), 2),
        FakeConfig {
            denied: vec!["/api/v2/usage".into()],
            ..FakeConfig::default()
        },
    );
    let (snap, stats) = run(options(&fake), quick(90, end())).unwrap();
    assert!(snap.usage.is_none());
    let gap = snap.coverage.iter().find(|c| c.dataset == "usage").unwrap();
    assert_eq!(gap.status, "gap");
    assert_eq!(gap.http_status, Some(403));
    assert_eq!(gap.permission.as_deref(), Some("usage:organization:view"));
    assert_eq!(stats.gaps, 1);
    assert!(!snap.users.is_empty(), "the rest of the org is read");
}

#[test]
fn a_failed_job_is_a_gap_with_its_reason_and_the_rules_say_unknown() {
    let fake = FakeGenesys::start(
        dev_with_usage(end(), 2),
        FakeConfig {
            usage_fail: true,
            ..FakeConfig::default()
        },
    );
    let (snap, _) = run(options(&fake), quick(90, end())).unwrap();
    assert!(snap.usage.is_none());
    let gap = snap.coverage.iter().find(|c| c.dataset == "usage").unwrap();
    assert!(
        gap.message
            .as_deref()
            .unwrap()
            .contains("the query timed out"),
        "{gap:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dev.json");
    rolecall::internals::model::save_snapshot(&snap, &file).unwrap();
    let out = rolecall()
        .args(["check", "--select", "USG", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4, "{doc:#}");
    assert!(findings.iter().all(|f| f["status"] == "unknown"), "{doc:#}");
}

#[test]
fn polls_are_bounded() {
    let fake = FakeGenesys::start(
        dev_with_usage(end(), 2),
        FakeConfig {
            usage_polls: 1_000,
            ..FakeConfig::default()
        },
    );
    let (snap, _) = run(
        options(&fake),
        UsageOptions {
            max_polls: 5,
            ..quick(90, end())
        },
    )
    .unwrap();
    let gap = snap.coverage.iter().find(|c| c.dataset == "usage").unwrap();
    assert!(
        gap.message
            .as_deref()
            .unwrap()
            .contains("did not finish within 5 poll(s)"),
        "{gap:?}"
    );
    let polls = fake
        .log()
        .iter()
        .filter(|l| l.starts_with("GET /api/v2/usage"))
        .count();
    assert_eq!(polls, 5);
}

fn cli_fetch(fake: &FakeGenesys, out: &std::path::Path, usage: Option<&str>) {
    let mut cmd = rolecall();
    cmd.args(["fetch", "--quiet", "--api-base", &fake.base, "-o"])
        .arg(out)
        .env("GENESYSCLOUD_OAUTHCLIENT_ID", "fake-client")
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", "fake-secret")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env("HOME", out.parent().unwrap());
    if let Some(days) = usage {
        cmd.args(["--usage", days]);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The "done when": usage of `wfm-sync` read from dev, replayed in prod, names the agent
/// move as the one call that will fail, and why, before it fails.
#[test]
fn impact_names_the_agent_move_before_it_fails_in_prod() {
    let dir = tempfile::tempdir().unwrap();
    let (dev_file, prod_file) = (dir.path().join("dev.json"), dir.path().join("prod.json"));
    let dev = FakeGenesys::start(dev_with_usage(SystemTime::now(), 3), FakeConfig::default());
    cli_fetch(&dev, &dev_file, Some("90"));
    let prod = FakeGenesys::start(
        load_snapshot(&fixture("pair/prod.json")).unwrap(),
        FakeConfig::default(),
    );
    cli_fetch(&prod, &prod_file, None);
    let out = rolecall()
        .args(["impact", "--usage"])
        .arg(&dev_file)
        .arg("--snapshot")
        .arg(&prod_file)
        .args(["--as", "client:wfm-sync", "--exit-code"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("client `wfm-sync` makes 12 kinds of calls in `Acme Contact Center (dev)`; in `Acme Contact Center (prod)` 1 will be denied, 2 may be denied, 9 allowed"),
        "{text}"
    );
    let denied: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("will be denied:"))
        .collect();
    assert_eq!(
        denied,
        ["  will be denied: POST /api/v2/workforcemanagement/agents"],
        "{text}"
    );
    assert!(
        text.contains("`wfm:agent:edit` is needed in division `Support EU`"),
        "{text}"
    );
    assert!(
        text.contains("grant role `WFM Integration` to client `wfm-sync` in division `Support EU`"),
        "{text}"
    );
    assert!(text.contains("UNCONFIRMED"), "{text}");
    // Every format says the same; JSON names the worst class.
    let json = rolecall()
        .args(["impact", "--format", "json", "--usage"])
        .arg(&dev_file)
        .arg("--snapshot")
        .arg(&prod_file)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["format"], "rolecall.impact/1");
    assert_eq!(doc["worst"], "denied");
    for (format, needle) in [
        (
            "markdown",
            "| client `wfm-sync` | `POST /api/v2/workforcemanagement/agents` | will be denied |",
        ),
        (
            "html",
            "<tr class=\"denied\"><td><code>POST /api/v2/workforcemanagement/agents</code>",
        ),
    ] {
        let o = rolecall()
            .args([
                "impact",
                "--format",
                format,
                "--as",
                "client:wfm-sync",
                "--usage",
            ])
            .arg(&dev_file)
            .arg("--snapshot")
            .arg(&prod_file)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(needle),
            "{format}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// The other "done when": the sample org's `ci-deployer` gets a role whose replay shows no
/// observed call denied; the change file it writes is one `--plan` reads, and `impact --plan`
/// agrees that it breaks nothing.
#[test]
fn rightsize_ci_deployer_on_the_sample_is_proven_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let change = dir.path().join("rightsize.toml");
    let tf = dir.path().join("rightsize.tf");
    let out = rolecall()
        .args([
            "rightsize",
            "client:ci-deployer",
            "--format",
            "json",
            "--change-file",
        ])
        .arg(&change)
        .arg("--terraform")
        .arg(&tf)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["rightsize"];
    assert_eq!(r["proven"], true);
    assert_eq!(
        doc["headline"],
        "holds 14 permissions through 1 role; its 8 operations over 90 days need 5"
    );
    assert_eq!(
        r["needed"],
        serde_json::json!([
            "authorization:grant:add",
            "authorization:role:view",
            "oauth:client:view",
            "routing:queue:edit",
            "routing:queue:view"
        ])
    );
    assert_eq!(r["divisions"], serde_json::json!(["all divisions"]));
    for c in r["calls"].as_array().unwrap() {
        assert_eq!(c["regressed"], false, "{c}");
        if c["operation"].is_string() {
            assert_eq!(c["after"], "allowed", "{c}");
        }
    }
    assert_eq!(
        r["unmatched"],
        serde_json::json!(["GET /api/v2/internal/deploy-hooks"])
    );
    assert!(std::fs::read_to_string(&tf)
        .unwrap()
        .contains("resource \"genesyscloud_auth_role\""));
    let human = rolecall()
        .args(["rightsize", "client:ci-deployer"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("these calls are failing today"), "{text}");
    assert!(text.contains("usage cannot narrow divisions"), "{text}");
    let sample = root().join("data/sample-org.json");
    let replay = rolecall()
        .args([
            "impact",
            "--as",
            "client:ci-deployer",
            "--exit-code",
            "--format",
            "json",
            "--usage",
        ])
        .arg(&sample)
        .arg("--plan")
        .arg(&change)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&replay.stdout).unwrap();
    let calls = doc["impact"]["subjects"][0]["calls"].as_array().unwrap();
    assert!(calls.iter().all(|c| c["broken"] == false), "{doc:#}");
    // Only the call no catalog describes is undecided.
    assert_eq!(replay.status.code(), Some(3), "{doc:#}");
}

#[test]
fn a_group_or_a_snapshot_without_usage_is_refused_with_what_to_do() {
    let o = rolecall()
        .args(["rightsize", "client:agent-desktop"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rightsize the users"));
    let o = rolecall()
        .args(["rightsize", "client:wfm-sync", "--snapshot"])
        .arg(fixture("pair/prod.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rolecall fetch --usage DAYS"));
}

#[test]
fn the_html_report_pictures_held_against_used_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.html");
    let o = rolecall()
        .args(["check", "--sample", "--report"])
        .arg(format!("html:{}", file.display()))
        .output()
        .unwrap();
    assert!(o.status.code().is_some());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("Held against used, per client"));
    assert!(
        html.contains("aria-label=\"uses 5 of 14\""),
        "ci-deployer's bar"
    );
    assert!(html.contains("<span>ci-deployer</span>"));
}

#[test]
fn synthetic_usage_matches_the_builtin_catalog_but_for_the_one_meant_not_to() {
    let snap = rolecall::internals::model::synthetic_org_with_usage(2_000, 40, 10, 3);
    let m = rolecall::internals::catalog::usage::Matches::of(
        rolecall::internals::catalog::builtin_catalog(),
        snap.usage.as_ref().unwrap(),
    );
    assert!(m.len() > 10);
    let unmatched = m.unmatched();
    assert!(
        unmatched
            .iter()
            .all(|u| u == "GET /api/v2/internal/sync-status"),
        "{unmatched:?}"
    );
}
