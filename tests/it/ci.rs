//! The ready-to-copy CI files in `examples/ci/`: each one's shell steps run in order, as its CI
//! system would run them, against the built binary and the sample org in a throwaway git
//! repository (a default branch and a pull-request branch). Every file a step names must exist
//! once the step has run (written by it or an earlier step, or in the repository), and the exit
//! codes must be the ones the workflow is written to expect. The README shows each file as is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::root;

fn load(rel: &str) -> (String, Yaml) {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let doc = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
        .remove(0);
    (text, doc)
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=ci",
            "-c",
            "user.email=ci@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository as a CI job sees it: `origin` (bare) has `main` with the sample org as
/// `org.json` and a config that ignores ROL001; the checkout is on branch `pr`, whose config
/// ignores nothing when `new_finding`, so ROL001's finding is new there.
fn repository(dir: &Path, new_finding: bool) -> PathBuf {
    let seed = dir.join("seed");
    std::fs::create_dir(&seed).unwrap();
    git(&seed, &["init", "-q"]);
    std::fs::copy(root().join("data/sample-org.json"), seed.join("org.json")).unwrap();
    std::fs::write(seed.join("rolecall.toml"), "ignore = [\"ROL001\"]\n").unwrap();
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "-q", "-m", "rolecall"]);
    git(dir, &["clone", "-q", "--bare", "seed", "origin.git"]);
    git(dir, &["clone", "-q", "origin.git", "work"]);
    let work = dir.join("work");
    git(&work, &["checkout", "-q", "-b", "pr"]);
    if new_finding {
        std::fs::write(work.join("rolecall.toml"), "ignore = []\n").unwrap();
        git(&work, &["commit", "-q", "-am", "stop ignoring ROL001"]);
    }
    work
}

/// File names a step mentions (`org.json`, `$RUNNER_TEMP/x.sarif`, `sarif:rolecall.sarif`),
/// with `$VAR`/`${VAR}` expanded from `env`, relative ones against `cwd`.
fn files_named(script: &str, env: &BTreeMap<String, String>, cwd: &Path) -> Vec<PathBuf> {
    const EXTENSIONS: [&str; 6] = [".json", ".sarif", ".xml", ".md", ".status", ".toml"];
    let mut out = Vec::new();
    for raw in script.split(|c: char| c.is_whitespace() || "\"'();=".contains(c)) {
        let token = raw.rsplit(':').next().unwrap_or(raw);
        let mut t = token.to_owned();
        // Longest names first: `$CI_PROJECT_DIR` is not `$CI` followed by `_PROJECT_DIR`.
        let mut vars: Vec<(&String, &String)> = env.iter().collect();
        vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        for (k, v) in vars {
            t = t
                .replace(&format!("${{{k}}}"), v)
                .replace(&format!("${k}"), v);
        }
        if t.contains('$') || t.contains('*') || !EXTENSIONS.iter().any(|e| t.ends_with(e)) {
            continue;
        }
        let p = PathBuf::from(&t);
        out.push(if p.is_absolute() { p } else { cwd.join(p) });
    }
    out
}

fn path_env(env: &mut BTreeMap<String, String>) {
    let bin = Path::new(env!("CARGO_BIN_EXE_rolecall")).parent().unwrap();
    env.insert(
        "PATH".into(),
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    env.insert("CI".into(), "true".into());
    env.insert("NO_COLOR".into(), "1".into());
}

/// Run one shell step; returns its exit code and checks the files it names exist afterwards.
fn step(
    name: &str,
    shell: &[&str],
    script: &str,
    cwd: &Path,
    env: &BTreeMap<String, String>,
) -> i32 {
    let out = Command::new(shell[0])
        .args(&shell[1..])
        .arg(script)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    for f in files_named(script, env, cwd) {
        assert!(
            f.exists(),
            "step `{name}` names `{}`, which no step before it or it wrote\nstdout: {}\nstderr: {}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("no org to check"),
        "step `{name}` ran `check` without a source"
    );
    code
}

/// GitHub's `if:` as these files use it, for a pull request.
fn github_condition(cond: &str, failed: bool, cwd: &Path) -> bool {
    cond.split("&&").all(|c| {
        let c = c.trim();
        // The test plays a pull request, so the event check holds.
        if c == "always()" || c == "github.event_name == 'pull_request'" {
            true
        } else if let Some(rest) = c.strip_prefix("hashFiles('") {
            let file = rest.split('\'').next().unwrap();
            assert!(c.ends_with("!= ''"), "unknown condition `{c}`");
            cwd.join(file).exists()
        } else {
            panic!("the test does not know the condition `{c}`: teach it, or simplify the workflow")
        }
    }) && (!failed || cond.contains("always()"))
}

/// Run the GitHub workflow's steps for a pull request; returns each step's name and exit code
/// (`None`: a `uses:` step or one skipped).
fn run_github(dir: &Path, new_finding: bool) -> Vec<(String, Option<i32>)> {
    let (_, doc) = load("examples/ci/github-rolecall.yml");
    let work = repository(dir, new_finding);
    let temp = dir.join("runner-temp");
    std::fs::create_dir(&temp).unwrap();
    let mut env = BTreeMap::new();
    path_env(&mut env);
    for (k, v) in doc["env"].as_hash().unwrap() {
        env.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
    }
    for (k, v) in [
        ("GITHUB_WORKSPACE", work.display().to_string()),
        ("RUNNER_TEMP", temp.display().to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_BASE_REF", "main".into()),
        ("GITHUB_OUTPUT", temp.join("output").display().to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            temp.join("summary.md").display().to_string(),
        ),
        ("HOME", dir.display().to_string()),
    ] {
        env.insert(k.into(), v);
    }
    let job = &doc["jobs"]["rolecall"];
    let mut failed = false;
    let mut codes = Vec::new();
    for s in job["steps"].as_vec().unwrap() {
        let name = s["name"]
            .as_str()
            .or(s["uses"].as_str())
            .unwrap()
            .to_owned();
        let cond = s["if"].as_str().unwrap_or("success()");
        let runs = if cond == "success()" {
            !failed
        } else {
            github_condition(cond, failed, &work)
        };
        if !runs {
            codes.push((name, None));
            continue;
        }
        if let Some(uses) = s["uses"].as_str() {
            // The checkout is the repository above; an upload must find the files it names.
            if !uses.starts_with("actions/checkout") {
                for key in ["sarif_file", "path"] {
                    if let Some(f) = s["with"][key].as_str() {
                        assert!(
                            work.join(f).exists(),
                            "`{uses}` uploads `{f}`, which no step wrote"
                        );
                    }
                }
            }
            codes.push((name, None));
            continue;
        }
        let script = s["run"].as_str().unwrap();
        // GitHub's default shell on Linux runners.
        let code = step(&name, &["bash", "-e", "-c"], script, &work, &env);
        failed |= code != 0;
        codes.push((name, Some(code)));
    }
    if new_finding {
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(work.join("rolecall.sarif")).unwrap())
                .unwrap();
        let new: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["baselineState"] == "new")
            .collect();
        assert_eq!(
            new.len(),
            1,
            "the one new finding is marked new in the SARIF log"
        );
        assert_eq!(new[0]["ruleId"], "ROL001");
    }
    let summary = std::fs::read_to_string(temp.join("summary.md")).unwrap();
    assert!(summary.starts_with("### rolecall:"), "{summary}");
    codes
}

fn named(codes: &[(String, Option<i32>)]) -> Vec<(&str, Option<i32>)> {
    codes.iter().map(|(n, c)| (n.as_str(), *c)).collect()
}

#[test]
fn the_github_workflow_uploads_sarif_then_fails_on_a_new_finding() {
    let dir = tempfile::tempdir().unwrap();
    let codes = run_github(dir.path(), true);
    assert_eq!(
        named(&codes),
        [
            ("actions/checkout@v4", None),
            ("Install rolecall", Some(0)),
            ("Baseline from the default branch", Some(0)),
            ("Check", Some(0)),
            ("Upload SARIF to code scanning", None),
            ("Gate", Some(1)),
        ]
    );
}

#[test]
fn the_github_workflow_passes_a_pull_request_without_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let codes = run_github(dir.path(), false);
    assert_eq!(codes.last().unwrap(), &("Gate".to_owned(), Some(0)));
    assert!(codes.iter().all(|(_, c)| c.unwrap_or(0) == 0), "{codes:?}");
}

#[test]
fn the_github_workflow_grants_what_the_upload_needs() {
    let (_, doc) = load("examples/ci/github-rolecall.yml");
    assert_eq!(
        doc["permissions"]["security-events"].as_str(),
        Some("write")
    );
    assert_eq!(doc["permissions"]["contents"].as_str(), Some("read"));
}

/// Run the GitLab job of a merge request: `before_script` then `script`, one shell, stopping at
/// the first failing line as the runner does; then the artifacts must exist.
#[test]
fn the_gitlab_job_keeps_junit_and_sarif_and_fails_on_a_new_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = load("examples/ci/gitlab-rolecall.yml");
    let work = repository(dir.path(), true);
    let job = &doc["rolecall"];
    let mut env = BTreeMap::new();
    path_env(&mut env);
    for (k, v) in job["variables"].as_hash().unwrap() {
        env.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
    }
    for (k, v) in [
        ("CI_PROJECT_DIR", work.display().to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".into()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".into()),
        ("CI_MERGE_REQUEST_IID", "7".into()),
        ("HOME", dir.path().display().to_string()),
    ] {
        env.insert(k.into(), v);
    }
    let lines: Vec<&str> = ["before_script", "script"]
        .iter()
        .flat_map(|k| job[*k].as_vec().unwrap())
        .map(|l| l.as_str().unwrap())
        .collect();
    let mut codes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // GitLab runs the lines in one POSIX shell with `set -e` semantics per line.
        let code = step(&format!("line {i}"), &["sh", "-e", "-c"], line, &work, &env);
        codes.push(code);
        if code != 0 {
            break;
        }
    }
    assert_eq!(
        codes,
        [0, 0, 0, 1],
        "the check fails the job on the new finding"
    );
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    let junit = job["artifacts"]["reports"]["junit"].as_str().unwrap();
    let xml = std::fs::read_to_string(work.join(junit)).unwrap();
    let doc_xml = roxmltree::Document::parse(&xml).unwrap();
    let root_el = doc_xml.root_element();
    let count = |a: &str| root_el.attribute(a).unwrap().parse::<usize>().unwrap();
    assert!(count("failures") + count("errors") + count("skipped") <= count("tests"));
    for p in job["artifacts"]["paths"].as_vec().unwrap() {
        let p = p.as_str().unwrap();
        assert!(work.join(p).exists(), "artifact `{p}` was not written");
    }
}

#[test]
fn the_readme_shows_each_ci_file_as_it_is() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for f in [
        "examples/ci/github-rolecall.yml",
        "examples/ci/gitlab-rolecall.yml",
    ] {
        let (text, _) = load(f);
        assert!(
            readme.contains(&format!("```yaml\n{text}```")),
            "README.md does not show `{f}` verbatim in a yaml block"
        );
    }
}
