//! The layout shows the design: top-level modules import each other in one direction only
//! (`model ← catalog ← fetch/authz ← engine ← report ← config ← watch`), and the files of one
//! module do not import each other in a circle. Read from the source text (`crate::x` and
//! `super::x` paths), so a new circle fails here before a reviewer has to find it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each library module and the rank it sits at: a module may import only lower ranks.
const RANKS: [(&str, u32); 8] = [
    ("model", 0),
    ("catalog", 1),
    ("fetch", 2),
    ("authz", 2),
    ("engine", 3),
    ("report", 4),
    ("config", 5),
    ("watch", 6),
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The names that follow `prefix` (`crate::`, `super::`) in `text`, code lines only.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let tail = &rest[i + prefix.len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = tail;
        }
    }
    out
}

#[test]
fn top_level_modules_import_in_one_direction() {
    let src = crate::support::root().join("src");
    let rank: BTreeMap<&str, u32> = RANKS.into_iter().collect();
    let mut bad = Vec::new();
    for (module, r) in RANKS {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{module}.rs")));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for used in referenced(&text, "crate::") {
                if let Some(&u) = rank.get(used.as_str()) {
                    if used != module && u >= r {
                        bad.push(format!("{} uses crate::{used}", f.display()));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layout:\n{}",
        bad.join("\n")
    );
}

#[test]
fn files_of_one_module_import_no_circle() {
    let src = crate::support::root().join("src");
    let mut dirs = vec![src.clone()];
    let mut circles = Vec::new();
    while let Some(dir) = dirs.pop() {
        // Edges between sibling files (`super::x` from file y); `mod.rs` only re-exports.
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut siblings = BTreeSet::new();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p.clone());
                siblings.insert(e.file_name().to_string_lossy().into_owned());
            } else if let Some(stem) = p
                .file_stem()
                .filter(|_| p.extension().is_some_and(|x| x == "rs"))
            {
                siblings.insert(stem.to_string_lossy().into_owned());
            }
        }
        for name in &siblings {
            let file = dir.join(format!("{name}.rs"));
            if name == "mod" || name == "lib" || !file.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let used: BTreeSet<String> = referenced(&text, "super::")
                .into_iter()
                .filter(|u| u != name && u != "mod" && siblings.contains(u))
                .collect();
            edges.insert(name.clone(), used);
        }
        for (a, used) in &edges {
            for b in used {
                if edges.get(b).is_some_and(|back| back.contains(a)) && a < b {
                    circles.push(format!("{}: {a} <-> {b}", dir.display()));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}
