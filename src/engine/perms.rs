//! The permissions a rule set asks about, for `verify`: permission literals in the rules'
//! sources, permission strings among the configured parameters, and the permissions the
//! operation catalog lists for ACC001's expected operations. Read from text, never by running
//! a rule.

use std::collections::BTreeSet;

use super::{CheckConfig, RuleEngine};
use crate::catalog::Catalog;
use crate::model::{Org, Permission};

/// Most permissions collected, whatever the rules and parameters hold.
const MAX_PERMISSIONS: usize = 1_000;

/// Whether `token` is a concrete `domain:entity:action` (no wildcard, no empty part).
fn concrete(token: &str) -> bool {
    token.split(':').count() == 3
        && token.split(':').all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
        && Permission::parse(token).is_some()
}

/// Permission-shaped words of a text.
fn words(text: &str, out: &mut BTreeSet<String>) {
    for token in
        text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
    {
        let token = token.trim_end_matches('.');
        if out.len() < MAX_PERMISSIONS && concrete(token) {
            out.insert(token.to_owned());
        }
    }
}

/// Strings anywhere in a parameter value.
fn strings(v: &serde_json::Value, out: &mut BTreeSet<String>, depth: usize) {
    match v {
        serde_json::Value::String(s) => words(s, out),
        serde_json::Value::Array(a) if depth < 16 => {
            a.iter().for_each(|x| strings(x, out, depth + 1))
        }
        serde_json::Value::Object(m) if depth < 16 => {
            m.values().for_each(|x| strings(x, out, depth + 1));
        }
        _ => {}
    }
}

impl RuleEngine {
    /// The permissions the loaded rules (not removed ones) and their parameters name, and those
    /// the catalog lists for ACC001's expected operations, sorted.
    #[must_use]
    pub fn permissions_used(&self, org: &Org, config: &CheckConfig) -> Vec<String> {
        let mut out = BTreeSet::new();
        for r in self.rules.iter().filter(|r| r.meta.status != "removed") {
            words(&r.text, &mut out);
        }
        for v in config.params.values() {
            strings(v, &mut out, 0);
        }
        let catalog = Catalog::for_org(org);
        let expectations = config
            .params
            .get("ACC001")
            .and_then(|p| p.get("expectations"))
            .and_then(serde_json::Value::as_array);
        for e in expectations.into_iter().flatten().take(MAX_PERMISSIONS) {
            let op = e.get("op").and_then(serde_json::Value::as_str);
            let required = op
                .and_then(|op| catalog.find(op))
                .and_then(|m| m.operation.permissions.clone());
            for p in required.into_iter().flat_map(|r| r.list) {
                if out.len() < MAX_PERMISSIONS && concrete(&p) {
                    out.insert(p);
                }
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_concrete_permission_words_are_taken() {
        let mut out = BTreeSet::new();
        words(
            "let p = \"wfm:agent:edit\"; x::y::z; `routing:*:view` https://a.b:80/x directory:user:view.",
            &mut out,
        );
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            ["directory:user:view", "wfm:agent:edit"]
        );
    }
}
