//! Matching the usage dataset's template URIs to catalog operations, tolerantly.
//!
//! The exact form of `templateUri` is UNCONFIRMED (API-FACTS §10): with or without `/api`, with a
//! leading slash or not, with `{placeholder}` names that need not be the catalog's, `:name`
//! placeholders, a query string or a trailing slash. Each form is brought to
//! `/api/v2/…` and matched with [`Catalog::find`], the one request matcher, where a placeholder
//! segment matches only a template's parameter segment. What matches nothing is reported, never
//! guessed.

use std::collections::HashMap;

use super::Catalog;
use crate::model::{Requirement, Usage};

/// What `rolecall` says about template URIs wherever it reports matches.
pub const TEMPLATE_UNCONFIRMED: &str = "the exact form of usage `templateUri`s is UNCONFIRMED: \
     they were matched to catalog operations tolerantly (with or without `/api`, any placeholder \
     names), and those that matched nothing are listed";

/// A template URI in the catalog's form: `/api/v2/…`, no query, no trailing slash, `:name`
/// placeholders as `{name}`.
#[must_use]
pub fn normalize(uri: &str) -> String {
    let uri = uri.trim();
    let uri = uri.split_once('?').map_or(uri, |(p, _)| p);
    // A full URL keeps what starts at `/api/` (as `Catalog::find` does), or its path.
    let uri = match uri.find("/api/") {
        Some(i) => &uri[i..],
        None => uri
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(uri),
    };
    let segments: Vec<String> = uri
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix(':') {
            Some(name) if !name.is_empty() => format!("{{{name}}}"),
            _ => s.to_owned(),
        })
        .collect();
    let mut path = String::new();
    if segments.first().map(String::as_str) != Some("api") {
        path.push_str("/api");
    }
    for s in &segments {
        path.push('/');
        path.push_str(s);
    }
    path
}

/// The catalog operation (`METHOD /path`) a method and template URI match, if any.
#[must_use]
pub fn match_template(catalog: &Catalog<'_>, method: &str, uri: &str) -> Option<String> {
    let spec = format!("{} {}", method.trim().to_ascii_uppercase(), normalize(uri));
    catalog
        .find(&spec)
        .map(|m| format!("{} {}", m.operation.method, m.operation.path))
}

/// Match every template of the dataset to the catalog, storing the operation beside it.
pub fn match_usage(catalog: &Catalog<'_>, usage: &mut Usage) {
    for t in &mut usage.templates {
        t.operation = match_template(catalog, &t.http_method, &t.template_uri);
    }
}

/// Template matches for a usage dataset: the stored ones, completed by the catalog for
/// templates that have none stored. Keyed by `(method, template)`.
pub struct Matches {
    by_call: HashMap<(String, String), Option<String>>,
}

impl Matches {
    /// The stored matches, and the catalog's for every template that has none (a newer
    /// catalog may know what the fetch's did not).
    #[must_use]
    pub fn of(catalog: &Catalog<'_>, usage: &Usage) -> Self {
        let by_call = usage
            .templates
            .iter()
            .map(|t| {
                let op = t
                    .operation
                    .clone()
                    .or_else(|| match_template(catalog, &t.http_method, &t.template_uri));
                ((t.http_method.clone(), t.template_uri.clone()), op)
            })
            .collect();
        Self { by_call }
    }

    /// The operation of one call, if it matched.
    #[must_use]
    pub fn operation(&self, method: &str, template: &str) -> Option<&str> {
        self.by_call
            .get(&(method.to_owned(), template.to_owned()))
            .and_then(Option::as_deref)
    }

    /// The templates that matched nothing, as `METHOD template`, sorted.
    #[must_use]
    pub fn unmatched(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_call
            .iter()
            .filter(|(_, op)| op.is_none())
            .map(|((m, t), _)| format!("{m} {t}"))
            .collect();
        out.sort();
        out
    }

    /// How many distinct templates there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_call.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_call.is_empty()
    }
}

/// The requirement an operation is enforced with: the enforcement table's when it differs from
/// the description's (the same choice `explain` makes), else the catalog's.
#[must_use]
pub fn requirement(catalog: &Catalog<'_>, operation: &str) -> Option<Requirement> {
    catalog.find(operation)?.requirement()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    fn op(method: &str, path: &str) -> Operation {
        Operation {
            method: method.into(),
            path: path.into(),
            ..Operation::default()
        }
    }

    #[test]
    fn every_plausible_form_of_a_template_matches_and_strangers_do_not() {
        let ops = vec![
            op("GET", "/api/v2/users/{userId}"),
            op("GET", "/api/v2/users/me"),
            op(
                "POST",
                "/api/v2/workforcemanagement/managementunits/{managementUnitId}/agents",
            ),
        ];
        let c = Catalog::new(&ops);
        for form in [
            "/api/v2/users/{userId}",
            "api/v2/users/{userId}",
            "/v2/users/{id}",
            "v2/users/:userId",
            "/api/v2/users/{userId}/",
            "/api/v2/users/{userId}?expand=x",
            "https://api.mypurecloud.com/api/v2/users/{userId}",
        ] {
            assert_eq!(
                match_template(&c, "get", form).as_deref(),
                Some("GET /api/v2/users/{userId}"),
                "{form}"
            );
        }
        assert_eq!(
            match_template(&c, "GET", "/api/v2/users/me").as_deref(),
            Some("GET /api/v2/users/me")
        );
        assert_eq!(
            match_template(
                &c,
                "POST",
                "/api/v2/workforcemanagement/managementunits/{muId}/agents"
            )
            .as_deref(),
            Some("POST /api/v2/workforcemanagement/managementunits/{managementUnitId}/agents")
        );
        assert!(match_template(&c, "DELETE", "/api/v2/users/{userId}").is_none());
        assert!(match_template(&c, "GET", "/api/v2/nothing/here").is_none());
    }
}
