//! Checking a snapshot beyond its JSON types: datasets present or recorded as gaps, top-level
//! shapes, unique ids, and the fields rules rely on.
//!
//! A snapshot written by `rolecall fetch` has every dataset, or a coverage entry saying why not.
//! A hand-edited or foreign file may lack one; read as empty, a missing `authSettings` would
//! make MFA001 fire falsely and a missing `grants` would hide findings. So a dataset absent from
//! the file becomes a coverage gap (status `missing`), and the rules that need it report unknown.
//! Problems that make the file ambiguous (two objects with one id, a list where an object
//! belongs) are errors; problems with one object are warnings naming it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::err::{SnapshotError, SnapshotErrorKind};
use super::snapshot::{Coverage, OrgSnapshot, DATASETS};

/// What kind of JSON value a top-level field holds (its content is skipped, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Object,
    Array,
    Other,
}

impl<'de> Deserialize<'de> for JsonKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl<'de> Visitor<'de> for KindVisitor {
            type Value = JsonKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<JsonKind, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonKind::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<JsonKind, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonKind::Array)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<JsonKind, E> {
                Ok(JsonKind::Other)
            }
        }
        d.deserialize_any(KindVisitor)
    }
}

/// The one dataset that has no top-level field of its own: it lives inside `managementUnits`.
const NESTED: &str = "managementUnitMembers";

/// Whether a dataset's top-level field is an object (the others are lists).
fn is_object(field: &str) -> bool {
    matches!(field, "organization" | "authSettings" | "usage")
}

/// Why a dataset absent from the file is unknown, in words.
fn missing_message(field: &str) -> String {
    if field == "usage" {
        "API usage was not read (`rolecall fetch --usage DAYS` reads it), so which operations \
         subjects call is unknown, not none"
            .to_owned()
    } else {
        format!("the file has no `{field}` field, so this data is unknown, not empty")
    }
}

/// Check the top-level fields of a parsed document: each dataset is of the right JSON kind, and
/// each absent one is recorded in `snap.coverage` as a gap (unless coverage already says why).
pub(crate) fn datasets(
    bytes: &[u8],
    name: &str,
    snap: &mut OrgSnapshot,
) -> Result<(), SnapshotError> {
    // The document already parsed, so this second, content-skipping pass cannot fail on syntax.
    let fields: BTreeMap<String, JsonKind> = serde_json::from_slice(bytes).unwrap_or_default();
    for field in DATASETS.into_iter().filter(|d| *d != NESTED) {
        match fields.get(field) {
            Some(kind) => {
                let want = if is_object(field) {
                    JsonKind::Object
                } else {
                    JsonKind::Array
                };
                if *kind != want {
                    return Err(SnapshotErrorKind::Invalid {
                        name: name.to_owned(),
                        message: format!(
                            "`{field}` must be {}, not {}",
                            describe(want),
                            describe(*kind)
                        ),
                    }
                    .into());
                }
            }
            None => {
                let mut missing = vec![field];
                if field == "managementUnits" {
                    missing.push(NESTED);
                }
                for dataset in missing {
                    // An `ok` entry from the fetch does not count: the data is not in the file.
                    if !snap
                        .coverage
                        .iter()
                        .any(|c| c.dataset == dataset && c.status != "ok")
                    {
                        snap.coverage.push(Coverage {
                            endpoint: "(the snapshot file)".to_owned(),
                            dataset: dataset.to_owned(),
                            status: "missing".to_owned(),
                            message: Some(missing_message(field)),
                            ..Coverage::default()
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

fn describe(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::Object => "an object",
        JsonKind::Array => "a list",
        JsonKind::Other => "a plain value",
    }
}

/// Usage rows name their day, caller and template by index: one past its table is an error
/// naming the row.
pub(crate) fn usage_rows(snap: &OrgSnapshot, name: &str) -> Result<(), SnapshotError> {
    match snap.usage.as_deref().map(super::usage::Usage::check) {
        Some(Err(message)) => Err(SnapshotErrorKind::Invalid {
            name: name.to_owned(),
            message,
        }
        .into()),
        _ => Ok(()),
    }
}

/// Two objects of one dataset with the same id make every reference to it ambiguous: an error
/// naming both.
pub(crate) fn unique_ids(snap: &OrgSnapshot, name: &str) -> Result<(), SnapshotError> {
    fn check<'a>(
        dataset: &str,
        items: impl Iterator<Item = (&'a str, &'a str)>,
        file: &str,
    ) -> Result<(), SnapshotError> {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (id, label) in items {
            if let Some(first) = seen.insert(id, label) {
                return Err(SnapshotErrorKind::Invalid {
                    name: file.to_owned(),
                    message: format!(
                        "two objects in `{dataset}` have the id `{id}` (`{first}` and `{label}`)"
                    ),
                }
                .into());
            }
        }
        Ok(())
    }
    check(
        "divisions",
        snap.divisions
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "roles",
        snap.roles.iter().map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "users",
        snap.users.iter().map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "groups",
        snap.groups.iter().map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "oauthClients",
        snap.oauth_clients
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "accessPolicies",
        snap.access_policies
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "businessUnits",
        snap.business_units
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )?;
    check(
        "managementUnits",
        snap.management_units
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_str())),
        name,
    )
}

/// Warnings about single objects and fields that rules rely on, each naming the object: what
/// [`crate::model::Org::warnings`] lists besides dangling references.
pub(crate) fn object_warnings(snap: &OrgSnapshot) -> Vec<String> {
    // Datasets the file lacks are coverage gaps, listed with the others; not repeated here.
    let mut out = Vec::new();
    if let Some(at) = &snap.fetched_at {
        if humantime::parse_rfc3339_weak(at).is_err() {
            out.push(format!(
                "`fetchedAt` is `{at}`, not an RFC 3339 time: the snapshot's age is unknown"
            ));
        }
    }
    for mu in snap
        .management_units
        .iter()
        .filter(|m| m.division.is_none())
    {
        out.push(format!(
            "management unit `{}` has no division: who can reach it is unknown",
            mu.name
        ));
    }
    for p in snap
        .access_policies
        .iter()
        .filter(|p| p.subject.kind.is_empty())
    {
        out.push(format!(
            "access policy `{}` has no subject: whom it applies to is unknown",
            p.name
        ));
    }
    for c in snap
        .oauth_clients
        .iter()
        .filter(|c| c.authorized_grant_type.is_empty())
    {
        out.push(format!(
            "OAuth client `{}` has no `authorizedGrantType`: how it signs in is unknown",
            c.name
        ));
    }
    duplicate_names(
        &mut out,
        "roles",
        snap.roles.iter().map(|x| (&x.name, &x.id)),
    );
    duplicate_names(
        &mut out,
        "divisions",
        snap.divisions.iter().map(|x| (&x.name, &x.id)),
    );
    duplicate_names(
        &mut out,
        "groups",
        snap.groups.iter().map(|x| (&x.name, &x.id)),
    );
    duplicate_names(
        &mut out,
        "OAuth clients",
        snap.oauth_clients.iter().map(|x| (&x.name, &x.id)),
    );
    out
}

/// Names are how `--as`, `--target` and `diff` find objects: two with one name are a warning
/// saying which one is used.
fn duplicate_names<'a>(
    out: &mut Vec<String>,
    what: &str,
    items: impl Iterator<Item = (&'a String, &'a String)>,
) {
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (name, id) in items {
        if let Some(used) = first.get(name.as_str()) {
            out.push(format!(
                "two {what} are named `{name}` (ids `{used}` and `{id}`): lookups and `diff` by name use `{used}`"
            ));
        } else {
            first.insert(name, id);
        }
    }
}
