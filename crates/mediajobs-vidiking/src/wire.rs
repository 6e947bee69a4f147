//! What Vidiking answers: jobs (submit, status, list) and the account webhook, read leniently.

use std::time::Duration;

use mediajobs_core::{JobError, JobId, Output, Provider, ProviderStatus, Snapshot, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use crate::generated;
use crate::timeline::Format;

/// The `metadata` key that carries the caller's stable key ([`mediajobs_core::SubmitRequest::key`]).
pub const KEY_METADATA_FIELD: &str = "mediajobs_key";

/// How long Vidiking keeps a production output \[doc]: 7 days.
pub const PRODUCTION_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long Vidiking keeps a sandbox output \[doc]: 24 hours.
pub const SANDBOX_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// A render job as the status, list and submit answers describe it. Every documented field is
/// here; anything else the provider sends is kept in `extra`. Missing fields are `None` (the
/// answers differ by status), and a field of an unexpected type is read as absent rather than
/// failing the whole answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VidikingJob {
    /// The job id (`job_…`, opaque).
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: String,
    /// `QUEUED`, `PROCESSING`, `COMPLETE` or `FAILED` (any other value is kept as sent).
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: String,
    /// The output's URL (COMPLETE).
    #[serde(
        default,
        deserialize_with = "lenient_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// The output's duration in seconds (COMPLETE).
    #[serde(
        default,
        deserialize_with = "lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<f64>,
    /// The output's pixel size, e.g. `1920x1080` (COMPLETE); see [`VidikingJob::dimensions`].
    #[serde(
        default,
        deserialize_with = "lenient_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolution: Option<String>,
    /// The output's format, e.g. `mp4` (COMPLETE).
    #[serde(
        default,
        deserialize_with = "lenient_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub format: Option<String>,
    /// The output's size in bytes (COMPLETE).
    #[serde(
        default,
        deserialize_with = "lenient_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size: Option<u64>,
    /// What the job cost, as the provider states it (units differ across its docs, so the
    /// number is kept as sent). `0` on a failed, refunded job.
    #[serde(
        default,
        deserialize_with = "lenient_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub credits_used: Option<Number>,
    /// When the job was created.
    #[serde(
        default,
        deserialize_with = "lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<Timestamp>,
    /// When rendering started.
    #[serde(
        default,
        deserialize_with = "lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub processing_started_at: Option<Timestamp>,
    /// When rendering finished (COMPLETE).
    #[serde(
        default,
        deserialize_with = "lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<Timestamp>,
    /// When the job failed (FAILED).
    #[serde(
        default,
        deserialize_with = "lenient_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub failed_at: Option<Timestamp>,
    /// Seconds of rendering (COMPLETE; an integer in the docs).
    #[serde(
        default,
        deserialize_with = "lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub render_time: Option<f64>,
    /// Why it failed (FAILED).
    #[serde(
        default,
        deserialize_with = "lenient_job_error",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Option<VidikingJobError>,
    /// The metadata sent with the job, echoed back \[assumed].
    #[serde(
        default,
        deserialize_with = "lenient_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<Map<String, Value>>,
    /// Any other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A failed job's `error` object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VidikingJobError {
    /// The failure code: `INVALID_ASSET`, `INVALID_TIMELINE`, `INSUFFICIENT_CREDITS`,
    /// `RENDER_TIMEOUT`, `INTERNAL_ERROR` \[doc], or another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The provider's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl VidikingJobError {
    fn rule(&self) -> Option<&'static mediajobs_transport::ErrorRule> {
        let code = self.code.as_deref()?;
        // Prefer the job-failure row (http_status 0) of a code that is also an HTTP error code.
        generated::ERROR_RULES
            .iter()
            .filter(|r| r.code == code)
            .min_by_key(|r| r.http_status)
    }

    /// What to do about this failure, from the error table, for a documented code.
    pub fn advice(&self) -> Option<&'static str> {
        self.rule().map(|r| r.advice)
    }

    /// Whether submitting the same request again may succeed (`INTERNAL_ERROR`), for a
    /// documented code; `None` for an unknown one.
    pub fn is_transient(&self) -> Option<bool> {
        self.rule().map(|r| r.transient)
    }
}

impl VidikingJob {
    /// The unified status (unknown raw statuses are kept, non-terminal, `recognized == false`).
    pub fn provider_status(&self) -> ProviderStatus {
        provider_status(&self.status)
    }

    /// Whether the job rendered.
    pub fn is_complete(&self) -> bool {
        self.provider_status().status == mediajobs_core::Status::Succeeded
    }

    /// Whether the job failed.
    pub fn is_failed(&self) -> bool {
        self.provider_status().status == mediajobs_core::Status::Failed
    }

    /// Whether the job failed and its hold was refunded: Vidiking refunds every failed job
    /// \[doc] and reports `credits_used: 0`. A failed job that reports a non-zero charge is not
    /// counted as refunded; one that reports none is (the documented behaviour).
    pub fn refunded(&self) -> bool {
        self.is_failed()
            && self
                .credits_used
                .as_ref()
                .is_none_or(|n| n.as_f64().is_some_and(|f| f == 0.0))
    }

    /// The caller's stable key, from `metadata.mediajobs_key`.
    pub fn client_key(&self) -> Option<String> {
        match self.metadata.as_ref()?.get(KEY_METADATA_FIELD)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The output's width and height, from `resolution` (`1920x1080`).
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        let (w, h) = self.resolution.as_deref()?.split_once(['x', 'X', '×'])?;
        Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
    }

    /// The output's MIME type: from `format` (`mp4` → `video/mp4`, `webm`, `gif`, `mp3`), else
    /// from the URL's extension.
    pub fn mime_type(&self) -> Option<String> {
        mime_type(self.format.as_deref(), self.url.as_deref())
    }

    /// The output, once the job is complete and has a URL. `expires_at` is `None`: Vidiking
    /// sends no expiry (see [`VidikingJob::retention_ends_at`] for an advisory one).
    pub fn output(&self) -> Option<Output> {
        let url = self.url.clone()?;
        Some(Output {
            mime_type: self.mime_type(),
            url: Some(url),
            file_id: None,
            size: self.file_size,
            expires_at: None,
        })
    }

    /// An advisory end of the output's life: `completed_at` + 7 days (production) or 24 hours
    /// (sandbox), as documented. Vidiking sends no expiry and a re-read returns the same URL, so
    /// this is only a deadline to download by, not a point at which refreshing helps.
    pub fn retention_ends_at(&self, sandbox: bool) -> Option<Timestamp> {
        let keep = if sandbox {
            SANDBOX_RETENTION
        } else {
            PRODUCTION_RETENTION
        };
        let keep = chrono::Duration::from_std(keep).ok()?;
        self.completed_at?.checked_add_signed(keep)
    }

    /// The unified [`Snapshot`], with `raw` = this job re-serialised.
    pub fn to_snapshot(&self) -> Snapshot {
        let raw = serde_json::to_value(self).unwrap_or(Value::Null);
        self.snapshot_with(raw, None)
    }

    pub(crate) fn snapshot_with(&self, raw: Value, retry_after: Option<Duration>) -> Snapshot {
        let status = self.provider_status();
        let mut s = Snapshot::new(JobId::new(Provider::Vidiking, self.id.clone()), status);
        s.created_at = self.created_at;
        s.retry_after = retry_after;
        s.client_key = self.client_key();
        if let Some(out) = self.output() {
            s.outputs.push(out);
        }
        if self.is_failed() || self.error.is_some() {
            let e = self.error.clone().unwrap_or_default();
            s.error = Some(JobError {
                message: e
                    .message
                    .clone()
                    .or_else(|| e.code.clone())
                    .unwrap_or_else(|| "the render failed (no error detail given)".to_string()),
                code: e.code,
            });
        }
        s.raw = raw;
        s
    }
}

/// The raw status mapped with the generated table; an upper-cased retry catches a provider
/// that changes case (the raw string is kept as sent).
pub(crate) fn provider_status(raw: &str) -> ProviderStatus {
    ProviderStatus::from_table(raw, |r| {
        generated::status_from_raw(r)
            .or_else(|| generated::status_from_raw(&r.trim().to_ascii_uppercase()))
    })
}

pub(crate) fn mime_type(format: Option<&str>, url: Option<&str>) -> Option<String> {
    if let Some(f) = format.and_then(Format::parse) {
        return Some(f.mime_type().to_string());
    }
    let path = url?.split(['?', '#']).next()?;
    let ext = path.rsplit_once('.')?.1;
    if ext.contains('/') {
        return None;
    }
    Format::parse(ext).map(|f| f.mime_type().to_string())
}

/// The account webhook as Vidiking echoes it (`PUT /v1/webhooks`), secret omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookSettings {
    /// Where events are sent.
    #[serde(default, deserialize_with = "lenient_string")]
    pub url: String,
    /// Which events (`render.complete`, …).
    #[serde(default, deserialize_with = "lenient_strings")]
    pub events: Vec<String>,
    /// Any other field, as sent (never the secret: Vidiking omits it).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The events of a render's life: `render.queued`, `render.processing`, `render.complete`,
/// `render.failed`.
pub const RENDER_EVENTS: [&str; 4] = [
    "render.queued",
    "render.processing",
    "render.complete",
    "render.failed",
];

/// Unwraps `{success, data: {...}}` / `{data: {...}}` around a single object, where the object
/// itself has no `status`/`id`.
pub(crate) fn unwrap_object(v: Value) -> Value {
    match v {
        Value::Object(mut m)
            if !m.contains_key("status") && !m.contains_key("id") && !m.contains_key("url") =>
        {
            match m.remove("data") {
                Some(inner @ Value::Object(_)) => inner,
                Some(other) => {
                    m.insert("data".into(), other);
                    Value::Object(m)
                }
                None => Value::Object(m),
            }
        }
        other => other,
    }
}

/// The job array of a list answer: `{data: [...]}` \[assumed], a bare array, or the array under
/// `jobs`, `renders`, `items` or `results`, or under `data` one level down.
pub(crate) fn list_items(v: &Value) -> Option<&Vec<Value>> {
    const KEYS: [&str; 5] = ["data", "jobs", "renders", "items", "results"];
    match v {
        Value::Array(a) => Some(a),
        Value::Object(m) => KEYS.iter().find_map(|k| match m.get(*k)? {
            Value::Array(a) => Some(a),
            inner @ Value::Object(_) if *k == "data" => list_items(inner),
            _ => None,
        }),
        _ => None,
    }
}

// ---- lenient field readers -------------------------------------------------------------

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_opt_string(d)?.unwrap_or_default())
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    })
}

fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Number>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => Some(n),
        Some(Value::String(s)) => serde_json::from_str::<Number>(s.trim()).ok(),
        _ => None,
    })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(lenient_number(d)?
        .and_then(|n| n.as_f64())
        .filter(|f| f.is_finite()))
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(lenient_number(d)?.and_then(|n| {
        n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        })
    }))
}

fn lenient_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    })
}

fn lenient_job_error<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<VidikingJobError>, D::Error> {
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Object(m)) => Some(VidikingJobError {
            code: s(&m, "code"),
            message: s(&m, "message").or_else(|| s(&m, "error")),
        }),
        Some(Value::String(msg)) => Some(VidikingJobError {
            code: None,
            message: Some(msg),
        }),
        _ => None,
    })
}

pub(crate) fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(time_from_value))
}

/// An ISO 8601 / RFC 3339 time (a missing offset read as UTC), or unix seconds (or
/// milliseconds, when the number is too large to be seconds).
pub(crate) fn time_from_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return Some(t.to_utc());
            }
            for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
                    return Some(t.and_utc());
                }
            }
            s.parse::<f64>().ok().and_then(unix)
        }
        Value::Number(n) => n.as_f64().and_then(unix),
        _ => None,
    }
}

fn unix(secs: f64) -> Option<Timestamp> {
    if !secs.is_finite() {
        return None;
    }
    let secs = if secs.abs() > 1e11 {
        secs / 1000.0
    } else {
        secs
    };
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9) as u32;
    chrono::DateTime::from_timestamp(whole as i64, nanos.min(999_999_999))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(v: Value) -> VidikingJob {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn complete_job_has_every_documented_field() {
        let j = job(json!({
            "id": "job_abc123", "status": "COMPLETE",
            "url": "https://cdn.vidiking.com/renders/job_abc123.mp4",
            "duration": 10.5, "resolution": "1920x1080", "format": "mp4", "file_size": 8542100,
            "credits_used": 10, "created_at": "2025-01-15T10:30:00Z",
            "processing_started_at": "2025-01-15T10:30:02Z", "completed_at": "2025-01-15T10:30:45Z",
            "render_time": 43, "future_field": [1]
        }));
        assert!(j.is_complete() && !j.is_failed() && !j.refunded());
        assert_eq!(j.duration, Some(10.5));
        assert_eq!(j.dimensions(), Some((1920, 1080)));
        assert_eq!(j.file_size, Some(8_542_100));
        assert_eq!(j.credits_used, Some(Number::from(10)));
        assert_eq!(j.render_time, Some(43.0));
        assert_eq!(j.extra.get("future_field"), Some(&json!([1])));
        let out = j.output().unwrap();
        assert_eq!(out.mime_type.as_deref(), Some("video/mp4"));
        assert_eq!(out.size, Some(8_542_100));
        assert_eq!(out.expires_at, None);
        assert_eq!(
            j.retention_ends_at(false).unwrap().to_rfc3339(),
            "2025-01-22T10:30:45+00:00"
        );
        assert_eq!(
            j.retention_ends_at(true).unwrap().to_rfc3339(),
            "2025-01-16T10:30:45+00:00"
        );
        let s = j.to_snapshot();
        assert!(s.is_terminal());
        assert_eq!(s.raw["render_time"], json!(43.0));
    }

    #[test]
    fn odd_field_types_are_read_as_absent_not_fatal() {
        let j = job(json!({
            "id": 7, "status": "PROCESSING", "duration": "n/a", "file_size": "123",
            "credits_used": "2.5", "created_at": 1736937000, "processing_started_at": "yesterday",
            "metadata": "oops", "error": null, "render_time": null
        }));
        assert_eq!(j.id, "7");
        assert_eq!(j.duration, None);
        assert_eq!(j.file_size, Some(123));
        assert_eq!(j.credits_used.as_ref().and_then(|n| n.as_f64()), Some(2.5));
        assert_eq!(
            j.created_at.unwrap().to_rfc3339(),
            "2025-01-15T10:30:00+00:00"
        );
        assert_eq!(j.processing_started_at, None);
        assert_eq!(j.metadata, None);
        assert_eq!(j.client_key(), None);
    }

    #[test]
    fn times_in_every_reasonable_shape() {
        for v in [
            json!("2025-01-15T10:30:00Z"),
            json!("2025-01-15T11:30:00+01:00"),
            json!("2025-01-15T10:30:00"),
            json!("2025-01-15T10:30:00.000"),
            json!(1736937000),
            json!(1736937000000_i64),
            json!("1736937000"),
        ] {
            assert_eq!(
                time_from_value(&v).map(|t| t.to_rfc3339()).as_deref(),
                Some("2025-01-15T10:30:00+00:00"),
                "{v}"
            );
        }
        assert_eq!(time_from_value(&json!("soon")), None);
        assert_eq!(time_from_value(&json!(true)), None);
    }

    #[test]
    fn mime_types_from_format_or_url() {
        assert_eq!(mime_type(Some("mp4"), None).as_deref(), Some("video/mp4"));
        assert_eq!(mime_type(Some("WEBM"), None).as_deref(), Some("video/webm"));
        assert_eq!(mime_type(Some("gif"), None).as_deref(), Some("image/gif"));
        assert_eq!(mime_type(Some("mp3"), None).as_deref(), Some("audio/mpeg"));
        assert_eq!(
            mime_type(None, Some("https://c/x/a.gif?sig=1")).as_deref(),
            Some("image/gif")
        );
        assert_eq!(mime_type(Some("mov"), Some("https://c/x")), None);
        assert_eq!(mime_type(None, Some("https://c.d/x")), None);
    }

    #[test]
    fn job_error_advice_prefers_the_failure_row() {
        let e = VidikingJobError {
            code: Some("INTERNAL_ERROR".into()),
            message: None,
        };
        assert_eq!(e.is_transient(), Some(true));
        assert!(e.advice().unwrap().contains("refunded"));
        let e = VidikingJobError {
            code: Some("INVALID_ASSET".into()),
            message: None,
        };
        assert_eq!(e.is_transient(), Some(false));
        assert_eq!(VidikingJobError::default().advice(), None);
    }

    #[test]
    fn list_shapes() {
        let a = json!([{"id": "1"}]);
        assert_eq!(list_items(&a).map(Vec::len), Some(1));
        for v in [
            json!({"data": [{"id": "1"}]}),
            json!({"jobs": [{"id": "1"}]}),
            json!({"success": true, "data": {"items": [{"id": "1"}]}}),
            json!({"success": true, "data": [{"id": "1"}]}),
        ] {
            assert_eq!(list_items(&v).map(Vec::len), Some(1), "{v}");
        }
        assert_eq!(list_items(&json!({"data": "x"})), None);
        assert_eq!(list_items(&json!(3)), None);
    }

    #[test]
    fn envelopes_around_one_object() {
        assert_eq!(
            unwrap_object(json!({"success": true, "data": {"id": "j"}})),
            json!({"id": "j"})
        );
        assert_eq!(
            unwrap_object(json!({"id": "j", "data": {"x": 1}}))["id"],
            "j"
        );
        assert_eq!(unwrap_object(json!({"data": 3})), json!({"data": 3}));
    }
}
