//! Asking the platform which divisions a subject holds a permission in:
//! `GET /api/v2/authorization/divisionspermitted/paged/{subjectId}?permission=P` and
//! `…/paged/me` for the caller, over the fetcher's connection (token, budget, retries, 429,
//! progress) with a hard cap on the requests sent. What the answers mean is `verify`'s job.

use std::sync::Arc;
use std::time::Instant;

use super::conn::{join_all, Conn, Got};
use super::options::{FetchError, FetchOptions, FetchStats};
use super::plan::page_size;
use super::wire;
use crate::model::Coverage;

/// The page size asked for (see [`page_size::DIVISIONS_PERMITTED`]).
pub const PAGE_SIZE: usize = page_size::DIVISIONS_PERMITTED;

/// The path of `…/paged/me`, for reports and catalog look-ups.
pub const ME_PATH: &str = "/api/v2/authorization/divisionspermitted/paged/me";

/// One question: a subject (by id; `None` for the caller itself) and a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermittedQuery {
    /// The user (or group) id, or `None` for `…/paged/me`.
    pub subject: Option<String>,
    /// The permission, `domain:entity:action`.
    pub permission: String,
    /// The most pages to read (the plan counted this many requests for the question).
    pub max_pages: usize,
}

/// The platform's answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub enum PermittedAnswer {
    /// The divisions listed (ids) and `allDivsPermitted`.
    Divisions {
        /// Division ids, as listed.
        ids: Vec<String>,
        /// `allDivsPermitted`.
        all: bool,
    },
    /// More pages than the plan allowed, and not every division permitted: the list is partial.
    CutShort {
        /// The division ids of the pages read.
        ids: Vec<String>,
        /// Pages the listing has.
        pages: usize,
    },
    /// 403 or 404: the endpoint refused (the error body as read).
    Refused(Coverage),
    /// The request failed for good (after retries), or the request cap was reached first.
    Failed(String),
}

/// The request path of a question, with the permission and subject id percent-encoded.
#[must_use]
pub fn query_path(q: &PermittedQuery, page: usize) -> String {
    let base = match &q.subject {
        None => ME_PATH.to_owned(),
        Some(id) => format!(
            "/api/v2/authorization/divisionspermitted/paged/{}",
            encode(id)
        ),
    };
    format!(
        "{base}?permission={}&pageSize={PAGE_SIZE}&pageNumber={page}",
        encode(&q.permission)
    )
}

/// Percent-encode everything but unreserved characters and the `:` and `*` of permissions.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'*') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Ask every question, concurrently, sending at most `max_requests` requests in all (the token
/// request included). A question the platform could not answer is [`PermittedAnswer::Failed`];
/// only a failed sign-in is an error. Answers come back in the order of `queries`.
///
/// # Errors
/// When no token can be had.
pub async fn ask(
    opts: FetchOptions,
    queries: Vec<PermittedQuery>,
    max_requests: usize,
) -> Result<(Vec<PermittedAnswer>, FetchStats), FetchError> {
    let started = Instant::now();
    let conn = Conn::new(opts)?;
    conn.set_cap(max_requests);
    conn.set_planned(queries.len() + 1);
    conn.token(None).await?;
    let asked = join_all(queries.into_iter().enumerate().map(|(i, q)| {
        let conn = Arc::clone(&conn);
        (i, async move { Ok(ask_one(&conn, &q).await) })
    }))
    .await?;
    let mut answers: Vec<(usize, PermittedAnswer)> = asked;
    answers.sort_by_key(|(i, _)| *i);
    let gaps = answers
        .iter()
        .filter(|(_, a)| matches!(a, PermittedAnswer::Refused(_)))
        .count();
    Ok((
        answers.into_iter().map(|(_, a)| a).collect(),
        conn.stats(started, gaps),
    ))
}

/// One question: page 1, then further pages up to the question's cap unless every division is
/// permitted already (then the list adds nothing).
async fn ask_one(conn: &Conn, q: &PermittedQuery) -> PermittedAnswer {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let path = query_path(q, page);
        let body = match conn.get(&path, "divisionsPermitted").await {
            Ok(Got::Body(b)) => b,
            Ok(Got::Denied(gap)) => return PermittedAnswer::Refused(gap),
            Ok(Got::TooLarge) => {
                return PermittedAnswer::Failed(format!(
                    "the platform refused page size {PAGE_SIZE} as too large"
                ))
            }
            Err(e) => return PermittedAnswer::Failed(e.to_string()),
        };
        let listing: wire::DivsPermittedPage = match serde_json::from_slice(&body) {
            Ok(l) => l,
            Err(e) => {
                return PermittedAnswer::Failed(format!("unexpected response from `{path}`: {e}"))
            }
        };
        ids.extend(listing.entities.into_iter().map(|d| d.id));
        let pages = listing.page_count.unwrap_or(1);
        if listing.all_divs_permitted || page >= pages {
            return PermittedAnswer::Divisions {
                ids,
                all: listing.all_divs_permitted,
            };
        }
        if page >= q.max_pages {
            return PermittedAnswer::CutShort { ids, pages };
        }
        page += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_what_a_query_cannot_carry() {
        let q = PermittedQuery {
            subject: Some("u 1/x".into()),
            permission: "wfm:agent:*&x=1".into(),
            max_pages: 1,
        };
        assert_eq!(
            query_path(&q, 2),
            "/api/v2/authorization/divisionspermitted/paged/u%201%2Fx?permission=wfm:agent:*%26x%3D1&pageSize=25&pageNumber=2"
        );
        let me = PermittedQuery { subject: None, ..q };
        assert!(query_path(&me, 1).starts_with(ME_PATH));
    }
}
