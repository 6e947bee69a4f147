//! Serving the receiver on its own port (`mediajobs webhooks serve`, `run --webhooks-addr`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::Router;
use mediajobs_core::Provider;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::output::{Readiness, route_url};
use crate::receiver::WebhookReceiver;

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound (in use, not local, not resolvable).
    #[error("cannot bind the webhook receiver's address")]
    Bind(#[source] std::io::Error),
    /// The server stopped with an I/O error.
    #[error("the webhook server failed")]
    Io(#[source] std::io::Error),
    /// The server task panicked or was aborted.
    #[error("the webhook server task ended abnormally")]
    Task,
}

/// A running webhook server. [`WebhookServer::shutdown`] stops it gracefully (in-flight
/// deliveries are answered first); dropping the handle stops it too.
#[derive(Debug)]
pub struct WebhookServer {
    local_addr: SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl WebhookServer {
    /// The bound address (with the real port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`, without a trailing slash. An unspecified
    /// bind address (`0.0.0.0`, `::`) is shown as loopback.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The full URL of a provider's route, to advertise to the provider (VibePeak
    /// `webhook_url`, Vidiking `callback`, a VideoGen endpoint).
    pub fn route_url(&self, provider: Provider) -> String {
        route_url(&self.url, provider)
    }

    /// The readiness line's content; print it with [`Readiness::to_line`].
    pub fn readiness(&self) -> Readiness {
        Readiness::new(&self.url)
    }

    /// Stops accepting, answers the deliveries in flight, and returns once the server ended.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Returns when the server ends on its own (an I/O error) or after a shutdown.
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Io(e)),
            Err(_) => Err(ServeError::Task),
        }
    }
}

fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Binds `addr` and serves `router` on it in a spawned task (needs a Tokio runtime).
///
/// Returns once the port is bound, so the caller can print the readiness line at once.
pub async fn serve_router(
    router: Router,
    addr: impl ToSocketAddrs,
) -> Result<WebhookServer, ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(ServeError::Bind)?;
    let local_addr = listener.local_addr().map_err(ServeError::Bind)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A send or a dropped handle both stop the server.
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(url = %base_url(local_addr), "webhook receiver listening");
    Ok(WebhookServer {
        local_addr,
        url: base_url(local_addr),
        stop: Some(stop),
        task,
    })
}

impl WebhookReceiver {
    /// Binds `addr` (e.g. `127.0.0.1:0`) and serves [`WebhookReceiver::router`] on it.
    pub async fn serve(&self, addr: impl ToSocketAddrs) -> Result<WebhookServer, ServeError> {
        serve_router(self.router(), addr).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_shown_as_loopback() {
        assert_eq!(
            base_url("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80"
        );
        assert_eq!(base_url("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(base_url("10.1.2.3:9".parse().unwrap()), "http://10.1.2.3:9");
    }
}
