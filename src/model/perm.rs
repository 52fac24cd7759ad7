//! Permission strings and the wildcard patterns roles grant.
//!
//! A permission is `domain:entity:action`. A role's policy grants `domain:entityName:action` for
//! each action, where `*` stands for every entity or every action. Comparison is case-sensitive
//! (entities are camelCase, e.g. `agentTimeOffRequest`).

use std::fmt;

/// A `domain:entity:action` string split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission<'a> {
    /// Domain, e.g. `wfm`.
    pub domain: &'a str,
    /// Entity, e.g. `agent`; `*` in a query asks for the wildcard itself.
    pub entity: &'a str,
    /// Action, e.g. `edit`.
    pub action: &'a str,
}

impl<'a> Permission<'a> {
    /// Split `domain:entity:action`; `None` when the string does not have exactly three
    /// non-empty parts (the API description contains strings such as `admin`).
    #[must_use]
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(':');
        let (domain, entity, action) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || domain.is_empty() || entity.is_empty() || action.is_empty() {
            return None;
        }
        Some(Self {
            domain,
            entity,
            action,
        })
    }
}

impl fmt::Display for Permission<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.domain, self.entity, self.action)
    }
}

/// One granted `domain:entity:action` where entity and action may be wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Domain (never a wildcard).
    pub domain: Box<str>,
    /// `None` = every entity.
    pub entity: Option<Box<str>>,
    /// `None` = every action.
    pub action: Option<Box<str>>,
}

impl Pattern {
    /// Whether this grant covers `perm`.
    ///
    /// A query part that is itself `*` is matched only by a wildcard grant, so
    /// `routing:*:*` asks "does this grant cover every routing entity and action".
    #[must_use]
    pub fn matches(&self, perm: &Permission<'_>) -> bool {
        *self.domain == *perm.domain
            && self.entity.as_deref().is_none_or(|e| e == perm.entity)
            && self.action.as_deref().is_none_or(|a| a == perm.action)
    }

    /// Whether this grant covers everything `other` grants (`wfm:*:*` covers `wfm:agent:edit`
    /// and `wfm:agent:*`; `wfm:agent:*` does not cover `wfm:*:*`).
    #[must_use]
    pub fn covers_pattern(&self, other: &Pattern) -> bool {
        fn part(mine: Option<&str>, theirs: Option<&str>) -> bool {
            match (mine, theirs) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => a == b,
            }
        }
        self.domain == other.domain
            && part(self.entity.as_deref(), other.entity.as_deref())
            && part(self.action.as_deref(), other.action.as_deref())
    }

    /// Whether both entity and action are wildcards (full control of the domain).
    #[must_use]
    pub fn is_full_wildcard(&self) -> bool {
        self.entity.is_none() && self.action.is_none()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.domain,
            self.entity.as_deref().unwrap_or("*"),
            self.action.as_deref().unwrap_or("*")
        )
    }
}

fn part(text: &str) -> Option<Box<str>> {
    (text != "*").then(|| text.into())
}

/// Expand a role's permission policies into patterns (one per action).
pub(crate) fn patterns_of(role: &super::snapshot::Role) -> Vec<Pattern> {
    let mut out = Vec::new();
    for policy in &role.permission_policies {
        for action in &policy.action_set {
            let p = Pattern {
                domain: policy.domain.as_str().into(),
                entity: part(&policy.entity_name),
                action: part(action),
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(d: &str, e: &str, a: &str) -> Pattern {
        Pattern {
            domain: d.into(),
            entity: part(e),
            action: part(a),
        }
    }

    #[test]
    fn parse_rejects_non_permissions() {
        assert!(Permission::parse("admin").is_none());
        assert!(Permission::parse("a:b").is_none());
        assert!(Permission::parse("a:b:c:d").is_none());
        assert!(Permission::parse("a::c").is_none());
        assert_eq!(Permission::parse("wfm:agent:edit").unwrap().entity, "agent");
    }

    #[test]
    fn wildcards_match_and_case_matters() {
        let p = |s| Permission::parse(s).unwrap();
        assert!(pat("wfm", "agent", "edit").matches(&p("wfm:agent:edit")));
        assert!(!pat("wfm", "agent", "edit").matches(&p("wfm:agent:view")));
        assert!(!pat("wfm", "agent", "edit").matches(&p("wfm:Agent:edit")));
        assert!(pat("wfm", "*", "edit").matches(&p("wfm:schedule:edit")));
        assert!(pat("wfm", "agent", "*").matches(&p("wfm:agent:view")));
        assert!(!pat("routing", "*", "*").matches(&p("wfm:agent:view")));
        // A wildcard in the query is matched only by a wildcard grant.
        assert!(!pat("wfm", "agent", "edit").matches(&p("wfm:*:edit")));
        assert!(pat("wfm", "*", "*").matches(&p("wfm:*:*")));
    }
}
