//! # reseolio-dashboard
//!
//! The HTTP dashboard of a Reseolio engine: a single-page UI (hand-written HTML, CSS and
//! JavaScript modules embedded in the binary), the JSON API it reads (`/api/...`) and the
//! Prometheus endpoint (`/metrics`), all served by [`serve`] over an embedded [`Engine`].
//!
//! ```no_run
//! # async fn demo(engine: reseolio_core::Engine) -> reseolio_core::Result<()> {
//! use reseolio_dashboard::{serve, DashboardConfig};
//! let serving = serve(engine, DashboardConfig::default()).await?;
//! println!("dashboard on http://{}", serving.local_addr());
//! // ... later
//! serving.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Security (see `docs/dashboard.md`): loopback by default; any other address needs a token;
//! with a token every route needs `Authorization: Bearer <token>` or the cookie set by visiting
//! `/?token=<token>` once; state-changing requests need the `x-reseolio-csrf: 1` header and, when
//! the browser sends an `Origin`, this server's own origin; `read_only` refuses every action.

#![warn(missing_docs)]

mod api;
mod assets;
mod error;
pub mod json;
mod operator;
mod query;
mod router;
mod security;

pub use operator::{open_operator_engine, storage_url};

use reseolio_core::{Engine, Error, ErrorKind, Result};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The port the dashboard listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 7780;

/// How long [`Serving::shutdown`] waits for requests in flight before it drops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How to serve the dashboard. `Default` is `127.0.0.1:7780`, no token, actions allowed.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The address to listen on; port 0 picks a free port (see [`Serving::local_addr`]). An
    /// address other than a loopback one (`127.0.0.0/8`, `::1`) requires a token.
    pub addr: SocketAddr,
    /// When set, every route (UI, API, `/metrics`) requires `Authorization: Bearer <token>` or
    /// the `reseolio_token` cookie that visiting `/?token=<token>` sets. Must not be empty.
    pub token: Option<String>,
    /// Refuse every action (retry, cancel, pause, ...) with 403; the UI hides its buttons.
    pub read_only: bool,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            token: None,
            read_only: false,
        }
    }
}

impl DashboardConfig {
    /// Checks the configuration without binding anything. Errors: InvalidArgument for an empty
    /// token, or for a non-loopback address without a token (anyone who can reach the port could
    /// read every job's arguments and cancel jobs).
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.token {
            if t.is_empty() {
                return Err(Error::invalid("the dashboard token must not be empty"));
            }
            if t.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "the dashboard token must not contain control characters",
                ));
            }
        }
        if self.token.is_none() && !self.addr.ip().to_canonical().is_loopback() {
            return Err(Error::invalid(format!(
                "refusing to serve the dashboard on {} without a token: it is not a loopback \
                 address, so anyone who can reach it could read every job and cancel jobs; set a \
                 token or bind 127.0.0.1",
                self.addr
            )));
        }
        Ok(())
    }
}

/// Starts serving the dashboard for `engine` on `config.addr`, on the current Tokio runtime.
/// Resolves once the socket listens (requests are answered from then on, on spawned tasks).
///
/// Errors: InvalidArgument for a configuration [`DashboardConfig::validate`] refuses (nothing is
/// bound); Unavailable when the address cannot be bound (in use, not permitted).
pub async fn serve(engine: Engine, config: DashboardConfig) -> Result<Serving> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("the dashboard cannot listen on {}: {e}", config.addr),
            )
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("the dashboard's socket has no address: {e}")))?;
    let app = router::build(engine, &config);
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let signal = async move {
            // A dropped sender (Serving dropped) stops the server too.
            let _ = stopped.wait_for(|s| *s).await;
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
    });
    tracing::info!(%local_addr, read_only = config.read_only, token = config.token.is_some(), "dashboard listening");
    Ok(Serving {
        local_addr,
        stop,
        task: Some(task),
    })
}

/// A running dashboard. Dropping it stops the server without waiting; [`Serving::shutdown`]
/// stops it gracefully.
pub struct Serving {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Serving {
    /// The address the dashboard listens on (the chosen port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops gracefully: the listener closes at once, idle connections are closed, requests in
    /// flight get up to 10 s to finish, then whatever remains is dropped. Resolves when the
    /// server has stopped. The engine is left open for the caller to shut down.
    /// Errors: Internal when the server task failed.
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Error::internal(format!("the dashboard server failed: {e}"))),
            Ok(Err(e)) => Err(Error::internal(format!(
                "the dashboard server task failed: {e}"
            ))),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
