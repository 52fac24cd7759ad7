//! The library's front door: an [`Org`] loaded once, [`Subject`] handles resolved from the names
//! people type, a [`RuleSet`] built from the built-in rules plus directories or inline sources,
//! and the questions (`check`, `explain`, `who_can`, `diff`), each answering with the same
//! documents the command line prints, and one [`Error`] type.
//!
//! Everything here is a thin layer over the modules below (`model`, `authz`, `engine`,
//! `change`), which stay available for tools that need more; this layer owns no logic of its
//! own beyond wiring: the one name resolver, the one explanation (its fix proven), the one
//! engine constructor.
//!
//! ```
//! use rolecall::{Org, RuleSet};
//!
//! let org = Org::sample()?;
//! let wfm = org.subject("client:wfm-sync")?;
//! let answer = org.explain_at(&wfm, "POST /api/v2/workforcemanagement/agents", "management-unit:EU Agents")?;
//! assert_eq!(answer.verdict.as_str(), "denied");
//! println!("{}", answer.fix.as_deref().unwrap_or("no fix"));
//!
//! let holders = org.who_can("wfm:agent:edit", Some("Support EU"))?;
//! assert!(!holders.holders.is_empty());
//!
//! let report = org.check(&RuleSet::builtin());
//! assert!(report.findings().count() > 0);
//! # Ok::<(), rolecall::Error>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::authz::{self, Explanation, SubjectKind, WhoCan};
use crate::catalog::Catalog;
use crate::engine::{CheckConfig, CheckReport, RuleEngine};
use crate::model::{self, OrgSnapshot, SubjectRef};

/// Everything the front door can fail with.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// A snapshot could not be read or is not a snapshot.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Snapshot(#[from] model::SnapshotError),
    /// A subject, target or operation could not be resolved (ambiguous, unknown, with the
    /// nearest names).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Question(#[from] authz::ExplainInputError),
    /// A permission is not `domain:entity:action`.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Permission(#[from] authz::QueryError),
    /// A rule directory could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    RuleDir(#[from] crate::engine::RuleDirError),
    /// A rule source did not compile.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rule(Box<crate::engine::RuleError>),
    /// A proposed fix could not be applied to prove it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Change(#[from] crate::change::ChangeError),
    /// A question that cannot be answered as asked (in the command line's words).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ask(#[from] crate::ask::AskError),
}

/// An org to audit: a snapshot, loaded and indexed once, shared cheaply.
#[derive(Debug, Clone)]
pub struct Org {
    inner: Arc<model::Org>,
}

/// A subject of an org (a user, a group or an OAuth client), resolved from a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    inner: SubjectRef,
}

impl Subject {
    /// `user`, `group` or `client`.
    #[must_use]
    pub fn kind(self) -> &'static str {
        SubjectKind::of(self.inner).as_str()
    }
    /// The model's reference, for the modules below the front door.
    #[must_use]
    pub fn as_ref(self) -> SubjectRef {
        self.inner
    }
}

impl Org {
    /// Load a snapshot file (through the bounded reader) and index it.
    ///
    /// # Errors
    /// The file cannot be read or is not a snapshot.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(Self::from_snapshot(model::load_snapshot(path.as_ref())?))
    }

    /// The built-in sample org.
    ///
    /// # Errors
    /// Never in a correct build (the sample is compiled in and tested).
    pub fn sample() -> Result<Self, Error> {
        Ok(Self::from_snapshot(model::sample()?))
    }

    /// Index a snapshot built or fetched in code.
    #[must_use]
    pub fn from_snapshot(snapshot: OrgSnapshot) -> Self {
        Self {
            inner: Arc::new(model::Org::new(snapshot)),
        }
    }

    /// The org's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.snapshot().organization.name
    }

    /// A subject's name (a user's display name), for showing answers such as
    /// [`WhoCan::holders`].
    #[must_use]
    pub fn subject_name(&self, subject: SubjectRef) -> &str {
        self.inner.subject_name(subject)
    }

    /// The indexed model, for the modules below the front door.
    #[must_use]
    pub fn model(&self) -> &Arc<model::Org> {
        &self.inner
    }

    /// Resolve `client:NAME`, `user:EMAIL` (or a user's name) or `group:NAME`, ids too, names
    /// regardless of case.
    ///
    /// # Errors
    /// No such subject (with the nearest names), or a name that several subjects share.
    pub fn subject(&self, spec: &str) -> Result<Subject, Error> {
        Ok(Subject {
            inner: authz::resolve_subject(&self.inner, spec)?,
        })
    }

    /// Explain a call (`"METHOD /api/v2/…"` or an operationId) without a target: answered for
    /// every candidate target when the target decides. The fix, when there is one, is proven.
    ///
    /// # Errors
    /// The operation is unknown (with the nearest ones), or the fix cannot be applied.
    pub fn explain(&self, who: &Subject, operation: &str) -> Result<Explanation, Error> {
        self.ask(who, operation, None)
    }

    /// Explain a call on a target: `division:NAME`, `management-unit:NAME` or
    /// `business-unit:NAME`. A unit the snapshot could not read is answered as unknown.
    ///
    /// # Errors
    /// As [`Org::explain`], or the target is unknown.
    pub fn explain_at(
        &self,
        who: &Subject,
        operation: &str,
        target: &str,
    ) -> Result<Explanation, Error> {
        self.ask(who, operation, Some(target))
    }

    fn ask(
        &self,
        who: &Subject,
        operation: &str,
        target: Option<&str>,
    ) -> Result<Explanation, Error> {
        // The one code path the command line and `serve` answer through (`ask`): names
        // resolved, a target in a gap answered as unknown, the fix proven.
        let question = crate::ask::ExplainAsk {
            subject: format!("{}:{}", who.kind(), self.inner.subject_id(who.inner)),
            operation: operation.to_owned(),
            target: target.map(str::to_owned),
            agents: Vec::new(),
            error_body: None,
        };
        let q = crate::ask::question(&self.inner, &question)?;
        Ok(crate::ask::explained(
            &self.inner,
            &Catalog::for_org(&self.inner),
            &q,
        )?)
    }

    /// Who holds a permission, per division (`division`: one, by name or id; `None`: all).
    ///
    /// # Errors
    /// The permission is not `domain:entity:action`, or the division is unknown.
    pub fn who_can(&self, permission: &str, division: Option<&str>) -> Result<WhoCan, Error> {
        let divisions: Vec<String> = division.map(str::to_owned).into_iter().collect();
        Ok(crate::ask::who_can(
            &self.inner,
            permission,
            &divisions,
            Vec::new(),
        )?)
    }

    /// Run a rule set on the org.
    #[must_use]
    pub fn check(&self, rules: &RuleSet) -> CheckReport {
        rules.engine.check(&self.inner, &rules.config)
    }

    /// Differences in effective access from this org to `other` (matched by name).
    #[must_use]
    pub fn diff(&self, other: &Org) -> authz::OrgDiff {
        authz::diff(&self.inner, &other.inner, &authz::DiffOptions::default())
    }
}

/// Rules to check an org with: the built-in ones, directories of `.rhai` files, inline sources,
/// a selection and parameters.
#[derive(Debug)]
pub struct RuleSet {
    engine: RuleEngine,
    config: CheckConfig,
}

impl RuleSet {
    /// The built-in rules.
    #[must_use]
    pub fn builtin() -> Self {
        Self {
            engine: RuleEngine::with_builtin(),
            config: CheckConfig::default(),
        }
    }

    /// No rules yet.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            engine: RuleEngine::new(crate::engine::Limits::default()),
            config: CheckConfig::default(),
        }
    }

    /// Add the rules of a directory (recursively). Rules that fail to load are kept as load
    /// errors in the report, as the command line does.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn with_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, Error> {
        self.engine.add_dir(dir.as_ref())?;
        Ok(self)
    }

    /// Add one rule from source text; `name` labels its errors.
    ///
    /// # Errors
    /// The source does not compile or is not a rule.
    pub fn with_source(mut self, name: &str, text: &str) -> Result<Self, Error> {
        self.engine.add_source(name, text).map_err(Error::Rule)?;
        Ok(self)
    }

    /// Run only the rules matching these ids, id prefixes, names or tags.
    #[must_use]
    pub fn select(mut self, selectors: &[&str]) -> Self {
        self.config.select = selectors.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Give a rule a parameter object (`fn check(org, params)`).
    #[must_use]
    pub fn param(mut self, rule: &str, params: serde_json::Value) -> Self {
        self.config.params.insert(rule.to_ascii_uppercase(), params);
        self
    }

    /// The rules loaded.
    pub fn rules(&self) -> impl Iterator<Item = &crate::engine::RuleMeta> {
        self.engine.rules()
    }
}
