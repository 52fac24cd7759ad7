//! `rolecall impact --usage FROM --snapshot TO`: every call subjects made in one org (where
//! usage was read), explained in another (matched by name), or across a planned change.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{emit, emit_data, json_text, Exit};
use rolecall::internals::authz::resolve_subject;
use rolecall::internals::catalog::Catalog;
use rolecall::internals::model::{load_snapshot, Org};
use rolecall::internals::report::{impact_html, impact_json, impact_markdown, render_impact};
use rolecall::internals::usage::{Class, ImpactOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Args)]
pub struct ImpactArgs {
    /// The snapshot whose usage is replayed (e.g. dev, fetched with `--usage DAYS`).
    #[arg(long = "usage", value_name = "FROM")]
    from: PathBuf,
    /// The snapshot to replay the calls in (e.g. prod; the usage snapshot itself when omitted,
    /// with `--plan`).
    #[arg(long, value_name = "TO")]
    snapshot: Option<PathBuf>,
    /// Only this subject of the usage snapshot: `client:NAME|ID` or `user:EMAIL|ID`.
    #[arg(long = "as", value_name = "SUBJECT")]
    subject: Option<String>,
    /// A planned change (Terraform plan or change file; repeatable) applied to TO: calls it
    /// would break are marked.
    #[arg(long = "plan", value_name = "FILE")]
    plans: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit 0 when every call is allowed, 1 when any will be denied, 3 when any may be denied
    /// (and none will).
    #[arg(long)]
    exit_code: bool,
}

pub fn run(args: &ImpactArgs) -> miette::Result<Exit> {
    let from = Org::new(load_snapshot(&args.from)?);
    let loaded = args
        .snapshot
        .as_deref()
        .map(|p| load_snapshot(p).map(Org::new))
        .transpose()?;
    let base: &Org = loaded.as_ref().unwrap_or(&from);
    let planned = if args.plans.is_empty() {
        None
    } else {
        let p = super::plan::planned(base, &args.plans)?;
        super::plan::say_notes(&p.notes);
        Some(p)
    };
    let to: &Org = planned.as_ref().map_or(base, |p| &p.after);
    let subject = args
        .subject
        .as_deref()
        .map(|s| resolve_subject(&from, s))
        .transpose()
        .map_err(|e| miette::miette!(help = e.help, "{}", e.message))?;
    let (from_cat, to_cat, base_cat) = (
        Catalog::for_org(&from),
        Catalog::for_org(to),
        Catalog::for_org(base),
    );
    let opts = ImpactOptions {
        subject,
        before_plan: planned.as_ref().map(|_| (base, &base_cat)),
    };
    let i = rolecall::internals::usage::impact((&from, &from_cat), (to, &to_cat), &opts)?;
    match args.format {
        Format::Human => emit(&render_impact(&i))?,
        Format::Json => emit_data(&json_text(&impact_json(&i))?)?,
        Format::Markdown => emit(&impact_markdown(&i))?,
        Format::Html => emit_data(&impact_html(&i))?,
    }
    Ok(match (args.exit_code, i.worst()) {
        (false, _) | (true, Class::Allowed) => Exit::Clean,
        (true, Class::Denied) => Exit::Findings,
        (true, Class::MayBeDenied) => Exit::Unknown,
    })
}
