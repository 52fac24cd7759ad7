//! Errors from reading a change (a Terraform plan or a rolecall change file) and from applying
//! it to an org. Every message names the file or the resource address it is about (and the
//! field, or the line of a change-file entry).

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
    /// The file could not be read (the one bounded reader's error: missing, not a regular
    /// file, larger than a plan or change file may be, not text).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] crate::io::ReadError),
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
    #[error("resource `{}`{}: {}", v(address), at(*line), v(message))]
    #[diagnostic(code(rolecall::change::resource))]
    Resource {
        /// The resource address (or change-file entry).
        address: String,
        /// The change-file line.
        line: Option<usize>,
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
    #[error("{}{}: {kind} `{}` is not in the org", v(address), at(*line), v(key))]
    #[diagnostic(
        code(rolecall::change::unknown_object),
        help("check the id against the snapshot (or create the object in the same change); a snapshot older than the object would also say this: fetch a new one")
    )]
    UnknownObject {
        /// The resource address (or change-file entry).
        address: String,
        /// The change-file line.
        line: Option<usize>,
        /// `role`, `division`, `user`, `group` or `client`.
        kind: &'static str,
        /// The id or name asked for.
        key: String,
    },
    /// A change contradicts the org or another change.
    #[error("{}{}: {}", v(address), at(*line), v(message))]
    #[diagnostic(code(rolecall::change::conflict))]
    Conflict {
        /// The resource address (or change-file entry).
        address: String,
        /// The change-file line.
        line: Option<usize>,
        /// What is wrong.
        message: String,
        /// How to put it right.
        #[help]
        help: Option<String>,
    },
}

/// ` (line N)` after the address of a change-file entry; nothing for a plan.
fn at(line: Option<usize>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

impl ChangeError {
    /// The error, naming the change-file line of the entry it is about.
    #[must_use]
    pub fn at_line(mut self, at: Option<usize>) -> Self {
        if let Self::Resource { line, .. }
        | Self::UnknownObject { line, .. }
        | Self::Conflict { line, .. } = &mut self
        {
            if line.is_none() {
                *line = at;
            }
        }
        self
    }
}

pub(super) fn resource(address: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Resource {
        address: address.to_owned(),
        line: None,
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
        line: None,
        message: message.into(),
        help: help.map(str::to_owned),
    }
}
