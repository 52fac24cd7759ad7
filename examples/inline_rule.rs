//! Compile a rule from a string and run it against a small org built in code.
//!
//! `cargo run --example inline_rule`

#![expect(clippy::print_stdout, reason = "an example prints its results")]
use rolecall::{Org, OrgBuilder, RuleSet};

const RULE: &str = r#"
//! Integrations that can edit WFM agents in the home division only.
//!
//! ## What it does
//! Reports client-credentials clients whose `wfm:agent:edit` does not reach `Support EU`.
//! ## Why is this bad?
//! Agent moves into management units there fail with 403.
//! ## How to fix
//! Grant the role in `Support EU` too.

const RULE = #{ id: "ORG001", name: "wfm-client-misses-support-eu", severity: "high", tags: ["wfm"] };

fn check(org, params) {
    let division = params.division ?? "Support EU";
    for client in org.clients_with("wfm:agent:edit") {
        if !client.can("wfm:agent:edit", division) {
            report(client, `cannot edit agents in ${division}`)
                .fix(client.smallest_fix("wfm:agent:edit", division));
        }
    }
}
"#;

fn main() -> miette::Result<()> {
    let org = Org::from_snapshot(
        OrgBuilder::new("Example")
            .division("Home")
            .division("Support EU")
            .role("WFM Integration", &["wfm:agent:edit", "wfm:agent:view"])
            .client(
                "wfm-sync",
                "CLIENT-CREDENTIALS",
                &[("WFM Integration", "Home")],
            )
            .catalog("wfm:agent:edit", true)
            .build(),
    );
    let rules = RuleSet::empty()
        .with_source("inline:wfm.rhai", RULE)?
        .param("ORG001", serde_json::json!({ "division": "Support EU" }));
    let report = org.check(&rules);
    for f in report.findings() {
        println!(
            "{} {} `{}`: {}",
            f.rule_id, f.subject.kind, f.subject.name, f.message
        );
        println!("    fix: {}", f.fix.as_deref().unwrap_or("-"));
    }
    if let Some(e) = report.errors().next() {
        return Err(e.clone().into());
    }
    Ok(())
}
