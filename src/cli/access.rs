//! `rolecall access SUBJECT`: what one subject can do, per division; with `--op`, where one
//! call is allowed (answered by `explain` per candidate target).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{emit, load_source, Exit};
use rolecall::authz::{access_of, explain, resolve_subject, ExplainInputError, Question};
use rolecall::catalog::Catalog;
use rolecall::model::Org;
use rolecall::report::{access_json, render_access};

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
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

fn input(e: ExplainInputError) -> miette::Report {
    miette::miette!(help = e.help, "{}", e.message)
}

pub fn run(args: &AccessArgs) -> miette::Result<Exit> {
    let (snapshot, _, _) = load_source(args.snapshot.as_deref())?;
    let org = Org::new(snapshot);
    let subject = resolve_subject(&org, &args.subject).map_err(input)?;
    let access = access_of(&org, subject, args.permission.as_deref())?;
    let ex = match &args.op {
        None => None,
        Some(op) => {
            let catalog = Catalog::for_org(&org);
            let q = Question {
                subject,
                operation: op,
                target: None,
                agents: Vec::new(),
            };
            Some(explain(&org, &catalog, &q).map_err(input)?)
        }
    };
    let text = match args.format {
        Format::Human => render_access(&org, &access, ex.as_ref()),
        Format::Json => {
            serde_json::to_string_pretty(&access_json(&org, &access, ex.as_ref()))
                .into_diagnostic()?
                + "\n"
        }
    };
    emit(&text)?;
    Ok(Exit::Clean)
}
