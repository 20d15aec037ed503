//! The engine an operator tool opens (`reseolio ui`, `reseolio jobs ...`, the packages' `ui`
//! commands): it reads and steers the jobs of a database but takes no part in the fleet.

use reseolio_core::store::sqlite::SqliteConfig;
use reseolio_core::{Engine, EngineConfig, Error, Result, StorageUrl};

/// A storage argument as a URL: a bare path is a SQLite file.
pub fn storage_url(db: &str) -> String {
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_string()
    } else {
        format!("sqlite://{db}")
    }
}

/// Opens an engine for an operator tool on `db` (a URL or a SQLite path), without maintenance:
/// it rescues nothing, fires no schedule and is never elected leader. Only with `create` (the
/// `migrate` command) does it create a database or apply migrations: otherwise a SQLite path
/// that names no file is refused (a typo leaves no empty database behind) and so is a schema
/// older than this build (a newer CLI never upgrades a database under a running application).
/// Must be called inside a Tokio runtime.
///
/// Errors: InvalidArgument for a missing SQLite file (naming it and `reseolio migrate`), an
/// older or newer schema, a `grpc://` URL (an operator tool reads the storage itself), or what
/// opening the storage answers (a bad URL, not a database); Unavailable when it cannot be
/// reached. Messages never carry the URL's password.
pub async fn open_operator_engine(db: &str, create: bool) -> Result<Engine> {
    let url = storage_url(db);
    let shown = StorageUrl::redact(db);
    if url.starts_with("grpc://") {
        return Err(Error::invalid(format!(
            "'{shown}' is a sidecar address: the dashboard and the operator commands read the \
             storage itself; give the sidecar's storage URL, or run the sidecar with --http-addr"
        )));
    }
    if !create {
        if let StorageUrl::Sqlite(SqliteConfig {
            path: Some(path), ..
        }) = StorageUrl::parse(&url)?
        {
            if !path.exists() {
                return Err(Error::invalid(format!(
                    "no database at '{}' (create one with: reseolio migrate --db {shown})",
                    path.display()
                )));
            }
        }
    }
    let config = EngineConfig {
        maintenance: false,
        migrate: create,
        ..Default::default()
    };
    Engine::open_async(&url, config).await.map_err(|e| {
        Error::new(
            e.kind(),
            format!(
                "cannot open storage '{shown}': {}",
                StorageUrl::redact(e.message())
            ),
        )
    })
}
