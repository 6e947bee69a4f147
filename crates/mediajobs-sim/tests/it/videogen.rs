use serde_json::{Value, json};

use crate::common::*;

const FILE: &str = "vg_file_00000000000000aa00";

fn tool_bodies() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "generate-image",
            "GENERATE_IMAGE",
            json!({"prompt": "a house", "aspectRatio": {"width": 16, "height": 9}, "quality": "HIGH", "imageFileIds": [FILE]}),
        ),
        (
            "generate-video-clip",
            "GENERATE_VIDEO_CLIP",
            json!({"prompt": "a drone shot", "generateAudio": true, "durationSeconds": 5}),
        ),
        (
            "generate-motion-graphic",
            "GENERATE_MOTION_GRAPHIC",
            json!({"prompt": "logo", "transparentBackground": true}),
        ),
        (
            "text-to-speech",
            "TEXT_TO_SPEECH",
            json!({"ttsText": "Hello there", "voiceId": null, "speechLanguageCode": "en-US", "voiceSpeed": 1.2}),
        ),
        (
            "generate-sound-effect",
            "GENERATE_SOUND_EFFECT",
            json!({"prompt": "door creak", "durationSeconds": 3}),
        ),
        (
            "generate-music",
            "GENERATE_MUSIC",
            json!({"prompt": "calm piano", "durationSeconds": 120}),
        ),
        (
            "generate-avatar",
            "GENERATE_AVATAR",
            json!({"actorEntityId": "actor_1", "audioFileId": FILE}),
        ),
        (
            "vectorize-image",
            "VECTORIZE_IMAGE",
            json!({"imageFileId": FILE}),
        ),
        (
            "remove-image-background",
            "REMOVE_IMAGE_BACKGROUND",
            json!({"imageStorageFileId": FILE}),
        ),
        (
            "remove-video-background",
            "REMOVE_VIDEO_BACKGROUND",
            json!({"videoFileId": FILE}),
        ),
        (
            "upscale-image",
            "UPSCALE_IMAGE",
            json!({"imageFileId": FILE, "watermarkMode": "NONE"}),
        ),
        (
            "upscale-video",
            "UPSCALE_VIDEO",
            json!({"videoStorageFileId": FILE}),
        ),
        (
            "image-3d-effect",
            "IMAGE_3D_EFFECT",
            json!({"imageFileId": FILE, "isOutputTemporary": true}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_thirteen_tools_run_to_success_with_typed_results() {
    let env = start(manual()).await;
    let mut ids = Vec::new();
    for (tool, ty, body) in tool_bodies() {
        let a = env
            .post("videogen", &format!("/v1/tools/{tool}"), &body)
            .await;
        assert_eq!(a.status, 202, "{tool}: {}", a.body);
        let id = a.body["toolExecutionId"].as_str().unwrap().to_string();
        assert!(id.starts_with("vg_exec_"));
        ids.push((tool, ty, id));
    }
    env.advance(400);
    for (tool, ty, id) in ids {
        let s = env
            .get("videogen", &format!("/v1/tools/executions/{id}"))
            .await;
        let b = &s.body;
        assert_eq!(b["toolType"], ty);
        assert_eq!(b["status"], "succeeded", "{tool}");
        assert_eq!(b["progressPercentage"], 100);
        assert_eq!(b["error"], Value::Null);
        assert!(b.get("createdAt").is_none() && b.get("completedAt").is_none());
        let results = b["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        let f = &results[0]["file"];
        let expected = match tool {
            "text-to-speech" | "generate-sound-effect" | "generate-music" => "AUDIO",
            "generate-image" | "vectorize-image" | "remove-image-background" | "upscale-image" => {
                "IMAGE"
            }
            _ => "VIDEO",
        };
        assert_eq!(results[0]["type"], expected, "{tool}");
        assert_eq!(f["type"], expected);
        assert_eq!(f["fileId"], results[0]["fileId"]);
        for k in [
            "scope",
            "displayName",
            "thumbnailSource",
            "previewSource",
            "downloadSource",
        ] {
            assert!(!f[k].is_null(), "{tool} {k}");
        }
        if expected != "IMAGE" {
            assert!(f["durationSeconds"].is_number(), "{tool}");
        }
        let d = &f["downloadSource"];
        assert_eq!(d["status"], "ready");
        assert!(d["expiresAt"].is_i64() && d["fileBytes"].is_u64());
        let dl = env
            .http
            .get(d["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(dl.status(), 200, "{tool}");
        let ct = dl.headers()["content-type"].to_str().unwrap().to_string();
        let bytes = dl.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, d["fileBytes"].as_u64().unwrap());
        match expected {
            "IMAGE" => assert!(ct.starts_with("image/")),
            "VIDEO" => assert_eq!(ct, "video/mp4"),
            _ => assert!(ct.starts_with("audio/")),
        }
        if tool == "generate-image" {
            assert_eq!(&bytes[..4], b"\x89PNG");
            assert_eq!(d["width"], 1024);
            assert_eq!(d["height"], 576);
        }
        if tool == "text-to-speech" {
            assert_eq!(f["thumbnailSource"]["status"], "skipped");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_ids_and_auth() {
    let env = start(manual()).await;
    let empty = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": ""}),
        )
        .await;
    assert_eq!(empty.status, 400);
    assert_eq!(
        empty.body,
        json!({"message": "prompt is required", "code": "invalid_parameters"})
    );
    let cases = [
        (
            "generate-image",
            json!({"prompt": "x", "numResults": 0}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "numResults": 101}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "aspectRatio": "16:9"}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "quality": "ULTRA"}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "watermarkMode": "ON"}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "imageFileIds": [FILE, FILE, FILE, FILE, FILE]}),
            "invalid_parameters",
        ),
        (
            "generate-image",
            json!({"prompt": "x", "imageFileIds": ["file_1"]}),
            "invalid_id",
        ),
        (
            "generate-video-clip",
            json!({"generateAudio": true}),
            "invalid_parameters",
        ),
        (
            "text-to-speech",
            json!({"voiceId": "v"}),
            "invalid_parameters",
        ),
        (
            "generate-avatar",
            json!({"actorEntityId": "a"}),
            "invalid_parameters",
        ),
        (
            "upscale-image",
            json!({"imageFileId": "img-1!"}),
            "invalid_id",
        ),
        ("upscale-video", json!({}), "invalid_parameters"),
    ];
    for (tool, body, code) in cases {
        let a = env
            .post("videogen", &format!("/v1/tools/{tool}"), &body)
            .await;
        assert_eq!(a.status, 400, "{tool} {body}: {}", a.body);
        assert_eq!(a.body["code"], code, "{tool} {body}");
        assert!(a.body["message"].is_string());
    }
    let n = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "x", "numResults": 3}),
        )
        .await;
    let unknown = env
        .post("videogen", "/v1/tools/make-coffee", &json!({}))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        env.get("videogen", "/v1/tools/executions/exec_123")
            .await
            .body["code"],
        "invalid_id"
    );
    assert_eq!(
        env.get("videogen", "/v1/tools/executions/vg_exec_12")
            .await
            .status,
        404
    );
    assert_eq!(
        env.get("videogen", "/v1/tools/executions/vg_tool_abc")
            .await
            .status,
        404
    );
    assert_eq!(
        env.get("videogen", "/v1/files/nope").await.body["code"],
        "invalid_id"
    );
    assert_eq!(
        env.get("videogen", &format!("/v1/files/{FILE}"))
            .await
            .status,
        404
    );
    let no_key = env
        .send(env.http.get(env.url("videogen", "/v1/tools/executions")))
        .await;
    assert_eq!(no_key.status, 401);
    assert_eq!(
        no_key.body,
        json!({"message": "Unauthorized", "code": "missing_api_key"})
    );
    assert!(no_key.header("x-ratelimit-limit").is_some());
    let bad_key = env
        .send(
            env.http
                .get(env.url("videogen", "/v1/tools/executions"))
                .bearer_auth("vg_key_nope"),
        )
        .await;
    assert_eq!(bad_key.body["code"], "invalid_api_key");
    // Another team sees nothing of ours.
    let id = n.body["toolExecutionId"].as_str().unwrap();
    let other = env
        .send(
            env.http
                .get(env.url("videogen", &format!("/v1/tools/executions/{id}")))
                .bearer_auth(&env.sim.keys().videogen_other_team),
        )
        .await;
    assert_eq!(other.status, 404);
    env.advance(120);
    let done = env
        .get("videogen", &format!("/v1/tools/executions/{id}"))
        .await;
    assert_eq!(done.body["results"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_retry_cancel() {
    let env = start(mediajobs_sim::SimConfig {
        videogen_retry_rate: 1.0,
        ..manual()
    })
    .await;
    let id = env
        .post(
            "videogen",
            "/v1/tools/generate-video-clip",
            &json!({"prompt": "p"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/tools/executions/{id}");
    let first = env.get("videogen", &path).await;
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.body["progressPercentage"], 0);
    assert_eq!(first.body["attemptIndex"], 0);
    let mut seen_attempt1 = false;
    let mut last = (0u64, 0u64);
    let mut restarted = false;
    for _ in 0..400 {
        env.advance(1);
        let b = env.get("videogen", &path).await.body;
        if b["status"] != "running" {
            if b["status"] == "succeeded" {
                break;
            }
            continue;
        }
        let p = (
            b["attemptIndex"].as_u64().unwrap(),
            b["progressPercentage"].as_u64().unwrap(),
        );
        assert!(p.1 <= 99);
        if p.0 == last.0 {
            assert!(p.1 >= last.1, "progress never goes back within an attempt");
        } else {
            restarted = p.1 < last.1 || last.1 == 0;
        }
        seen_attempt1 |= p.0 == 1;
        last = p;
    }
    assert!(
        seen_attempt1 && restarted,
        "an internal retry shows as attemptIndex 1 with progress restarting"
    );
    let done = env.get("videogen", &path).await.body;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["attemptIndex"], 1);

    // Cancel: a running execution becomes cancelled; a terminal one never changes.
    let c = env
        .post(
            "videogen",
            "/v1/tools/generate-music",
            &json!({"prompt": "m"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(20);
    let ans = env
        .post(
            "videogen",
            &format!("/v1/tools/executions/{c}/cancel"),
            &Value::Null,
        )
        .await;
    assert_eq!(ans.status, 200);
    assert_eq!(ans.body, json!({"toolExecutionId": c}));
    env.advance(3600);
    let cb = env
        .get("videogen", &format!("/v1/tools/executions/{c}"))
        .await
        .body;
    assert_eq!(cb["status"], "cancelled");
    assert!(cb.get("results").is_none());
    let again = env
        .post(
            "videogen",
            &format!("/v1/tools/executions/{id}/cancel"),
            &Value::Null,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(env.get("videogen", &path).await.body["status"], "succeeded");
    let s = env.stats().await;
    assert_eq!(stats_task(&s, &c)["status"], "cancelled");
    assert!(stats_task(&s, &c)["terminal_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_carry_an_error() {
    let env = start(mediajobs_sim::SimConfig {
        failure_rate: 1.0,
        ..manual()
    })
    .await;
    let id = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(120);
    let b = env
        .get("videogen", &format!("/v1/tools/executions/{id}"))
        .await
        .body;
    assert_eq!(b["status"], "failed");
    assert!(b["error"]["message"].is_string());
    assert!(b.get("results").is_none());
    assert!(b["progressPercentage"].as_u64().unwrap() < 100);
}

/// Progress is per attempt: within one attempt it never goes back, not even when the
/// execution fails part-way (the failed answer keeps the progress reached).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_never_falls_within_an_attempt_even_on_failure() {
    let env = start(mediajobs_sim::SimConfig {
        failure_rate: 1.0,
        videogen_retry_rate: 0.0,
        ..manual()
    })
    .await;
    let mut ids = Vec::new();
    for tool in ["generate-image", "vectorize-image", "generate-video-clip"] {
        let body = match tool {
            "vectorize-image" => json!({"imageFileId": "vg_file_0123456789abcdef00"}),
            _ => json!({"prompt": "p"}),
        };
        let b = env
            .post("videogen", &format!("/v1/tools/{tool}"), &body)
            .await
            .body;
        ids.push(b["toolExecutionId"].as_str().unwrap().to_string());
    }
    let mut last = vec![(0u64, 0u64); ids.len()];
    let mut failed = vec![false; ids.len()];
    for _ in 0..200 {
        env.advance(2);
        for (i, id) in ids.iter().enumerate() {
            if failed[i] {
                continue;
            }
            let b = env
                .get("videogen", &format!("/v1/tools/executions/{id}"))
                .await
                .body;
            let p = b["progressPercentage"].as_u64().unwrap();
            let attempt = b["attemptIndex"].as_u64().unwrap();
            if attempt == last[i].1 {
                assert!(
                    p >= last[i].0,
                    "{id}: progress fell from {} to {p} ({})",
                    last[i].0,
                    b["status"]
                );
            }
            last[i] = (p, attempt);
            failed[i] = b["status"] == "failed";
        }
    }
    assert!(
        failed.iter().all(|f| *f),
        "every execution failed within the window"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pagination_and_self_only() {
    let env = start(manual()).await;
    let mate = env.sim.keys().videogen_teammate.clone();
    let mut mine = Vec::new();
    for i in 0..5 {
        let a = env
            .post(
                "videogen",
                "/v1/tools/text-to-speech",
                &json!({"ttsText": format!("line {i}")}),
            )
            .await;
        mine.push(a.body["toolExecutionId"].as_str().unwrap().to_string());
        env.advance(1);
    }
    let theirs = env
        .send(
            env.http
                .post(env.url("videogen", "/v1/tools/generate-image"))
                .bearer_auth(&mate)
                .json(&json!({"prompt": "x"})),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let all = env.get("videogen", "/v1/tools/executions").await.body;
    let ids: Vec<&str> = all["toolExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["toolExecutionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], theirs, "newest first, the whole team by default");
    assert_eq!(ids.len(), 6);
    assert_eq!(all["hasMore"], false);
    assert_eq!(all["nextCursor"], Value::Null);

    let p1 = env
        .get("videogen", "/v1/tools/executions?limit=2&selfOnly=true")
        .await
        .body;
    let ids1: Vec<&str> = p1["toolExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["toolExecutionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids1, vec![mine[4].as_str(), mine[3].as_str()]);
    assert_eq!(p1["hasMore"], true);
    let cur = p1["nextCursor"].as_str().unwrap();
    let p2 = env
        .get(
            "videogen",
            &format!("/v1/tools/executions?limit=2&selfOnly=true&cursor={cur}"),
        )
        .await
        .body;
    let ids2: Vec<&str> = p2["toolExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["toolExecutionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids2, vec![mine[2].as_str(), mine[1].as_str()]);
    let cur = p2["nextCursor"].as_str().unwrap();
    let p3 = env
        .get(
            "videogen",
            &format!("/v1/tools/executions?limit=2&selfOnly=true&cursor={cur}"),
        )
        .await
        .body;
    assert_eq!(p3["toolExecutions"].as_array().unwrap().len(), 1);
    assert_eq!(p3["hasMore"], false);
    assert_eq!(p3["nextCursor"], Value::Null);

    for q in [
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=garbage!",
        "selfOnly=maybe",
    ] {
        let a = env
            .get("videogen", &format!("/v1/tools/executions?{q}"))
            .await;
        assert_eq!(a.status, 400, "{q}");
        assert_eq!(a.body["code"], "invalid_parameters");
    }
    // A cursor from the endpoints list is refused by the executions list.
    for i in 0..2 {
        let a = env
            .post("videogen", "/v1/webhooks/endpoints", &json!({"url": format!("https://example.com/{i}"), "events": ["tool_execution.succeeded"]}))
            .await;
        assert_eq!(a.status, 201);
    }
    let eps = env
        .get("videogen", "/v1/webhooks/endpoints?limit=1")
        .await
        .body;
    let ecur = eps["nextCursor"].as_str().unwrap();
    assert_eq!(
        env.get("videogen", &format!("/v1/tools/executions?cursor={ecur}"))
            .await
            .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_expire_and_hydrate() {
    let env = start(manual()).await;
    let id = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(120);
    let path = format!("/v1/tools/executions/{id}");
    let b = env.get("videogen", &path).await.body;
    let file_id = b["results"][0]["fileId"].as_str().unwrap().to_string();
    let url = b["results"][0]["file"]["downloadSource"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let exp = b["results"][0]["file"]["downloadSource"]["expiresAt"]
        .as_i64()
        .unwrap();
    assert!(exp > env.sim.now().timestamp() && exp <= env.sim.now().timestamp() + 3600);
    assert_eq!(env.http.get(&url).send().await.unwrap().status(), 200);
    env.advance(3601);
    assert_eq!(
        env.http.get(&url).send().await.unwrap().status(),
        403,
        "expired after about an hour"
    );
    // A re-read returns the URLs from completion time.
    let again = env.get("videogen", &path).await.body;
    assert_eq!(again["results"][0]["file"]["downloadSource"]["url"], url);
    // GET file: no signed URLs.
    let f = env.get("videogen", &format!("/v1/files/{file_id}")).await;
    assert_eq!(f.status, 200);
    assert_eq!(f.body["fileId"], file_id);
    assert!(f.body["downloadSource"].get("url").is_none());
    assert_eq!(f.body["downloadSource"]["status"], "ready");
    // Hydrate: fresh URLs.
    let h = env
        .post(
            "videogen",
            &format!("/v1/files/{file_id}/hydrate"),
            &Value::Null,
        )
        .await;
    assert_eq!(h.status, 200);
    let fresh = h.body["downloadSource"]["url"].as_str().unwrap();
    assert_ne!(fresh, url);
    assert!(
        h.body["downloadSource"]["expiresAt"].as_i64().unwrap() >= env.sim.now().timestamp() + 3599
    );
    assert_eq!(env.http.get(fresh).send().await.unwrap().status(), 200);
    assert_eq!(
        env.http
            .get(h.body["thumbnailSource"]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let s = env.stats().await;
    assert_eq!(s["downloads"]["videogen"], 3);
    assert_eq!(
        s["providers"]["videogen"]["by_route"]["POST /v1/files/{fileId}/hydrate"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_headers() {
    let limits = mediajobs_sim::VideoGenLimits {
        submit: 2,
        ..Default::default()
    };
    let env = start(mediajobs_sim::SimConfig {
        videogen_limits: limits,
        ..manual()
    })
    .await;
    let a = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p"}),
        )
        .await;
    assert_eq!(a.header("x-ratelimit-limit").unwrap(), "2");
    assert_eq!(a.header("x-ratelimit-remaining").unwrap(), "1");
    let reset: i64 = a.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let now = env.sim.now().timestamp();
    assert!(reset > now && reset <= now + 3600);
    env.post(
        "videogen",
        "/v1/tools/generate-image",
        &json!({"prompt": "p"}),
    )
    .await;
    let over = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p"}),
        )
        .await;
    assert_eq!(over.status, 429);
    assert_eq!(over.header("x-ratelimit-remaining").unwrap(), "0");
    let retry: i64 = over.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, reset - now);
    // Other endpoints and other keys have their own budgets.
    let list = env.get("videogen", "/v1/tools/executions").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.header("x-ratelimit-limit").unwrap(), "5000");
    let mate = env
        .send(
            env.http
                .post(env.url("videogen", "/v1/tools/generate-image"))
                .bearer_auth(&env.sim.keys().videogen_teammate)
                .json(&json!({"prompt": "p"})),
        )
        .await;
    assert_eq!(mate.status, 202);
    env.advance(retry as u64);
    assert_eq!(
        env.post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p"})
        )
        .await
        .status,
        202
    );
    assert_eq!(
        env.stats().await["providers"]["videogen"]["responses"]["429"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_and_standard_webhooks() {
    let env = start(manual()).await;
    let mut rx = Receiver::start().await;
    let created = env
        .post(
            "videogen",
            "/v1/webhooks/endpoints",
            &json!({"url": rx.url, "events": ["tool_execution.succeeded", "tool_execution.failed", "tool_execution.cancelled"], "description": "tests"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["signingSecret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.body["signingSecretLast4"],
        secret[secret.len() - 4..]
    );
    assert!(created.body["createdAt"].is_i64());
    let ep_id = created.body["endpointId"].as_str().unwrap().to_string();
    let listed = env.get("videogen", "/v1/webhooks/endpoints").await.body;
    assert_eq!(listed["endpoints"].as_array().unwrap().len(), 1);
    assert!(
        listed["endpoints"][0].get("signingSecret").is_none(),
        "the secret is shown once"
    );
    assert_eq!(listed["hasMore"], false);
    let bad = env
        .post(
            "videogen",
            "/v1/webhooks/endpoints",
            &json!({"url": "http://example.com", "events": ["tool_execution.succeeded"]}),
        )
        .await;
    assert_eq!(bad.status, 400);

    let id = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "p", "numResults": 2}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let cancel_me = env
        .post(
            "videogen",
            "/v1/tools/generate-music",
            &json!({"prompt": "m"}),
        )
        .await
        .body["toolExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    env.post(
        "videogen",
        &format!("/v1/tools/executions/{cancel_me}/cancel"),
        &Value::Null,
    )
    .await;
    let cancelled = rx.next().await;
    assert_eq!(cancelled.json()["event"], "tool_execution.cancelled");
    assert_eq!(cancelled.json()["toolExecutionId"], cancel_me);
    env.advance(120);
    let c = rx.next().await;
    let j = c.json();
    assert_eq!(j["event"], "tool_execution.succeeded");
    assert_eq!(j["toolExecutionId"], id);
    assert_eq!(j["toolType"], "GENERATE_IMAGE");
    assert!(j.get("status").is_none());
    assert!(j["occurredAt"].is_i64());
    assert_eq!(j["results"].as_array().unwrap().len(), 2);
    let url = j["results"][0]["file"]["downloadSource"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 200);
    let wid = c.header("webhook-id");
    let ts: i64 = c.header("webhook-timestamp").parse().unwrap();
    assert!((ts - env.sim.now().timestamp()).abs() <= 1);
    let expected = mediajobs_sim::standard_webhooks_signature(&secret, &wid, ts, &c.body).unwrap();
    assert!(
        c.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    );

    assert_eq!(
        env.send(
            env.http
                .delete(env.url("videogen", &format!("/v1/webhooks/endpoints/{ep_id}")))
                .bearer_auth(env.key("videogen"))
        )
        .await
        .status,
        204
    );
    assert_eq!(
        env.send(
            env.http
                .delete(env.url("videogen", &format!("/v1/webhooks/endpoints/{ep_id}")))
                .bearer_auth(env.key("videogen"))
        )
        .await
        .status,
        404
    );
    assert_eq!(
        env.send(
            env.http
                .delete(env.url("videogen", "/v1/webhooks/endpoints/x!"))
                .bearer_auth(env.key("videogen"))
        )
        .await
        .body["code"],
        "invalid_id"
    );
    env.post(
        "videogen",
        "/v1/tools/generate-image",
        &json!({"prompt": "p"}),
    )
    .await;
    env.advance(120);
    assert!(
        rx.maybe_next(300).await.is_none(),
        "a deleted endpoint gets nothing"
    );
    let s = env.stats().await;
    assert_eq!(s["webhooks"]["videogen"]["delivered_2xx"], 2);
}
