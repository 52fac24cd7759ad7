//! Reading a live org (work in progress): regions and hosts, credentials, the request plan,
//! retry classification and the shared rate budget. The HTTP client that uses them comes next.
//!
//! Everything here is pure (no I/O besides reading the `gc` config), so it is tested without a
//! network; secrets are [`credentials::Secret`]s that never print.

pub mod budget;
#[cfg(feature = "fetch")]
pub mod client;
pub mod credentials;
pub mod plan;
pub mod regions;
pub mod retry;
pub mod wire;
