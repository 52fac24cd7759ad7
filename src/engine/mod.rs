//! The rule engine: one sandboxed Rhai engine, rules compiled once, run against an [`Org`].
//!
//! ```
//! use std::sync::Arc;
//! use rolecall::internals::engine::{CheckConfig, RuleEngine};
//! use rolecall::internals::model::{Org, OrgBuilder};
//!
//! let mut engine = RuleEngine::new(Default::default());
//! engine.add_source("inline:no-admins.rhai", r#"
//! //! Users holding `Master Admin`.
//! //! ## What it does
//! //! Reports every user with the role.
//! //! ## Why is this bad?
//! //! Admins should be few.
//! //! ## How to fix
//! //! Remove the role.
//! const RULE = #{ id: "ORG001", name: "master-admin-user", severity: "low" };
//! fn check(org) {
//!     for u in org.users_with("authorization:role:edit", "*") { report(u, "is an admin"); }
//! }
//! "#).unwrap();
//! let org = Arc::new(Org::new(
//!     OrgBuilder::new("x").division("Home")
//!         .role("Master Admin", &["authorization:*:*"])
//!         .user("Ann", "ann@x.example", "active")
//!         .grant_user("ann@x.example", "Master Admin", "*")
//!         .build(),
//! ));
//! let report = engine.check(&org, &CheckConfig::default());
//! assert_eq!(report.outcomes[0].findings[0].subject.name, "Ann");
//! ```

mod builtin;
mod defs;
mod err;
mod files;
mod finding;
mod finish;
pub mod host;
mod load;
mod meta;
mod perms;
mod run;
mod sandbox;
pub mod testing;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miette::Diagnostic;
use thiserror::Error;

pub use builtin::BUILTIN_RULES;
pub use err::{RuleError, RuleErrorKind, RuleLoadErrors};
pub use files::{files_of, rhai_files, Listing, RhaiFile};
pub use finding::{Finding, FindingStatus, ObjectKey, PlanChange};
pub use finish::{
    mark_plan_changes, mark_plan_unknowns, today, valid_date, Baseline, Finish, PlanUnknown,
    Waiver, WaiverMark, CHECK_FORMAT,
};
pub use host::glob_match;
pub use meta::{RuleMeta, Severity, REQUIRED_SECTIONS};
pub use run::RuleOutcome;
pub use sandbox::{memory_limit_available, peak_rss_bytes, rss_bytes, set_memory_probe, Limits};

use crate::model::Org;
use load::CompiledRule;

/// Which rules to run and with what parameters. The library's plain counterpart of the CLI flags.
#[derive(Debug, Clone, Default)]
pub struct CheckConfig {
    /// Run only rules matching one of these ids, id prefixes, names or tags (empty = all).
    pub select: Vec<String>,
    /// Skip rules matching one of these.
    pub ignore: Vec<String>,
    /// Parameters per rule id, passed as `params` to `fn check(org, params)`.
    pub params: HashMap<String, serde_json::Value>,
    /// Severity overrides by rule id.
    pub severity: HashMap<String, Severity>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// The result of running a rule set against an org.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// One outcome per rule that ran, in rule-id order.
    pub outcomes: Vec<RuleOutcome>,
    /// Rule files that could not be loaded.
    pub load_errors: Vec<RuleError>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Notes about the run: expired or unused waivers, the findings baseline.
    pub notes: Vec<String>,
    /// With `--plan`: findings of the org before the change that the change resolves, with
    /// the before-org's text.
    pub resolved: Vec<Finding>,
}

impl CheckReport {
    /// Every finding, in rule order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.outcomes.iter().flat_map(|o| o.findings.iter())
    }
    /// Every rule that did not run, with why (a missing parameter or dataset, or its own word).
    pub fn not_run(&self) -> impl Iterator<Item = (&RuleOutcome, &str)> {
        self.outcomes
            .iter()
            .filter_map(|o| o.not_run.as_deref().map(|r| (o, r)))
    }
    /// Every rule error: load errors, then run-time errors.
    pub fn errors(&self) -> impl Iterator<Item = &RuleError> {
        self.load_errors
            .iter()
            .chain(self.outcomes.iter().filter_map(|o| o.error.as_ref()))
    }
}

/// A rule directory could not be read.
#[derive(Debug, Error, Diagnostic)]
#[error("cannot read rule directory `{}`", path.display())]
#[diagnostic(code(rolecall::rule::dir), help("check the path given to `--rules`"))]
pub struct RuleDirError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// One configured Rhai engine and the rules compiled for it.
pub struct RuleEngine {
    engine: rhai::Engine,
    limits: Limits,
    rules: Vec<CompiledRule>,
    load_errors: Vec<RuleError>,
    /// Entries of rule directories that were passed over (links out, FIFOs, devices).
    warnings: Vec<String>,
}

impl std::fmt::Debug for RuleEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleEngine")
            .field(
                "rules",
                &self.rules.iter().map(|r| &r.meta.id).collect::<Vec<_>>(),
            )
            .field("load_errors", &self.load_errors.len())
            .finish_non_exhaustive()
    }
}

impl RuleEngine {
    /// An engine with no rules.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            engine: sandbox::build(&limits),
            limits,
            rules: Vec::new(),
            load_errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// An engine with the built-in rules and default limits.
    #[must_use]
    pub fn with_builtin() -> Self {
        let mut e = Self::new(Limits::default());
        e.add_builtin();
        e
    }

    /// Add the built-in rules.
    pub fn add_builtin(&mut self) {
        for (path, text) in BUILTIN_RULES {
            // A broken built-in is recorded like any other rule error (and a test rules it out).
            let _ = self.add_source(&format!("{BUILTIN_PREFIX}{path}"), text);
        }
    }

    /// Compile a rule from text. `name` labels errors (a path, or e.g. `inline:my-rule.rhai`).
    /// The error is also kept in [`RuleEngine::load_errors`] so a later check reports it.
    ///
    /// # Errors
    /// A [`RuleError`] for a rule that does not compile, lacks metadata or docs, or reuses an id.
    pub fn add_source(&mut self, name: &str, text: &str) -> Result<&RuleMeta, Box<RuleError>> {
        match self.compile_unique(name, text, false) {
            Ok(rule) => Ok(self.insert(rule)),
            Err(e) => {
                self.load_errors.push((*e).clone());
                Err(e)
            }
        }
    }

    /// Compile `text` as the new version of the rule from `name`. On success it replaces the
    /// previous version (if any); on failure the previous version stays loaded and the error is
    /// returned (not recorded in [`RuleEngine::load_errors`]): watch mode keeps the last good rule.
    ///
    /// # Errors
    /// As [`RuleEngine::add_source`].
    pub fn upsert_source(&mut self, name: &str, text: &str) -> Result<&RuleMeta, Box<RuleError>> {
        let rule = self.compile_unique(name, text, true)?;
        self.rules.retain(|r| r.meta.source != name);
        self.load_errors.retain(|e| e.file != name);
        Ok(self.insert(rule))
    }

    /// Compile, refusing an id that another loaded rule uses (when `replacing`, the rule from
    /// the same source is the one being replaced and does not count).
    fn compile_unique(
        &self,
        name: &str,
        text: &str,
        replacing: bool,
    ) -> Result<CompiledRule, Box<RuleError>> {
        let rule = load::compile(&self.engine, name, text)?;
        self.unique(rule, replacing)
    }

    fn unique(&self, rule: CompiledRule, replacing: bool) -> Result<CompiledRule, Box<RuleError>> {
        let name = rule.meta.source.as_str();
        let Some(other) = self
            .rules
            .iter()
            .find(|r| r.meta.id == rule.meta.id && !(replacing && r.meta.source == name))
        else {
            return Ok(rule);
        };
        Err(Box::new(
            RuleError::new(
                RuleErrorKind::DuplicateId,
                name,
                &rule.text,
                load::line_of(&rule.text, "const RULE").unwrap_or(0),
                1,
                format!(
                    "rule id `{}` is already used by `{}`",
                    rule.meta.id, other.meta.source
                ),
            )
            .with_id(&rule.meta.id)
            .with_help("ids are unique and never reused: pick a new one"),
        ))
    }

    fn insert(&mut self, rule: CompiledRule) -> &RuleMeta {
        // Kept sorted by id so runs and reports are in a stable order.
        let at = self.rules.partition_point(|r| r.meta.id < rule.meta.id);
        self.rules.insert(at, rule);
        &self.rules[at].meta
    }

    /// Unload the rule from `name`; returns its id if one was loaded.
    pub fn remove_source(&mut self, name: &str) -> Option<String> {
        self.load_errors.retain(|e| e.file != name);
        let i = self.rules.iter().position(|r| r.meta.source == name)?;
        Some(self.rules.remove(i).meta.id.clone())
    }

    /// Add every `*.rhai` rule under `dir` (recursively, sorted). Files whose name starts with
    /// `_` are helper modules for `import`, and `*.test.rhai` files are rule tests; both are skipped.
    /// Returns how many files were read; per-file problems go to [`RuleEngine::load_errors`].
    ///
    /// # Errors
    /// [`RuleDirError`] if the directory cannot be listed.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, RuleDirError> {
        let (files, skipped) = rule_files(dir)?;
        self.warnings.extend(skipped);
        let count = files.len();
        for file in files {
            if let Some((name, text)) = self.read_rule_file(&file) {
                let _ = self.add_source(&name, &text);
            }
        }
        Ok(count)
    }

    /// As [`RuleEngine::add_dir`], except that a rule whose id a built-in rule uses replaces
    /// that built-in instead of being refused as a duplicate: what `rolecall test DIR` needs when
    /// DIR holds edited copies of the built-in rules. Returns the ids of the replaced built-ins.
    ///
    /// # Errors
    /// [`RuleDirError`] if the directory cannot be listed.
    pub fn add_dir_replacing_builtins(&mut self, dir: &Path) -> Result<Vec<String>, RuleDirError> {
        let mut replaced = Vec::new();
        let (files, skipped) = rule_files(dir)?;
        self.warnings.extend(skipped);
        for file in files {
            let Some((name, text)) = self.read_rule_file(&file) else {
                continue;
            };
            let rule = match load::compile(&self.engine, &name, &text) {
                Ok(rule) => rule,
                Err(e) => {
                    self.load_errors.push(*e);
                    continue;
                }
            };
            // A clash with another user rule is refused before any built-in is touched.
            let builtin = self.rules.iter().position(|r| {
                r.meta.id == rule.meta.id && r.meta.source.starts_with(BUILTIN_PREFIX)
            });
            let removed = builtin.map(|i| self.rules.remove(i));
            match self.unique(rule, false) {
                Ok(rule) => {
                    if removed.is_some() {
                        replaced.push(rule.meta.id.clone());
                    }
                    self.insert(rule);
                }
                Err(e) => {
                    self.load_errors.push(*e);
                    if let Some(b) = removed {
                        self.insert(b);
                    }
                }
            }
        }
        Ok(replaced)
    }

    /// A rule file's name and text, or `None` with the problem recorded as a load error.
    fn read_rule_file(&mut self, file: &Path) -> Option<(String, String)> {
        let name = file.to_string_lossy().into_owned();
        match crate::io::read_text_capped(file, crate::io::Input::Rule, self.limits.max_rule_bytes)
        {
            Ok(text) => Some((name, text)),
            Err(e) => {
                self.load_errors.push(RuleError::new(
                    RuleErrorKind::Compile,
                    &name,
                    &Arc::from(""),
                    0,
                    0,
                    format!("cannot read the file: {}", e.reason()),
                ));
                None
            }
        }
    }

    /// Entries of rule directories passed over, and why (links out of the directory, FIFOs,
    /// devices): for the person at the terminal.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Metadata of every loaded rule, by id.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| &*r.meta)
    }

    /// Rules that failed to load.
    #[must_use]
    pub fn load_errors(&self) -> &[RuleError] {
        &self.load_errors
    }

    /// Rhai definition files (`.d.rhai`) of the host API, for editors with a Rhai extension:
    /// `(file name, contents)`.
    #[must_use]
    pub fn definitions(&self) -> Vec<(String, String)> {
        defs::definitions(&self.engine)
    }

    /// The limits rules run under.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Run the selected rules against `org`. Never fails: a rule that errors becomes an
    /// outcome with an error, and every other rule still runs.
    #[must_use]
    pub fn check(&self, org: &Arc<Org>, config: &CheckConfig) -> CheckReport {
        let started = Instant::now();
        // `max_memory` bounds what the rules add while this check runs, together: rules run
        // on several threads, and each one's growth is counted from here.
        let _memory = sandbox::CheckMemory::start();
        let selected: Vec<run::Job<'_>> = self
            .rules
            .iter()
            .filter(|r| r.meta.status != "removed")
            .filter(|r| {
                config.select.is_empty() || config.select.iter().any(|s| r.meta.matches_selector(s))
            })
            .filter(|r| !config.ignore.iter().any(|s| r.meta.matches_selector(s)))
            .map(|r| {
                let params = config.params.get(&r.meta.id).map_or_else(
                    || rhai::Dynamic::from_map(rhai::Map::new()),
                    run::json_to_dynamic,
                );
                let meta = match config.severity.get(&r.meta.id) {
                    Some(&severity) if severity != r.meta.severity => Arc::new(RuleMeta {
                        severity,
                        ..(*r.meta).clone()
                    }),
                    _ => Arc::clone(&r.meta),
                };
                run::Job {
                    rule: r,
                    meta,
                    params,
                }
            })
            .collect();
        let threads = if config.threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            config.threads
        };
        // Rules whose data the snapshot could not read say "unknown" instead of running: a
        // clean result from missing data would be a lie.
        let gaps: Vec<&crate::model::Coverage> = org
            .snapshot()
            .coverage
            .iter()
            .filter(|c| c.status != "ok")
            .collect();
        // A rule without a parameter it requires has nothing to check: "not run", with why.
        let (unready, selected): (Vec<run::Job<'_>>, Vec<run::Job<'_>>) = selected
            .into_iter()
            .partition(|j| !missing_required(&j.meta, config.params.get(&j.meta.id)).is_empty());
        let (blind, selected): (Vec<run::Job<'_>>, Vec<run::Job<'_>>) =
            selected.into_iter().partition(|j| {
                j.meta
                    .needs
                    .iter()
                    .any(|n| gaps.iter().any(|g| &g.dataset == n))
            });
        let mut outcomes = run::run_all(&self.engine, &selected, org, &self.limits, threads);
        // A rule that read a dataset with a gap it did not declare in `needs` saw an empty
        // list, not the org: its findings are replaced by the same "unknown" as a blind rule's.
        for o in &mut outcomes {
            if o.gaps_read.is_empty() {
                continue;
            }
            let hit: Vec<&crate::model::Coverage> = gaps
                .iter()
                .filter(|g| o.gaps_read.iter().any(|d| *d == g.dataset))
                .copied()
                .collect();
            let mut unknown = blind_outcome(org, Arc::clone(&o.meta), &hit);
            unknown.elapsed = o.elapsed;
            unknown.error = o.error.take();
            unknown.findings[0].message.push_str(&format!(
                " (the rule read it without declaring it: add {} to `RULE.needs`)",
                o.gaps_read
                    .iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            *o = unknown;
        }
        for job in blind {
            let hit: Vec<&crate::model::Coverage> = gaps
                .iter()
                .filter(|g| job.meta.needs.contains(&g.dataset))
                .copied()
                .collect();
            outcomes.push(blind_outcome(org, job.meta, &hit));
        }
        for job in unready {
            let missing = missing_required(&job.meta, config.params.get(&job.meta.id));
            outcomes.push(not_run_outcome(job.meta, &missing));
        }
        outcomes.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        CheckReport {
            outcomes,
            load_errors: self.load_errors.clone(),
            elapsed: started.elapsed(),
            notes: Vec::new(),
            resolved: Vec::new(),
        }
    }
}

/// The outcome of a rule that could not see the org: one finding of the rule's own severity (an
/// audit gate must fail closed on what it could not check), status unknown, naming the gaps.
fn blind_outcome(org: &Org, meta: Arc<RuleMeta>, hit: &[&crate::model::Coverage]) -> RuleOutcome {
    let missing: Vec<String> = hit
        .iter()
        .map(|g| {
            if g.status == MISSING {
                return format!("`{}` (not in the snapshot file)", g.dataset);
            }
            let status = g.http_status.map(|s| format!(" {s}")).unwrap_or_default();
            let code = g
                .error_code
                .as_deref()
                .map(|c| format!(" `{c}`"))
                .unwrap_or_default();
            format!("`{}` ({}{status}{code})", g.dataset, g.endpoint)
        })
        .collect();
    let o = &org.snapshot().organization;
    RuleOutcome {
        findings: vec![Finding {
            rule_id: meta.id.clone(),
            severity: meta.severity,
            status: FindingStatus::Unknown,
            subject: ObjectKey {
                kind: "org",
                id: o.id.clone(),
                name: o.name.clone(),
            },
            message: format!(
                "unknown: the snapshot could not read {}",
                missing.join(", ")
            ),
            fix: Some(gap_fix(hit)),
            ..Finding::default()
        }],
        meta,
        error: None,
        elapsed: Duration::ZERO,
        log: Vec::new(),
        gaps_read: Vec::new(),
        not_run: None,
    }
}

/// The keys of `RULE.requires` that `params` lacks or leaves empty (`[]`, `{}`, `""`, null):
/// an empty list of expectations checks nothing, so it is as good as none.
fn missing_required(meta: &RuleMeta, params: Option<&serde_json::Value>) -> Vec<String> {
    use serde_json::Value;
    meta.requires
        .iter()
        .filter(|key| match params.and_then(|p| p.get(key.as_str())) {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        })
        .cloned()
        .collect()
}

/// The outcome of a rule that could not run for want of required parameters: no findings, no
/// error, the reason (with where to give them) for every format to show.
fn not_run_outcome(meta: Arc<RuleMeta>, missing: &[String]) -> RuleOutcome {
    let keys: Vec<String> = missing.iter().map(|k| format!("`{k}`")).collect();
    let first = missing.first().map_or("KEY", String::as_str);
    let reason = format!(
        "required parameter {} not given: set it under `[params.{id}]` in rolecall.toml or with `--param {id}.{first}=…`",
        keys.join(", "),
        id = meta.id,
    );
    RuleOutcome {
        meta,
        findings: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
        log: Vec::new(),
        gaps_read: Vec::new(),
        not_run: Some(reason),
    }
}

/// The coverage status of a dataset the snapshot file lacks (see `model::parse_snapshot`).
const MISSING: &str = "missing";

/// The fix for a rule blinded by `gaps`: the permissions the refused endpoints need, when the
/// catalog names them.
fn gap_fix(gaps: &[&crate::model::Coverage]) -> String {
    if gaps
        .iter()
        .all(|g| g.status == MISSING && g.dataset == "usage")
    {
        return "fetch again with `rolecall fetch --usage DAYS`".to_owned();
    }
    if gaps.iter().all(|g| g.status == MISSING) {
        return "fetch the snapshot again with `rolecall fetch`, or add the missing data to the file"
            .to_owned();
    }
    let mut perms: Vec<String> = gaps
        .iter()
        .filter_map(|g| g.permission.as_ref().map(|p| format!("`{p}`")))
        .collect();
    perms.dedup();
    if perms.is_empty() {
        "grant the fetching client the permission the endpoint needs, then fetch again".to_owned()
    } else {
        format!(
            "grant the fetching client {}, then fetch again",
            perms.join(" and ")
        )
    }
}

/// The source name of built-in rules starts with this.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The rule files under `dir`, sorted, and the entries passed over (with why). Any directory
/// that cannot be listed fails the whole directory, named by `dir`.
fn rule_files(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>), RuleDirError> {
    let listing = files::rhai_files(dir);
    if let Some((_, source)) = listing.errors.into_iter().next() {
        return Err(RuleDirError {
            path: dir.to_owned(),
            source,
        });
    }
    let rules = listing
        .files
        .into_iter()
        .filter(|p| files::RhaiFile::of(p) == Some(files::RhaiFile::Rule))
        .collect();
    Ok((rules, listing.skipped))
}
