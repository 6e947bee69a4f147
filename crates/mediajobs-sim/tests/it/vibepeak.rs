use serde_json::{Value, json};

use crate::common::*;

pub fn body(n: usize) -> Value {
    let images: Vec<String> = (0..n)
        .map(|i| format!("https://img.example.com/house/{i}.jpg"))
        .collect();
    let mut script = String::new();
    while script.chars().count() < 45 * n {
        script.push_str("Welcome home, a bright place. ");
    }
    let script: String = script.chars().take(45 * n).collect();
    json!({"images": images, "voice": {"voice_id": "narrator_1", "language": "en"}, "script": script})
}

const CREATE: &str = "/v1/real-estate/narrated-slideshow";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_fields_download_and_url_expiry() {
    let env = start(manual()).await;
    let created = env.post("vibepeak", CREATE, &body(6)).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let b = &created.body;
    let id = b["task_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("task_"));
    assert_eq!(
        created.header("location").unwrap(),
        format!("/v1/tasks/{id}")
    );
    assert_eq!(created.header("retry-after").unwrap(), "30");
    assert_eq!(b["status"], "queued");
    assert!(b["queue_position"].as_u64().unwrap() >= 1);
    assert_eq!(b["livemode"], false);
    let created_at =
        chrono::DateTime::parse_from_rfc3339(b["created_at"].as_str().unwrap()).unwrap();
    let eta =
        chrono::DateTime::parse_from_rfc3339(b["estimated_completion"].as_str().unwrap()).unwrap();
    let eta_s = (eta - created_at).num_seconds();
    assert!(
        (216..=660).contains(&eta_s),
        "estimate {eta_s} s off the 4–10 min range ±10 %"
    );

    let path = format!("/v1/tasks/{id}");
    let q = env.get("vibepeak", &path).await;
    assert_eq!(q.status, 200);
    assert_eq!(q.body["status"], "queued");
    assert!(q.body["queue_position"].is_u64() && q.body["estimated_completion"].is_string());
    assert_eq!(q.header("retry-after").unwrap(), "30");

    env.advance(60); // the queue wait is under 45 s
    let p = env.get("vibepeak", &path).await;
    assert_eq!(p.body["status"], "processing");
    assert!(p.body["started_at"].is_string());
    assert!(p.header("retry-after").is_some());

    env.advance(600);
    let c = env.get("vibepeak", &path).await;
    assert_eq!(c.body["status"], "completed", "{}", c.body);
    assert!(c.header("retry-after").is_none());
    for f in [
        "task_id",
        "created_at",
        "livemode",
        "started_at",
        "completed_at",
    ] {
        assert!(!c.body[f].is_null(), "{f}");
    }
    let r = &c.body["result"];
    assert!(r["duration_seconds"].is_u64());
    assert_eq!(r["resolution"], "1080p");
    let expires = chrono::DateTime::parse_from_rfc3339(r["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires.to_utc() - env.sim.now()).num_days(), 7);
    let video = r["video_url"].as_str().unwrap().to_string();
    let dl = env.http.get(&video).send().await.unwrap();
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.headers()["content-type"], "video/mp4");
    let len: usize = dl.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = dl.bytes().await.unwrap();
    assert_eq!(bytes.len(), len);
    assert_eq!(&bytes[4..8], b"ftyp");
    let cover = env
        .http
        .get(r["cover_image_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(cover.headers()["content-type"], "image/png");

    // After 7 days the URL is refused; a re-read hands out a fresh one.
    env.advance(7 * 24 * 3600 + 60);
    assert_eq!(env.http.get(&video).send().await.unwrap().status(), 403);
    let again = env.get("vibepeak", &path).await;
    let fresh = again.body["result"]["video_url"].as_str().unwrap();
    assert_ne!(fresh, video);
    assert_eq!(env.http.get(fresh).send().await.unwrap().status(), 200);
    // A tampered URL is refused.
    assert_eq!(
        env.http
            .get(format!("{fresh}0"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let s = env.stats().await;
    assert_eq!(s["downloads"]["vibepeak"], 3);
    assert_eq!(
        s["providers"]["vibepeak"]["requests"], 5,
        "downloads are not API requests"
    );
    let t = stats_task(&s, &id);
    assert_eq!(t["provider"], "vibepeak");
    assert_eq!(t["status"], "completed");
    assert!(t["terminal_at"].is_string());
    // body_sha256 as the contract defines it (webhook_url excluded, keys sorted).
    let mut with_hook = body(6);
    with_hook["webhook_url"] = json!("https://example.com/hook");
    let mut canonical = String::new();
    canonical_json(&body(6), &mut canonical);
    assert_eq!(
        t["body_sha256"],
        sha256_hex(&format!("POST {CREATE}\n{canonical}"))
    );
    let twice = env.post("vibepeak", CREATE, &with_hook).await;
    let s = env.stats().await;
    let t2 = stats_task(&s, twice.body["task_id"].as_str().unwrap());
    assert_eq!(t2["body_sha256"], t["body_sha256"]);
    assert!(t2["terminal_at"].is_null());
    assert_eq!(t2["status"], "queued");
}

/// Canonical JSON for the test's own hash: keys sorted, no whitespace.
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        x => out.push_str(&x.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_isolation_and_health() {
    let env = start(manual()).await;
    let h = env.send(env.http.get(env.url("vibepeak", "/health"))).await;
    assert_eq!(h.status, 200);
    let missing = env
        .send(env.http.post(env.url("vibepeak", CREATE)).json(&body(6)))
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body["error"]["code"], "MISSING_API_KEY");
    assert!(
        missing.body["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let invalid = env
        .send(
            env.http
                .get(env.url("vibepeak", "/v1/tasks/task_x"))
                .bearer_auth("vpk_test_nope"),
        )
        .await;
    assert_eq!(invalid.body["error"]["code"], "INVALID_API_KEY");

    let test_task = env.post("vibepeak", CREATE, &body(6)).await.body["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let live = env.sim.live_api_key("vibepeak").unwrap();
    let seen_by_live = env
        .send(
            env.http
                .get(env.url("vibepeak", &format!("/v1/tasks/{test_task}")))
                .bearer_auth(&live),
        )
        .await;
    assert_eq!(seen_by_live.status, 404);
    assert_eq!(seen_by_live.body["error"]["code"], "TASK_NOT_FOUND");
    let live_task = env
        .send(
            env.http
                .post(env.url("vibepeak", CREATE))
                .bearer_auth(&live)
                .json(&body(6)),
        )
        .await;
    assert_eq!(live_task.status, 202);
    assert_eq!(live_task.body["livemode"], true);
    let id = live_task.body["task_id"].as_str().unwrap();
    assert_eq!(
        env.get("vibepeak", &format!("/v1/tasks/{id}")).await.status,
        404
    );
    // test_scenario is for test keys only.
    let mut scen = body(6);
    scen["test_scenario"] = json!("success");
    let refused = env
        .send(
            env.http
                .post(env.url("vibepeak", CREATE))
                .bearer_auth(&live)
                .json(&scen),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors() {
    let env = start(manual()).await;
    let check =
        |mutate: fn(&mut Value), status: u16, code: &'static str, field: Option<&'static str>| {
            let env = &env;
            async move {
                let mut b = body(6);
                mutate(&mut b);
                let a = env.post("vibepeak", CREATE, &b).await;
                assert_eq!(a.status, status, "{}", a.body);
                assert_eq!(a.body["error"]["code"], code, "{}", a.body);
                if let Some(f) = field {
                    assert_eq!(a.body["error"]["details"]["field"], f, "{}", a.body);
                }
            }
        };
    check(
        |b| b["images"].as_array_mut().unwrap().truncate(5),
        400,
        "VALIDATION_ERROR",
        Some("images"),
    )
    .await;
    check(
        |b| b["images"][1] = b["images"][0].clone(),
        400,
        "VALIDATION_ERROR",
        Some("images"),
    )
    .await;
    check(
        |b| b["images"][0] = json!("ftp://x/a.jpg"),
        400,
        "VALIDATION_ERROR",
        Some("images"),
    )
    .await;
    check(
        |b| b["images"][0] = json!("https://x/a.gif"),
        400,
        "VALIDATION_ERROR",
        Some("images"),
    )
    .await;
    check(
        |b| {
            b.as_object_mut()
                .unwrap()
                .remove("voice")
                .map(|_| ())
                .unwrap()
        },
        400,
        "VALIDATION_ERROR",
        Some("voice"),
    )
    .await;
    check(
        |b| b["voice"]["language"] = json!("english!"),
        400,
        "VALIDATION_ERROR",
        Some("voice.language"),
    )
    .await;
    check(
        |b| b["script"] = json!("Too short."),
        400,
        "SCRIPT_TOO_SHORT",
        Some("script"),
    )
    .await;
    check(
        |b| b["script"] = json!("a".repeat(301)),
        400,
        "SCRIPT_TOO_LONG",
        Some("script"),
    )
    .await;
    check(
        |b| b["script"] = json!(format!("{}7", "a".repeat(250))),
        400,
        "VALIDATION_ERROR",
        Some("script"),
    )
    .await;
    check(
        |b| b["script"] = json!(format!("{}$", "a".repeat(250))),
        400,
        "VALIDATION_ERROR",
        Some("script"),
    )
    .await;
    check(
        |b| b["orientation"] = json!("square"),
        400,
        "VALIDATION_ERROR",
        Some("orientation"),
    )
    .await;
    check(
        |b| b["orchestration_mode"] = json!("random"),
        400,
        "VALIDATION_ERROR",
        Some("orchestration_mode"),
    )
    .await;
    check(
        |b| b["avatar_id"] = json!("not-a-uuid"),
        400,
        "VALIDATION_ERROR",
        Some("avatar_id"),
    )
    .await;
    check(
        |b| b["background_music"] = json!("yes"),
        400,
        "VALIDATION_ERROR",
        Some("background_music"),
    )
    .await;
    check(
        |b| b["webhook_url"] = json!("http://example.com/h"),
        400,
        "VALIDATION_ERROR",
        Some("webhook_url"),
    )
    .await;
    check(
        |b| b["test_scenario"] = json!("explode"),
        400,
        "VALIDATION_ERROR",
        Some("test_scenario"),
    )
    .await;
    check(
        |b| {
            b["elements_config"] =
                json!({"enabled": true, "watermark": {"url": "https://x/w.png", "opacity": 3}})
        },
        400,
        "VALIDATION_ERROR",
        Some("elements_config.watermark.opacity"),
    )
    .await;
    // Every optional field, valid, is accepted; 15 images with a 750-character script too.
    let mut full = body(15);
    full["orientation"] = json!("portrait");
    full["orchestration_mode"] = json!("sequential");
    full["background_music"] = json!(true);
    full["avatar_id"] = json!("123e4567-e89b-42d3-a456-426614174000");
    full["subtitle"] = json!({"subtitle_style_preset": "classic"});
    full["elements_config"] = json!({"enabled": true,
        "watermark": {"url": "https://x/w.png", "position": "top-right", "size": 0.2, "opacity": 0.5},
        "text": {"content": "Open house", "color": "#ffffff", "font": "Inter", "size": 24, "position": "bottom"}});
    full["webhook_url"] = json!("https://example.com/hook");
    full["test_scenario"] = json!("success");
    let ok = env.post("vibepeak", CREATE, &full).await;
    assert_eq!(ok.status, 202, "{}", ok.body);
    let not_json = env
        .send(
            env.http
                .post(env.url("vibepeak", CREATE))
                .bearer_auth(env.key("vibepeak"))
                .body("{nope"),
        )
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.body["error"]["code"], "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_and_plans() {
    let env = start(manual()).await;
    for _ in 0..3 {
        assert_eq!(env.post("vibepeak", CREATE, &body(6)).await.status, 202);
    }
    let over = env.post("vibepeak", CREATE, &body(6)).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.header("retry-after").unwrap(), "30");
    assert_eq!(over.body["error"]["code"], "CONCURRENCY_LIMIT_EXCEEDED");
    assert_eq!(
        over.body["error"]["details"],
        json!({"limit": 3, "in_flight": 3, "plan": "pro"})
    );
    // The live mode has its own count.
    let live = env.sim.live_api_key("vibepeak").unwrap();
    let l = env
        .send(
            env.http
                .post(env.url("vibepeak", CREATE))
                .bearer_auth(&live)
                .json(&body(6)),
        )
        .await;
    assert_eq!(l.status, 202);
    env.advance(601);
    assert_eq!(env.post("vibepeak", CREATE, &body(6)).await.status, 202);
    let s = env.stats().await;
    assert_eq!(s["providers"]["vibepeak"]["responses"]["429"], 1);

    let plus = start(mediajobs_sim::SimConfig {
        vibepeak_plan: mediajobs_sim::VibePeakPlan::Plus,
        ..manual()
    })
    .await;
    assert_eq!(plus.post("vibepeak", CREATE, &body(6)).await.status, 202);
    let o = plus.post("vibepeak", CREATE, &body(6)).await;
    assert_eq!(o.body["error"]["details"]["plan"], "plus");
    assert_eq!(o.body["error"]["details"]["limit"], 1);

    let free = start(mediajobs_sim::SimConfig {
        vibepeak_plan: mediajobs_sim::VibePeakPlan::Free,
        ..manual()
    })
    .await;
    let f = free.post("vibepeak", CREATE, &body(6)).await;
    assert_eq!(f.status, 403);
    assert_eq!(f.body["error"]["code"], "PLAN_REQUIRED");
    assert_eq!(f.body["error"]["details"]["current_plan"], "free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_failures_and_signed_webhooks() {
    let env = start(manual()).await;
    let mut rx = Receiver::start().await;
    let mut b = body(6);
    b["test_scenario"] = json!("image_processing_failed");
    b["webhook_url"] = json!(rx.url);
    let failed = env.post("vibepeak", CREATE, &b).await;
    let fid = failed.body["task_id"].as_str().unwrap().to_string();
    let mut ok = body(7);
    ok["webhook_url"] = json!(rx.url);
    ok["images"][3] = json!("https://missing.invalid/house.png");
    let missing = env.post("vibepeak", CREATE, &ok).await.body["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut good = body(8);
    good["webhook_url"] = json!(rx.url);
    let gid = env.post("vibepeak", CREATE, &good).await.body["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(601);

    let f = env.get("vibepeak", &format!("/v1/tasks/{fid}")).await;
    assert_eq!(f.body["status"], "failed");
    assert_eq!(f.body["error"]["code"], "IMAGE_PROCESSING_FAILED");
    assert!(
        f.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to process image at index")
    );
    assert!(f.body["started_at"].is_string() && f.body["completed_at"].is_string());
    let m = env.get("vibepeak", &format!("/v1/tasks/{missing}")).await;
    assert_eq!(m.body["error"]["code"], "IMAGE_PROCESSING_FAILED");
    assert!(
        m.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("index 3")
    );

    let secret = env.sim.webhook_secret("vibepeak").unwrap();
    let mut seen = std::collections::HashMap::new();
    for _ in 0..3 {
        let c = rx.next().await;
        let ts = c.header("x-vibepeak-timestamp");
        let sig = c.header("x-vibepeak-signature");
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(&c.body);
        assert_eq!(sig, format!("sha256={}", hmac_hex(secret.as_bytes(), &msg)));
        assert!((ts.parse::<i64>().unwrap() - env.sim.now().timestamp()).abs() <= 1);
        let j = c.json();
        assert_eq!(c.header("x-vibepeak-event"), j["event"].as_str().unwrap());
        for f in [
            "event",
            "task_id",
            "status",
            "created_at",
            "completed_at",
            "livemode",
        ] {
            assert!(!j[f].is_null(), "{f}");
        }
        seen.insert(j["task_id"].as_str().unwrap().to_string(), j);
    }
    assert_eq!(seen[&gid]["event"], "task.completed");
    assert!(seen[&gid]["result"]["video_url"].is_string());
    assert_eq!(seen[&fid]["event"], "task.failed");
    assert_eq!(seen[&fid]["error"]["code"], "IMAGE_PROCESSING_FAILED");
    let s = eventually(|| async {
        let s = env.stats().await;
        (s["webhooks"]["vibepeak"]["delivered_2xx"] == 3).then_some(s)
    })
    .await;
    assert_eq!(s["webhooks"]["vibepeak"]["sent"], 3);

    // The slow scenario takes longer than ten minutes.
    let mut slow = body(6);
    slow["test_scenario"] = json!("slow");
    let sid = env.post("vibepeak", CREATE, &slow).await.body["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(600);
    assert_eq!(
        env.get("vibepeak", &format!("/v1/tasks/{sid}")).await.body["status"],
        "processing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_with_backoff() {
    let env = start(manual()).await;
    let mut rx = Receiver::start().await;
    rx.status.store(500, std::sync::atomic::Ordering::SeqCst);
    let mut b = body(6);
    b["webhook_url"] = json!(rx.url);
    env.post("vibepeak", CREATE, &b).await;
    env.advance(601);
    let first = rx.next().await;
    assert!(
        rx.maybe_next(200).await.is_none(),
        "no retry before the backoff passes in sim time"
    );
    for wait in [5, 10, 20, 40] {
        // The retry is on the heap (in sim time) once the failed attempt is accounted for.
        eventually(|| async { (env.stats().await["pending_webhooks"] == 1).then_some(()) }).await;
        env.advance(wait);
        let again = rx.next().await;
        assert_eq!(again.body, first.body);
    }
    env.advance(3600);
    assert!(rx.maybe_next(300).await.is_none(), "5 attempts at most");
    let s = env.stats().await;
    assert_eq!(s["webhooks"]["vibepeak"]["sent"], 5);
    assert_eq!(s["webhooks"]["vibepeak"]["delivered_2xx"], 0);
}
