//! `rolecall verify`: check rolecall's model of access against the platform's own answers
//! (`…/divisionspermitted/paged/…`) for chosen pairs, print the plan first, render the report,
//! and store the result in the snapshot with `--save`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{emit, engine, note, settings, Exit, RuleSetArgs};
use rolecall::internals::fetch::client::fetch;
use rolecall::internals::fetch::credentials::Auth;
use rolecall::internals::model::{load_snapshot, save_snapshot, Org};
use rolecall::internals::report::{render_plan, render_verify, verify_headline, verify_json};
use rolecall::internals::verify::{plan, run, PlanOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    connect: super::fetch::ConnectArgs,
    /// The snapshot to verify (default: fetch the org first).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with = "snapshot")]
    snapshot_file: Option<PathBuf>,
    /// Store the result in the snapshot (`verification`): the `--snapshot` file, or the fetched
    /// snapshot written to `--output`.
    #[arg(long)]
    save: bool,
    /// Where `--save` writes a fetched snapshot.
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "org.json",
        conflicts_with_all = ["snapshot", "snapshot_file"]
    )]
    output: PathBuf,
    /// Only these users (ids or emails, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "USERS")]
    subjects: Vec<String>,
    /// Only these permissions (comma-separated `domain:entity:action`).
    #[arg(long, value_delimiter = ',', value_name = "PERMISSIONS")]
    permissions: Vec<String>,
    /// The most requests to send for the comparison, the token request included.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_requests: u32,
    /// Output format (`json`: `rolecall.verify/1`).
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// The rules whose permissions are asked about (and ACC001's expectations).
    #[command(flatten)]
    rule_set: RuleSetArgs,
}

pub fn run_verify(args: &VerifyArgs) -> miette::Result<Exit> {
    let settings = settings(&args.rule_set.overrides())?;
    let opts = super::fetch::connect_options(&args.connect)?;
    let rt = super::fetch::runtime()?;
    let snapshot = super::either(&args.snapshot, &args.snapshot_file);
    let mut snap = match snapshot {
        Some(p) => load_snapshot(p)?,
        None => rt.block_on(fetch(opts.clone()))?.0,
    };
    let org = Arc::new(Org::new(snap.clone()));
    let rule_permissions = engine(&settings)?.permissions_used(&org, &settings.check);
    let (caller, token_request) = match &opts.auth {
        Auth::ClientCredentials { client_id, .. } => (Some(client_id.clone()), true),
        Auth::Token(_) => (None, false),
    };
    match caller.as_deref() {
        None => note("signed in with a token, not a client: no `…/paged/me` pairs"),
        Some(c) if org.client(c).is_none() => {
            note("the fetching client is not in the snapshot: no `…/paged/me` pairs");
        }
        Some(_) => {}
    }
    let plan = plan(
        &org,
        &PlanOptions {
            subjects: args.subjects.clone(),
            permissions: args.permissions.clone(),
            rule_permissions,
            caller,
            max_requests: args.max_requests as usize,
            token_request,
        },
    )?;
    for line in render_plan(&org, &plan).lines() {
        note(line);
    }
    let report = rt.block_on(run(&org, &plan, opts))?;
    match args.format {
        Format::Human => emit(&render_verify(&report))?,
        Format::Json => {
            emit(&(serde_json::to_string_pretty(&verify_json(&report)).into_diagnostic()? + "\n"))?
        }
    }
    if args.format == Format::Json {
        note(&verify_headline(&report));
    }
    if args.save {
        snap.verification = Some(report.verification());
        let path = snapshot.unwrap_or(&args.output);
        save_snapshot(&snap, path)?;
        note(&format!("stored the verification in `{}`", path.display()));
    }
    Ok(if report.disagreements() > 0 {
        Exit::Findings
    } else if report.unknown() > 0 {
        Exit::Unknown
    } else {
        Exit::Clean
    })
}
