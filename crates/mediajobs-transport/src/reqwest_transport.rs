//! The real transport: reqwest over rustls, pooled, with timeouts and a cap on answer size.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use mediajobs_core::TransportFailure;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{Download, DownloadOutcome, HttpRequest, HttpResponse, Transport, TransportError};

/// Settings of [`ReqwestTransport`]. I/O timeouts are real time, whatever clock drives
/// scheduling.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long to wait for each read of the answer.
    pub read_timeout: Duration,
    /// The largest API answer read; larger ones fail with [`TransportFailure::TooLarge`].
    pub max_body_bytes: usize,
    /// The `User-Agent` sent.
    pub user_agent: String,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_body_bytes: 8 * 1024 * 1024,
            user_agent: concat!("mediajobs/", env!("CARGO_PKG_VERSION")).to_string(),
            pool_max_idle_per_host: 32,
        }
    }
}

/// [`Transport`] over a pooled reqwest client.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    config: TransportConfig,
}

impl ReqwestTransport {
    /// A transport with `config`.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .user_agent(config.user_agent.clone())
            // A redirect could carry the Authorization header to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::new(TransportFailure::Request, e.to_string()))?;
        Ok(ReqwestTransport { client, config })
    }

    /// A transport with the default settings.
    pub fn with_defaults() -> Result<Self, TransportError> {
        Self::new(TransportConfig::default())
    }

    fn build(&self, request: HttpRequest) -> reqwest::RequestBuilder {
        let mut builder = self
            .client
            .request(request.method, &request.url)
            .headers(request.headers);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        builder
    }
}

/// Classifies a reqwest error. A failed connect means nothing was sent; a timeout or broken
/// connection after that means the request may have been processed.
fn classify(e: &reqwest::Error) -> TransportError {
    let failure = if e.is_builder() {
        TransportFailure::Request
    } else if e.is_connect() {
        TransportFailure::Connect
    } else if e.is_timeout() {
        TransportFailure::Timeout
    } else {
        // Anything else happened after the connection was made: the request may have arrived.
        TransportFailure::Interrupted
    };
    let what = match failure {
        TransportFailure::Connect => "could not connect",
        TransportFailure::Timeout => "no answer in time",
        TransportFailure::Interrupted => "the connection broke before a whole answer",
        TransportFailure::TooLarge => "answer too large",
        TransportFailure::Request => "could not build the request",
    };
    // reqwest's message names the URL (no secret is ever in one) and the cause.
    TransportError::new(failure, format!("{what}: {e}"))
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = request.method.clone();
        let url = request.url.clone();
        let response = self.build(request).send().await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(len) = response.content_length() {
            if len > self.config.max_body_bytes as u64 {
                return Err(TransportError::new(
                    TransportFailure::TooLarge,
                    format!(
                        "{method} {url}: answer of {len} bytes exceeds the {} byte cap",
                        self.config.max_body_bytes
                    ),
                ));
            }
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(&e))?;
            if body.len() + chunk.len() > self.config.max_body_bytes {
                return Err(TransportError::new(
                    TransportFailure::TooLarge,
                    format!(
                        "{method} {url}: answer exceeds the {} byte cap",
                        self.config.max_body_bytes
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::trace!(%method, %url, status, bytes = body.len(), "http answer");
        Ok(HttpResponse {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    async fn download(
        &self,
        request: HttpRequest,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<DownloadOutcome, TransportError> {
        let response = self.build(request).send().await.map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Ok(DownloadOutcome::Refused { status });
        }
        let announced = response.content_length();
        if let Some(len) = announced {
            if len > max_bytes {
                return Err(TransportError::new(
                    TransportFailure::TooLarge,
                    format!("download of {len} bytes exceeds the {max_bytes} byte cap"),
                ));
            }
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let tmp = temp_path(dest);
        let result = write_stream(response, &tmp, announced, max_bytes).await;
        match result {
            Ok((bytes, sha256)) => {
                tokio::fs::rename(&tmp, dest)
                    .await
                    .map_err(|e| io_err(dest, e))?;
                sync_parent(dest).await;
                Ok(DownloadOutcome::Saved(Download {
                    bytes,
                    sha256,
                    content_type,
                }))
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }
}

fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string());
    dest.with_file_name(format!(".{name}.part"))
}

fn io_err(path: &Path, e: std::io::Error) -> TransportError {
    TransportError::new(
        TransportFailure::Request,
        format!("writing {}: {e}", path.display()),
    )
}

async fn write_stream(
    response: reqwest::Response,
    tmp: &Path,
    announced: Option<u64>,
    max_bytes: u64,
) -> Result<(u64, String), TransportError> {
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| io_err(tmp, e))?;
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| classify(&e))?;
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(TransportError::new(
                TransportFailure::TooLarge,
                format!("download exceeds the {max_bytes} byte cap"),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| io_err(tmp, e))?;
    }
    if let Some(len) = announced {
        if len != written {
            return Err(TransportError::new(
                TransportFailure::Interrupted,
                format!("download ended after {written} of {len} announced bytes"),
            ));
        }
    }
    file.flush().await.map_err(|e| io_err(tmp, e))?;
    file.sync_all().await.map_err(|e| io_err(tmp, e))?;
    Ok((written, hex::encode(hasher.finalize())))
}

/// Makes the rename durable. Best effort: not every platform can fsync a directory.
async fn sync_parent(dest: &Path) {
    if let Some(parent) = dest.parent() {
        if let Ok(dir) = tokio::fs::File::open(parent).await {
            let _ = dir.sync_all().await;
        }
    }
}
