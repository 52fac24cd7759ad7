//! Rhai definition files (`.d.rhai`) of the host API for editors, with the return types Rhai
//! gets wrong put right.
//!
//! Rhai writes the return type of a function that can fail (`Result<T, Box<EvalAltResult>>`)
//! as the last `::` segment of its Rust name, `EvalAltResult>>`, and a few of its own as an
//! empty type (`-> ;`); editors refuse such files. The full Rust type is in the function's
//! signature, so each broken line gets `T` back, written the way the file writes types.

use std::collections::HashMap;

/// The suffix Rhai's definitions leave for a fallible function's return type.
const BROKEN_RESULT: &str = "-> EvalAltResult>>;";
/// The Rust type of a fallible native function, around its `T`.
const RESULT_PREFIX: &str = "core::result::Result<";
const RESULT_SUFFIX: &str = ",alloc::boxed::Box<rhai::types::error::EvalAltResult>>";

/// The definition files of `engine`, sorted by name, with every return type written as a
/// definition file writes types.
pub(crate) fn definitions(engine: &rhai::Engine) -> Vec<(String, String)> {
    let returns = fallible_returns(engine);
    let mut out: Vec<(String, String)> = engine
        .definitions()
        .iter_files()
        .map(|(name, text)| (name, repair(&text, &returns)))
        .collect();
    out.sort();
    out
}

/// `name(param types)` → the definition type of `T`, for every fallible function.
fn fallible_returns(engine: &rhai::Engine) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for sig in engine.gen_fn_signatures(false) {
        let Some((head, ret)) = sig.rsplit_once(" -> ") else {
            continue;
        };
        let Some(inner) = ret
            .strip_prefix(RESULT_PREFIX)
            .and_then(|r| r.strip_suffix(RESULT_SUFFIX))
        else {
            continue;
        };
        if let Some(key) = key(head, &|t| def_type(engine, t)) {
            out.insert(key, def_type(engine, inner));
        }
    }
    out
}

/// The lookup key of a function: its name and parameter types, each written by `ty` and
/// lowercased, so that `can(_: &mut Client, _: string, _: types::dynamic::Dynamic)` (a
/// signature, `ty` = [`def_type`]) and `fn can(_: Client, _: string, _: ?)` (a definition line,
/// `ty` = as written) both give `can(client,string,?)`.
fn key(head: &str, ty: &dyn Fn(&str) -> String) -> Option<String> {
    let head = head.trim().trim_start_matches("fn ").trim();
    let (name, params) = head.split_once('(')?;
    let params = params.strip_suffix(')')?;
    let types: Vec<String> = params
        .split(", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let t = p.rsplit_once(": ").map_or(p, |(_, t)| t);
            ty(t.trim().trim_start_matches("&mut ")).to_ascii_lowercase()
        })
        .collect();
    Some(format!("{}({})", name.trim(), types.join(",")))
}

/// A Rust type name as a definition file writes it: Rhai's names for its own types, the
/// registered name of a host type, `?` for anything else.
fn def_type(engine: &rhai::Engine, rust: &str) -> String {
    match rust {
        "()" => "()".to_owned(),
        "bool" => "bool".to_owned(),
        "i64" => "int".to_owned(),
        "f64" => "float".to_owned(),
        "alloc::string::String" | "rhai::types::immutable_string::ImmutableString" => {
            "string".to_owned()
        }
        t if t.ends_with("::Dynamic") => "?".to_owned(),
        t if t.starts_with("alloc::vec::Vec<") => "array".to_owned(),
        t if t.starts_with("alloc::collections::btree::map::BTreeMap<") => "map".to_owned(),
        t => {
            let mapped = engine.map_type_name(t);
            if mapped.contains("::") || mapped.contains('<') {
                "?".to_owned()
            } else {
                mapped.to_owned()
            }
        }
    }
}

/// One file with its broken return types replaced.
fn repair(text: &str, returns: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let fixed = if let Some(head) = line.strip_suffix(BROKEN_RESULT) {
            let t = key(head, &|t| t.to_owned())
                .and_then(|k| returns.get(&k).cloned())
                .unwrap_or_else(|| "?".to_owned());
            format!("{head}-> {t};")
        } else if let Some(head) = line.strip_suffix("-> ;") {
            // Rhai's own functions whose type it could not name: any value.
            format!("{head}-> ?;")
        } else {
            line.to_owned()
        };
        out.push_str(&fixed);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_signature_and_a_definition_line_agree() {
        let engine = rhai::Engine::new();
        assert_eq!(
            key(
                "can(_: &mut Client, _: string, _: types::dynamic::Dynamic)",
                &|t| def_type(&engine, t)
            ),
            key("fn can(_: Client, _: string, _: ?) ", &|t| t.to_owned())
        );
    }

    #[test]
    fn every_fallible_host_function_gets_its_type_back() {
        let engine = super::super::RuleEngine::with_builtin();
        let files = engine.definitions();
        let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
        assert!(
            !all.contains("EvalAltResult"),
            "a broken return type is left"
        );
        assert!(!all.contains("-> ;"));
        assert!(
            all.contains("fn can(_: Client, _: string, _: ?) -> bool;"),
            "can's real type"
        );
        assert!(
            all.contains("fn index$get$(_: Clients, _: int) -> Client;"),
            "a host type by its registered name"
        );
    }
}
