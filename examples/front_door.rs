//! The seed question through the front door: why does `wfm-sync` get 403 moving agents, what is
//! the fix, and who can edit agents in Support EU.
//!
//! `cargo run --example front_door [-- SNAPSHOT]`

#![expect(clippy::print_stdout, reason = "an example prints its results")]
use rolecall::{Org, Verdict};

fn main() -> Result<(), rolecall::Error> {
    let org = match std::env::args().nth(1) {
        Some(path) => Org::load(path)?,
        None => Org::sample()?,
    };
    let wfm = org.subject("client:wfm-sync")?;
    let answer = org.explain_at(
        &wfm,
        "POST /api/v2/workforcemanagement/agents",
        "management-unit:EU Agents",
    )?;
    println!("{}", answer.verdict_line());
    if answer.verdict != Verdict::Allowed {
        println!("fix: {}", answer.fix.as_deref().unwrap_or("none"));
    }
    for h in org.who_can("wfm:agent:edit", Some("Support EU"))?.holders {
        println!(
            "can edit agents in Support EU: {}",
            org.subject_name(h.subject)
        );
    }
    Ok(())
}
