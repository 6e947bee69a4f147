//! Downloading results before their URLs expire (DESIGN.md, "Expired result URLs").
//!
//! Before a download the URL's expiry is checked on the injected clock; an expired, missing or
//! refused URL is refreshed the provider's way ([`ProviderApi::refresh_output`]: VibePeak and
//! Vidiking re-read the task, VideoGen hydrates the file) and the download tried again. Files
//! are written whole or not at all (temporary file, fsync, rename) with their SHA-256.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mediajobs_core::{Clock, Error, Operation, Output, ProviderApi};
use mediajobs_transport::{Download, DownloadOutcome, HttpRequest, Transport};

/// How close to its expiry a URL is refreshed first: a download needs time.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The largest result file downloaded by default (2 GiB).
pub const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A result saved to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its size and checksum.
    pub download: Download,
    /// Whether the URL had to be refreshed first.
    pub refreshed: bool,
}

/// A file name for output `index` of the job keyed `key`: the key made safe for a file name,
/// and an extension from the media type.
pub fn file_name(key: &str, index: usize, output: &Output) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let ext = output.mime_type.as_deref().map(extension).unwrap_or("bin");
    if index == 0 {
        format!("{safe}.{ext}")
    } else {
        format!("{safe}-{index}.{ext}")
    }
}

fn extension(mime: &str) -> &'static str {
    match mime.to_ascii_lowercase().as_str() {
        "video/mp4" | "video" => "mp4",
        "video/webm" => "webm",
        "image/gif" => "gif",
        "image/png" | "image" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "audio/mpeg" | "audio" => "mp3",
        "audio/wav" | "audio/x-wav" => "wav",
        "application/pdf" | "pdf" => "pdf",
        _ => "bin",
    }
}

/// Downloads `output` of job `id` to `dest`, refreshing its URL first when it is missing or
/// about to expire, and once more if the server refuses it. `refresh_calls` is increased by
/// each refresh asked of the provider, answered or not: API calls a caller may count.
pub async fn download_output(
    api: &dyn ProviderApi,
    transport: &dyn Transport,
    clock: &dyn Clock,
    id: &str,
    output: &Output,
    dest: &Path,
    refresh_calls: &mut u32,
) -> Result<SavedFile, Error> {
    let provider = api.provider();
    let mut current = output.clone();
    let mut refreshed = false;
    if current.needs_refresh(clock.now(), EXPIRY_MARGIN) {
        *refresh_calls += 1;
        current = api.refresh_output(id, &current).await?;
        refreshed = true;
    }
    for attempt in 0..2 {
        let Some(url) = current.url.clone() else {
            return Err(Error::Decode {
                provider,
                operation: Operation::Download,
                http_status: 200,
                message: format!("job {id}: the output has no URL even after a refresh"),
            });
        };
        // A plain GET: signed result URLs need no key, and a CDN must never see it.
        let request = HttpRequest::new(http::Method::GET, url);
        let outcome = transport
            .download(request, dest, MAX_DOWNLOAD_BYTES)
            .await
            .map_err(|e| Error::Transport {
                provider,
                operation: Operation::Download,
                failure: e.failure,
                message: format!("job {id}: {}", e.message),
            })?;
        match outcome {
            DownloadOutcome::Saved(download) => {
                if let Some(size) = output.size.or(current.size) {
                    if size != download.bytes {
                        tracing::warn!(%provider, job = id, announced = size, got = download.bytes, "downloaded size differs from the announced size");
                    }
                }
                return Ok(SavedFile {
                    path: dest.to_path_buf(),
                    download,
                    refreshed,
                });
            }
            DownloadOutcome::Refused { status } if attempt == 0 => {
                tracing::info!(%provider, job = id, status, "result URL refused; refreshing it");
                *refresh_calls += 1;
                current = api.refresh_output(id, &current).await?;
                refreshed = true;
            }
            DownloadOutcome::Refused { status } => {
                return Err(Error::Transport {
                    provider,
                    operation: Operation::Download,
                    failure: mediajobs_core::TransportFailure::Request,
                    message: format!(
                        "job {id}: the result URL was refused (HTTP {status}) even after a refresh"
                    ),
                });
            }
        }
    }
    Err(Error::Config(format!(
        "job {id}: download loop ended without a result"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(mime: Option<&str>) -> Output {
        Output {
            url: Some("http://x".into()),
            file_id: None,
            mime_type: mime.map(str::to_string),
            size: None,
            expires_at: None,
        }
    }

    #[test]
    fn file_names_are_safe_and_typed() {
        assert_eq!(file_name("cat-1", 0, &out(Some("video/mp4"))), "cat-1.mp4");
        assert_eq!(
            file_name("../etc/passwd", 1, &out(Some("IMAGE"))),
            "___etc_passwd-1.png"
        );
        assert_eq!(file_name("k", 0, &out(None)), "k.bin");
    }
}
