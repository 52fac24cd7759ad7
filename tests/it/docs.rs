//! Docs that run: every ```rhai block of the repository's Markdown files and of the built-in
//! rules' documentation is compiled; rule blocks (`const RULE`) load and run against the sample
//! org without error, and test blocks (`fn test_*`) pass against the built-in rules.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rolecall::internals::engine::testing::run_tests;
use rolecall::internals::engine::{CheckConfig, RuleEngine, BUILTIN_RULES};
use rolecall::internals::model::{sample, Org};

/// One fenced block: where it starts (`file:line`) and its text.
struct Block {
    at: String,
    text: String,
}

/// The ```rhai blocks of Markdown `text`; `strip` removes a line prefix first (`//! ` in rules).
fn blocks(file: &str, text: &str, strip: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<&str>)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw
            .trim_start()
            .strip_prefix(strip.trim_end())
            .map_or(raw, |l| l.strip_prefix(' ').unwrap_or(l));
        match &mut open {
            None if line.trim_start().starts_with("```rhai") => open = Some((i + 1, Vec::new())),
            Some((start, body)) if line.trim_start().starts_with("```") => {
                out.push(Block {
                    at: format!("{file}:{start}"),
                    text: body.join("\n"),
                });
                open = None;
            }
            Some((_, body)) => body.push(line),
            None => {}
        }
    }
    assert!(open.is_none(), "{file}: a ```rhai block is never closed");
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                markdown_files(&p, out);
            }
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
}

fn every_block() -> Vec<Block> {
    let root = crate::support::root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        out.extend(blocks(&rel, &std::fs::read_to_string(f).unwrap(), ""));
    }
    for (path, text) in BUILTIN_RULES {
        out.extend(blocks(path, text, "//!"));
    }
    out
}

#[test]
fn the_block_reader_finds_blocks_in_markdown_and_rule_docs() {
    let md = "x\n```rhai\nlet a = 1;\n```\n```sh\nls\n```\n```rhai\nlet b = 2;\n```\n";
    let b = blocks("x.md", md, "");
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[0].at.as_str(), b[0].text.as_str()),
        ("x.md:2", "let a = 1;")
    );
    let rule = "//! Doc.\n//! ```rhai\n//! let c = 3;\n//! ```\nconst RULE = 1;\n";
    assert_eq!(blocks("r.rhai", rule, "//!")[0].text, "let c = 3;");
}

#[test]
fn every_rhai_block_in_the_docs_compiles_and_runs() {
    let blocks = every_block();
    // The README has a rule and a rule test; losing them would make this test pass vacuously.
    let readme = blocks
        .iter()
        .filter(|b| b.at.starts_with("README.md"))
        .count();
    assert!(readme >= 2, "README.md has {readme} rhai blocks");
    assert!(
        blocks.iter().any(|b| b.at.starts_with("rules/")),
        "no rule's documentation has a rhai block"
    );
    let org = Arc::new(Org::new(sample().unwrap()));
    let builtin = Arc::new(RuleEngine::with_builtin());
    let (mut rules, mut tests, mut snippets) = (0, 0, 0);
    for b in &blocks {
        if b.text.contains("const RULE") {
            rules += 1;
            let mut engine = RuleEngine::new(Default::default());
            let id = match engine.add_source(&b.at, &b.text) {
                Ok(meta) => meta.id.clone(),
                Err(e) => panic!("{}: {} at {}:{}", b.at, e.message, e.line, e.column),
            };
            let report = engine.check(&org, &CheckConfig::default());
            let outcome = report.outcomes.iter().find(|o| o.meta.id == id).unwrap();
            if let Some(e) = &outcome.error {
                panic!("{}: the rule fails on the sample org: {e}", b.at);
            }
        } else if b.text.contains("fn test_") {
            tests += 1;
            let report = run_tests(&builtin, &[(b.at.clone(), b.text.clone())], None);
            assert!(
                report.load_errors.is_empty(),
                "{}: {:?}",
                b.at,
                report.load_errors
            );
            assert!(!report.outcomes.is_empty(), "{}: no test ran", b.at);
            for o in &report.outcomes {
                if let Some(e) = &o.failure {
                    panic!(
                        "{}::{} fails: {} (line {})",
                        b.at, o.name, e.message, e.line
                    );
                }
            }
        } else {
            snippets += 1;
            let engine = rhai::Engine::new();
            if let Err(e) = engine.compile(&b.text) {
                panic!("{}: {e}", b.at);
            }
        }
    }
    assert!(
        rules >= 1 && tests >= 1,
        "{rules} rules, {tests} tests, {snippets} snippets"
    );
}
