//! One settings phase: the configuration file and the command-line flags resolved once into
//! [`Settings`], from which every command builds its engine ([`Settings::engine`], the only
//! constructor the commands use), its check configuration and its finishing step (waivers and
//! the findings baseline). The CLI fills [`Overrides`] from its flags and reads nothing else.
//!
//! Precedence, the same for every command: a flag wins over the file, the file over the
//! defaults. `--select` replaces the file's `select`; `--ignore` adds to its `ignore`; `--param`
//! replaces single keys of the file's `[params.RULE]`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

use super::{Config, ConfigError};
use crate::engine::{
    Baseline, CheckConfig, CheckReport, Finish, Limits, RuleDirError, RuleEngine, RuleErrorKind,
    Severity,
};
use crate::model::Org;

/// Longest per-rule budget accepted, in seconds (a day): anything longer is a typo, and
/// `Duration` cannot hold values such as `1e308`.
pub const MAX_BUDGET_SECONDS: f64 = 86_400.0;
/// Largest `--max-memory`, in MiB (1 TiB).
pub const MAX_MEMORY_MIB: u64 = 1 << 20;
/// The default `--max-memory`, in MiB.
pub const DEFAULT_MEMORY_MIB: u64 = 2048;

/// Which configuration file to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigSource {
    /// `rolecall.toml` in this directory or the nearest parent that has one.
    Search(PathBuf),
    /// This file (`--config FILE`); it must exist.
    File(PathBuf),
    /// No file (`--no-config`), and the default when nothing is said.
    #[default]
    Disabled,
}

/// The command line's say, in plain types: every field is "not given" by default.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Where the configuration comes from.
    pub config: ConfigSource,
    /// More rule directories (`--rules DIR`), after the file's.
    pub rules: Vec<PathBuf>,
    /// `--no-builtin`.
    pub no_builtin: bool,
    /// `--select` (replaces the file's when non-empty).
    pub select: Vec<String>,
    /// `--ignore` (adds to the file's).
    pub ignore: Vec<String>,
    /// `--fail-on SEVERITY|none`.
    pub fail_on: Option<String>,
    /// `--param RULE.key=VALUE` items.
    pub params: Vec<String>,
    /// `--budget SECONDS`.
    pub budget_seconds: Option<f64>,
    /// `--max-memory MIB`.
    pub max_memory_mib: Option<u64>,
    /// `--baseline-findings FILE`.
    pub baseline_findings: Option<PathBuf>,
    /// `--allow-unknown`: findings a rule could not decide do not fail the run.
    pub allow_unknown: bool,
    /// Rules from the rule directories replace built-in rules with the same id instead of being
    /// refused as duplicates (`rolecall test DIR`, where DIR holds edited copies of built-ins).
    pub replace_builtin: bool,
}

/// A flag or file could not be turned into settings.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum SettingsError {
    /// The configuration file is wrong (with the culprit's span).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    /// A command-line value is wrong.
    #[error("{message}")]
    #[diagnostic(code(rolecall::settings::flag))]
    Flag {
        /// What is wrong.
        message: String,
        /// How to put it right.
        #[help]
        help: String,
    },
}

fn flag(message: impl Into<String>, help: impl Into<String>) -> SettingsError {
    SettingsError::Flag {
        message: message.into(),
        help: help.into(),
    }
}

/// Everything a command needs to know, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration file used, if any.
    pub config_path: Option<PathBuf>,
    /// Rule directories: the file's (relative to it), then `--rules`.
    pub rule_dirs: Vec<PathBuf>,
    /// Whether the built-in rules load.
    pub builtin: bool,
    /// Whether rule directories may replace built-ins of the same id.
    pub replace_builtin: bool,
    /// Which rules run and with what parameters and severities.
    pub check: CheckConfig,
    /// What one rule's run may use.
    pub limits: Limits,
    /// Fail at or above this severity; `None` never fails.
    pub fail_on: Option<Severity>,
    /// Whether findings a rule could not decide may pass the gate.
    pub allow_unknown: bool,
    /// Waivers and the findings baseline.
    pub finish: Finish,
    /// Notes for the person at the terminal (which config was used).
    pub notes: Vec<String>,
}

impl Settings {
    /// Read the configuration `o` names and resolve it with the flags.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the file and line, or the flag.
    pub fn resolve(o: &Overrides) -> Result<Self, SettingsError> {
        let path = match &o.config {
            ConfigSource::File(p) => Some(p.clone()),
            ConfigSource::Search(start) => super::find(start),
            ConfigSource::Disabled => None,
        };
        let config = match &path {
            Some(p) => super::load(p)?,
            None => Config {
                builtin: true,
                ..Config::default()
            },
        };
        Self::with_config(config, o)
    }

    /// Resolve an already read configuration with the flags (watch mode re-reads the file).
    ///
    /// # Errors
    /// As [`Settings::resolve`].
    pub fn with_config(config: Config, o: &Overrides) -> Result<Self, SettingsError> {
        let fail_on = match &o.fail_on {
            Some(text) => parse_fail_on(text)?,
            None => config.fail_on.unwrap_or(Some(Severity::Info)),
        };
        // The file's value was checked where it was read, with its line; this checks the flag.
        let budget = o
            .budget_seconds
            .or(config.budget_seconds)
            .unwrap_or(Limits::default().budget.as_secs_f64());
        if !(budget.is_finite() && budget > 0.0 && budget <= MAX_BUDGET_SECONDS) {
            return Err(flag(
                format!("`--budget {budget}` is out of range"),
                format!("give a number of seconds above 0 and at most {MAX_BUDGET_SECONDS}"),
            ));
        }
        let memory = o.max_memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        if !(1..=MAX_MEMORY_MIB).contains(&memory) {
            return Err(flag(
                format!("`--max-memory {memory}` is out of range"),
                format!("give a number of MiB from 1 to {MAX_MEMORY_MIB}"),
            ));
        }
        let mut params = config.params.clone();
        merge_params(&o.params, &mut params)?;
        let baseline = o
            .baseline_findings
            .as_deref()
            .map(read_baseline)
            .transpose()?;
        let mut notes = Vec::new();
        if let Some(p) = &config.path {
            notes.push(format!("using config `{}`", p.display()));
        }
        if !crate::engine::memory_limit_available() {
            notes.push(format!(
                "the memory limit ({memory} MiB per rule) cannot be enforced here: this system does not report the process's resident memory; rules are bounded by their time budget and Rhai's size limits only"
            ));
        }
        Ok(Self {
            rule_dirs: config.rules.iter().chain(&o.rules).cloned().collect(),
            builtin: config.builtin && !o.no_builtin,
            replace_builtin: o.replace_builtin,
            check: CheckConfig {
                select: if o.select.is_empty() {
                    config.select.clone()
                } else {
                    o.select.clone()
                },
                ignore: config.ignore.iter().chain(&o.ignore).cloned().collect(),
                params,
                severity: config.severity.clone(),
                threads: 0,
            },
            limits: Limits {
                budget: Duration::from_secs_f64(budget),
                max_memory: memory << 20,
                ..Limits::default()
            },
            fail_on,
            allow_unknown: o.allow_unknown,
            finish: Finish {
                waivers: config.waivers.clone(),
                baseline,
            },
            config_path: config.path,
            notes,
        })
    }

    /// The rule engine these settings describe: the built-in rules (unless turned off), then
    /// every rule directory. Per-file problems are kept in the engine's load errors; the note
    /// (at most one) says which built-ins the rule directories replaced.
    ///
    /// # Errors
    /// [`RuleDirError`] when a rule directory cannot be listed.
    pub fn engine(&self) -> Result<(RuleEngine, Vec<String>), RuleDirError> {
        let mut engine = RuleEngine::new(self.limits);
        if self.builtin {
            engine.add_builtin();
        }
        let mut replaced = Vec::new();
        for dir in &self.rule_dirs {
            if self.replace_builtin {
                replaced.extend(engine.add_dir_replacing_builtins(dir)?);
            } else {
                engine.add_dir(dir)?;
            }
        }
        let skipped = engine.warnings().iter().map(|w| format!("skipped {w}"));
        let mut notes: Vec<String> = skipped.collect();
        notes.extend(if replaced.is_empty() {
            Vec::new()
        } else {
            replaced.sort();
            let ids: Vec<String> = replaced.iter().map(|i| format!("`{i}`")).collect();
            vec![format!(
                "{} rule(s) under test replace the built-in rules with the same id: {}",
                ids.len(),
                ids.join(", ")
            )]
        });
        Ok((engine, notes))
    }

    /// Every `select`/`ignore` entry, `[severity]` key and `[params.RULE]` names a loaded rule:
    /// a typo (`--select WFM01`) would otherwise run nothing and pass a CI gate.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the entry and the ids there are.
    pub fn check_names(&self, engine: &RuleEngine) -> Result<(), SettingsError> {
        // A rule that failed to load is reported as such; its name is not the problem.
        if !engine.load_errors().is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = engine.rules().map(|m| m.id.as_str()).collect();
        let known = || {
            format!(
                "`rolecall rules list` shows the rules; loaded ids: {}",
                ids.join(", ")
            )
        };
        // Without the built-ins, a shared config's selectors may name them: only the sections
        // below are checked then.
        let none: &[String] = &[];
        let selectors: [(&str, &[String]); 2] = if self.builtin {
            [
                ("select", &self.check.select),
                ("ignore", &self.check.ignore),
            ]
        } else {
            [("select", none), ("ignore", none)]
        };
        for (key, list) in selectors {
            for sel in list.iter() {
                if !engine.rules().any(|m| m.matches_selector(sel)) {
                    // The nearest ids and names first: a typo is the usual cause.
                    let near = crate::model::nearest(
                        sel,
                        engine
                            .rules()
                            .flat_map(|m| [m.id.as_str(), m.name.as_str()]),
                    );
                    let help = if near.is_empty() {
                        known()
                    } else {
                        format!(
                            "did you mean {}? {}",
                            near.iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            known()
                        )
                    };
                    return Err(flag(format!("`{key}` entry `{sel}` matches no rule"), help));
                }
            }
        }
        for (key, names) in [
            ("[severity]", self.check.severity.keys().collect::<Vec<_>>()),
            ("[params]", self.check.params.keys().collect::<Vec<_>>()),
        ] {
            // A built-in's id is known even when `--no-builtin` leaves it unloaded.
            let builtin = |id: &str| {
                crate::engine::BUILTIN_RULES
                    .iter()
                    .any(|(_, text)| text.contains(&format!("id: \"{id}\"")))
            };
            if let Some(id) = names
                .into_iter()
                .find(|id| !ids.contains(&id.as_str()) && !builtin(id))
            {
                return Err(flag(
                    format!("`{key}` names rule `{id}`, which is not loaded"),
                    known(),
                ));
            }
        }
        self.check_param_keys(engine)
    }

    /// Each parameter key names a parameter the rule declares (`RULE.params`): a misspelt key
    /// would otherwise be ignored and the rule run with its default.
    fn check_param_keys(&self, engine: &RuleEngine) -> Result<(), SettingsError> {
        for (id, value) in &self.check.params {
            let Some(declared) = engine
                .rules()
                .find(|m| &m.id == id)
                .and_then(|m| m.params.as_ref())
            else {
                continue;
            };
            let Some(keys) = value.as_object() else {
                continue;
            };
            let Some(key) = keys.keys().find(|k| !declared.contains(k)) else {
                continue;
            };
            let message = format!("`{key}` is not a parameter of {id}");
            let help = if declared.is_empty() {
                format!("{id} takes no parameters")
            } else {
                format!(
                    "{id}'s parameters: {}",
                    declared
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            // From the file when the file has that table; otherwise from `--param`.
            let in_file = self.config_path.as_deref().filter(|p| {
                crate::io::read_text(p, crate::io::Input::Config)
                    .is_ok_and(|t| t.contains(&format!("params.{id}")))
            });
            return Err(match in_file {
                Some(path) => ConfigError::at_param(path, id, key, message, &help).into(),
                None => flag(format!("--param {id}.{key}: {message}"), help),
            });
        }
        Ok(())
    }

    /// Run the selected rules on `org` and apply the finishing step (waivers, baseline).
    #[must_use]
    pub fn check(&self, engine: &RuleEngine, org: &std::sync::Arc<Org>) -> CheckReport {
        let mut report = engine.check(org, &self.check);
        self.finish(&mut report);
        report
    }

    /// Run the selected rules on the orgs before and after a planned change ([`crate::change`])
    /// and mark the after-org's findings new or unchanged, with the resolved ones listed and
    /// each attributed to the resource addresses that touch its object; a change that could not
    /// be read makes the rules whose data it could alter unknown ([`mark_unknown_changes`]).
    /// With `new_only`, only new findings count against `--fail-on`.
    #[must_use]
    pub fn check_change(
        &self,
        engine: &RuleEngine,
        before: &std::sync::Arc<Org>,
        after: &std::sync::Arc<Org>,
        (causes, unknown): (&crate::change::Causes, &[crate::change::UnknownChange]),
        new_only: bool,
    ) -> CheckReport {
        let old = self.check(engine, before);
        let mut report = self.check(engine, after);
        crate::engine::mark_plan_changes(&mut report, &old, new_only, |kind, id| {
            causes.for_object(before, after, kind, id)
        });
        mark_unknown_changes(&mut report, after, unknown, new_only);
        report
    }

    /// The finishing step alone, for reports assembled elsewhere (watch mode's partial runs).
    pub fn finish(&self, report: &mut CheckReport) {
        self.finish.apply(report, &crate::engine::today());
        self.locate_config_errors(report);
    }

    /// A rule's `config_error(…)` is about the configuration, not the rule's code: point it at
    /// the `[params.RULE]` key it names (or the table) in the config file, when the file has
    /// one; parameters from `--param` keep the rule's location.
    fn locate_config_errors(&self, report: &mut CheckReport) {
        let Some(path) = self.config_path.as_deref() else {
            return;
        };
        let Ok(text) = crate::io::read_text(path, crate::io::Input::Config) else {
            return;
        };
        let text: std::sync::Arc<str> = std::sync::Arc::from(text);
        for o in &mut report.outcomes {
            let Some(e) = o.error.as_mut().filter(|e| e.kind == RuleErrorKind::Config) else {
                continue;
            };
            let id = o.meta.id.as_str();
            let key = o
                .meta
                .params
                .iter()
                .flatten()
                .find(|k| e.message.contains(&format!("`{k}`")));
            let Some(span) = super::param_span(&text, id, key.map(String::as_str)) else {
                continue;
            };
            let before = &text[..span.start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let moved = crate::engine::RuleError::new(
                RuleErrorKind::Config,
                &path.display().to_string(),
                &text,
                line,
                column,
                e.message.clone(),
            )
            .with_id(id);
            *e = match &e.help {
                Some(h) => moved.with_help(h.clone()),
                None => moved,
            };
        }
    }
}

/// A `--fail-on` value: a severity, or `none`.
///
/// # Errors
/// When it is neither.
pub fn parse_fail_on(text: &str) -> Result<Option<Severity>, SettingsError> {
    match text.to_ascii_lowercase().as_str() {
        "none" | "never" => Ok(None),
        s => s
            .parse::<Severity>()
            .map(Some)
            .map_err(|m| flag(m, "use critical, high, medium, low, info or none")),
    }
}

fn read_baseline(path: &Path) -> Result<Baseline, SettingsError> {
    let text = crate::io::read_text(path, crate::io::Input::Baseline).map_err(|e| {
        flag(
            e.to_string(),
            "give a report written by `rolecall check --format json`",
        )
    })?;
    Baseline::from_json_report(&text).map_err(|m| {
        flag(
            format!("findings baseline `{}`: {m}", path.display()),
            "give a report written by `rolecall check --format json`",
        )
    })
}

/// `--param RULE.key=VALUE` items merged into per-rule parameter objects. VALUE is JSON, or a
/// plain string when it does not parse as JSON.
fn merge_params(
    items: &[String],
    into: &mut HashMap<String, serde_json::Value>,
) -> Result<(), SettingsError> {
    for item in items {
        let bad = || {
            flag(
                format!("`--param {item}` is not of the form `RULE.key=VALUE`"),
                "write `--param NET002.required_cidrs='[\"198.51.100.0/24\"]'`",
            )
        };
        let (path, value) = item.split_once('=').ok_or_else(bad)?;
        let (rule, key) = path.split_once('.').ok_or_else(bad)?;
        if rule.is_empty() || key.is_empty() {
            return Err(bad());
        }
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        let entry = into
            .entry(rule.to_ascii_uppercase())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(m) = entry {
            m.insert(key.to_owned(), value);
        } else {
            *entry = serde_json::json!({ key: value });
        }
    }
    Ok(())
}

/// The changes of a plan rolecall could not read, as unknown findings of the rules whose data
/// they could alter (see [`crate::engine::mark_plan_unknowns`]): `check --plan` and `watch
/// --plan` fail closed on them.
pub fn mark_unknown_changes(
    report: &mut CheckReport,
    after: &Org,
    unknown: &[crate::change::UnknownChange],
    new_only: bool,
) {
    let texts: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    let list: Vec<crate::engine::PlanUnknown<'_>> = unknown
        .iter()
        .zip(&texts)
        .map(|(u, what)| crate::engine::PlanUnknown {
            address: &u.address,
            what,
            datasets: u.datasets(),
        })
        .collect();
    let o = &after.snapshot().organization;
    crate::engine::mark_plan_unknowns(report, (&o.id, &o.name), &list, new_only);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(text: &str, o: &Overrides) -> Result<Settings, SettingsError> {
        let c = super::super::parse(Path::new("/x/rolecall.toml"), text).unwrap();
        Settings::with_config(c, o)
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file = r#"
rules = ["team"]
builtin = true
select = ["WFM"]
ignore = ["ROL001"]
fail_on = "high"
budget_seconds = 5
[params.NET002]
required_cidrs = ["198.51.100.0/24"]
mode = "strict"
[[waivers]]
rule = "OAU002"
subject = "client:ci-*"
reason = "migration"
expires = "2027-03-31"
"#;
        let s = with(file, &Overrides::default()).unwrap();
        assert_eq!(s.rule_dirs, [PathBuf::from("/x/team")]);
        assert_eq!(s.check.select, ["WFM"]);
        assert_eq!(s.fail_on, Some(Severity::High));
        assert_eq!(s.limits.budget, Duration::from_secs(5));
        assert_eq!(s.limits.max_memory, DEFAULT_MEMORY_MIB << 20);
        assert_eq!(s.finish.waivers.len(), 1);
        let o = Overrides {
            rules: vec!["more".into()],
            no_builtin: true,
            select: vec!["OAU".into()],
            ignore: vec!["USR001".into()],
            fail_on: Some("none".into()),
            params: vec!["NET002.mode=lax".into()],
            budget_seconds: Some(2.5),
            max_memory_mib: Some(64),
            ..Overrides::default()
        };
        let s = with(file, &o).unwrap();
        assert_eq!(
            s.rule_dirs,
            [PathBuf::from("/x/team"), PathBuf::from("more")]
        );
        assert!(!s.builtin);
        assert_eq!(s.check.select, ["OAU"]);
        assert_eq!(s.check.ignore, ["ROL001", "USR001"]);
        assert_eq!(s.fail_on, None);
        assert_eq!(s.check.params["NET002"]["mode"], "lax");
        assert_eq!(
            s.check.params["NET002"]["required_cidrs"][0],
            "198.51.100.0/24"
        );
        assert_eq!(s.limits.budget, Duration::from_secs_f64(2.5));
        assert_eq!(s.limits.max_memory, 64 << 20);
    }

    #[test]
    fn out_of_range_limits_are_errors_not_panics() {
        for b in [0.0, -1.0, 1e308, f64::NAN, f64::INFINITY] {
            let o = Overrides {
                budget_seconds: Some(b),
                ..Overrides::default()
            };
            let e = with("", &o).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{b}: {e}");
        }
        for m in [0, MAX_MEMORY_MIB + 1, u64::MAX] {
            let o = Overrides {
                max_memory_mib: Some(m),
                ..Overrides::default()
            };
            assert!(with("", &o).is_err(), "{m}");
        }
        let o = Overrides {
            params: vec!["nodot=1".into()],
            ..Overrides::default()
        };
        assert!(with("", &o)
            .unwrap_err()
            .to_string()
            .contains("RULE.key=VALUE"));
        let o = Overrides {
            fail_on: Some("urgent".into()),
            ..Overrides::default()
        };
        assert!(with("", &o).is_err());
    }

    #[test]
    fn the_config_is_found_upward_or_named_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(super::super::FILE_NAME),
            "fail_on = \"low\"\n",
        )
        .unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let s = Settings::resolve(&Overrides {
            config: ConfigSource::Search(deep.clone()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!(s.fail_on, Some(Severity::Low));
        assert!(s.notes[0].starts_with("using config"));
        let s = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(s.fail_on, Some(Severity::Info));
        assert!(s.builtin && s.config_path.is_none());
        let missing = Settings::resolve(&Overrides {
            config: ConfigSource::File(deep.join("nope.toml")),
            ..Overrides::default()
        });
        assert!(missing.is_err());
    }
}
