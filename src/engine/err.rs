//! Errors of rule files: load problems and run-time failures, each with a source location.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Serialize;
use thiserror::Error;

/// What went wrong with a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// The script does not parse (or uses a disabled feature such as `eval`).
    Compile,
    /// `const RULE` or a documentation section is missing or wrong.
    Metadata,
    /// Two rules share an id.
    DuplicateId,
    /// The script raised an error while running.
    Runtime,
    /// The script ran past its wall-clock budget or operation limit.
    Timeout,
    /// The script exceeded a size or depth limit.
    Limit,
    /// The script tried to import something outside its own directory.
    Import,
    /// The rule's configuration (`params`) is invalid.
    Config,
}

impl RuleErrorKind {
    /// Kebab-case name, as in JSON output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compile => "compile",
            Self::Metadata => "metadata",
            Self::DuplicateId => "duplicate-id",
            Self::Runtime => "runtime",
            Self::Timeout => "timeout",
            Self::Limit => "limit",
            Self::Import => "import",
            Self::Config => "config",
        }
    }
}

impl fmt::Display for RuleErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule that could not be loaded or did not finish. The other rules still run.
#[derive(Debug, Clone, Error, Diagnostic, Serialize)]
#[serde(rename_all = "camelCase")]
#[error("{}rule `{file}` {kind} error: {message}", rule_id.as_deref().map(|i| format!("{i}: ")).unwrap_or_default())]
#[diagnostic(code(rolecall::rule::error))]
pub struct RuleError {
    /// The rule's id, when its metadata could be read.
    pub rule_id: Option<String>,
    /// What kind of failure.
    pub kind: RuleErrorKind,
    /// The rule file (path or `builtin:…`).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What happened, one line.
    pub message: String,
    /// The offending source line with a caret under the column.
    pub snippet: String,
    /// What to do about it.
    #[help]
    pub help: Option<String>,
    #[serde(skip)]
    #[source_code]
    src: Option<NamedSource<Arc<str>>>,
    #[serde(skip)]
    #[label("here")]
    span: Option<SourceSpan>,
}

impl RuleError {
    pub(crate) fn new(
        kind: RuleErrorKind,
        file: &str,
        text: &Arc<str>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        let (snippet, span) = locate(text, line, column);
        Self {
            rule_id: None,
            kind,
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            snippet,
            help: None,
            src: span.map(|_| NamedSource::new(file, Arc::clone(text))),
            span,
        }
    }

    pub(crate) fn with_id(mut self, id: &str) -> Self {
        self.rule_id = Some(id.to_owned());
        self
    }

    pub(crate) fn boxed_with_id(mut self: Box<Self>, id: &str) -> Box<Self> {
        self.rule_id = Some(id.to_owned());
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, or just the file when the position is unknown.
    #[must_use]
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// The source line and a caret, plus a byte span for miette.
fn locate(text: &str, line: usize, column: usize) -> (String, Option<SourceSpan>) {
    if line == 0 {
        return (String::new(), None);
    }
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let content = l.trim_end_matches(['\n', '\r']);
            let col = column.max(1);
            let byte_col = content
                .char_indices()
                .nth(col - 1)
                .map_or(content.len(), |(b, _)| b);
            let caret = format!("{}^", " ".repeat(content[..byte_col].chars().count()));
            let len = usize::from(byte_col < content.len());
            return (
                format!("{content}\n{caret}"),
                Some(SourceSpan::from((offset + byte_col, len))),
            );
        }
        offset += l.len();
    }
    (String::new(), None)
}

/// Problems loading rule files: each file's errors, together.
#[derive(Debug, Error, Diagnostic)]
#[error("{} rule file(s) could not be loaded", errors.len())]
#[diagnostic(
    code(rolecall::rule::load),
    help("fix the rules shown; the other rules still run")
)]
pub struct RuleLoadErrors {
    /// Each problem.
    #[related]
    pub errors: Vec<RuleError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_points_at_the_column() {
        let text: Arc<str> = Arc::from("let a = 1;\nlet b = oops;\n");
        let e = RuleError::new(
            RuleErrorKind::Runtime,
            "r.rhai",
            &text,
            2,
            9,
            "unknown variable",
        );
        assert_eq!(e.snippet, "let b = oops;\n        ^");
        assert_eq!(e.location(), "r.rhai:2:9");
        assert_eq!(e.span, Some(SourceSpan::from((19, 1))));
    }
}
