//! The `usage` dataset: which API operations each OAuth client and user called, per day, as the
//! platform's usage aggregate jobs answer it (`POST /api/v2/usage/aggregates/query/jobs`, grouped
//! by client, user, method and template URI), and its per-subject index.
//!
//! Usage has no division and no object ids: it says which operations were called, not where.
//! The exact form of `templateUri` is UNCONFIRMED (API-FACTS §10); which catalog operation each
//! template matched is stored beside the rows (`templates`), matched by `catalog::usage`.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Usage as read: the interval asked, and its rows in a compact form. Days, callers and
/// templates are stored once each, and a row names them by index: a 90-day read of a large org
/// has about a million rows, which as objects of strings would be three quarters of the
/// snapshot and most of its load time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", try_from = "UsageWire")]
pub struct Usage {
    /// The whole interval read, ISO-8601 `start/end` (jobs of at most 90 days each).
    pub interval: String,
    /// `Day`, `Week` or `Month`.
    #[serde(default)]
    pub granularity: String,
    /// Days the interval spans.
    #[serde(default)]
    pub days: u32,
    /// The days rows name, `yyyy-MM-dd` (the start of the granularity's period), each once.
    #[serde(default)]
    pub dates: Vec<String>,
    /// The callers rows name, each once.
    #[serde(default)]
    pub callers: Vec<Caller>,
    /// The `(httpMethod, templateUri)` pairs rows name, each once, with the catalog operation
    /// each matched.
    #[serde(default)]
    pub templates: Vec<TemplateMatch>,
    /// One row per day, caller and template: `[date, caller, template, requestCount,
    /// status200, status300, status400, status429, status500]`, the first three indexes into
    /// `dates`, `callers` and `templates`.
    #[serde(default)]
    pub rows: Vec<UsageRow>,
    /// What the reading leaned on (e.g. a job cut short), said to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Usage {
    /// The day of a row (empty for an index out of range, which [`Usage::check`] refuses).
    #[must_use]
    pub fn date(&self, r: &UsageRow) -> &str {
        self.dates.get(r.date as usize).map_or("", String::as_str)
    }

    /// The caller of a row.
    #[must_use]
    pub fn caller(&self, r: &UsageRow) -> Option<&Caller> {
        self.callers.get(r.caller as usize)
    }

    /// The method and template of a row.
    #[must_use]
    pub fn template(&self, r: &UsageRow) -> Option<&TemplateMatch> {
        self.templates.get(r.template as usize)
    }

    /// Whether every row's indexes name an entry of the tables (checked when a snapshot is
    /// read: a hand-edited or hostile file gets an error naming the row, not a wrong answer).
    ///
    /// # Errors
    /// The first row with an index out of range, with the table it points past.
    pub fn check(&self) -> Result<(), String> {
        let tables = [
            ("dates", self.dates.len()),
            ("callers", self.callers.len()),
            ("templates", self.templates.len()),
        ];
        for (i, r) in self.rows.iter().enumerate() {
            for ((table, len), at) in tables.iter().zip([r.date, r.caller, r.template]) {
                if at as usize >= *len {
                    return Err(format!(
                        "`usage.rows[{i}]` names entry {at} of `usage.{table}`, which has {len}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `usage` as a file holds it: rows as arrays (this form), or as objects of strings (the form
/// snapshots had before the tables), read into the tables.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageWire {
    interval: String,
    #[serde(default)]
    granularity: String,
    #[serde(default)]
    days: u32,
    #[serde(default)]
    dates: Vec<String>,
    #[serde(default)]
    callers: Vec<Caller>,
    #[serde(default)]
    templates: Vec<TemplateMatch>,
    #[serde(default)]
    rows: Vec<RowIn>,
    #[serde(default)]
    notes: Vec<String>,
}

/// One row as read: an array, or an object of the earlier form.
enum RowIn {
    Packed(UsageRow),
    Named(Box<NamedRow>),
}

/// A row of the earlier form: `OrganizationPublicApiUsage`, flattened.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamedRow {
    date: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    http_method: String,
    template_uri: String,
    #[serde(default)]
    request_count: u64,
    #[serde(default)]
    status200: u64,
    #[serde(default)]
    status300: u64,
    #[serde(default)]
    status400: u64,
    #[serde(default)]
    status429: u64,
    #[serde(default)]
    status500: u64,
}

impl<'de> Deserialize<'de> for RowIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = RowIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a usage row: an array of 9 numbers (or an object of the earlier form)")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<RowIn, A::Error> {
                UsageRow::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(RowIn::Packed)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RowIn, A::Error> {
                NamedRow::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|r| RowIn::Named(Box::new(r)))
            }
        }
        d.deserialize_any(Either)
    }
}

impl TryFrom<UsageWire> for Usage {
    type Error = String;

    fn try_from(w: UsageWire) -> Result<Self, String> {
        let named = w
            .rows
            .iter()
            .filter(|r| matches!(r, RowIn::Named(_)))
            .count();
        if named == 0 {
            return Ok(Self {
                interval: w.interval,
                granularity: w.granularity,
                days: w.days,
                dates: w.dates,
                callers: w.callers,
                templates: w.templates,
                rows: w
                    .rows
                    .into_iter()
                    .filter_map(|r| match r {
                        RowIn::Packed(p) => Some(p),
                        RowIn::Named(_) => None,
                    })
                    .collect(),
                notes: w.notes,
            });
        }
        if named != w.rows.len() {
            return Err("`usage.rows` mixes arrays and objects: each row must be an array".into());
        }
        // The earlier form: `templates` listed matches beside the rows; rows are stored anew.
        let matched: HashMap<(String, String), Option<String>> = w
            .templates
            .into_iter()
            .map(|t| ((t.http_method, t.template_uri), t.operation))
            .collect();
        let mut b = UsageBuilder::new(w.interval, w.granularity, w.days);
        for r in w.rows {
            if let RowIn::Named(r) = r {
                let counts = Counts {
                    requests: r.request_count,
                    status200: r.status200,
                    status300: r.status300,
                    status400: r.status400,
                    status429: r.status429,
                    status500: r.status500,
                };
                let caller = Caller {
                    client_id: r.client_id,
                    user_id: r.user_id,
                };
                b.push(&r.date, caller, &r.http_method, &r.template_uri, counts);
            }
        }
        let mut usage = b.finish();
        for t in &mut usage.templates {
            if let Some(op) = matched.get(&(t.http_method.clone(), t.template_uri.clone())) {
                t.operation.clone_from(op);
            }
        }
        usage.notes = w.notes;
        Ok(usage)
    }
}

/// Who made the requests of a row: `OrganizationPublicApiUsage`'s `oauthClient.id` and
/// `user.id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    /// The OAuth client that made the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user the requests ran as (user-context grants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The answers a row counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests in all.
    pub requests: u64,
    /// 2xx answers.
    pub status200: u64,
    /// 3xx answers.
    pub status300: u64,
    /// 4xx answers (429s included).
    pub status400: u64,
    /// 429 answers.
    pub status429: u64,
    /// 5xx answers.
    pub status500: u64,
}

/// One day's requests by one caller to one template, as indexes into [`Usage`]'s tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageRow {
    /// Index into [`Usage::dates`].
    pub date: u32,
    /// Index into [`Usage::callers`].
    pub caller: u32,
    /// Index into [`Usage::templates`].
    pub template: u32,
    /// What was answered.
    pub counts: Counts,
}

type Packed = (u32, u32, u32, u64, u64, u64, u64, u64, u64);

impl Serialize for UsageRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.counts;
        let packed: Packed = (
            self.date,
            self.caller,
            self.template,
            c.requests,
            c.status200,
            c.status300,
            c.status400,
            c.status429,
            c.status500,
        );
        packed.serialize(s)
    }
}

impl<'de> Deserialize<'de> for UsageRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (
            date,
            caller,
            template,
            requests,
            status200,
            status300,
            status400,
            status429,
            status500,
        ) = Packed::deserialize(d)?;
        Ok(Self {
            date,
            caller,
            template,
            counts: Counts {
                requests,
                status200,
                status300,
                status400,
                status429,
                status500,
            },
        })
    }
}

/// One template URI and the catalog operation it matched.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMatch {
    /// The method.
    pub http_method: String,
    /// The template URI as reported.
    pub template_uri: String,
    /// `METHOD /path` of the catalog operation, or `None` when nothing matched (or matching
    /// was not run: the catalog is asked again when the snapshot is read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// Builds a [`Usage`] row by row from the strings the platform answers with, storing each day,
/// caller and template once.
#[derive(Debug, Default)]
pub struct UsageBuilder {
    usage: Usage,
    dates: HashMap<String, u32>,
    callers: HashMap<Caller, u32>,
    templates: HashMap<String, HashMap<String, u32>>,
}

/// The index of `key` in a table, added when new (`None` past `u32::MAX` entries).
fn slot<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, u32>,
    key: K,
    add: impl FnOnce() -> usize,
) -> Option<u32> {
    if let Some(&i) = map.get(&key) {
        return Some(i);
    }
    let i = u32::try_from(add()).ok()?;
    map.insert(key, i);
    Some(i)
}

impl UsageBuilder {
    /// An empty dataset for an interval.
    #[must_use]
    pub fn new(interval: String, granularity: String, days: u32) -> Self {
        Self::from(Usage {
            interval,
            granularity,
            days,
            ..Usage::default()
        })
    }

    /// Add one day's requests by `caller` to `method template`. A row past `u32::MAX`
    /// distinct days, callers or templates is dropped (the fetch stops long before).
    pub fn push(
        &mut self,
        date: &str,
        caller: Caller,
        method: &str,
        template: &str,
        counts: Counts,
    ) {
        let u = &mut self.usage;
        let date = match self.dates.get(date) {
            Some(&i) => Some(i),
            None => slot(&mut self.dates, date.to_owned(), || {
                u.dates.push(date.to_owned());
                u.dates.len() - 1
            }),
        };
        let caller = slot(&mut self.callers, caller.clone(), || {
            u.callers.push(caller);
            u.callers.len() - 1
        });
        let by_method = self.templates.entry(method.to_owned()).or_default();
        let template = match by_method.get(template) {
            Some(&i) => Some(i),
            None => slot(by_method, template.to_owned(), || {
                u.templates.push(TemplateMatch {
                    http_method: method.to_owned(),
                    template_uri: template.to_owned(),
                    operation: None,
                });
                u.templates.len() - 1
            }),
        };
        if let (Some(date), Some(caller), Some(template)) = (date, caller, template) {
            u.rows.push(UsageRow {
                date,
                caller,
                template,
                counts,
            });
        }
    }

    /// Rows so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.usage.rows.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.usage.rows.is_empty()
    }

    /// The dataset.
    #[must_use]
    pub fn finish(self) -> Usage {
        self.usage
    }
}

impl From<Usage> for UsageBuilder {
    /// Go on adding rows to a dataset.
    fn from(usage: Usage) -> Self {
        let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let dates = usage
            .dates
            .iter()
            .enumerate()
            .map(|(i, d)| (d.clone(), index(i)))
            .collect();
        let callers = usage
            .callers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), index(i)))
            .collect();
        let mut templates: HashMap<String, HashMap<String, u32>> = HashMap::new();
        for (i, t) in usage.templates.iter().enumerate() {
            templates
                .entry(t.http_method.clone())
                .or_default()
                .insert(t.template_uri.clone(), index(i));
        }
        Self {
            usage,
            dates,
            callers,
            templates,
        }
    }
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
}

/// One subject's use of one template while the index is built: days as ranks, so a row costs
/// no string comparison or copy.
#[derive(Debug, Clone, Copy)]
pub(super) struct Acc {
    pub(super) template: u32,
    pub(super) counts: Counts,
    pub(super) first: u32,
    pub(super) last: u32,
}

impl Acc {
    pub(super) fn new(template: u32, rank: u32) -> Self {
        Self {
            template,
            counts: Counts::default(),
            first: rank,
            last: rank,
        }
    }

    pub(super) fn add(&mut self, c: &Counts, rank: u32) {
        let s = &mut self.counts;
        s.requests += c.requests;
        s.status200 += c.status200;
        s.status300 += c.status300;
        s.status400 += c.status400;
        s.status429 += c.status429;
        s.status500 += c.status500;
        self.first = self.first.min(rank);
        self.last = self.last.max(rank);
    }

    /// The operation's use, its days named from the dates table (`by_rank`: dates in order).
    pub(super) fn finish(self, usage: &Usage, by_rank: &[u32]) -> OpUse {
        let day = |rank: u32| {
            by_rank
                .get(rank as usize)
                .and_then(|&i| usage.dates.get(i as usize))
                .cloned()
                .unwrap_or_default()
        };
        let t = usage.templates.get(self.template as usize);
        let c = self.counts;
        OpUse {
            method: t.map(|t| t.http_method.clone()).unwrap_or_default(),
            template: t.map(|t| t.template_uri.clone()).unwrap_or_default(),
            requests: c.requests,
            ok: c.status200,
            redirects: c.status300,
            client_errors: c.status400,
            throttled: c.status429,
            server_errors: c.status500,
            first: day(self.first),
            last: day(self.last),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Org, OrgBuilder, SubjectRef};

    fn counts(n: u64, bad: u64) -> Counts {
        Counts {
            requests: n,
            status200: n - bad,
            status400: bad,
            ..Counts::default()
        }
    }

    fn caller(client: &str) -> Caller {
        Caller {
            client_id: Some(client.into()),
            user_id: None,
        }
    }

    #[test]
    fn rows_sum_per_subject_and_operation_with_first_and_last_day() {
        let mut snap = OrgBuilder::new("t")
            .division("Home")
            .client("c", "CLIENT-CREDENTIALS", &[])
            .build();
        let id = snap.oauth_clients[0].id.clone();
        let mut b = UsageBuilder::default();
        b.push(
            "2026-09-02",
            caller(&id),
            "GET",
            "/api/v2/users",
            counts(3, 1),
        );
        b.push(
            "2026-09-01",
            caller(&id),
            "GET",
            "/api/v2/users",
            counts(2, 0),
        );
        b.push(
            "2026-09-03",
            caller("gone"),
            "GET",
            "/api/v2/users",
            counts(2, 0),
        );
        let usage = b.finish();
        assert_eq!(
            (
                usage.dates.len(),
                usage.callers.len(),
                usage.templates.len()
            ),
            (3, 2, 1),
            "each day, caller and template stored once"
        );
        snap.usage = Some(std::sync::Arc::new(usage));
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

#[cfg(test)]
mod packed {
    use super::*;

    #[test]
    fn rows_are_stored_as_arrays_and_indexes_out_of_range_are_refused() {
        let mut b = UsageBuilder::new("i".into(), "Day".into(), 1);
        b.push(
            "2026-09-01",
            Caller::default(),
            "GET",
            "/api/v2/users",
            Counts {
                requests: 5,
                status200: 4,
                status429: 1,
                status400: 1,
                ..Counts::default()
            },
        );
        let usage = b.finish();
        let json = serde_json::to_value(&usage).unwrap();
        assert_eq!(
            json["rows"],
            serde_json::json!([[0, 0, 0, 5, 4, 0, 1, 1, 0]])
        );
        let back: Usage = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, usage);
        assert!(back.check().is_ok());
        let mut bad = json;
        bad["rows"][0][2] = serde_json::json!(7);
        let bad: Usage = serde_json::from_value(bad).unwrap();
        assert_eq!(
            bad.check().unwrap_err(),
            "`usage.rows[0]` names entry 7 of `usage.templates`, which has 1"
        );
    }

    /// Snapshots written before the tables kept rows as objects: they still load, into the
    /// tables, with their stored template matches; a file mixing the two forms is refused.
    #[test]
    fn rows_of_the_earlier_form_are_read_into_the_tables() {
        let old = serde_json::json!({
            "interval": "i", "granularity": "Day", "days": 2,
            "rows": [
                {"date": "2026-09-01", "clientId": "c1", "httpMethod": "GET", "templateUri": "/api/v2/users", "requestCount": 5, "status200": 4, "status400": 1},
                {"date": "2026-09-02", "clientId": "c1", "httpMethod": "GET", "templateUri": "/api/v2/users", "requestCount": 2, "status200": 2},
            ],
            "templates": [{"httpMethod": "GET", "templateUri": "/api/v2/users", "operation": "GET /api/v2/users"}],
        });
        let usage: Usage = serde_json::from_value(old).unwrap();
        assert_eq!(usage.dates, ["2026-09-01", "2026-09-02"]);
        assert_eq!(usage.callers.len(), 1);
        assert_eq!(
            usage.templates[0].operation.as_deref(),
            Some("GET /api/v2/users")
        );
        assert_eq!(
            usage
                .rows
                .iter()
                .map(|r| (r.date, r.counts.requests, r.counts.status400))
                .collect::<Vec<_>>(),
            [(0, 5, 1), (1, 2, 0)]
        );
        assert!(usage.check().is_ok());
        let mixed = serde_json::json!({
            "interval": "i",
            "dates": ["2026-09-01"], "callers": [{}], "templates": [{"httpMethod": "GET", "templateUri": "/x"}],
            "rows": [[0, 0, 0, 1, 1, 0, 0, 0, 0], {"date": "2026-09-01", "httpMethod": "GET", "templateUri": "/x"}],
        });
        let err = serde_json::from_value::<Usage>(mixed)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mixes arrays and objects"), "{err}");
        let short = serde_json::json!({"interval": "i", "rows": [[0, 0]]});
        assert!(serde_json::from_value::<Usage>(short).is_err());
    }
}
