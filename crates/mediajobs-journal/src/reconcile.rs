//! Reconciling uncertain submits with what each provider's list can prove.
//!
//! - **Vidiking**: our [`JobRecord::client_key`] travels in `metadata` and comes back as
//!   [`Snapshot::client_key`]: one list of the newest 100 finds the job, or proves it absent when
//!   the list reaches below the job's submit (the list head recorded before it, or a job whose id
//!   the journal recorded before it, or fewer than 100 jobs in all).
//! - **VideoGen**: executions carry neither the request nor a creation time. The list (newest
//!   first, `selfOnly=true`) is read down to a *boundary*: the list head recorded before the
//!   submit, or an execution whose id the journal recorded before the submit. Above it, the
//!   executions of the job's `toolType` that the journal does not know are the candidates:
//!   none → never created (safe to submit again); exactly one, claimed by no other uncertain
//!   job of that tool → adopted; several → stays uncertain and is reported.
//! - **VibePeak** (no list): reported as needing a decision; only
//!   [`ReconcileOptions::resubmit_uncertain`] sends it again.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use mediajobs_core::{ListQuery, Operation, Provider, ProviderApi, Snapshot, Timestamp};
use serde::Serialize;
use tracing::{info, warn};

use crate::error::JournalError;
use crate::journal::Journal;
use crate::model::{HeadMark, JobRecord, JobState, format_timestamp};

/// Vidiking's list has no cursor and clamps `limit` to 100.
pub const VIDIKING_LIST_LIMIT: u32 = 100;

/// How reconciliation behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// The user's explicit opt-in (`resume --resubmit-uncertain`): jobs that cannot be settled
    /// (VibePeak, ambiguous, unprovable) go back to `pending` and will be sent again, accepting
    /// that the provider may then run them twice.
    pub resubmit_uncertain: bool,
    /// Keys the opt-in does not cover: jobs whose submit became uncertain after the user gave
    /// it (a resend whose answer was lost again). They are reported, never resent in a loop.
    pub not_opted_in: BTreeSet<String>,
    /// Absence is concluded only once the job has been uncertain this long (client clock), so a
    /// request still travelling when its answer was given up on has time to land.
    pub min_age: Duration,
    /// VideoGen list page size (1–200).
    pub page_size: u32,
    /// At most this many VideoGen list pages per reconciliation.
    pub max_pages: u32,
    /// Whether to count the list calls made here in the journal's `api_calls` (turn off when
    /// the transport already counts every request).
    pub count_api_calls: bool,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            resubmit_uncertain: false,
            not_opted_in: BTreeSet::new(),
            min_age: Duration::from_secs(10),
            page_size: 200,
            max_pages: 10,
            count_api_calls: true,
        }
    }
}

/// What became of one uncertain job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReconcileOutcome {
    /// Found at the provider: the task is attached; wait for it as usual.
    Adopted {
        /// The remote id.
        id: String,
        /// Its state now.
        state: JobState,
    },
    /// Proven never created: back to `pending`, safe to submit again.
    NotSubmitted,
    /// Could not be settled, and the user opted in to resubmit: back to `pending`.
    ResubmitApproved,
    /// Several unknown tasks could be this one: stays `uncertain`; report it.
    Ambiguous {
        /// Their remote ids.
        candidates: Vec<String>,
    },
    /// The list does not reach far enough to prove absence: stays `uncertain`; report it.
    Unprovable {
        /// Why.
        reason: String,
    },
    /// No task found, but the submit is too recent to conclude: stays `uncertain`; reconcile
    /// again after `retry_at`.
    TooRecent {
        /// When absence can be concluded (client clock, RFC 3339).
        retry_at: String,
    },
    /// The provider cannot be asked (VibePeak): stays `uncertain` until the user decides
    /// (`resume --resubmit-uncertain`).
    NeedsDecision,
}

impl ReconcileOutcome {
    /// Whether the job left `uncertain` (adopted, or pending again).
    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            ReconcileOutcome::Adopted { .. }
                | ReconcileOutcome::NotSubmitted
                | ReconcileOutcome::ResubmitApproved
        )
    }

    /// Whether trying again later can settle it without the user (too recent).
    pub fn retry_later(&self) -> bool {
        matches!(self, ReconcileOutcome::TooRecent { .. })
    }
}

/// One uncertain job and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// The job's key.
    pub key: String,
    /// Its provider.
    pub provider: Provider,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: ReconcileOutcome,
}

/// Why reconciliation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The provider's list failed: nothing was decided, the jobs stay uncertain.
    #[error(
        "reconciling {provider} uncertain submits: listing tasks failed: {source}; \
         the jobs stay uncertain, try again later"
    )]
    List {
        /// The provider.
        provider: Provider,
        /// The adapter's error.
        #[source]
        source: mediajobs_core::Error,
    },
}

enum Decision {
    Adopt(Box<Snapshot>),
    Absent,
    Ambiguous(Vec<String>),
    Unprovable(String),
    Unaskable,
}

async fn list(
    journal: &dyn Journal,
    api: &dyn ProviderApi,
    query: &ListQuery,
    options: &ReconcileOptions,
) -> Result<mediajobs_core::ListPage, ReconcileError> {
    let provider = api.provider();
    let result = api.list(query).await;
    if options.count_api_calls {
        journal.add_api_calls(provider, Operation::List, 1)?;
    }
    result.map_err(|source| ReconcileError::List { provider, source })
}

/// Reads the newest task of the provider's list and records it as the list head that later
/// submits copy ([`Journal::record_list_head`]). Call it once per provider with a list before
/// its first submit in a run (required for VideoGen); one head serves every submit after it.
pub async fn refresh_list_head(
    journal: &dyn Journal,
    api: &dyn ProviderApi,
    options: &ReconcileOptions,
) -> Result<Option<String>, ReconcileError> {
    let provider = api.provider();
    let query = ListQuery {
        limit: Some(1),
        cursor: None,
        status: None,
        self_only: provider == Provider::VideoGen,
    };
    let page = list(journal, api, &query, options).await?;
    let head = page.items.first().map(|s| s.job.id.clone());
    journal.record_list_head(provider, head.as_deref())?;
    Ok(head)
}

/// Reconciles every `uncertain` job of `api`'s provider (one list pass for all of them) and
/// writes each outcome to the journal. `now` is the client clock's time.
///
/// ```no_run
/// # async fn demo(journal: &dyn mediajobs_journal::Journal, api: &dyn mediajobs_core::ProviderApi,
/// #               now: mediajobs_core::Timestamp) -> Result<(), mediajobs_journal::ReconcileError> {
/// use mediajobs_journal::{reconcile_uncertain, ReconcileOptions};
/// for r in reconcile_uncertain(journal, api, &ReconcileOptions::default(), now).await? {
///     if !r.outcome.is_settled() {
///         eprintln!("{} stays uncertain: {:?}", r.key, r.outcome);
///     }
/// }
/// # Ok(()) }
/// ```
pub async fn reconcile_uncertain(
    journal: &dyn Journal,
    api: &dyn ProviderApi,
    options: &ReconcileOptions,
    now: Timestamp,
) -> Result<Vec<Reconciliation>, ReconcileError> {
    let provider = api.provider();
    let jobs = journal.uncertain_jobs(provider)?;
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let can_list = api.capabilities().list;
    let decisions = match provider {
        Provider::VideoGen if can_list => videogen(journal, api, jobs, options).await?,
        Provider::Vidiking if can_list => vidiking(journal, api, jobs, options).await?,
        _ => jobs.into_iter().map(|j| (j, Decision::Unaskable)).collect(),
    };
    let mut out = Vec::with_capacity(decisions.len());
    for (job, decision) in decisions {
        let outcome = apply(journal, &job, decision, options, now)?;
        info!(key = %job.key, %provider, outcome = ?outcome, "uncertain submit reconciled");
        out.push(Reconciliation {
            key: job.key,
            provider,
            outcome,
        });
    }
    Ok(out)
}

fn apply(
    journal: &dyn Journal,
    job: &JobRecord,
    decision: Decision,
    options: &ReconcileOptions,
    now: Timestamp,
) -> Result<ReconcileOutcome, JournalError> {
    let opted_in = options.resubmit_uncertain && !options.not_opted_in.contains(&job.key);
    let opt_in = |why: &str| -> Result<ReconcileOutcome, JournalError> {
        journal.mark_resubmittable(
            &job.key,
            &format!("resubmit_uncertain: the user chose to send it again ({why})"),
        )?;
        Ok(ReconcileOutcome::ResubmitApproved)
    };
    match decision {
        Decision::Adopt(snapshot) => {
            journal.adopt(
                &job.key,
                &snapshot,
                "found in the provider's list after the submit's answer was lost",
            )?;
            Ok(ReconcileOutcome::Adopted {
                id: snapshot.job.id.clone(),
                state: JobState::from(snapshot.status.status),
            })
        }
        Decision::Absent => {
            let since = job
                .uncertain_since
                .or(job.sending_since)
                .unwrap_or(job.intent_at);
            let ready = chrono::Duration::from_std(options.min_age)
                .ok()
                .and_then(|d| since.checked_add_signed(d))
                .unwrap_or(since);
            if now < ready {
                return Ok(ReconcileOutcome::TooRecent {
                    retry_at: format_timestamp(ready),
                });
            }
            journal.mark_resubmittable(
                &job.key,
                "the provider's list proves the submit never created a task",
            )?;
            Ok(ReconcileOutcome::NotSubmitted)
        }
        Decision::Ambiguous(candidates) => {
            if opted_in {
                return opt_in("several unknown tasks could be it");
            }
            warn!(key = %job.key, ?candidates, "uncertain submit is ambiguous");
            journal.record_error(
                &job.key,
                Some("reconcile_ambiguous"),
                &format!(
                    "several unknown tasks could be this submit: {}",
                    candidates.join(", ")
                ),
            )?;
            Ok(ReconcileOutcome::Ambiguous { candidates })
        }
        Decision::Unprovable(reason) => {
            if opted_in {
                return opt_in(&reason);
            }
            journal.record_error(&job.key, Some("reconcile_unprovable"), &reason)?;
            Ok(ReconcileOutcome::Unprovable { reason })
        }
        Decision::Unaskable => {
            if opted_in {
                return opt_in("the provider cannot be asked");
            }
            Ok(ReconcileOutcome::NeedsDecision)
        }
    }
}

fn normalize_tool(t: &str) -> String {
    t.trim().to_ascii_uppercase().replace('-', "_")
}

/// Whether a listed task may be of the job's tool (`generate-image` ~ `GENERATE_IMAGE`). A task
/// without a tool might be anything: it counts as a match, which can only make the outcome more
/// cautious.
fn tool_matches(job_tool: Option<&str>, task_tool: Option<&str>) -> bool {
    match (job_tool, task_tool) {
        (Some(a), Some(b)) => normalize_tool(a) == normalize_tool(b),
        _ => true,
    }
}

/// The position of the first listed task known to be older than the job's submit: the list
/// head recorded before it, or a task whose id the journal recorded before the sending marker
/// (event order, not clocks). Everything above it is newer than the submit.
fn boundary(
    job: &JobRecord,
    items: &[Snapshot],
    known: &HashMap<String, Option<i64>>,
) -> Option<usize> {
    items.iter().position(|s| {
        let is_head = matches!(&job.list_head_at_send, HeadMark::Id(h) if *h == s.job.id);
        let known_before = match (job.send_seq, known.get(&s.job.id)) {
            (Some(sent), Some(Some(recorded))) => *recorded < sent,
            _ => false,
        };
        is_head || known_before
    })
}

async fn videogen(
    journal: &dyn Journal,
    api: &dyn ProviderApi,
    jobs: Vec<JobRecord>,
    options: &ReconcileOptions,
) -> Result<Vec<(JobRecord, Decision)>, ReconcileError> {
    let provider = Provider::VideoGen;
    let known = journal.known_remote_ids(provider)?;
    let mut items: Vec<Snapshot> = Vec::new();
    let mut cursor = None;
    let mut complete = false;
    for page_no in 0..options.max_pages.max(1) {
        let query = ListQuery {
            limit: Some(options.page_size.clamp(1, 200)),
            cursor: cursor.take(),
            status: None,
            self_only: true,
        };
        let page = list(journal, api, &query, options).await?;
        if page_no == 0 {
            // This answer came before any later submit: a fresh head for them.
            journal.record_list_head(provider, page.items.first().map(|s| s.job.id.as_str()))?;
        }
        items.extend(page.items);
        if jobs.iter().all(|j| boundary(j, &items, &known).is_some()) {
            break;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => {
                complete = true;
                break;
            }
        }
    }
    let candidates: Vec<Option<Vec<usize>>> = jobs
        .iter()
        .map(|j| {
            let end = boundary(j, &items, &known).or(complete.then_some(items.len()))?;
            Some(
                items
                    .iter()
                    .take(end)
                    .enumerate()
                    .filter(|(_, s)| {
                        !known.contains_key(&s.job.id)
                            && tool_matches(j.tool.as_deref(), s.tool.as_deref())
                    })
                    .map(|(i, _)| i)
                    .collect(),
            )
        })
        .collect();
    let claimed_elsewhere = |me: usize, item: usize| {
        candidates
            .iter()
            .enumerate()
            .any(|(other, c)| other != me && c.as_ref().is_some_and(|c| c.contains(&item)))
    };
    let mut out = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.into_iter().enumerate() {
        let decision = match candidates.get(i).cloned().flatten() {
            None => Decision::Unprovable(format!(
                "the list head recorded before its submit was not within the newest {} pages",
                options.max_pages.max(1)
            )),
            Some(c) if c.is_empty() => Decision::Absent,
            Some(c) => match c.as_slice() {
                [only] if !claimed_elsewhere(i, *only) => match items.get(*only) {
                    Some(s) => Decision::Adopt(Box::new(s.clone())),
                    None => Decision::Ambiguous(Vec::new()),
                },
                _ => Decision::Ambiguous(
                    c.iter()
                        .filter_map(|k| items.get(*k).map(|s| s.job.id.clone()))
                        .collect(),
                ),
            },
        };
        out.push((job, decision));
    }
    Ok(out)
}

async fn vidiking(
    journal: &dyn Journal,
    api: &dyn ProviderApi,
    jobs: Vec<JobRecord>,
    options: &ReconcileOptions,
) -> Result<Vec<(JobRecord, Decision)>, ReconcileError> {
    let provider = Provider::Vidiking;
    let known = journal.known_remote_ids(provider)?;
    let query = ListQuery {
        limit: Some(VIDIKING_LIST_LIMIT),
        cursor: None,
        status: None,
        self_only: false,
    };
    let page = list(journal, api, &query, options).await?;
    journal.record_list_head(provider, page.items.first().map(|s| s.job.id.as_str()))?;
    let items = page.items;
    let whole_history = items.len() < VIDIKING_LIST_LIMIT as usize && page.next_cursor.is_none();
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let matches: Vec<&Snapshot> = items
            .iter()
            .filter(|s| s.client_key.as_deref() == Some(job.client_key.as_str()))
            .collect();
        let decision = match matches.as_slice() {
            [one] if !known.contains_key(&one.job.id) => Decision::Adopt(Box::new((*one).clone())),
            [] => {
                if whole_history || boundary(&job, &items, &known).is_some() {
                    Decision::Absent
                } else {
                    Decision::Unprovable(format!(
                        "no job carries its key among the newest {VIDIKING_LIST_LIMIT}, and more \
                         jobs than that were created since its submit: absence cannot be proven"
                    ))
                }
            }
            several => Decision::Ambiguous(several.iter().map(|s| s.job.id.clone()).collect()),
        };
        out.push((job, decision));
    }
    Ok(out)
}
