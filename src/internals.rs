//! The modules beneath the front door, for tools that need more than it offers: the snapshot
//! model and its index (`model`), authorization answers (`authz`), the operation catalog
//! (`catalog`), the rule engine (`engine`), planned changes and the overlay (`change`), the
//! fetcher (`fetch`), reports (`report`), settings (`config`), watch sessions (`watch`), the
//! service (`serve`), usage (`usage`), and the one reader, writer, sanitiser and redactor
//! (`io`, `text`, `redact`). Their items are public but not the front door: they change more
//! freely between versions.

#[path = "ask.rs"]
pub mod ask;
#[path = "authz/mod.rs"]
pub mod authz;
#[path = "catalog/mod.rs"]
pub mod catalog;
#[path = "change/mod.rs"]
pub mod change;
#[path = "config/mod.rs"]
pub mod config;
#[path = "engine/mod.rs"]
pub mod engine;
#[path = "fetch/mod.rs"]
pub mod fetch;
#[path = "io.rs"]
pub mod io;
#[path = "model/mod.rs"]
pub mod model;
#[path = "redact.rs"]
pub mod redact;
#[path = "report/mod.rs"]
pub mod report;
#[cfg(feature = "serve")]
#[path = "serve/mod.rs"]
pub mod serve;
#[path = "text.rs"]
pub mod text;
#[path = "usage/mod.rs"]
pub mod usage;
#[path = "verify/mod.rs"]
pub mod verify;
#[path = "watch.rs"]
pub mod watch;
