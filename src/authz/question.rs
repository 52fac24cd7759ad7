//! The question `explain` answers: resolving `client:NAME`-style subjects and
//! `management-unit:NAME`-style targets, and finding the target from ids in a request path.

use crate::model::{NameKind, Resolved};
use crate::model::{Org, SubjectRef};

/// The object a call acts on, which decides the division that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetObject {
    /// A division itself.
    Division(u32),
    /// A WFM management unit.
    ManagementUnit(u32),
    /// A WFM business unit.
    BusinessUnit(u32),
}

/// Errors in the question itself (unknown subject, operation or target).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{}", crate::text::visible(message))]
#[diagnostic(code(rolecall::question))]
pub struct ExplainInputError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    #[help]
    pub help: String,
    /// Set when the object named is not wrong but unreadable: it would be in a dataset the
    /// snapshot could not read (says which, and the permission that would read it). A question
    /// about it is then answered as unknown, not refused.
    pub unread: Option<String>,
}

pub(super) fn input_err(message: String, help: &str) -> ExplainInputError {
    ExplainInputError {
        message,
        help: help.to_owned(),
        unread: None,
    }
}

/// Resolve `client:NAME|ID`, `user:EMAIL|ID` or `group:NAME|ID`.
///
/// # Errors
/// When the kind is unknown or no such subject is in the snapshot.
pub fn resolve_subject(org: &Org, spec: &str) -> Result<SubjectRef, ExplainInputError> {
    let (kind, key) = spec.split_once(':').ok_or_else(|| {
        input_err(
            format!("subject `{spec}` has no kind"),
            "write `client:NAME`, `user:EMAIL` or `group:NAME`",
        )
    })?;
    let (name_kind, make): (NameKind, fn(u32) -> SubjectRef) = match kind {
        "client" => (NameKind::Client, SubjectRef::Client),
        "user" => (NameKind::User, SubjectRef::User),
        "group" => (NameKind::Group, SubjectRef::Group),
        _ => {
            return Err(input_err(
                format!("unknown subject kind `{kind}`"),
                "use `client:`, `user:` or `group:`",
            ))
        }
    };
    resolved(org, name_kind, kind, key).map(make)
}

/// The one name resolver's answer as a question's: the object, or an error that lists the
/// candidates of an ambiguous name or the nearest names to one that matches nothing.
fn resolved(
    org: &Org,
    name_kind: NameKind,
    kind: &str,
    key: &str,
) -> Result<u32, ExplainInputError> {
    match org.resolve(name_kind, key) {
        Resolved::One(i) => Ok(i),
        Resolved::Ambiguous(list) => Err(input_err(
            format!(
                "{kind} `{key}` names {} objects: {}",
                list.len(),
                list.join(", ")
            ),
            "give the id (or, for a user, the email) of the one you mean",
        )),
        Resolved::None(near) if near.is_empty() => Err(input_err(
            format!("no {kind} `{key}` in the snapshot"),
            "check the name or id",
        )),
        Resolved::None(near) => Err(input_err(
            format!("no {kind} `{key}` in the snapshot"),
            &format!(
                "did you mean {}?",
                near.iter()
                    .map(|n| format!("`{kind}:{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Resolve `division:NAME`, `management-unit:NAME` or `business-unit:NAME` (names or ids).
///
/// # Errors
/// When the kind is unknown or no such object is in the snapshot.
pub fn resolve_target(org: &Org, spec: &str) -> Result<TargetObject, ExplainInputError> {
    let (kind, key) = spec.split_once(':').ok_or_else(|| {
        input_err(
            format!("target `{spec}` has no kind"),
            "write `division:NAME`, `management-unit:NAME` or `business-unit:NAME`",
        )
    })?;
    let (name_kind, make): (NameKind, fn(u32) -> TargetObject) = match kind {
        "division" => (NameKind::Division, TargetObject::Division),
        "management-unit" | "mu" => (NameKind::ManagementUnit, TargetObject::ManagementUnit),
        "business-unit" | "bu" => (NameKind::BusinessUnit, TargetObject::BusinessUnit),
        _ => {
            return Err(input_err(
                format!("unknown target kind `{kind}`"),
                "use `division:`, `management-unit:` or `business-unit:`",
            ))
        }
    };
    let err = match resolved(org, name_kind, kind, key) {
        Ok(i) => return Ok(make(i)),
        Err(e) => e,
    };
    // A unit the snapshot could not read is unknown, not misspelt.
    let dataset = match kind {
        "management-unit" | "mu" => "managementUnits",
        "business-unit" | "bu" => "businessUnits",
        _ => "divisions",
    };
    Err(
        match super::gaps(org, &[dataset]).next().map(super::unread) {
            Some(g) if matches!(org.resolve(name_kind, key), Resolved::None(_)) => {
                ExplainInputError {
                    message: format!("{kind} `{key}` cannot be looked up: {g}"),
                    help: "fetch again with a client that can read it, or ask without `--target`"
                        .to_owned(),
                    unread: Some(format!(
                "{kind} `{key}` is not in the snapshot, and {g}, so where it lives is not known"
            )),
                }
            }
            _ => err,
        },
    )
}

pub(super) fn infer_target(org: &Org, params: &[(String, String)]) -> Option<TargetObject> {
    params.iter().find_map(|(name, value)| {
        if name.ends_with("managementUnitId") {
            org.management_unit(value).map(TargetObject::ManagementUnit)
        } else if name.ends_with("businessUnitId") {
            org.business_unit(value).map(TargetObject::BusinessUnit)
        } else if name == "divisionId" {
            org.division(value).map(TargetObject::Division)
        } else if name == "userId" {
            // Users are division objects too: their own division is the one checked.
            org.user(value)
                .and_then(|u| org.user_division(u))
                .map(TargetObject::Division)
        } else {
            None
        }
    })
}
