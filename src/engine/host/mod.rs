//! The host API: what rule scripts can see and call.
//!
//! Scripts get small handle types over the shared [`Org`](crate::model::Org), never copies of
//! the org as Rhai maps (a measured ~200× difference on large orgs; see DESIGN.md).

mod access;
mod api;
mod handles;
mod predicates;
mod query;
mod report;
mod usage;
mod util;

pub(crate) use api::take_gap_reads;
pub use handles::{
    BusinessUnitH, ClientH, DivisionH, GrantH, GroupH, HoldingH, List, ManagementUnitH, OrgH,
    PolicyH, RoleH, SettingsH, SubjectList, UserH,
};
pub use report::FindingRef;
pub(crate) use report::RunCtx;
pub use util::glob_match;
pub(crate) use util::{CONFIG_ERROR, NOT_RUN};

/// Register every host type and function on an engine.
pub(crate) fn register(engine: &mut rhai::Engine) {
    api::register(engine);
    access::register(engine);
    predicates::register(engine);
    query::register(engine);
    report::register(engine);
    usage::register(engine);
    util::register(engine);
}
