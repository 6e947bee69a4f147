//! VibePeak's task as the API describes it, and its translation into the unified model.

use std::time::Duration;

use mediajobs_core::{JobError, JobId, Output, Provider, ProviderStatus, Snapshot, Timestamp};
use mediajobs_transport::ErrorRule;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::generated;
use crate::lenient;

/// The MIME type of the result video.
pub const VIDEO_MIME: &str = "video/mp4";

/// A task, as `GET /v1/tasks/{task_id}` (and the `202` of a submit, and a webhook) describes
/// it. Every documented field of every status is here; fields that are absent, `null` or of
/// an unexpected shape are `None` (the raw answer keeps them), and undocumented fields are in
/// [`VibePeakTask::extra`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VibePeakTask {
    /// The task's id (`task_…`; opaque).
    #[serde(default)]
    pub task_id: String,
    /// The raw status: `queued`, `processing`, `completed`, `failed` (or a new one).
    #[serde(default)]
    pub status: String,
    /// When the task was created.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub created_at: Option<Timestamp>,
    /// `true` for a live-mode task, `false` for a test-mode one.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub livemode: Option<bool>,
    /// Queued: the position in the processing queue.
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub queue_position: Option<u32>,
    /// Queued: the provider's estimate of completion.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub estimated_completion: Option<Timestamp>,
    /// Processing and failed: when processing began.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub started_at: Option<Timestamp>,
    /// Completed and failed: when processing ended.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub completed_at: Option<Timestamp>,
    /// Completed: the video.
    #[serde(default, deserialize_with = "opt_object")]
    pub result: Option<TaskResult>,
    /// Failed: why.
    #[serde(default, deserialize_with = "opt_task_error")]
    pub error: Option<TaskError>,
    /// Fields VibePeak sent that are not documented.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A completed task's result \[doc\].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// The video (MP4). Expires at `expires_at` (7 days); re-reading the task gives a fresh
    /// URL while the video is stored.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub video_url: Option<String>,
    /// The cover image (the first frame).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub cover_image_url: Option<String>,
    /// The video's length in whole seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub duration_seconds: Option<u64>,
    /// The video's resolution, e.g. `1080p`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub resolution: Option<String>,
    /// When the URLs stop working.
    #[serde(default, deserialize_with = "lenient::opt_timestamp")]
    pub expires_at: Option<Timestamp>,
    /// Undocumented fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A failed task's error \[doc\]: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The failure code: `IMAGE_PROCESSING_FAILED` \[doc\], `NARRATION_FAILED`,
    /// `INTERNAL_ERROR` \[assumed\], or another.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub code: Option<String>,
    /// What went wrong, e.g. "Failed to process image at index 2: Invalid image format".
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Undocumented fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TaskError {
    /// What the adapter's table says about this failure code (class, transience, advice).
    pub fn rule(&self) -> Option<&'static ErrorRule> {
        let code = self.code.as_deref()?;
        generated::ERROR_RULES
            .iter()
            .filter(|r| r.code == code)
            .min_by_key(|r| r.http_status != 0)
    }
}

/// An object field of another shape is `None`, not an error.
fn opt_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.filter(Value::is_object)
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// `error` as an object, or a bare message string.
fn opt_task_error<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TaskError>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(message)) => Some(TaskError {
            code: None,
            message: Some(message),
            extra: Map::new(),
        }),
        Some(v @ Value::Object(_)) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

/// The task object inside an answer: the answer itself, or the object under `data` or `task`
/// when the answer is an envelope (tolerated \[assumed\]).
pub(crate) fn unwrap_envelope(v: &Value) -> &Value {
    let looks_like_task = |o: &Value| o.get("status").is_some() || o.get("task_id").is_some();
    if looks_like_task(v) {
        return v;
    }
    for key in ["data", "task"] {
        if let Some(inner) = v.get(key).filter(|i| i.is_object() && looks_like_task(i)) {
            return inner;
        }
    }
    v
}

impl VibePeakTask {
    /// Reads a task from a JSON value (an envelope `{data: task}` or `{task: task}` is
    /// unwrapped). Fails only when the value is not an object.
    pub fn from_value(v: &Value) -> Result<VibePeakTask, String> {
        let inner = unwrap_envelope(v);
        if !inner.is_object() {
            return Err(format!("expected a task object, got {}", kind_of(inner)));
        }
        serde_json::from_value(inner.clone()).map_err(|e| e.to_string())
    }

    /// The unified status.
    pub fn provider_status(&self) -> ProviderStatus {
        ProviderStatus::from_table(&self.status, generated::status_from_raw)
    }

    /// Whether this is a test-mode task (`livemode == false`).
    pub fn is_test(&self) -> bool {
        self.livemode == Some(false)
    }

    /// The result video as an output (`video/mp4`, with its expiry).
    pub fn video_output(&self) -> Option<Output> {
        let r = self.result.as_ref()?;
        let url = r.video_url.clone()?;
        Some(Output {
            url: Some(url),
            file_id: None,
            mime_type: Some(VIDEO_MIME.to_string()),
            size: None,
            expires_at: r.expires_at,
        })
    }

    /// The cover image (first frame) as an output. Its expiry is taken to be the result's
    /// `expires_at` \[assumed: one expiry is documented, for the result\].
    pub fn cover_output(&self) -> Option<Output> {
        let r = self.result.as_ref()?;
        let url = r.cover_image_url.clone()?;
        Some(Output {
            mime_type: Some(image_mime(&url).to_string()),
            url: Some(url),
            file_id: None,
            size: None,
            expires_at: r.expires_at,
        })
    }

    /// The outputs: the video first, then the cover image.
    pub fn outputs(&self) -> Vec<Output> {
        self.video_output()
            .into_iter()
            .chain(self.cover_output())
            .collect()
    }

    /// The failure in the unified model: the task's `error`, or (for a failed task without
    /// one) a generic message.
    pub fn job_error(&self) -> Option<JobError> {
        match &self.error {
            Some(e) => Some(JobError {
                code: e.code.clone(),
                message: e
                    .message
                    .clone()
                    .unwrap_or_else(|| "the task failed without a message".to_string()),
            }),
            None if self.status == "failed" => Some(JobError {
                code: None,
                message: "the task failed without an error object".to_string(),
            }),
            None => None,
        }
    }

    /// The unified snapshot of this task, with `raw` as the answer it came from and
    /// `retry_after` as the answer's hint.
    pub fn to_snapshot(&self, raw: Value, retry_after: Option<Duration>) -> Snapshot {
        let mut s = Snapshot::new(
            JobId::new(Provider::VibePeak, self.task_id.clone()),
            self.provider_status(),
        );
        s.queue_position = self.queue_position;
        s.estimated_completion = self.estimated_completion;
        s.retry_after = retry_after;
        s.created_at = self.created_at;
        s.outputs = self.outputs();
        s.error = self.job_error();
        s.raw = raw;
        s
    }
}

/// The MIME type an image URL's extension implies; JPEG when it says nothing [assumed: the
/// cover is a frame of the video].
pub(crate) fn image_mime(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    if path.ends_with(".png") {
        "image/png"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mediajobs_core::Status;
    use serde_json::json;

    #[test]
    fn completed_task_gives_video_and_cover() {
        let v = json!({
            "task_id": "task_1", "status": "completed", "created_at": "2026-01-04T12:00:00Z",
            "started_at": "2026-01-04T12:01:00Z", "completed_at": "2026-01-04T12:07:00Z", "livemode": false,
            "result": {"video_url": "https://cdn/v.mp4?sig=1", "cover_image_url": "https://cdn/c.png?sig=1",
                       "duration_seconds": 45, "resolution": "1080p", "expires_at": "2026-01-11T12:07:00Z"}
        });
        let t = VibePeakTask::from_value(&v).unwrap();
        assert!(t.is_test());
        let r = t.result.as_ref().unwrap();
        assert_eq!(r.duration_seconds, Some(45));
        assert_eq!(r.resolution.as_deref(), Some("1080p"));
        let s = t.to_snapshot(v.clone(), None);
        assert_eq!(s.status.status, Status::Succeeded);
        assert_eq!(s.outputs.len(), 2);
        assert_eq!(s.outputs[0].mime_type.as_deref(), Some("video/mp4"));
        assert_eq!(s.outputs[1].mime_type.as_deref(), Some("image/png"));
        assert_eq!(s.outputs[0].expires_at, r.expires_at);
        assert_eq!(s.raw, v);
    }

    #[test]
    fn odd_shapes_are_tolerated() {
        let v = json!({"data": {"task_id": "t", "status": "failed", "error": "boom", "result": "nope",
                       "queue_position": "4", "created_at": 1767528000, "livemode": "true"}});
        let t = VibePeakTask::from_value(&v).unwrap();
        assert_eq!(t.error.as_ref().unwrap().message.as_deref(), Some("boom"));
        assert_eq!(t.result, None);
        assert_eq!(t.queue_position, Some(4));
        assert_eq!(t.livemode, Some(true));
        assert!(t.created_at.is_some());
        assert!(VibePeakTask::from_value(&json!([1])).is_err());
        let failed =
            VibePeakTask::from_value(&json!({"task_id": "t", "status": "failed"})).unwrap();
        assert!(
            failed
                .job_error()
                .unwrap()
                .message
                .contains("without an error")
        );
    }

    #[test]
    fn failure_rules_prefer_job_failure_rows() {
        let e = TaskError {
            code: Some("INTERNAL_ERROR".into()),
            message: None,
            extra: Map::new(),
        };
        assert_eq!(e.rule().unwrap().http_status, 0);
        let e = TaskError {
            code: Some("IMAGE_PROCESSING_FAILED".into()),
            message: None,
            extra: Map::new(),
        };
        assert!(!e.rule().unwrap().transient);
        assert_eq!(image_mime("https://x/a.webp?x=.png"), "image/webp");
        assert_eq!(image_mime("https://x/a"), "image/jpeg");
    }
}
