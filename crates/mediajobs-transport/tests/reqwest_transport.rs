//! The reqwest transport against real sockets on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use http::Method;
use mediajobs_core::TransportFailure;
use mediajobs_transport::{
    DownloadOutcome, HttpRequest, ReqwestTransport, Transport, TransportConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves each connection with `answer` (raw HTTP bytes) after reading the request head;
/// `None` keeps the connection open without answering.
async fn server(answer: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                match answer {
                    Some(bytes) => {
                        let _ = sock.write_all(bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    None => {
                        // Hold the connection until the client gives up.
                        let _ = sock.read(&mut buf).await;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn transport(read_timeout: Duration, max_body: usize) -> ReqwestTransport {
    ReqwestTransport::new(TransportConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout,
        max_body_bytes: max_body,
        ..TransportConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn reads_status_headers_and_body() {
    let url = server(Some(
        b"HTTP/1.1 202 Accepted\r\nRetry-After: 30\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ))
    .await;
    let resp = transport(Duration::from_secs(5), 1024)
        .send(HttpRequest::new(Method::GET, url))
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.header("retry-after"), Some("30"));
    assert_eq!(&resp.body[..], b"{}");
}

#[tokio::test]
async fn connection_refused_is_a_transient_connect_failure() {
    // Bind then drop to get a port nobody listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = transport(Duration::from_secs(5), 1024)
        .send(HttpRequest::new(Method::GET, format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.failure, TransportFailure::Connect, "{err}");
    assert!(!err.failure.maybe_delivered());
}

#[tokio::test]
async fn a_silent_server_times_out_and_may_have_got_the_request() {
    let url = server(None).await;
    let err = transport(Duration::from_millis(200), 1024)
        .send(HttpRequest::new(Method::POST, url))
        .await
        .unwrap_err();
    assert_eq!(err.failure, TransportFailure::Timeout, "{err}");
    assert!(err.failure.maybe_delivered());
}

#[tokio::test]
async fn a_connection_closed_without_answer_is_interrupted() {
    let url = server(Some(b"")).await;
    let err = transport(Duration::from_secs(5), 1024)
        .send(HttpRequest::new(Method::POST, url))
        .await
        .unwrap_err();
    assert!(err.failure.maybe_delivered(), "{err:?}");
}

#[tokio::test]
async fn answers_over_the_cap_are_refused() {
    let url = server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\nConnection: close\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123",
    ))
    .await;
    let err = transport(Duration::from_secs(5), 16)
        .send(HttpRequest::new(Method::GET, url))
        .await
        .unwrap_err();
    assert_eq!(err.failure, TransportFailure::TooLarge);
}

#[tokio::test]
async fn downloads_are_whole_checked_and_refusals_reported() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let t = transport(Duration::from_secs(5), 1024);

    let url = server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    ))
    .await;
    let got = t
        .download(HttpRequest::new(Method::GET, url), &dest, 1024)
        .await
        .unwrap();
    let DownloadOutcome::Saved(d) = got else {
        panic!("{got:?}")
    };
    assert_eq!(d.bytes, 3);
    // sha256("abc")
    assert_eq!(
        d.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(d.content_type.as_deref(), Some("image/png"));
    assert_eq!(std::fs::read(&dest).unwrap(), b"abc");

    let url = server(Some(
        b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ))
    .await;
    let got = t
        .download(
            HttpRequest::new(Method::GET, url),
            &dir.path().join("x"),
            1024,
        )
        .await
        .unwrap();
    assert_eq!(got, DownloadOutcome::Refused { status: 410 });
    assert!(!dir.path().join("x").exists());

    // Shorter than announced: an error, and no file left behind.
    let url = server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
    ))
    .await;
    let short = dir.path().join("short");
    assert!(
        t.download(HttpRequest::new(Method::GET, url), &short, 1024)
            .await
            .is_err()
    );
    assert!(!short.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}
