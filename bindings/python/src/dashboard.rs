//! `reseolio ui` from the Python package: the dashboard served over an operator engine (see
//! `reseolio_ffi::dashboard`). Blocking calls that release the GIL while they wait: the console
//! script has no event loop.

use crate::error::to_py;
use pyo3::prelude::*;
use reseolio_ffi::dashboard::{ui_serve as serve, DashboardConfig, UiServer as Inner};
use std::net::{IpAddr, SocketAddr};

/// A dashboard being served; `close()` stops it.
#[pyclass(module = "reseolio._native", frozen)]
pub struct UiServer {
    inner: Inner,
}

#[pymethods]
impl UiServer {
    /// The address it listens on, as `host:port`.
    #[getter]
    fn address(&self) -> String {
        self.inner.local_addr().to_string()
    }

    /// Stops serving and closes its engine (blocks briefly; idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| reseolio_ffi::runtime().block_on(self.inner.close()))
            .map_err(to_py)
    }
}

/// Serves the dashboard of the database `db` (a storage URL or a SQLite path) on `host:port`
/// (port 0 picks one). Blocks until it listens. Raises InvalidArgumentError for a missing
/// database, a sidecar address or a non-loopback host without a token; UnavailableError when
/// the port is taken or the storage unreachable.
#[pyfunction]
#[pyo3(signature = (db, host = "127.0.0.1", port = 7780, token = None, read_only = false))]
pub fn ui_serve(
    py: Python<'_>,
    db: String,
    host: &str,
    port: u16,
    token: Option<String>,
    read_only: bool,
) -> PyResult<UiServer> {
    let ip: IpAddr = host.parse().map_err(|_| {
        to_py(reseolio_ffi::Error::invalid(format!(
            "host must be an IP address such as 127.0.0.1, got '{host}'"
        )))
    })?;
    let config = DashboardConfig {
        addr: SocketAddr::new(ip, port),
        token: token.filter(|t| !t.is_empty()),
        read_only,
    };
    let inner = py
        .detach(|| reseolio_ffi::runtime().block_on(serve(&db, config)))
        .map_err(to_py)?;
    Ok(UiServer { inner })
}
