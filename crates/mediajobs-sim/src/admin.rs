//! `/_sim`: clock, stats (the ground truth), reset, advance.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::state::Shared;
use crate::util::json_response;

fn clock_json(s: &Shared) -> Value {
    json!({"now": rfc3339(s.now_ms()), "speed": s.clock.speed()})
}

pub(crate) async fn clock(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &clock_json(&s))
}

pub(crate) async fn stats(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &s.stats_json())
}

pub(crate) async fn reset(State(s): State<Arc<Shared>>) -> Response {
    s.reset();
    json_response(
        StatusCode::OK,
        &json!({"reset": true, "now": rfc3339(s.now_ms())}),
    )
}

/// `POST /_sim/advance {"seconds": n}`: moves sim time forward by n (≥ 0) sim seconds.
pub(crate) async fn advance(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("seconds").and_then(Value::as_f64))
        .filter(|n| n.is_finite() && *n >= 0.0);
    match seconds {
        Some(n) => {
            s.clock.advance(Duration::from_secs_f64(n));
            json_response(StatusCode::OK, &clock_json(&s))
        }
        None => json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected {\"seconds\": n} with n a number ≥ 0"}),
        ),
    }
}

pub(crate) async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"error": "not found: the sim serves /vibepeak, /videogen, /vidiking and /_sim"}),
    )
}
