//! Reading and writing snapshot files: diagnostics for malformed input, atomic saves.

use std::path::Path;

use miette::SourceSpan;
use serde::Deserialize;

use super::err::{SnapshotError, SnapshotErrorKind};
use super::snapshot::{OrgSnapshot, FORMAT};

/// Parse a snapshot from bytes; `name` labels diagnostics (usually the file path).
///
/// # Errors
/// [`SnapshotErrorKind::Syntax`] with line and column for malformed JSON, [`SnapshotErrorKind::Shape`]
/// with the field path for a value of the wrong type, [`SnapshotErrorKind::NewerFormat`] or
/// [`SnapshotErrorKind::NotASnapshot`] for a wrong `format`, [`SnapshotErrorKind::Invalid`] for a
/// dataset of the wrong JSON kind or two objects with one id. A dataset the file lacks is not an
/// error: it is added to `coverage` as a gap (status `missing`), so rules that need it report
/// unknown instead of reading it as empty.
pub fn parse_snapshot(bytes: &[u8], name: &str) -> Result<OrgSnapshot, SnapshotError> {
    // Editors on some systems start a UTF-8 file with a byte order mark; JSON has no use for it.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match serde_json::from_slice::<OrgSnapshot>(bytes) {
        Ok(mut snapshot) => {
            check_format(&snapshot.format)?;
            super::validate::datasets(bytes, name, &mut snapshot)?;
            super::validate::unique_ids(&snapshot, name)?;
            super::validate::usage_rows(&snapshot, name)?;
            Ok(snapshot)
        }
        Err(err) => {
            // A newer format may legitimately have shapes this build does not know, so the
            // version verdict takes precedence over the shape error.
            if let Ok(header) = serde_json::from_slice::<Header>(bytes) {
                check_format(&header.format)?;
            }
            Err(describe(bytes, name, &err))
        }
    }
}

/// Read and parse a snapshot file, through the one bounded reader ([`crate::io`]).
///
/// # Errors
/// [`SnapshotErrorKind::Read`] when the file cannot be read (or is not a regular file, or is
/// larger than a snapshot may be), otherwise as [`parse_snapshot`].
pub fn load_snapshot(path: &Path) -> Result<OrgSnapshot, SnapshotError> {
    let bytes = crate::io::read_bytes(path, crate::io::Input::Snapshot)
        .map_err(|source| SnapshotErrorKind::Read { source })?;
    parse_snapshot(&bytes, &path.display().to_string())
}

/// Write a snapshot through the one safe writer ([`crate::io::write_file`]): atomic, never over
/// a device, a FIFO or a directory, secrets redacted.
///
/// A crash or error at any point leaves an existing file at `path` untouched.
///
/// # Errors
/// [`SnapshotErrorKind::Write`] naming the target file.
pub fn save_snapshot(snapshot: &OrgSnapshot, path: &Path) -> Result<(), SnapshotError> {
    let mut bytes = serde_json::to_vec_pretty(snapshot).map_err(|e| SnapshotErrorKind::Encode {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    crate::io::write_file(path, &bytes).map_err(|source| SnapshotErrorKind::Write { source })?;
    Ok(())
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: String,
}

fn check_format(found: &str) -> Result<(), SnapshotError> {
    if found == FORMAT {
        return Ok(());
    }
    match found
        .strip_prefix("rolecall.snapshot/")
        .and_then(|v| v.parse::<u32>().ok())
    {
        Some(v) if v > 1 => Err(SnapshotErrorKind::NewerFormat {
            found: found.to_owned(),
            supported: FORMAT,
        }
        .into()),
        _ => Err(SnapshotErrorKind::NotASnapshot {
            found: found.to_owned(),
        }
        .into()),
    }
}

/// What stands for the line of a file that does not start as a snapshot.
const NOT_QUOTED: &str = "(the line is not shown: the file does not start as a rolecall snapshot)";

/// Most characters of the offending line shown around an error: a snapshot is often one line
/// of many megabytes.
const EXCERPT_CHARS: usize = 160;

/// The part of the line holding `offset` that a diagnostic shows: at most [`EXCERPT_CHARS`]
/// characters around it, made visible by the one sanitiser (a hostile file's escape sequences
/// must not reach the terminal); and the offset's place in it.
fn excerpt(text: &str, offset: usize) -> (String, usize) {
    let (shown, at, _, _) = crate::text::line_window(text, offset, EXCERPT_CHARS);
    (shown, at)
}

fn describe(bytes: &[u8], name: &str, err: &serde_json::Error) -> SnapshotError {
    let full = String::from_utf8_lossy(bytes);
    let (line, column) = (err.line(), err.column());
    // Only a file that starts as a snapshot is quoted: any other file given as one (a `.env`, a
    // key file, a `.netrc` through a link) is named by line and column alone, since its lines
    // are secrets more often than not.
    let head = &bytes[..bytes.len().min(4096)];
    let snapshot_like = head.windows(17).any(|w| w == b"rolecall.snapshot");
    let (text, offset) = if snapshot_like {
        excerpt(&full, offset_of(&full, line, column))
    } else {
        (NOT_QUOTED.to_owned(), 0)
    };
    let span = SourceSpan::from((offset, 1.min(text.len().saturating_sub(offset))));
    let message = strip_position(&err.to_string());
    if err.is_data() {
        // Re-parse only on failure so the fast path pays nothing for field paths.
        let field = match serde_path_to_error::deserialize::<_, OrgSnapshot>(
            &mut serde_json::Deserializer::from_slice(bytes),
        ) {
            Err(e) => e.path().to_string(),
            Ok(_) => String::from("?"),
        };
        SnapshotErrorKind::Shape {
            src: crate::text::Excerpt::new(name, text, line, column),
            span,
            field,
            message,
        }
        .into()
    } else {
        SnapshotErrorKind::Syntax {
            src: crate::text::Excerpt::new(name, text, line, column),
            span,
            line,
            column,
            message,
        }
        .into()
    }
}

/// Byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"format": "rolecall.snapshot/1", "divisions": [{"id": "d1", "name": "Home", "homeDivision": true}]}"#;

    #[test]
    fn loads_minimal_and_tolerates_unknown_fields() {
        let text = MINIMAL.replace(
            "\"homeDivision\"",
            "\"someFutureField\": 3, \"homeDivision\"",
        );
        let s = parse_snapshot(text.as_bytes(), "x.json").unwrap();
        assert_eq!(s.divisions.len(), 1);
        assert!(s.divisions[0].home_division);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let text = "{\n  \"format\": \"rolecall.snapshot/1\",\n  \"divisions\": [,]\n}";
        match parse_snapshot(text.as_bytes(), "x.json").map_err(SnapshotError::into_kind) {
            Err(SnapshotErrorKind::Syntax { line, column, .. }) => {
                assert_eq!((line, column), (3, 17));
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn shape_error_names_the_field_path() {
        let text = r#"{"format": "rolecall.snapshot/1", "users": [{"id": "u1", "name": "a"}, {"id": "u2", "state": 7}]}"#;
        match parse_snapshot(text.as_bytes(), "x.json").map_err(SnapshotError::into_kind) {
            Err(SnapshotErrorKind::Shape { field, .. }) => assert_eq!(field, "users[1].state"),
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn newer_format_is_refused_even_with_unknown_shapes() {
        let text = r#"{"format": "rolecall.snapshot/2", "users": {"totally": "different"}}"#;
        let err = parse_snapshot(text.as_bytes(), "x.json").unwrap_err();
        assert!(
            matches!(err.kind(), SnapshotErrorKind::NewerFormat { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("rolecall.snapshot/2"));
    }

    #[test]
    fn other_json_is_not_a_snapshot() {
        let err = parse_snapshot(br#"{"format": "something-else"}"#, "x.json").unwrap_err();
        assert!(
            matches!(err.kind(), SnapshotErrorKind::NotASnapshot { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.json");
        let s = parse_snapshot(MINIMAL.as_bytes(), "x").unwrap();
        save_snapshot(&s, &path).unwrap();
        assert_eq!(load_snapshot(&path).unwrap(), s);
        // No temp files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_syntax_error_on_a_huge_line_shows_a_bounded_visible_excerpt() {
        let mut text = format!("{{\"format\": \"{FORMAT}\", \"users\": [");
        text.push_str(&"{\"id\": \"ü\u{1b}\"}, ".repeat(100_000));
        text.push_str("oops]}");
        let err = parse_snapshot(text.as_bytes(), "big.json").unwrap_err();
        let SnapshotErrorKind::Syntax { src, .. } = err.kind() else {
            panic!("{err}");
        };
        let shown = src.text();
        // Bounded: each shown character is at most one escape (`\u{10ffff}`) long.
        assert!(
            shown.chars().count() <= 10 * EXCERPT_CHARS + 2,
            "{}",
            shown.len()
        );
        assert!(
            !shown.contains('\u{1b}') && shown.contains("\\u{1b}"),
            "{shown}"
        );
        // Far into a long line: the excerpt is around the error, not the line's start.
        let text = format!(
            "{{\"format\": \"{FORMAT}\", \"x\": [{}oops]}}",
            "1, ".repeat(100_000)
        );
        let err = parse_snapshot(text.as_bytes(), "big.json").unwrap_err();
        let SnapshotErrorKind::Syntax { src, .. } = err.kind() else {
            panic!("{err}");
        };
        let shown = src.text();
        assert!(shown.starts_with('…') && shown.contains("oops"), "{shown}");
        assert!(
            shown.chars().count() <= EXCERPT_CHARS + 2,
            "{}",
            shown.len()
        );
    }

    #[test]
    fn a_save_removes_what_a_killed_save_to_the_same_path_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.json");
        let old = dir.path().join(".org.json.rolecall-abc123.tmp");
        let young = dir.path().join(".org.json.rolecall-def456.tmp");
        let other = dir.path().join(".other.json.rolecall-abc123.tmp");
        for p in [&old, &young, &other] {
            std::fs::write(p, "partial").unwrap();
        }
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        save_snapshot(
            &OrgSnapshot {
                format: FORMAT.into(),
                ..OrgSnapshot::default()
            },
            &path,
        )
        .unwrap();
        assert!(!old.exists(), "the stale temp file of this path is removed");
        assert!(young.exists(), "a save in progress is left alone");
        assert!(other.exists(), "another path's temp file is left alone");
    }

    #[test]
    fn failed_save_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.json");
        std::fs::write(&path, "previous").unwrap();
        let target = dir.path().join("missing-dir").join("org.json");
        let s = parse_snapshot(MINIMAL.as_bytes(), "x").unwrap();
        let err = save_snapshot(&s, &target).unwrap_err();
        assert!(
            matches!(err.kind(), SnapshotErrorKind::Write { .. }),
            "{err:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous");
    }
}
