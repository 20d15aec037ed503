//! The dashboard as the packages serve it (`reseolio ui` from pip and npm): its own operator
//! engine on a storage URL, so that the process serving it takes no part in the fleet.

use crate::runtime::on_runtime;
use reseolio_core::{Engine, Result};
use reseolio_dashboard::Serving;
pub use reseolio_dashboard::{DashboardConfig, DEFAULT_PORT};
use std::net::SocketAddr;
use std::sync::Mutex;

/// A dashboard being served. Dropping it stops the server without waiting; [`UiServer::close`]
/// stops it gracefully and closes its engine.
pub struct UiServer {
    local_addr: SocketAddr,
    running: Mutex<Option<(Serving, Engine)>>,
}

/// Serves the dashboard and `/metrics` of the database at `db` (a storage URL or a SQLite path)
/// on `config.addr`, on the client runtime. Resolves once it listens.
///
/// Errors: InvalidArgument for a SQLite path naming no file, a `grpc://` address, a bad URL or
/// a refused configuration (a non-loopback address without a token); Unavailable when the
/// storage cannot be reached or the address cannot be bound.
pub async fn ui_serve(db: &str, config: DashboardConfig) -> Result<UiServer> {
    let db = db.to_string();
    on_runtime(async move {
        config.validate()?;
        let engine = reseolio_dashboard::open_operator_engine(&db, false).await?;
        match reseolio_dashboard::serve(engine.clone(), config).await {
            Ok(serving) => Ok(UiServer {
                local_addr: serving.local_addr(),
                running: Mutex::new(Some((serving, engine))),
            }),
            Err(e) => {
                engine.shutdown().await;
                Err(e)
            }
        }
    })
    .await
}

impl UiServer {
    /// The address it listens on (the chosen port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving (requests in flight get a short grace) and closes the engine. Idempotent.
    pub async fn close(&self) -> Result<()> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some((serving, engine)) = running else {
            return Ok(());
        };
        on_runtime(async move {
            let r = serving.shutdown().await;
            engine.shutdown().await;
            r
        })
        .await
    }
}
