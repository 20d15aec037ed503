//! The engine an operator tool opens (`reseolio ui`, `reseolio jobs ...`, the packages' `ui`
//! commands): it reads and steers the jobs of a database but takes no part in the fleet.

use reseolio_core::{Engine, EngineConfig, Error, Result};

/// A storage argument as a URL: a bare path is a SQLite file.
pub fn storage_url(db: &str) -> String {
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_string()
    } else {
        format!("sqlite://{db}")
    }
}

/// The file a `sqlite://` URL names (None for memory or another backend).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Opens an engine for an operator tool on `db` (a URL or a SQLite path), without maintenance:
/// it rescues nothing, fires no schedule and is never elected leader. With `create` false a
/// SQLite path that names no file is refused, so that a typo leaves no empty database behind;
/// only a migration creates one. Must be called inside a Tokio runtime.
///
/// Errors: InvalidArgument for a missing SQLite file (naming it and `reseolio migrate`), a
/// `grpc://` URL (an operator tool reads the storage itself), or what opening the storage
/// answers (a bad URL, not a database, a newer schema); Unavailable when it cannot be reached.
pub async fn open_operator_engine(db: &str, create: bool) -> Result<Engine> {
    let url = storage_url(db);
    if url.starts_with("grpc://") {
        return Err(Error::invalid(format!(
            "'{db}' is a sidecar address: the dashboard and the operator commands read the \
             storage itself; give the sidecar's storage URL, or run the sidecar with --http-addr"
        )));
    }
    if !create {
        if let Some(path) = sqlite_path(&url) {
            if !std::path::Path::new(path).exists() {
                return Err(Error::invalid(format!(
                    "no database at '{path}' (create one with: reseolio migrate --db {db})"
                )));
            }
        }
    }
    let config = EngineConfig {
        maintenance: false,
        ..Default::default()
    };
    Engine::open_async(&url, config).await.map_err(|e| {
        Error::new(
            e.kind(),
            format!("cannot open storage '{db}': {}", e.message()),
        )
    })
}
