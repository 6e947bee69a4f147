//! Batch files: JSON Lines, one job a line (DESIGN.md, "Batch files and the journal").
//!
//! ```text
//! {"provider": "videogen", "tool": "generate-image", "key": "cat-1", "request": {"prompt": "a cat"}}
//! ```
//!
//! ```
//! use mediajobs::batch::parse_batch;
//! let text = "{\"provider\":\"vidiking\",\"request\":{\"timeline\":{}}}\nnot json\n\n";
//! let parsed = parse_batch(text);
//! assert_eq!(parsed.lines.len(), 1);
//! assert_eq!(parsed.lines[0].key, "1"); // default key: the line number
//! assert_eq!(parsed.errors[0].line, 2);
//! ```

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use mediajobs_core::{Provider, SubmitRequest};

/// One job of a batch file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchLine {
    /// The 1-based line number in the file.
    pub line: usize,
    /// The provider.
    pub provider: Provider,
    /// The VideoGen tool, where given.
    pub tool: Option<String>,
    /// The caller's stable key; the line number when the line gives none.
    pub key: String,
    /// The provider's documented request body.
    pub request: Value,
}

impl BatchLine {
    /// The request to submit.
    pub fn submit_request(&self) -> SubmitRequest {
        SubmitRequest {
            tool: self.tool.clone(),
            body: self.request.clone(),
            key: Some(self.key.clone()),
            webhook_url: None,
        }
    }
}

/// A line that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// A parsed batch: the good lines and the bad ones. Blank lines and lines starting with `#` are
/// skipped silently; every other line is one or the other, never dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ParsedBatch {
    /// Lines that are jobs.
    pub lines: Vec<BatchLine>,
    /// Lines that are not.
    pub errors: Vec<BatchError>,
}

/// Parses a batch file's text.
pub fn parse_batch(text: &str) -> ParsedBatch {
    let mut out = ParsedBatch::default();
    let mut keys = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(line, trimmed) {
            Ok(job) => {
                if keys.insert(job.key.clone()) {
                    out.lines.push(job);
                } else {
                    out.errors.push(BatchError {
                        line,
                        message: format!("key {:?} is used by an earlier line", job.key),
                    });
                }
            }
            Err(message) => out.errors.push(BatchError { line, message }),
        }
    }
    out
}

fn parse_line(line: usize, text: &str) -> Result<BatchLine, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("expected a JSON object with `provider` and `request`".into());
    };
    let provider = match obj.get("provider") {
        Some(Value::String(s)) => s
            .parse::<Provider>()
            .map_err(|e| format!("`provider`: {e}"))?,
        Some(_) => return Err("`provider` must be a string".into()),
        None => return Err("missing `provider` (vibepeak, videogen or vidiking)".into()),
    };
    let tool = match obj.get("tool") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => return Err("`tool` must be a non-empty string".into()),
    };
    if provider == Provider::VideoGen && tool.is_none() {
        return Err("`tool` is required for videogen (e.g. \"generate-image\")".into());
    }
    let key = match obj.get("key") {
        None | Some(Value::Null) => line.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("`key` must be a non-empty string or a number".into()),
    };
    let request = match obj.get("request") {
        Some(r @ Value::Object(_)) => r.clone(),
        Some(_) => return Err("`request` must be a JSON object".into()),
        None => return Err("missing `request` (the provider's request body)".into()),
    };
    Ok(BatchLine {
        line,
        provider,
        tool,
        key,
        request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_lines_are_told_apart_by_line_number() {
        let text = r#"{"provider":"videogen","tool":"generate-image","key":"a","request":{"prompt":"cat"}}
# a comment

{"provider":"vibepeak","request":{"images":[]}}
{"provider":"openai","request":{}}
{"provider":"videogen","request":{"prompt":"x"}}
{"provider":"vidiking","request":[1]}
[1,2]
{"provider":"vidiking","key":"a","request":{}}
{"provider":"vidiking","key":7,"request":{}}"#;
        let p = parse_batch(text);
        let keys: Vec<_> = p.lines.iter().map(|l| (l.line, l.key.as_str())).collect();
        assert_eq!(keys, [(1, "a"), (4, "4"), (10, "7")]);
        let bad: Vec<_> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(bad, [5, 6, 7, 8, 9]);
        assert!(p.errors[0].message.contains("openai"));
        assert!(p.errors[1].message.contains("tool"));
        assert!(p.errors[4].message.contains("earlier line"));
        let req = p.lines[0].submit_request();
        assert_eq!(req.tool.as_deref(), Some("generate-image"));
        assert_eq!(req.key.as_deref(), Some("a"));
    }
}
