//! Benchmarks for the core issue, printed as plain figures: `cargo bench --bench rolecall`.
//!
//! For synthetic 10k- and 100k-user orgs: snapshot load time (parse + index) against parsing
//! the same file into a `serde_json::Value`, peak memory of a full `check` (in a child process)
//! against the file size, each built-in rule's time, the whole check's time, and one
//! representative policy ("subjects holding permission P in division D, wildcards honoured")
//! written three ways over the same data: a Rhai rule, hand-written Rust, and Rego (regorus).
//!
//! A 1,000-resource Terraform plan applied to the org (read, overlay, index) and all built-in
//! rules re-run on the after-org, against a plain check (target <= 1.5x).
//!
//! `ROLECALL_BENCH_SIZES=10000` limits the sizes (comma-separated user counts);
//! `ROLECALL_BENCH_ONLY=plan` measures only the load, the plain check and the planned change.

#![expect(
    clippy::print_stdout,
    clippy::expect_used,
    reason = "a benchmark prints its figures and stops on broken setup"
)]
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rolecall::internals::engine::{CheckConfig, Finding, ObjectKey, RuleEngine};
use rolecall::internals::model::{
    load_snapshot, parse_snapshot, save_snapshot, synthetic_org, Org, Permission, Scope, SubjectRef,
};
use rolecall::internals::report::{write_json, ReportContext};

/// The representative query: a division-aware permission in one division, wildcards honoured.
const QUERIES: [(&str, &str); 2] = [
    ("routing:queue:view", "Division 001"),
    ("directory:user:view", "Home"),
];

fn main() {
    if let Ok(path) = std::env::var("ROLECALL_BENCH_CHILD") {
        child_check(Path::new(&path));
        return;
    }
    // cargo passes `--bench`; nothing else to parse.
    let sizes: Vec<usize> = std::env::var("ROLECALL_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-data");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    println!(
        "rolecall benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    builtin_catalog();
    hostile_corpus();
    for users in sizes {
        bench_size(&dir, users);
    }
}

/// The hostile-rules corpus (`tests/fixtures/hostile/`) under the CLI's limits, in its own
/// process with the built-in rules: how many hostile rules end with an error of their own while
/// the built-ins still report, the worst time a rule ran past its budget, and the peak memory
/// against a quiet run's (HOS015 alone fills memory; the limit holds it).
fn hostile_corpus() {
    const BUDGET_S: f64 = 1.0;
    const LIMIT_MIB: u64 = 256;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .args([
                "check",
                "--sample",
                "--no-config",
                "--verbose",
                "--format",
                "json",
            ])
            .args([
                "--budget",
                &BUDGET_S.to_string(),
                "--max-memory",
                &LIMIT_MIB.to_string(),
            ])
            .args(args)
            .output()
            .expect("run rolecall")
    };
    let peak = |stderr: &[u8]| -> u64 {
        let text = String::from_utf8_lossy(stderr);
        text.split("peak memory: ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let hostile = root.join("tests/fixtures/hostile");
    let out = run(&["--rules", hostile.to_str().expect("utf-8 path")]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let errors = doc["errors"].as_array().cloned().unwrap_or_default();
    let files = std::fs::read_dir(&hostile)
        .expect("hostile corpus")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rhai"))
        })
        .count();
    let contained = errors.len();
    let builtin_findings = doc["findings"].as_array().map_or(0, |f| {
        f.iter()
            .filter(|f| !f["ruleId"].as_str().unwrap_or("").starts_with("HOS"))
            .count()
    });
    let worst = doc["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["elapsedMs"].as_f64())
        .fold(0.0_f64, f64::max);
    let quiet = run(&["--select", "WFM001"]);
    let (p_all, p_quiet) = (peak(&out.stderr), peak(&quiet.stderr));
    // Each hostile rule alone, in its own process: the limit's figure per rule.
    let mut worst_rule = (String::new(), 0u64);
    for i in 1..=99 {
        let id = format!("HOS{i:03}");
        let alone = run(&[
            "--no-builtin",
            "--select",
            &id,
            "--rules",
            hostile.to_str().expect("utf-8 path"),
        ]);
        let doc: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap_or_default();
        if doc["rules"].as_array().is_none_or(Vec::is_empty) {
            continue;
        }
        let growth = peak(&alone.stderr).saturating_sub(p_quiet);
        if growth > worst_rule.1 {
            worst_rule = (id, growth);
        }
    }
    println!(
        "hostile corpus: {contained} of {files} hostile rule files ended in an error of their own; the built-ins still reported {builtin_findings} findings; worst rule time {worst:.0} ms under a {BUDGET_S} s budget ({:+.0} ms, target <= +1000 ms)",
        worst - BUDGET_S * 1000.0,
    );
    println!(
        "hostile memory under --max-memory {LIMIT_MIB}: worst single rule {} grew the resident peak by {} MiB over a quiet run's {p_quiet} MiB (target <= {} MiB); all rules at once: {} MiB",
        worst_rule.0,
        worst_rule.1,
        LIMIT_MIB + 64,
        p_all.saturating_sub(p_quiet)
    );
}

/// Decoding the built-in operation catalog, which `explain` and ACC001 pay once per process
/// when a snapshot has no catalog of its own.
fn builtin_catalog() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/operations.json.gz");
    let bytes = std::fs::read(&path).expect("data/operations.json.gz");
    let (best, median, c) = time(10, || {
        rolecall::internals::catalog::decode(&bytes).expect("the built-in catalog decodes")
    });
    println!(
        "built-in catalog: {} operations from {:.1} KiB decoded in {} (median {}; once per process)",
        c.operations.len(),
        bytes.len() as f64 / 1024.0,
        ms(best),
        ms(median)
    );
}

/// Best and median of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        times.push(t.elapsed());
        last = Some(v);
    }
    times.sort();
    (
        times[0],
        times[times.len() / 2],
        last.expect("at least one run"),
    )
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{:.1} µs", ms * 1000.0)
    } else {
        format!("{ms:.2} ms")
    }
}

fn bench_size(dir: &Path, users: usize) {
    let path = dir.join(format!("synthetic-{users}.json"));
    if !path.exists() {
        save_snapshot(&synthetic_org(users, 1), &path).expect("write snapshot");
    }
    let bytes = std::fs::read(&path).expect("read snapshot");
    let size = bytes.len();
    println!(
        "\n== synthetic org, {users} users: `{}` ({:.1} MiB)",
        path.display(),
        size as f64 / 1048576.0
    );

    let runs = if users >= 100_000 { 3 } else { 7 };
    let (value_best, _, _) = time(runs, || {
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
    });
    let (parse_best, _, _) = time(runs, || parse_snapshot(&bytes, "bench").expect("snapshot"));
    let (load_best, _, org) = time(runs, || {
        Org::new(parse_snapshot(&bytes, "bench").expect("snapshot"))
    });
    println!("load: serde_json::Value {} | snapshot parse {} | parse + index {} | ratio to Value {:.2}x (target <= 3x)",
        ms(value_best), ms(parse_best), ms(load_best), load_best.as_secs_f64() / value_best.as_secs_f64());

    let only_plan = std::env::var("ROLECALL_BENCH_ONLY").is_ok_and(|v| v == "plan");
    let peak = if only_plan { None } else { child_peak(&path) };
    match peak {
        Some(p) => println!(
            "check peak memory: {:.1} MiB = {:.2}x the file size (target <= 4x)",
            p as f64 / 1048576.0,
            p as f64 / size as f64
        ),
        None => println!("check peak memory: not measurable on this platform"),
    }

    let org = Arc::new(org);
    let engine = RuleEngine::with_builtin();
    let one = CheckConfig {
        threads: 1,
        ..CheckConfig::default()
    };
    if only_plan {
        let (all_best, _, _) = time(runs, || engine.check(&org, &CheckConfig::default()));
        planned_change(dir, &org, &engine, runs, (all_best, load_best));
        return;
    }
    let (_, _, report) = time(runs, || engine.check(&org, &one));
    println!("built-in rules, one thread (last run):");
    for o in &report.outcomes {
        println!(
            "  {:<7} {:>10}  {:>6} findings{}",
            o.meta.id,
            ms(o.elapsed),
            o.findings.len(),
            o.error
                .as_ref()
                .map(|e| format!("  ERROR {e}"))
                .unwrap_or_default()
        );
    }
    let (one_best, _, _) = time(runs, || engine.check(&org, &one));
    let (all_best, _, r) = time(runs, || engine.check(&org, &CheckConfig::default()));
    println!(
        "all built-in rules: {} on one thread, {} on all cores, {} findings (target <= 1 s)",
        ms(one_best),
        ms(all_best),
        r.findings().count()
    );

    for (perm, division) in QUERIES {
        representative(&org, runs, perm, division);
    }
    who_can_and_html(&org, &report, runs, dir, users);
    planned_change(dir, &org, &engine, runs, (all_best, load_best));
    explain_and_diff(&bytes, runs);
    verify_side(&org, runs);
    watch_latency(&path);
}

/// `who-can` after load (every division, and one), and the HTML report of the check: time to
/// render it and its size. The page is kept for `cargo bench --bench html_view`, which opens it
/// in headless Chromium.
fn who_can_and_html(
    org: &Arc<Org>,
    report: &rolecall::internals::engine::CheckReport,
    runs: usize,
    dir: &Path,
    users: usize,
) {
    use rolecall::internals::authz::{who_can, WhoCanQuery};
    for (perm, division) in [
        ("wfm:agent:edit", None),
        ("wfm:agent:edit", Some("Division 001")),
        ("routing:queue:view", None),
    ] {
        let q = WhoCanQuery {
            permission: perm,
            divisions: division.and_then(|d| org.division(d)).into_iter().collect(),
            kinds: Vec::new(),
        };
        let (best, median, w) = time(runs, || who_can(org, &q).expect("who-can"));
        let per_division: usize = w.divisions.iter().map(|d| d.holders.len()).sum();
        println!(
            "who-can `{perm}` in {}: {} holders ({per_division} holder-divisions) in {} (median {}; target <= 50 ms)",
            division.unwrap_or("every division"),
            w.holders.len(),
            ms(best),
            ms(median)
        );
    }
    let ctx = ReportContext {
        org,
        source_kind: "snapshot".into(),
        source_path: None,
        fail_on: None,
        now: std::time::SystemTime::now(),
        allow_unknown: false,
    };
    let opts = rolecall::internals::report::HtmlOptions {
        map_permissions: vec!["wfm:agent:edit".to_owned(), "routing:queue:view".to_owned()],
    };
    let (best, median, html) = time(runs, || {
        rolecall::internals::report::render_html(report, &ctx, &opts)
    });
    let path = dir.join(format!("report-{users}.html"));
    let (write, _, ()) = time(1, || {
        std::fs::write(&path, &html).expect("write the HTML report")
    });
    println!(
        "HTML report: {:.1} MiB rendered in {} (median {}), written in {} (targets <= 25 MB, <= 2 s): `{}`",
        html.len() as f64 / 1048576.0,
        ms(best),
        ms(median),
        ms(write),
        path.display()
    );
}

/// `verify`: choosing the pairs, and rolecall's side of 10,000 (user, permission) pairs (users
/// spread over the org, the permissions its roles grant), computed from the snapshot.
fn verify_side(org: &Org, runs: usize) {
    use rolecall::internals::verify::{model_side, plan, Asked, Pair, PlanOptions};
    let (plan_best, _, p) = time(runs, || {
        plan(
            org,
            &PlanOptions {
                max_requests: 200,
                token_request: true,
                ..PlanOptions::default()
            },
        )
        .expect("plan")
    });
    let mut perms: Vec<String> = Vec::new();
    for r in 0..u32::try_from(org.snapshot().roles.len()).unwrap_or(u32::MAX) {
        for pat in org.role_patterns(r) {
            if let (Some(e), Some(a)) = (&pat.entity, &pat.action) {
                let p = format!("{}:{e}:{a}", pat.domain);
                if !perms.contains(&p) {
                    perms.push(p);
                }
            }
        }
    }
    let users = org.snapshot().users.len().max(1);
    let pairs: Vec<Pair> = (0..10_000usize)
        .map(|i| Pair {
            asked: Asked::User(u32::try_from(i.wrapping_mul(7_919) % users).unwrap_or(0)),
            permission: perms[i % perms.len().max(1)].clone(),
            pages: 1,
        })
        .collect();
    let (best, _, held) = time(runs.max(5), || {
        pairs
            .iter()
            .filter_map(|p| model_side(org, p))
            .filter(|m| m.all || !m.divisions.is_empty())
            .count()
    });
    println!(
        "verify: plan {} ({} pairs, {} users) | rolecall's side of {} pairs {} ({held} held; target <= 100 ms)",
        ms(plan_best),
        p.pairs.len(),
        p.subjects.len(),
        pairs.len(),
        ms(best)
    );
}

/// A synthetic `terraform show -json` plan of `n` resources on `org`: user role sets (some
/// granting roles the plan creates, through references), role edits and creations, divisions
/// and client updates.
fn synthetic_plan(org: &Org, n: usize) -> serde_json::Value {
    use serde_json::json;
    let s = org.snapshot();
    let div = |i: usize| s.divisions[i % s.divisions.len()].id.clone();
    let role = |i: usize| s.roles[3 + i % (s.roles.len() - 3)].id.clone();
    let mut changes = Vec::new();
    let mut config = Vec::new();
    let created_roles = n / 10;
    for i in 0..created_roles {
        let address = format!("genesyscloud_auth_role.new_{i}");
        changes.push(json!({"address": address, "mode": "managed", "type": "genesyscloud_auth_role", "change": {
            "actions": ["create"], "before": null,
            "after": {"name": format!("Planned Role {i}"), "permission_policies": [{"domain": "wfm", "entity_name": "agent", "action_set": ["view"], "conditions": []}]},
            "after_unknown": {"id": true}, "after_sensitive": {}}}));
    }
    for i in 0..n / 5 {
        let r = &s.roles[3 + i % (s.roles.len() - 3)];
        changes.push(json!({"address": format!("genesyscloud_auth_role.edit_{i}"), "mode": "managed", "type": "genesyscloud_auth_role", "change": {
            "actions": ["update"], "before": {"id": r.id, "name": r.name},
            "after": {"id": r.id, "name": r.name, "permission_policies": [{"domain": "routing", "entity_name": "queue", "action_set": ["view", "edit"]}]},
            "after_unknown": {}, "after_sensitive": {}}}));
        if i + 1 >= s.roles.len() - 3 {
            break;
        }
    }
    for i in 0..n / 20 {
        changes.push(json!({"address": format!("genesyscloud_auth_division.new_{i}"), "mode": "managed", "type": "genesyscloud_auth_division", "change": {
            "actions": ["create"], "before": null, "after": {"name": format!("Planned Division {i}"), "home": false},
            "after_unknown": {"id": true}, "after_sensitive": {}}}));
    }
    for (i, c) in s.oauth_clients.iter().take(n / 20).enumerate() {
        changes.push(json!({"address": format!("genesyscloud_oauth_client.c_{i}"), "mode": "managed", "type": "genesyscloud_oauth_client", "change": {
            "actions": ["update"], "before": {"id": c.id},
            "after": {"id": c.id, "name": c.name, "authorized_grant_type": "CLIENT-CREDENTIALS", "state": "active", "client_secret": "bench-secret",
                      "roles": [{"role_id": role(i), "division_id": div(i)}]},
            "after_unknown": {}, "after_sensitive": {"client_secret": true}}}));
    }
    let mut u = 0;
    while changes.len() < n {
        let user = &s.users[(u * 97) % s.users.len()];
        let address = format!("genesyscloud_user_roles.u_{u}");
        let planned = u % 3 == 0;
        let roles = if planned {
            json!([{"role_id": s.roles[0].id, "division_ids": [div(0)]}, {"role_id": null, "division_ids": [div(u)]}])
        } else {
            json!([{"role_id": s.roles[0].id, "division_ids": [div(0)]}, {"role_id": role(u), "division_ids": [div(u), div(u + 1)]}])
        };
        let unknown = if planned {
            json!({"roles": [{}, {"role_id": true}]})
        } else {
            json!({})
        };
        changes.push(json!({"address": address, "mode": "managed", "type": "genesyscloud_user_roles", "change": {
            "actions": ["update"], "before": {"id": user.id, "user_id": user.id},
            "after": {"id": user.id, "user_id": user.id, "roles": roles},
            "after_unknown": unknown, "after_sensitive": {}}}));
        if planned {
            let target = format!("genesyscloud_auth_role.new_{}", u % created_roles.max(1));
            config.push(json!({"address": address, "expressions": {"roles": [
                {"role_id": {"constant_value": s.roles[0].id}},
                {"role_id": {"references": [format!("{target}.id"), target]}}]}}));
        }
        u += 1;
    }
    json!({"format_version": "1.2", "resource_changes": changes, "configuration": {"root_module": {"resources": config}}})
}

/// Apply a 1,000-resource plan and re-run every built-in rule, against a plain check.
/// `plain` is (the rules of a plain check, parsing and indexing the snapshot file).
fn planned_change(
    dir: &Path,
    org: &Arc<Org>,
    engine: &RuleEngine,
    runs: usize,
    (plain, load): (Duration, Duration),
) {
    let plan = dir.join(format!("plan-{}.json", org.snapshot().users.len()));
    let doc = synthetic_plan(org, 1000);
    std::fs::write(&plan, serde_json::to_vec(&doc).expect("plan json")).expect("write plan");
    let all = CheckConfig::default();
    let (read, _, set) = time(runs, || {
        rolecall::internals::change::load_change(&plan).expect("plan reads")
    });
    let (clone, _, _) = time(runs, || org.snapshot().clone());
    let (apply_only, _, applied) = time(runs, || {
        rolecall::internals::change::apply(org, &set).expect("plan applies")
    });
    let (index, _, _) = time(runs, || Org::new(applied.snapshot.clone()));
    println!(
        "  (snapshot copy {} | apply incl. copy {} | index incl. copy {})",
        ms(clone),
        ms(apply_only),
        ms(index)
    );
    let (overlay, _, after) = time(runs, || {
        Arc::new(Org::new(
            rolecall::internals::change::apply(org, &set)
                .expect("plan applies")
                .snapshot,
        ))
    });
    let (recheck, _, r) = time(runs, || engine.check(&after, &all));
    let (whole, _, _) = time(runs, || {
        let set = rolecall::internals::change::load_change(&plan).expect("plan reads");
        let after = Arc::new(Org::new(
            rolecall::internals::change::apply(org, &set)
                .expect("plan applies")
                .snapshot,
        ));
        engine.check(&after, &all)
    });
    println!(
        "planned change, {} resources: read {} | overlay + index {} | rules on the after-org {} ({} findings) | together {} = {:.2}x a plain check of {} (target <= 1.5x)",
        set.changes.len(),
        ms(read),
        ms(overlay),
        ms(recheck),
        r.findings().count(),
        ms(whole),
        whole.as_secs_f64() / plain.as_secs_f64(),
        ms(plain)
    );
    println!(
        "  against `rolecall check` of the file (parse + index + rules, {}): {:.2}x",
        ms(load + plain),
        whole.as_secs_f64() / (load + plain).as_secs_f64()
    );
    println!(
        "  `check --plan` end to end (load, rules on the before-org, the change, rules on the after-org): about {} = {:.2}x `rolecall check` of the file",
        ms(load + plain + whole),
        (load + plain + whole).as_secs_f64() / (load + plain).as_secs_f64()
    );
}

/// `rolecall watch` on this org: time from saving a rule to the redraw that shows it
/// (debounce included), measured on the real binary through its output.
fn watch_latency(snapshot: &Path) {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = |v: usize| {
        format!("//! Bench rule.\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! x\n//! ## How to fix\n//! x\n\
             const RULE = #{{ id: \"BEN009\", name: \"bench-watch\", severity: \"info\" }};\n\
             fn check(org) {{ report(org.clients_with(\"wfm:agent:edit\", \"*\"), \"edit v{v}\"); }}\n")
    };
    let file = dir.path().join("bench-watch.rhai");
    std::fs::write(&file, rule(0)).expect("rule");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args(["watch", "--no-config", "--snapshot"])
        .arg(snapshot)
        .arg("--rules")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rolecall watch starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut wait_for = |needle: &str| {
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains(needle) {
                return;
            }
        }
    };
    wait_for("waiting for changes");
    let mut times = Vec::new();
    for v in 1..=7 {
        let started = Instant::now();
        std::fs::write(&file, rule(v)).expect("save");
        wait_for(&format!("edit v{v}"));
        times.push(started.elapsed());
        wait_for("waiting for changes");
    }
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    println!(
        "watch: one-rule change shown {} after the save (median; best {}), 200 ms debounce included (target <= 300 ms)",
        ms(times[times.len() / 2]),
        ms(times[0])
    );
}

/// Parse the full API description (the compressed copy the tests use).
fn api_description() -> Option<Vec<rolecall::internals::model::Operation>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/swagger.json.gz");
    let bytes = rolecall::internals::catalog::gunzip(&std::fs::read(&path).ok()?).ok()?;
    let (best, _, ops) = time(5, || {
        rolecall::internals::catalog::parse_swagger(&bytes).expect("swagger parses")
    });
    println!(
        "API description: {} operations parsed from {:.1} MiB in {} (target <= 1 s)",
        ops.len(),
        bytes.len() as f64 / 1048576.0,
        ms(best)
    );
    Some(ops)
}

/// `explain` after load, and `diff` of the org against a copy with 1% of grants moved.
fn explain_and_diff(bytes: &[u8], runs: usize) {
    use rolecall::internals::authz::{
        diff, explain, resolve_subject, resolve_target, DiffOptions, Question,
    };
    let Some(ops) = api_description() else {
        println!("explain: skipped (tests/fixtures/swagger.json.gz not found)");
        return;
    };
    let mut snap = parse_snapshot(bytes, "bench").expect("snapshot");
    snap.operations = ops;
    let org = Org::new(snap.clone());
    let catalog = rolecall::internals::catalog::Catalog::new(&org.snapshot().operations);
    let client = org
        .snapshot()
        .oauth_clients
        .iter()
        .find(|c| c.authorized_grant_type == "CLIENT-CREDENTIALS")
        .expect("a client")
        .name
        .clone();
    let mu = org.snapshot().management_units[0].name.clone();
    let subject = resolve_subject(&org, &format!("client:{client}")).expect("subject");
    let target = resolve_target(&org, &format!("management-unit:{mu}")).expect("target");
    let (best, _, ex) = time(runs * 3, || {
        let catalog = rolecall::internals::catalog::Catalog::new(&org.snapshot().operations);
        explain(
            &org,
            &catalog,
            &Question {
                subject,
                operation: "POST /api/v2/workforcemanagement/agents",
                target: Some(target),
                agents: Vec::new(),
                unread_target: None,
            },
        )
        .expect("explains")
    });
    drop(catalog);
    println!(
        "explain (catalog index + explanation, after load): {} → {} (target <= 50 ms)",
        ms(best),
        ex.verdict.as_str()
    );
    // The same question without a target: answered for every management unit.
    let (best, _, ex) = time(runs * 3, || {
        let catalog = rolecall::internals::catalog::Catalog::new(&org.snapshot().operations);
        explain(
            &org,
            &catalog,
            &Question {
                subject,
                operation: "POST /api/v2/workforcemanagement/agents",
                target: None,
                agents: Vec::new(),
                unread_target: None,
            },
        )
        .expect("explains")
    });
    println!(
        "explain without a target, over {} management units: {} → {} ({}) (target <= 200 ms)",
        ex.targets.len(),
        ms(best),
        ex.verdict.as_str(),
        ex.headline
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect::<String>()
    );

    let mut changed = snap;
    let n_div = changed.divisions.len();
    let mut moved = 0;
    for (i, g) in changed.grants.iter_mut().enumerate() {
        if i % 100 == 0 {
            g.division_id = changed.divisions[(i / 100) % n_div].id.clone();
            moved += 1;
        }
    }
    let other = Org::new(changed);
    let (best, _, d) = time(runs, || diff(&org, &other, &DiffOptions::default()));
    println!(
        "diff of two orgs ({moved} grants moved): {} → {} subjects, {} grant lines (target <= 2 s)",
        ms(best),
        d.subjects.len(),
        d.grants.len()
    );
}

/// The representative policy three ways, plus the handle-loop variant for reference.
fn representative(org: &Arc<Org>, runs: usize, perm: &str, division: &str) {
    // Sub-millisecond timings need many runs for a stable best time.
    let many = (runs * 3).max(30);
    let rule = format!(
        r#"//! Subjects holding a permission in a division.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{{ id: "BEN001", name: "holders", severity: "info" }};
fn check(org) {{
    report(org.subjects_with("{perm}", "{division}"), "holds the permission");
}}"#
    );
    let per_subject_rule = format!(
        r#"//! Subjects holding a permission in a division, reported one by one.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{{ id: "BEN003", name: "holders-each", severity: "info" }};
fn check(org) {{
    for s in org.subjects_with("{perm}", "{division}") {{
        report(s, "holds the permission");
    }}
}}"#
    );
    let loop_rule = format!(
        r#"//! The same as a loop over handles.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{{ id: "BEN002", name: "holders-loop", severity: "info" }};
fn check(org) {{
    let d = org.division("{division}");
    for u in org.users {{ if u.can("{perm}", d) {{ report(u, "holds the permission"); }} }}
    for g in org.groups {{ if g.can("{perm}", d) {{ report(g, "holds the permission"); }} }}
    for c in org.clients {{ if c.can("{perm}", d) {{ report(c, "holds the permission"); }} }}
}}"#
    );
    let empty = r#"//! Does nothing.
//! ## What it does
//! x
//! ## Why is this bad?
//! x
//! ## How to fix
//! x
const RULE = #{ id: "BEN000", name: "empty", severity: "info" };
fn check(org) {}"#;
    let mut engine = RuleEngine::new(Default::default());
    engine
        .add_source("bench:empty.rhai", empty)
        .expect("rule compiles");
    engine
        .add_source("bench:holders.rhai", &rule)
        .expect("rule compiles");
    engine
        .add_source("bench:holders-loop.rhai", &loop_rule)
        .expect("rule compiles");
    engine
        .add_source("bench:holders-each.rhai", &per_subject_rule)
        .expect("rule compiles");
    let only = |id: &str| CheckConfig {
        select: vec![id.into()],
        threads: 1,
        ..CheckConfig::default()
    };
    let (empty_best, _, _) = time(many, || engine.check(org, &only("BEN000")));
    let (rhai_best, _, rhai) = time(many, || engine.check(org, &only("BEN001")));
    let (loop_best, _, looped) = time(runs, || engine.check(org, &only("BEN002")));
    let (each_best, _, each) = time(many, || engine.check(org, &only("BEN003")));
    assert_eq!(
        each.findings().count(),
        rhai.findings().count(),
        "per-subject and bulk reports disagree"
    );
    let (rust_best, _, rust) = time(many, || holders_rust(org, perm, division));
    let rhai_n = rhai.findings().count();
    assert_eq!(rhai_n, rust.len(), "Rhai and Rust disagree");
    assert_eq!(
        looped.findings().count(),
        rust.len(),
        "handle loop and Rust disagree"
    );

    let (rego_best, rego_n, rego_load) = rego(org, runs, perm, division);
    assert_eq!(rego_n, rust.len(), "Rego and Rust disagree");
    println!(
        "representative policy: subjects holding `{perm}` in `{division}` ({} subjects):",
        rust.len()
    );
    println!(
        "  hand-written Rust                       {}",
        ms(rust_best)
    );
    let t = rolecall::internals::authz::Target::Division(org.division(division).expect("division"));
    let (q_best, _, _) = time(many, || {
        rolecall::internals::authz::subjects_with(org, perm, t)
    });
    println!("  (authz::subjects_with alone: {})", ms(q_best));
    println!(
        "  (an empty Rhai rule: {}, the fixed cost of one rule run)",
        ms(empty_best)
    );
    let ratio = |d: Duration| d.as_secs_f64() / rust_best.as_secs_f64();
    println!(
        "  Rhai rule, bulk query + bulk report     {}  = {:.2}x Rust (target <= 3x)",
        ms(rhai_best),
        ratio(rhai_best)
    );
    println!(
        "  Rhai rule, bulk query + report per item {}  = {:.2}x Rust",
        ms(each_best),
        ratio(each_best)
    );
    println!(
        "  Rhai rule, loop over every handle       {}  = {:.2}x Rust",
        ms(loop_best),
        ratio(loop_best)
    );
    println!("  Rego (regorus)                          {}  = {:.1}x slower than the bulk Rhai rule (target >= 30x); data load {} not counted",
        ms(rego_best), rego_best.as_secs_f64() / rhai_best.as_secs_f64(), ms(rego_load));
}

/// Hand-written Rust over the model, as one would write it without rolecall's query: roles
/// granting P, their holders in a covering division, members of role-enabled groups; seen-sets
/// as bitmaps.
fn holders_rust(org: &Org, perm_text: &str, division: &str) -> Vec<Finding> {
    let perm = Permission::parse(perm_text).expect("permission");
    let target = org.division(division).expect("division");
    let aware = org.division_aware(perm_text).unwrap_or(true);
    let snap = org.snapshot();
    let mut users = vec![false; snap.users.len()];
    let mut groups = vec![false; snap.groups.len()];
    let mut clients = vec![false; snap.oauth_clients.len()];
    for r in 0..snap.roles.len() as u32 {
        if !org.role_patterns(r).iter().any(|p| p.matches(&perm)) {
            continue;
        }
        for &(s, scope) in org.role_holders(r) {
            let covered = match scope {
                Scope::All => true,
                Scope::Division(d) => !aware || d == target,
            };
            if !covered {
                continue;
            }
            match s {
                SubjectRef::User(u) => users[u as usize] = true,
                SubjectRef::Group(g) => {
                    groups[g as usize] = true;
                    if snap.groups[g as usize].roles_enabled {
                        for u in org.group_members(g) {
                            users[u as usize] = true;
                        }
                    }
                }
                SubjectRef::Client(c) => {
                    clients[c as usize] |= snap.oauth_clients[c as usize].authorized_grant_type
                        == "CLIENT-CREDENTIALS";
                }
            }
        }
    }
    let finding = |kind: &'static str, id: &str, name: &str| Finding {
        rule_id: "BEN001".into(),
        severity: rolecall::internals::engine::Severity::Info,
        subject: ObjectKey {
            kind,
            id: id.into(),
            name: name.into(),
        },
        message: "holds the permission".into(),
        ..Finding::default()
    };
    let mut out = Vec::new();
    out.extend(
        users
            .iter()
            .zip(&snap.users)
            .filter(|(on, _)| **on)
            .map(|(_, u)| finding("user", &u.id, &u.name)),
    );
    out.extend(
        groups
            .iter()
            .zip(&snap.groups)
            .filter(|(on, _)| **on)
            .map(|(_, g)| finding("group", &g.id, &g.name)),
    );
    out.extend(
        clients
            .iter()
            .zip(&snap.oauth_clients)
            .filter(|(on, _)| **on)
            .map(|(_, c)| finding("client", &c.id, &c.name)),
    );
    out
}

const REGO: &str = r#"
package bench
import rego.v1

parts := split(input.perm, ":")

matching_roles contains r.id if {
    some r in data.roles
    some p in r.permissionPolicies
    p.domain == parts[0]
    p.entityName in {"*", parts[1]}
    some a in p.actionSet
    a in {"*", parts[2]}
}

covers(d) if d == "*"
covers(d) if d == input.division
covers(_) if not input.aware

direct contains g.subjectId if {
    some g in data.grants
    matching_roles[g.roleId]
    covers(g.divisionId)
}

members contains m if {
    some grp in data.groups
    grp.rolesEnabled
    direct[grp.id]
    some m in grp.memberIds
}

clients contains c.id if {
    some c in data.oauthClients
    c.authorizedGrantType == "CLIENT-CREDENTIALS"
    some rd in c.roleDivisions
    matching_roles[rd.roleId]
    covers(rd.divisionId)
}

subjects := (direct | members) | clients
"#;

/// Evaluate the policy in regorus; returns (best eval time, result size, data load time).
fn rego(org: &Org, runs: usize, perm: &str, division: &str) -> (Duration, usize, Duration) {
    let snap = org.snapshot();
    let division_id = &snap.divisions[org.division(division).expect("division") as usize].id;
    let load = Instant::now();
    let data = serde_json::json!({
        "roles": snap.roles, "grants": snap.grants, "groups": snap.groups, "oauthClients": snap.oauth_clients,
    });
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("bench.rego".into(), REGO.into())
        .expect("policy parses");
    engine
        .add_data(regorus::Value::from_json_str(&data.to_string()).expect("data"))
        .expect("data loads");
    let input = serde_json::json!({"perm": perm, "division": division_id, "aware": org.division_aware(perm).unwrap_or(true)}).to_string();
    let load = load.elapsed();
    let (best, _, n) = time(runs.min(3), || {
        engine.set_input_json(&input).expect("input");
        let v = engine
            .eval_rule("data.bench.subjects".into())
            .expect("rego evaluates");
        let json: serde_json::Value =
            serde_json::from_str(&v.to_json_str().expect("json")).expect("json");
        json.as_array().map_or(0, Vec::len)
    });
    (best, n, load)
}

/// Child process: what `rolecall check --format json` does, then report peak memory.
fn child_check(path: &Path) {
    let org = Arc::new(Org::new(load_snapshot(path).expect("snapshot")));
    let report = RuleEngine::with_builtin().check(&org, &CheckConfig::default());
    let ctx = ReportContext {
        org: &org,
        source_kind: "snapshot".into(),
        source_path: None,
        fail_on: None,
        now: std::time::SystemTime::now(),
        allow_unknown: false,
    };
    write_json(&report, &ctx, std::io::sink()).expect("json");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    println!("{}", kb * 1024);
}

fn child_peak(path: &Path) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .env("ROLECALL_BENCH_CHILD", path)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|&b: &u64| b > 0)
}
