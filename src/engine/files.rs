//! The files of a rule directory: which `.rhai` files are rules, helper modules (`_name.rhai`,
//! for `import`) or rule tests (`*.test.rhai`), and the one walk that lists them, reading only
//! regular files inside the directory. Loading rules,
//! finding tests and watch mode all read directories through here, so they agree on what a
//! directory holds.

use std::path::{Path, PathBuf};

/// What a `.rhai` file in a rule directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RhaiFile {
    /// A rule (`name.rhai`).
    Rule,
    /// A helper module for `import` (`_name.rhai`).
    Helper,
    /// Rule tests (`name.test.rhai`).
    Test,
}

impl RhaiFile {
    /// What the file at `path` is, from its name; `None` for anything but `.rhai` files.
    #[must_use]
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy();
        if !name.ends_with(".rhai") {
            None
        } else if name.ends_with(".test.rhai") {
            Some(Self::Test)
        } else if name.starts_with('_') {
            Some(Self::Helper)
        } else {
            Some(Self::Rule)
        }
    }
}

/// What a walk of a rule directory found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The `.rhai` files, sorted.
    pub files: Vec<PathBuf>,
    /// Directories that could not be listed, with the error (`dir` itself first if it is one).
    pub errors: Vec<(PathBuf, std::io::Error)>,
    /// `.rhai` entries passed over, and why: links that lead outside the directory or to a
    /// directory, FIFOs, devices and sockets. Rules come from pull requests: a link to
    /// `/proc/self/environ` or a FIFO must not be read.
    pub skipped: Vec<String>,
}

/// Every `.rhai` file under `dir`, recursively and sorted. Only regular files are read, and a
/// link only when it resolves to a regular file inside `dir`; directory links are never
/// followed (two links to `.` would make the walk exponential).
#[must_use]
pub fn rhai_files(dir: &Path) -> Listing {
    let mut out = Listing::default();
    let root = match dir.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            out.errors.push((dir.to_owned(), e));
            return out;
        }
    };
    let mut budget = Walk {
        entries: MAX_ENTRIES,
        depth: 0,
    };
    walk(&root, dir, &mut out, &mut budget);
    if budget.entries == 0 {
        out.errors.insert(
            0,
            (
                dir.to_owned(),
                std::io::Error::other(format!(
                    "it holds more than {MAX_ENTRIES} entries, more than a rule directory does; \
                     point `--rules` at the directory of rules"
                )),
            ),
        );
    }
    out.files.sort();
    out
}

/// Most entries one walk looks at, and how deep it goes: `--rules /` (or a link to it) must
/// fail fast instead of reading the whole file system.
const MAX_ENTRIES: usize = 100_000;
const MAX_DEPTH: usize = 32;

struct Walk {
    entries: usize,
    depth: usize,
}

fn walk(root: &Path, d: &Path, out: &mut Listing, budget: &mut Walk) {
    if budget.depth >= MAX_DEPTH {
        out.errors.push((
            d.to_owned(),
            std::io::Error::other(format!(
                "it is nested deeper than {MAX_DEPTH} directories below the rule directory"
            )),
        ));
        return;
    }
    let entries = match std::fs::read_dir(d) {
        Ok(e) => e,
        Err(e) => {
            out.errors.push((d.to_owned(), e));
            return;
        }
    };
    for entry in entries {
        if budget.entries == 0 {
            return;
        }
        budget.entries -= 1;
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => {
                out.errors.push((d.to_owned(), e));
                continue;
            }
        };
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let named = RhaiFile::of(&path).is_some();
        let shown = path.display();
        if meta.file_type().is_symlink() {
            match path.canonicalize() {
                Ok(t) if t.is_dir() => {
                    out.skipped.push(format!("`{shown}`: a link to a directory is not followed"));
                }
                Ok(t) if named && t.starts_with(root) && t.is_file() => out.files.push(path),
                _ if named => out.skipped.push(format!(
                    "`{shown}`: a link that leads outside the rule directory (or nowhere) is not read"
                )),
                _ => {}
            }
        } else if meta.is_dir() {
            budget.depth += 1;
            walk(root, &path, out, budget);
            budget.depth -= 1;
        } else if meta.is_file() {
            if named {
                out.files.push(path);
            }
        } else if named {
            out.skipped.push(format!(
                "`{shown}`: not a regular file (a FIFO, device or socket) and not read"
            ));
        }
    }
}

/// The files of one kind under each directory, sorted; unreadable directories are skipped.
#[must_use]
pub fn files_of(dirs: &[PathBuf], kind: Option<RhaiFile>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| rhai_files(d).files)
        .filter(|p| kind.is_none() || RhaiFile::of(p) == kind)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_the_kind_and_the_walk_finds_them() {
        assert_eq!(RhaiFile::of(Path::new("a/x.rhai")), Some(RhaiFile::Rule));
        assert_eq!(RhaiFile::of(Path::new("_h.rhai")), Some(RhaiFile::Helper));
        assert_eq!(RhaiFile::of(Path::new("x.test.rhai")), Some(RhaiFile::Test));
        assert_eq!(RhaiFile::of(Path::new("x.rhai.swp")), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for f in ["b.rhai", "_h.rhai", "sub/a.test.rhai", "notes.md"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let listing = rhai_files(dir.path());
        assert!(listing.errors.is_empty());
        assert_eq!(listing.files.len(), 3);
        let dirs = [dir.path().to_owned()];
        assert_eq!(
            files_of(&dirs, Some(RhaiFile::Rule)),
            [dir.path().join("b.rhai")]
        );
        assert_eq!(files_of(&dirs, Some(RhaiFile::Test)).len(), 1);
        let none = rhai_files(&dir.path().join("missing"));
        assert!(none.files.is_empty() && none.errors.len() == 1);
    }
}
