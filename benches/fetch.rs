//! Fetch benchmark against the fake Genesys API (`cargo bench --bench fetch`): a 20k-user org,
//! the request count against the plan and the naive one-call-per-subject plan, wall time under
//! a binding rate limit against its floor, and how busy the concurrency budget stays when every
//! response takes 20 ms; and `verify` of 200 pairs under a binding rate limit against its floor.
#![expect(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures and stops on broken setup"
)]

#[path = "../tests/it/support/fake_genesys.rs"]
#[expect(dead_code, reason = "shared with the tests, which use more of it")]
mod fake_genesys;

use std::time::Duration;

use fake_genesys::{FakeConfig, FakeGenesys};
use rolecall::internals::fetch::client::{fetch, FetchOptions, FetchStats};
use rolecall::internals::fetch::credentials::{Auth, Secret};
use rolecall::internals::fetch::plan::{naive_requests, planned_requests};
use rolecall::internals::model::{synthetic_org, OrgSnapshot};

fn run(fake: &FakeGenesys, per_minute: u32, concurrency: usize) -> (OrgSnapshot, FetchStats) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = FetchOptions {
        api_base: fake.base.clone(),
        login_base: fake.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: "fake-client".into(),
            secret: Secret::new("fake-secret"),
        },
        region: None,
        per_minute,
        concurrency,
        max_attempts: 8,
        progress: None,
        max_body_bytes: rolecall::internals::fetch::client::DEFAULT_MAX_BODY,
        max_pages: rolecall::internals::fetch::client::DEFAULT_MAX_PAGES,
        attempt_timeout: rolecall::internals::fetch::client::DEFAULT_ATTEMPT_TIMEOUT,
        max_wait: rolecall::internals::fetch::client::MAX_RETRY_AFTER,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(fetch(opts))
        .expect("fetch")
}

fn main() {
    let served = synthetic_org(20_000, 1);
    // `ROLECALL_BENCH_ONLY=verify`: the verify figures alone.
    if std::env::var("ROLECALL_BENCH_ONLY").is_ok_and(|v| v == "verify") {
        verify_at_limit(&served);
        return;
    }
    println!(
        "fetch benchmark: synthetic org of {} users ({} cores)",
        served.users.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 1. Requests: the naive plan, the fixed sizes rolecall used before (100), and learned
    //    sizes, against a server accepting 500 everywhere and one accepting 100 for grants.
    let today = |s: &rolecall::internals::fetch::plan::Shape| {
        planned_requests(&rolecall::internals::fetch::plan::Shape {
            sizes: rolecall::internals::fetch::plan::Sizes::uniform(
                rolecall::internals::fetch::plan::page_size::DEFAULT,
            ),
            learning: 0,
            ..s.clone()
        })
    };
    let wide = fake_genesys::PageLimits::uniform(500);
    let narrow_grants = fake_genesys::PageLimits {
        subject_grants: 100,
        ..fake_genesys::PageLimits::uniform(500)
    };
    for (label, limits) in [
        ("500 everywhere", &wide),
        ("100 for subjectgrants", &narrow_grants),
    ] {
        let fake = FakeGenesys::start(
            served.clone(),
            FakeConfig {
                page_limits: limits.clone(),
                ..FakeConfig::default()
            },
        );
        let (_, stats) = run(&fake, 1_000_000, 8);
        let s = fake_genesys::plan_shape_with(&served, limits);
        println!(
            "requests, server max {label}: naive {} · today's plan (page size 100) {} · adaptive {} made = {} planned ({} learning); {:.2} s unthrottled",
            naive_requests(&s),
            today(&s),
            stats.requests,
            planned_requests(&s),
            s.learning,
            stats.elapsed.as_secs_f64()
        );
    }
    // The 100k-user org by the plan's formula (the fetch is exact to it, as the tests show).
    let big = synthetic_org(100_000, 1);
    let s = fake_genesys::plan_shape_with(&big, &wide);
    // No page size can go below one request per role, role-holding group and unit: the floor.
    let floor = planned_requests(&rolecall::internals::fetch::plan::Shape {
        sizes: rolecall::internals::fetch::plan::Sizes::uniform(usize::MAX / 2),
        ..s.clone()
    });
    println!(
        "plan for 100000 users, server max 500: naive {} · today's {} · adaptive {} = {:.0}% of today's (target ≤ 40%); floor at any page size {} ({} roles, {} role-holding groups, {} units)",
        naive_requests(&s),
        today(&s),
        planned_requests(&s),
        100.0 * planned_requests(&s) as f64 / today(&s) as f64,
        floor,
        s.role_subjects.len(),
        s.role_group_members.len(),
        s.management_units
    );

    // 2. A binding rate limit: the server allows R per second; rolecall is told R per minute.
    let per_second = 100;
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            rate_limit: Some((per_second, Duration::from_secs(1))),
            page_limits: wide.clone(),
            ..FakeConfig::default()
        },
    );
    let (_, stats) = run(&fake, u32::try_from(per_second * 60).unwrap(), 8);
    // The token request is not rate limited; the first burst is free.
    let floor = (stats.requests - 1) as f64 / per_second as f64;
    println!(
        "binding limit {per_second}/s: {:.2} s for {} requests, floor {:.2} s → {:.3}× the floor (target ≤ 1.15×); {} 429s",
        stats.elapsed.as_secs_f64(),
        stats.requests,
        floor,
        stats.elapsed.as_secs_f64() / floor,
        stats.rate_limited
    );

    verify_at_limit(&served);

    // 3. 20 ms per response, no binding limit: how busy the concurrency budget stays.
    let concurrency = 8;
    let fake = FakeGenesys::start(
        served,
        FakeConfig {
            latency: Duration::from_millis(20),
            page_limits: wide,
            ..FakeConfig::default()
        },
    );
    let (_, stats) = run(&fake, 1_000_000, concurrency);
    let busy = stats.busy.as_secs_f64() / (stats.elapsed.as_secs_f64() * concurrency as f64);
    println!(
        "20 ms latency, {concurrency} in flight: {:.2} s for {} requests, budget {:.1}% busy (target ≥ 90%)",
        stats.elapsed.as_secs_f64(),
        stats.requests,
        busy * 100.0
    );
}

/// `verify` of 200 pairs (the default `--max-requests` worth of pairs) against a server that
/// allows 50 requests a second: wall time against the floor (requests ÷ rate).
fn verify_at_limit(served: &OrgSnapshot) {
    use rolecall::internals::verify::{plan, run, PlanOptions};
    let per_second: u32 = std::env::var("ROLECALL_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let org = rolecall::internals::model::Org::new(served.clone());
    let p = plan(
        &org,
        &PlanOptions {
            max_requests: 201,
            token_request: true,
            ..PlanOptions::default()
        },
    )
    .expect("plan");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = |fake: &FakeGenesys, per_minute: u32| FetchOptions {
        api_base: fake.base.clone(),
        login_base: fake.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: "fake-client".into(),
            secret: Secret::new("fake-secret"),
        },
        region: None,
        per_minute,
        concurrency: 8,
        max_attempts: 8,
        progress: None,
        max_body_bytes: rolecall::internals::fetch::client::DEFAULT_MAX_BODY,
        max_pages: rolecall::internals::fetch::client::DEFAULT_MAX_PAGES,
        attempt_timeout: rolecall::internals::fetch::client::DEFAULT_ATTEMPT_TIMEOUT,
        max_wait: rolecall::internals::fetch::client::MAX_RETRY_AFTER,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Unthrottled first: what the fake and the comparison cost without a rate limit.
    let free = FakeGenesys::start(served.clone(), FakeConfig::default());
    let unthrottled = rt
        .block_on(run(&org, &p, options(&free, 1_000_000)))
        .expect("verify");
    let fake = FakeGenesys::start(
        served.clone(),
        FakeConfig {
            rate_limit: Some((per_second as usize, Duration::from_secs(1))),
            ..FakeConfig::default()
        },
    );
    let report = rt
        .block_on(run(&org, &p, options(&fake, per_second * 60)))
        .expect("verify");
    let sent = report.stats.requests;
    // The token request is not rate limited.
    let floor = (sent - 1) as f64 / f64::from(per_second);
    let elapsed = report.stats.elapsed_ms as f64 / 1000.0;
    println!(
        "verify, {} pairs at a binding limit of {per_second}/s: {elapsed:.2} s for {sent} requests (plan at most {}), floor {floor:.2} s → {:.3}× the floor (target ≤ 1.1×); {} agree, {} disagree, {} unknown, {} 429s; unthrottled {:.2} s",
        report.pairs.len(),
        p.requests,
        elapsed / floor,
        report.agreements(),
        report.disagreements(),
        report.unknown(),
        report.stats.rate_limited,
        unthrottled.stats.elapsed_ms as f64 / 1000.0
    );
}
