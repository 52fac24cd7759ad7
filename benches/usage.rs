//! What integrations really call, at scale (`cargo bench --bench usage`): a synthetic 100k-user
//! org with 1,000 clients and 90 days of usage (about a million rows). Prints the snapshot load
//! (parse + index), usage matching and indexing, one subject's `rightsize` with its proof,
//! `impact` for every client against a second org, and the requests a usage fetch from the fake
//! Genesys API costs against the floor of its pages plus polls.
//!
//! `ROLECALL_BENCH_USERS=20000` sets a smaller org.
#![expect(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a benchmark prints its figures and stops on broken setup"
)]

#[path = "../tests/it/support/fake_genesys.rs"]
#[expect(dead_code, reason = "shared with the tests, which use more of it")]
mod fake_genesys;

use std::time::{Duration, Instant};

use fake_genesys::{FakeConfig, FakeGenesys};
use rolecall::internals::catalog::usage::Matches;
use rolecall::internals::catalog::Catalog;
use rolecall::internals::fetch::client::{fetch_with_usage, FetchOptions};
use rolecall::internals::fetch::credentials::{Auth, Secret};
use rolecall::internals::fetch::usage::UsageOptions;
use rolecall::internals::model::{parse_snapshot, synthetic_org_with_usage, Org, SubjectRef};
use rolecall::internals::usage::{impact, rightsize, ImpactOptions};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed());
    }
    (best, out.unwrap())
}

fn main() {
    let users: usize = std::env::var("ROLECALL_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let snap = synthetic_org_with_usage(users, 1_000, 90, 1);
    let rows = snap.usage.as_ref().unwrap().rows.len();
    let bytes = serde_json::to_vec(&snap).unwrap();
    println!(
        "usage benchmark: {users} users, {} clients, {rows} usage rows over 90 days, snapshot {} MiB",
        snap.oauth_clients.len(),
        bytes.len() >> 20
    );
    let (parse, org) = best(2, || Org::new(parse_snapshot(&bytes, "bench").unwrap()));
    let (matching, _) = best(1, || {
        let m = Matches::of(
            &Catalog::for_org(&org),
            org.snapshot().usage.as_ref().unwrap(),
        );
        (m.len(), org.usage().map(|u| u.subjects().count()))
    });
    println!(
        "load (parse + index) {} | usage matching + per-subject index {} | load + matching {} (target <= 1 s)",
        ms(parse),
        ms(matching),
        ms(parse + matching)
    );
    let catalog = Catalog::for_org(&org);
    let index = org.usage().unwrap();
    let busiest = index
        .subjects()
        .max_by_key(|s| (index.of(*s).len(), *s))
        .unwrap_or(SubjectRef::Client(0));
    let (t, r) = best(3, || rightsize(&org, &catalog, busiest).unwrap());
    println!(
        "rightsize {} with proof: {} (target <= 200 ms): {}; proven: {}",
        r.subject,
        ms(t),
        r.headline(),
        r.proven
    );
    let to = Org::new(synthetic_org_with_usage(users, 1_000, 0, 2));
    let to_catalog = Catalog::for_org(&to);
    let (t, i) = best(2, || {
        impact(
            (&org, &catalog),
            (&to, &to_catalog),
            &ImpactOptions::default(),
        )
        .unwrap()
    });
    let calls: usize = i.subjects.iter().map(|s| s.calls.len()).sum();
    println!(
        "impact for all {} subjects ({calls} kinds of calls) in a second org: {} (target <= 2 s)",
        i.subjects.len(),
        ms(t)
    );
    fetch_cost();
}

/// Usage fetch from the fake API: requests for the usage jobs against the floor (one job, its
/// polls before it succeeds, one request per results page).
fn fetch_cost() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let served = synthetic_org_with_usage(2_000, 1_000, 90, 1);
    let rows = served.usage.as_ref().unwrap().rows.len();
    let cfg = FakeConfig::default();
    let polls = cfg.usage_polls;
    let fake = FakeGenesys::start(served, cfg);
    let opts = FetchOptions {
        api_base: fake.base.clone(),
        login_base: fake.base.clone(),
        auth: Auth::ClientCredentials {
            client_id: "fake-client".into(),
            secret: Secret::new("fake-secret"),
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
    };
    let end = humantime::parse_rfc3339("2026-11-01T06:00:00Z").unwrap();
    let usage = UsageOptions {
        end,
        first_poll: Duration::from_millis(5),
        ..UsageOptions::days(90)
    };
    let started = Instant::now();
    let (snap, _) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fetch_with_usage(opts, Some(usage)))
        .unwrap();
    let read = snap.usage.as_ref().map_or(0, |u| u.rows.len());
    let sent = fake
        .log()
        .iter()
        .filter(|l| l.contains("/api/v2/usage/aggregates/query/jobs"))
        .count();
    let floor = 1 + polls + rows.div_ceil(rolecall::internals::fetch::usage::PAGE_SIZE);
    println!(
        "usage fetch: {read} of {rows} rows in {} requests against a floor of {floor} (1 job, {polls} polls, {} pages): {:.2}x (target <= 1.1x), {:.1} s",
        sent,
        rows.div_ceil(rolecall::internals::fetch::usage::PAGE_SIZE),
        sent as f64 / floor as f64,
        started.elapsed().as_secs_f64()
    );
}
