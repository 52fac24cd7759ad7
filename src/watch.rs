//! Watch-mode state: which changed files matter, what to recompile and re-run, and how the
//! findings changed since the last run. Pure of file notifications: the CLI feeds
//! [`Session::handle`] the paths a batch of events named and renders what comes back, so every
//! decision here is unit-tested without timing.
//!
//! The session is built from [`Settings`] like every other command: the same engine
//! constructor, the same budget and limits, the same finishing step (waivers, baseline).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::change::{apply, load_change, Causes, ChangeError, ChangeSet, UnknownChange};
use crate::config::{Overrides, Settings};
use crate::engine::{
    files_of, mark_plan_changes, CheckReport, Finding, RhaiFile, RuleDirError, RuleEngine,
    RuleError, RuleOutcome,
};
use crate::model::{load_snapshot, Org};

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
    if !rule_dirs.iter().any(|d| path.starts_with(d)) {
        return Change::Ignored;
    }
    match RhaiFile::of(path) {
        Some(RhaiFile::Rule) => Change::Rule(path.to_owned()),
        Some(RhaiFile::Helper) => Change::Module(path.to_owned()),
        Some(RhaiFile::Test) | None => Change::Ignored,
    }
}

fn hash(text: &str) -> u64 {
    hash_bytes(text.as_bytes())
}

/// FNV-1a: fast, and enough to tell an edit from an untouched file (not a security boundary).
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The hash of a file's bytes (read through the one bounded reader as a file of kind `kind`),
/// `None` when it cannot be read.
fn file_hash(path: &Path, kind: crate::io::Input) -> Option<u64> {
    let bytes = crate::io::read_bytes(path, kind).ok()?;
    Some(hash_bytes(&bytes))
}

/// Whether the file at `path` still has the content last seen; records the new hash if not.
/// A file that cannot be read counts as changed (reloading it reports why).
fn same_content(last: &mut Option<u64>, path: &Path, kind: crate::io::Input) -> bool {
    let now = file_hash(path, kind);
    if now.is_some() && now == *last {
        return true;
    }
    *last = now;
    false
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_owned())
}

fn canonical_dirs(settings: &mut Settings) {
    for d in &mut settings.rule_dirs {
        *d = canonical(d);
    }
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

/// The watch session: the settings, the engine, the org, the last outcome of every rule.
pub struct Session {
    overrides: Overrides,
    settings: Settings,
    engine: RuleEngine,
    org: Arc<Org>,
    snapshot_path: Option<PathBuf>,
    dirs: Vec<PathBuf>,
    outcomes: BTreeMap<String, RuleOutcome>,
    hashes: HashMap<PathBuf, u64>,
    broken: BTreeMap<PathBuf, RuleError>,
    gone: BTreeSet<PathBuf>,
    last: HashMap<String, Finding>,
    last_elapsed: Duration,
    /// Planned changes (`--plan`, canonical paths), re-read when they or the snapshot change.
    plans: Vec<PathBuf>,
    /// With plans: the org before the change (what `org` is compared with) and which address
    /// touched which object.
    before: Option<(Arc<Org>, Causes)>,
    /// With plans: the changes that could not be read (every report says "unknown" for the
    /// rules whose data they could alter).
    unknown: Vec<UnknownChange>,
    /// Content hashes of the snapshot and config files as last read: an event on a file whose
    /// content did not change (a `touch`, rolecall's own read) re-runs nothing.
    snapshot_hash: Option<u64>,
    config_hash: Option<u64>,
    /// Rule directories that disappeared and exist again: the file watcher must watch them anew.
    rewatch: Vec<PathBuf>,
    /// Notes for the next report (removed directories, snapshot or config errors).
    pub notes: Vec<String>,
    /// Reloads that failed and kept the last good state, by what was reloaded (`snapshot`,
    /// `config`, `plan`, `fetch`): cleared when the same thing next reloads.
    failed: BTreeMap<&'static str, String>,
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
    pub elapsed: Duration,
}

impl Session {
    /// Start a session from resolved settings (`overrides` are kept to resolve a changed config
    /// file the same way), building the engine from them; `org` was read from `snapshot_path`
    /// (or is the sample, when there is no file to watch). Nothing runs until [`Session::run`].
    ///
    /// # Errors
    /// [`RuleDirError`] when a rule directory cannot be listed.
    pub fn new(
        mut settings: Settings,
        overrides: Overrides,
        org: Arc<Org>,
        snapshot_path: Option<&Path>,
    ) -> Result<Self, RuleDirError> {
        // Rule sources are named by canonical paths, the form file events report.
        canonical_dirs(&mut settings);
        let (engine, notes) = settings.engine()?;
        let mut s = Self {
            overrides,
            dirs: settings.rule_dirs.clone(),
            settings,
            engine,
            org,
            snapshot_path: snapshot_path.map(canonical),
            outcomes: BTreeMap::new(),
            hashes: HashMap::new(),
            broken: BTreeMap::new(),
            gone: BTreeSet::new(),
            last: HashMap::new(),
            last_elapsed: Duration::ZERO,
            plans: Vec::new(),
            before: None,
            unknown: Vec::new(),
            snapshot_hash: None,
            config_hash: None,
            rewatch: Vec::new(),
            notes,
            failed: BTreeMap::new(),
        };
        s.rehash();
        s.snapshot_hash = s
            .snapshot_path
            .as_deref()
            .and_then(|p| file_hash(p, crate::io::Input::Snapshot));
        s.config_hash = s
            .config_path()
            .as_deref()
            .and_then(|p| file_hash(p, crate::io::Input::Config));
        Ok(s)
    }

    fn rehash(&mut self) {
        self.hashes.clear();
        for f in rule_files(&self.dirs) {
            if let Ok(text) = crate::io::read_text(&f, crate::io::Input::Rule) {
                self.hashes.insert(f, hash(&text));
            }
        }
    }

    /// The rule directories being watched (canonical paths).
    #[must_use]
    pub fn rule_dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The configuration file, if one is in use (canonical path).
    #[must_use]
    pub fn config_path(&self) -> Option<PathBuf> {
        self.settings.config_path.as_deref().map(canonical)
    }

    /// The snapshot file, when the org came from one.
    #[must_use]
    pub fn snapshot_path(&self) -> Option<&Path> {
        self.snapshot_path.as_deref()
    }

    /// The settings in force.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Take a batch of changed paths and re-run what they affect. `None` when nothing rolecall
    /// reads changed (then nothing needs redrawing).
    pub fn handle(&mut self, paths: &BTreeSet<PathBuf>) -> Option<Delta> {
        let mut all = false;
        let mut ids: Vec<String> = Vec::new();
        let mut changed = false;
        for d in self.dirs.clone() {
            // The directory watched is the one resolved at start: replaced by a link (or a
            // file), it is gone as surely as deleted, and its rules' findings must not stay.
            let here = std::fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir());
            if !here && self.gone.insert(d.clone()) {
                self.drop_dir(&d);
                changed = true;
            } else if here && self.gone.remove(&d) {
                // Deleted and created again: load what it holds now, and have it watched anew
                // (the old watch ended with the old directory).
                self.notes.push(format!(
                    "rule directory `{}` is back; its rules are loaded",
                    d.display()
                ));
                ids.extend(self.reload_all(&d));
                self.rewatch.push(d);
                changed = true;
            }
        }
        let config_path = self.config_path();
        for p in paths {
            if self.plans.contains(p) {
                changed = true;
                all |= self.reload_plans();
                continue;
            }
            match classify(
                p,
                &self.dirs,
                config_path.as_deref(),
                self.snapshot_path.as_deref(),
            ) {
                Change::Rule(file) => match self.reload(&file) {
                    Reload::Updated(id) => ids.push(id),
                    Reload::Broken | Reload::Removed(_) => changed = true,
                    Reload::Unchanged => {}
                },
                Change::Module(file) => {
                    ids.extend(self.rules_under(file.parent().unwrap_or(Path::new("/"))));
                }
                Change::Config => {
                    if same_content(&mut self.config_hash, p, crate::io::Input::Config) {
                        continue;
                    }
                    // A config that no longer parses keeps the previous settings running.
                    changed = true;
                    all |= self.reload_config();
                }
                Change::Snapshot => {
                    if same_content(&mut self.snapshot_hash, p, crate::io::Input::Snapshot) {
                        continue;
                    }
                    changed = true;
                    all |= self.reload_snapshot();
                }
                Change::Ignored => {}
            }
        }
        if all {
            Some(self.run(None))
        } else if !ids.is_empty() || changed {
            Some(self.run(Some(&ids)))
        } else {
            None
        }
    }

    /// Rule directories that came back since the last call: the caller watches them again, then
    /// calls [`Session::rescan`] for files written before the new watch was in place.
    pub fn take_rewatch(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.rewatch)
    }

    /// Re-read every rule file under these directories and re-run the rules that changed;
    /// `None` when none did.
    pub fn rescan(&mut self, dirs: &[PathBuf]) -> Option<Delta> {
        let ids: Vec<String> = dirs.iter().flat_map(|d| self.reload_all(d)).collect();
        (!ids.is_empty()).then(|| self.run(Some(&ids)))
    }

    /// Reload each rule file under `dir`; the ids of the rules that changed.
    fn reload_all(&mut self, dir: &Path) -> Vec<String> {
        let mut ids = Vec::new();
        for f in rule_files(&[dir.to_owned()]) {
            if let Reload::Updated(id) = self.reload(&f) {
                ids.push(id);
            }
        }
        ids
    }

    /// Re-read the configuration; `true` when the new settings apply (everything re-runs).
    fn reload_config(&mut self) -> bool {
        let Some(path) = self.settings.config_path.clone() else {
            return false;
        };
        let resolved = crate::config::load(&path)
            .map_err(|e| e.to_string())
            .and_then(|c| Settings::with_config(c, &self.overrides).map_err(|e| e.to_string()));
        let mut settings = match resolved {
            Ok(s) => s,
            Err(e) => {
                self.fail(
                    "config",
                    format!("config not reloaded, keeping the previous one: {e}"),
                );
                return false;
            }
        };
        canonical_dirs(&mut settings);
        let same_rules = settings.rule_dirs == self.settings.rule_dirs
            && settings.builtin == self.settings.builtin
            && settings.limits == self.settings.limits;
        if same_rules {
            // Selection, parameters, severities, waivers: no rule needs loading again, and a
            // broken rule file keeps its last good version running.
            self.settings = settings;
            self.failed.remove("config");
            return true;
        }
        // New directories, limits or built-ins: build the engine again, the same way as at start.
        self.notes.push(
            "rule directories, built-ins or limits changed: every rule was loaded again from disk"
                .to_owned(),
        );
        match settings.engine() {
            Ok((engine, notes)) => {
                self.dirs = settings.rule_dirs.clone();
                self.engine = engine;
                self.settings = settings;
                self.broken.clear();
                self.notes.extend(notes);
                self.rehash();
                self.failed.remove("config");
                true
            }
            Err(e) => {
                self.fail(
                    "config",
                    format!("config not applied, keeping the previous one: {e}"),
                );
                false
            }
        }
    }

    /// Check the org as it will be after these planned changes (Terraform plans or change
    /// files, applied in order), findings marked against the org as it is; the plans are
    /// re-read when they or the snapshot change.
    ///
    /// # Errors
    /// A [`ChangeError`] when a plan cannot be read or applied (the org is then unchanged).
    pub fn set_plans(&mut self, plans: &[PathBuf]) -> Result<(), ChangeError> {
        let before = self
            .before
            .as_ref()
            .map_or_else(|| Arc::clone(&self.org), |(b, _)| Arc::clone(b));
        let old = std::mem::replace(
            &mut self.plans,
            plans.iter().map(|p| canonical(p)).collect(),
        );
        let r = self.apply_plans(before);
        if r.is_err() {
            self.plans = old;
        }
        r
    }

    /// The planned-change files being watched (canonical paths).
    #[must_use]
    pub fn plans(&self) -> &[PathBuf] {
        &self.plans
    }

    fn apply_plans(&mut self, before: Arc<Org>) -> Result<(), ChangeError> {
        let mut set = ChangeSet::default();
        for p in &self.plans {
            set.extend(load_change(p)?);
        }
        let applied = apply(&before, &set)?;
        if !set.not_modelled.is_empty() {
            self.notes.push(format!(
                "not modelled, ignored: {}",
                set.not_modelled.join(", ")
            ));
        }
        for u in &set.unknown {
            self.notes.push(format!(
                "unknown: {u}; the org after the change leaves it out"
            ));
        }
        self.notes.extend(set.notes);
        self.notes.extend(applied.notes);
        self.unknown = set.unknown;
        self.org = Arc::new(Org::new(applied.snapshot));
        self.before = Some((before, applied.causes));
        Ok(())
    }

    /// Re-read the plans on the org before them; `true` when they applied.
    fn reload_plans(&mut self) -> bool {
        let Some((before, _)) = &self.before else {
            return false;
        };
        let before = Arc::clone(before);
        match self.apply_plans(before) {
            Ok(()) => {
                self.failed.remove("plan");
                true
            }
            Err(e) => {
                self.fail(
                    "plan",
                    format!("planned change not re-applied, keeping the previous one: {e}"),
                );
                false
            }
        }
    }

    /// Re-read the snapshot (and re-apply the plans to it); `true` when it loaded (everything
    /// re-runs).
    fn reload_snapshot(&mut self) -> bool {
        let Some(path) = self.snapshot_path.clone() else {
            return false;
        };
        match load_snapshot(&path) {
            Ok(s) => self.set_org(Arc::new(Org::new(s)), "snapshot"),
            Err(e) => {
                self.fail(
                    "snapshot",
                    format!("snapshot not reloaded, keeping the previous one: {e}"),
                );
                false
            }
        }
    }

    /// Put a new org in place (re-applying the plans to it); `true` when it applies. `what`
    /// names where it came from, for [`Session::stale`].
    fn set_org(&mut self, org: Arc<Org>, what: &'static str) -> bool {
        if self.plans.is_empty() {
            self.org = org;
        } else if let Err(e) = self.apply_plans(org) {
            self.fail(
                what,
                format!("{what} reloaded but the planned change does not apply to it, keeping the previous org: {e}"),
            );
            return false;
        }
        self.failed.remove(what);
        true
    }

    /// A reload of `what` failed and the last good state stays: said in the next report's
    /// notes and by [`Session::stale`] until `what` next reloads.
    pub fn fail(&mut self, what: &'static str, why: String) {
        self.notes.push(why.clone());
        self.failed.insert(what, why);
    }

    /// Replace the org with one read elsewhere (a live fetch: `what` is `fetch`) and re-run
    /// every rule; `None` when the plans do not apply to it (the previous org stays).
    pub fn replace_org(&mut self, org: Arc<Org>, what: &'static str) -> Option<Delta> {
        self.set_org(org, what).then(|| self.run(None))
    }

    /// Why the state is not the latest on disk (or live): each failed reload, and each rule
    /// file that does not compile while its previous version keeps running. Empty when fresh.
    #[must_use]
    pub fn stale(&self) -> Vec<String> {
        let mut out: Vec<String> = self.failed.values().cloned().collect();
        for p in self.broken.keys() {
            let name = p.to_string_lossy();
            if self.engine.rules().any(|m| m.source == name) {
                out.push(format!(
                    "rule file `{}` does not compile; its previous version keeps running",
                    p.display()
                ));
            }
        }
        out
    }

    /// Every rule loaded.
    pub fn rules(&self) -> impl Iterator<Item = &crate::engine::RuleMeta> {
        self.engine.rules()
    }

    /// The content hash of the snapshot file as last read (`None` without a file).
    #[must_use]
    pub fn snapshot_hash(&self) -> Option<u64> {
        self.snapshot_hash
    }

    /// Re-read one rule file and recompile it if its content changed.
    pub fn reload(&mut self, path: &Path) -> Reload {
        let name = path.to_string_lossy().into_owned();
        let Ok(text) = crate::io::read_text(path, crate::io::Input::Rule) else {
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
        let why = if std::fs::symlink_metadata(dir).is_ok() {
            "was replaced by something that is not a directory (a link is not followed once \
             watching started; restart watch to use it)"
        } else {
            "was removed"
        };
        self.notes.push(format!(
            "rule directory `{}` {why}; its rules are unloaded",
            dir.display()
        ));
    }

    /// The org being checked.
    #[must_use]
    pub fn org(&self) -> &Arc<Org> {
        &self.org
    }

    /// Run the rules with these ids (all when `None`) and compare with the previous findings.
    pub fn run(&mut self, ids: Option<&[String]>) -> Delta {
        let started = Instant::now();
        let mut config = self.settings.check.clone();
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

    /// The current state as a report: every rule's last outcome, broken files as load errors,
    /// finished like every other command's (waivers marked, baseline applied).
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
        let mut report = CheckReport {
            outcomes: self.outcomes.values().cloned().collect(),
            load_errors,
            elapsed: self.last_elapsed,
            notes: self.notes.clone(),
            resolved: Vec::new(),
        };
        self.settings.finish(&mut report);
        // With plans: the same rules on the org before the change, to mark what it changes.
        if let Some((before, causes)) = &self.before {
            let old = self.settings.check(&self.engine, before);
            mark_plan_changes(&mut report, &old, false, |kind, id| {
                causes.for_object(before, &self.org, kind, id)
            });
            crate::config::mark_unknown_changes(&mut report, &self.org, &self.unknown, false);
        }
        report
    }
}

/// Every `*.rhai` file under the directories (rules, helpers and tests alike: all are hashed so
/// that an unchanged save is recognised).
fn rule_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    files_of(dirs, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSource;

    const RULE: &str = r#"//! Test rule.
//! ## What it does
//! Reports every client.
//! ## Why is this bad?
//! Tests.
//! ## How to fix
//! Nothing.
const RULE = #{ id: "TST001", name: "every-client", severity: "high" };
fn check(org) { for c in org.clients { report(c, "MESSAGE"); } }
"#;

    struct Fixture {
        dir: tempfile::TempDir,
        rules: PathBuf,
        config: PathBuf,
    }

    fn fixture(config: &str) -> (Fixture, Session) {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let rules = root.join("rules");
        std::fs::create_dir(&rules).unwrap();
        std::fs::write(
            rules.join("every-client.rhai"),
            RULE.replace("MESSAGE", "first"),
        )
        .unwrap();
        let config_file = root.join("rolecall.toml");
        std::fs::write(&config_file, config).unwrap();
        let overrides = Overrides {
            config: ConfigSource::File(config_file.clone()),
            no_builtin: true,
            ..Overrides::default()
        };
        let settings = Settings::resolve(&overrides).unwrap();
        let org = Arc::new(Org::new(crate::model::sample().unwrap()));
        let session = Session::new(settings, overrides, org, None).unwrap();
        (
            Fixture {
                dir,
                rules,
                config: config_file,
            },
            session,
        )
    }

    fn paths(p: &Path) -> BTreeSet<PathBuf> {
        BTreeSet::from([p.to_owned()])
    }

    #[test]
    fn edits_rerun_one_rule_broken_edits_keep_the_last_good_one() {
        let (fx, mut s) = fixture("rules = [\"rules\"]\n");
        let first = s.run(None);
        assert_eq!(first.ran, ["TST001"]);
        let clients = s.org().snapshot().oauth_clients.len();
        assert_eq!(first.new.len(), clients);
        let file = fx.rules.join("every-client.rhai");
        // An unrelated file, and a save with the same content: nothing to redraw.
        assert!(s.handle(&paths(&fx.dir.path().join("notes.txt"))).is_none());
        assert!(s.handle(&paths(&file)).is_none());
        std::fs::write(&file, RULE.replace("MESSAGE", "second")).unwrap();
        let d = s.handle(&paths(&file)).unwrap();
        assert_eq!(
            (d.ran.len(), d.new.len(), d.resolved.len()),
            (1, clients, clients)
        );
        std::fs::write(
            &file,
            RULE.replace("fn check(org) {", "fn check(org) { let x = ;"),
        )
        .unwrap();
        let d = s.handle(&paths(&file)).unwrap();
        assert!(d.new.is_empty() && d.resolved.is_empty());
        let report = s.report();
        assert_eq!(
            report.findings().count(),
            clients,
            "the last good version runs"
        );
        assert!(report.load_errors[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("previous version")));
        std::fs::remove_file(&file).unwrap();
        let d = s.handle(&paths(&file)).unwrap();
        assert_eq!(d.resolved.len(), clients);
        assert_eq!(s.report().findings().count(), 0);
    }

    #[test]
    fn a_changed_config_applies_waivers_and_limits_and_a_broken_one_is_kept_out() {
        let (fx, mut s) = fixture("rules = [\"rules\"]\n");
        s.run(None);
        assert!(s.report().findings().all(Finding::counts));
        std::fs::write(
            &fx.config,
            "rules = [\"rules\"]\nbudget_seconds = 3\n[[waivers]]\nrule = \"TST001\"\nsubject = \"client:*\"\nreason = \"test\"\nexpires = \"2999-12-31\"\n",
        )
        .unwrap();
        let d = s.handle(&paths(&fx.config)).unwrap();
        assert_eq!(d.ran, ["TST001"], "everything re-ran");
        assert_eq!(s.settings().limits.budget, Duration::from_secs(3));
        let report = s.report();
        assert!(report.findings().count() > 0);
        assert!(report.findings().all(|f| !f.counts()), "waived");
        std::fs::write(&fx.config, "rulez = 1\n").unwrap();
        assert!(s.handle(&paths(&fx.config)).is_some(), "the error is shown");
        assert!(s.notes.iter().any(|n| n.contains("config not reloaded")));
        assert_eq!(s.settings().limits.budget, Duration::from_secs(3));
    }

    #[test]
    fn a_removed_rule_directory_unloads_its_rules() {
        let (fx, mut s) = fixture("rules = [\"rules\"]\n");
        s.run(None);
        std::fs::remove_dir_all(&fx.rules).unwrap();
        let d = s.handle(&BTreeSet::new()).unwrap();
        assert!(!d.resolved.is_empty());
        assert!(s.notes.iter().any(|n| n.contains("was removed")));
    }

    /// Issue 20: a rules directory replaced by a link during watch left stale findings forever.
    #[cfg(unix)]
    #[test]
    fn a_rule_directory_replaced_by_a_link_unloads_its_rules_and_says_so() {
        let (fx, mut s) = fixture("rules = [\"rules\"]\n");
        s.run(None);
        let elsewhere = fx.dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::remove_dir_all(&fx.rules).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &fx.rules).unwrap();
        let d = s.handle(&BTreeSet::new()).unwrap();
        assert!(
            !d.resolved.is_empty(),
            "the old findings are resolved, not kept"
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("replaced by something that is not a directory")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn an_event_on_an_unchanged_config_or_snapshot_reruns_nothing() {
        let (f, _) = fixture("rules = [\"rules\"]\n");
        let snap = f.dir.path().join("org.json");
        std::fs::write(&snap, crate::model::SAMPLE_JSON).unwrap();
        let overrides = Overrides {
            config: ConfigSource::File(f.config.clone()),
            no_builtin: true,
            ..Overrides::default()
        };
        let settings = Settings::resolve(&overrides).unwrap();
        let org = Arc::new(Org::new(crate::model::sample().unwrap()));
        let mut s = Session::new(settings, overrides, org, Some(&snap)).unwrap();
        s.run(None);
        let snap = canonical(&snap);
        // A touch or a read: the same bytes.
        assert!(s.handle(&paths(&snap)).is_none());
        assert!(s.handle(&paths(&canonical(&f.config))).is_none());
        // A real change re-runs.
        let changed = crate::model::SAMPLE_JSON.replacen("wfm-sync", "wfm-sync-2", 1);
        std::fs::write(&snap, changed).unwrap();
        assert!(s.handle(&paths(&snap)).is_some());
        assert!(s.handle(&paths(&snap)).is_none(), "and only once");
    }

    #[test]
    fn a_rules_directory_created_again_is_loaded_and_rewatched() {
        let (f, mut s) = fixture("rules = [\"rules\"]\n");
        s.run(None);
        std::fs::remove_dir_all(&f.rules).unwrap();
        assert!(s.handle(&paths(&f.rules)).is_some());
        assert!(s.take_rewatch().is_empty());
        std::fs::create_dir(&f.rules).unwrap();
        std::fs::write(f.rules.join("r.rhai"), RULE.replace("MESSAGE", "back")).unwrap();
        let delta = s.handle(&paths(&f.rules)).unwrap();
        assert!(
            delta.new.iter().any(|x| x.message == "back"),
            "{:?}",
            delta.new
        );
        assert_eq!(s.take_rewatch(), vec![f.rules.clone()]);
    }
}
