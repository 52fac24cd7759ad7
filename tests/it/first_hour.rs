//! The first hour (issue 22): the conventions of tools people know (a positional snapshot,
//! `--output-format`, several reports in one run, `github` annotations, `--statistics`, no demo
//! org without a terminal), rules that cannot run saying so, the version and commit, man pages
//! for every subcommand, definition files that parse and TOML dates in waivers.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use rolecall::internals::engine::{CheckConfig, RuleEngine};
use rolecall::internals::model::{sample, Org};

use crate::support::{rolecall, root};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    rolecall().current_dir(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sample_file() -> String {
    root().join("data/sample-org.json").display().to_string()
}

// ---- conventions ----

/// A CI job has no terminal: `check` with no source must not audit the demo org.
#[test]
fn check_without_a_source_or_a_terminal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["check", "--no-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report: {}", text(&out.stdout));
    let err = text(&out.stderr);
    for needle in ["no org to check", "--snapshot", "--live", "--sample"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!err.contains("using the built-in sample org"), "{err}");
    // Saying which org is meant works without a terminal.
    let out = run_in(dir.path(), &["check", "--no-config", "--sample"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn the_snapshot_is_a_positional_argument_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample_file();
    let positional = run_in(
        dir.path(),
        &["check", "--no-config", &file, "--format", "json"],
    );
    let flag = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--snapshot",
            &file,
            "--format",
            "json",
        ],
    );
    assert_eq!(positional.status.code(), Some(1));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&positional.stdout).unwrap(),
        serde_json::from_slice(&flag.stdout).unwrap(),
    );
    assert_eq!(a["source"]["kind"], "snapshot");
    assert_eq!(a["source"]["path"], b["source"]["path"]);
    assert_eq!(a["summary"]["findings"], b["summary"]["findings"]);
    // Both at once, or with --sample, is a usage error.
    for args in [
        vec!["check", &file, "--snapshot", &file],
        vec!["check", &file, "--sample"],
    ] {
        assert_eq!(run_in(dir.path(), &args).status.code(), Some(2), "{args:?}");
    }
    // The other commands that read one snapshot take it the same way.
    for args in [
        vec!["who-can", "wfm:agent:edit", &file],
        vec!["access", "client:wfm-sync", &file],
        vec![
            "explain",
            &file,
            "--as",
            "client:wfm-sync",
            "--op",
            "POST /api/v2/workforcemanagement/agents",
            "--target",
            "management-unit:EU Agents",
        ],
    ] {
        let out = run_in(dir.path(), &args);
        let err = text(&out.stderr);
        assert!(
            !err.contains("using the built-in sample org"),
            "{args:?} read the sample: {err}"
        );
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {err}");
    }
}

/// `--output-format` as in ruff selects the format and writes to stdout (it used to be
/// refused with a suggestion of `--output`, which writes a file).
#[test]
fn output_format_is_the_format_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--no-config",
            "--output-format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "rolecall.check/1");
    assert!(!dir.path().join("json").exists(), "no file was written");
}

/// One run, several reports: each with its format and path; the primary one on stdout.
#[test]
fn several_reports_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--no-config",
            "--format",
            "json",
            "--report",
            "sarif:out/r.sarif",
            "--report",
            "junit:r.xml",
            "--report",
            "markdown:r.md",
        ],
    );
    // `out/` does not exist: nothing is written, not even the first report.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--no-config",
            "--format",
            "json",
            "--report",
            "sarif:out/r.sarif",
            "--report",
            "junit:r.xml",
            "--report",
            "markdown:r.md",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/r.sarif")).unwrap())
            .unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        json["findings"].as_array().unwrap().len(),
        "the same run"
    );
    let xml = std::fs::read_to_string(dir.path().join("r.xml")).unwrap();
    roxmltree::Document::parse(&xml).unwrap();
    assert!(std::fs::read_to_string(dir.path().join("r.md"))
        .unwrap()
        .starts_with("### rolecall: 18 findings"));
    // Two reports on stdout, or two to one file, are refused before anything runs.
    for args in [
        vec!["check", "--sample", "--report", "json"],
        vec![
            "check",
            "--sample",
            "--report",
            "json:a.json",
            "--report",
            "sarif:a.json",
        ],
        vec!["check", "--sample", "--report", "yaml:a.yml"],
    ] {
        let out = run_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert!(!dir.path().join("a.json").exists());
}

#[test]
fn github_annotations_are_one_line_each_and_cannot_be_forged() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--sample", "--no-config", "--format", "github"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let annotations: Vec<&&str> = lines.iter().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 18 + 2, "18 findings and 2 rules not run");
    assert_eq!(
        annotations
            .iter()
            .filter(|l| l.starts_with("::error "))
            .count(),
        7,
        "critical and high are errors"
    );
    let wfm = annotations.iter().find(|l| l.contains("WFM001")).unwrap();
    assert!(
        wfm.starts_with("::error file=rules/wfm/wfm-client-division-gap.rhai,line="),
        "{wfm}"
    );
    assert!(
        wfm.contains("title=WFM001 wfm-client-division-gap [high]::client `wfm-sync`"),
        "{wfm}"
    );
    assert!(
        wfm.contains("%0Afix: grant role"),
        "a fix on its own line: {wfm}"
    );
    let net = annotations.iter().find(|l| l.contains("NET002")).unwrap();
    assert!(net.starts_with("::warning "), "{net}");
    assert!(net.contains("not run::required parameter"), "{net}");
    assert!(
        lines.last().unwrap().starts_with("18 findings"),
        "summary last"
    );

    // An org name with a line break and a command of its own stays in its annotation.
    let mut snap = sample().unwrap();
    snap.oauth_clients[0].name = "evil\n::error file=x::forged".into();
    let file = dir.path().join("evil.json");
    rolecall::internals::model::save_snapshot(&snap, &file).unwrap();
    let out = rolecall()
        .current_dir(dir.path())
        .args(["check", "--no-config", "--format", "github"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().all(|l| !l.starts_with("::error file=x")),
        "{stdout}"
    );
}

#[test]
fn statistics_count_findings_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--sample", "--no-config", "--statistics"],
    );
    assert_eq!(out.status.code(), Some(1), "the gate is the same");
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap();
    assert_eq!(
        first.split_whitespace().collect::<Vec<_>>(),
        ["4", "ADM001", "medium", "can-grant-roles-everywhere"],
        "most findings first"
    );
    assert!(
        stdout.contains("NET002  high     required-cidr-not-allowlisted (not run)"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("18  findings in total, 18 failing\n"),
        "{stdout}"
    );
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--sample",
            "--no-config",
            "--statistics",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "rolecall.statistics/1");
    assert_eq!(v["rules"][0]["id"], "ADM001");
    assert_eq!(v["rules"][0]["count"], 4);
    let out = run_in(
        dir.path(),
        &["check", "--sample", "--statistics", "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(2), "statistics are a table or JSON");
}

#[test]
fn the_version_names_the_commit() {
    let out = rolecall().arg("--version").output().unwrap();
    let v = text(&out.stdout);
    let rest = v
        .strip_prefix(&format!("rolecall {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{v}"));
    let commit = rest.trim_end().strip_suffix(')').unwrap();
    // A git checkout has a commit; an unpacked archive says so.
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{v}"
    );
}

// ---- rules that cannot run ----

#[test]
fn rules_missing_a_required_parameter_are_not_run_and_say_why() {
    let org = Arc::new(Org::new(sample().unwrap()));
    let engine = RuleEngine::with_builtin();
    let report = engine.check(&org, &CheckConfig::default());
    for (id, key) in [("NET002", "required_cidrs"), ("ACC001", "expectations")] {
        let o = report.outcomes.iter().find(|o| o.meta.id == id).unwrap();
        let reason = o.not_run.as_deref().unwrap_or_else(|| panic!("{id} ran"));
        assert!(reason.contains(&format!("`{key}`")), "{reason}");
        assert!(o.findings.is_empty() && o.error.is_none());
    }
    // An empty list checks nothing: as good as none. Given, the rule runs.
    let mut config = CheckConfig::default();
    config
        .params
        .insert("NET002".into(), serde_json::json!({ "required_cidrs": [] }));
    let report = engine.check(&org, &config);
    let net = report
        .outcomes
        .iter()
        .find(|o| o.meta.id == "NET002")
        .unwrap();
    assert!(net.not_run.is_some());
    config.params.insert(
        "NET002".into(),
        serde_json::json!({ "required_cidrs": ["198.51.100.0/24"] }),
    );
    let report = engine.check(&org, &config);
    let net = report
        .outcomes
        .iter()
        .find(|o| o.meta.id == "NET002")
        .unwrap();
    assert!(net.not_run.is_none());
}

const DOCS: &str = "//! A test rule.\n//!\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! y\n//! ## How to fix\n//! z\n";

#[test]
fn a_rule_can_say_it_did_not_run() {
    let mut engine = RuleEngine::new(Default::default());
    engine
        .add_source(
            "inline:x.rhai",
            &format!("{DOCS}const RULE = #{{ id: \"ORG001\", name: \"x\", severity: \"low\" }};\nfn check(org) {{ if org.roles.len() > 0 {{ not_run(\"no catalog to check against\"); }} report(org, \"never\"); }}\n"),
        )
        .unwrap();
    let report = engine.check(
        &Arc::new(Org::new(sample().unwrap())),
        &CheckConfig::default(),
    );
    let o = &report.outcomes[0];
    assert_eq!(o.not_run.as_deref(), Some("no catalog to check against"));
    assert!(o.error.is_none() && o.findings.is_empty());
}

#[test]
fn requires_must_name_a_parameter_the_rule_takes() {
    let mut engine = RuleEngine::new(Default::default());
    let e = engine
        .add_source(
            "inline:x.rhai",
            &format!("{DOCS}const RULE = #{{ id: \"ORG001\", name: \"x\", severity: \"low\", params: [\"a\"], requires: [\"b\"] }};\nfn check(org, params) {{}}\n"),
        )
        .unwrap_err();
    assert!(e.message.contains("`requires` names `b`"), "{}", e.message);
}

// ---- authoring aids ----

/// The types a definition file may write: `?`, `()`, a name (Rhai's `range=` included), or a
/// generic such as `StepRange<int>`.
fn valid_type(t: &str) -> bool {
    let t = t.trim();
    if t == "?" || t == "()" {
        return true;
    }
    let (base, args) = match t.split_once('<') {
        Some((b, rest)) => match rest.strip_suffix('>') {
            Some(a) => (b, Some(a)),
            None => return false,
        },
        None => (t, None),
    };
    let name = base.strip_suffix('=').unwrap_or(base);
    !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && args.is_none_or(|a| a.split(',').all(valid_type))
}

/// A checker for the definition-file syntax Rhai's language server reads (`module NAME;`, then
/// `fn`/`op` declarations with typed parameters and an optional `-> TYPE`, `let`/`const`
/// declarations, comments): the lines it cannot read, with why.
fn definition_errors(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut module = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("//") {
            continue;
        }
        let at = |why: &str| format!("line {}: {why}: {l}", i + 1);
        let Some(decl) = l.strip_suffix(';') else {
            errors.push(at("no `;`"));
            continue;
        };
        if let Some(name) = decl.strip_prefix("module ") {
            module = !name.trim().is_empty();
            continue;
        }
        if !module {
            errors.push(at("before `module NAME;`"));
            continue;
        }
        if let Some(rest) = decl.strip_prefix("let ").or(decl.strip_prefix("const ")) {
            if !rest.split_once(':').is_some_and(|(_, t)| valid_type(t)) {
                errors.push(at("a variable needs `NAME: TYPE`"));
            }
            continue;
        }
        let (is_op, rest) = match (decl.strip_prefix("fn "), decl.strip_prefix("op ")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => {
                errors.push(at("not a declaration"));
                continue;
            }
        };
        let Some((head, tail)) = rest.split_once('(') else {
            errors.push(at("no parameter list"));
            continue;
        };
        // The `)` that closes the list: types such as `()` nest.
        let mut depth = 1;
        let close = tail.char_indices().find_map(|(i, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            (depth == 0).then_some(i)
        });
        let Some(close) = close else {
            errors.push(at("unclosed parameter list"));
            continue;
        };
        let (params, ret) = (&tail[..close], &tail[close + 1..]);
        let head = head.trim();
        let name_ok = if is_op {
            !head.is_empty() && !head.contains(char::is_whitespace)
        } else {
            let name = head
                .strip_prefix("get ")
                .or(head.strip_prefix("set "))
                .unwrap_or(head);
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        };
        if !name_ok {
            errors.push(at("bad name"));
        }
        for p in params.split(", ").filter(|p| !p.is_empty()) {
            let ty = if is_op {
                p
            } else {
                match p.split_once(": ") {
                    Some((_, t)) => t,
                    None => {
                        errors.push(at("a parameter needs `NAME: TYPE`"));
                        continue;
                    }
                }
            };
            if !valid_type(ty) {
                errors.push(at(&format!("bad parameter type `{ty}`")));
            }
        }
        let ret = ret.trim();
        if !ret.is_empty() {
            match ret.strip_prefix("->") {
                Some(t) if valid_type(t) => {}
                _ => errors.push(at(&format!("bad return type `{ret}`"))),
            }
        }
    }
    errors
}

#[test]
fn the_definition_checker_rejects_what_editors_reject() {
    let ok = "module static;\n/// Doc.\nfn can(_: Client, _: string, _: ?) -> bool;\nfn f(_: string) -> ();\nop ==(int, int) -> bool;\nfn get name(_: Org) -> string;\nfn chars(s: string, r: range=) -> CharsStream;\nfn x() -> StepRange<int>;\n";
    assert_eq!(definition_errors(ok), Vec::<String>::new());
    for bad in [
        "module static;\nfn can(_: Client) -> EvalAltResult>>;\n",
        "module static;\nfn to_float(_: ?) -> ;\n",
        "fn a() -> int;\n",
        "module static;\nfn a(x) -> int;\n",
        "module static;\nfn a(_: int -> int;\n",
    ] {
        assert_eq!(definition_errors(bad).len(), 1, "{bad}");
    }
}

#[test]
fn definition_files_parse() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["rules", "definitions", "-o", "defs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut files = 0;
    for e in std::fs::read_dir(dir.path().join("defs")).unwrap() {
        let path = e.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        let errors = definition_errors(&body);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        files += 1;
        if body.contains("fn can(") {
            assert!(body.contains("fn can(_: Client, _: string, _: ?) -> bool;"));
        }
    }
    assert_eq!(files, 3);
}

#[test]
fn every_subcommand_has_a_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["man", "-o", "man"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let man = dir.path().join("man");
    // Every page a page refers to (`rolecall\-check(1)`) exists, and so every subcommand has one.
    let mut referred = 0;
    for e in std::fs::read_dir(&man).unwrap() {
        let page = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for (i, part) in page.split("(1)").enumerate() {
            if i + 1 == page.split("(1)").count() {
                break;
            }
            let name: String = part
                .rsplit(|c: char| c.is_whitespace())
                .next()
                .unwrap()
                .replace("\\-", "-");
            if name.starts_with("rolecall-") {
                referred += 1;
                assert!(man.join(format!("{name}.1")).exists(), "no page {name}.1");
            }
        }
    }
    assert!(referred >= 18, "{referred} references");
    for sub in ["check", "who-can", "rules-list", "rules-definitions", "man"] {
        assert!(man.join(format!("rolecall-{sub}.1")).exists(), "{sub}");
    }
    let check = run_in(dir.path(), &["man", "check"]);
    assert!(
        text(&check.stdout).contains(".TH rolecall-check 1"),
        "{}",
        text(&check.stdout)
    );
    assert!(text(&check.stdout).contains("output\\-format"));
    let rules_list = run_in(dir.path(), &["man", "rules", "list"]);
    assert!(text(&rules_list.stdout).contains(".TH rolecall-rules-list 1"));
    assert_eq!(run_in(dir.path(), &["man", "nope"]).status.code(), Some(2));
}

#[test]
fn a_native_toml_date_waives_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.toml"),
        "[[waivers]]\nrule = \"OAU002\"\nsubject = \"client:ci-*\"\nreason = \"migration\"\nexpires = 2999-12-31\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "check", "--sample", "--select", "OAU002", "--format", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["waiver"]["expires"], "2999-12-31");
}

// ---- names people type (item 4) ----

/// Users by display name, clients and divisions regardless of case; an ambiguous name lists the
/// candidates; a typo in a subject, a division, a rule id or an operation path gets the
/// nearest names.
#[test]
fn names_people_type_resolve_and_typos_get_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let snap = sample_file();
    for (args, want) in [
        (
            vec!["access", "user:Alice Admin", &snap],
            "user `Alice Admin`",
        ),
        (
            vec!["access", "client:WFM-SYNC", &snap],
            "client `wfm-sync`",
        ),
        (
            vec![
                "who-can",
                "wfm:agent:edit",
                &snap,
                "--division",
                "Support Eu",
            ],
            "in division `Support EU`",
        ),
    ] {
        let out = run_in(dir.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains(want),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    for (args, want) in [
        (
            vec!["access", "client:wfm-snc", &snap],
            "did you mean `client:wfm-sync`?",
        ),
        (
            vec![
                "who-can",
                "wfm:agent:edit",
                &snap,
                "--division",
                "Suport EU",
            ],
            "did you mean `division:Support EU`?",
        ),
        (
            vec![
                "explain",
                &snap,
                "--as",
                "client:wfm-sync",
                "--op",
                "POST /api/v2/workforcemanagment/agents",
            ],
            "did you mean `POST /api/v2/workforcemanagement/agents`?",
        ),
        (
            vec!["check", &snap, "--select", "WFM01"],
            "did you mean `WFM001`",
        ),
    ] {
        let out = run_in(dir.path(), &args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr))
            .replace("\n  │ ", " ")
            .replace("\n        ", " ");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains(want), "{args:?}: {all}");
    }
    // Two users of one name: an error listing both, never a guess.
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    let mut twin = s["users"][0].clone();
    twin["id"] = "twin-id".into();
    twin["email"] = "twin@acme.example".into();
    let name = twin["name"].as_str().unwrap().to_owned();
    s["users"].as_array_mut().unwrap().push(twin);
    let twins = dir.path().join("twins.json");
    std::fs::write(&twins, s.to_string()).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "access",
            &format!("user:{}", name.to_uppercase()),
            twins.to_str().unwrap(),
        ],
    );
    let all = text(&out.stderr).replace("\n  │ ", " ");
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("names 2 objects") && all.contains("twin@acme.example"),
        "{all}"
    );
}
