//! Result files: small real bytes with the right content type, behind signed URLs that carry
//! their expiry (in sim time), served by the sim under each provider's prefix (`/_files/...`).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, StatusCode, header};
use sha2::Sha256;

use crate::clock::{SimMs, unix_secs};
use crate::faults::Provider;
use crate::state::{Shared, bump};
use crate::util::{json_response, query_pairs};

/// The kinds of bytes the sim can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Png,
    Svg,
    Gif,
    Mp4,
    Webm,
    Mp3,
    Wav,
}

impl FileKind {
    pub(crate) fn ext(self) -> &'static str {
        match self {
            FileKind::Png => "png",
            FileKind::Svg => "svg",
            FileKind::Gif => "gif",
            FileKind::Mp4 => "mp4",
            FileKind::Webm => "webm",
            FileKind::Mp3 => "mp3",
            FileKind::Wav => "wav",
        }
    }

    pub(crate) fn from_ext(ext: &str) -> Option<FileKind> {
        [
            FileKind::Png,
            FileKind::Svg,
            FileKind::Gif,
            FileKind::Mp4,
            FileKind::Webm,
            FileKind::Mp3,
            FileKind::Wav,
        ]
        .into_iter()
        .find(|k| k.ext() == ext)
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            FileKind::Png => "image/png",
            FileKind::Svg => "image/svg+xml",
            FileKind::Gif => "image/gif",
            FileKind::Mp4 => "video/mp4",
            FileKind::Webm => "video/webm",
            FileKind::Mp3 => "audio/mpeg",
            FileKind::Wav => "audio/wav",
        }
    }

    pub(crate) fn bytes(self) -> Bytes {
        static ALL: OnceLock<[Bytes; 7]> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            [
                Bytes::from(tiny_png()),
                Bytes::from_static(
                    b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"9\" viewBox=\"0 0 16 9\"><rect width=\"16\" height=\"9\" fill=\"#3a6\"/></svg>\n",
                ),
                Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
                        .unwrap_or_default(),
                ),
                Bytes::from(mp4()),
                Bytes::from(webm()),
                Bytes::from(mp3()),
                Bytes::from(wav()),
            ]
        });
        all[self as usize].clone()
    }

    pub(crate) fn len(self) -> u64 {
        self.bytes().len() as u64
    }
}

/// A 1×1 PNG (a widely used, valid one).
fn tiny_png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap_or_default()
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(payload);
    v
}

/// An ISO BMFF header (`ftyp`, `free`, `mdat`): plausible to a sniffer, not playable.
fn mp4() -> Vec<u8> {
    let mut v = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    v.extend(mp4_box(b"free", b"mediajobs-sim sample video"));
    v.extend(mp4_box(b"mdat", &[0u8; 1024]));
    v
}

fn webm() -> Vec<u8> {
    let mut v = vec![
        0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81, 0x01,
    ];
    v.extend_from_slice(&[0x42, 0x82, 0x84]);
    v.extend_from_slice(b"webm");
    v.resize(1024, 0);
    v
}

/// An ID3v2 tag followed by MPEG-1 Layer III frame headers (128 kbit/s, 44.1 kHz).
fn mp3() -> Vec<u8> {
    let mut v = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    for _ in 0..3 {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
        frame.resize(417, 0);
        v.extend(frame);
    }
    v
}

/// A valid RIFF/WAVE file: 8 kHz, 8-bit mono, a quarter second of silence.
fn wav() -> Vec<u8> {
    let data_len: u32 = 2000;
    let mut v = b"RIFF".to_vec();
    v.extend((36 + data_len).to_le_bytes());
    v.extend(b"WAVEfmt ");
    v.extend(16u32.to_le_bytes());
    v.extend(1u16.to_le_bytes()); // PCM
    v.extend(1u16.to_le_bytes()); // mono
    v.extend(8000u32.to_le_bytes());
    v.extend(8000u32.to_le_bytes());
    v.extend(1u16.to_le_bytes());
    v.extend(8u16.to_le_bytes());
    v.extend(b"data");
    v.extend(data_len.to_le_bytes());
    v.resize(v.len() + data_len as usize, 0x80);
    v
}

fn signature(shared: &Shared, provider: Provider, name: &str, expires: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&shared.url_secret) else {
        return String::new();
    };
    mac.update(format!("{}/{}:{}", provider.name(), name, expires).as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A URL for `name` under the provider's prefix that the sim serves until `expires_ms` (sim time).
pub(crate) fn signed_url(
    shared: &Shared,
    provider: Provider,
    name: &str,
    expires_ms: SimMs,
) -> String {
    let expires = unix_secs(expires_ms);
    format!(
        "{}/{}/_files/{}?expires={}&sig={}",
        shared.origin,
        provider.name(),
        name,
        expires,
        signature(shared, provider, name, expires)
    )
}

/// Serves `GET {prefix}/_files/{name}`. Refusals: a URL the sim did not sign → 403; an expired
/// signed URL → 403 (VibePeak, VideoGen: the signature has lapsed) or 410 (Vidiking: the output
/// was deleted after its retention); a file whose task is gone (reset) → 404.
pub(crate) fn serve(
    shared: &Arc<Shared>,
    provider: Provider,
    name: &str,
    query: Option<&str>,
) -> Response {
    let stats = shared.stats(provider);
    let pairs = query_pairs(query);
    let find = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let expires: Option<i64> = find("expires").and_then(|v| v.parse().ok());
    let sig = find("sig");
    let refuse = |status: StatusCode, msg: &str| {
        bump(&stats.download_refused);
        json_response(status, &serde_json::json!({"error": msg}))
    };
    let (Some(expires), Some(sig)) = (expires, sig) else {
        return refuse(StatusCode::FORBIDDEN, "missing signature");
    };
    if sig != signature(shared, provider, name, expires) {
        return refuse(StatusCode::FORBIDDEN, "invalid signature");
    }
    if unix_secs(shared.now_ms()) >= expires {
        return match provider {
            Provider::Vidiking => refuse(
                StatusCode::GONE,
                "this output was deleted after its retention period",
            ),
            _ => refuse(StatusCode::FORBIDDEN, "Request has expired"),
        };
    }
    let exists = match provider {
        Provider::VibePeak => crate::vibepeak::file_exists(shared, name),
        Provider::VideoGen => crate::videogen::file_exists(shared, name),
        Provider::Vidiking => crate::vidiking::file_exists(shared, name),
    };
    let kind = name
        .rsplit_once('.')
        .and_then(|(_, ext)| FileKind::from_ext(ext));
    let (true, Some(kind)) = (exists, kind) else {
        return refuse(StatusCode::NOT_FOUND, "no such file");
    };
    bump(&stats.downloads);
    let bytes = kind.bytes();
    let len = bytes.len();
    let mut resp = Response::new(Body::from(bytes));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_have_their_magic() {
        assert_eq!(&FileKind::Png.bytes()[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&FileKind::Gif.bytes()[..6], b"GIF89a");
        assert_eq!(&FileKind::Mp4.bytes()[4..8], b"ftyp");
        assert_eq!(&FileKind::Wav.bytes()[..4], b"RIFF");
        assert_eq!(&FileKind::Mp3.bytes()[..3], b"ID3");
        assert!(FileKind::Wav.len() > 44);
    }
}
