//! Reading a live org: regions and hosts, credentials, the request plan, retry classification
//! and the shared rate budget (pure, tested without a network), and, with the `fetch` feature,
//! the HTTP connection (`conn`) and the plan run over it (`client`).
//!
//! Secrets are [`credentials::Secret`]s that never print.

pub mod budget;
#[cfg(feature = "fetch")]
pub mod client;
#[cfg(feature = "fetch")]
mod conn;
pub mod credentials;
#[cfg(feature = "fetch")]
mod options;
#[cfg(feature = "fetch")]
pub mod permitted;
pub mod plan;
pub mod regions;
pub mod retry;
#[cfg(feature = "fetch")]
pub mod usage;
pub mod wire;

pub use credentials::{register_known_secrets, Secret};
