//! The layout shows the design: top-level modules import each other in one direction only
//! (`text/redact ← io ← model ← catalog ← fetch/authz ← engine/verify/change ← usage ← report ← config/ask ← watch/audit ← serve`), and the files of one
//! module do not import each other in a circle. Read from the source text (`crate::x` and
//! `super::x` paths), so a new circle fails here before a reviewer has to find it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each library module and the rank it sits at: a module may import only lower ranks.
const RANKS: [(&str, u32); 17] = [
    ("text", 0),
    ("redact", 0),
    ("io", 1),
    ("model", 2),
    ("catalog", 3),
    ("fetch", 4),
    ("authz", 4),
    ("engine", 5),
    ("verify", 5),
    ("change", 5),
    ("usage", 6),
    ("report", 7),
    ("config", 8),
    ("ask", 8),
    ("watch", 9),
    ("audit", 9),
    ("serve", 10),
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

fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The names that follow `prefix` (`crate::`, `super::`) in `text`, comments left out; a group
/// (`crate::{a::X, b}`) names each of its members.
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i + prefix.len()..];
        if let Some(group) = tail.strip_prefix('{') {
            // Members at the group's top level: split at commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(tail));
        }
        rest = tail;
    }
    out.remove("");
    out
}

/// A cycle in `edges`, as the path that closes it, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_reader_sees_groups_and_cycles() {
    let used = referenced(
        "use crate::{engine::X, model::{A, B}};\n// crate::report\nuse crate::authz;",
        "crate::",
    );
    assert_eq!(
        used,
        BTreeSet::from(["authz".into(), "engine".into(), "model".into()])
    );
    let e = |pairs: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            m.entry((*a).into()).or_default().insert((*b).into());
        }
        m
    };
    assert!(find_cycle(&e(&[("a", "b"), ("b", "c")])).is_none());
    assert_eq!(
        find_cycle(&e(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap(),
        ["a", "b", "c", "a"]
    );
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
        if let Some(cycle) = find_cycle(&edges) {
            circles.push(format!("{}: {}", dir.display(), cycle.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}
