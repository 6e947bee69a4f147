use serde_json::{Value, json};

use crate::common::*;

pub fn render(src: &str) -> Value {
    json!({
        "timeline": {
            "background": "#000000",
            "soundtrack": {"src": "https://cdn.example.com/music.mp3", "effect": "fadeOut", "volume": 0.5},
            "tracks": [
                {"clips": [
                    {"asset": {"type": "title", "text": "Hello", "style": "minimal", "size": "large", "color": "#ffffff"},
                     "start": 0, "length": 3, "transition": {"in": "fade", "out": "slideLeft"}, "offset": {"x": 0.1, "y": -1},
                     "scale": 1.5, "opacity": 0.8, "fit": "contain"},
                    {"asset": {"type": "html", "html": "<p>hi</p>", "css": "p{}"}, "start": 3, "length": 2}
                ]},
                {"clips": [
                    {"asset": {"type": "image", "src": src}, "start": 0, "length": 5, "effect": "zoomIn"},
                    {"asset": {"type": "video", "src": "https://cdn.example.com/v.mp4", "trim": 1, "volume": 1}, "start": 5, "length": 5.5, "transition": {"in": "wipeRight"}},
                    {"asset": {"type": "audio", "src": "https://cdn.example.com/a.mp3", "volume": 0.3}, "start": 0, "length": 10.5}
                ]}
            ]
        },
        "output": {"format": "mp4", "resolution": "1080"},
        "metadata": {"batch": "b1", "key": "line-3"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_fields_list_and_download() {
    let env = start(manual()).await;
    let c = env
        .post(
            "vidiking",
            "/v1/render",
            &render("https://cdn.example.com/i.jpg"),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("job_"));
    assert_eq!(c.body["status"], "QUEUED");
    assert!(c.body["created_at"].is_string());
    let path = format!("/v1/render/{id}");
    let q = env.get("vidiking", &path).await.body;
    assert_eq!(q["status"], "QUEUED");
    assert_eq!(q["metadata"], json!({"batch": "b1", "key": "line-3"}));
    env.advance(5);
    let p = env.get("vidiking", &path).await.body;
    assert_eq!(p["status"], "PROCESSING");
    assert!(p["processing_started_at"].is_string());
    assert!(p.get("url").is_none());
    env.advance(120);
    let d = env.get("vidiking", &path).await.body;
    assert_eq!(d["status"], "COMPLETE", "{d}");
    for f in [
        "id",
        "url",
        "duration",
        "resolution",
        "format",
        "file_size",
        "credits_used",
        "created_at",
        "processing_started_at",
        "completed_at",
        "render_time",
    ] {
        assert!(!d[f].is_null(), "{f}");
    }
    assert_eq!(d["duration"], 10.5);
    assert_eq!(d["resolution"], "1920x1080");
    assert_eq!(d["format"], "mp4");
    assert!(d["render_time"].is_i64());
    let rt = d["render_time"].as_i64().unwrap();
    assert!(
        (10..=60).contains(&rt),
        "tens of seconds for a 10.5 s timeline: {rt}"
    );
    let url = d["url"].as_str().unwrap();
    let dl = env.http.get(url).send().await.unwrap();
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.headers()["content-type"], "video/mp4");
    assert_eq!(
        dl.bytes().await.unwrap().len() as u64,
        d["file_size"].as_u64().unwrap()
    );
    // Same URL on re-read.
    assert_eq!(env.get("vidiking", &path).await.body["url"], url);
    // Kept 7 days.
    env.advance(6 * 24 * 3600);
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 200);
    env.advance(2 * 24 * 3600);
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 410);

    // List: newest first, limit, status filter, metadata echoed.
    let second = env
        .post(
            "vidiking",
            "/v1/render",
            &render("https://cdn.example.com/i.jpg"),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let all = env.get("vidiking", "/v1/render").await.body;
    let data = all["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], second);
    assert_eq!(data[1]["metadata"]["key"], "line-3");
    let done = env
        .get("vidiking", "/v1/render?limit=20&status=COMPLETE")
        .await
        .body;
    assert_eq!(done["data"].as_array().unwrap().len(), 1);
    assert_eq!(done["data"][0]["id"], id);
    assert_eq!(
        env.get("vidiking", "/v1/render?limit=1").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.get("vidiking", "/v1/render?limit=500").await.status,
        200
    );
    assert_eq!(env.get("vidiking", "/v1/render?limit=0").await.status, 400);
    assert_eq!(
        env.get("vidiking", "/v1/render?status=DONE").await.status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_job_failures() {
    let env = start(manual()).await;
    let key = env.key("vidiking");
    let not_json = env
        .send(
            env.http
                .post(env.url("vidiking", "/v1/render"))
                .bearer_auth(&key)
                .body("<xml/>"),
        )
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.body["error"]["code"], "INVALID_REQUEST");
    let no_tl = env
        .post(
            "vidiking",
            "/v1/render",
            &json!({"output": {"format": "mp4", "resolution": "hd"}}),
        )
        .await;
    assert_eq!(no_tl.status, 400);
    let no_key = env
        .send(env.http.get(env.url("vidiking", "/v1/render/job_1")))
        .await;
    assert_eq!(no_key.status, 401);
    assert_eq!(no_key.body["error"]["code"], "UNAUTHORIZED");
    let nf = env.get("vidiking", "/v1/render/job_stitch_456").await;
    assert_eq!(nf.status, 404);
    assert_eq!(nf.body["error"]["code"], "JOB_NOT_FOUND");

    let missing = env
        .post(
            "vidiking",
            "/v1/render",
            &render("https://missing.invalid/photo.jpg"),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bad_tl = render("https://cdn.example.com/i.jpg");
    bad_tl["timeline"]["tracks"][0]["clips"][0]["asset"]["type"] = json!("text");
    let invalid = env.post("vidiking", "/v1/render", &bad_tl).await;
    assert_eq!(
        invalid.status, 201,
        "INVALID_TIMELINE is a job failure, not a 400"
    );
    let invalid = invalid.body["id"].as_str().unwrap().to_string();
    let mut bad_out = render("https://cdn.example.com/i.jpg");
    bad_out["output"]["resolution"] = json!("8k");
    let bad_out = env.post("vidiking", "/v1/render", &bad_out).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(4);
    let i = env
        .get("vidiking", &format!("/v1/render/{invalid}"))
        .await
        .body;
    assert_eq!(i["status"], "FAILED");
    assert_eq!(i["error"]["code"], "INVALID_TIMELINE");
    assert_eq!(i["credits_used"], 0);
    assert!(i["failed_at"].is_string() && i.get("url").is_none());
    assert_eq!(
        env.get("vidiking", &format!("/v1/render/{bad_out}"))
            .await
            .body["error"]["code"],
        "INVALID_TIMELINE"
    );
    env.advance(10);
    let m = env
        .get("vidiking", &format!("/v1/render/{missing}"))
        .await
        .body;
    assert_eq!(m["status"], "FAILED");
    assert_eq!(m["error"]["code"], "INVALID_ASSET");
    assert_eq!(
        m["error"]["message"],
        "Unable to fetch asset: https://missing.invalid/photo.jpg returned 404"
    );

    // Another account sees none of ours.
    let other = env
        .send(
            env.http
                .get(env.url("vidiking", &format!("/v1/render/{missing}")))
                .bearer_auth(&env.sim.keys().vidiking_other_account),
        )
        .await;
    assert_eq!(other.status, 404);

    let failing = start(mediajobs_sim::SimConfig {
        failure_rate: 1.0,
        ..manual()
    })
    .await;
    let f = failing
        .post(
            "vidiking",
            "/v1/render",
            &render("https://cdn.example.com/i.jpg"),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    failing.advance(700);
    let fb = failing
        .get("vidiking", &format!("/v1/render/{f}"))
        .await
        .body;
    assert_eq!(fb["status"], "FAILED");
    assert!(["RENDER_TIMEOUT", "INTERNAL_ERROR"].contains(&fb["error"]["code"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_cap_rate_limits_and_retention() {
    let env = start(manual()).await;
    let key = env.key("vidiking");
    let sb = |req: reqwest::RequestBuilder| req.bearer_auth(&key).header("x-sandbox", "true");
    let c = env
        .send(
            sb(env.http.post(env.url("vidiking", "/v1/render")))
                .json(&render("https://cdn.example.com/i.jpg")),
        )
        .await;
    assert_eq!(c.status, 201);
    let id = c.body["id"].as_str().unwrap().to_string();
    env.advance(200);
    let d = env
        .send(sb(env
            .http
            .get(env.url("vidiking", &format!("/v1/render/{id}")))))
        .await
        .body;
    assert_eq!(d["resolution"], "1280x720", "sandbox caps 1080 at 720p");
    assert_eq!(d["credits_used"], 0.0);
    // Visible without the header too.
    assert_eq!(
        env.get("vidiking", &format!("/v1/render/{id}"))
            .await
            .status,
        200
    );
    // One sandbox request in this minute so far (the status read above).
    for _ in 0..9 {
        assert_eq!(
            env.send(sb(env.http.get(env.url("vidiking", "/v1/render"))))
                .await
                .status,
            200
        );
    }
    let over = env
        .send(sb(env.http.get(env.url("vidiking", "/v1/render"))))
        .await;
    assert_eq!(over.status, 429, "10 requests per minute in the sandbox");
    assert_eq!(over.body["error"]["code"], "RATE_LIMITED");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Production has its own budget.
    assert_eq!(env.get("vidiking", "/v1/render").await.status, 200);
    env.advance(retry);
    assert_eq!(
        env.send(sb(env.http.get(env.url("vidiking", "/v1/render"))))
            .await
            .status,
        200
    );
    // Sandbox outputs are kept 24 h.
    let url = d["url"].as_str().unwrap();
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 200);
    env.advance(24 * 3600);
    assert_eq!(env.http.get(url).send().await.unwrap().status(), 410);

    // Production: 100 per minute.
    let env = start(manual()).await;
    env.advance(60 - (env.sim.now().timestamp() % 60) as u64);
    for _ in 0..100 {
        assert_eq!(env.get("vidiking", "/v1/render?limit=1").await.status, 200);
    }
    let over = env.get("vidiking", "/v1/render").await;
    assert_eq!(over.status, 429);
    assert!(over.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_and_account_webhook_signed() {
    let env = start(manual()).await;
    let mut rx = Receiver::start().await;
    let secret = env.sim.webhook_secret("vidiking").unwrap();
    let mut b = render("https://cdn.example.com/i.jpg");
    b["callback"] = json!(rx.url);
    let id = env.post("vidiking", "/v1/render", &b).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.advance(5);
    assert!(
        rx.maybe_next(200).await.is_none(),
        "per-job callbacks carry only terminal events"
    );
    env.advance(120);
    let c = rx.next().await;
    assert_eq!(
        c.header("x-vidiking-signature"),
        hmac_hex(secret.as_bytes(), &c.body)
    );
    let j = c.json();
    assert_eq!(j["event"], "render.complete");
    assert!(j["timestamp"].is_string());
    assert_eq!(j["data"]["id"], id);
    assert_eq!(j["data"]["status"], "COMPLETE");
    assert!(j["data"]["url"].is_string() && j["data"]["duration"].is_number());
    assert!(j["data"]["credits_used"].is_number() && j["data"]["wallet_balance"].is_number());

    // The account webhook: every subscribed event, signed with the new secret.
    let mut rx2 = Receiver::start().await;
    let put = env
        .send(
            env.http
                .put(env.url("vidiking", "/v1/webhooks"))
                .bearer_auth(env.key("vidiking"))
                .json(&json!({"url": rx2.url, "events": ["render.queued", "render.processing", "render.complete", "render.failed"], "secret": "whsec_mine"})),
        )
        .await;
    assert_eq!(put.status, 200);
    assert!(put.body.get("secret").is_none());
    assert_eq!(put.body["url"], rx2.url);
    let id2 = env
        .post(
            "vidiking",
            "/v1/render",
            &render("https://cdn.example.com/i.jpg"),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q = rx2.next().await;
    assert_eq!(q.json()["event"], "render.queued");
    assert_eq!(
        q.header("x-vidiking-signature"),
        hmac_hex(b"whsec_mine", &q.body)
    );
    env.advance(5);
    assert_eq!(rx2.next().await.json()["event"], "render.processing");
    env.advance(120);
    let done = rx2.next().await;
    assert_eq!(done.json()["event"], "render.complete");
    assert_eq!(done.json()["data"]["id"], id2);
    let bad = env
        .send(
            env.http
                .put(env.url("vidiking", "/v1/webhooks"))
                .bearer_auth(env.key("vidiking"))
                .json(&json!({"url": "x"})),
        )
        .await;
    assert_eq!(bad.status, 400);
}
