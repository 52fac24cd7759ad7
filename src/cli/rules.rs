//! `rolecall rules list|show`: what rules exist and their documentation.

use std::path::PathBuf;

use clap::Subcommand;

use super::{emit, Exit};
use rolecall::engine::RuleEngine;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List rules: id, name, severity, tags, source.
    List {
        /// Also load rules from this directory (repeatable).
        #[arg(long = "rules", value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Show a rule's documentation.
    Show {
        /// Rule id, e.g. `WFM001`.
        id: String,
        /// Also load rules from this directory (repeatable).
        #[arg(long = "rules", value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
}

fn engine(dirs: &[PathBuf]) -> miette::Result<RuleEngine> {
    let mut e = RuleEngine::with_builtin();
    for d in dirs {
        e.add_dir(d)?;
    }
    Ok(e)
}

pub fn run(cmd: &RulesCommand) -> miette::Result<Exit> {
    match cmd {
        RulesCommand::List { dirs } => {
            let e = engine(dirs)?;
            let mut out = String::new();
            for m in e.rules() {
                out.push_str(&format!(
                    "{:<7} {:<38} {:<8} {:<32} {}\n",
                    m.id,
                    m.name,
                    m.severity.as_str(),
                    m.tags.join(","),
                    m.source
                ));
            }
            emit(&out)?;
            Ok(Exit::Clean)
        }
        RulesCommand::Show { id, dirs } => {
            let e = engine(dirs)?;
            let Some(m) = e.rules().find(|m| m.id.eq_ignore_ascii_case(id)) else {
                return Err(miette::miette!(
                    help = "`rolecall rules list` shows the ids",
                    "no rule with id `{id}`"
                ));
            };
            emit(&format!(
                "{} {} [{}] tags: {}\nsource: {}\n\n{}\n",
                m.id,
                m.name,
                m.severity,
                m.tags.join(", "),
                m.source,
                m.docs
            ))?;
            Ok(Exit::Clean)
        }
    }
}
