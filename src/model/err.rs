//! Errors from reading and writing snapshot files.

use std::path::PathBuf;

use miette::{Diagnostic, SourceSpan};
use thiserror::Error;

// Values quoted from the file (a `format`, an id, a field) go through the one sanitiser.
use crate::text::visible as v;

/// A snapshot could not be read or written. [`SnapshotError::kind`] tells which way.
#[derive(Debug)]
pub struct SnapshotError(Box<SnapshotErrorKind>);

impl SnapshotError {
    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &SnapshotErrorKind {
        &self.0
    }

    /// What went wrong, owned.
    #[must_use]
    pub fn into_kind(self) -> SnapshotErrorKind {
        *self.0
    }
}

impl From<SnapshotErrorKind> for SnapshotError {
    fn from(kind: SnapshotErrorKind) -> Self {
        Self(Box::new(kind))
    }
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

// Forwarded by hand: the kind is boxed to keep `Result<_, SnapshotError>` small, and miette's
// derive cannot see through a `Box`.
impl Diagnostic for SnapshotError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.code()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.help()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.url()
    }
}

/// The ways reading or writing a snapshot fails.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum SnapshotErrorKind {
    /// The file could not be opened or read (or is not a regular file, or is too large).
    #[error(transparent)]
    #[diagnostic(
        code(rolecall::snapshot::io),
        help("check the path, or run `rolecall fetch -o FILE` to create a snapshot")
    )]
    Read {
        /// What the bounded reader said.
        source: crate::io::ReadError,
    },
    /// The file is not valid JSON.
    #[error("snapshot is not valid JSON: {}", v(message))]
    #[diagnostic(
        code(rolecall::snapshot::syntax),
        help("the file may be truncated or edited by hand; fetch it again")
    )]
    Syntax {
        /// The document.
        #[source_code]
        src: crate::text::Excerpt,
        /// Where the parser stopped.
        #[label("here (line {line}, column {column})")]
        span: SourceSpan,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A field has the wrong type or a required field is missing.
    #[error("snapshot field `{}` is invalid: {}", v(field), v(message))]
    #[diagnostic(
        code(rolecall::snapshot::shape),
        help("compare the field with the `rolecall.snapshot/1` format in the README")
    )]
    Shape {
        /// The document.
        #[source_code]
        src: crate::text::Excerpt,
        /// Where the bad value is.
        #[label("this value")]
        span: SourceSpan,
        /// Path of the field, e.g. `users[3].state`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a newer rolecall.
    #[error(
        "snapshot format `{}` is newer than this rolecall supports (`{supported}`)",
        v(found)
    )]
    #[diagnostic(
        code(rolecall::snapshot::newer_format),
        help("upgrade rolecall, or fetch the snapshot again with this version")
    )]
    NewerFormat {
        /// The format found in the file.
        found: String,
        /// The format this build reads.
        supported: &'static str,
    },
    /// The `format` field is missing or is not a rolecall snapshot.
    #[error("not a rolecall snapshot: `format` is `{}`", v(found))]
    #[diagnostic(
        code(rolecall::snapshot::not_a_snapshot),
        help("a snapshot starts with `{{\"format\": \"rolecall.snapshot/1\", …`; create one with `rolecall fetch`")
    )]
    NotASnapshot {
        /// What the `format` field held.
        found: String,
    },
    /// The document parses but cannot be used as it is: a dataset of the wrong kind (a list
    /// where an object belongs), or two objects of one dataset with the same id.
    #[error("snapshot `{}` is invalid: {}", v(name), v(message))]
    #[diagnostic(
        code(rolecall::snapshot::invalid),
        help("the file was probably edited by hand; fix it or fetch it again")
    )]
    Invalid {
        /// The file (or the name the document was given).
        name: String,
        /// What is wrong, naming the field or the objects.
        message: String,
    },
    /// Writing the file failed; any existing file is unchanged.
    #[error("{source}; any existing file is unchanged")]
    #[diagnostic(code(rolecall::snapshot::write))]
    Write {
        /// What the safe writer said.
        source: crate::io::WriteError,
    },
    /// The snapshot could not be encoded as JSON.
    #[error("cannot encode snapshot `{}`: {}", v(&path.display().to_string()), v(message))]
    #[diagnostic(code(rolecall::snapshot::encode))]
    Encode {
        /// The target file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
}
