//! `rolecall diff`: differences in effective access between two orgs.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{emit, emit_data, json_text, Exit};
use rolecall::authz::{diff, resolve_subject, subject_key, DiffOptions};
use rolecall::catalog::Catalog;
use rolecall::model::{load_snapshot, Org};
use rolecall::report::{diff_json, render_diff};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The base snapshot (e.g. dev).
    base: PathBuf,
    /// The snapshot compared with it (e.g. prod).
    other: PathBuf,
    /// Only this subject: `client:NAME`, `user:EMAIL` or `group:NAME` (as named in the base).
    #[arg(long = "as", value_name = "SUBJECT")]
    subject: Option<String>,
    /// Only the permissions this operation needs: `"METHOD /api/v2/…"` or an operationId.
    #[arg(long, value_name = "\"METHOD PATH\"")]
    op: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit 1 when the orgs differ.
    #[arg(long)]
    exit_code: bool,
}

pub fn run(args: &DiffArgs) -> miette::Result<Exit> {
    let base = Org::new(load_snapshot(&args.base)?);
    let other = Org::new(load_snapshot(&args.other)?);
    // The subject may exist in either org (an integration added or removed by the change).
    let subject = args
        .subject
        .as_deref()
        .map(|s| match resolve_subject(&base, s) {
            Ok(r) => Ok(subject_key(&base, r)),
            Err(e) => resolve_subject(&other, s)
                .map(|r| subject_key(&other, r))
                .map_err(|_| e),
        })
        .transpose()
        .map_err(|e| miette::miette!(help = e.help, "{}", e.message))?;
    let permissions = match &args.op {
        None => None,
        Some(op) => {
            // Either snapshot's own catalog, then the built-in one behind both.
            let from_base = Catalog::new(&base.snapshot().operations);
            let from_other = Catalog::for_org(&other);
            let m = from_base
                .find(op)
                .or_else(|| from_other.find(op))
                .ok_or_else(|| {
                    miette::miette!(
                        help = "give `METHOD /api/v2/…` or an operationId",
                        "operation `{op}` is in neither snapshot's catalog nor in rolecall's built-in one"
                    )
                })?;
            Some(
                m.operation
                    .permissions
                    .as_ref()
                    .map(|r| r.list.clone())
                    .unwrap_or_default(),
            )
        }
    };
    let d = diff(
        &base,
        &other,
        &DiffOptions {
            subject,
            permissions,
        },
    );
    let label = |p: &PathBuf, o: &Org| {
        format!(
            "`{}` (org `{}`)",
            p.display(),
            o.snapshot().organization.name
        )
    };
    match args.format {
        Format::Human => emit(&render_diff(
            &d,
            &label(&args.base, &base),
            &label(&args.other, &other),
        ))?,
        Format::Json => {
            let doc = diff_json(
                &d,
                &args.base.display().to_string(),
                &args.other.display().to_string(),
            );
            emit_data(&json_text(&doc)?)?;
        }
    }
    Ok(if args.exit_code && !d.is_empty() {
        Exit::Findings
    } else {
        Exit::Clean
    })
}
