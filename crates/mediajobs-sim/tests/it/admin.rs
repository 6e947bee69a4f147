use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_clock_advance_stats_reset() {
    let env = start(manual()).await;
    let r = env.sim.readiness();
    let port = env.sim.local_addr().port();
    assert_eq!(r["vibepeak"], format!("http://127.0.0.1:{port}/vibepeak"));
    assert_eq!(r["videogen"], format!("http://127.0.0.1:{port}/videogen"));
    assert_eq!(r["vidiking"], format!("http://127.0.0.1:{port}/vidiking"));
    assert_eq!(r["admin"], format!("http://127.0.0.1:{port}/_sim"));
    assert!(r["speed"].is_number());
    assert!(
        r["api_keys"]["vibepeak"]
            .as_str()
            .unwrap()
            .starts_with("vpk_test_")
    );
    assert!(r["api_keys"]["videogen"].is_string() && r["api_keys"]["vidiking"].is_string());
    assert!(
        r["webhook_secrets"]["vibepeak"].is_string()
            && r["webhook_secrets"]["vidiking"].is_string()
    );
    assert_eq!(env.sim.live_api_key("vibepeak").unwrap()[..9], *"vpk_live_");
    assert_eq!(env.sim.webhook_secret("videogen"), None);

    // The clock is frozen at speed 0 and moves only by advance.
    let clock = env
        .send(env.http.get(format!("{}/clock", env.sim.admin_url())))
        .await;
    assert_eq!(clock.status, 200);
    let now = clock.body["now"].as_str().unwrap().to_string();
    assert_eq!(now.len(), "2024-01-01T00:00:00.000Z".len(), "{now}");
    let t0 = chrono::DateTime::parse_from_rfc3339(&now).unwrap();
    assert_eq!(clock.body["speed"], 0.0);
    let adv = env
        .send(
            env.http
                .post(format!("{}/advance", env.sim.admin_url()))
                .json(&json!({"seconds": 90})),
        )
        .await;
    assert_eq!(adv.status, 200);
    let t1 = chrono::DateTime::parse_from_rfc3339(adv.body["now"].as_str().unwrap()).unwrap();
    assert_eq!((t1 - t0).num_seconds(), 90);
    env.sim.advance(std::time::Duration::from_secs(10));
    assert_eq!((env.sim.now() - t0.to_utc()).num_seconds(), 100);
    let bad = env
        .send(
            env.http
                .post(format!("{}/advance", env.sim.admin_url()))
                .json(&json!({"seconds": -1})),
        )
        .await;
    assert_eq!(bad.status, 400);

    // Every answer carries a Date header in sim time.
    let health = env.send(env.http.get(env.url("vibepeak", "/health"))).await;
    let date = health.header("date").unwrap();
    let parsed = chrono::DateTime::parse_from_rfc2822(&date.replace("GMT", "+0000")).unwrap();
    assert_eq!(parsed.timestamp(), env.sim.now().timestamp());

    // Stats: counters by provider and route; responses by class.
    env.get("videogen", "/v1/tools/executions/vg_exec_0000000000000000")
        .await; // 404
    env.get("videogen", "/v1/tools/executions?limit=5").await; // 200
    let no_key = env
        .send(env.http.get(env.url("vidiking", "/v1/render")))
        .await;
    assert_eq!(no_key.status, 401);
    let s = env.stats().await;
    assert!(s["now"].is_string());
    let vg = &s["providers"]["videogen"];
    assert_eq!(vg["requests"], 2);
    assert_eq!(
        vg["by_route"]["GET /v1/tools/executions/{toolExecutionId}"],
        1
    );
    assert_eq!(vg["by_route"]["GET /v1/tools/executions"], 1);
    assert_eq!(vg["responses"]["2xx"], 1);
    assert_eq!(vg["responses"]["4xx"], 1);
    assert_eq!(s["providers"]["vidiking"]["responses"]["4xx"], 1);
    assert_eq!(s["providers"]["vibepeak"]["by_route"]["GET /health"], 1);
    for p in ["vibepeak", "videogen", "vidiking"] {
        for f in ["2xx", "4xx", "429", "5xx", "none"] {
            assert!(s["providers"][p]["responses"][f].is_u64(), "{p} {f}");
        }
        for f in ["sent", "delivered_2xx", "forged", "forged_2xx"] {
            assert!(s["webhooks"][p][f].is_u64(), "{p} {f}");
        }
        assert!(s["faults"][p].is_object());
        assert!(s["downloads"][p].is_u64());
    }
    assert!(s["tasks"].as_array().unwrap().is_empty());

    // Reset forgets counters and tasks.
    let created = env
        .post(
            "videogen",
            "/v1/tools/generate-image",
            &json!({"prompt": "a house"}),
        )
        .await;
    assert_eq!(created.status, 202);
    assert_eq!(env.stats().await["tasks"].as_array().unwrap().len(), 1);
    let reset = env
        .send(env.http.post(format!("{}/reset", env.sim.admin_url())))
        .await;
    assert_eq!(reset.status, 200);
    let s = env.stats().await;
    assert_eq!(s["providers"]["videogen"]["requests"], 0);
    assert!(s["tasks"].as_array().unwrap().is_empty());
    let id = created.body["toolExecutionId"].as_str().unwrap();
    assert_eq!(
        env.get("videogen", &format!("/v1/tools/executions/{id}"))
            .await
            .status,
        404
    );
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_at_speed_and_rejects_bad_config() {
    let env = start(mediajobs_sim::SimConfig {
        speed: 600.0,
        ..manual()
    })
    .await;
    let t0 = env.sim.now();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let elapsed = (env.sim.now() - t0).num_milliseconds();
    assert!(
        elapsed >= 100_000,
        "600× for 0.2 s should pass ~120 sim s, got {elapsed} ms"
    );
    assert_eq!(env.sim.readiness()["speed"], 600.0);
    env.sim.shutdown().await;
    let err = mediajobs_sim::Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        mediajobs_sim::SimConfig {
            speed: -1.0,
            ..manual()
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("speed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_404_and_counted() {
    let env = start(manual()).await;
    let a = env.get("vidiking", "/v1/nothing").await;
    assert_eq!(a.status, 404);
    let b = env
        .send(
            env.http
                .get(format!("http://{}/elsewhere", env.sim.local_addr())),
        )
        .await;
    assert_eq!(b.status, 404);
    let s = env.stats().await;
    assert_eq!(s["providers"]["vidiking"]["requests"], 1);
    assert_eq!(
        s["providers"]["vidiking"]["by_route"]["GET /{*unmatched}"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deterministic_under_seed() {
    async fn run(seed: u64) -> Vec<serde_json::Value> {
        let env = start(mediajobs_sim::SimConfig {
            seed,
            failure_rate: 0.5,
            ..manual()
        })
        .await;
        let mut out = Vec::new();
        for i in 0..4 {
            let id = env
                .post(
                    "videogen",
                    "/v1/tools/generate-image",
                    &json!({"prompt": format!("p{i}")}),
                )
                .await
                .body["toolExecutionId"]
                .clone();
            out.push(id);
        }
        env.advance(30);
        for item in env.get("videogen", "/v1/tools/executions").await.body["toolExecutions"]
            .as_array()
            .unwrap()
        {
            out.push(json!([item["status"], item["progressPercentage"]]));
        }
        out.push(json!(env.key("videogen")));
        out
    }
    assert_eq!(run(42).await, run(42).await);
    assert_ne!(run(42).await, run(43).await);
}
