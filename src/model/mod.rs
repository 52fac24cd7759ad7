//! The org model: snapshot types, loading and saving, the indexed [`Org`], fixtures and samples.
//!
//! This module imports nothing else from the crate; everything else depends on it.

mod err;
mod fixture;
mod index;
mod load;
mod names;
mod perm;
mod snapshot;
mod synth;
mod usage;
mod validate;

pub use err::{SnapshotError, SnapshotErrorKind};
pub use fixture::{slug, OrgBuilder};
pub use index::{GrantRef, Org, Scope, SubjectRef};
pub use load::{load_snapshot, parse_snapshot, save_snapshot};
pub use names::{nearest, NameKind, Resolved};
pub use perm::{Pattern, Permission};
pub use snapshot::*;
pub use synth::{synthetic_org, synthetic_org_with_usage};
pub use usage::{Caller, Counts, OpUse, TemplateMatch, Usage, UsageBuilder, UsageIndex, UsageRow};

/// The built-in sample org (JSON), compiled into the binary.
pub const SAMPLE_JSON: &str = include_str!("../../data/sample-org.json");

/// The built-in sample org: a production org with the WFM division problem and a handful of
/// other misconfigurations. See `data/README.md` for what it contains.
///
/// # Errors
/// Only if the embedded file were malformed, which a test rules out.
pub fn sample() -> Result<OrgSnapshot, SnapshotError> {
    parse_snapshot(SAMPLE_JSON.as_bytes(), "<sample org>")
}
