use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::vibepeak::body as vp_body;

fn with_faults(spec: &str) -> mediajobs_sim::SimConfig {
    mediajobs_sim::SimConfig {
        faults: spec.parse().unwrap(),
        ..manual()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_closes_without_an_answer_and_creates_nothing() {
    let env = start(with_faults("videogen:submit:drop=1")).await;
    let err = env
        .http
        .post(env.url("videogen", "/v1/tools/generate-image"))
        .bearer_auth(env.key("videogen"))
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .unwrap_err();
    assert!(
        !err.is_status(),
        "a connection error, not an HTTP answer: {err}"
    );
    let s = env.stats().await;
    assert_eq!(s["providers"]["videogen"]["requests"], 1);
    assert_eq!(s["providers"]["videogen"]["responses"]["none"], 1);
    assert_eq!(s["faults"]["videogen"]["submit:drop"], 1);
    assert!(s["tasks"].as_array().unwrap().is_empty());
    // Other operations are untouched.
    assert_eq!(
        env.get("videogen", "/v1/tools/executions").await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_creates_the_task_then_closes() {
    let env = start(with_faults("vidiking:submit:lost=1,vibepeak:*:lost=1")).await;
    let mut b = crate::vidiking::render("https://cdn.example.com/i.jpg");
    b["callback"] = json!("http://127.0.0.1:9/hook");
    let err = env
        .http
        .post(env.url("vidiking", "/v1/render"))
        .bearer_auth(env.key("vidiking"))
        .json(&b)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err}");
    let s = env.stats().await;
    let tasks = s["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "the task exists though the answer was lost");
    assert_eq!(s["providers"]["vidiking"]["responses"]["none"], 1);
    assert_eq!(s["faults"]["vidiking"]["submit:lost"], 1);
    // The list finds it by metadata, as a reconciling client would.
    let list = env.get("vidiking", "/v1/render").await.body;
    assert_eq!(list["data"][0]["metadata"]["key"], "line-3");
    // `lost` on a status read is ignored.
    let vp = env.get("vibepeak", "/v1/tasks/task_x").await;
    assert_eq!(vp.status, 404);
    // A submit that fails validation is answered normally.
    assert_eq!(
        env.post("vibepeak", "/v1/real-estate/narrated-slideshow", &json!({}))
            .await
            .status,
        400
    );
    let _ = vp_body;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_5xx_and_429() {
    let env = start(with_faults("vibepeak:status:5xx=1,vidiking:*:429=1")).await;
    let a = env.get("vibepeak", "/v1/tasks/task_x").await;
    assert!(a.status == 500 || a.status == 503, "{}", a.status);
    assert!(a.body["error"]["code"].is_string());
    let b = env.get("vidiking", "/v1/render").await;
    assert_eq!(b.status, 429);
    assert!(b.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    let s = env.stats().await;
    assert_eq!(s["providers"]["vibepeak"]["responses"]["5xx"], 1);
    assert_eq!(s["providers"]["vidiking"]["responses"]["429"], 1);
    assert_eq!(s["faults"]["vibepeak"]["status:5xx"], 1);
    assert_eq!(s["faults"]["vidiking"]["list:429"], 1);
    // Health has no operation: never faulted.
    assert_eq!(
        env.send(env.http.get(env.url("vibepeak", "/health")))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_vibepeak_429_is_the_documented_concurrency_limit() {
    // VibePeak documents one 429 only; a client that knows the docs must recognise the fault.
    let env = start(with_faults("vibepeak:status:429=1")).await;
    let a = env.get("vibepeak", "/v1/tasks/task_x").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.body["error"]["code"], "CONCURRENCY_LIMIT_EXCEEDED");
    let details = &a.body["error"]["details"];
    assert_eq!(details["limit"], 3, "{details}");
    assert_eq!(details["in_flight"], 0, "{details}");
    assert_eq!(details["plan"], "pro", "{details}");
    assert!(
        a.body["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    assert_eq!(a.header("retry-after").as_deref(), Some("30"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_videogen_answer_carries_its_rate_limit_headers() {
    let env = start(with_faults("videogen:status:5xx=1,videogen:list:429=1")).await;
    let limits = |a: &Answer| {
        [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ]
        .map(|h| a.header(h).and_then(|v| v.parse::<i64>().ok()))
    };
    // Injected faults: the window as it stands, this request not counted.
    let a = env.get("videogen", "/v1/tools/executions/vg_exec_1").await;
    assert!(a.status == 500 || a.status == 503, "{}", a.status);
    let [limit, remaining, reset] = limits(&a);
    assert_eq!((limit, remaining), (Some(5000), Some(5000)));
    assert!(reset.unwrap() > 0);
    let b = env.get("videogen", "/v1/tools/executions").await;
    assert_eq!(b.status, 429);
    assert_eq!(limits(&b)[..2], [Some(5000), Some(5000)]);
    assert!(b.header("retry-after").is_some());
    // A path that is no route: the status-read window.
    let c = env.get("videogen", "/v1/nope").await;
    assert_eq!(c.status, 404);
    assert_eq!(limits(&c)[..2], [Some(5000), Some(5000)]);
    // A real answer (here: no such file id) counts.
    let d = env.get("videogen", "/v1/files/file_x").await;
    assert_eq!(d.status, 400);
    assert_eq!(limits(&d)[..2], [Some(5000), Some(4999)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_delays_the_answer_in_real_time() {
    let env = start(with_faults("videogen:list:slow=1")).await;
    let t = Instant::now();
    assert_eq!(
        env.get("videogen", "/v1/tools/executions").await.status,
        200
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(env.stats().await["faults"]["videogen"]["list:slow"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_faults() {
    let env = start(with_faults("videogen:download:5xx=1")).await;
    let id = env
        .post(
            "videogen",
            "/v1/tools/text-to-speech",
            &json!({"ttsText": "hi"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(60);
    let b = env
        .get("videogen", &format!("/v1/tools/executions/{id}"))
        .await
        .body;
    let url = b["results"][0]["file"]["downloadSource"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 503);
    let s = env.stats().await;
    assert_eq!(s["faults"]["videogen"]["download:5xx"], 1);
    assert_eq!(s["downloads"]["videogen"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_lose_dup_and_forge() {
    // lose
    let env = start(with_faults("vibepeak:webhook:lose=1")).await;
    let mut rx = Receiver::start().await;
    let mut b = vp_body(6);
    b["webhook_url"] = json!(rx.url);
    env.post("vibepeak", "/v1/real-estate/narrated-slideshow", &b)
        .await;
    env.advance(601);
    assert!(rx.maybe_next(300).await.is_none());
    let s = env.stats().await;
    assert_eq!(s["faults"]["vibepeak"]["webhook:lose"], 1);
    assert_eq!(s["webhooks"]["vibepeak"]["sent"], 0);

    // dup: the same event twice.
    let env = start(with_faults("vidiking:webhook:dup=1")).await;
    let mut b = crate::vidiking::render("https://cdn.example.com/i.jpg");
    b["callback"] = json!(rx.url);
    env.post("vidiking", "/v1/render", &b).await;
    env.advance(200);
    let first = rx.next().await;
    eventually(|| async { (env.stats().await["pending_webhooks"] == 1).then_some(()) }).await;
    env.advance(10);
    let second = rx.next().await;
    assert_eq!(first.body, second.body);
    let s = eventually(|| async {
        let s = env.stats().await;
        (s["webhooks"]["vidiking"]["delivered_2xx"] == 2).then_some(s)
    })
    .await;
    assert_eq!(s["webhooks"]["vidiking"]["sent"], 2);
    assert_eq!(s["faults"]["vidiking"]["webhook:dup"], 1);

    // forge: an extra delivery that does not verify; this receiver answers 2xx to everything,
    // so the sim records it under forged_2xx.
    let env = start(with_faults("videogen:webhook:forge=1")).await;
    let created = env
        .post(
            "videogen",
            "/v1/webhooks/endpoints",
            &json!({"url": rx.url, "events": ["tool_execution.succeeded"]}),
        )
        .await;
    let secret = created.body["signingSecret"].as_str().unwrap().to_string();
    env.post(
        "videogen",
        "/v1/tools/text-to-speech",
        &json!({"ttsText": "hi"}),
    )
    .await;
    env.advance(60);
    let a = rx.next().await;
    let b = rx.next().await;
    let verifies = |c: &Caught| {
        let ts: i64 = c.header("webhook-timestamp").parse().unwrap();
        let fresh = (ts - env.sim.now().timestamp()).abs() <= 300;
        let sig = mediajobs_sim::standard_webhooks_signature(
            &secret,
            &c.header("webhook-id"),
            ts,
            &c.body,
        )
        .unwrap();
        fresh && c.header("webhook-signature").split(' ').any(|s| s == sig)
    };
    assert_eq!(
        [verifies(&a), verifies(&b)].iter().filter(|v| **v).count(),
        1,
        "exactly one genuine delivery"
    );
    let s = eventually(|| async {
        let s = env.stats().await;
        (s["webhooks"]["videogen"]["forged_2xx"] == 1
            && s["webhooks"]["videogen"]["delivered_2xx"] == 1)
            .then_some(s)
    })
    .await;
    assert_eq!(s["webhooks"]["videogen"]["sent"], 2);
    assert_eq!(s["webhooks"]["videogen"]["forged"], 1);
    assert_eq!(s["faults"]["videogen"]["webhook:forge"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delay_arrives_late() {
    let env = start(with_faults("vidiking:webhook:delay=1")).await;
    let mut rx = Receiver::start().await;
    let mut b = crate::vidiking::render("https://cdn.example.com/i.jpg");
    b["callback"] = json!(rx.url);
    env.post("vidiking", "/v1/render", &b).await;
    env.advance(200);
    assert!(rx.maybe_next(200).await.is_none(), "delayed");
    eventually(|| async { (env.stats().await["pending_webhooks"] == 1).then_some(()) }).await;
    env.advance(120);
    assert_eq!(rx.next().await.json()["event"], "render.complete");
}

#[test]
fn bad_specs_are_refused_naming_the_word() {
    for (spec, word) in [
        ("vibepeak:submit:dup=0.1", "dup"),
        ("acme:*:5xx=0.1", "acme"),
        ("*:poll:5xx=0.1", "poll"),
        ("*:*:explode=0.1", "explode"),
        ("*:webhook:drop=0.1", "drop"),
        ("*:*:5xx=2", "2"),
    ] {
        let err = spec
            .parse::<mediajobs_sim::Faults>()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`{word}`")), "{spec}: {err}");
    }
}
