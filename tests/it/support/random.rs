//! Random small orgs for property tests: a deterministic generator, so every failure names a
//! reproducible seed, and orgs that reach every kind of verdict.

use rolecall::internals::model::OrgBuilder;

/// The agent move, the operation every random org describes.
pub const MOVE: &str = "POST /api/v2/workforcemanagement/agents";

/// A small deterministic generator (xorshift), so the property test needs no extra crate and
/// every failure names a reproducible seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap()
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A random small org: up to three divisions, roles over a few WFM permissions (wildcards
/// included), clients in any state, units across divisions, DENY policies with and without
/// conditions, and coverage gaps.
pub fn random_org(seed: u64) -> rolecall::internals::model::OrgSnapshot {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let divisions = ["Home", "Support EU", "Sales"];
    let n_div = 1 + r.below(3);
    let perms = [
        "wfm:agent:edit",
        "wfm:*:*",
        "wfm:agent:*",
        "wfm:schedule:edit",
        "routing:queue:view",
    ];
    let mut b = OrgBuilder::new(&format!("random-{seed}"));
    for d in &divisions[..n_div] {
        b = b.division(d);
    }
    for i in 0..3 {
        let p = perms[r.below(perms.len())];
        b = b.role(&format!("Role {i}"), &[p]);
    }
    let states = ["active", "active", "disabled", "inactive"];
    for c in 0..3 {
        let mut grants = Vec::new();
        for _ in 0..r.below(3) {
            let div = if r.chance(20) {
                "*"
            } else {
                divisions[r.below(n_div)]
            };
            grants.push((format!("Role {}", r.below(3)), div.to_owned()));
        }
        let refs: Vec<(&str, &str)> = grants
            .iter()
            .map(|(a, d)| (a.as_str(), d.as_str()))
            .collect();
        let kind = if r.chance(85) {
            "CLIENT-CREDENTIALS"
        } else {
            "CODE"
        };
        b = b
            .client(&format!("client-{c}"), kind, &refs)
            .client_state(states[r.below(states.len())], None);
    }
    for u in 0..3 {
        let bu_div = divisions[r.below(n_div)];
        b = b.business_unit(&format!("BU {u}"), bu_div).management_unit(
            &format!("MU {u}"),
            &format!("BU {u}"),
            divisions[r.below(n_div)],
        );
    }
    for p in 0..r.below(3) {
        let target = perms[r.below(perms.len())];
        let subject = if r.chance(70) { "ALL" } else { "CLIENT" };
        b = b.policy(
            &format!("Policy {p}"),
            target,
            "DENY",
            subject,
            r.chance(60),
        );
        if subject == "CLIENT" {
            b = b.policy_subject(&format!("client-{}", r.below(3)));
        }
        if r.chance(30) {
            b = b.policy_condition(serde_json::json!({"variableName": "x", "operator": "EQ"}));
        }
    }
    if r.chance(50) {
        b = b.catalog("wfm:agent:edit", true);
    }
    if r.chance(20) {
        b = b.gap("GET /api/v2/authorization/policies", "accessPolicies");
    }
    if r.chance(10) {
        b = b.gap(
            "GET /api/v2/authorization/roles/{roleId}/subjectgrants",
            "grants",
        );
    }
    b.operation(
        "POST",
        MOVE,
        "ANY",
        &["wfm:agent:edit"],
        &["workforce-management"],
    )
    .build()
}
