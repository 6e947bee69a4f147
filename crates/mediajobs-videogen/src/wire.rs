//! VideoGen's JSON, as documented: executions, result files, list pages, webhook endpoints.
//!
//! Every documented field is here and public. Reading is lenient where the provider is silent
//! or loose: optional fields may be missing or `null`, numbers may come as integers or
//! floats, timestamps (unix seconds) may also come as numeric strings or RFC 3339 text, and
//! fields the types do not know are kept in `extra` rather than refused.

use mediajobs_core::{JobError, JobId, Output, Provider, ProviderStatus, Snapshot, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::generated;

/// Unix-seconds timestamps, read leniently (integer, float, numeric string or RFC 3339) and
/// written as integer seconds. Unreadable values become `None` rather than an error.
pub(crate) mod unix_opt {
    use mediajobs_core::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub(crate) fn from_value(v: &Value) -> Option<Timestamp> {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    chrono::DateTime::from_timestamp(i, 0)
                } else {
                    let f = n.as_f64()?;
                    if !f.is_finite() {
                        return None;
                    }
                    let secs = f.floor();
                    let nanos = ((f - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
                    chrono::DateTime::from_timestamp(secs as i64, nanos)
                }
            }
            Value::String(s) => {
                let s = s.trim();
                if let Ok(i) = s.parse::<i64>() {
                    chrono::DateTime::from_timestamp(i, 0)
                } else {
                    chrono::DateTime::parse_from_rfc3339(s)
                        .ok()
                        .map(|t| t.to_utc())
                }
            }
            _ => None,
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(from_value))
    }

    pub(crate) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_i64(t.timestamp()),
            None => s.serialize_none(),
        }
    }
}

/// Reads a `Vec` that may be missing or `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// One execution of a tool, as `GET /v1/tools/executions/{id}` and the list return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecution {
    /// The execution's opaque id (`vg_exec_…`).
    #[serde(default)]
    pub tool_execution_id: String,
    /// The tool, in UPPER_SNAKE (`GENERATE_IMAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_type: Option<String>,
    /// `pending`, `running`, `succeeded`, `failed`, `cancelled`, or a status not yet known.
    pub status: String,
    /// 0–100, per attempt; 100 when succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percentage: Option<f64>,
    /// Which attempt this is (from 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_index: Option<u32>,
    /// The result files: present only when succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<ExecutionResult>>,
    /// Why it failed: present (non-null) only when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExecutionError>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of an execution's `results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    /// The result file's id (`vg_file_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// `IMAGE`, `VIDEO`, `AUDIO`, `PDF` or `SLIDESHOW`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The storage file, with its signed URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<StorageFile>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExecutionResult {
    /// This result as a unified [`Output`]: the download source's URL, size and expiry.
    pub fn to_output(&self) -> Output {
        let file = self.file.as_ref();
        let mut out = file.map(StorageFile::to_output).unwrap_or(Output {
            url: None,
            file_id: None,
            mime_type: None,
            size: None,
            expires_at: None,
        });
        if out.file_id.is_none() {
            out.file_id = self.file_id.clone();
        }
        if out.mime_type.is_none() {
            out.mime_type = mime_type(self.kind.as_deref(), out.url.as_deref());
        }
        out
    }
}

/// A storage file (`GET /v1/files/{id}`, `POST /v1/files/{id}/hydrate`, and inside results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageFile {
    /// The file's id (`vg_file_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// `IMAGE`, `VIDEO`, `AUDIO`, `PDF` or `SLIDESHOW`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The file's scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The name shown in VideoGen's UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The duration of audio and video, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// A thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_source: Option<FileSource>,
    /// A preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_source: Option<FileSource>,
    /// The file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_source: Option<FileSource>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StorageFile {
    /// The file as a unified [`Output`], from its download source.
    pub fn to_output(&self) -> Output {
        let src = self.download_source.as_ref();
        let url = src.and_then(|s| s.url.clone());
        Output {
            mime_type: mime_type(self.kind.as_deref(), url.as_deref()),
            url,
            file_id: self.file_id.clone(),
            size: src.and_then(|s| s.file_bytes),
            expires_at: src.and_then(|s| s.expires_at),
        }
    }
}

/// One source of a storage file (download, preview, thumbnail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSource {
    /// `pending`, `ready`, `failed` or `skipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The signed URL, where ready and signed (`GET /v1/files/{id}` carries none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When `url` stops working (unix seconds on the wire).
    #[serde(default, with = "unix_opt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An execution's `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionError {
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// A snake_case code, where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of `GET /v1/tools/executions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionPage {
    /// The executions, most recently created first.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tool_executions: Vec<ToolExecution>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A webhook endpoint as `GET /v1/webhooks/endpoints` lists it (no secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub endpoint_id: String,
    /// Where events go.
    #[serde(default)]
    pub url: String,
    /// The events it receives.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub events: Vec<String>,
    /// The caller's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was created (unix seconds on the wire).
    #[serde(default, with = "unix_opt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// The last four characters of its signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret_last4: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of `GET /v1/webhooks/endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPage {
    /// The endpoints.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub endpoints: Vec<WebhookEndpoint>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The answer to `POST /v1/webhooks/endpoints`, as sent (the secret still a plain string).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedEndpointWire {
    pub(crate) endpoint_id: String,
    #[serde(default)]
    pub(crate) url: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) events: Vec<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default, with = "unix_opt")]
    pub(crate) created_at: Option<Timestamp>,
    #[serde(default)]
    pub(crate) signing_secret: Option<String>,
    #[serde(default)]
    pub(crate) signing_secret_last4: Option<String>,
}

/// A MIME type for a result: from the URL's file extension where it has a known one, else
/// implied by VideoGen's `type` (`PDF` → `application/pdf`), else VideoGen's `type` itself
/// (`IMAGE`, `VIDEO`, `AUDIO`, `SLIDESHOW`): VideoGen sends no `mimeType`.
pub fn mime_type(kind: Option<&str>, url: Option<&str>) -> Option<String> {
    let ext = url
        .and_then(|u| u.split(['?', '#']).next())
        .and_then(|p| p.rsplit('/').next())
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("png") => Some("image/png"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("webp") => Some("image/webp"),
        Some("gif") => Some("image/gif"),
        Some("svg") => Some("image/svg+xml"),
        Some("mp4") => Some("video/mp4"),
        Some("webm") => Some("video/webm"),
        Some("mov") => Some("video/quicktime"),
        Some("mp3") => Some("audio/mpeg"),
        Some("wav") => Some("audio/wav"),
        Some("ogg") => Some("audio/ogg"),
        Some("m4a") => Some("audio/mp4"),
        Some("pdf") => Some("application/pdf"),
        Some("glb") => Some("model/gltf-binary"),
        _ => None,
    };
    if let Some(m) = by_ext {
        return Some(m.to_string());
    }
    match kind {
        Some(k) if k.eq_ignore_ascii_case("PDF") => Some("application/pdf".to_string()),
        Some(k) if !k.is_empty() => Some(k.to_string()),
        _ => None,
    }
}

/// The unified status of a raw VideoGen status (unknown ones kept, non-terminal).
pub fn provider_status(raw: &str) -> ProviderStatus {
    ProviderStatus::from_table(raw, generated::status_from_raw)
}

impl ToolExecution {
    /// The unified status.
    pub fn provider_status(&self) -> ProviderStatus {
        provider_status(&self.status)
    }

    /// The results as unified outputs (empty unless succeeded).
    pub fn outputs(&self) -> Vec<Output> {
        self.results
            .iter()
            .flatten()
            .map(ExecutionResult::to_output)
            .collect()
    }

    /// The unified snapshot of this execution; `raw` is the answer as received.
    pub fn to_snapshot(&self, raw: Value) -> Snapshot {
        let mut s = Snapshot::new(
            JobId::new(Provider::VideoGen, self.tool_execution_id.clone()),
            self.provider_status(),
        );
        s.progress = self
            .progress_percentage
            .filter(|p| p.is_finite())
            .map(|p| p.clamp(0.0, 100.0));
        s.attempt = self.attempt_index;
        s.tool = self.tool_type.clone();
        s.outputs = self.outputs();
        s.error = self.error.as_ref().map(|e| JobError {
            code: e.code.clone(),
            message: e.message.clone(),
        });
        s.raw = raw;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_from_extension_then_kind() {
        let m = |k, u| mime_type(k, u);
        assert_eq!(
            m(Some("IMAGE"), Some("https://x/a/b.PNG?sig=1")).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            m(Some("VIDEO"), Some("https://x/a/b.mp4")).as_deref(),
            Some("video/mp4")
        );
        assert_eq!(
            m(Some("AUDIO"), Some("https://x/a/b")).as_deref(),
            Some("AUDIO")
        );
        assert_eq!(m(Some("PDF"), None).as_deref(), Some("application/pdf"));
        assert_eq!(m(None, Some("https://x.y/z")), None);
    }

    #[test]
    fn lenient_timestamps() {
        let t = |v: Value| unix_opt::from_value(&v).map(|t| t.timestamp());
        assert_eq!(t(serde_json::json!(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(t(serde_json::json!(1_700_000_000.5)), Some(1_700_000_000));
        assert_eq!(t(serde_json::json!("1700000000")), Some(1_700_000_000));
        assert_eq!(
            t(serde_json::json!("2023-11-14T22:13:20Z")),
            Some(1_700_000_000)
        );
        assert_eq!(t(serde_json::json!("soon")), None);
        assert_eq!(t(serde_json::json!(true)), None);
        assert_eq!(t(serde_json::json!(1e300)), None);
    }
}
