//! `rolecall.toml`: rule directories, selection, severity overrides, rule parameters, waivers
//! and the failure threshold, found upward from the working directory or given by `--config`;
//! and [`Settings`], the file and the command-line flags resolved once for every command.
//!
//! Unknown keys and bad values are errors pointing at the offending span of the file.

mod settings;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use miette::{Diagnostic, SourceSpan};
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

pub use settings::{
    mark_unknown_changes, parse_fail_on, ConfigSource, Overrides, Settings, SettingsError,
    DEFAULT_MEMORY_MIB, MAX_BUDGET_SECONDS, MAX_MEMORY_MIB,
};

use crate::engine::{valid_date, Severity, Waiver};

/// The file name looked for.
pub const FILE_NAME: &str = "rolecall.toml";

/// A configuration file could not be used: the message, and the span of the culprit.
#[derive(Debug, Error, Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub struct ConfigError(Box<ConfigErrorInner>);

#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(rolecall::config))]
struct ConfigErrorInner {
    message: String,
    #[source_code]
    src: Option<crate::text::Excerpt>,
    #[label("here")]
    span: Option<SourceSpan>,
    #[help]
    help: Option<String>,
}

impl ConfigError {
    fn new(message: String) -> Self {
        Self(Box::new(ConfigErrorInner {
            message,
            src: None,
            span: None,
            help: None,
        }))
    }

    fn at(
        file: &Path,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        message: String,
        help: Option<&str>,
    ) -> Self {
        // Only the offending line is shown, bounded and made visible (never the whole file:
        // a config given by a pull request may be a link to a file of secrets).
        let (src, span) = match span {
            Some(r) => {
                let (shown, at, line, column) = crate::text::line_window(text, r.start, 120);
                let len = r.end.saturating_sub(r.start).min(shown.len() - at);
                (
                    Some(crate::text::Excerpt::new(
                        &file.display().to_string(),
                        shown,
                        line,
                        column,
                    )),
                    Some(SourceSpan::from((at, len))),
                )
            }
            None => (None, None),
        };
        Self(Box::new(ConfigErrorInner {
            message,
            src,
            span,
            help: help.map(str::to_owned),
        }))
    }

    /// An error about key `key` of `[params.RULE]` in the file at `file`, pointing at the key's
    /// line when it can be found (after the table's header), else at the header, else naming
    /// only the file.
    pub(crate) fn at_param(
        file: &Path,
        rule: &str,
        key: &str,
        message: String,
        help: &str,
    ) -> Self {
        let Ok(text) = crate::io::read_text(file, crate::io::Input::Config) else {
            return Self::new(format!("{}: {message}", file.display()));
        };
        let span = param_span(&text, rule, Some(key));
        Self::at(file, &text, span, message, Some(help))
    }

    /// The message, one line.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Byte offset of the culprit in the file, when known.
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        self.0.span.map(|s| s.offset())
    }
}

/// Where the configuration of rule `rule`'s parameters is in a config file's text: key `key`
/// (in `[params.RULE]` or a `[[params.RULE.key]]` header) when given and found, else the
/// table's header. `None` when the file does not configure the rule.
pub(crate) fn param_span(
    text: &str,
    rule: &str,
    key: Option<&str>,
) -> Option<std::ops::Range<usize>> {
    if let Some(key) = key {
        let dotted = format!("params.{rule}.{key}");
        if let Some(at) = text.find(&dotted) {
            let start = at + dotted.len() - key.len();
            return Some(start..start + key.len());
        }
    }
    let header = format!("[params.{rule}");
    let h = text.find(&header)?;
    let body = text[h..].find('\n').map_or(text.len(), |e| h + e + 1);
    let end = text[body..].find("\n[").map_or(text.len(), |e| body + e);
    let mut at = body;
    for line in text[body..end].split_inclusive('\n') {
        let t = line.trim_start();
        if key.is_some_and(|k| {
            t.strip_prefix(k)
                .is_some_and(|r| r.trim_start().starts_with('='))
        }) {
            let start = at + (line.len() - t.len());
            return Some(start..start + key.map_or(0, str::len));
        }
        at += line.len();
    }
    Some(h..h + header.len())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rules: Vec<String>,
    builtin: Option<bool>,
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    fail_on: Option<Spanned<String>>,
    budget_seconds: Option<Spanned<f64>>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    params: BTreeMap<String, toml::Table>,
    #[serde(default)]
    waivers: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: String,
    subject: String,
    reason: String,
    expires: Spanned<Expiry>,
}

/// A waiver's expiry as written: a TOML date (`expires = 2027-03-31`) or a string
/// (`expires = "2027-03-31"`); both end up as the `YYYY-MM-DD` text waivers compare.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expiry {
    Date(toml::value::Datetime),
    Text(String),
}

impl Expiry {
    /// The date as `YYYY-MM-DD`, or what was written when it is not a date alone (a date with a
    /// time, a time): the caller then says it is not a date.
    fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Date(d) => match (d.date, d.time, d.offset) {
                (Some(date), None, None) => date.to_string(),
                _ => d.to_string(),
            },
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from.
    pub path: Option<PathBuf>,
    /// Rule directories, resolved against the file's directory.
    pub rules: Vec<PathBuf>,
    /// Whether to load the built-in rules (default true).
    pub builtin: bool,
    /// Rules to run (ids, prefixes, names, tags).
    pub select: Vec<String>,
    /// Rules to skip.
    pub ignore: Vec<String>,
    /// `Some(None)` = never fail; `None` = not set.
    pub fail_on: Option<Option<Severity>>,
    /// Wall-clock budget per rule.
    pub budget_seconds: Option<f64>,
    /// Severity overrides by rule id.
    pub severity: HashMap<String, Severity>,
    /// Parameters by rule id.
    pub params: HashMap<String, serde_json::Value>,
    /// Accepted findings.
    pub waivers: Vec<Waiver>,
}

/// Find `rolecall.toml` in `start` or its ancestors.
#[must_use]
pub fn find(start: &Path) -> Option<PathBuf> {
    // Anything named `rolecall.toml` counts, links and special files too: it is then refused
    // by the reader with an error naming it, instead of being passed over in silence.
    start
        .ancestors()
        .take(256)
        .map(|d| d.join(FILE_NAME))
        .find(|p| std::fs::symlink_metadata(p).is_ok())
}

/// Read and validate a configuration file.
///
/// # Errors
/// A [`ConfigError`] with the span of the offending key or value.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = crate::io::read_text(path, crate::io::Input::Config)
        .map_err(|e| ConfigError::new(e.to_string()))?;
    parse(path, &text)
}

/// Validate configuration text; `path` names it in errors and anchors relative rule directories.
///
/// # Errors
/// A [`ConfigError`] with the span of the offending key or value.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        // A file that is not a rolecall config (a `.env`, `.npmrc`, `.tfvars` through a link)
        // is named by line and column only: its lines are secrets more often than not.
        let at = e
            .span()
            .map(|r| {
                let (_, _, line, column) = crate::text::line_window(text, r.start, 1);
                format!(" (line {line}, column {column})")
            })
            .unwrap_or_default();
        ConfigError::at(
            path,
            text,
            None,
            format!(
                "invalid config `{}`{at}: {}",
                crate::text::visible(&path.display().to_string()),
                crate::text::visible(e.message().trim())
            ),
            Some("keys: rules, builtin, select, ignore, fail_on, budget_seconds, [severity], [params.RULE], [[waivers]]"),
        )
    })?;
    let err = |span: std::ops::Range<usize>, message: String, help: &str| {
        ConfigError::at(path, text, Some(span), message, Some(help))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut config = Config {
        path: Some(path.to_owned()),
        rules: raw.rules.iter().map(|r| dir.join(r)).collect(),
        builtin: raw.builtin.unwrap_or(true),
        select: raw.select,
        ignore: raw.ignore,
        ..Config::default()
    };
    if let Some(f) = raw.fail_on {
        let value = f.get_ref();
        config.fail_on =
            Some(match value.to_ascii_lowercase().as_str() {
                "none" | "never" => None,
                v => Some(v.parse::<Severity>().map_err(|m| {
                    err(f.span(), m, "use critical, high, medium, low, info or none")
                })?),
            });
    }
    if let Some(b) = raw.budget_seconds {
        let v = *b.get_ref();
        if !(v.is_finite() && v > 0.0 && v <= MAX_BUDGET_SECONDS) {
            return Err(err(
                b.span(),
                format!("`budget_seconds = {v}` is out of range"),
                "give a number of seconds above 0 and at most 86400, e.g. `budget_seconds = 10`",
            ));
        }
        config.budget_seconds = Some(v);
    }
    for (id, sev) in raw.severity {
        let s = sev
            .get_ref()
            .parse::<Severity>()
            .map_err(|m| err(sev.span(), m, "use critical, high, medium, low or info"))?;
        config.severity.insert(id.to_ascii_uppercase(), s);
    }
    for (id, table) in raw.params {
        let value = serde_json::to_value(&table).map_err(|e| {
            ConfigError::at(path, text, None, format!("params of `{id}`: {e}"), None)
        })?;
        config.params.insert(id.to_ascii_uppercase(), value);
    }
    for w in raw.waivers {
        let span = w.span();
        let w = w.into_inner();
        let expires = w.expires.get_ref().text();
        if !valid_date(&expires) {
            return Err(err(
                w.expires.span(),
                format!("waiver expiry `{expires}` is not a date"),
                "write a calendar date, `expires = 2027-03-31` or `expires = \"2027-03-31\"` (YYYY-MM-DD, no time)",
            ));
        }
        if w.reason.trim().is_empty() {
            return Err(err(
                span,
                "a waiver needs a `reason`".to_owned(),
                "say why the finding is accepted, for the next reader",
            ));
        }
        config.waivers.push(Waiver {
            rule: w.rule.to_ascii_uppercase(),
            subject: w.subject,
            reason: w.reason,
            expires,
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("/x/rolecall.toml"), text)
    }

    #[test]
    fn full_config_parses() {
        let c = p(r#"
rules = ["team-rules"]
select = ["ALL"]
ignore = ["ROL001"]
fail_on = "high"
budget_seconds = 5

[severity]
usr001 = "low"

[params.NET002]
required_cidrs = ["198.51.100.0/24"]

[[params.ACC001.expectations]]
subject = "client:wfm-sync"
op = "POST /api/v2/workforcemanagement/agents"

[[waivers]]
rule = "OAU002"
subject = "client:ci-*"
reason = "until the 2027 migration"
expires = "2027-03-31"
"#)
        .unwrap();
        assert_eq!(c.rules, [PathBuf::from("/x/team-rules")]);
        assert_eq!(c.fail_on, Some(Some(Severity::High)));
        assert_eq!(c.severity["USR001"], Severity::Low);
        assert_eq!(c.params["NET002"]["required_cidrs"][0], "198.51.100.0/24");
        assert_eq!(
            c.params["ACC001"]["expectations"][0]["subject"],
            "client:wfm-sync"
        );
        assert_eq!(c.waivers[0].expires, "2027-03-31");
    }

    #[test]
    fn a_native_toml_date_is_a_waiver_expiry() {
        let c = p("[[waivers]]\nrule = \"OAU002\"\nsubject = \"client:ci-*\"\nreason = \"migration\"\nexpires = 2027-03-31\n")
            .unwrap();
        assert_eq!(c.waivers[0].expires, "2027-03-31");
        let e = p(
            "[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = 2027-02-31\n",
        );
        assert!(e.is_err(), "TOML itself refuses 31 February");
    }

    #[test]
    fn unknown_keys_and_bad_values_point_at_their_span() {
        let e = p("rulez = []\n").unwrap_err();
        assert!(
            e.message().contains("unknown field `rulez`"),
            "{}",
            e.message()
        );
        // A file that does not parse as a rolecall config is named by line and column, never
        // quoted (it may be a link to a file of secrets).
        assert!(
            e.message().contains("(line 1, column 1)"),
            "{}",
            e.message()
        );
        assert_eq!(e.offset(), None);
        let e = p("fail_on = \"urgent\"\n").unwrap_err();
        assert!(e.message().contains("unknown severity `urgent`"));
        assert_eq!(e.offset(), Some(10));
        let e =
            p("[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = \"soon\"\n")
                .unwrap_err();
        assert!(e.message().contains("`soon` is not a date"));
        let e = p(
            "[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = \"2027-02-31\"\n",
        )
        .unwrap_err();
        assert!(
            e.message().contains("`2027-02-31` is not a date"),
            "{}",
            e.message()
        );
        let e = p(
            "[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = 2027-02-30T10:00:00Z\n",
        );
        assert!(e.is_err(), "a date with a time is not a waiver's date");
        let e = p(
            "[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = 2027-03-31T10:00:00\n",
        )
        .unwrap_err();
        assert!(
            e.message().contains("`2027-03-31T10:00:00` is not a date"),
            "{}",
            e.message()
        );
        let e = p("[[waivers]]\nrule = \"X\"\nsubject = \"y\"\nreason = \"z\"\nexpires = \"2027-01-01\"\nowner = \"me\"\n").unwrap_err();
        assert!(
            e.message().contains("unknown field `owner`"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn found_upward() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "").unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find(&deep), Some(dir.path().join(FILE_NAME)));
    }
}
