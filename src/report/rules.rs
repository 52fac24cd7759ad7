//! The rule listing and one rule's documentation as documents: `rules list --format json`
//! (`rolecall.rules/1`) and `rules show --format json` (`rolecall.rule/1`).

use serde_json::{json, Value};

use crate::engine::RuleMeta;

/// The `format` tag of the rule listing.
pub const RULES_FORMAT: &str = "rolecall.rules/1";
/// The `format` tag of one rule's document.
pub const RULE_FORMAT: &str = "rolecall.rule/1";

fn entry(m: &RuleMeta) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "severity": m.severity.as_str(),
        "tags": m.tags,
        "status": m.status,
        "summary": m.summary,
        "source": m.source,
        "needs": m.needs,
        "params": m.params,
        "requires": m.requires,
    })
}

/// Every rule loaded, in the engine's order.
#[must_use]
pub fn rules_json<'a>(rules: impl IntoIterator<Item = &'a RuleMeta>) -> Value {
    json!({
        "format": RULES_FORMAT,
        "rules": rules.into_iter().map(entry).collect::<Vec<_>>(),
    })
}

/// One rule with its documentation (Markdown).
#[must_use]
pub fn rule_json(m: &RuleMeta) -> Value {
    let mut rule = entry(m);
    rule["docs"] = json!(m.docs);
    rule["line"] = json!(m.line);
    json!({ "format": RULE_FORMAT, "rule": rule })
}

/// A JSON document as the command line writes it to stdout or a file: pretty, unsafe
/// characters as `\uXXXX` escapes ([`crate::text::json_safe`]), one newline at the end.
///
/// # Errors
/// When the value cannot be serialized.
pub fn json_document(doc: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string_pretty(doc)?;
    let mut safe = crate::text::passed(text, crate::text::json_safe);
    safe.push('\n');
    Ok(safe)
}
