//! Headless Chromium's first rendered view of the HTML report: `cargo bench --bench html_view`.
//!
//! Opens the page `cargo bench --bench rolecall` wrote for each synthetic org
//! (`report-{users}.html` in the bench data directory; the 100k-user page is the target:
//! first rendered view <= 3 s) over WebDriver, and prints the time until the navigation
//! returned (the load event, after the script rendered the findings and the first map page),
//! the first contentful paint, and when the script had rendered everything. Skipped, loudly,
//! with `ROLECALL_SKIP_BROWSER=1` or when a page is missing.

#![expect(
    clippy::print_stdout,
    clippy::expect_used,
    reason = "a benchmark prints its figures and stops on broken setup"
)]

#[path = "../tests/it/support/webdriver.rs"]
#[expect(dead_code, reason = "the bench uses part of the browser tests' client")]
mod webdriver;

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    if webdriver::skipped("html_view bench") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    let sizes: Vec<usize> = std::env::var("ROLECALL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let profile = tempfile::tempdir().expect("profile directory");
    let b = webdriver::Browser::start(profile.path()).expect("chromedriver and chromium");
    println!("headless Chromium, first rendered view of the HTML report");
    for users in sizes {
        let page = dir.join(format!("report-{users}.html"));
        if !page.exists() {
            println!(
                "  {users} users: `{}` is missing: run `cargo bench --bench rolecall` first",
                page.display()
            );
            continue;
        }
        let size = std::fs::metadata(&page).map_or(0, |m| m.len());
        let url = format!("file://{}", page.display());
        let mut best: Option<(f64, f64, f64)> = None;
        for _ in 0..3 {
            b.goto("about:blank").expect("blank page");
            let t = Instant::now();
            b.goto(&url).expect("open the report");
            let loaded = t.elapsed().as_secs_f64() * 1000.0;
            let v = b
                .script(
                    "const p = performance.getEntriesByName('first-contentful-paint')[0];
                     return [p ? p.startTime : -1, Number(document.documentElement.getAttribute('data-ready-ms'))];",
                )
                .expect("paint timing");
            let fcp = v[0].as_f64().unwrap_or(-1.0);
            let ready = v[1].as_f64().unwrap_or(-1.0);
            if best.is_none_or(|(l, _, _)| loaded < l) {
                best = Some((loaded, fcp, ready));
            }
        }
        if let Some((loaded, fcp, ready)) = best {
            println!(
                "  {users} users ({:.1} MiB): navigation done (load) in {loaded:.0} ms, first contentful paint at {fcp:.0} ms, script done at {ready:.0} ms (best of 3; target <= 3000 ms)",
                size as f64 / 1048576.0
            );
        }
    }
}
