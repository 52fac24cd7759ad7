//! Tests of effective access, division coverage, wildcards and fixes.

use super::*;
use crate::model::{Org, OrgBuilder};

fn org() -> Org {
    Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .division("Support EU")
            .role("WFM Integration", &["wfm:agent:edit", "wfm:agent:view"])
            .role("Wild", &["routing:*:view", "quality:*:*"])
            .role("Viewer", &["directory:user:view"])
            .client(
                "wfm-sync",
                "CLIENT-CREDENTIALS",
                &[("WFM Integration", "Home")],
            )
            .client(
                "wfm-global",
                "CLIENT-CREDENTIALS",
                &[("WFM Integration", "*")],
            )
            .client("portal", "CODE", &[("WFM Integration", "*")])
            .user("Ann", "ann@x.example", "active")
            .user("Ben", "ben@x.example", "active")
            .group("Sup", true, &["ann@x.example"])
            .group("Off", false, &["ben@x.example"])
            .grant_group("Sup", "Wild", "Support EU")
            .grant_group("Off", "WFM Integration", "*")
            .grant_user("ben@x.example", "Viewer", "Home")
            .catalog("wfm:agent:edit", true)
            .catalog("directory:user:view", false)
            .build(),
    )
}

fn div(org: &Org, name: &str) -> Target {
    Target::Division(org.division(name).unwrap())
}

#[test]
fn division_aware_grant_stops_at_its_division() {
    let org = org();
    let c = SubjectRef::Client(org.client("wfm-sync").unwrap());
    assert!(can(&org, c, "wfm:agent:edit", div(&org, "Home")));
    assert!(!can(&org, c, "wfm:agent:edit", div(&org, "Support EU")));
    assert!(can(&org, c, "wfm:agent:edit", Target::Any));
    assert!(!can(&org, c, "wfm:agent:edit", Target::All));
    let g = SubjectRef::Client(org.client("wfm-global").unwrap());
    assert!(can(&org, g, "wfm:agent:edit", div(&org, "Support EU")));
    assert!(can(&org, g, "wfm:agent:edit", Target::All));
}

#[test]
fn non_aware_permission_needs_any_division() {
    let org = org();
    let ben = SubjectRef::User(org.user("BEN@x.example").unwrap());
    assert!(can(
        &org,
        ben,
        "directory:user:view",
        div(&org, "Support EU")
    ));
}

#[test]
fn users_inherit_only_from_roles_enabled_groups() {
    let org = org();
    let ann = SubjectRef::User(org.user("ann@x.example").unwrap());
    let ben = SubjectRef::User(org.user("ben@x.example").unwrap());
    assert!(can(
        &org,
        ann,
        "routing:queue:view",
        div(&org, "Support EU")
    ));
    assert!(can(
        &org,
        ann,
        "quality:evaluation:delete",
        div(&org, "Support EU")
    ));
    assert!(!can(
        &org,
        ann,
        "routing:queue:edit",
        div(&org, "Support EU")
    ));
    // Ben's group holds WFM Integration in all divisions but does not pass roles on.
    assert!(!can(&org, ben, "wfm:agent:edit", Target::Any));
    let d = why(&org, ann, "routing:queue:view", div(&org, "Support EU"));
    assert_eq!(
        d.granted_by.unwrap().via,
        Via::Group(org.group("Sup").unwrap())
    );
    assert!(
        d.reason(&org).contains("through group `Sup`"),
        "{}",
        d.reason(&org)
    );
}

#[test]
fn roles_of_user_context_clients_do_not_apply() {
    let org = org();
    let p = SubjectRef::Client(org.client("portal").unwrap());
    assert!(!can(&org, p, "wfm:agent:edit", Target::Any));
    let d = why(&org, p, "wfm:agent:edit", Target::Any);
    assert!(matches!(d.fix, Some(Fix::NotClientCredentials { .. })));
}

#[test]
fn why_names_the_missing_division_and_the_fix() {
    let org = org();
    let c = SubjectRef::Client(org.client("wfm-sync").unwrap());
    let d = why(&org, c, "wfm:agent:edit", div(&org, "Support EU"));
    assert!(!d.allowed);
    assert_eq!(d.held_elsewhere.len(), 1);
    assert_eq!(
        d.fix.unwrap().to_string(),
        "grant role `WFM Integration` to client `wfm-sync` in division `Support EU` (it already holds the role elsewhere)"
    );
}

#[test]
fn fix_picks_narrowest_role_or_add_permission() {
    let org = org();
    let ben = SubjectRef::User(org.user("ben@x.example").unwrap());
    // Issue 21: Ben's group `Off` holds the role everywhere but passes no roles on; enabling
    // that is the fix its grant was made for, not a second grant to Ben.
    let d = why(&org, ben, "wfm:agent:view", div(&org, "Home"));
    assert_eq!(
        d.fix.unwrap().to_string(),
        "enable roles on group `Off` (its roles do not pass to members such as user `Ben` while `rolesEnabled` is off)"
    );
    // Without that group, the narrowest role with the permission.
    let ann = SubjectRef::User(org.user("ann@x.example").unwrap());
    let d = why(&org, ann, "wfm:agent:view", div(&org, "Home"));
    assert_eq!(
        d.fix.unwrap().to_string(),
        "grant role `WFM Integration` to user `Ann` in division `Home`"
    );
    let d = why(&org, ben, "billing:invoice:view", div(&org, "Home"));
    assert_eq!(
        d.fix.as_ref().unwrap().to_string(),
        "add `billing:invoice:view` to role `Viewer`"
    );
    assert_eq!(d.awareness, Awareness::Unknown);
    assert!(d.reason(&org).contains("treated as division-aware"));
}

#[test]
fn subjects_with_goes_through_groups() {
    let org = org();
    let found = subjects_with(&org, "routing:skill:view", div(&org, "Support EU"));
    assert_eq!(
        found,
        vec![
            SubjectRef::User(org.user("ann@x.example").unwrap()),
            SubjectRef::Group(org.group("Sup").unwrap())
        ]
    );
    let found = subjects_with(&org, "wfm:agent:edit", div(&org, "Support EU"));
    // The CODE client and the members of the group without rolesEnabled are excluded.
    assert_eq!(
        found,
        vec![
            SubjectRef::Group(org.group("Off").unwrap()),
            SubjectRef::Client(org.client("wfm-global").unwrap())
        ]
    );
    assert!(subjects_with(&org, "not-a-permission", Target::Any).is_empty());
}

#[test]
fn subjects_with_agrees_with_can_on_a_synthetic_org() {
    let org = Org::new(crate::model::synthetic_org(2000, 3));
    for perm in [
        "wfm:agent:edit",
        "routing:queue:view",
        "quality:evaluation:delete",
    ] {
        for target in [Target::Any, Target::All, Target::Division(1)] {
            let bulk = subjects_with(&org, perm, target);
            let mut slow = Vec::new();
            for u in 0..org.snapshot().users.len() {
                let s = SubjectRef::User(u32::try_from(u).unwrap());
                if can(&org, s, perm, target) {
                    slow.push(s);
                }
            }
            let bulk_users: Vec<_> = bulk
                .iter()
                .copied()
                .filter(|s| matches!(s, SubjectRef::User(_)))
                .collect();
            assert_eq!(bulk_users, slow, "{perm} {target:?}");
        }
    }
}

/// Which POSTs are read-only queries over many objects (answered once, like a listing): the
/// rule on the path is the whole decision, so its edges are listed here.
#[test]
fn queries_sent_with_post_are_told_from_writes_by_their_path() {
    let op = |method: &str, path: &str| crate::model::Operation {
        method: method.to_owned(),
        path: path.to_owned(),
        ..crate::model::Operation::default()
    };
    for path in [
        "/api/v2/users/search",
        "/api/v2/analytics/conversations/details/query",
        "/api/v2/analytics/conversations/details/jobs",
        "/api/v2/analytics/users/aggregates/jobs",
        "/api/v2/taskmanagement/workitems/query/jobs",
        "/api/v2/routing/queues/query/",
    ] {
        assert!(explain::is_query(&op("POST", path)), "{path}");
    }
    for (method, path) in [
        ("POST", "/api/v2/users"),
        ("POST", "/api/v2/workforcemanagement/agents"),
        (
            "POST",
            "/api/v2/speechandtextanalytics/programs/general/jobs",
        ),
        (
            "POST",
            "/api/v2/workforcemanagement/managementunits/{muId}/agents/query",
        ),
        ("GET", "/api/v2/users/search"),
        ("PUT", "/api/v2/routing/queues/query"),
    ] {
        assert!(!explain::is_query(&op(method, path)), "{method} {path}");
    }
}
