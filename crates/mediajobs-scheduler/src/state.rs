//! The scheduler's bookkeeping: one slab of compact job records, one timer heap, per-provider
//! ready queues, and what finished jobs ended with.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use mediajobs_core::{JobId, Provider, ProviderStatus, Snapshot, Status};
use rand::rngs::StdRng;
use tokio::sync::oneshot;

use crate::WaitError;
use crate::plan::{DurationModel, ScaledModel};

/// Index of a provider in per-provider arrays.
pub(crate) fn pidx(p: Provider) -> usize {
    match p {
        Provider::VibePeak => 0,
        Provider::VideoGen => 1,
        Provider::Vidiking => 2,
    }
}

/// How a job ended, as handed to its waiters.
pub(crate) type Outcome = Result<Arc<Snapshot>, WaitError>;

/// Where a watched job is in the driver's cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// In the timer heap, waiting for its next check.
    Waiting,
    /// Due, in its provider's ready queue, waiting for budget.
    Ready,
    /// A status or list request about it is out.
    InFlight,
}

/// The job holds one of its provider's in-flight task slots (VibePeak's plan limit).
pub(crate) const HOLDS_SLOT: u8 = 1;
/// The job's start time is known (submitted here, or `created_at`/`started_at` given), so its
/// duration can be learned.
pub(crate) const START_KNOWN: u8 = 2;
/// The last list did not show the job: check it by status from now on.
pub(crate) const LIST_MISS: u8 = 4;
/// The start time came from the provider's `created_at`.
pub(crate) const START_FROM_PROVIDER: u8 = 8;
/// The last sweep could not reach the job: it waits for its own due time instead of joining
/// the next sweep early.
pub(crate) const BEYOND_SWEEP: u8 = 16;

/// Marks "no interned string".
pub(crate) const NONE: u16 = u16::MAX;

/// One watched job, kept small: 100,000 of them must fit in a few hundred MB at most (the
/// benchmark's budget is 2 KB each; this is under 250 bytes plus the id).
#[derive(Debug)]
pub(crate) struct JobState {
    pub job: JobId,
    /// Changes whenever the job is (re)queued, so stale heap and queue entries are skipped.
    pub epoch: u64,
    pub phase: Phase,
    /// The last status seen; `None` before any.
    pub status: Option<Status>,
    /// The last raw status (interned), `NONE` before any.
    pub raw: u16,
    pub recognized: bool,
    /// The tool (interned), `NONE` when unknown.
    pub tool: u16,
    pub flags: u8,
    /// Order in which its provider's jobs began to be watched: the list shows the newest
    /// first, so this tells on which page a list should show the job.
    pub list_seq: u32,
    /// Units of work ([`crate::WatchOptions::work`]); 0 when unknown.
    pub work: f32,
    /// Consecutive errors or unrecognized answers: the backoff step.
    pub attempt: u8,
    pub queue_position: Option<u32>,
    /// `estimated_completion`, ms.
    pub eta: Option<i64>,
    /// Latest and previous progress readings (percent, ms).
    pub progress: Option<(f32, i64)>,
    pub prev_progress: Option<(f32, i64)>,
    /// `Retry-After` of the last answer, ms.
    pub retry_after_ms: i64,
    /// Start of the job, ms.
    pub start: i64,
    /// Last answer from a poll or list, ms.
    pub last_check: i64,
    /// Give up at, ms.
    pub deadline: i64,
    /// Next check, ms (informational; the heap holds the truth).
    pub next_check: i64,
    pub waiters: Vec<oneshot::Sender<Result<Snapshot, WaitError>>>,
}

impl JobState {
    pub(crate) fn new(job: JobId, now: i64, deadline: i64) -> Self {
        JobState {
            job,
            epoch: 0,
            phase: Phase::Waiting,
            status: None,
            raw: NONE,
            recognized: true,
            tool: NONE,
            flags: 0,
            list_seq: 0,
            work: 0.0,
            attempt: 0,
            queue_position: None,
            eta: None,
            progress: None,
            prev_progress: None,
            retry_after_ms: 0,
            start: now,
            last_check: now,
            deadline,
            next_check: now,
            waiters: Vec::new(),
        }
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A timer: check job `slot` (if its generation still matches) at `due` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub due: i64,
    pub epoch: u64,
    pub slot: u32,
}

/// A bounded string interner: raw statuses and tool names repeat across thousands of jobs.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u16>,
}

/// Past this many distinct strings (a provider inventing statuses), new ones share one slot.
const INTERN_CAP: usize = 4096;

impl Interner {
    pub(crate) fn intern(&mut self, s: &str) -> u16 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        if self.names.len() >= INTERN_CAP {
            return self.intern_overflow();
        }
        let id = self.names.len() as u16;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn intern_overflow(&mut self) -> u16 {
        const OTHER: &str = "<other>";
        if let Some(&id) = self.ids.get(OTHER) {
            return id;
        }
        let id = self.names.len() as u16;
        self.names.push(OTHER.to_string());
        self.ids.insert(OTHER.to_string(), id);
        id
    }

    pub(crate) fn get(&self, id: u16) -> Option<&str> {
        self.names.get(usize::from(id)).map(String::as_str)
    }
}

/// Everything behind the scheduler's one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub jobs: Vec<Option<JobState>>,
    pub free: Vec<u32>,
    pub index: HashMap<JobId, u32>,
    pub heap: BinaryHeap<Reverse<Entry>>,
    /// Due jobs a list call may refresh, per provider.
    pub ready_list: [VecDeque<(u32, u64)>; 3],
    /// The provider's forming list batch has already gathered the jobs due soon after it (one
    /// sweep per batch: sweeping on every driver turn while the batch waits for budget would
    /// cost O(jobs due soon) per answer received).
    pub early_swept: [bool; 3],
    /// The next [`JobState::list_seq`], per provider.
    pub list_seq_next: [u32; 3],
    /// Due jobs that need a status call, per provider.
    pub ready_status: [VecDeque<(u32, u64)>; 3],
    pub finished: HashMap<JobId, Outcome>,
    pub models: HashMap<(Provider, u16), DurationModel>,
    /// Durations per unit of work, by provider, tool and size class ([`crate::plan::size_class`]),
    /// for jobs whose size is known.
    pub scaled: HashMap<(Provider, u16, i8), ScaledModel>,
    pub tools: Interner,
    pub raws: Interner,
    /// Task slots held (watched unfinished jobs plus submits under way), per provider.
    pub tasks: [usize; 3],
    /// Consecutive 429s per provider, for pauses without a Retry-After.
    pub rate_limit_streak: [u32; 3],
    pub next_epoch: u64,
    pub rng: StdRng,
}

impl State {
    pub(crate) fn new(rng: StdRng) -> Self {
        State {
            jobs: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            heap: BinaryHeap::new(),
            ready_list: Default::default(),
            early_swept: [false; 3],
            list_seq_next: [0; 3],
            ready_status: Default::default(),
            finished: HashMap::new(),
            models: HashMap::new(),
            scaled: HashMap::new(),
            tools: Interner::default(),
            raws: Interner::default(),
            tasks: [0; 3],
            rate_limit_streak: [0; 3],
            next_epoch: 0,
            rng,
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn insert(&mut self, job: JobState) -> u32 {
        let id = job.job.clone();
        let slot = match self.free.pop() {
            Some(slot) => {
                self.jobs[slot as usize] = Some(job);
                slot
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as u32
            }
        };
        self.index.insert(id, slot);
        slot
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<JobState> {
        let job = self.jobs.get_mut(slot as usize)?.take()?;
        self.index.remove(&job.job);
        self.free.push(slot);
        Some(job)
    }

    pub(crate) fn job(&self, slot: u32) -> Option<&JobState> {
        self.jobs.get(slot as usize).and_then(Option::as_ref)
    }

    pub(crate) fn job_mut(&mut self, slot: u32) -> Option<&mut JobState> {
        self.jobs.get_mut(slot as usize).and_then(Option::as_mut)
    }

    /// The job in `slot` if `epoch` is still its current generation and it is in `phase`.
    pub(crate) fn current(&mut self, slot: u32, epoch: u64, phase: Phase) -> Option<&mut JobState> {
        self.job_mut(slot)
            .filter(|j| j.epoch == epoch && j.phase == phase)
    }

    /// The list page (0 = the newest) where `job` should appear, for pages of `limit`: one
    /// place behind every job of its provider watched after it (a lower bound: jobs created
    /// elsewhere with the same key push it further).
    pub(crate) fn expected_page(&self, job: &JobState, limit: u32) -> u32 {
        let newer = self.list_seq_next[pidx(job.job.provider)]
            .saturating_sub(job.list_seq)
            .saturating_sub(1);
        newer / limit.max(1)
    }

    pub(crate) fn bump_epoch(&mut self) -> u64 {
        self.next_epoch += 1;
        self.next_epoch
    }

    /// The job's last status, unified and raw.
    pub(crate) fn provider_status(&self, job: &JobState) -> Option<ProviderStatus> {
        let status = job.status?;
        let raw = self.raws.get(job.raw).unwrap_or("").to_string();
        Some(ProviderStatus {
            status,
            raw,
            recognized: job.recognized,
        })
    }

    /// Rebuilds the heap without stale entries once they outnumber live ones, so a job that is
    /// hinted or observed often cannot make the heap grow without bound.
    pub(crate) fn compact_heap(&mut self) {
        if self.heap.len() <= 2 * self.live() + 1024 {
            return;
        }
        let jobs = &self.jobs;
        let entries: Vec<_> = std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .filter(|Reverse(e)| {
                jobs.get(e.slot as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|j| j.epoch == e.epoch && j.phase == Phase::Waiting)
            })
            .collect();
        self.heap = BinaryHeap::from(entries);
    }
}

/// Lowercase, `-` separated: VideoGen's `GENERATE_IMAGE` and `generate-image` are one tool.
pub(crate) fn normalize_tool(tool: &str) -> String {
    tool.trim().to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_record_stays_small() {
        let size = std::mem::size_of::<JobState>();
        assert!(size <= 256, "JobState is {size} bytes");
    }

    #[test]
    fn the_interner_is_bounded() {
        let mut i = Interner::default();
        let a = i.intern("queued");
        assert_eq!(i.intern("queued"), a);
        for n in 0..5000 {
            i.intern(&format!("s{n}"));
        }
        assert!(i.names.len() <= INTERN_CAP + 1);
        assert_eq!(i.get(a), Some("queued"));
    }
}
