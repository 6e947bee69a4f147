#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test]

mod common;

use std::time::Duration;

use common::*;
use mediajobs_core::{
    Capabilities, Clock, Error, ListPage, ListQuery, Operation, Output, Provider, ProviderApi,
    Snapshot, Status, SubmitRequest,
};
use mediajobs_journal::{
    JobState, Journal, ReconcileError, ReconcileOptions, ReconcileOutcome, SubmitGate,
    reconcile_uncertain, refresh_list_head,
};

mockall::mock! {
    pub Api {}

    #[async_trait::async_trait]
    impl ProviderApi for Api {
        fn provider(&self) -> Provider;
        fn capabilities(&self) -> Capabilities;
        async fn submit(&self, request: &SubmitRequest) -> Result<Snapshot, Error>;
        async fn status(&self, id: &str) -> Result<Snapshot, Error>;
        async fn cancel(&self, id: &str) -> Result<(), Error>;
        async fn list(&self, query: &ListQuery) -> Result<ListPage, Error>;
        async fn refresh_output(&self, id: &str, output: &Output) -> Result<Output, Error>;
    }
}

impl std::fmt::Debug for MockApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockApi")
    }
}

fn api(provider: Provider, pages: Vec<ListPage>) -> MockApi {
    let mut api = MockApi::new();
    api.expect_provider().return_const(provider);
    api.expect_capabilities().return_const(Capabilities {
        list: provider != Provider::VibePeak,
        list_cursor: provider == Provider::VideoGen,
        ..Capabilities::default()
    });
    let mut pages = pages.into_iter();
    let n = pages.len();
    api.expect_list().times(n).returning(move |q| {
        if provider == Provider::VideoGen {
            assert!(q.self_only, "VideoGen lists must be selfOnly");
        }
        Ok(pages.next().expect("one page per call"))
    });
    api
}

fn page(items: Vec<Snapshot>, next: Option<&str>) -> ListPage {
    ListPage {
        items,
        next_cursor: next.map(str::to_string),
    }
}

fn opts() -> ReconcileOptions {
    ReconcileOptions {
        min_age: Duration::from_secs(30),
        ..ReconcileOptions::default()
    }
}

/// A VideoGen job of `tool` whose submit answer was lost, after a head `vg_head`.
fn uncertain_videogen(j: &dyn Journal, key: &str, tool: &str) {
    j.record_intent(&intent(key, Provider::VideoGen, Some(tool)))
        .unwrap();
    j.begin_submit(key).unwrap();
    j.mark_uncertain(key, "timeout after sending").unwrap();
}

#[tokio::test]
async fn videogen_adopts_the_one_new_unknown_execution_of_the_tool() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, Some("vg_head"))
        .unwrap();
    uncertain_videogen(j, "img", "generate-image");
    let api = api(
        Provider::VideoGen,
        vec![page(
            vec![
                vg("vg_new", "GENERATE_IMAGE", Status::Running),
                vg("vg_clip", "GENERATE_VIDEO_CLIP", Status::Queued),
                vg("vg_head", "GENERATE_IMAGE", Status::Succeeded),
                vg("vg_older", "GENERATE_IMAGE", Status::Succeeded),
            ],
            Some("more"),
        )],
    );
    let out = reconcile_uncertain(j, &api, &opts(), f.clock.now())
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].outcome,
        ReconcileOutcome::Adopted {
            id: "vg_new".into(),
            state: JobState::Running
        }
    );
    let rec = j.job("img").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Running);
    assert_eq!(rec.remote_id.as_deref(), Some("vg_new"));
    assert!(!rec.is_sending());
    assert_eq!(
        j.submit_gate(Provider::VideoGen, Some("generate-image"))
            .unwrap(),
        SubmitGate::Open
    );
    // The list call was counted, and its first item is the new head.
    assert_eq!(j.counters().unwrap().api_calls, 1);
    assert_eq!(
        j.list_head(Provider::VideoGen)
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("vg_new")
    );
    let json = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(json["outcome"], "adopted");
    assert_eq!(json["key"], "img");
}

#[tokio::test]
async fn videogen_none_new_means_safe_to_submit_again_once_old_enough() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, Some("vg_head"))
        .unwrap();
    uncertain_videogen(j, "img", "generate-image");
    // Two pages: the head is on the second.
    let two_pages = || {
        vec![
            page(
                vec![vg("vg_clip", "GENERATE_VIDEO_CLIP", Status::Queued)],
                Some("c1"),
            ),
            page(
                vec![vg("vg_head", "GENERATE_IMAGE", Status::Succeeded)],
                Some("c2"),
            ),
        ]
    };
    let out = reconcile_uncertain(
        j,
        &api(Provider::VideoGen, two_pages()),
        &opts(),
        f.clock.now(),
    )
    .await
    .unwrap();
    assert!(
        matches!(out[0].outcome, ReconcileOutcome::TooRecent { .. }),
        "{out:?}"
    );
    assert_eq!(j.job("img").unwrap().unwrap().state, JobState::Uncertain);

    f.clock.advance(Duration::from_secs(31));
    let out = reconcile_uncertain(
        j,
        &api(Provider::VideoGen, two_pages()),
        &opts(),
        f.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::NotSubmitted);
    let rec = j.job("img").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Pending);
    assert!(!rec.is_sending());
    j.begin_submit("img").unwrap();
}

#[tokio::test]
async fn videogen_uses_an_execution_recorded_before_the_send_as_the_boundary() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, Some("vg_head"))
        .unwrap();
    submitted(
        j,
        "earlier",
        Provider::VideoGen,
        Some("generate-image"),
        "vg_earlier",
    );
    uncertain_videogen(j, "img", "generate-image");
    f.clock.advance(Duration::from_secs(60));
    // An unknown image execution below our own earlier one is older than the lost submit.
    let api = api(
        Provider::VideoGen,
        vec![page(
            vec![
                vg("vg_earlier", "GENERATE_IMAGE", Status::Running),
                vg("vg_foreign", "GENERATE_IMAGE", Status::Succeeded),
            ],
            Some("more"),
        )],
    );
    let out = reconcile_uncertain(j, &api, &opts(), f.clock.now())
        .await
        .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::NotSubmitted);
}

#[tokio::test]
async fn videogen_several_unknown_executions_stay_uncertain_and_hold_the_tool() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, Some("vg_head"))
        .unwrap();
    uncertain_videogen(j, "img", "generate-image");
    j.record_intent(&intent("img2", Provider::VideoGen, Some("generate-image")))
        .unwrap();
    let listing = || {
        vec![page(
            vec![
                vg("vg_a", "GENERATE_IMAGE", Status::Running),
                vg("vg_b", "generate-image", Status::Queued),
                vg("vg_head", "GENERATE_IMAGE", Status::Succeeded),
            ],
            None,
        )]
    };
    let out = reconcile_uncertain(
        j,
        &api(Provider::VideoGen, listing()),
        &opts(),
        f.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        out[0].outcome,
        ReconcileOutcome::Ambiguous {
            candidates: vec!["vg_a".into(), "vg_b".into()]
        }
    );
    assert!(!out[0].outcome.is_settled());
    assert_eq!(j.job("img").unwrap().unwrap().state, JobState::Uncertain);
    assert!(matches!(
        j.submit_gate(Provider::VideoGen, Some("generate-image"))
            .unwrap(),
        SubmitGate::Held { .. }
    ));
    assert!(j.begin_submit("img2").is_err());
    let codes: Vec<Option<String>> = j
        .events("img")
        .unwrap()
        .into_iter()
        .map(|e| e.code)
        .collect();
    assert!(codes.contains(&Some("reconcile_ambiguous".into())));

    // The user's explicit opt-in sends it again.
    let yes = ReconcileOptions {
        resubmit_uncertain: true,
        ..opts()
    };
    let out = reconcile_uncertain(j, &api(Provider::VideoGen, listing()), &yes, f.clock.now())
        .await
        .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::ResubmitApproved);
    assert_eq!(j.job("img").unwrap().unwrap().state, JobState::Pending);
}

#[tokio::test]
async fn videogen_head_out_of_reach_is_unprovable() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, Some("vg_head"))
        .unwrap();
    uncertain_videogen(j, "img", "generate-image");
    f.clock.advance(Duration::from_secs(60));
    let o = ReconcileOptions {
        max_pages: 2,
        ..opts()
    };
    let api = api(
        Provider::VideoGen,
        vec![
            page(
                vec![vg("vg_1", "GENERATE_VIDEO_CLIP", Status::Queued)],
                Some("c1"),
            ),
            page(
                vec![vg("vg_2", "GENERATE_VIDEO_CLIP", Status::Queued)],
                Some("c2"),
            ),
        ],
    );
    let out = reconcile_uncertain(j, &api, &o, f.clock.now())
        .await
        .unwrap();
    assert!(
        matches!(out[0].outcome, ReconcileOutcome::Unprovable { .. }),
        "{out:?}"
    );
    assert_eq!(j.job("img").unwrap().unwrap().state, JobState::Uncertain);
}

#[tokio::test]
async fn vidiking_finds_our_key_or_proves_absence_or_says_it_cannot() {
    let f = fixture();
    let j = &f.journal;
    for k in ["found", "absent", "twice"] {
        j.record_intent(&intent(k, Provider::Vidiking, None))
            .unwrap();
    }
    // Three submits on the wire at once (allowed for Vidiking), then the process dies.
    for k in ["found", "absent", "twice"] {
        j.begin_submit(k).unwrap();
    }
    for k in ["found", "absent", "twice"] {
        j.mark_uncertain(k, "connection reset").unwrap();
    }
    f.clock.advance(Duration::from_secs(60));
    let ck = |k: &str| j.job(k).unwrap().unwrap().client_key;
    // Another journal's job with the same plain key must not be adopted.
    let api1 = api(
        Provider::Vidiking,
        vec![page(
            vec![
                vk("job_f", Some(&ck("found"))),
                vk("job_t1", Some(&ck("twice"))),
                vk("job_t2", Some(&ck("twice"))),
                vk("job_other", Some("absent")),
            ],
            None,
        )],
    );
    let out = reconcile_uncertain(j, &api1, &opts(), f.clock.now())
        .await
        .unwrap();
    let by_key = |k: &str| out.iter().find(|r| r.key == k).unwrap().outcome.clone();
    assert_eq!(
        by_key("found"),
        ReconcileOutcome::Adopted {
            id: "job_f".into(),
            state: JobState::Queued
        }
    );
    // Fewer than 100 jobs in all: the whole history was seen.
    assert_eq!(by_key("absent"), ReconcileOutcome::NotSubmitted);
    assert_eq!(
        by_key("twice"),
        ReconcileOutcome::Ambiguous {
            candidates: vec!["job_t1".into(), "job_t2".into()]
        }
    );
    assert_eq!(
        j.job("found").unwrap().unwrap().remote_id.as_deref(),
        Some("job_f")
    );
    assert_eq!(j.job("absent").unwrap().unwrap().state, JobState::Pending);
}

#[tokio::test]
async fn vidiking_absence_beyond_the_newest_100_is_unprovable_unless_a_boundary_shows() {
    let f = fixture();
    let j = &f.journal;
    j.record_intent(&intent("lost", Provider::Vidiking, None))
        .unwrap();
    j.begin_submit("lost").unwrap();
    j.mark_uncertain("lost", "timeout").unwrap();
    f.clock.advance(Duration::from_secs(60));
    let full = |last: &str| {
        let mut items: Vec<Snapshot> = (0..99).map(|i| vk(&format!("job_{i}"), None)).collect();
        items.push(vk(last, None));
        vec![page(items, None)]
    };
    let out = reconcile_uncertain(
        j,
        &api(Provider::Vidiking, full("job_99")),
        &opts(),
        f.clock.now(),
    )
    .await
    .unwrap();
    assert!(
        matches!(out[0].outcome, ReconcileOutcome::Unprovable { .. }),
        "{out:?}"
    );
    assert_eq!(j.job("lost").unwrap().unwrap().state, JobState::Uncertain);

    // With the list head recorded before the submit inside the 100, absence is proven.
    j.mark_resubmittable("lost", "test reset").unwrap();
    j.record_list_head(Provider::Vidiking, Some("job_head"))
        .unwrap();
    j.begin_submit("lost").unwrap();
    j.mark_uncertain("lost", "timeout").unwrap();
    f.clock.advance(Duration::from_secs(60));
    let out = reconcile_uncertain(
        j,
        &api(Provider::Vidiking, full("job_head")),
        &opts(),
        f.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::NotSubmitted);
}

#[tokio::test]
async fn vibepeak_cannot_be_asked_and_needs_the_users_decision() {
    let f = fixture();
    let j = &f.journal;
    j.record_intent(&intent("vp", Provider::VibePeak, None))
        .unwrap();
    j.begin_submit("vp").unwrap();
    j.mark_uncertain("vp", "timeout").unwrap();
    f.clock.advance(Duration::from_secs(3600));
    // No list call at all (the mock expects none).
    let out = reconcile_uncertain(j, &api(Provider::VibePeak, vec![]), &opts(), f.clock.now())
        .await
        .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::NeedsDecision);
    assert_eq!(j.job("vp").unwrap().unwrap().state, JobState::Uncertain);
    assert_eq!(j.summary().unwrap().uncertain, 1);

    let yes = ReconcileOptions {
        resubmit_uncertain: true,
        ..opts()
    };
    let out = reconcile_uncertain(j, &api(Provider::VibePeak, vec![]), &yes, f.clock.now())
        .await
        .unwrap();
    assert_eq!(out[0].outcome, ReconcileOutcome::ResubmitApproved);
    assert_eq!(j.job("vp").unwrap().unwrap().state, JobState::Pending);
    j.begin_submit("vp").unwrap();
}

#[tokio::test]
async fn a_failed_list_decides_nothing() {
    let f = fixture();
    let j = &f.journal;
    j.record_list_head(Provider::VideoGen, None).unwrap();
    uncertain_videogen(j, "img", "generate-image");
    let mut api = MockApi::new();
    api.expect_provider().return_const(Provider::VideoGen);
    api.expect_capabilities().return_const(Capabilities {
        list: true,
        ..Capabilities::default()
    });
    api.expect_list().times(1).returning(|_| {
        Err(Error::Transport {
            provider: Provider::VideoGen,
            operation: Operation::List,
            failure: mediajobs_core::TransportFailure::Timeout,
            message: "timed out".into(),
        })
    });
    let err = reconcile_uncertain(j, &api, &opts(), f.clock.now())
        .await
        .unwrap_err();
    assert!(matches!(err, ReconcileError::List { .. }), "{err:?}");
    assert!(err.to_string().contains("stay uncertain"));
    assert_eq!(j.job("img").unwrap().unwrap().state, JobState::Uncertain);
    assert_eq!(j.counters().unwrap().api_calls, 1);
}

#[tokio::test]
async fn refresh_list_head_records_the_newest_task() {
    let f = fixture();
    let j = &f.journal;
    let api = api(
        Provider::VideoGen,
        vec![page(
            vec![vg("vg_top", "GENERATE_IMAGE", Status::Running)],
            Some("c"),
        )],
    );
    let head = refresh_list_head(j, &api, &opts()).await.unwrap();
    assert_eq!(head.as_deref(), Some("vg_top"));
    assert_eq!(
        j.list_head(Provider::VideoGen)
            .unwrap()
            .unwrap()
            .id
            .as_deref(),
        Some("vg_top")
    );
    let empty = self::api(Provider::Vidiking, vec![page(vec![], None)]);
    assert_eq!(refresh_list_head(j, &empty, &opts()).await.unwrap(), None);
    let h = j.list_head(Provider::Vidiking).unwrap().unwrap();
    assert_eq!(h.id, None);
}
