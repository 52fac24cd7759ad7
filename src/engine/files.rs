//! The files of a rule directory: which `.rhai` files are rules, helper modules (`_name.rhai`,
//! for `import`) or rule tests (`*.test.rhai`), and the one walk that lists them. Loading rules,
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

/// Every `.rhai` file under `dir`, recursively and sorted, with the directories that could not
/// be listed (each with its error; `dir` itself first if it is one of them).
#[must_use]
pub fn rhai_files(dir: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    fn walk(d: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, std::io::Error)>) {
        let entries = match std::fs::read_dir(d) {
            Ok(e) => e,
            Err(e) => {
                errors.push((d.to_owned(), e));
                return;
            }
        };
        for entry in entries {
            let path = match entry {
                Ok(e) => e.path(),
                Err(e) => {
                    errors.push((d.to_owned(), e));
                    continue;
                }
            };
            if path.is_dir() {
                walk(&path, out, errors);
            } else if RhaiFile::of(&path).is_some() {
                out.push(path);
            }
        }
    }
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    walk(dir, &mut out, &mut errors);
    out.sort();
    (out, errors)
}

/// The files of one kind under each directory, sorted; unreadable directories are skipped.
#[must_use]
pub fn files_of(dirs: &[PathBuf], kind: Option<RhaiFile>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| rhai_files(d).0)
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
        let (all, errors) = rhai_files(dir.path());
        assert!(errors.is_empty());
        assert_eq!(all.len(), 3);
        let dirs = [dir.path().to_owned()];
        assert_eq!(
            files_of(&dirs, Some(RhaiFile::Rule)),
            [dir.path().join("b.rhai")]
        );
        assert_eq!(files_of(&dirs, Some(RhaiFile::Test)).len(), 1);
        let (none, errors) = rhai_files(&dir.path().join("missing"));
        assert!(none.is_empty() && errors.len() == 1);
    }
}
