//! Check a snapshot (or the built-in sample org) with the built-in rules and print the findings.
//!
//! `cargo run --example check_snapshot [-- FILE]`

#![expect(clippy::print_stdout, reason = "an example prints its results")]
use rolecall::{Org, RuleSet};

fn main() -> miette::Result<()> {
    let org = match std::env::args().nth(1) {
        Some(path) => Org::load(path)?,
        None => Org::sample()?,
    };
    let report = org.check(&RuleSet::builtin());
    for f in report.findings() {
        println!(
            "{} {} {} `{}`: {}",
            f.rule_id, f.severity, f.subject.kind, f.subject.name, f.message
        );
        if let Some(fix) = &f.fix {
            println!("    fix: {fix}");
        }
    }
    for e in report.errors() {
        println!("error: {} at {}", e.message, e.location());
    }
    println!(
        "{} findings from {} rules",
        report.findings().count(),
        report.outcomes.len()
    );
    Ok(())
}
