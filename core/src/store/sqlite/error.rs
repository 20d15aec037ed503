//! rusqlite errors as engine errors.

use crate::error::{Error, ErrorKind};
use rusqlite::ErrorCode;

/// Maps a SQLite failure to the engine's kinds: a busy or locked database is Unavailable (the
/// call may be retried), everything else is Internal with SQLite's own words.
pub(crate) fn map_sqlite(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "the SQLite database is locked by another connection beyond the busy timeout: {e}"
            ),
        ),
        Some(ErrorCode::DiskFull) => Error::internal(format!(
            "the disk is full: {e}; nothing was written, and the call may be retried once there is space"
        )),
        Some(ErrorCode::DatabaseCorrupt) => Error::internal(format!(
            "the SQLite database file is corrupt: {e}; restore it from a backup"
        )),
        Some(ErrorCode::SystemIoFailure) => {
            Error::internal(format!("an I/O error on the SQLite database file: {e}"))
        }
        Some(ErrorCode::ReadOnly) => {
            Error::internal(format!("the SQLite database is read-only: {e}"))
        }
        Some(ErrorCode::NotADatabase) => {
            Error::internal(format!("the file is not a SQLite database: {e}"))
        }
        _ => Error::internal(format!("sqlite: {e}")),
    }
}
