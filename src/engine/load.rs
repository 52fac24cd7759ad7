//! Compiling one rule file: parse once, read `const RULE` and the `//!` docs without running it.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, AST};

use super::err::{RuleError, RuleErrorKind};
use super::meta::{clean_docs, section, RuleMeta, Severity, REQUIRED_SECTIONS};
use crate::model::DATASETS;

/// A rule ready to run.
pub(crate) struct CompiledRule {
    pub meta: Arc<RuleMeta>,
    pub ast: AST,
    pub text: Arc<str>,
    /// Whether `check` takes `(org, params)` rather than `(org)`.
    pub takes_params: bool,
}

/// Most `let`/`const` bindings and `fn` definitions one rule or helper file may hold. Rhai's
/// compiler checks each new binding against those in scope and each function against those
/// defined, so its time grows with their square: a megabyte of `let` lines takes minutes. Real
/// rules have tens; these caps keep any file's compilation to about a second.
pub(crate) const MAX_BINDINGS: usize = 5_000;
/// See [`MAX_BINDINGS`].
pub(crate) const MAX_FUNCTIONS: usize = 2_000;

/// Refuse a file whose compilation would take unbounded time, before compiling it. The count is
/// lexical (words in strings and comments count too), so it can only err on the side of a
/// clear error.
pub(crate) fn check_compile_cost(text: &str) -> Result<(), String> {
    let (mut bindings, mut functions) = (0usize, 0usize);
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        match word {
            "let" | "const" => bindings += 1,
            "fn" => functions += 1,
            _ => {}
        }
    }
    if bindings > MAX_BINDINGS {
        return Err(format!(
            "{bindings} `let`/`const` bindings, more than the {MAX_BINDINGS} a file may hold: compiling them would take minutes; keep data in arrays or maps"
        ));
    }
    if functions > MAX_FUNCTIONS {
        return Err(format!(
            "{functions} functions, more than the {MAX_FUNCTIONS} a file may hold: compiling them would take minutes; split them into helper files"
        ));
    }
    Ok(())
}

pub(crate) fn compile(
    engine: &Engine,
    source: &str,
    text: &str,
) -> Result<CompiledRule, Box<RuleError>> {
    // A byte order mark (some editors write one) is not Rhai: it goes, as it does for snapshots.
    let text: Arc<str> = Arc::from(text.strip_prefix('\u{feff}').unwrap_or(text));
    check_compile_cost(&text).map_err(|message| {
        Box::new(RuleError::new(
            RuleErrorKind::Limit,
            source,
            &text,
            0,
            0,
            message,
        ))
    })?;
    let mut ast = engine.compile(&*text).map_err(|e| {
        let pos = e.position();
        let message = e.err_type().to_string();
        let mut err = RuleError::new(
            RuleErrorKind::Compile,
            source,
            &text,
            pos.line().unwrap_or(0),
            pos.position().unwrap_or(0),
            message,
        );
        if text.contains("eval") {
            err = err.with_help("`eval` is disabled in rules: call functions directly instead");
        }
        Box::new(err)
    })?;
    ast.set_source(source);
    let meta_err = |line: usize, message: String, help: &str| {
        Box::new(
            RuleError::new(RuleErrorKind::Metadata, source, &text, line, 1, message)
                .with_help(help),
        )
    };
    let rule_line = line_of(&text, "const RULE").unwrap_or(0);
    let Some(map) = ast
        .iter_literal_variables(true, false)
        .find(|(name, ..)| *name == "RULE")
        .and_then(|(.., v)| v.try_cast::<Map>())
    else {
        return Err(meta_err(
            rule_line,
            "no `const RULE = #{ … }` with literal values".into(),
            "add `const RULE = #{ id: \"ORG001\", name: \"bad-pattern-name\", severity: \"medium\", tags: [] };` at the top level",
        ));
    };
    // A second `const RULE` would be ignored: say so, at its line.
    if ast
        .iter_literal_variables(true, false)
        .filter(|(name, ..)| *name == "RULE")
        .count()
        > 1
    {
        let second = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("const RULE"))
            .nth(1)
            .map_or(rule_line, |(i, _)| i + 1);
        return Err(meta_err(
            second,
            "a second `const RULE` in this file".into(),
            "one rule per file: move the second rule to a file of its own",
        ));
    }
    let field = |k: &str| {
        map.get(k)
            .and_then(|v| v.clone().into_immutable_string().ok())
            .map(|s| s.to_string())
    };
    // A value of another type is named as such, not shown as an empty string.
    let not_text = |k: &str| -> Option<String> {
        let v = map.get(k)?;
        (!v.is_string()).then(|| {
            format!(
                "`{k}` must be a string in quotes, not the {} `{v}`",
                v.type_name()
            )
        })
    };
    for k in ["id", "name", "severity", "status"] {
        if let Some(message) = not_text(k) {
            return Err(meta_err(
                rule_line,
                message,
                "e.g. `const RULE = #{ id: \"ORG001\", name: \"bad-pattern-name\", severity: \"medium\" };`",
            ));
        }
    }
    let id = field("id").unwrap_or_default();
    if !valid_id(&id) {
        return Err(meta_err(
            rule_line,
            format!("rule id `{id}` is not of the form `ABC123` (2–5 capital letters, 3 digits)"),
            "pick an unused code such as `ORG001`; codes are never reused",
        ));
    }
    let name = field("name").unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(meta_err(
            rule_line,
            format!("rule name `{name}` is not kebab-case"),
            "name the bad pattern, e.g. `client-without-mfa`",
        )
        .boxed_with_id(&id));
    }
    let severity: Severity =
        field("severity")
            .unwrap_or_default()
            .parse()
            .map_err(|m: String| {
                meta_err(rule_line, m, "use critical, high, medium, low or info").boxed_with_id(&id)
            })?;
    // `tags` and `needs` are optional arrays of strings.
    let strings = |key: &str, what: &str, example: &str| -> Result<Vec<String>, Box<RuleError>> {
        match map.get(key) {
            None => Ok(Vec::new()),
            Some(v) => v
                .clone()
                .try_cast::<rhai::Array>()
                .map(|a| a.iter().map(Dynamic::to_string).collect())
                .ok_or_else(|| {
                    meta_err(
                        rule_line,
                        format!("`{key}` must be an array of {what}"),
                        example,
                    )
                    .boxed_with_id(&id)
                }),
        }
    };
    let tags = strings("tags", "strings", "e.g. `tags: [\"oauth\", \"wfm\"]`")?;
    let status = field("status").unwrap_or_else(|| "stable".to_owned());
    let needs = strings(
        "needs",
        "dataset names",
        "e.g. `needs: [\"oauthClients\", \"roles\"]`",
    )?;
    // A misspelt dataset would silently switch off the guard that turns missing data into
    // "unknown": refuse it, pointing at the entry.
    if let Some(bad) = needs.iter().find(|n| !DATASETS.contains(&n.as_str())) {
        let (line, column) =
            position_of(&text, &format!("\"{bad}\""), rule_line).unwrap_or((rule_line, 1));
        return Err(Box::new(
            RuleError::new(
                RuleErrorKind::Metadata,
                source,
                &text,
                line,
                column,
                format!("`needs` names `{bad}`, which is not a snapshot dataset"),
            )
            .with_id(&id)
            .with_help(format!(
                "datasets are {}",
                DATASETS.map(|d| format!("`{d}`")).join(", ")
            )),
        ));
    }
    let docs = clean_docs(ast.doc());
    let missing: Vec<&str> = REQUIRED_SECTIONS
        .iter()
        .copied()
        .filter(|s| section(&docs, s).is_none_or(|b| b.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(meta_err(
            1,
            format!("the `//!` documentation lacks {}", missing.iter().map(|s| format!("`## {s}`")).collect::<Vec<_>>().join(", ")),
            "document the rule at the top of the file with `//!` lines: a summary, then `## What it does`, `## Why is this bad?`, `## How to fix`",
        )
        .boxed_with_id(&id));
    }
    let arity = ast
        .iter_functions()
        .find(|f| f.name == "check")
        .map(|f| f.params.len());
    let takes_params =
        match arity {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(meta_err(
                line_of(&text, "fn check").unwrap_or(0),
                "the rule has no `fn check(org)` or `fn check(org, params)`".into(),
                "define `fn check(org) { … }` and call `report(subject, message)` for each problem",
            )
            .boxed_with_id(&id)),
        };
    let params = if takes_params {
        match map.get("params") {
            Some(_) => Some(strings(
                "params",
                "parameter names",
                "e.g. `params: [\"permissions\"]`",
            )?),
            None => None,
        }
    } else {
        Some(Vec::new())
    };
    let requires = strings(
        "requires",
        "parameter names",
        "e.g. `requires: [\"expectations\"]`",
    )?;
    // A required key the rule does not take could never be given: the rule would never run.
    if let Some(bad) = requires
        .iter()
        .find(|r| !takes_params || params.as_ref().is_some_and(|p| !p.contains(r)))
    {
        return Err(meta_err(
            rule_line,
            format!("`requires` names `{bad}`, which is not one of the rule's `params`"),
            "list every required key in `params` too, and take `fn check(org, params)`",
        )
        .boxed_with_id(&id));
    }
    let summary = docs.lines().next().unwrap_or_default().trim().to_owned();
    Ok(CompiledRule {
        meta: Arc::new(RuleMeta {
            id,
            name,
            severity,
            tags,
            status,
            summary,
            docs,
            source: source.to_owned(),
            line: rule_line,
            needs,
            params,
            requires,
        }),
        ast,
        text,
        takes_params,
    })
}

fn valid_id(id: &str) -> bool {
    let letters = id.chars().take_while(char::is_ascii_uppercase).count();
    let digits = &id[letters..];
    (2..=5).contains(&letters) && digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit())
}

/// 1-based line and column of the first `needle` at or after line `from` (1-based).
fn position_of(text: &str, needle: &str, from: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, l[..c].chars().count() + 1)))
}

pub(crate) fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(needle))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_dataset_in_needs_is_a_load_error_at_its_place() {
        let engine = Engine::new();
        let text = "//! X.\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! x\n//! ## How to fix\n//! x\nconst RULE = #{ id: \"ORG001\", name: \"x\", severity: \"low\",\n    needs: [\"roles\", \"accesPolicies\"] };\nfn check(org) {}\n";
        let e = compile(&engine, "x.rhai", text).err().unwrap();
        assert!(e.message.contains("`accesPolicies`"), "{}", e.message);
        assert_eq!((e.line, e.column), (9, 22));
        assert!(e
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`accessPolicies`")));
        let ok = text.replace("accesPolicies", "accessPolicies");
        assert_eq!(compile(&engine, "x.rhai", &ok).unwrap().meta.needs.len(), 2);
        let not_array = text.replace("needs: [\"roles\", \"accesPolicies\"]", "needs: \"roles\"");
        assert!(compile(&engine, "x.rhai", &not_array).is_err());
    }

    const DOCS: &str = "//! X.\n//! ## What it does\n//! x\n//! ## Why is this bad?\n//! x\n//! ## How to fix\n//! x\n";

    #[test]
    fn an_id_that_is_not_a_string_is_named_as_such() {
        let text = format!("{DOCS}const RULE = #{{ id: 123, name: \"x\", severity: \"low\" }};\nfn check(org) {{}}\n");
        let e = compile(&Engine::new(), "x.rhai", &text).err().unwrap();
        assert_eq!(
            e.message,
            "`id` must be a string in quotes, not the i64 `123`"
        );
        assert_eq!(e.line, 8);
    }

    #[test]
    fn a_second_const_rule_is_an_error_at_its_line() {
        let text = format!(
            "{DOCS}const RULE = #{{ id: \"ORG001\", name: \"x\", severity: \"low\" }};\n\
             const RULE = #{{ id: \"ORG002\", name: \"y\", severity: \"low\" }};\nfn check(org) {{}}\n"
        );
        let e = compile(&Engine::new(), "x.rhai", &text).err().unwrap();
        assert_eq!(e.message, "a second `const RULE` in this file");
        assert_eq!(e.line, 9);
    }

    #[test]
    fn a_byte_order_mark_before_a_rule_is_not_an_error() {
        let text = format!("\u{feff}{DOCS}const RULE = #{{ id: \"ORG001\", name: \"x\", severity: \"low\" }};\nfn check(org) {{}}\n");
        assert_eq!(
            compile(&Engine::new(), "x.rhai", &text).unwrap().meta.id,
            "ORG001"
        );
    }

    #[test]
    fn ids() {
        assert!(valid_id("WFM001"));
        assert!(valid_id("AB123"));
        assert!(!valid_id("wfm001"));
        assert!(!valid_id("W001"));
        assert!(!valid_id("WFM01"));
        assert!(!valid_id("WFM0001"));
    }
}
