//! `rolecall explain`: why a subject's API call is allowed or denied, and the smallest fix.

use std::io::Read as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{emit, emit_data, json_text, load_source, Exit};
use rolecall::internals::authz::{explain_baseline, ExplainInputError, Verdict};
use rolecall::internals::catalog::{Catalog, Origin};
use rolecall::internals::model::{load_snapshot, Org};
use rolecall::internals::report::{render_baseline, render_explanation};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Who calls: `client:NAME|ID`, `user:EMAIL|ID` or `group:NAME|ID`.
    #[arg(long = "as", value_name = "SUBJECT")]
    subject: String,
    /// The call: `"METHOD /api/v2/…"` (a concrete path or a template) or an operationId.
    #[arg(long, value_name = "\"METHOD PATH\"")]
    op: String,
    /// The object acted on: `division:NAME`, `management-unit:NAME` or `business-unit:NAME`
    /// (inferred from ids in the path when omitted).
    #[arg(long, value_name = "KIND:NAME")]
    target: Option<String>,
    /// For WFM agent moves: an agent being moved (email or id; repeatable).
    #[arg(long = "agent", value_name = "USER")]
    agents: Vec<String>,
    /// Snapshot to explain against (the built-in sample org when omitted).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The snapshot file, the same as `--snapshot FILE`.
    #[arg(value_name = "SNAPSHOT", conflicts_with = "snapshot")]
    snapshot_file: Option<PathBuf>,
    /// Use this API description (Genesys's `swagger.json`) or operation list instead of the
    /// snapshot's operation catalog.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The 403 body the API returned (a file, or `-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    error_body: Option<String>,
    /// Ask the same question of another org (e.g. dev), matched by names, and show what differs.
    #[arg(long, value_name = "OTHER_SNAPSHOT")]
    baseline: Option<PathBuf>,
    /// Explain the call on the org after this change (a Terraform plan or a rolecall change
    /// file; repeatable, applied in order), with the verdict before it beside it.
    #[arg(long = "plan", value_name = "FILE", conflicts_with = "baseline")]
    plans: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit 0 when the call is allowed, 1 when it is denied, 3 when it is unknown or may be
    /// denied.
    #[arg(long)]
    exit_code: bool,
}

fn input(e: ExplainInputError) -> miette::Report {
    miette::miette!(help = e.help, "{}", e.message)
}

pub fn run(args: &ExplainArgs) -> miette::Result<Exit> {
    let (snapshot, _, path) = load_source(super::either(&args.snapshot, &args.snapshot_file))?;
    let from_file = args
        .catalog
        .as_deref()
        .map(|f| {
            rolecall::internals::catalog::load_file(f).map_err(|m| {
                miette::miette!(
                    help = "give Genesys's API description (`/api/v2/docs/swagger`, optionally gzip-compressed) or a list of operations",
                    "{m}"
                )
            })
        })
        .transpose()?;
    let before = Org::new(snapshot);
    let planned = if args.plans.is_empty() {
        None
    } else {
        let p = super::plan::planned(&before, &args.plans)?;
        super::plan::say_notes(&p.notes);
        Some(p)
    };
    let org: &Org = planned.as_ref().map_or(&before, |p| &p.after);
    // `--catalog` wins over the snapshot's own catalog, which wins over the built-in one.
    let catalog = match (&from_file, &args.catalog) {
        (Some(ops), Some(f)) => Catalog::new(ops).with_origin(Origin::File {
            path: f.display().to_string(),
        }),
        _ => Catalog::for_org(org),
    };
    let ask = rolecall::internals::ask::ExplainAsk {
        subject: args.subject.clone(),
        operation: args.op.clone(),
        target: args.target.clone(),
        agents: args.agents.clone(),
        error_body: None,
    };
    let q = rolecall::internals::ask::question(org, &ask)?;
    let ex = rolecall::internals::ask::explained(org, &catalog, &q)?;

    let body = match &args.error_body {
        None => None,
        Some(src) => {
            let text = if src == "-" {
                read_stdin_body()?
            } else {
                rolecall::internals::io::read_text(
                    src.as_ref(),
                    rolecall::internals::io::Input::ErrorBody,
                )?
            };
            let value = rolecall::internals::ask::error_body(&text)?;
            Some(rolecall::internals::ask::read_body(org, &ex, &value))
        }
    };

    let loaded = args
        .baseline
        .as_deref()
        .map(|p| load_snapshot(p).map(Org::new))
        .transpose()?;
    // With a plan, the other org is the org before the change.
    let other: Option<(String, &Org)> = match (&planned, &loaded, &args.baseline) {
        (Some(_), _, _) => Some((
            format!(
                "{} before the change",
                path.as_deref().unwrap_or("<sample org>")
            ),
            &before,
        )),
        (None, Some(o), Some(p)) => Some((p.display().to_string(), o)),
        _ => None,
    };
    let baseline = match other {
        None => None,
        Some((file, other)) => {
            // The same catalog choice as for this org: `--catalog` wins for both.
            let other_catalog = match (&from_file, &args.catalog) {
                (Some(ops), Some(f)) => Catalog::new(ops).with_origin(Origin::File {
                    path: f.display().to_string(),
                }),
                _ => Catalog::for_org(other),
            };
            match explain_baseline(
                org,
                (q.subject, q.target, &args.op, &q.agents),
                &ex,
                other,
                &other_catalog,
            ) {
                Ok(answer) => Some((file, other.snapshot().organization.name.clone(), answer)),
                // A subject or target the change creates has no "before".
                Err(e) if planned.is_some() => {
                    super::note(&format!("before the change: {}", e.message));
                    None
                }
                Err(e) => return Err(input(e)),
            }
        }
    };

    match args.format {
        Format::Human => {
            let mut text = render_explanation(&ex, body.as_ref(), std::time::SystemTime::now());
            if let Some((file, name, answer)) = &baseline {
                text.push_str(&render_baseline(
                    &format!("`{file}` (org `{name}`)"),
                    &answer.explanation,
                    &answer.differences,
                ));
            }
            text.push_str(&rolecall::internals::report::verification_line(
                org.snapshot(),
            ));
            text.push('\n');
            emit(&text)?;
        }
        Format::Json => {
            let mut doc = rolecall::internals::ask::explain_document(
                org,
                &ex,
                path.as_deref(),
                body.as_ref(),
                baseline
                    .as_ref()
                    .map(|(file, name, answer)| (file.as_str(), name.as_str(), answer)),
            );
            if let Some(p) = &planned {
                doc["plan"] = serde_json::json!({
                    "files": args.plans.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                    "notes": p.notes,
                });
            }
            emit_data(&json_text(&doc)?)?;
        }
    }
    Ok(match (args.exit_code, ex.verdict) {
        (false, _) | (true, Verdict::Allowed) => Exit::Clean,
        // A subject that cannot sign in fails the call as surely as a 403 does.
        (true, Verdict::Denied | Verdict::CannotAuthenticate) => Exit::Findings,
        (true, Verdict::MayBeDenied | Verdict::Unknown) => Exit::Unknown,
        // Denied somewhere is a denial; otherwise some target could not be decided.
        (true, Verdict::DependsOnTarget) => {
            if ex.targets.iter().any(|t| t.verdict == Verdict::Denied) {
                Exit::Findings
            } else {
                Exit::Unknown
            }
        }
    })
}

/// The error body on standard input, bounded like a file (at most the error body's cap) and
/// in time: a pipe nobody writes to must not hold the command forever.
fn read_stdin_body() -> miette::Result<String> {
    let max = rolecall::internals::io::Input::ErrorBody.max_bytes();
    // The wait, in seconds; `ROLECALL_STDIN_SECONDS` shortens it (tests).
    let wait = std::env::var("ROLECALL_STDIN_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let read = std::io::stdin()
            .take(max + 1)
            .read_to_string(&mut s)
            .map(|_| s);
        let _ = tx.send(read);
    });
    let s = match rx.recv_timeout(std::time::Duration::from_secs(wait)) {
        Ok(read) => read.into_diagnostic()?,
        Err(_) => miette::bail!(
            help = "pipe the body in (`… --error-body - < body.json`) or give its file",
            "no error body arrived on standard input within {wait} s"
        ),
    };
    if s.len() as u64 > max {
        miette::bail!(
            "the error body on standard input is larger than {} KiB",
            max >> 10
        );
    }
    Ok(s)
}
