//! The `usage` dataset: which API operations each OAuth client and user called, per day, as the
//! platform's usage aggregate jobs answer it (`POST /api/v2/usage/aggregates/query/jobs`, grouped
//! by client, user, method and template URI), and its per-subject index.
//!
//! Usage has no division and no object ids: it says which operations were called, not where.
//! The exact form of `templateUri` is UNCONFIRMED (API-FACTS §10); which catalog operation each
//! template matched is stored beside the rows (`templates`), matched by `catalog::usage`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Usage as read: the interval asked, its rows, and the catalog operation of each template.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// The whole interval read, ISO-8601 `start/end` (jobs of at most 90 days each).
    pub interval: String,
    /// `Day`, `Week` or `Month`.
    #[serde(default)]
    pub granularity: String,
    /// Days the interval spans.
    #[serde(default)]
    pub days: u32,
    /// One row per day, client, user, method and template URI.
    #[serde(default)]
    pub rows: Vec<UsageRow>,
    /// Which catalog operation each `(httpMethod, templateUri)` matched, if any.
    #[serde(default)]
    pub templates: Vec<TemplateMatch>,
    /// What the reading leaned on (e.g. a job cut short), said to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn zero(n: &u64) -> bool {
    *n == 0
}

/// `OrganizationPublicApiUsage`, flattened: `oauthClient.id` and `user.id` as ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    /// `yyyy-MM-dd` (the start of the granularity's period).
    pub date: String,
    /// The OAuth client that made the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user the requests ran as (user-context grants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `GET`, `POST`, …
    pub http_method: String,
    /// The template URI as the platform reports it.
    pub template_uri: String,
    /// Requests in all.
    #[serde(default)]
    pub request_count: u64,
    /// 2xx answers.
    #[serde(default, skip_serializing_if = "zero")]
    pub status200: u64,
    /// 3xx answers.
    #[serde(default, skip_serializing_if = "zero")]
    pub status300: u64,
    /// 4xx answers (429s included).
    #[serde(default, skip_serializing_if = "zero")]
    pub status400: u64,
    /// 429 answers.
    #[serde(default, skip_serializing_if = "zero")]
    pub status429: u64,
    /// 5xx answers.
    #[serde(default, skip_serializing_if = "zero")]
    pub status500: u64,
}

/// One template URI and the catalog operation it matched.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMatch {
    /// The method.
    pub http_method: String,
    /// The template URI as reported.
    pub template_uri: String,
    /// `METHOD /path` of the catalog operation, or `None` when nothing matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// One operation a subject called over the window: counts summed over days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpUse {
    /// The method.
    pub method: String,
    /// The template URI as reported.
    pub template: String,
    /// Requests in all.
    pub requests: u64,
    /// 2xx answers.
    pub ok: u64,
    /// 3xx answers.
    pub redirects: u64,
    /// 4xx answers (429s included).
    pub client_errors: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// The first day with a request.
    pub first: String,
    /// The last day with a request.
    pub last: String,
}

impl OpUse {
    /// `METHOD template`.
    #[must_use]
    pub fn call(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// 4xx answers other than 429: calls failing today for a reason a grant may explain.
    #[must_use]
    pub fn failing(&self) -> u64 {
        self.client_errors.saturating_sub(self.throttled)
    }

    fn add(&mut self, r: &UsageRow) {
        self.requests += r.request_count;
        self.ok += r.status200;
        self.redirects += r.status300;
        self.client_errors += r.status400;
        self.throttled += r.status429;
        self.server_errors += r.status500;
        if self.first.is_empty() || r.date < self.first {
            self.first.clone_from(&r.date);
        }
        if r.date > self.last {
            self.last.clone_from(&r.date);
        }
    }
}

/// Usage by subject: every operation each client and user called, in a stable order. Built
/// and read through [`crate::model::Org::usage`] (the lookups by subject live beside `Org`).
#[derive(Debug, Default)]
pub struct UsageIndex {
    /// Operations by subject key (`(kind, index)`: 0 user, 1 group, 2 client).
    pub(super) by_subject: HashMap<(u8, u32), Vec<OpUse>>,
    /// Rows naming a client or user the snapshot does not have (deleted since, or unread).
    pub unattributed: usize,
}

impl UsageIndex {
    /// Add one row's counts to `key`'s operation.
    pub(super) fn add_row<'a>(
        &mut self,
        slots: &mut HashMap<((u8, u32), &'a str, &'a str), usize>,
        key: (u8, u32),
        r: &'a UsageRow,
    ) {
        let list = self.by_subject.entry(key).or_default();
        let slot = (key, r.http_method.as_str(), r.template_uri.as_str());
        let i = *slots.entry(slot).or_insert_with(|| {
            list.push(OpUse {
                method: r.http_method.clone(),
                template: r.template_uri.clone(),
                ..OpUse::default()
            });
            list.len() - 1
        });
        if let Some(u) = list.get_mut(i) {
            u.add(r);
        }
    }

    /// Sort each subject's operations by template, then method.
    pub(super) fn finish(&mut self) {
        for list in self.by_subject.values_mut() {
            list.sort_by(|a, b| (&a.template, &a.method).cmp(&(&b.template, &b.method)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Org, OrgBuilder, SubjectRef};

    fn row(date: &str, client: &str, method: &str, uri: &str, n: u64, bad: u64) -> UsageRow {
        UsageRow {
            date: date.into(),
            client_id: Some(client.into()),
            http_method: method.into(),
            template_uri: uri.into(),
            request_count: n,
            status200: n - bad,
            status400: bad,
            ..UsageRow::default()
        }
    }

    #[test]
    fn rows_sum_per_subject_and_operation_with_first_and_last_day() {
        let mut snap = OrgBuilder::new("t")
            .division("Home")
            .client("c", "CLIENT-CREDENTIALS", &[])
            .build();
        let id = snap.oauth_clients[0].id.clone();
        snap.usage = Some(std::sync::Arc::new(Usage {
            rows: vec![
                row("2026-09-02", &id, "GET", "/api/v2/users", 3, 1),
                row("2026-09-01", &id, "GET", "/api/v2/users", 2, 0),
                row("2026-09-03", "gone", "GET", "/api/v2/users", 2, 0),
            ],
            ..Usage::default()
        }));
        let org = Org::new(snap);
        let idx = org.usage().unwrap();
        let ops = idx.of(SubjectRef::Client(0));
        assert_eq!(ops.len(), 1);
        assert_eq!((ops[0].requests, ops[0].failing()), (5, 1));
        assert_eq!(
            (ops[0].first.as_str(), ops[0].last.as_str()),
            ("2026-09-01", "2026-09-02")
        );
        assert_eq!(idx.unattributed, 1);
    }
}
