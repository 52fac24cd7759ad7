//! `rolecall access SUBJECT`: what one subject can do, per division; with `--op`, where one
//! call is allowed (answered by `explain` per candidate target).

use std::path::PathBuf;

use super::{emit, emit_data, json_text, load_source, Exit};
use clap::{Args, ValueEnum};
use rolecall::internals::model::Org;
use rolecall::internals::report::{access_json, render_access};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The subject: `client:NAME`, `user:EMAIL` or `group:NAME`.
    #[arg(value_name = "SUBJECT")]
    subject: String,
    /// Only permissions overlapping this pattern (`wfm:*:*`, `*:agent:edit`).
    #[arg(long, value_name = "GLOB")]
    permission: Option<String>,
    /// Also list the divisions and WFM units where this call is allowed.
    #[arg(long, value_name = "\"METHOD PATH\"")]
    op: Option<String>,
    /// Snapshot file (default: the built-in sample org).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with = "snapshot")]
    snapshot_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub fn run(args: &AccessArgs) -> miette::Result<Exit> {
    let (snapshot, _, _) = load_source(super::either(&args.snapshot, &args.snapshot_file))?;
    let org = Org::new(snapshot);
    let (access, ex) = rolecall::internals::ask::access(
        &org,
        &args.subject,
        args.permission.as_deref(),
        args.op.as_deref(),
    )?;
    match args.format {
        Format::Human => emit(&render_access(&org, &access, ex.as_ref()))?,
        Format::Json => emit_data(&json_text(&access_json(&org, &access, ex.as_ref()))?)?,
    }
    Ok(Exit::Clean)
}
