//! rolecall audits Genesys Cloud permissions as code.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod ask;
mod audit;
pub mod authz;
pub mod catalog;
pub mod change;
pub mod config;
pub mod engine;
pub mod fetch;
pub mod io;
pub mod model;
pub mod redact;
pub mod report;
#[cfg(feature = "serve")]
pub mod serve;
pub mod text;
pub mod usage;
pub mod verify;
pub mod watch;

pub use audit::{Error, Org, RuleSet, Subject};
pub use authz::{Explanation, OrgDiff, Verdict, WhoCan};
pub use engine::{CheckReport, Finding};
pub use model::OrgBuilder;
