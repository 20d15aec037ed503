//! `npx reseolio ui` from the npm package: the dashboard served over an operator engine (see
//! `reseolio_ffi::dashboard`). Mirrors the Python glue's `dashboard.rs`.

use crate::error::{invalid, to_js};
use napi_derive::napi;
use reseolio_ffi::dashboard::{ui_serve as serve, DashboardConfig, UiServer as Inner};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Where and how to serve the dashboard.
#[napi(object)]
pub struct UiOptions {
    /// An IP address (default 127.0.0.1); any but a loopback one needs a token.
    pub host: Option<String>,
    /// The port (default 7780; 0 picks one).
    pub port: Option<u32>,
    /// Require this token (Authorization: Bearer, or `/?token=` once in a browser).
    pub token: Option<String>,
    /// Refuse every action.
    pub read_only: Option<bool>,
}

/// A dashboard being served; `close()` stops it.
#[napi]
pub struct UiServer {
    inner: Arc<Inner>,
}

#[napi]
impl UiServer {
    /// The address it listens on, as `host:port`.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.inner.local_addr().to_string()
    }

    /// Stops serving and closes its engine. Idempotent.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.inner.close().await.map_err(to_js)
    }
}

/// Serves the dashboard of the database `db` (a storage URL or a SQLite path). Resolves once it
/// listens. Rejects with INVALID_ARGUMENT for a missing database, a sidecar address or a
/// non-loopback host without a token; UNAVAILABLE when the port is taken.
#[napi]
pub async fn ui_serve(db: String, options: Option<UiOptions>) -> napi::Result<UiServer> {
    let o = options.unwrap_or(UiOptions {
        host: None,
        port: None,
        token: None,
        read_only: None,
    });
    let host = o.host.unwrap_or_else(|| "127.0.0.1".into());
    let ip: IpAddr = host.parse().map_err(|_| {
        invalid(format!(
            "host must be an IP address such as 127.0.0.1, got '{host}'"
        ))
    })?;
    let port = u16::try_from(
        o.port
            .unwrap_or(u32::from(reseolio_ffi::dashboard::DEFAULT_PORT)),
    )
    .map_err(|_| invalid("port must be between 0 and 65535".into()))?;
    let config = DashboardConfig {
        addr: SocketAddr::new(ip, port),
        token: o.token.filter(|t| !t.is_empty()),
        read_only: o.read_only.unwrap_or(false),
    };
    let inner = serve(&db, config).await.map_err(to_js)?;
    Ok(UiServer {
        inner: Arc::new(inner),
    })
}
