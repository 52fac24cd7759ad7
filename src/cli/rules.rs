//! `rolecall rules list|show`: what rules exist and their documentation.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use rolecall::internals::text::visible;

use super::{emit, emit_data, engine, json_text, settings, ConfigArgs, Exit};
use rolecall::internals::config::Overrides;
use rolecall::internals::engine::RuleEngine;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List rules: id, name, severity, tags, source (the config's rule directories included).
    List {
        #[command(flatten)]
        rules: RuleDirArgs,
    },
    /// Show a rule's documentation.
    Show {
        /// Rule id, e.g. `WFM001`.
        id: String,
        #[command(flatten)]
        rules: RuleDirArgs,
    },
    /// Write a new rule with its doc sections and a test file, ready to edit.
    New {
        /// kebab-case name of the bad pattern, e.g. `client-can-grant-roles`.
        name: String,
        /// Directory to write to (default: the config's first rule directory, or `rolecall-rules`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rule id (default: the next free `ORGnnn`).
        #[arg(long)]
        id: Option<String>,
    },
    /// Write Rhai definition files of the host API, for editor completion.
    Definitions {
        /// Output directory.
        #[arg(short, long, default_value = "rolecall-definitions")]
        output: PathBuf,
    },
}

const RULE_TEMPLATE: &str = r#"//! Clients that can grant roles. (One line: what this rule finds.)
//!
//! ## What it does
//! Reports client-credentials OAuth clients holding `authorization:grant:add`.
//!
//! ## Why is this bad?
//! A client that can grant roles can grant itself any permission.
//!
//! ## How to fix
//! Remove the permission from the client's roles.

const RULE = #{ id: "__ID__", name: "__NAME__", severity: "medium", tags: [] };

fn check(org, params) {
    for client in org.clients_with("authorization:grant:add") {
        report(client, "can grant roles")
            .fix(`remove ${code("authorization:grant:add")} from the roles of ${code(client.name)}`)
            .evidence(client.grants.map(|g| g.to_string()));
    }
}
"#;

const TEST_TEMPLATE: &str = r#"// Tests for __ID__ (__NAME__). Run with `rolecall test __DIR__`.

fn test_reports_a_client_that_can_grant_roles() {
    let org = fixture("test")
        .division("Home")
        .role("Granter", ["authorization:grant:add"])
        .client("bad-client", "CLIENT-CREDENTIALS", [["Granter", "Home"]]);
    let findings = run_rule("__ID__", org);
    assert_eq(findings.len(), 1);
    assert_eq(findings[0].subject, "bad-client");
}

fn test_ignores_clients_without_the_permission() {
    let org = fixture("test").division("Home").client("ok-client", "CLIENT-CREDENTIALS", []);
    assert_eq(run_rule("__ID__", org).len(), 0);
}
"#;

fn scaffold(name: &str, dir: Option<&PathBuf>, id: Option<&String>) -> miette::Result<Exit> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(miette::miette!(
            help = "name the bad pattern in kebab-case, e.g. `client-can-grant-roles`",
            "rule name `{name}` is not kebab-case"
        ));
    }
    let mut settings = settings(&Overrides {
        config: ConfigArgs::default().source(),
        ..Overrides::default()
    })?;
    let dir = dir
        .cloned()
        .or_else(|| settings.rule_dirs.first().cloned())
        .unwrap_or_else(|| PathBuf::from("rolecall-rules"));
    // Every id in use counts, the built-ins' and the config's rules' too; a configured
    // directory that does not exist yet is the one this command is about to create.
    settings.builtin = true;
    settings.rule_dirs.retain(|d| d.is_dir());
    let mut e = engine(&settings)?;
    if dir.is_dir() && !settings.rule_dirs.contains(&dir) {
        e.add_dir(&dir)?;
    }
    let id = match id {
        Some(id) => id.to_ascii_uppercase(),
        None => (1..1000)
            .map(|n| format!("ORG{n:03}"))
            .find(|c| !e.rules().any(|m| &m.id == c))
            .unwrap_or_else(|| "ORG999".to_owned()),
    };
    if let Some(m) = e.rules().find(|m| m.id == id) {
        return Err(miette::miette!(
            help = "ids are unique and never reused",
            "rule id `{id}` is already used by `{}`",
            m.source
        ));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|err| miette::miette!("cannot create `{}`: {err}", dir.display()))?;
    let rule = dir.join(format!("{name}.rhai"));
    let test = dir.join(format!("{name}.test.rhai"));
    for p in [&rule, &test] {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(miette::miette!(
                "`{}` already exists; not overwriting it",
                p.display()
            ));
        }
    }
    let fill = |t: &str| {
        t.replace("__ID__", &id)
            .replace("__NAME__", name)
            .replace("__DIR__", &dir.display().to_string())
    };
    // Through the safe writer, never over anything (a file created meanwhile, a planted link).
    for (file, template) in [(&rule, RULE_TEMPLATE), (&test, TEST_TEMPLATE)] {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        rolecall::internals::io::write_in_dir(&dir, &name, fill(template).as_bytes(), false)?;
    }
    emit(&format!(
        "created {} ({id}) and {}
next: edit the docs and `check`, then `rolecall test {}`; `rolecall watch --rules {}` picks it up live
",
        rule.display(),
        test.display(),
        dir.display(),
        dir.display()
    ))?;
    Ok(Exit::Clean)
}

/// Which rules `list` and `show` see: those `check` would load.
#[derive(Debug, Args)]
pub struct RuleDirArgs {
    /// Also load rules from this directory (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    no_builtin: bool,
    #[command(flatten)]
    config: ConfigArgs,
    /// Output format (`json`: `rolecall.rules/1`, or `rolecall.rule/1` for `show`).
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
}

impl RuleDirArgs {
    fn engine(&self) -> miette::Result<RuleEngine> {
        engine(&settings(&Overrides {
            config: self.config.source(),
            rules: self.dirs.clone(),
            no_builtin: self.no_builtin,
            ..Overrides::default()
        })?)
    }
}

pub fn run(cmd: &RulesCommand) -> miette::Result<Exit> {
    match cmd {
        RulesCommand::List { rules } => {
            let e = rules.engine()?;
            if rules.format == Format::Json {
                emit_data(&json_text(&rolecall::internals::report::rules_json(
                    e.rules(),
                ))?)?;
                return Ok(Exit::Clean);
            }
            let mut out = String::new();
            for m in e.rules() {
                out.push_str(&format!(
                    "{:<7} {:<38} {:<8} {:<32} {}\n",
                    visible(&m.id),
                    visible(&m.name),
                    m.severity.as_str(),
                    visible(&m.tags.join(",")),
                    visible(&m.source)
                ));
            }
            emit(&out)?;
            Ok(Exit::Clean)
        }
        RulesCommand::Show { id, rules } => {
            let e = rules.engine()?;
            let m = rolecall::internals::ask::rule(e.rules(), id)?;
            if rules.format == Format::Json {
                emit_data(&json_text(&rolecall::internals::report::rule_json(m))?)?;
                return Ok(Exit::Clean);
            }
            emit(&format!(
                "{} {} [{}] tags: {}\nsource: {}\n\n{}\n",
                visible(&m.id),
                visible(&m.name),
                m.severity,
                visible(&m.tags.join(", ")),
                visible(&m.source),
                rolecall::internals::text::visible_lines(&m.docs)
            ))?;
            Ok(Exit::Clean)
        }
        RulesCommand::New { name, dir, id } => scaffold(name, dir.as_ref(), id.as_ref()),
        RulesCommand::Definitions { output } => {
            std::fs::create_dir_all(output)
                .map_err(|e| miette::miette!("cannot create `{}`: {e}", output.display()))?;
            let files = RuleEngine::with_builtin().definitions();
            // A planted link in the directory is refused, never followed out of it.
            for (name, text) in &files {
                rolecall::internals::io::write_in_dir(output, name, text.as_bytes(), true)?;
            }
            emit(&format!(
                "wrote {} definition files to {}\n",
                files.len(),
                output.display()
            ))?;
            Ok(Exit::Clean)
        }
    }
}
