//! sqlx errors as engine errors.

use crate::error::{Error, ErrorKind};
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Maps a PostgreSQL failure to the engine's kinds: a server that cannot be reached, a pool that
/// stayed busy, a restart or a serialization conflict are Unavailable (the call may be retried);
/// a refused login or a missing database are InvalidArgument (the URL is wrong), and so is text
/// PostgreSQL cannot store (a NUL byte); everything else
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
                // character_not_in_repertoire, untranslatable_character: text the caller gave
                // that PostgreSQL cannot store (a NUL byte, which SQLite keeps).
                "22021" | "22P05" => Error::invalid(format!(
                    "PostgreSQL cannot store this text (a NUL byte?): {db}"
                )),
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

/// How long [`pool_error`] waits for its probe connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a probe's answer stands for the calls that time out after it.
const PROBE_FRESH: Duration = Duration::from_secs(1);

/// What a probe found: the server answered, or why it could not be reached.
type ProbeAnswer = std::result::Result<(), String>;

/// The last probe's answer per server (host, port, database), with when it was taken.
type ProbeCache = tokio::sync::Mutex<HashMap<String, (Instant, ProbeAnswer)>>;

/// Maps a failure to get a connection from `pool`. The pool reports only that none became free
/// within its acquire timeout (it retries a refused connection until then): one direct
/// connection attempt tells the caller why, whether the server refuses connections or does not
/// answer, or answers while every pooled connection stayed busy. Other errors as [`map_pg`].
///
/// When a pool is exhausted under load, every waiting call times out together; a probe each
/// would add that many connections to a server that may be at its limit. So probes to one
/// server run one at a time, and an answer younger than [`PROBE_FRESH`] is reused: the calls
/// that queue behind a probe get its answer without connecting again.
pub(crate) async fn pool_error(pool: &PgPool, e: sqlx::Error) -> Error {
    if !matches!(e, sqlx::Error::PoolTimedOut) {
        return map_pg(e);
    }
    static PROBES: OnceLock<ProbeCache> = OnceLock::new();
    let waited = pool.options().get_acquire_timeout();
    let options = pool.connect_options();
    let server = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    let answer = {
        let mut probes = PROBES.get_or_init(Default::default).lock().await;
        match probes.get(&server) {
            Some((at, answer)) if at.elapsed() < PROBE_FRESH => answer.clone(),
            _ => {
                let answer =
                    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(&options))
                        .await
                    {
                        Ok(Ok(c)) => {
                            let _ = c.close().await;
                            Ok(())
                        }
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!(
                            "the server did not answer within {PROBE_TIMEOUT:?}"
                        )),
                    };
                probes.insert(server, (Instant::now(), answer.clone()));
                answer
            }
        }
    };
    match answer {
        Ok(()) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "no PostgreSQL connection became free within {waited:?}: the server answers, and all {} pooled connections stayed busy (the storage URL's max_connections sets how many)",
                pool.options().get_max_connections()
            ),
        ),
        Err(cause) => Error::new(
            ErrorKind::Unavailable,
            format!("PostgreSQL cannot be reached: {cause} (no connection within {waited:?})"),
        ),
    }
}
