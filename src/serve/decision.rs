//! The decision log: one JSON line per answer, appended by one writer thread, bounded (a full
//! queue drops lines and counts them, never slows an answer) and rotated by size (`FILE` becomes
//! `FILE.1`, replacing the previous one). Like the one safe writer in [`crate::io`], it never
//! writes through a link or into a device, FIFO, socket or directory; lines pass the one
//! redactor and `text::json_safe`.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;

use super::ServeError;

/// Lines waiting for the writer at most; more are dropped (and counted).
const QUEUE: usize = 4096;

/// An append-only file rotated by size.
struct Appender {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
}

impl Appender {
    fn open(path: &Path, max: u64) -> Result<Self, std::io::Error> {
        let file = crate::io::open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            file,
            size,
            max,
        })
    }

    fn append(&mut self, line: &[u8]) -> Result<(), std::io::Error> {
        if self.size > 0 && self.size + line.len() as u64 > self.max {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            self.file = crate::io::open_append(&self.path)?;
            self.size = 0;
        }
        // One write per line: with `O_APPEND`, lines of this process never interleave.
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }
}

/// The decision log's writer.
pub struct DecisionLog {
    tx: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl DecisionLog {
    /// Open (or create) `path` for appending, rotating past `max_bytes`.
    ///
    /// # Errors
    /// When the file cannot be opened, or is not a regular file.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, ServeError> {
        let mut out = Appender::open(path, max_bytes).map_err(|e| ServeError::DecisionLog {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let failed = Arc::new(AtomicU64::new(0));
        let failures = Arc::clone(&failed);
        let writer = std::thread::Builder::new()
            .name("decision-log".to_owned())
            .spawn(move || {
                for line in rx {
                    if let Err(e) = out.append(&line) {
                        failures.fetch_add(1, Ordering::Relaxed);
                        log::warn!("decision log: {e}");
                    }
                }
                let _ = out.file.sync_data();
            })
            .map_err(|e| ServeError::DecisionLog {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            tx: Some(tx),
            writer: Some(writer),
            dropped: Arc::new(AtomicU64::new(0)),
            failed,
        })
    }

    /// Queue one entry; dropped (and counted) when the writer is that far behind.
    pub fn record(&self, entry: &Value) {
        let Some(tx) = &self.tx else { return };
        let text = entry.to_string();
        let text = crate::redact::redact(&text);
        let mut line = crate::text::json_safe(&text).into_owned();
        line.push('\n');
        if let Err(TrySendError::Full(_)) = tx.try_send(line.into_bytes()) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped because the writer was behind.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lines that could not be written (a full disk, a rotation that failed).
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Write every queued line and close the file.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_rotate_by_size_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        let mut log = DecisionLog::open(&path, 200).unwrap();
        for i in 0..10 {
            log.record(&serde_json::json!({ "n": i, "pad": "x".repeat(40) }));
        }
        log.close();
        let now = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(dir.path().join("decisions.jsonl.1")).unwrap();
        assert!(now.len() <= 200 && old.len() <= 200, "{now}\n{old}");
        assert!(
            now.ends_with("\"n\":9,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n")
                || now.contains("\"n\":9")
        );
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(
            DecisionLog::open(&link, 200).is_err(),
            "a link is not followed"
        );
        assert!(
            DecisionLog::open(dir.path(), 200).is_err(),
            "a directory is refused"
        );
        assert!(
            DecisionLog::open(Path::new("/dev/null"), 200).is_err(),
            "a device is refused"
        );
    }

    #[test]
    fn lines_that_cannot_be_written_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        // The rotation's target is a directory with a file in it: renaming onto it fails.
        std::fs::create_dir(dir.path().join("decisions.jsonl.1")).unwrap();
        std::fs::write(dir.path().join("decisions.jsonl.1/keep"), "x").unwrap();
        let mut log = DecisionLog::open(&path, 60).unwrap();
        for i in 0..5 {
            log.record(&serde_json::json!({ "n": i, "pad": "x".repeat(40) }));
        }
        log.close();
        assert_eq!((log.dropped(), log.failed()), (0, 4));
    }
}
