//! rolecall audits Genesys Cloud permissions as code.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod audit;

pub use audit::{Error, Org, RuleSet, Subject};
pub use internals::authz::{Explanation, OrgDiff, Verdict, WhoCan};
pub use internals::engine::{CheckReport, Finding};
pub use internals::model::OrgBuilder;

pub mod internals;

// Inside the crate the modules keep their short paths (`crate::model::…`).
pub(crate) use internals::{
    ask, authz, catalog, change, config, engine, fetch, io, model, redact, report, text, usage,
    verify,
};
// Only the service reads watch sessions inside the crate.
#[cfg(feature = "serve")]
pub(crate) use internals::watch;
