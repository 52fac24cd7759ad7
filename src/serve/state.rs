//! What answers are computed from: one immutable [`State`] (the org, the last check report, the
//! rules), swapped whole when a reload succeeds, so every answer reads one consistent state
//! however a reload interleaves with it; and whether the state is stale (a reload or fetch
//! failed and the last good state stayed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::engine::{CheckReport, RuleMeta, Severity};
use crate::model::Org;
use crate::watch::Session;

/// Where the org came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `snapshot`, `sample` or `live`.
    pub kind: &'static str,
    /// The snapshot file, when there is one.
    pub path: Option<String>,
}

/// One consistent state: everything an answer reads.
#[derive(Debug)]
pub struct State {
    /// The org.
    pub org: Arc<Org>,
    /// Every rule's last outcome, finished (waivers, baseline) as `check` does.
    pub report: CheckReport,
    /// The rules loaded.
    pub rules: Vec<RuleMeta>,
    /// The configured `fail_on`.
    pub fail_on: Option<Severity>,
    /// The configured `allow_unknown`.
    pub allow_unknown: bool,
    /// Where the org came from.
    pub source: Source,
    /// The snapshot's id: a hash of the file's bytes, or of the org's id and fetch time.
    pub snapshot_id: String,
    /// When this state was put in place.
    pub loaded_at: SystemTime,
    /// Counts states put in place since the server started (1 is the first).
    pub generation: u64,
}

impl State {
    /// The state a watch session holds now; `before` is the state it replaces (the org's load
    /// time stays when the org did not change).
    #[must_use]
    pub fn of(session: &Session, source: Source, before: Option<&Self>) -> Self {
        let org = Arc::clone(session.org());
        // The same org keeps its id and load time (a failed reload re-publishes the last good
        // one; the file's hash is then the broken file's).
        let same = before.filter(|b| Arc::ptr_eq(&b.org, &org));
        let snapshot_id = same.map_or_else(
            || {
                let snap = org.snapshot();
                let id = session.snapshot_hash().unwrap_or_else(|| {
                    fnv(&format!(
                        "{}|{}",
                        snap.organization.id,
                        snap.fetched_at.as_deref().unwrap_or("")
                    ))
                });
                format!("{id:016x}")
            },
            |b| b.snapshot_id.clone(),
        );
        Self {
            report: session.report(),
            rules: session.rules().cloned().collect(),
            fail_on: session.settings().fail_on,
            allow_unknown: session.settings().allow_unknown,
            source,
            snapshot_id,
            loaded_at: same.map_or_else(SystemTime::now, |b| b.loaded_at),
            generation: before.map_or(1, |b| b.generation + 1),
            org,
        }
    }

    /// How old the snapshot's data is, from its `fetchedAt` (`None` when it does not say).
    #[must_use]
    pub fn age(&self, now: SystemTime) -> Option<u64> {
        let at = self.org.snapshot().fetched_at.as_deref()?;
        let t = humantime::parse_rfc3339_weak(at).ok()?;
        Some(now.duration_since(t).unwrap_or_default().as_secs())
    }
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The state answers read now, and why it may be stale.
#[derive(Debug)]
pub struct Current {
    /// The last good state.
    pub state: Arc<State>,
    /// Each failed reload or fetch since it was put in place; empty when fresh.
    pub stale: Vec<String>,
}

impl Current {
    /// The metadata every answer carries: which snapshot, how old, whether stale.
    #[must_use]
    pub fn meta(&self, now: SystemTime) -> Value {
        let s = &self.state;
        json!({
            "snapshotId": s.snapshot_id,
            "snapshotAge": s.age(now),
            "stale": !self.stale.is_empty(),
            "staleReasons": self.stale,
            "loadedAt": humantime::format_rfc3339_seconds(s.loaded_at).to_string(),
            "generation": s.generation,
        })
    }
}

/// The state shared between the server and whatever reloads it.
#[derive(Debug)]
pub struct Shared {
    current: RwLock<Arc<Current>>,
    stopping: AtomicBool,
}

impl Shared {
    /// Start with this state.
    #[must_use]
    pub fn new(state: State) -> Self {
        Self {
            current: RwLock::new(Arc::new(Current {
                state: Arc::new(state),
                stale: Vec::new(),
            })),
            stopping: AtomicBool::new(false),
        }
    }

    /// The state to answer one request from (held for the whole answer).
    #[must_use]
    pub fn now(&self) -> Arc<Current> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set(&self, c: Current) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(c);
    }

    /// Put a new state in place, with the reasons it is stale (a broken rule file keeps its
    /// previous version running in a new state too).
    pub fn publish(&self, state: State, stale: Vec<String>) {
        self.set(Current {
            state: Arc::new(state),
            stale,
        });
    }

    /// Keep the state, say why it is stale (empty: it is not).
    pub fn set_stale(&self, stale: Vec<String>) {
        let state = Arc::clone(&self.now().state);
        self.set(Current { state, stale });
    }

    /// The server is shutting down: readiness says so.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether the server is shutting down.
    #[must_use]
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSource, Overrides, Settings};

    /// An answer holds the state it started with, whatever is published meanwhile.
    #[test]
    fn an_answer_keeps_its_state_across_a_publish() {
        let overrides = Overrides {
            config: ConfigSource::Disabled,
            ..Overrides::default()
        };
        let settings = Settings::resolve(&overrides).unwrap();
        let org = Arc::new(Org::new(crate::model::sample().unwrap()));
        let mut session = Session::new(settings, overrides, org, None).unwrap();
        session.run(None);
        let source = Source {
            kind: "sample",
            path: None,
        };
        let shared = Shared::new(State::of(&session, source.clone(), None));
        let held = shared.now();
        let other = Arc::new(Org::new(crate::model::sample().unwrap()));
        session.replace_org(other, "fetch").unwrap();
        shared.publish(
            State::of(&session, source, Some(&held.state)),
            vec!["x".to_owned()],
        );
        assert_eq!(held.state.generation, 1);
        assert!(held.stale.is_empty());
        let now = shared.now();
        assert_eq!(now.state.generation, 2);
        assert!(!Arc::ptr_eq(&now.state.org, &held.state.org));
        assert_eq!(now.meta(SystemTime::now())["stale"], true);
    }
}
