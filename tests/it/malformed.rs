//! Malformed snapshots: every one ends in a clear error naming the field or object, or loads
//! with a gap or warning that says what is unknown. None loses findings silently.

use std::sync::Arc;

use rolecall::internals::engine::{CheckConfig, RuleEngine};
use rolecall::internals::model::{parse_snapshot, Org, SnapshotErrorKind, SAMPLE_JSON};
use serde_json::{json, Value};

fn sample() -> Value {
    serde_json::from_str(SAMPLE_JSON).unwrap()
}

/// What reading a variant must end in.
enum Expect {
    /// An error whose text holds this.
    Error(&'static str),
    /// Loads; this dataset is a gap (status `missing`).
    Gap(&'static str),
    /// Loads; a warning holds this.
    Warning(&'static str),
}

/// The sample with one change, and what it must give.
fn variants() -> Vec<(String, Value, Expect)> {
    let mut out = Vec::new();
    // Each dataset left out of the file.
    for field in rolecall::internals::model::DATASETS
        .into_iter()
        .filter(|d| *d != "managementUnitMembers")
    {
        let mut v = sample();
        v.as_object_mut().unwrap().remove(field);
        out.push((format!("no {field}"), v, Expect::Gap(field)));
    }
    // Each dataset of the wrong JSON kind.
    for (field, wrong) in [
        ("authSettings", json!([])),
        ("organization", json!([])),
        ("users", json!({})),
        ("grants", json!("none")),
        ("roles", json!(null)),
    ] {
        let mut v = sample();
        v[field] = wrong;
        // Named by the field, whether serde or the dataset check finds it first.
        out.push((
            format!("{field} of the wrong kind"),
            v,
            Expect::Error(field),
        ));
    }
    for list in ["users", "roles", "divisions", "groups", "oauthClients"] {
        let mut v = sample();
        let first = v[list][0].clone();
        v[list].as_array_mut().unwrap().push(first);
        out.push((
            format!("duplicate id in {list}"),
            v,
            Expect::Error("have the id"),
        ));
    }
    for list in ["roles", "divisions", "groups", "oauthClients"] {
        let mut v = sample();
        let mut twin = v[list][0].clone();
        twin["id"] = json!("twin-id");
        v[list].as_array_mut().unwrap().push(twin);
        out.push((
            format!("duplicate name in {list}"),
            v,
            Expect::Warning("are named"),
        ));
    }
    let mut v = sample();
    v["managementUnits"][0]
        .as_object_mut()
        .unwrap()
        .remove("division");
    out.push((
        "unit without division".into(),
        v,
        Expect::Warning("has no division"),
    ));
    let mut v = sample();
    v["accessPolicies"][0]
        .as_object_mut()
        .unwrap()
        .remove("subject");
    out.push((
        "policy without subject".into(),
        v,
        Expect::Warning("has no subject"),
    ));
    let mut v = sample();
    v["oauthClients"][0]
        .as_object_mut()
        .unwrap()
        .remove("authorizedGrantType");
    out.push((
        "client without grant type".into(),
        v,
        Expect::Warning("has no `authorizedGrantType`"),
    ));
    let mut v = sample();
    v["fetchedAt"] = json!("not a date");
    out.push((
        "fetchedAt not a date".into(),
        v,
        Expect::Warning("not an RFC 3339 time"),
    ));
    let mut v = sample();
    v["users"][0]["state"] = json!(7);
    out.push((
        "a field of the wrong type".into(),
        v,
        Expect::Error("users[0].state"),
    ));
    out
}

#[test]
fn every_malformed_snapshot_gives_a_clear_error_or_warning() {
    let engine = RuleEngine::with_builtin();
    let clean = engine
        .check(
            &Arc::new(Org::new(rolecall::internals::model::sample().unwrap())),
            &CheckConfig::default(),
        )
        .findings()
        .count();
    let all = variants();
    let mut handled = 0;
    for (what, value, expect) in &all {
        let bytes = serde_json::to_vec(value).unwrap();
        let result = parse_snapshot(&bytes, "bad.json");
        match (expect, result) {
            (Expect::Error(text), Err(e)) => {
                let shown = format!("{e}");
                assert!(shown.contains(text), "{what}: `{shown}` lacks `{text}`");
                assert!(
                    shown.contains("bad.json")
                        || matches!(e.kind(), SnapshotErrorKind::Shape { .. }),
                    "{what}: `{shown}` names no file"
                );
            }
            (Expect::Gap(dataset), Ok(snap)) => {
                assert!(
                    snap.coverage
                        .iter()
                        .any(|c| c.dataset == *dataset && c.status == "missing"),
                    "{what}: no gap for {dataset}"
                );
                // Nothing is lost silently: each finding of the clean org is still there, or
                // its rule says it could not decide.
                let report = engine.check(&Arc::new(Org::new(snap)), &CheckConfig::default());
                let unknown = report.findings().filter(|f| f.is_unknown()).count();
                assert!(
                    unknown > 0 || report.findings().count() >= clean,
                    "{what}: {} findings, {unknown} unknown, against {clean}",
                    report.findings().count()
                );
            }
            (Expect::Warning(text), Ok(snap)) => {
                let org = Org::new(snap);
                assert!(
                    org.warnings().iter().any(|w| w.contains(text)),
                    "{what}: no warning with `{text}` in {:?}",
                    org.warnings()
                );
            }
            (_, Err(e)) => panic!("{what}: unexpected error {e}"),
            (_, Ok(_)) => panic!("{what}: loaded without the expected error"),
        }
        handled += 1;
    }
    println!(
        "{handled} of {} malformed snapshots gave a clear error or warning",
        all.len()
    );
    assert_eq!(handled, all.len());
}

#[test]
fn without_auth_settings_the_settings_rules_are_unknown_not_firing() {
    let mut v = sample();
    v.as_object_mut().unwrap().remove("authSettings");
    let snap = parse_snapshot(&serde_json::to_vec(&v).unwrap(), "no-auth.json").unwrap();
    let report =
        RuleEngine::with_builtin().check(&Arc::new(Org::new(snap)), &CheckConfig::default());
    for id in ["MFA001", "NET001"] {
        let f: Vec<_> = report.findings().filter(|f| f.rule_id == id).collect();
        assert!(
            !f.is_empty() && f.iter().all(|f| f.is_unknown()),
            "{id}: {f:?}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_not_an_error() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(SAMPLE_JSON.as_bytes());
    let snap = parse_snapshot(&bytes, "bom.json").unwrap();
    assert_eq!(snap.organization.name, "Acme Contact Center (prod)");
}

#[test]
fn a_management_unit_without_division_keeps_wfm001_as_unknown() {
    let mut v = sample();
    for mu in v["managementUnits"].as_array_mut().unwrap() {
        mu.as_object_mut().unwrap().remove("division");
    }
    for bu in v["businessUnits"].as_array_mut().unwrap() {
        bu.as_object_mut().unwrap().remove("division");
    }
    let snap = parse_snapshot(&serde_json::to_vec(&v).unwrap(), "x.json").unwrap();
    let report =
        RuleEngine::with_builtin().check(&Arc::new(Org::new(snap)), &CheckConfig::default());
    let wfm: Vec<_> = report
        .findings()
        .filter(|f| f.rule_id == "WFM001")
        .collect();
    assert!(
        !wfm.is_empty() && wfm.iter().all(|f| f.is_unknown()),
        "{wfm:?}"
    );
}

#[test]
fn diff_matches_the_first_of_two_subjects_with_one_name() {
    let base = rolecall::internals::model::sample().unwrap();
    let mut v = sample();
    let mut twin = v["oauthClients"][0].clone();
    twin["id"] = json!("twin-id");
    twin["roleDivisions"] = json!([]);
    v["oauthClients"].as_array_mut().unwrap().push(twin);
    let other = parse_snapshot(&serde_json::to_vec(&v).unwrap(), "twin.json").unwrap();
    let (base, other) = (Org::new(base), Org::new(other));
    assert!(other.warnings().iter().any(|w| w.contains("are named")));
    let d = rolecall::internals::authz::diff(
        &base,
        &other,
        &rolecall::internals::authz::DiffOptions::default(),
    );
    // The twin holds nothing; matched by mistake, it would show the client losing its access.
    assert!(d.subjects.is_empty(), "{:?}", d.subjects);
}
