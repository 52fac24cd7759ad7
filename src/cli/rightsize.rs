//! `rolecall rightsize SUBJECT`: the role a subject's observed calls need, proposed as a change
//! file and CX as Code, and proven by replaying every observed call with it applied.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{emit, emit_data, json_text, load_source, note, Exit};
use rolecall::internals::authz::resolve_subject;
use rolecall::internals::catalog::Catalog;
use rolecall::internals::model::Org;
use rolecall::internals::report::{render_rightsize, rightsize_json};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct RightsizeArgs {
    /// Who: `client:NAME|ID` or `user:EMAIL|ID`.
    #[arg(value_name = "SUBJECT")]
    subject: String,
    /// Snapshot with usage (`rolecall fetch --usage DAYS`; the built-in sample org when omitted).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// Write the proposal as a `rolecall.change/1` file (TOML) here.
    #[arg(long, value_name = "FILE")]
    change_file: Option<PathBuf>,
    /// Write the proposal as CX as Code (Terraform, `genesyscloud` provider) here.
    #[arg(long, value_name = "FILE")]
    terraform: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// Exit 0 when the proposal is proven (no observed call worse off), 1 when it is not.
pub fn run(args: &RightsizeArgs) -> miette::Result<Exit> {
    let (snapshot, _, path) = load_source(args.snapshot.as_deref())?;
    let org = Org::new(snapshot);
    let subject = resolve_subject(&org, &args.subject)
        .map_err(|e| miette::miette!(help = e.help, "{}", e.message))?;
    let catalog = Catalog::for_org(&org);
    let r = rolecall::internals::usage::rightsize(&org, &catalog, subject)?;
    if let Some(f) = &args.change_file {
        rolecall::internals::io::write_file(f, r.change_file.as_bytes())?;
        note(&format!("wrote the change file to `{}`", f.display()));
    }
    if let Some(f) = &args.terraform {
        rolecall::internals::io::write_file(f, r.cx_as_code.as_bytes())?;
        note(&format!("wrote CX as Code to `{}`", f.display()));
    }
    match args.format {
        Format::Human => emit(&render_rightsize(&r))?,
        Format::Json => emit_data(&json_text(&rightsize_json(&r, path.as_deref()))?)?,
    }
    Ok(if r.proven {
        Exit::Clean
    } else {
        Exit::Findings
    })
}
