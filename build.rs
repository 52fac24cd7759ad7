//! Build script: records the commit the binary is built from, for `rolecall --version`.
//!
//! One `git rev-parse` call when git and a checkout of this repository are there; otherwise
//! (a crates.io tarball, `cargo install` from an archive, no git) the commit is "unknown" and
//! the build goes on. `ROLECALL_COMMIT` in the environment wins (packagers without `.git`).

use std::path::{Path, PathBuf};
use std::process::Command;

// A build script speaks to cargo on stdout (clippy's `print_stdout` leaves build scripts be).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ROLECALL_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = match std::env::var("ROLECALL_COMMIT") {
        Ok(c) if !c.trim().is_empty() => Some(c.trim().to_owned()),
        _ => git_commit(&dir, &mut |path| {
            println!("cargo:rerun-if-changed={}", path.display());
        }),
    };
    println!(
        "cargo:rustc-env=ROLECALL_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}

/// The commit checked out in `dir`, if `dir` is the top of a git work tree; `watch` is told the
/// files whose change means a new commit (HEAD and the refs), so the next build reads it again.
fn git_commit(dir: &Path, watch: &mut dyn FnMut(&Path)) -> Option<String> {
    let out = Command::new("git")
        .args([
            "rev-parse",
            "--show-toplevel",
            "--absolute-git-dir",
            "--git-common-dir",
            "--short=12",
            "HEAD",
        ])
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let (top, git_dir, common, head) = (lines.next()?, lines.next()?, lines.next()?, lines.next()?);
    // Vendored into another repository: that repository's commit would be a lie.
    if std::fs::canonicalize(top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    let git_dir = Path::new(git_dir);
    let common = git_dir.join(common);
    watch(&git_dir.join("HEAD"));
    watch(&common.join("packed-refs"));
    if let Ok(head_file) = std::fs::read_to_string(git_dir.join("HEAD")) {
        if let Some(r) = head_file.trim().strip_prefix("ref: ") {
            watch(&common.join(r));
        }
    }
    Some(head.to_owned())
}
