//! `rolecall generate`: write a synthetic org snapshot.

use std::path::PathBuf;

use clap::Args;
use miette::IntoDiagnostic;

use super::{note, Exit};
use rolecall::internals::model::{save_snapshot, synthetic_org};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of users (divisions, roles, groups, clients, policies and units scale with it).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=MAX_USERS))]
    users: u32,
    /// Seed for the choices (sizes depend only on --users).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

/// The largest org generated: ten times the 100k-user benchmark org, still a few GiB of
/// memory; a billion users would abort on allocation.
const MAX_USERS: i64 = 1_000_000;

pub fn run(args: &GenerateArgs) -> miette::Result<Exit> {
    // Refuse an output that cannot be written before spending the time to generate.
    rolecall::internals::io::check_target(&args.output)?;
    let snap = synthetic_org(args.users as usize, args.seed);
    save_snapshot(&snap, &args.output)?;
    let size = std::fs::metadata(&args.output).into_diagnostic()?.len();
    note(&format!(
        "wrote `{}`: {} users, {} divisions, {} roles, {} groups, {} clients, {} grants ({:.1} MiB)",
        args.output.display(),
        snap.users.len(),
        snap.divisions.len(),
        snap.roles.len(),
        snap.groups.len(),
        snap.oauth_clients.len(),
        snap.grants.len(),
        size as f64 / (1024.0 * 1024.0)
    ));
    Ok(Exit::Clean)
}
