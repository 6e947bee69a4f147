//! Bounded memory of what was already acted on.
//!
//! Two bounded maps: the last N event ids (first in, first out), and the statuses acted on
//! for the last N jobs (least recently touched out). A job's entry is touched by every event
//! for it, so a burst of stale non-terminal events for a job keeps its terminal status in
//! memory instead of pushing it out; only events for *other* jobs age it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use mediajobs_core::{Provider, Status, WebhookEvent};

/// A map that forgets its least recently touched entries beyond `cap`.
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
    cap: usize,
    seq: u64,
}

impl<K: Clone + Hash + Eq, V> Lru<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Lru {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            seq: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// The value, without touching it.
    pub(crate) fn peek(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    /// Marks `k` as just used.
    pub(crate) fn touch(&mut self, k: &K) {
        self.seq += 1;
        let seq = self.seq;
        if let Some((_, s)) = self.map.get_mut(k) {
            *s = seq;
            self.order.push_back((k.clone(), seq));
            self.compact();
        }
    }

    /// Inserts or replaces `k` as just used, forgetting the oldest entries beyond the cap.
    pub(crate) fn insert(&mut self, k: K, v: V) {
        self.seq += 1;
        let seq = self.seq;
        self.order.push_back((k.clone(), seq));
        self.map.insert(k, (v, seq));
        while self.map.len() > self.cap {
            let Some((old, s)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, cur)| *cur == s) {
                self.map.remove(&old);
            }
        }
        self.compact();
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|(v, _)| v)
    }

    pub(crate) fn remove(&mut self, k: &K) {
        self.map.remove(k);
        self.compact();
    }

    /// Drops order entries that no longer name a live entry, so the queue stays within a
    /// constant factor of the cap whatever the pattern of touches and removals.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.cap + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|(_, cur)| cur == s));
        }
    }
}

type EventKey = (Provider, String);
type JobKey = (Provider, String);

/// What to do with a verified event.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Never seen: hand it on. The reservation is rolled back when dropped uncommitted.
    New(Reservation),
    /// Seen before, by event id or by (provider, job, status).
    Duplicate,
    /// Older than what is known of the job (a lower status than one already acted on, or a
    /// second terminal status).
    Superseded,
}

fn bit(s: Status) -> u8 {
    match s {
        Status::Queued => 1,
        Status::Running => 2,
        Status::Succeeded => 4,
        Status::Failed => 8,
        Status::Cancelled => 16,
    }
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Queued => 0,
        Status::Running => 1,
        Status::Succeeded | Status::Failed | Status::Cancelled => 2,
    }
}

fn highest_rank(bits: u8) -> Option<u8> {
    [
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
        Status::Running,
        Status::Queued,
    ]
    .into_iter()
    .find(|s| bits & bit(*s) != 0)
    .map(rank)
}

/// The unified status an event announces, from its own field or else its snapshot.
pub(crate) fn event_status(ev: &WebhookEvent) -> Option<Status> {
    ev.status
        .as_ref()
        .map(|s| s.status)
        .or_else(|| ev.snapshot.as_ref().map(|s| s.status.status))
}

/// The receiver's dedupe memory.
#[derive(Debug)]
pub(crate) struct Dedupe {
    events: Lru<EventKey, ()>,
    jobs: Lru<JobKey, u8>,
}

impl Dedupe {
    pub(crate) fn new(cap: usize) -> Self {
        Dedupe {
            events: Lru::new(cap),
            jobs: Lru::new(cap),
        }
    }

    /// Decides about `ev` and, when it is new, records it as acted on until rolled back.
    pub(crate) fn check(this: &Arc<Mutex<Dedupe>>, ev: &WebhookEvent) -> Decision {
        let mut d = this.lock().unwrap_or_else(|p| p.into_inner());
        let ekey = (!ev.event_id.is_empty()).then(|| (ev.provider, ev.event_id.clone()));
        if let Some(k) = &ekey {
            if d.events.contains(k) {
                return Decision::Duplicate;
            }
        }
        let mut job_bit = None;
        if let Some(st) = event_status(ev) {
            let jkey = (ev.provider, ev.job_id.clone());
            let seen = d.jobs.peek(&jkey).copied().unwrap_or(0);
            d.jobs.touch(&jkey);
            let verdict = if seen & bit(st) != 0 {
                Some(Decision::Duplicate)
            } else if highest_rank(seen).is_some_and(|r| r > rank(st) || r == 2) {
                Some(Decision::Superseded)
            } else {
                None
            };
            if let Some(verdict) = verdict {
                if let Some(k) = ekey {
                    d.events.insert(k, ());
                }
                return verdict;
            }
            d.jobs.insert(jkey.clone(), seen | bit(st));
            job_bit = Some((jkey, bit(st)));
        }
        if let Some(k) = &ekey {
            d.events.insert(k.clone(), ());
        }
        Decision::New(Reservation {
            dedupe: this.clone(),
            event: ekey,
            job_bit,
            committed: false,
        })
    }

    /// Whether a terminal status was already acted on for the job.
    pub(crate) fn knows_terminal(
        this: &Arc<Mutex<Dedupe>>,
        provider: Provider,
        job_id: &str,
    ) -> bool {
        let d = this.lock().unwrap_or_else(|p| p.into_inner());
        let bits = d
            .jobs
            .peek(&(provider, job_id.to_string()))
            .copied()
            .unwrap_or(0);
        highest_rank(bits) == Some(2)
    }

    #[cfg(test)]
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.events.len(), self.jobs.len())
    }
}

/// A new event's place in the dedupe memory. Dropped without [`Reservation::commit`] (the
/// event never reached the queue, or the request was abandoned), it is forgotten, so the
/// provider's retry is acted on.
#[derive(Debug)]
pub(crate) struct Reservation {
    dedupe: Arc<Mutex<Dedupe>>,
    event: Option<EventKey>,
    job_bit: Option<(JobKey, u8)>,
    committed: bool,
}

impl Reservation {
    pub(crate) fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let mut d = self.dedupe.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = &self.event {
            d.events.remove(k);
        }
        if let Some((k, b)) = &self.job_bit {
            let now_empty = match d.jobs.get_mut(k) {
                Some(bits) => {
                    *bits &= !*b;
                    *bits == 0
                }
                None => false,
            };
            if now_empty {
                d.jobs.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use mediajobs_core::ProviderStatus;

    use super::*;

    fn ev(event_id: &str, job: &str, st: Status) -> WebhookEvent {
        WebhookEvent {
            provider: Provider::Vidiking,
            event_id: event_id.into(),
            event: "render.x".into(),
            job_id: job.into(),
            status: Some(ProviderStatus::known(st, "X")),
            occurred_at: None,
            snapshot: None,
        }
    }

    fn decide(d: &Arc<Mutex<Dedupe>>, e: &WebhookEvent) -> &'static str {
        match Dedupe::check(d, e) {
            Decision::New(r) => {
                r.commit();
                "new"
            }
            Decision::Duplicate => "dup",
            Decision::Superseded => "superseded",
        }
    }

    #[test]
    fn lru_forgets_the_least_recently_touched() {
        let mut l = Lru::new(2);
        l.insert("a", 1);
        l.insert("b", 2);
        l.touch(&"a");
        l.insert("c", 3);
        assert!(l.contains(&"a") && l.contains(&"c") && !l.contains(&"b"));
        for _ in 0..1000 {
            l.touch(&"a");
        }
        assert!(l.order.len() <= 2 * 2 + 64 + 1, "{}", l.order.len());
    }

    #[test]
    fn duplicates_by_id_and_by_job_status() {
        let d = Arc::new(Mutex::new(Dedupe::new(100)));
        assert_eq!(decide(&d, &ev("e1", "j1", Status::Running)), "new");
        assert_eq!(decide(&d, &ev("e1", "j1", Status::Running)), "dup");
        assert_eq!(decide(&d, &ev("e2", "j1", Status::Running)), "dup");
        assert_eq!(decide(&d, &ev("e3", "j1", Status::Succeeded)), "new");
        assert_eq!(decide(&d, &ev("e4", "j1", Status::Queued)), "superseded");
        assert_eq!(decide(&d, &ev("e5", "j1", Status::Failed)), "superseded");
        assert_eq!(decide(&d, &ev("e6", "j1", Status::Succeeded)), "dup");
        assert_eq!(decide(&d, &ev("e7", "j2", Status::Succeeded)), "new");
    }

    #[test]
    fn an_uncommitted_reservation_is_forgotten() {
        let d = Arc::new(Mutex::new(Dedupe::new(100)));
        let e = ev("e1", "j1", Status::Succeeded);
        match Dedupe::check(&d, &e) {
            Decision::New(r) => drop(r),
            other => panic!("{other:?}"),
        }
        assert_eq!(d.lock().unwrap().sizes(), (0, 0));
        assert_eq!(decide(&d, &e), "new");
        assert_eq!(decide(&d, &e), "dup");
    }

    #[test]
    fn stale_events_for_a_job_keep_its_terminal_status_in_memory() {
        let d = Arc::new(Mutex::new(Dedupe::new(4)));
        assert_eq!(decide(&d, &ev("t", "j1", Status::Succeeded)), "new");
        for i in 0..50 {
            assert_eq!(
                decide(&d, &ev(&format!("r{i}"), "j1", Status::Running)),
                "superseded"
            );
        }
        assert_eq!(decide(&d, &ev("t2", "j1", Status::Succeeded)), "dup");
        // Memory stays bounded whatever arrives.
        for i in 0..50 {
            decide(&d, &ev(&format!("x{i}"), &format!("j{i}"), Status::Queued));
        }
        let (events, jobs) = d.lock().unwrap().sizes();
        assert!(events <= 4 && jobs <= 4);
    }
}
