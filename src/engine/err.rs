//! Errors of rule files: load problems and run-time failures, each with a source location.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, SourceSpan};
use serde::Serialize;
use thiserror::Error;

use crate::text::{visible, window, Excerpt};

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
#[error("{}rule `{}` {kind} error: {}", rule_id.as_deref().map(|i| format!("{}: ", visible(i))).unwrap_or_default(), visible(file), visible(message))]
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
    src: Option<Excerpt>,
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
        let (snippet, located) = locate(file, text, line, column);
        let (src, span) = located.map_or((None, None), |(e, s)| (Some(e), Some(s)));
        Self {
            rule_id: None,
            kind,
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            snippet,
            help: None,
            src,
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

/// Most characters of a source line shown around an error's column: a minified or generated
/// rule can have a line of megabytes, and the reader needs only the place it points at.
const EXCERPT_CHARS: usize = 120;

/// The source line (an excerpt of at most [`EXCERPT_CHARS`] characters around the column, made
/// visible by the one sanitiser) and a caret under the column, plus the excerpt and the span
/// in it for miette.
fn locate(
    file: &str,
    text: &str,
    line: usize,
    column: usize,
) -> (String, Option<(Excerpt, SourceSpan)>) {
    if line == 0 {
        return (String::new(), None);
    }
    let Some(content) = text.split_inclusive('\n').nth(line - 1) else {
        return (String::new(), None);
    };
    let content = content.trim_end_matches(['\n', '\r']);
    let at = content
        .char_indices()
        .nth(column.max(1) - 1)
        .map_or(content.len(), |(b, _)| b);
    let (shown, byte_col) = window(content, at, EXCERPT_CHARS);
    let caret = format!("{}^", " ".repeat(shown[..byte_col].chars().count()));
    let len = shown[byte_col..].chars().next().map_or(0, char::len_utf8);
    let snippet = format!("{shown}\n{caret}");
    let excerpt = Excerpt::new(file, shown, line, column.max(1));
    (snippet, Some((excerpt, SourceSpan::from((byte_col, len)))))
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
        assert_eq!(e.span, Some(SourceSpan::from((8, 1))));
    }

    #[test]
    fn a_long_line_is_shown_as_a_bounded_excerpt_around_the_column() {
        let line = format!("{}oops{}", "a".repeat(100_000), "b".repeat(100_000));
        let text: Arc<str> = Arc::from(line.as_str());
        let e = RuleError::new(RuleErrorKind::Compile, "r.rhai", &text, 1, 100_001, "x");
        let (code, caret) = e.snippet.split_once('\n').unwrap();
        assert!(code.chars().count() <= EXCERPT_CHARS + 2, "{}", code.len());
        assert!(code.starts_with('…') && code.ends_with('…'));
        let at = caret.len() - 1;
        assert_eq!(code.chars().skip(at).take(4).collect::<String>(), "oops");
    }

    #[test]
    fn a_snippet_shows_control_characters_escaped_with_the_caret_under_the_column() {
        let text: Arc<str> = Arc::from("let a = \"\u{1b}[2J\r\";  oops\n");
        let e = RuleError::new(RuleErrorKind::Compile, "bad\nname.rhai", &text, 1, 19, "x");
        let shown = "let a = \"\\u{1b}[2J\\r\";  oops";
        assert_eq!(
            e.snippet,
            format!("{shown}\n{}^", " ".repeat(shown.find("oops").unwrap()))
        );
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
