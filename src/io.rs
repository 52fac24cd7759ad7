//! The one bounded reader and the one safe writer: every file rolecall reads or writes goes
//! through here.
//!
//! Files come from pull requests (rules, plans, change files, `rolecall.toml`), from the person
//! at the terminal and from CI scripts; any of them can be a link to `/proc/self/environ`, a FIFO
//! nobody writes, `/dev/zero`, or a planted symlink in an output directory. So:
//!
//! - [`read_bytes`] and [`read_text`] open only regular files (a link is followed, but only to a
//!   regular file), never block on a FIFO (the file is opened non-blocking and checked before a
//!   byte is read), and stop at the size cap of the kind of input ([`Input`]) while reading,
//!   since a device or a `/proc` file reports size 0. Text must be UTF-8 without NUL bytes: an
//!   environment block (`KEY=VALUE\0…`) is refused whole, and the error never quotes content.
//! - [`write_file`] replaces a file atomically (a temp file beside it, fsync, rename), refuses to
//!   replace anything that is not a regular file (device, FIFO, socket, directory; a link is
//!   replaced only when it points at a regular file or nothing), passes the bytes through the
//!   one redactor, and removes its temp file on error; [`remove_pending`] removes the temp files
//!   of writes in progress, for the binary's SIGINT/SIGTERM handler. [`write_in_dir`] writes a
//!   file inside an output directory and never follows a link out of it.
//!
//! ```no_run
//! use rolecall::internals::io::{read_text, Input};
//!
//! let text = read_text("rolecall.toml".as_ref(), Input::Config)?;
//! # Ok::<(), rolecall::internals::io::ReadError>(())
//! ```

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The kinds of file rolecall reads, each with its size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A `rolecall.snapshot/1` file.
    Snapshot,
    /// `rolecall.toml`.
    Config,
    /// The `gc` CLI's `config.toml`.
    GcConfig,
    /// A `terraform show -json` plan.
    Plan,
    /// A `rolecall.change/1` file.
    ChangeFile,
    /// An API description (swagger) or operation catalog.
    Catalog,
    /// A findings document used as a baseline.
    Baseline,
    /// A 403 error body (`--error-body`).
    ErrorBody,
    /// A rule, helper or rule-test file.
    Rule,
    /// A bearer token file (`serve --token-file`).
    Token,
}

impl Input {
    /// The most bytes a file of this kind may hold.
    #[must_use]
    pub const fn max_bytes(self) -> u64 {
        const MIB: u64 = 1 << 20;
        match self {
            Self::Snapshot => 1024 * MIB,
            Self::Plan | Self::Catalog | Self::Baseline => 256 * MIB,
            Self::ChangeFile => 16 * MIB,
            Self::Config => 4 * MIB,
            Self::GcConfig | Self::ErrorBody | Self::Rule => MIB,
            Self::Token => 64 << 10,
        }
    }

    /// What the file is, for errors.
    #[must_use]
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Config => "config file",
            Self::GcConfig => "gc config",
            Self::Plan => "plan",
            Self::ChangeFile => "change file",
            Self::Catalog => "API description",
            Self::Baseline => "baseline",
            Self::ErrorBody => "error body",
            Self::Rule => "rule file",
            Self::Token => "token file",
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read the {noun} `{path}`: {reason}", noun = .kind.noun(), path = crate::text::visible(&.path.display().to_string()))]
#[diagnostic(code(rolecall::io::read))]
pub struct ReadError {
    path: PathBuf,
    kind: Input,
    reason: ReadReason,
    #[help]
    help: Option<String>,
}

impl ReadError {
    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Whether the file does not exist (callers that search for optional files pass over it).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(&self.reason, ReadReason::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
    /// The reason alone, without the path (for callers that name the file themselves).
    #[must_use]
    pub fn reason(&self) -> String {
        self.reason.to_string()
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadReason {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than the {0} a {1} may be")]
    TooLarge(String, &'static str),
    #[error("it holds NUL bytes, so it is not text (its content is not shown)")]
    Binary,
    #[error("it is not UTF-8 text (its content is not shown)")]
    NotUtf8,
}

fn size_words(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Read a file of kind `kind` whole: a regular file (links followed only to one), at most
/// [`Input::max_bytes`] bytes, counted while reading.
///
/// # Errors
/// The file cannot be opened, is not a regular file (named: a FIFO, a character device, …), or
/// is larger than the cap.
pub fn read_bytes(path: &Path, kind: Input) -> Result<Vec<u8>, ReadError> {
    read_capped(path, kind, kind.max_bytes())
}

/// [`read_bytes`] with a cap of the caller's (`fetch --max-response-mib` and the like).
///
/// # Errors
/// As [`read_bytes`].
pub fn read_capped(path: &Path, kind: Input, max: u64) -> Result<Vec<u8>, ReadError> {
    let fail = |reason| ReadError {
        path: path.to_owned(),
        kind,
        reason,
        help: None,
    };
    let file = open_regular(path).map_err(fail)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(ReadReason::Io(e)))?;
    if bytes.len() as u64 > max {
        return Err(fail(ReadReason::TooLarge(size_words(max), kind.noun())));
    }
    Ok(bytes)
}

/// Read a text file of kind `kind`: as [`read_bytes`], then UTF-8 without NUL bytes, a leading
/// byte order mark dropped.
///
/// # Errors
/// As [`read_bytes`], or the content is not text (never quoted).
pub fn read_text(path: &Path, kind: Input) -> Result<String, ReadError> {
    read_text_capped(path, kind, kind.max_bytes())
}

/// [`read_text`] with a cap of the caller's (a rule set's configured limit).
///
/// # Errors
/// As [`read_text`].
pub fn read_text_capped(path: &Path, kind: Input, max: u64) -> Result<String, ReadError> {
    let bytes = read_capped(path, kind, max)?;
    text_of(bytes).map_err(|reason| ReadError {
        path: path.to_owned(),
        kind,
        reason,
        help: None,
    })
}

fn text_of(bytes: Vec<u8>) -> Result<String, ReadReason> {
    // An environment block (`/proc/self/environ`) and most binary files hold NUL; no text
    // format rolecall reads does.
    if bytes.contains(&0) {
        return Err(ReadReason::Binary);
    }
    let mut text = String::from_utf8(bytes).map_err(|_| ReadReason::NotUtf8)?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Open `path` for reading if it is (or links to) a regular file, without blocking on a FIFO.
fn open_regular(path: &Path) -> Result<std::fs::File, ReadReason> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Non-blocking so that opening a FIFO with no writer returns at once; no controlling
        // terminal from a tty device. Both are harmless on a regular file.
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(ReadReason::Io)?;
    let meta = file.metadata().map_err(ReadReason::Io)?;
    if !meta.is_file() {
        return Err(ReadReason::NotRegular(what(&meta.file_type())));
    }
    Ok(file)
}

/// What a non-regular file is, in words.
fn what(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write `{path}`: {reason}", path = crate::text::visible(&.path.display().to_string()))]
#[diagnostic(code(rolecall::io::write))]
pub struct WriteError {
    path: PathBuf,
    reason: WriteReason,
    #[help]
    help: Option<&'static str>,
}

impl WriteError {
    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
enum WriteReason {
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it is {0}; rolecall replaces only regular files")]
    NotRegular(&'static str),
    #[error("it is a link to {0}; rolecall replaces only regular files")]
    LinkToSpecial(&'static str),
    #[error("it is a symbolic link inside the output directory; rolecall does not follow links out of it")]
    LinkInDir,
    #[error("it already exists")]
    Exists,
}

/// Open `path` for appending (a log), creating it with mode 0600: an existing path must be a
/// regular file, never a link (not followed), device, FIFO, socket or directory, and opening
/// never blocks on a FIFO created meanwhile. The one way rolecall appends to a file.
///
/// # Errors
/// The path is not a regular file, or cannot be opened.
pub fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(std::io::Error::other(format!(
                "it is {}, not a regular file",
                what(&m.file_type())
            )));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "it is {}, not a regular file",
            what(&meta.file_type())
        )));
    }
    Ok(file)
}

/// Temp files of writes in progress, removed by [`remove_pending`] on a signal.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Remove the temp files of every write in progress: for a SIGINT or SIGTERM handler, which
/// then exits (a SIGKILL cannot be caught; its leftovers are removed by the next write to the
/// same path once they are stale).
pub fn remove_pending() {
    let pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
    for p in pending.iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// A temp file registered in [`PENDING`] while it exists; removed on drop unless persisted.
struct Temp {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

impl Temp {
    fn new(dir: &Path, prefix: &str) -> std::io::Result<Self> {
        let file = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let path = file.path().to_owned();
        PENDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(path.clone());
        Ok(Self {
            file: Some(file),
            path,
        })
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        // Dropping the NamedTempFile removes it, unless it was persisted (taken).
        drop(self.file.take());
        PENDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p| *p != self.path);
    }
}

/// Replace `path` atomically with `bytes`, passed through the one redactor.
///
/// `path` may not exist, or be a regular file, or be a link to a regular file (or to nothing),
/// which is replaced by the new file. Anything else (a device such as `/dev/null` or
/// `/dev/stdout`, a FIFO, a socket, a directory) is refused before anything is written. The
/// temp file sits beside the target and is removed on any error; a crash leaves the target as
/// it was.
///
/// # Errors
/// The target is not a regular file, or the directory cannot be written.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    check_target(path)?;
    replace(path, bytes).map_err(|e| WriteError {
        path: path.to_owned(),
        reason: WriteReason::Io(e),
        help: None,
    })
}

/// Whether [`write_file`] would replace `path`: nothing there, a regular file, or a link to a
/// regular file or to nothing. Commands that work long before writing (a fetch) ask first.
///
/// # Errors
/// As [`write_file`], before anything is written.
pub fn check_target(path: &Path) -> Result<(), WriteError> {
    let fail = |reason| WriteError {
        path: path.to_owned(),
        reason,
        help: Some("write to a new or regular file; leave out the output flag to write to stdout"),
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(path) {
            Ok(t) if !t.is_file() => {
                return Err(fail(WriteReason::LinkToSpecial(what(&t.file_type()))))
            }
            // A link to a regular file, or a dangling link: the link itself is replaced.
            _ => {}
        },
        Ok(m) if !m.is_file() => return Err(fail(WriteReason::NotRegular(what(&m.file_type())))),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(WriteReason::Io(e))),
    }
    Ok(())
}

/// Write `name` inside the output directory `dir` (which must exist): never through a link
/// (an entry that is a link is refused, so nothing outside `dir` is touched), and only over a
/// regular file when `overwrite` is set.
///
/// # Errors
/// The entry is a link or not a regular file, exists when `overwrite` is not set, or cannot be
/// written.
pub fn write_in_dir(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    overwrite: bool,
) -> Result<PathBuf, WriteError> {
    let path = dir.join(name);
    let fail = |reason| WriteError {
        path: path.clone(),
        reason,
        help: None,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => return Err(fail(WriteReason::LinkInDir)),
        Ok(m) if !m.is_file() => return Err(fail(WriteReason::NotRegular(what(&m.file_type())))),
        Ok(_) if !overwrite => return Err(fail(WriteReason::Exists)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(WriteReason::Io(e))),
    }
    replace(&path, bytes).map_err(|e| fail(WriteReason::Io(e)))?;
    Ok(path)
}

/// Temp files older than this are left over from a write that was killed: a write takes
/// seconds, so a younger one may be another process's write in progress and is left alone.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // The temp file is named after its target, so leftovers of a killed write (SIGKILL, power
    // loss) are found and removed by the next write to the same path.
    let prefix = format!(
        ".{}.rolecall-",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    remove_stale_temps(dir, &prefix);
    let mut temp = Temp::new(dir, &prefix)?;
    let Some(file) = temp.file.as_mut() else {
        return Err(std::io::Error::other("temp file already persisted"));
    };
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        out.write_all(&crate::redact::redact_bytes(bytes))?;
        out.flush()?;
    }
    file.as_file().sync_all()?;
    if let Some(file) = temp.file.take() {
        file.persist(path).map_err(|e| e.error)?;
    }
    drop(temp);
    // The rename is durable only once the directory entry is; best effort where the platform
    // cannot open directories.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Remove leftovers of killed writes to one path (best effort, bounded: a directory with very
/// many entries is not read to the end).
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.take(100_000).flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
            continue;
        }
        let stale = e
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok()?.elapsed().ok());
        if stale.is_some_and(|age| age > STALE_TEMP) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_before_reading() {
        let e = read_bytes(Path::new("/dev/zero"), Input::Plan).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_bytes(dir.path(), Input::Snapshot).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        let e = read_text(&fifo, Input::Config).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn an_environment_block_is_refused_unquoted() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("environ");
        std::fs::write(&env, "HOME=/root\0SECRET=canary-value\0").unwrap();
        let link = dir.path().join("rolecall.toml");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&env, &link).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(&env, &link).unwrap();
        let e = read_text(&link, Input::Config).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("NUL"), "{shown}");
        assert!(!shown.contains("canary"), "{shown}");
    }

    #[test]
    fn the_cap_is_counted_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big");
        std::fs::write(&f, vec![b'x'; 2 << 20]).unwrap();
        let e = read_text(&f, Input::ErrorBody).unwrap_err();
        assert!(e.to_string().contains("larger than the 1 MiB"), "{e}");
        assert_eq!(
            read_capped(&f, Input::Snapshot, 2 << 20).unwrap().len(),
            2 << 20
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_never_replaced() {
        let e = write_file(Path::new("/dev/null"), b"x").unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let e = write_file(&link, b"x").unwrap_err();
        assert!(
            e.to_string().contains("a link to a character device"),
            "{e}"
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(write_file(dir.path(), b"x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_in_an_output_directory_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("rolecall.d.rhai")).unwrap();
        let e = write_in_dir(dir.path(), "rolecall.d.rhai", b"x", true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let p = write_in_dir(dir.path(), "new.rhai", b"x", false).unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"x");
        assert!(write_in_dir(dir.path(), "new.rhai", b"y", false).is_err());
    }

    #[test]
    fn a_signal_handler_removes_the_temp_files_of_writes_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let temp = Temp::new(dir.path(), ".out.json.rolecall-").unwrap();
        assert!(temp.path.exists());
        remove_pending();
        assert!(!temp.path.exists(), "the handler's call removed it");
        drop(temp);
        assert!(PENDING
            .lock()
            .unwrap()
            .iter()
            .all(|p| !p.starts_with(dir.path())));
    }

    #[test]
    fn a_write_replaces_atomically_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("out.json");
        write_file(&f, b"one").unwrap();
        write_file(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert!(PENDING
            .lock()
            .unwrap()
            .iter()
            .all(|p| !p.starts_with(dir.path())));
    }
}
