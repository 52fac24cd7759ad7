//! The one output sanitiser: text from org data, rules and file names made safe to show.
//!
//! Anyone in a Genesys org can name a user, a group or a division; anyone who can open a pull
//! request can write a rule's message or name a file. Printed raw, an escape sequence in such
//! text can retitle the window, clear the screen or recolour it, a carriage return or newline can
//! print a line that looks like rolecall's own (a fake summary, a fake error), and a bidi
//! override can make a line read differently from what it holds. Every human and Markdown
//! renderer therefore passes each piece of such text through [`visible`] (or
//! [`visible_lines`] for text that is meant to span lines, such as rule documentation), which
//! makes these characters visible as Rust-style escapes (`\u{1b}`, `\n`) instead of acting on
//! the terminal. Machine formats (JSON, SARIF, JUnit) keep the text as it is: their encoders
//! escape it and their readers want the real value.
//!
//! [`for_terminal`] is the last line of defence at the process's output: it passes newlines and
//! the kinds of colour sequence rolecall and its diagnostics write (never conceal, reverse or
//! background colours), and escapes every other control character.
//!
//! ```
//! use rolecall::internals::text::visible;
//!
//! let name = "Support\u{1b}[2J\r\n0 findings";
//! assert_eq!(visible(name), r"Support\u{1b}[2J\r\n0 findings");
//! assert_eq!(visible("Support EU"), "Support EU");
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must not reach a terminal raw: every control character (C0, DEL, C1),
/// bidi embeddings, overrides, isolates and marks, zero-width characters, line and paragraph
/// separators, and the byte order mark.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// One line of text, safe to show: every unsafe character, newlines included, becomes a visible
/// escape (`\n`, `\r`, `\t`, or `\u{…}`). Borrowed when nothing needed escaping.
///
/// The output holds no unsafe character, so applying it twice changes nothing more.
#[must_use]
pub fn visible(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Text of several lines, safe to show: as [`visible`], but newlines stay newlines (a carriage
/// return before one is shown, so a line cannot be overwritten).
#[must_use]
pub fn visible_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    let Some(first) = s.find(unsafe_here) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if unsafe_here(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// The whole output of a command, as it goes to a terminal or a log: newlines, tabs and the
/// SGR colour sequences rolecall writes (`ESC [ digits ; … m`) pass; every other unsafe
/// character is escaped as [`visible`] does. This catches what a renderer missed; it cannot
/// stop a newline inside a name from starting a line, which is why renderers use [`visible`].
#[must_use]
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(|c: char| is_unsafe(c) && c != '\n' && c != '\t') else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            if let Some(len) = sgr_len(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if is_unsafe(c) && c != '\n' && c != '\t' {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// A JSON document (as `serde_json` writes it), safe to show: every unsafe character, which can
/// only sit inside a string there, becomes a `\uXXXX` escape. The document's values are unchanged;
/// only their spelling is.
#[must_use]
pub fn json_safe(doc: &str) -> Cow<'_, str> {
    let Some(first) = doc.find(is_unsafe_raw_in_json) else {
        return Cow::Borrowed(doc);
    };
    let mut out = String::with_capacity(doc.len() + 16);
    out.push_str(&doc[..first]);
    for c in doc[first..].chars() {
        if is_unsafe_raw_in_json(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Unsafe characters other than the whitespace JSON uses between tokens (serde_json escapes
/// every control character inside strings itself).
fn is_unsafe_raw_in_json(c: char) -> bool {
    is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r' | ' ')
}

/// The length of a colour sequence `ESC [ (digit | ;)* m` at the start of `s`, if it is one
/// of the kinds rolecall and its diagnostics write: reset, bold, dim, italic, underline and
/// foreground colours. Conceal, blink, reverse and background colours are not (with them a
/// name could hide the text after it, or paint it black on black).
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\u{1b}[")?;
    // Bounded: a colour sequence is short; anything longer is not one of ours.
    let params = body
        .bytes()
        .take(24)
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    if body.as_bytes().get(params) != Some(&b'm') || !sgr_allowed(&body[..params]) {
        return None;
    }
    Some(2 + params + 1)
}

fn sgr_allowed(params: &str) -> bool {
    let codes: Vec<Option<u8>> = params.split(';').map(|p| p.parse().ok()).collect();
    let mut i = 0;
    while i < codes.len() {
        match codes[i] {
            None if params.is_empty() => {}
            Some(0..=4 | 22..=24 | 39 | 31..=37 | 90..=97) => {}
            // 256-colour and true-colour foregrounds: `38;5;N`, `38;2;R;G;B`.
            Some(38) => match codes.get(i + 1) {
                Some(Some(5)) if codes.get(i + 2).is_some_and(Option::is_some) => i += 2,
                Some(Some(2))
                    if codes.len() > i + 4 && codes[i + 2..=i + 4].iter().all(Option::is_some) =>
                {
                    i += 4
                }
                _ => return false,
            },
            _ => return false,
        }
        i += 1;
    }
    true
}

/// `text` after one of the passes above ([`for_terminal`], [`json_safe`]), keeping its buffer
/// when the pass changed nothing: whole reports go through them, and can be tens of MiB.
#[must_use]
pub fn passed(text: String, pass: for<'a> fn(&'a str) -> Cow<'a, str>) -> String {
    let changed = match pass(&text) {
        Cow::Borrowed(_) => None,
        Cow::Owned(safe) => Some(safe),
    };
    changed.unwrap_or(text)
}

/// At most `max_chars` characters of `line` around byte offset `at`, made visible, with `…`
/// where the line goes on; and where `at` is in the result. Diagnostics quote a file's line
/// through this: a line can be megabytes long (minified JSON, a generated rule) and can hold
/// anything.
///
/// A line that looks like an environment assignment (`NAME=value`, see
/// [`looks_like_environment`]) is never quoted: a file given as config or rules may be a link
/// to a `.env` file, and its values are secrets more often than not.
#[must_use]
pub fn window(line: &str, at: usize, max_chars: usize) -> (String, usize) {
    if looks_like_environment(line) {
        return (HIDDEN_LINE.to_owned(), 0);
    }
    let mut at = at.min(line.len());
    while !line.is_char_boundary(at) {
        at -= 1;
    }
    let before = line[..at].chars().count();
    let total = before + line[at..].chars().count();
    let first = before
        .saturating_sub(max_chars / 2)
        .min(total.saturating_sub(max_chars));
    let from = line
        .char_indices()
        .nth(first)
        .map_or(line.len(), |(b, _)| b);
    let to = line[from..]
        .char_indices()
        .nth(max_chars)
        .map_or(line.len(), |(b, _)| from + b)
        .max(at);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&visible(&line[from..at]));
    let pos = out.len();
    out.push_str(&visible(&line[at..to]));
    if to < line.len() {
        out.push('…');
    }
    (out, pos)
}

/// `text` cut to at most `max_bytes` bytes at a character boundary, saying how much was cut.
/// Borrowed when it fits. Text from a rule or a server is read by a person: a megabyte of it is
/// a bug or an attack, never information.
#[must_use]
pub fn clip(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… [{} more bytes cut]",
        &text[..end],
        text.len() - end
    ))
}

/// What stands for a line that is not quoted.
pub const HIDDEN_LINE: &str = "(line not shown: it looks like an environment variable assignment)";

/// Whether a line of text looks like an environment assignment (`NAME=value` or
/// `export NAME=value`, the name in capitals, digits and `_`).
#[must_use]
pub fn looks_like_environment(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    let Some((name, _)) = line.split_once('=') else {
        return false;
    };
    let name = name.trim_end();
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The line of `text` holding byte `offset`, windowed as [`window`] does to at most
/// `max_chars` characters; the offset's place in the window, and the line and column (1-based)
/// of the offset in `text`.
#[must_use]
pub fn line_window(text: &str, offset: usize, max_chars: usize) -> (String, usize, usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[start..offset].chars().count() + 1;
    let (shown, at) = window(&text[start..end], offset - start, max_chars);
    (shown, at, line, column)
}

/// A bounded excerpt of one line of a file that failed to parse, already made visible, for
/// miette's diagnostics: it keeps the line's number (so the diagnostic points at the right line)
/// and holds nothing unsafe to print. Rule errors and snapshot errors show their source
/// through it.
#[derive(Debug, Clone)]
pub struct Excerpt {
    name: String,
    text: String,
    line: usize,
    column: usize,
}

impl Excerpt {
    /// The excerpt `text` (already bounded and made visible) of line `line` of the file `name`,
    /// whose diagnostic points at `column` (both 1-based, as the diagnostic's header shows them).
    #[must_use]
    pub fn new(name: &str, text: String, line: usize, column: usize) -> Self {
        Self {
            name: visible(name).into_owned(),
            text,
            line,
            column,
        }
    }

    /// The excerpt's text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        _span: &miette::SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            self.text.as_bytes(),
            miette::SourceSpan::from((0, self.text.len())),
            self.line.saturating_sub(1),
            self.column.saturating_sub(1),
            1,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_become_visible() {
        assert_eq!(visible("a\u{1b}]0;t\u{7}b"), r"a\u{1b}]0;t\u{7}b");
        assert_eq!(visible("x\r\ny\tz"), r"x\r\ny\tz");
        assert_eq!(visible("abc\u{202e}cba\u{2066}"), r"abc\u{202e}cba\u{2066}");
        assert_eq!(visible("\u{9b}31m\u{0}\u{7f}"), r"\u{9b}31m\u{0}\u{7f}");
        assert_eq!(visible("\u{feff}id"), r"\u{feff}id");
    }

    #[test]
    fn safe_text_is_borrowed_and_untouched() {
        for s in [
            "Support EU",
            "agent@x.example",
            "Ünïcødé · → ✓",
            "C:\\path",
            "",
        ] {
            assert!(matches!(visible(s), Cow::Borrowed(t) if t == s), "{s}");
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = visible("a\u{1b}[2J\nb\u{202e}").into_owned();
        assert_eq!(visible(&once), once);
        assert!(!once.chars().any(is_unsafe));
    }

    #[test]
    fn lines_keep_newlines_but_not_carriage_returns() {
        assert_eq!(
            visible_lines("one\r\ntwo\n\u{1b}[2J"),
            "one\\r\ntwo\n\\u{1b}[2J"
        );
    }

    #[test]
    fn json_keeps_its_values_and_loses_its_raw_bidi_characters() {
        let v = serde_json::json!({"name": "a\u{202e}b\u{9b}c\u{1b}"});
        let doc = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_safe(&doc);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn the_terminal_pass_keeps_colour_and_newlines_only() {
        let ours = "\u{1b}[1;31merror\u{1b}[0m: x\n\tnext";
        assert_eq!(for_terminal(ours), ours);
        assert_eq!(
            for_terminal("t\u{1b}]0;title\u{7}\u{1b}[2J\r\u{202e}"),
            "t\\u{1b}]0;title\\u{7}\\u{1b}[2J\\r\\u{202e}"
        );
        // Conceal, background colours and reverse video are not ours: a name could hide text.
        assert_eq!(for_terminal("\u{1b}[8mx"), "\\u{1b}[8mx");
        assert_eq!(for_terminal("\u{1b}[30;40mx"), "\\u{1b}[30;40mx");
        assert_eq!(for_terminal("\u{1b}[7mx"), "\\u{1b}[7mx");
        let rgb = "\u{1b}[38;2;255;30;30mx\u{1b}[0m";
        assert_eq!(for_terminal(rgb), rgb);
        // An unterminated or overlong sequence is not a colour.
        assert_eq!(for_terminal("\u{1b}[31"), "\\u{1b}[31");
        let long = format!("\u{1b}[{}m", "1;".repeat(20));
        assert!(for_terminal(&long).starts_with("\\u{1b}"));
    }
}
