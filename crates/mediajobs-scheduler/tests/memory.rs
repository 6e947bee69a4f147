//! 100,000 waiting jobs cost memory, not tasks: measured as the growth of the process's
//! resident memory (Linux `/proc`; elsewhere the test only checks that they fit).
//!
//! Its own test binary, so no other test allocates meanwhile. (A counting allocator would need
//! `unsafe`, which the workspace forbids.)

mod common;

use std::sync::Arc;

use common::*;
use mediajobs_core::{Provider, ProviderApi, Status};
use mediajobs_scheduler::WatchOptions;

/// Resident memory in bytes, where the OS tells.
fn rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn a_hundred_thousand_waiting_jobs_cost_under_2_kb_each() {
    const JOBS: usize = 100_000;
    let clock = clock();
    let mut api = mock_api(Provider::VibePeak, Default::default());
    api.expect_status()
        .returning(|id| Ok(snap(Provider::VibePeak, id, Status::Running)));
    let s = start(
        config(),
        &clock,
        vec![Arc::new(api) as Arc<dyn ProviderApi>],
    );
    s.settled().await;
    let ids: Vec<_> = (0..JOBS)
        .map(|n| job(Provider::VibePeak, &format!("task_{n:024}")))
        .collect();
    let before = rss();
    for id in &ids {
        s.watch(id.clone(), None, WatchOptions::default()).unwrap();
    }
    s.settled().await;
    let after = rss();
    assert_eq!(s.stats().watching, JOBS);
    if let (Some(before), Some(after)) = (before, after) {
        let per_job = after.saturating_sub(before) / JOBS;
        println!("{per_job} bytes per waiting job");
        assert!(per_job <= 2048, "{per_job} bytes per waiting job");
    }
}
