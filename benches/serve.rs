//! Load benchmark of `rolecall serve` on the synthetic org: the built binary serves a generated
//! snapshot; a `reqwest` load generator asks `explain` at a fixed rate (open loop: latency is
//! counted from when each request was due, so a stall is not hidden) with a `who-can` stream
//! beside it; halfway, the snapshot file is replaced and the server reloads it under load.
//! Prints p50/p99 per endpoint, failed requests, the reload's time, and the server's RSS
//! after warm-up and at the end.
//!
//! `cargo bench --bench serve`. Environment: `ROLECALL_SERVE_BENCH_SECONDS` (default 60),
//! `ROLECALL_SERVE_BENCH_RATE` (explain requests per second, default 500),
//! `ROLECALL_SERVE_BENCH_USERS` (default 100000).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark: a failed step should stop it loudly; it prints its figures"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn start(bin: &str, snapshot: &Path) -> (Child, String) {
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--no-config",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "2",
        ])
        .arg(snapshot)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve says where it listens").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (child, addr)
}

#[derive(Default)]
struct Tally {
    explain: Mutex<Vec<Duration>>,
    who_can: Mutex<Vec<Duration>>,
    failed: AtomicU64,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

/// Ask `body` at `path` at `rate` per second for `secs`, open loop.
async fn drive(
    client: reqwest::Client,
    url: String,
    body: String,
    rate: u64,
    secs: f64,
    sink: Arc<Tally>,
    who: bool,
) {
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    while Instant::now() < end {
        let due = tick.tick().await.into_std();
        let (client, url, body, sink) =
            (client.clone(), url.clone(), body.clone(), Arc::clone(&sink));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = match r {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            let took = due.elapsed();
            if !ok {
                sink.failed.fetch_add(1, Ordering::Relaxed);
            } else if who {
                sink.who_can.lock().unwrap().push(took);
            } else {
                sink.explain.lock().unwrap().push(took);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn generation(client: &reqwest::Client, base: &str) -> u64 {
    let bytes = client
        .get(format!("{base}/v1/health"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["generation"].as_u64().unwrap()
}

/// An agent move into `unit` that some client-credentials client is denied, as a request body.
fn denied_question(snap: &rolecall::internals::model::OrgSnapshot, unit: &str) -> Option<String> {
    use rolecall::internals::{ask, authz, catalog::Catalog, model::Org};
    let org = Org::new(snap.clone());
    let catalog = Catalog::for_org(&org);
    snap.oauth_clients
        .iter()
        .filter(|c| c.authorized_grant_type == "CLIENT-CREDENTIALS")
        .find_map(|c| {
            let body = serde_json::json!({
                "subject": format!("client:{}", c.name),
                "operation": "POST /api/v2/workforcemanagement/agents",
                "target": format!("management-unit:{unit}"),
            });
            let a: ask::ExplainAsk = serde_json::from_value(body.clone()).ok()?;
            let q = ask::question(&org, &a).ok()?;
            let ex = authz::explain(&org, &catalog, &q).ok()?;
            (ex.verdict == authz::Verdict::Denied).then(|| body.to_string())
        })
}

fn main() {
    let secs = env_or("ROLECALL_SERVE_BENCH_SECONDS", 60) as f64;
    let rate = env_or("ROLECALL_SERVE_BENCH_RATE", 500);
    let users = env_or("ROLECALL_SERVE_BENCH_USERS", 100_000);
    let bin = env!("CARGO_BIN_EXE_rolecall");
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("org.json");
    let ok = Command::new(bin)
        .args(["generate", "--users", &users.to_string(), "-o"])
        .arg(&snapshot)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let snap = rolecall::internals::model::load_snapshot(&snapshot).unwrap();
    let client_name = snap
        .oauth_clients
        .iter()
        .find(|c| c.authorized_grant_type == "CLIENT-CREDENTIALS")
        .unwrap()
        .name
        .clone();
    let unit = snap.management_units[0].name.clone();
    // As `cargo bench --bench rolecall` asks it: one permission in one division.
    let permission = "wfm:agent:edit".to_owned();
    let division = snap
        .divisions
        .get(1)
        .map_or_else(String::new, |d| d.name.clone());
    let explain = serde_json::json!({
        "subject": format!("client:{client_name}"),
        "operation": "POST /api/v2/workforcemanagement/agents",
        "target": format!("management-unit:{unit}"),
    })
    .to_string();
    let who_can =
        serde_json::json!({ "permission": permission, "divisions": [division] }).to_string();
    let denied = denied_question(&snap, &unit);
    drop(snap);
    // The snapshot the server reloads halfway: the same org, fetched a second later.
    let next = dir.path().join("org.json.new");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&snapshot).unwrap()).unwrap();
    doc["fetchedAt"] = serde_json::json!("2026-11-01T00:00:01Z");
    std::fs::write(&next, serde_json::to_vec(&doc).unwrap()).unwrap();
    drop(doc);

    let started = Instant::now();
    let (mut server, addr) = start(bin, &snapshot);
    println!(
        "serve: {users} users, started in {:.1} s; explain {rate}/s and who-can {}/s for {secs} s",
        started.elapsed().as_secs_f64(),
        rate / 10
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // A denied call's answer proves its fix (the fix applied to the org, the call explained
    // again): asked one at a time, before the load, its own figure.
    if let Some(body) = &denied {
        let mut took: Vec<Duration> = rt.block_on(async {
            let mut out = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let r = client
                    .post(format!("{base}/v1/explain"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await.unwrap();
                out.push(t.elapsed());
            }
            out
        });
        println!(
            "explain of a denied call, fix proven (20 asked one at a time): p50 {:.1} ms, max {:.1} ms",
            pct(&mut took, 0.5),
            pct(&mut took, 1.0)
        );
    }

    // The load: explain at `rate` and who-can at a tenth of it, for `secs`, into `tally`.
    let mix = |tally: Arc<Tally>, secs: f64| {
        let e = drive(
            client.clone(),
            format!("{base}/v1/explain"),
            explain.clone(),
            rate,
            secs,
            Arc::clone(&tally),
            false,
        );
        let w = drive(
            client.clone(),
            format!("{base}/v1/who-can"),
            who_can.clone(),
            (rate / 10).max(1),
            secs,
            tally,
            true,
        );
        async move {
            let e = tokio::spawn(e);
            let w = tokio::spawn(w);
            let _ = e.await;
            let _ = w.await;
        }
    };

    // Warm-up: a few seconds of the same mix at the same rates (both streams, so every thread
    // the run uses has started), then the RSS to compare with.
    let warm = Arc::new(Tally::default());
    let warm_secs = 5.0_f64.min(secs);
    rt.block_on(async {
        let load = mix(Arc::clone(&warm), warm_secs);
        load.await;
    });
    let pid = server.id();
    let rss_warm = rss_kib(pid);

    let tally = Arc::new(Tally::default());
    let reload = rt.block_on(async {
        let load = tokio::spawn(mix(Arc::clone(&tally), secs));
        // Halfway: the snapshot is replaced (renamed over, as editors and `fetch` do).
        tokio::time::sleep(Duration::from_secs_f64(secs / 2.0)).await;
        let rss_before = rss_kib(pid);
        let before = generation(&client, &base).await;
        let t = Instant::now();
        std::fs::rename(&next, &snapshot).unwrap();
        while generation(&client, &base).await == before {
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "the reload never finished"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let took = t.elapsed();
        let _ = load.await;
        (took, rss_before)
    });
    let (reload, rss_before) = reload;
    let rss_end = rss_kib(server.id());
    let mut ex = tally.explain.lock().unwrap().clone();
    let mut wc = tally.who_can.lock().unwrap().clone();
    let failed = tally.failed.load(Ordering::Relaxed) + warm.failed.load(Ordering::Relaxed);
    println!(
        "explain: {} answers, p50 {:.2} ms (target <= 2), p99 {:.2} ms (target <= 10), max {:.2} ms",
        ex.len(),
        pct(&mut ex, 0.5),
        pct(&mut ex, 0.99),
        pct(&mut ex, 1.0)
    );
    println!(
        "who-can: {} answers, p50 {:.2} ms, p99 {:.2} ms (target <= 20)",
        wc.len(),
        pct(&mut wc, 0.5),
        pct(&mut wc, 0.99)
    );
    println!("failed requests: {failed} (target 0)");
    println!(
        "reload of the snapshot under load: {:.1} s to the new state",
        reload.as_secs_f64()
    );
    println!(
        "RSS: {} MiB after warm-up, {} MiB before the reload ({:.2}x), {} MiB at the end ({:.2}x, target <= 1.10x)",
        rss_warm >> 10,
        rss_before >> 10,
        rss_before as f64 / rss_warm.max(1) as f64,
        rss_end >> 10,
        rss_end as f64 / rss_warm.max(1) as f64
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at the end (other work on the machine counts): {}",
        load.trim()
    );
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}
