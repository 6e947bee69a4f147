//! No secret leaks from the library (issue 10, "Secrets"): every adapter, verifier, client,
//! receiver and journal is built with known keys and webhook secrets, driven against the
//! simulator in-process through successes and every kind of error (a wrong key, a refused
//! request, an unknown id, an unreachable URL, forged webhooks), with every tracing event and
//! span captured at TRACE. Fails if a key or secret, or 12 characters of its random part,
//! appears in the logs, in the `Debug` of any public type that holds one, or in any error's
//! `Display`/`Debug` along its whole `source()` chain.
#![cfg(all(feature = "sim", feature = "webhooks", feature = "all-providers"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue};
use mediajobs::core::{ListQuery, WebhookVerifier};
use mediajobs::sim::{Sim, SimConfig};
use mediajobs::transport::{ReqwestTransport, Transport};
use mediajobs::vibepeak::{VibePeakClient, VibePeakWebhookVerifier};
use mediajobs::videogen::{VideoGenClient, VideoGenWebhookVerifier};
use mediajobs::vidiking::{VidikingClient, VidikingWebhookVerifier};
use mediajobs::webhooks::WebhookReceiver;
use mediajobs::{Client, Clock, Provider, ProviderApi, ScaledClock, Secret, SubmitRequest};
use serde_json::json;

/// Everything logged, by every thread, at TRACE.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The secrets and what is checked against them.
#[derive(Default)]
struct Leaks {
    secrets: Vec<String>,
    checked: usize,
}

impl Leaks {
    fn add(&mut self, secret: impl Into<String>) {
        let s = secret.into();
        assert!(s.len() >= 16, "too short to be distinctive: {s}");
        self.secrets.push(s);
    }

    /// Fails if `text` shows a secret or 12 characters of its random part.
    fn check(&mut self, what: &str, text: &str) {
        self.checked += 1;
        for secret in &self.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} shows the secret {secret}:\n{text}"
            );
            let random: Vec<char> = secret.rsplit('_').next().unwrap().chars().collect();
            for window in random.windows(12) {
                let part: String = window.iter().collect();
                assert!(
                    !text.contains(&part),
                    "{what} shows {part:?}, part of the secret {secret}:\n{text}"
                );
            }
        }
    }

    /// `Debug` of a value.
    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?} {value:#?}");
        self.check(what, &text);
    }

    /// `Display` and `Debug` of an error and of every error along its `source()` chain.
    fn error(&mut self, what: &str, e: &(dyn std::error::Error + 'static)) {
        let mut current = Some(e);
        let mut depth = 0;
        while let Some(err) = current {
            self.check(
                &format!("{what} (source {depth}, Display)"),
                &err.to_string(),
            );
            self.check(
                &format!("{what} (source {depth}, Debug)"),
                &format!("{err:?}"),
            );
            current = err.source();
            depth += 1;
        }
    }

    /// A result: its value's `Debug`, or its error's chain. Returns whether it was `Ok`.
    fn result<T: std::fmt::Debug, E: std::error::Error + 'static>(
        &mut self,
        what: &str,
        r: &Result<T, E>,
    ) -> bool {
        match r {
            Ok(v) => {
                self.debug(what, v);
                true
            }
            Err(e) => {
                self.error(what, e);
                false
            }
        }
    }
}

fn header(map: &mut HeaderMap, name: &str, value: &str) {
    map.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_debug_or_error_chains() {
    let logs = logs();
    let sim = Sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            speed: 600.0,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let keys = sim.keys().clone();
    let mut leaks = Leaks::default();
    for s in [
        &keys.vibepeak_test,
        &keys.vibepeak_live,
        &keys.vibepeak_test_secret,
        &keys.vibepeak_live_secret,
        &keys.videogen,
        &keys.videogen_teammate,
        &keys.videogen_other_team,
        &keys.vidiking,
        &keys.vidiking_other_account,
        &keys.vidiking_secret,
        &keys.vidiking_other_secret,
    ] {
        leaks.add(s.clone());
    }
    let wrong = [
        "vpk_test_5e1f0a9c7b3d2e8f4a6c",
        "vg_key_0b9d7f5e3c1a8e6f4d2b",
        "vk_6c4e2a0f8d7b5e3c1a9f",
    ];
    for w in wrong {
        leaks.add(w);
    }
    let videogen_known_secret = "whsec_bXktdmlkZW9nZW4tc2lnbmluZy1zZWNyZXQ=";
    leaks.add(videogen_known_secret);

    // The sim's clock, scaled as the CLI's MEDIAJOBS_SIM_CLOCK does, so waiting is quick.
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(sim.now(), 600.0));
    let transport: Arc<dyn Transport> = Arc::new(ReqwestTransport::with_defaults().unwrap());
    leaks.debug("ReqwestTransport", &transport);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };

    // The adapters: right keys, wrong keys, and an unreachable URL; builders and clients.
    let mut apis: Vec<(String, Arc<dyn ProviderApi>)> = Vec::new();
    for (tag, key, base) in [
        ("right", 0usize, None),
        ("wrong", 1, None),
        ("unreachable", 0, Some(dead.as_str())),
    ] {
        let vp_key = [keys.vibepeak_test.as_str(), wrong[0]][key];
        let vg_key = [keys.videogen.as_str(), wrong[1]][key];
        let vk_key = [keys.vidiking.as_str(), wrong[2]][key];
        let vp = VibePeakClient::builder()
            .api_key(vp_key)
            .base_url(base.unwrap_or(&sim.base_url("vibepeak")))
            .clock(clock.clone())
            .transport(transport.clone());
        leaks.debug("VibePeakClientBuilder", &vp);
        let vp = vp.build().unwrap();
        leaks.debug("VibePeakClient", &vp);
        leaks.debug("VibePeak Endpoint", vp.endpoint());
        let request = vp.endpoint().request(http::Method::GET, "/v1/tasks/task_1");
        assert!(request.headers.contains_key(http::header::AUTHORIZATION));
        leaks.debug("HttpRequest with Authorization", &request);
        let vg = VideoGenClient::builder()
            .api_key(vg_key)
            .base_url(base.unwrap_or(&sim.base_url("videogen")))
            .clock(clock.clone())
            .transport(transport.clone());
        leaks.debug("VideoGenClientBuilder", &vg);
        let vg = vg.build().unwrap();
        leaks.debug("VideoGenClient", &vg);
        let vk = VidikingClient::builder()
            .api_key(vk_key)
            .base_url(base.unwrap_or(&sim.base_url("vidiking")))
            .clock(clock.clone())
            .transport(transport.clone());
        leaks.debug("VidikingClientBuilder", &vk);
        let vk = vk.build().unwrap();
        leaks.debug("VidikingClient", &vk);
        leaks.debug("Vidiking Endpoint", vk.endpoint());
        apis.push((format!("vibepeak/{tag}"), Arc::new(vp)));
        apis.push((format!("videogen/{tag}"), Arc::new(vg)));
        apis.push((format!("vidiking/{tag}"), Arc::new(vk)));
    }

    // Every operation through the trait, each outcome checked.
    let images: Vec<String> = (1..=6)
        .map(|i| format!("https://photos.example.com/s/{i}.jpg"))
        .collect();
    let script: String = "A bright room with a calm garden and a long table for dinners. "
        .chars()
        .cycle()
        .take(270)
        .collect();
    let good = |p: Provider| match p {
        Provider::VibePeak => SubmitRequest::new(json!({
            "images": images, "voice": {"voice_id": "voice_rachel"}, "script": script.trim_end(),
        })),
        Provider::VideoGen => {
            SubmitRequest::new(json!({"prompt": "a door"})).with_tool("generate-image")
        }
        Provider::Vidiking => SubmitRequest::new(json!({
            "timeline": {"tracks": [{"clips": [{"asset": {"type": "title", "text": "S"},
                "start": 0, "length": 5}]}]},
            "output": {"format": "mp4", "resolution": "hd"},
        }))
        .with_key("secret-test-1"),
    };
    let bad = |p: Provider| match p {
        Provider::VideoGen => SubmitRequest::new(json!({"prompt": 5})).with_tool("generate-image"),
        Provider::Vidiking => SubmitRequest::new(json!({"timeline": 5})),
        Provider::VibePeak => SubmitRequest::new(json!({"images": ["not a url"]})),
    };
    let mut oks = 0;
    let mut errors = 0;
    for (tag, api) in &apis {
        let p = api.provider();
        let mut tally = |ok: bool| if ok { oks += 1 } else { errors += 1 };
        leaks.debug(&format!("{tag} capabilities"), &api.capabilities());
        let submitted = api.submit(&good(p)).await;
        tally(leaks.result(&format!("{tag} submit"), &submitted));
        tally(leaks.result(&format!("{tag} bad submit"), &api.submit(&bad(p)).await));
        let id = match &submitted {
            Ok(s) => s.job.id.clone(),
            Err(_) => match p {
                Provider::VibePeak => "task_0123456789abcdef".into(),
                Provider::VideoGen => "vg_exec_0123456789abcdef".into(),
                Provider::Vidiking => "job_0123456789abcdef".into(),
            },
        };
        tally(leaks.result(&format!("{tag} status"), &api.status(&id).await));
        let unknown = match p {
            Provider::VibePeak => "task_ffffffffffffffff",
            Provider::VideoGen => "vg_exec_ffffffffffffffff",
            Provider::Vidiking => "job_ffffffffffffffff",
        };
        tally(leaks.result(&format!("{tag} unknown id"), &api.status(unknown).await));
        let page = api.list(&ListQuery::default()).await;
        tally(leaks.result(&format!("{tag} list"), &page));
        tally(leaks.result(&format!("{tag} cancel"), &api.cancel(&id).await));
    }
    assert!(oks >= 9 && errors >= 30, "{oks} successes, {errors} errors");

    // VideoGen learns a signing secret by registering an endpoint: it must stay hidden too.
    let vg = VideoGenClient::builder()
        .api_key(keys.videogen.as_str())
        .base_url(&sim.base_url("videogen"))
        .clock(clock.clone())
        .transport(transport.clone())
        .build()
        .unwrap();
    let created = vg
        .create_webhook_endpoint(
            "http://127.0.0.1:9/webhooks/videogen",
            &["tool_execution.succeeded"],
            Some("secrets test"),
        )
        .await
        .unwrap();
    leaks.add(created.signing_secret.expose());
    leaks.debug("CreatedEndpoint", &created);
    let listed = vg.list_webhook_endpoints().await;
    leaks.result("list_webhook_endpoints", &listed);
    let learned = created.verifier().unwrap();
    leaks.debug("VideoGenWebhookVerifier (learned)", &learned);

    // Verifiers: built from the secrets, fed forgeries.
    let now = clock.now();
    let verifiers: Vec<Arc<dyn WebhookVerifier>> = vec![
        Arc::new(VibePeakWebhookVerifier::new(
            keys.vibepeak_test_secret.as_str(),
        )),
        Arc::new(VideoGenWebhookVerifier::new(videogen_known_secret).unwrap()),
        Arc::new(learned),
        Arc::new(VidikingWebhookVerifier::new(keys.vidiking_secret.as_str())),
    ];
    let body = br#"{"event":"task.completed","task_id":"task_1","status":"completed"}"#;
    for v in &verifiers {
        leaks.debug("verifier", v);
        let mut forged = HeaderMap::new();
        let ts = now.timestamp().to_string();
        for (name, value) in [
            ("x-vibepeak-timestamp", ts.as_str()),
            ("x-vibepeak-signature", "sha256=00"),
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", "v1,Zm9yZ2Vk"),
            ("x-vidiking-signature", "00"),
        ] {
            header(&mut forged, name, value);
        }
        let r = v.verify(&forged, body, now);
        assert!(r.is_err(), "a forgery verified");
        leaks.result("verify forged", &r);
        leaks.result("verify no headers", &v.verify(&HeaderMap::new(), body, now));
        leaks.result("parse", &v.parse(&forged, body));
        leaks.result("parse junk", &v.parse(&forged, b"not json"));
    }
    leaks.result(
        "VideoGen verifier from a malformed secret",
        &VideoGenWebhookVerifier::new("whsec_!!!not-base64-at-all!!!"),
    );

    // The facade: the environment lookups, the client, a job waited on.
    let env: HashMap<String, String> = HashMap::from([
        ("VIBEPEAK_API_KEY".into(), keys.vibepeak_test.clone()),
        ("VIBEPEAK_BASE_URL".into(), sim.base_url("vibepeak")),
        (
            "VIBEPEAK_WEBHOOK_SECRET".into(),
            keys.vibepeak_test_secret.clone(),
        ),
        ("VIDEOGEN_API_KEY".into(), keys.videogen.clone()),
        ("VIDEOGEN_BASE_URL".into(), sim.base_url("videogen")),
        (
            "VIDEOGEN_WEBHOOK_SECRET".into(),
            videogen_known_secret.into(),
        ),
        ("VIDIKING_API_KEY".into(), keys.vidiking.clone()),
        ("VIDIKING_BASE_URL".into(), sim.base_url("vidiking")),
        (
            "VIDIKING_WEBHOOK_SECRET".into(),
            keys.vidiking_secret.clone(),
        ),
    ]);
    let lookup = |name: &str| env.get(name).cloned();
    let apis =
        mediajobs::providers::providers_from(&lookup, clock.clone(), transport.clone()).unwrap();
    assert_eq!(apis.len(), 3);
    let mut receiver = WebhookReceiver::builder(clock.clone());
    for p in Provider::ALL {
        let v = mediajobs::providers::verifier_from(p, &lookup)
            .unwrap()
            .unwrap();
        leaks.debug("verifier_from", &v);
        receiver = receiver.verifier(v);
    }
    leaks.debug("WebhookReceiverBuilder", &receiver);
    let no_key = |name: &str| {
        if name.ends_with("_API_KEY") {
            None
        } else {
            env.get(name).cloned()
        }
    };
    for p in Provider::ALL {
        let r = mediajobs::providers::provider_from(p, &no_key, clock.clone(), transport.clone());
        let e = r.err().unwrap();
        assert!(
            e.to_string()
                .contains(&format!("{}_API_KEY", p.env_prefix())),
            "{e}"
        );
        leaks.error("provider_from without a key", &e);
    }
    let mut builder = Client::builder().clock(clock.clone());
    for api in apis.iter().cloned() {
        builder = builder.provider(api);
    }
    leaks.debug("ClientBuilder", &builder);
    let client = builder.build().unwrap();
    leaks.debug("Client", &client);
    let job = client
        .submit(Provider::Vidiking, good(Provider::Vidiking))
        .await
        .unwrap();
    leaks.debug("Job", &job);
    let waited = job.wait().await;
    leaks.result("Job::wait", &waited);
    leaks.result("Client::api", &client.api(Provider::Vidiking).map(|_| ()));

    // The receiver, serving, refusing forgeries.
    let (receiver, _events) = receiver.build();
    leaks.debug("WebhookReceiver", &receiver);
    let server = receiver.serve("127.0.0.1:0").await.unwrap();
    leaks.debug("WebhookServer", &server);
    let http = reqwest::Client::new();
    for (route, name, value) in [
        ("vibepeak", "x-vibepeak-signature", "sha256=00"),
        ("videogen", "webhook-signature", "v1,Zm9yZ2Vk"),
        ("vidiking", "x-vidiking-signature", "00"),
    ] {
        let answer = http
            .post(format!("{}/webhooks/{route}", server.url()))
            .header(name, value)
            .header("x-vibepeak-timestamp", now.timestamp().to_string())
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.timestamp().to_string())
            .body(&body[..])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{route}");
        leaks.check("401 answer", &answer.text().await.unwrap());
    }
    leaks.debug("WebhookMetrics", &receiver.metrics());
    server.shutdown().await.unwrap();

    // The journal keeps VideoGen's learned secret; neither it nor the runner shows it.
    #[cfg(feature = "journal")]
    {
        use mediajobs::journal::{Journal, SqliteJournal, settings};
        let dir = tempfile::tempdir().unwrap();
        let journal = SqliteJournal::open(dir.path().join("j.db"), clock.clone()).unwrap();
        journal
            .set_secret(settings::VIDEOGEN_WEBHOOK_SECRET, &created.signing_secret)
            .unwrap();
        let back = journal.secret(settings::VIDEOGEN_WEBHOOK_SECRET).unwrap();
        assert_eq!(
            back.as_ref().map(Secret::expose),
            Some(created.signing_secret.expose())
        );
        leaks.debug("Secret from the journal", &back);
        leaks.debug("SqliteJournal", &journal);
        leaks.result("journal status report", &journal.status_report());
        let runner = mediajobs::runner::Runner::new(
            Arc::new(journal),
            apis.clone(),
            transport.clone(),
            clock.clone(),
            mediajobs::runner::RunOptions::default(),
            Arc::new(|_: &mediajobs::runner::Progress| {}),
        );
        leaks.debug("Runner", &runner);
    }

    let secret = Secret::new(keys.vidiking.clone());
    leaks.check("Secret", &format!("{secret} {secret:?} {secret:#?}"));

    sim.shutdown().await;
    // And everything logged meanwhile, by every crate, at every level.
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("TRACE") && text.contains("mediajobs_transport"),
        "the log capture is not working:\n{text}"
    );
    assert!(text.lines().count() > 100, "too few log lines:\n{text}");
    leaks.check("the TRACE logs", &text);
    assert!(leaks.checked > 200, "only {} checks", leaks.checked);
}
