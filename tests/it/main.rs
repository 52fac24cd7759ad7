//! Integration tests: one binary, modules by area.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a failed setup step should fail the test loudly"
)]

mod authoring;
mod browser;
mod catalog;
mod ci;
mod cli;
mod docs;
mod edges;
mod engine;
mod explain;
mod fetch;
mod first_hour;
mod fixes;
mod forgery;
mod formats;
mod hostile;
mod hostile_server;
mod layout;
mod malformed;
mod plan;
mod plan_strict;
mod query;
mod report_html;
mod rules;
mod serve;
mod support;
mod usage;
mod verdicts;
mod verify;
mod watch;
