//! `rolecall who-can PERM`: every subject holding a permission, per division, and how.

use std::path::PathBuf;

use super::{emit, emit_data, json_text, load_source, Exit};
use clap::{Args, ValueEnum};
use rolecall::internals::authz::SubjectKind;
use rolecall::internals::model::Org;
use rolecall::internals::report::{render_who_can, who_can_csv, who_can_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    User,
    Group,
    Client,
}

#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// The permission, `domain:entity:action` (wildcard grants honoured).
    #[arg(value_name = "PERM")]
    permission: String,
    /// Only this division (name or id; repeatable).
    #[arg(long = "division", value_name = "DIVISION")]
    divisions: Vec<String>,
    /// Only this kind of subject (repeatable).
    #[arg(long = "kind", value_enum)]
    kinds: Vec<Kind>,
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

pub fn run(args: &WhoCanArgs) -> miette::Result<Exit> {
    let (snapshot, _, _) = load_source(super::either(&args.snapshot, &args.snapshot_file))?;
    let org = Org::new(snapshot);
    let kinds = args
        .kinds
        .iter()
        .map(|k| match k {
            Kind::User => SubjectKind::User,
            Kind::Group => SubjectKind::Group,
            Kind::Client => SubjectKind::Client,
        })
        .collect();
    let w = rolecall::internals::ask::who_can(&org, &args.permission, &args.divisions, kinds)?;
    // CSV keeps the values but still gets the terminal pass: it is often read with `cat`.
    match args.format {
        Format::Human => emit(&render_who_can(&org, &w))?,
        Format::Json => emit_data(&json_text(&who_can_json(&org, &w))?)?,
        Format::Csv => {
            emit(&who_can_csv(&org, &w))?;
            // A table has no room for what the answer leans on (data that could not be read,
            // an unknown permission): said on stderr, never dropped.
            for n in &w.notes {
                super::note(n);
            }
        }
    }
    Ok(Exit::Clean)
}
