//! sqlx errors as engine errors.

use crate::error::{Error, ErrorKind};

/// Maps a PostgreSQL failure to the engine's kinds: a server that cannot be reached, a pool that
/// stayed busy, a restart or a serialization conflict are Unavailable (the call may be retried);
/// a refused login or a missing database are InvalidArgument (the URL is wrong); everything else
/// is Internal with PostgreSQL's own words.
pub(crate) fn map_pg(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Error::new(
            ErrorKind::Unavailable,
            format!("PostgreSQL cannot be reached: {e}"),
        ),
        sqlx::Error::PoolTimedOut => Error::new(
            ErrorKind::Unavailable,
            "no PostgreSQL connection became free in time (the server is down or every pooled connection is busy)",
        ),
        sqlx::Error::PoolClosed => Error::shut_down("the PostgreSQL store was closed"),
        sqlx::Error::Configuration(_) => {
            Error::invalid(format!("the PostgreSQL URL cannot be used: {e}"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match code.as_str() {
                // invalid_authorization_specification, invalid_password
                "28000" | "28P01" => Error::invalid(format!("PostgreSQL refused the login: {db}")),
                // invalid_catalog_name: the database does not exist
                "3D000" => Error::invalid(format!("PostgreSQL: {db}")),
                // serialization_failure, deadlock_detected, admin/crash shutdown, cannot connect now,
                // too many connections
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" => Error::new(
                    ErrorKind::Unavailable,
                    format!("PostgreSQL is busy or restarting (SQLSTATE {code}): {db}"),
                ),
                _ => Error::internal(format!("PostgreSQL (SQLSTATE {code}): {db}")),
            }
        }
        _ => Error::internal(format!("PostgreSQL: {e}")),
    }
}
