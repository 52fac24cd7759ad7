//! Errors from reading a change (a Terraform plan or a rolecall change file) and from applying
//! it to an org. Every message names the file or the resource address it is about.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

// Addresses, keys and messages come from the plan or change file: shown through the one
// sanitiser, so a hostile address cannot forge or hide terminal output.
use crate::text::visible as v;

/// A change could not be read or applied.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum ChangeError {
    /// The file could not be read.
    #[error("cannot read change file `{}`: {source}", v(&path.display().to_string()))]
    #[diagnostic(code(rolecall::change::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than rolecall reads.
    #[error("change file `{}` is larger than {limit} bytes", v(&path.display().to_string()))]
    #[diagnostic(
        code(rolecall::change::too_large),
        help("split the change, or plan fewer resources at once")
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The file is not a plan or change file rolecall understands.
    #[error("`{}` is not a change rolecall can read: {}", v(&path.display().to_string()), v(message))]
    #[diagnostic(
        code(rolecall::change::format),
        help("give `terraform show -json tfplan` output, or a `rolecall.change/1` file (TOML or JSON; see the README)")
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A resource's field could not be read.
    #[error("resource `{}`: {}", v(address), v(message))]
    #[diagnostic(code(rolecall::change::resource))]
    Resource {
        /// The resource address (or change-file entry).
        address: String,
        /// What is wrong.
        message: String,
        /// How to put it right.
        #[help]
        help: Option<String>,
    },
    /// A value unknown until apply refers to something the plan does not create.
    #[error(
        "resource `{}`: `{}` is unknown until apply and {}",
        v(address),
        v(field),
        v(reason)
    )]
    #[diagnostic(
        code(rolecall::change::unresolved),
        help("rolecall resolves unknown ids through the plan's `configuration` references to objects the same plan creates (`genesyscloud_auth_role.NAME.id`, `genesyscloud_auth_division.NAME.id`)")
    )]
    Unresolved {
        /// The resource address.
        address: String,
        /// The field, e.g. `roles[0].role_id`.
        field: String,
        /// Why it cannot be resolved.
        reason: String,
    },
    /// Applying the change needs an object the org does not have.
    #[error("{}: {kind} `{}` is not in the org", v(address), v(key))]
    #[diagnostic(
        code(rolecall::change::unknown_object),
        help("check the id against the snapshot (or create the object in the same change); a snapshot older than the object would also say this: fetch a new one")
    )]
    UnknownObject {
        /// The resource address (or change-file entry).
        address: String,
        /// `role`, `division`, `user`, `group` or `client`.
        kind: &'static str,
        /// The id or name asked for.
        key: String,
    },
    /// A change contradicts the org or another change.
    #[error("{}: {}", v(address), v(message))]
    #[diagnostic(code(rolecall::change::conflict))]
    Conflict {
        /// The resource address (or change-file entry).
        address: String,
        /// What is wrong.
        message: String,
        /// How to put it right.
        #[help]
        help: Option<String>,
    },
}

pub(super) fn resource(address: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Resource {
        address: address.to_owned(),
        message: message.into(),
        help: None,
    }
}

pub(super) fn conflict(
    address: &str,
    message: impl Into<String>,
    help: Option<&str>,
) -> ChangeError {
    ChangeError::Conflict {
        address: address.to_owned(),
        message: message.into(),
        help: help.map(str::to_owned),
    }
}
