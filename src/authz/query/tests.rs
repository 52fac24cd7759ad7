//! Tests of `who_can` and `access_of`: agreement with `can`, how holders hold, filters, notes.

use super::*;
use crate::authz::can;
use crate::model::{OrgBuilder, OrgSnapshot};

fn org() -> Org {
    Org::new(
        OrgBuilder::new("t")
            .division("Home")
            .division("Support EU")
            .role("WFM Integration", &["wfm:agent:edit", "wfm:agent:view"])
            .role("Wild", &["wfm:*:*"])
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
            .user("Ben", "ben@x.example", "inactive")
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

fn names(org: &Org, w: &WhoCan, bucket: &DivisionHolders) -> Vec<String> {
    bucket
        .holders
        .iter()
        .map(|&i| crate::authz::subject_phrase(org, w.holders[i as usize].subject))
        .collect()
}

#[test]
fn who_can_lists_holders_per_division_with_how_they_hold_it() {
    let org = org();
    let w = who_can(
        &org,
        &WhoCanQuery {
            permission: "wfm:agent:edit",
            ..WhoCanQuery::default()
        },
    )
    .unwrap();
    assert_eq!(w.awareness, Awareness::Aware);
    assert_eq!(w.divisions.len(), 2);
    assert_eq!(
        names(&org, &w, &w.divisions[0]),
        ["group `Off`", "client `wfm-global`", "client `wfm-sync`"],
        "Home: the roles-disabled group holds it itself, its member does not; the CODE client never"
    );
    assert_eq!(
        names(&org, &w, &w.divisions[1]),
        [
            "user `Ann`",
            "group `Off`",
            "group `Sup`",
            "client `wfm-global`"
        ],
        "Support EU: Ann through `Sup`'s wildcard role, `wfm-sync` not (granted in Home only)"
    );
    let ann = w
        .holders
        .iter()
        .find(|h| h.subject == SubjectRef::User(org.user("ann@x.example").unwrap()))
        .unwrap();
    assert_eq!(ann.grants.len(), 1);
    assert_eq!(
        ann.grants[0].via,
        Via::Group(org.group("Sup").unwrap()),
        "held through the group"
    );
    assert!(ann.only_through_groups(Target::Division(org.division("Support EU").unwrap()), true));
}

#[test]
fn who_can_filters_by_division_and_kind_and_names_what_it_leans_on() {
    let org = org();
    let eu = org.division("Support EU").unwrap();
    let w = who_can(
        &org,
        &WhoCanQuery {
            permission: "wfm:agent:edit",
            divisions: vec![eu],
            kinds: vec![SubjectKind::Client],
        },
    )
    .unwrap();
    assert_eq!(w.divisions.len(), 1);
    assert_eq!(names(&org, &w, &w.divisions[0]), ["client `wfm-global`"]);
    assert_eq!(w.holders.len(), 1, "a holder only in Home is not listed");

    let unknown = who_can(
        &org,
        &WhoCanQuery {
            permission: "wfm:agent:view",
            ..WhoCanQuery::default()
        },
    )
    .unwrap();
    assert_eq!(unknown.awareness, Awareness::Unknown);
    assert!(
        unknown.notes[0].contains("not in the snapshot's permission catalog"),
        "{:?}",
        unknown.notes
    );

    let flat = who_can(
        &org,
        &WhoCanQuery {
            permission: "directory:user:view",
            ..WhoCanQuery::default()
        },
    )
    .unwrap();
    assert_eq!(flat.divisions.len(), 1, "not division-aware: one bucket");
    assert_eq!(flat.divisions[0].division, None);
    assert_eq!(
        flat.holders[0].sign_in,
        Some("the user is inactive and cannot sign in")
    );
    assert!(flat.notes.iter().any(|n| n.contains("cannot sign in")));

    assert!(who_can(
        &org,
        &WhoCanQuery {
            permission: "admin",
            ..WhoCanQuery::default()
        }
    )
    .is_err());
}

#[test]
fn who_can_names_gaps_and_deny_policies() {
    let snap: OrgSnapshot = OrgBuilder::new("t")
        .division("Home")
        .role("R", &["analytics:conversationDetail:view"])
        .client("etl", "CLIENT-CREDENTIALS", &[("R", "Home")])
        .policy(
            "No exports",
            "analytics:conversationDetail:view",
            "DENY",
            "ALL",
            true,
        )
        .gap("GET /api/v2/groups", "groups")
        .build();
    let org = Org::new(snap);
    let w = who_can(
        &org,
        &WhoCanQuery {
            permission: "analytics:conversationDetail:view",
            ..WhoCanQuery::default()
        },
    )
    .unwrap();
    assert_eq!(w.holders.len(), 1);
    assert_eq!(w.holders[0].denied_by, [0]);
    assert!(
        w.notes
            .iter()
            .any(|n| n.contains("`groups` could not be read")),
        "{:?}",
        w.notes
    );
    assert!(w.notes.iter().any(|n| n.contains("DENY access policy")));
}

#[test]
fn who_can_agrees_with_can_on_a_synthetic_org() {
    let org = Org::new(crate::model::synthetic_org(2000, 5));
    for perm in [
        "wfm:agent:edit",
        "routing:queue:view",
        "directory:user:edit",
    ] {
        let w = who_can(
            &org,
            &WhoCanQuery {
                permission: perm,
                ..WhoCanQuery::default()
            },
        )
        .unwrap();
        for bucket in &w.divisions {
            let listed: Vec<SubjectRef> = bucket
                .holders
                .iter()
                .map(|&i| w.holders[i as usize].subject)
                .collect();
            let mut all: Vec<SubjectRef> = (0..org.snapshot().users.len())
                .map(|u| SubjectRef::User(u32::try_from(u).unwrap()))
                .chain(
                    (0..org.snapshot().groups.len())
                        .map(|g| SubjectRef::Group(u32::try_from(g).unwrap())),
                )
                .chain(
                    (0..org.snapshot().oauth_clients.len())
                        .map(|c| SubjectRef::Client(u32::try_from(c).unwrap())),
                )
                .filter(|&s| can(&org, s, perm, bucket.target()))
                .collect();
            let mut sorted = listed.clone();
            sorted.sort();
            all.sort();
            assert_eq!(sorted, all, "{perm} {:?}", bucket.division);
            assert!(!all.is_empty() || perm == "directory:user:edit");
        }
    }
}

#[test]
fn access_of_groups_grants_by_scope_and_filters_permissions() {
    let org = org();
    let ann = SubjectRef::User(org.user("ann@x.example").unwrap());
    let a = access_of(&org, ann, None).unwrap();
    assert_eq!(a.scopes.len(), 1);
    assert_eq!(
        a.scopes[0].0,
        Scope::Division(org.division("Support EU").unwrap())
    );
    assert_eq!(a.scopes[0].1[0].permissions, ["wfm:*:*"]);
    assert_eq!(
        a.scopes[0].1[0].grant.via,
        Via::Group(org.group("Sup").unwrap())
    );

    let global = SubjectRef::Client(org.client("wfm-global").unwrap());
    let edit = access_of(&org, global, Some("*:agent:edit")).unwrap();
    assert_eq!(edit.scopes[0].0, Scope::All);
    assert_eq!(edit.scopes[0].1[0].permissions, ["wfm:agent:edit"]);
    assert!(access_of(&org, global, Some("quality:*:*"))
        .unwrap()
        .scopes
        .is_empty());
    assert!(access_of(&org, global, Some("bad")).is_err());

    let portal = SubjectRef::Client(org.client("portal").unwrap());
    let p = access_of(&org, portal, None).unwrap();
    assert!(p.scopes.is_empty(), "a CODE client's roles do not apply");
    assert!(p.notes[0].contains("does not use client-credentials"));
}

#[test]
fn a_division_asked_twice_is_answered_once() {
    let org = org();
    let home = org.division("Home").unwrap();
    let w = who_can(
        &org,
        &WhoCanQuery {
            permission: "wfm:agent:edit",
            divisions: vec![home, home],
            ..WhoCanQuery::default()
        },
    )
    .unwrap();
    assert_eq!(w.divisions.len(), 1);
    assert_eq!(w.divisions[0].holders.len(), 3);
}
