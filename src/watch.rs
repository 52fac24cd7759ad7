//! Watch-mode state: which changed files matter, what to recompile and re-run, and how the
//! findings changed since the last run. Pure of file notifications (the CLI feeds it paths), so
//! it is tested without timing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::engine::{CheckConfig, CheckReport, Finding, RuleEngine, RuleError, RuleOutcome};
use crate::model::Org;

/// What a changed path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A rule file (`*.rhai`, not a test) under a rule directory.
    Rule(PathBuf),
    /// A helper module (`_name.rhai`): rules importing it must re-run.
    Module(PathBuf),
    /// The configuration file.
    Config,
    /// The snapshot file.
    Snapshot,
    /// Nothing rolecall reads.
    Ignored,
}

/// Classify a changed path.
#[must_use]
pub fn classify(
    path: &Path,
    rule_dirs: &[PathBuf],
    config: Option<&Path>,
    snapshot: Option<&Path>,
) -> Change {
    if config.is_some_and(|c| c == path) {
        return Change::Config;
    }
    if snapshot.is_some_and(|s| s == path) {
        return Change::Snapshot;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.ends_with(".rhai")
        || name.ends_with(".test.rhai")
        || !rule_dirs.iter().any(|d| path.starts_with(d))
    {
        return Change::Ignored;
    }
    if name.starts_with('_') {
        Change::Module(path.to_owned())
    } else {
        Change::Rule(path.to_owned())
    }
}

fn hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What reloading one rule file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// Same content as before: nothing to do.
    Unchanged,
    /// Compiled and replaced (or added); re-run it.
    Updated(String),
    /// Failed to compile; the previous version (if any) keeps running.
    Broken,
    /// The file is gone; its rule and findings were dropped.
    Removed(Option<String>),
}

/// The watch session: the engine, the org, the last outcome of every rule.
pub struct Session {
    engine: RuleEngine,
    org: Arc<Org>,
    config: CheckConfig,
    outcomes: BTreeMap<String, RuleOutcome>,
    hashes: HashMap<PathBuf, u64>,
    broken: BTreeMap<PathBuf, RuleError>,
    last: HashMap<String, Finding>,
    last_elapsed: std::time::Duration,
    /// Notes for the next report (removed directories, snapshot errors).
    pub notes: Vec<String>,
}

/// Findings that appeared and disappeared since the previous run.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Rule ids that ran.
    pub ran: Vec<String>,
    /// New findings.
    pub new: Vec<Finding>,
    /// Findings no longer reported.
    pub resolved: Vec<Finding>,
    /// How long the run took.
    pub elapsed: std::time::Duration,
}

impl Session {
    /// Start a session with a loaded engine; nothing runs until [`Session::run`].
    #[must_use]
    pub fn new(
        engine: RuleEngine,
        org: Arc<Org>,
        config: CheckConfig,
        rule_files: &[PathBuf],
    ) -> Self {
        let mut s = Self {
            engine,
            org,
            config,
            outcomes: BTreeMap::new(),
            hashes: HashMap::new(),
            broken: BTreeMap::new(),
            last: HashMap::new(),
            last_elapsed: std::time::Duration::ZERO,
            notes: Vec::new(),
        };
        for f in rule_files {
            if let Ok(text) = std::fs::read_to_string(f) {
                s.hashes.insert(f.clone(), hash(&text));
            }
        }
        s
    }

    /// Re-read one rule file and recompile it if its content changed.
    pub fn reload(&mut self, path: &Path) -> Reload {
        let name = path.to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(path) else {
            self.hashes.remove(path);
            self.broken.remove(path);
            let id = self.engine.remove_source(&name);
            if let Some(id) = &id {
                self.outcomes.remove(id);
            }
            return Reload::Removed(id);
        };
        let h = hash(&text);
        if self.hashes.get(path) == Some(&h) {
            return Reload::Unchanged;
        }
        self.hashes.insert(path.to_owned(), h);
        // A rule whose id changed leaves its old outcome behind; drop it first.
        let old_id = self
            .engine
            .rules()
            .find(|m| m.source == name)
            .map(|m| m.id.clone());
        match self.engine.upsert_source(&name, &text) {
            Ok(meta) => {
                let id = meta.id.clone();
                self.broken.remove(path);
                if let Some(old) = old_id.filter(|o| *o != id) {
                    self.outcomes.remove(&old);
                }
                Reload::Updated(id)
            }
            Err(e) => {
                self.broken.insert(path.to_owned(), *e);
                Reload::Broken
            }
        }
    }

    /// Every rule loaded from files under `dir` (for a changed helper module or a removed directory).
    #[must_use]
    pub fn rules_under(&self, dir: &Path) -> Vec<String> {
        self.engine
            .rules()
            .filter(|m| Path::new(&m.source).starts_with(dir))
            .map(|m| m.id.clone())
            .collect()
    }

    /// Unload every rule from under a directory that disappeared.
    pub fn drop_dir(&mut self, dir: &Path) {
        let sources: Vec<String> = self
            .engine
            .rules()
            .filter(|m| Path::new(&m.source).starts_with(dir))
            .map(|m| m.source.clone())
            .collect();
        for s in sources {
            if let Some(id) = self.engine.remove_source(&s) {
                self.outcomes.remove(&id);
            }
            self.hashes.remove(Path::new(&s));
        }
        self.broken.retain(|p, _| !p.starts_with(dir));
        self.notes.push(format!(
            "rule directory `{}` was removed; its rules are unloaded",
            dir.display()
        ));
    }

    /// Use a new org (a changed snapshot).
    pub fn set_org(&mut self, org: Arc<Org>) {
        self.org = org;
    }

    /// Use a new check configuration (a changed config file).
    pub fn set_config(&mut self, config: CheckConfig) {
        self.config = config;
    }

    /// The org being checked.
    #[must_use]
    pub fn org(&self) -> &Arc<Org> {
        &self.org
    }

    /// Run the rules with these ids (all when `None`) and compare with the previous findings.
    pub fn run(&mut self, ids: Option<&[String]>) -> Delta {
        let started = Instant::now();
        let mut config = self.config.clone();
        if let Some(ids) = ids {
            // Only the named rules, and only if the config selects them at all.
            let selected: HashSet<&String> = ids.iter().collect();
            let allowed: Vec<String> = self
                .engine
                .rules()
                .filter(|m| selected.contains(&m.id))
                .filter(|m| {
                    config.select.is_empty() || config.select.iter().any(|s| m.matches_selector(s))
                })
                .map(|m| m.id.clone())
                .collect();
            if allowed.is_empty() {
                return self.delta(Vec::new(), started);
            }
            config.select = allowed;
        } else {
            self.outcomes.clear();
        }
        let report = self.engine.check(&self.org, &config);
        let ran: Vec<String> = report.outcomes.iter().map(|o| o.meta.id.clone()).collect();
        for o in report.outcomes {
            self.outcomes.insert(o.meta.id.clone(), o);
        }
        // Outcomes of rules no longer loaded (an id changed, a file vanished) go away.
        let loaded: HashSet<String> = self.engine.rules().map(|m| m.id.clone()).collect();
        self.outcomes.retain(|id, _| loaded.contains(id));
        self.delta(ran, started)
    }

    fn delta(&mut self, ran: Vec<String>, started: Instant) -> Delta {
        let current: HashMap<String, Finding> = self
            .outcomes
            .values()
            .flat_map(|o| o.findings.iter())
            .map(|f| (f.key(), f.clone()))
            .collect();
        let mut new: Vec<Finding> = current
            .iter()
            .filter(|(k, _)| !self.last.contains_key(*k))
            .map(|(_, f)| f.clone())
            .collect();
        let mut resolved: Vec<Finding> = self
            .last
            .iter()
            .filter(|(k, _)| !current.contains_key(*k))
            .map(|(_, f)| f.clone())
            .collect();
        new.sort_by_key(Finding::key);
        resolved.sort_by_key(Finding::key);
        self.last = current;
        self.last_elapsed = started.elapsed();
        Delta {
            ran,
            new,
            resolved,
            elapsed: started.elapsed(),
        }
    }

    /// The current state as a report: every rule's last outcome, broken files as load errors.
    #[must_use]
    pub fn report(&self) -> CheckReport {
        let mut load_errors: Vec<RuleError> = self.engine.load_errors().to_vec();
        for e in self.broken.values() {
            let mut e = e.clone();
            let kept = self.engine.rules().any(|m| m.source == e.file);
            e.help = Some(if kept {
                "the previous version of this rule keeps running until this one compiles".to_owned()
            } else {
                e.help
                    .unwrap_or_else(|| "fix the file; it is not loaded".to_owned())
            });
            load_errors.push(e);
        }
        CheckReport {
            outcomes: self.outcomes.values().cloned().collect(),
            load_errors,
            elapsed: self.last_elapsed,
            notes: self.notes.clone(),
        }
    }
}
