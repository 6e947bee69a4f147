//! What the receiver hands on, and the JSON lines the CLI prints.

use mediajobs_core::{JobId, Provider, Status, Timestamp, WebhookEvent};
use serde::{Deserialize, Serialize};

use crate::dedupe::event_status;

/// How far an event handed on may be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// The signature and timestamp verified: a terminal event ends the wait, and its
    /// [`WebhookEvent::snapshot`] carries what the download needs where the payload has it.
    Verified,
    /// The signature or timestamp did not verify (the sender was answered 401) but the body
    /// decoded: it may only move the job's next poll forward, never change its state.
    Hint,
}

/// One event handed from the receiver to its consumer (the scheduler's `observe`, or the
/// CLI's printer).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// Whether the event verified.
    pub trust: Trust,
    /// The decoded event.
    pub event: WebhookEvent,
    /// When it was received, on the receiver's clock.
    pub received_at: Timestamp,
}

impl ReceivedEvent {
    /// Whether the event verified and may change the job's state.
    pub fn is_verified(&self) -> bool {
        self.trust == Trust::Verified
    }

    /// The job the event is about.
    pub fn job(&self) -> JobId {
        JobId::new(self.event.provider, self.event.job_id.clone())
    }

    /// The unified status the event announces (from its own field, else from its snapshot).
    pub fn status(&self) -> Option<Status> {
        event_status(&self.event)
    }

    /// Whether the event is verified and announces a status that never changes again.
    pub fn ends_the_wait(&self) -> bool {
        let terminal = match (&self.event.status, &self.event.snapshot) {
            (Some(s), _) => s.is_terminal(),
            (None, Some(snap)) => snap.is_terminal(),
            (None, None) => false,
        };
        self.is_verified() && terminal
    }
}

/// The line `mediajobs webhooks serve` prints for an event it accepted and acted on:
/// `{"provider", "id", "status" (unified, lowercase), "event_id"}`, in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    /// The provider's lowercase name.
    pub provider: Provider,
    /// The job's remote id.
    pub id: String,
    /// The unified status, lowercase; `null` for an event that announces none.
    pub status: Option<Status>,
    /// `webhook-id` for VideoGen, `"{id}:{event}"` for the others, as the adapter's `parse`
    /// set it.
    pub event_id: String,
}

impl EventLine {
    /// The line for `event`.
    pub fn new(event: &WebhookEvent) -> Self {
        EventLine {
            provider: event.provider,
            id: event.job_id.clone(),
            status: event_status(event),
            event_id: event.event_id.clone(),
        }
    }

    /// The compact JSON line, without a trailing newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Renders the one JSON line `mediajobs webhooks serve` prints for an accepted event, e.g.
/// `{"provider":"videogen","id":"vg_exec_1","status":"succeeded","event_id":"msg_1"}`.
///
/// Print it for each [`Trust::Verified`] item received from the receiver's queue: the queue
/// carries each accepted event once, and never duplicates.
pub fn render_event_line(event: &WebhookEvent) -> String {
    EventLine::new(event).to_line()
}

/// The path of a provider's route: `/webhooks/{provider}`.
pub fn route_path(provider: Provider) -> &'static str {
    match provider {
        Provider::VibePeak => "/webhooks/vibepeak",
        Provider::VideoGen => "/webhooks/videogen",
        Provider::Vidiking => "/webhooks/vidiking",
    }
}

/// The full URL of a provider's route below `base_url` (a trailing slash is dropped), e.g.
/// `route_url("https://hooks.example.com", Provider::VideoGen)` →
/// `https://hooks.example.com/webhooks/videogen`: what to advertise to the provider.
pub fn route_url(base_url: &str, provider: Provider) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), route_path(provider))
}

/// Writes one [`render_event_line`] line (and flushes) for each [`Trust::Verified`] item of
/// `events` that says a job's status, until the queue ends; hints, and events about no job
/// status (VideoGen's `file.*`), are not printed. Returns how many lines it wrote.
///
/// A writer that fails (a reader that went away: `webhooks serve | head -1`) ends the printing,
/// not the loop: the queue is still drained, so the receiver goes on answering deliveries 2xx
/// instead of 503 for a full queue. The first write error is returned at the end.
///
/// This is `mediajobs webhooks serve`'s output loop; a caller that also acts on the events
/// (hands them to a scheduler) reads the queue itself and prints with [`render_event_line`].
pub async fn print_accepted(
    events: &mut tokio::sync::mpsc::Receiver<ReceivedEvent>,
    mut out: impl std::io::Write,
) -> std::io::Result<u64> {
    let mut n = 0;
    let mut failed = None;
    while let Some(item) = events.recv().await {
        if failed.is_some() || !item.is_verified() || item.event.status.is_none() {
            continue;
        }
        let written =
            writeln!(out, "{}", render_event_line(&item.event)).and_then(|()| out.flush());
        match written {
            Ok(()) => n += 1,
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// The routes of the readiness line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// `/webhooks/vibepeak`.
    pub vibepeak: String,
    /// `/webhooks/videogen`.
    pub videogen: String,
    /// `/webhooks/vidiking`.
    pub vidiking: String,
}

/// The line `mediajobs webhooks serve` prints when ready: `{"url": "http://127.0.0.1:P",
/// "routes": {"vibepeak": "/webhooks/vibepeak", "videogen": "/webhooks/videogen",
/// "vidiking": "/webhooks/vidiking"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// The receiver's base URL, without a trailing slash.
    pub url: String,
    /// The path of each provider's route.
    pub routes: Routes,
}

impl Readiness {
    /// The readiness of a receiver served at `url` (a trailing slash is dropped).
    pub fn new(url: &str) -> Self {
        Readiness {
            url: url.trim_end_matches('/').to_string(),
            routes: Routes {
                vibepeak: route_path(Provider::VibePeak).to_string(),
                videogen: route_path(Provider::VideoGen).to_string(),
                vidiking: route_path(Provider::Vidiking).to_string(),
            },
        }
    }

    /// As a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The compact JSON line, keys in the contract's order, without a trailing newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The readiness line's JSON value for a receiver served at `url`.
pub fn readiness_json(url: &str) -> serde_json::Value {
    Readiness::new(url).to_value()
}

#[cfg(test)]
mod tests {
    use mediajobs_core::ProviderStatus;

    use super::*;

    #[test]
    fn event_line_is_exactly_the_contracts() {
        let ev = WebhookEvent {
            provider: Provider::VideoGen,
            event_id: "msg_1".into(),
            event: "tool_execution.succeeded".into(),
            job_id: "vg_exec_1".into(),
            status: Some(ProviderStatus::known(Status::Succeeded, "succeeded")),
            occurred_at: None,
            snapshot: None,
        };
        assert_eq!(
            render_event_line(&ev),
            r#"{"provider":"videogen","id":"vg_exec_1","status":"succeeded","event_id":"msg_1"}"#
        );
    }

    #[tokio::test]
    async fn a_reader_that_goes_away_stops_the_printing_not_the_draining() {
        struct Gone;
        impl std::io::Write for Gone {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let printer = tokio::spawn(async move { print_accepted(&mut rx, Gone).await });
        // A queue of one: each send waits for the printer to take the last item. All ten go
        // through, so the receiver would never find the queue full.
        for i in 0..10 {
            let event = WebhookEvent {
                provider: Provider::Vidiking,
                event_id: format!("j{i}:render.complete"),
                event: "render.complete".into(),
                job_id: format!("j{i}"),
                status: Some(ProviderStatus::known(Status::Succeeded, "COMPLETE")),
                occurred_at: None,
                snapshot: None,
            };
            tx.send(ReceivedEvent {
                trust: Trust::Verified,
                event,
                received_at: at,
            })
            .await
            .unwrap();
        }
        drop(tx);
        let result = printer.await.unwrap();
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn print_accepted_prints_verified_events_only() {
        let ev = |id: &str| WebhookEvent {
            provider: Provider::Vidiking,
            event_id: format!("{id}:render.complete"),
            event: "render.complete".into(),
            job_id: id.into(),
            status: Some(ProviderStatus::known(Status::Succeeded, "COMPLETE")),
            occurred_at: None,
            snapshot: None,
        };
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        for (trust, id) in [
            (Trust::Verified, "a"),
            (Trust::Hint, "b"),
            (Trust::Verified, "c"),
        ] {
            tx.send(ReceivedEvent {
                trust,
                event: ev(id),
                received_at: at,
            })
            .await
            .unwrap();
        }
        // An event about no job status (VideoGen's file.*) is accepted, not printed.
        let mut no_status = ev("d");
        no_status.status = None;
        tx.send(ReceivedEvent {
            trust: Trust::Verified,
            event: no_status,
            received_at: at,
        })
        .await
        .unwrap();
        drop(tx);
        let mut out = Vec::new();
        assert_eq!(print_accepted(&mut rx, &mut out).await.unwrap(), 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"provider":"vidiking","id":"a","status":"succeeded","event_id":"a:render.complete"}"#,
                "\n",
                r#"{"provider":"vidiking","id":"c","status":"succeeded","event_id":"c:render.complete"}"#,
                "\n"
            )
        );
        assert_eq!(
            route_url("https://h.example/", Provider::VideoGen),
            "https://h.example/webhooks/videogen"
        );
    }

    #[test]
    fn readiness_line_is_exactly_the_contracts() {
        let r = Readiness::new("http://127.0.0.1:4000/");
        assert_eq!(
            r.to_line(),
            r#"{"url":"http://127.0.0.1:4000","routes":{"vibepeak":"/webhooks/vibepeak","videogen":"/webhooks/videogen","vidiking":"/webhooks/vidiking"}}"#
        );
        assert_eq!(readiness_json("http://127.0.0.1:4000"), r.to_value());
        assert_eq!(r.to_value()["routes"]["vidiking"], "/webhooks/vidiking");
    }
}
