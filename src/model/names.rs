//! The one name resolver: what people type (`user:Alice Admin`, `client:WFM-SYNC`,
//! `--division "Support Eu"`) to the object they mean, or a clear answer when they typed
//! something that names two objects or none, with the nearest names to pick from.
//!
//! The order: an id, then the exact name (or a user's email), then the name or email regardless
//! of case, and for users their display name. Two or more objects matching at the first level
//! that matches anything is ambiguous: the answer lists them, never picks one. The CLI, the
//! library (`authz::resolve_subject`, `resolve_target`) and the HTML report's search all match
//! this way.

use super::index::Org;

/// What kind of object a name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A user (id, email or display name).
    User,
    /// A group.
    Group,
    /// An OAuth client.
    Client,
    /// A division.
    Division,
    /// A role.
    Role,
    /// A WFM management unit.
    ManagementUnit,
    /// A WFM business unit.
    BusinessUnit,
}

impl NameKind {
    /// The word for it in messages.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Client => "client",
            Self::Division => "division",
            Self::Role => "role",
            Self::ManagementUnit => "management unit",
            Self::BusinessUnit => "business unit",
        }
    }
}

/// What a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// One object (its index).
    One(u32),
    /// Several objects match; how each is shown (name and id or email).
    Ambiguous(Vec<String>),
    /// Nothing matches; the nearest names (at most three).
    None(Vec<String>),
}

/// Most names suggested for a name that matches nothing.
pub const MAX_SUGGESTIONS: usize = 3;

impl Org {
    /// Resolve what someone typed to an object of `kind` (see the module docs for the order).
    #[must_use]
    pub fn resolve(&self, kind: NameKind, key: &str) -> Resolved {
        let exact = match kind {
            NameKind::User => self.user(key),
            NameKind::Group => self.group(key),
            NameKind::Client => self.client(key),
            NameKind::Division => self.division(key),
            NameKind::Role => self.role(key),
            NameKind::ManagementUnit => self.management_unit(key),
            NameKind::BusinessUnit => self.business_unit(key),
        };
        if let Some(i) = exact {
            return Resolved::One(i);
        }
        let names = self.names_of(kind);
        let want = key.trim();
        let level = |fold: bool| -> Vec<u32> {
            names
                .iter()
                .filter(|(_, keys, _)| {
                    keys.iter().any(|k| {
                        if fold {
                            k.eq_ignore_ascii_case(want) || k.to_lowercase() == want.to_lowercase()
                        } else {
                            k == want
                        }
                    })
                })
                .map(|(i, _, _)| *i)
                .collect()
        };
        for fold in [false, true] {
            let hits = level(fold);
            match hits.len() {
                0 => {}
                1 => return Resolved::One(hits[0]),
                _ => {
                    return Resolved::Ambiguous(
                        names
                            .iter()
                            .filter(|(i, _, _)| hits.contains(i))
                            .map(|(_, _, shown)| crate::text::visible(shown).into_owned())
                            .collect(),
                    )
                }
            }
        }
        Resolved::None(nearest(
            want,
            names
                .iter()
                .flat_map(|(_, keys, _)| keys.iter().map(String::as_str)),
        ))
    }

    /// Every key a subject answers to in [`Org::resolve`]: its id, its name and, for a user, its
    /// email (the HTML report's search matches these, regardless of case).
    #[must_use]
    pub fn name_keys(&self, subject: super::SubjectRef) -> Vec<String> {
        let (kind, i) = match subject {
            super::SubjectRef::User(i) => (NameKind::User, i),
            super::SubjectRef::Group(i) => (NameKind::Group, i),
            super::SubjectRef::Client(i) => (NameKind::Client, i),
        };
        let mut keys = vec![self.subject_id(subject).to_owned()];
        if let Some((_, names, _)) = self.names_of(kind).into_iter().find(|(j, _, _)| *j == i) {
            keys.extend(names);
        }
        keys
    }

    /// Every object of `kind`: its index, the names it answers to, and how it is shown.
    fn names_of(&self, kind: NameKind) -> Vec<(u32, Vec<String>, String)> {
        let s = self.snapshot();
        let idx = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let plain = |items: Vec<(String, String)>| -> Vec<(u32, Vec<String>, String)> {
            items
                .into_iter()
                .enumerate()
                .map(|(i, (name, id))| (idx(i), vec![name.clone()], format!("`{name}` ({id})")))
                .collect()
        };
        match kind {
            NameKind::User => s
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    let mut keys = vec![u.name.clone()];
                    keys.extend(u.email.clone());
                    let shown = match &u.email {
                        Some(e) => format!("`{}` ({e})", u.name),
                        None => format!("`{}` ({})", u.name, u.id),
                    };
                    (idx(i), keys, shown)
                })
                .collect(),
            NameKind::Group => plain(
                s.groups
                    .iter()
                    .map(|g| (g.name.clone(), g.id.clone()))
                    .collect(),
            ),
            NameKind::Client => plain(
                s.oauth_clients
                    .iter()
                    .map(|c| (c.name.clone(), c.id.clone()))
                    .collect(),
            ),
            NameKind::Division => plain(
                s.divisions
                    .iter()
                    .map(|d| (d.name.clone(), d.id.clone()))
                    .collect(),
            ),
            NameKind::Role => plain(
                s.roles
                    .iter()
                    .map(|r| (r.name.clone(), r.id.clone()))
                    .collect(),
            ),
            NameKind::ManagementUnit => plain(
                s.management_units
                    .iter()
                    .map(|m| (m.name.clone(), m.id.clone()))
                    .collect(),
            ),
            NameKind::BusinessUnit => plain(
                s.business_units
                    .iter()
                    .map(|b| (b.name.clone(), b.id.clone()))
                    .collect(),
            ),
        }
    }
}

/// The names nearest to `want`: those containing it (or contained in it) regardless of case,
/// then those within a few edits, closest first; at most three, each once.
#[must_use]
pub fn nearest<'a>(want: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let w = want.to_lowercase();
    if w.is_empty() {
        return Vec::new();
    }
    let budget = (w.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, String)> = names
        .filter(|n| !n.is_empty())
        .filter_map(|n| {
            let l = n.to_lowercase();
            if l.contains(&w) || (l.len() >= 3 && w.contains(&l)) {
                return Some((0, n.to_owned()));
            }
            // The whole name, or its start as long as what was typed (a name typed in part).
            let prefix: String = l.chars().take(w.chars().count()).collect();
            let d = [
                distance(&w, &l, budget),
                distance(&w, &prefix, budget).map(|d| d + 1),
            ]
            .into_iter()
            .flatten()
            .min()?;
            Some((d, n.to_owned()))
        })
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    // Names come from org data and rule files: made visible, as any text shown (they are only
    // ever shown, never matched again).
    for (_, n) in scored {
        let n = crate::text::visible(&n).into_owned();
        if !out.contains(&n) {
            out.push(n);
        }
        if out.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    out
}

/// Levenshtein distance between `a` and `b`, or `None` past `max` (names are short; a long one
/// is cut off early by the length difference).
fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) =
        (a.chars().take(256).collect(), b.chars().take(256).collect());
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrgBuilder;

    fn org() -> Org {
        Org::new(
            OrgBuilder::new("t")
                .division("Home")
                .division("Support EU")
                .user("Alice Admin", "alice@x.example", "active")
                .user("Sam Smith", "sam.one@x.example", "active")
                .user("Sam Smith", "sam.two@x.example", "active")
                .client("wfm-sync", "CLIENT-CREDENTIALS", &[])
                .build(),
        )
    }

    #[test]
    fn names_people_type_resolve() {
        let o = org();
        assert!(matches!(
            o.resolve(NameKind::User, "Alice Admin"),
            Resolved::One(_)
        ));
        assert!(matches!(
            o.resolve(NameKind::User, "ALICE@X.EXAMPLE"),
            Resolved::One(_)
        ));
        assert!(matches!(
            o.resolve(NameKind::Client, "WFM-SYNC"),
            Resolved::One(_)
        ));
        assert!(matches!(
            o.resolve(NameKind::Division, "Support Eu"),
            Resolved::One(_)
        ));
    }

    #[test]
    fn two_objects_of_one_name_are_ambiguous_and_listed() {
        let Resolved::Ambiguous(list) = org().resolve(NameKind::User, "sam smith") else {
            panic!("not ambiguous");
        };
        assert_eq!(
            list,
            [
                "`Sam Smith` (sam.one@x.example)",
                "`Sam Smith` (sam.two@x.example)"
            ]
        );
    }

    #[test]
    fn a_typo_gets_the_nearest_names() {
        assert_eq!(
            org().resolve(NameKind::Client, "wfm-snyc"),
            Resolved::None(vec!["wfm-sync".to_owned()])
        );
        assert_eq!(
            org().resolve(NameKind::Division, "Suport"),
            Resolved::None(vec!["Support EU".to_owned()])
        );
        assert_eq!(
            org().resolve(NameKind::Division, "Mars"),
            Resolved::None(Vec::new())
        );
    }
}
