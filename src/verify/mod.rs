//! `verify`: rolecall's model of access checked against the platform's own answers. For chosen
//! (subject, permission) pairs ([`plan()`]), the platform says in which divisions the subject holds
//! the permission (`GET /api/v2/authorization/divisionspermitted/paged/{subjectId}`, and
//! `…/paged/me` for the fetching client); rolecall computes the same from the snapshot with
//! `authz` ([`compare`]); the [`VerifyReport`] says where they agree, and for each disagreement
//! both answers, the grants rolecall used and the likeliest cause.
//!
//! The HTTP part ([`run`]) needs the `fetch` feature and uses the fetcher's connection.

pub mod compare;
pub mod plan;

use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

pub use compare::{disagreement, grant_words, model_answer, Cause, ModelAnswer, PlatformSide};
pub use plan::{plan, Asked, Pair, Plan, PlanOptions, Way};

use crate::authz::subject_phrase;
use crate::model::{Org, Permission, Scope, Verification};

/// The operation whose answers verify reads, for catalog look-ups and messages.
pub const OPERATION: &str = "GET /api/v2/authorization/divisionspermitted/paged/{subjectId}";

/// What the comparison leans on that the API facts do not confirm, said in every report.
pub const ASSUMPTIONS: [&str; 3] = [
    "a `*` grant is expected to make the platform answer `allDivsPermitted: true` (UNCONFIRMED); \
     the divisions listed beside it are then not compared",
    "`…/paged/{subjectId}` is described as deprecated, and what `…/paged/me` answers for a \
     client-credentials token is UNCONFIRMED: a disagreement on the fetching client may be the \
     endpoint's",
    "the platform answers from its current data: a disagreement can be a change made after the \
     snapshot was read",
];

/// Verification could not be planned or run.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum VerifyError {
    /// A `--subjects` entry is not a user of the snapshot.
    #[error("`{0}` is not a user in the snapshot")]
    #[diagnostic(
        code(rolecall::verify::subject),
        help("give a user id or email from the snapshot")
    )]
    UnknownSubject(String),
    /// A `--permissions` entry is not a concrete permission.
    #[error("`{0}` is not a concrete permission")]
    #[diagnostic(
        code(rolecall::verify::permission),
        help("give `domain:entity:action` without wildcards, e.g. `wfm:agent:edit`")
    )]
    BadPermission(String),
    /// No pair to ask about: no user, or no permission.
    #[error("nothing to verify: no (user, permission) pair could be chosen")]
    #[diagnostic(
        code(rolecall::verify::empty),
        help("the snapshot needs active users and roles, or give --subjects and --permissions")
    )]
    NothingToAsk,
    /// `--max-requests` leaves no room for one pair.
    #[error("`--max-requests {max}` leaves no room for a single pair ({needed} requests needed)")]
    #[diagnostic(code(rolecall::verify::budget))]
    TooFewRequests {
        /// The limit given.
        max: usize,
        /// Requests one pair needs, the token request included.
        needed: usize,
    },
    /// The endpoint refused (403 or 404).
    #[error("the platform refused `{endpoint}` with {status}{code}")]
    #[diagnostic(code(rolecall::verify::refused), help("{help}"))]
    Refused {
        /// Method and path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// `` `code` `` with a leading space, or nothing.
        code: String,
        /// What the catalog says the operation needs.
        help: String,
    },
    /// The fetch (or the sign-in) failed.
    #[cfg(feature = "fetch")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fetch(#[from] crate::fetch::client::FetchError),
}

/// How one pair came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum PairOutcome {
    /// Both sides gave the same answer.
    Agree,
    /// They differ; the likeliest cause.
    Disagree {
        /// The cause.
        cause: Cause,
    },
    /// The platform's answer could not be had; never counted as agreement.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// rolecall's side of a pair, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSide {
    /// Division names (sorted).
    pub divisions: Vec<String>,
    /// Whether a `*` grant gives the permission.
    pub all_divisions: bool,
    /// The grants that give it, in words.
    pub grants: Vec<String>,
}

/// One pair's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairResult {
    /// "user `Name`", "client `Name`".
    pub subject: String,
    /// The subject's id.
    pub subject_id: String,
    /// Whether it was asked through `…/paged/me`.
    pub caller: bool,
    /// The permission.
    pub permission: String,
    /// Agreement, disagreement or unknown.
    #[serde(flatten)]
    pub outcome: PairOutcome,
    /// What the platform answered (absent when it could not be asked).
    pub platform: Option<PlatformWords>,
    /// What rolecall computed.
    pub model: ModelSide,
}

/// The platform's side of a pair, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformWords {
    /// Division names, or "`id` (not in the snapshot)".
    pub divisions: Vec<String>,
    /// `allDivsPermitted`.
    pub all_divs_permitted: bool,
    /// Whether the whole listing was read (else it lists more divisions than rolecall's answer,
    /// and only the pages rolecall's answer needs were read).
    pub complete: bool,
}

/// Requests and time spent asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RunStats {
    /// HTTP requests sent (token request and retries included).
    pub requests: usize,
    /// Requests repeated after a transient failure.
    pub retries: usize,
    /// 429 responses.
    pub rate_limited: usize,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// RFC 3339 time the platform was asked.
    pub verified_at: String,
    /// Distinct users in the pairs (the fetching client not included).
    pub users: usize,
    /// Distinct permissions in the pairs.
    pub permissions: usize,
    /// The most requests the plan allowed itself.
    pub planned_requests: usize,
    /// Pairs left out to stay within `--max-requests`.
    pub left_out: usize,
    /// One result per pair, in the order asked.
    pub pairs: Vec<PairResult>,
    /// What the comparison assumes (see [`ASSUMPTIONS`]).
    pub assumptions: Vec<String>,
    /// Requests and time.
    pub stats: RunStats,
}

impl VerifyReport {
    /// Pairs on which both sides agreed.
    #[must_use]
    pub fn agreements(&self) -> usize {
        self.count(|o| matches!(o, PairOutcome::Agree))
    }
    /// Pairs on which they disagreed.
    #[must_use]
    pub fn disagreements(&self) -> usize {
        self.count(|o| matches!(o, PairOutcome::Disagree { .. }))
    }
    /// Pairs the platform could not answer.
    #[must_use]
    pub fn unknown(&self) -> usize {
        self.count(|o| matches!(o, PairOutcome::Unknown { .. }))
    }
    fn count(&self, f: impl Fn(&PairOutcome) -> bool) -> usize {
        self.pairs.iter().filter(|p| f(&p.outcome)).count()
    }

    /// The summary a snapshot keeps (`verification`).
    #[must_use]
    pub fn verification(&self) -> Verification {
        Verification {
            verified_at: self.verified_at.clone(),
            pairs: self.pairs.len(),
            agreements: self.agreements(),
            disagreements: self.disagreements(),
            unknown: self.unknown(),
            users: self.users,
            permissions: self.permissions,
        }
    }
}

/// The platform's answer to one pair, as the comparison takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The divisions and `allDivsPermitted`.
    Listed(PlatformSide),
    /// No usable answer, and why.
    Missing(String),
}

/// Compare the platform's answers (one per pair, in plan order) with rolecall's.
#[must_use]
pub fn compare_all(org: &Org, plan: &Plan, answers: &[Answer], verified_at: &str) -> VerifyReport {
    let results = plan
        .pairs
        .iter()
        .zip(answers)
        .map(|(pair, answer)| compare_pair(org, pair, answer))
        .collect();
    let users = plan
        .subjects
        .iter()
        .filter(|(a, _)| matches!(a, Asked::User(_)))
        .count();
    VerifyReport {
        verified_at: verified_at.to_owned(),
        users,
        permissions: plan.permissions,
        planned_requests: plan.requests,
        left_out: plan.left_out,
        pairs: results,
        assumptions: ASSUMPTIONS.iter().map(|&a| a.to_owned()).collect(),
        stats: RunStats::default(),
    }
}

/// rolecall's side of one pair, computed from the snapshot: what the benchmark measures.
#[must_use]
pub fn model_side(org: &Org, pair: &Pair) -> Option<ModelAnswer> {
    let perm = Permission::parse(&pair.permission)?;
    Some(model_answer(org, pair.asked.subject(), &perm))
}

fn compare_pair(org: &Org, pair: &Pair, answer: &Answer) -> PairResult {
    let subject = pair.asked.subject();
    let perm = Permission::parse(&pair.permission);
    let model = perm.as_ref().map(|p| model_answer(org, subject, p));
    let model_words = model.as_ref().map_or_else(
        || ModelSide {
            divisions: Vec::new(),
            all_divisions: false,
            grants: Vec::new(),
        },
        |m| ModelSide {
            divisions: m
                .divisions
                .iter()
                .map(|&d| org.scope_name(Scope::Division(d)).to_owned())
                .collect(),
            all_divisions: m.all,
            grants: grant_words(org, m),
        },
    );
    let (outcome, platform) = match (answer, perm.as_ref(), model.as_ref()) {
        (Answer::Missing(reason), ..) => (
            PairOutcome::Unknown {
                reason: reason.clone(),
            },
            None,
        ),
        (Answer::Listed(side), Some(p), Some(m)) => {
            let outcome = disagreement(org, subject, p, m, side)
                .map_or(PairOutcome::Agree, |cause| PairOutcome::Disagree { cause });
            (outcome, Some(platform_words(org, side)))
        }
        (Answer::Listed(side), ..) => (
            PairOutcome::Unknown {
                reason: "the permission is not `domain:entity:action`".to_owned(),
            },
            Some(platform_words(org, side)),
        ),
    };
    PairResult {
        subject: subject_phrase(org, subject),
        subject_id: org.subject_id(subject).to_owned(),
        caller: matches!(pair.asked, Asked::Caller(_)),
        permission: pair.permission.clone(),
        outcome,
        platform,
        model: model_words,
    }
}

fn platform_words(org: &Org, side: &PlatformSide) -> PlatformWords {
    let mut divisions: Vec<String> = side
        .division_ids
        .iter()
        .map(|id| match org.division(id) {
            Some(d) => org.scope_name(Scope::Division(d)).to_owned(),
            None => format!("`{id}` (not in the snapshot)"),
        })
        .collect();
    divisions.sort();
    PlatformWords {
        divisions,
        all_divs_permitted: side.all_divs_permitted,
        complete: side.complete,
    }
}

/// What the operation catalog says the endpoint needs, for a refusal's help text.
#[must_use]
pub fn needed_permission_words(org: &Org) -> String {
    let catalog = crate::catalog::Catalog::for_org(org);
    match catalog
        .find(OPERATION)
        .and_then(|m| m.operation.permissions.clone())
    {
        Some(r) if !r.list.is_empty() => format!(
            "the operation catalog says `{OPERATION}` needs {} of `{}`: grant it to the \
             credentials' role, or check for an access policy",
            r.kind,
            r.list.join("`, `")
        ),
        _ => format!(
            "the operation catalog lists no permission for `{OPERATION}`: the refusal comes from \
             elsewhere (an access policy, the IP allow-list, or a token without user context)"
        ),
    }
}

#[cfg(feature = "fetch")]
mod run;
#[cfg(feature = "fetch")]
pub use run::run;
