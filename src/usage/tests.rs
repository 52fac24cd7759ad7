//! Rightsizing and impact on small built orgs.

use super::*;
use crate::model::OrgBuilder;

fn org() -> Org {
    Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .division("EU")
            .role("Admin", &["authorization:*:*", "routing:*:*", "wfm:*:*"])
            .client("deployer", "CLIENT-CREDENTIALS", &[("Admin", "*")])
            .client("idle", "CLIENT-CREDENTIALS", &[("Admin", "Home")])
            .operation(
                "GET",
                "/api/v2/routing/queues",
                "ANY",
                &["routing:queue:view"],
                &[],
            )
            .operation(
                "PUT",
                "/api/v2/routing/queues/{queueId}",
                "ALL",
                &["routing:queue:edit"],
                &[],
            )
            .operation(
                "GET",
                "/api/v2/authorization/roles",
                "ANY",
                &["authorization:role:view"],
                &[],
            )
            .catalog("routing:queue:view", true)
            .catalog("routing:queue:edit", true)
            .catalog("routing:queue:add", true)
            .catalog("authorization:role:view", false)
            .catalog("authorization:role:edit", false)
            .usage_call("deployer", "GET api/v2/routing/queues", "2025-12-01", 40, 0)
            .usage_call(
                "deployer",
                "PUT /api/v2/routing/queues/{id}",
                "2025-12-02",
                5,
                2,
            )
            .usage_call("deployer", "GET /api/v2/nothing/{x}", "2025-12-02", 1, 0)
            .build(),
    )
}

#[test]
fn rightsize_needs_only_what_the_calls_use_and_proves_it() {
    let org = org();
    let cat = Catalog::for_org(&org);
    let r = rightsize(&org, &cat, SubjectRef::Client(0)).unwrap();
    assert_eq!(r.needed, ["routing:queue:edit", "routing:queue:view"]);
    assert_eq!(r.held.permissions, 5);
    assert!(
        r.headline().starts_with(
            "holds 5 permissions through 1 role; its 3 operations over 90 days need 2"
        ),
        "{}",
        r.headline()
    );
    assert_eq!(r.divisions, ["all divisions"]);
    assert!(r.proven, "{:#?}", r.calls);
    assert_eq!(r.unmatched, ["GET /api/v2/nothing/{x}"]);
    assert_eq!(r.failing().count(), 1);
    assert!(
        r.change_file.contains("op = \"revoke\""),
        "{}",
        r.change_file
    );
    assert!(r.cx_as_code.contains("genesyscloud_auth_role"));
    // The proof sees a proposal that drops a needed permission.
    let set = crate::change::parse_change_toml(
        &r.change_file.replace("\"routing:queue:edit\", ", ""),
        "x",
    )
    .unwrap();
    let after = Org::new(crate::change::apply(&org, &set).unwrap().snapshot);
    let ask = |o: &Org| {
        crate::authz::explain(
            o,
            &Catalog::for_org(o),
            &crate::authz::Question {
                subject: SubjectRef::Client(0),
                operation: "PUT /api/v2/routing/queues/{queueId}",
                target: None,
                agents: Vec::new(),
                unread_target: None,
            },
        )
        .unwrap()
    };
    assert!(regressed(&ask(&org), &ask(&after)));
}

#[test]
fn impact_names_calls_denied_elsewhere() {
    let dev = org();
    let prod = Org::new(
        OrgBuilder::new("p")
            .division("Home")
            .role("Reader", &["routing:queue:view"])
            .client("deployer", "CLIENT-CREDENTIALS", &[("Reader", "Home")])
            .build(),
    );
    let (dc, pc) = (Catalog::for_org(&dev), Catalog::for_org(&prod));
    let i = impact((&dev, &dc), (&prod, &pc), &ImpactOptions::default()).unwrap();
    let s = &i.subjects[0];
    assert_eq!(s.subject, "client `deployer`");
    assert_eq!(s.count(Class::Denied), 1, "{:#?}", s.calls);
    assert_eq!(s.calls[0].call, "PUT /api/v2/routing/queues/{id}");
    assert!(
        s.calls[0].why.contains("routing:queue:edit"),
        "{}",
        s.calls[0].why
    );
    assert_eq!(i.worst(), Class::Denied);
    // No usage: an error that says how to get it.
    let e = impact((&prod, &pc), (&dev, &dc), &ImpactOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no API usage"), "{e}");
}
