//! Versioned schema migrations for PostgreSQL, applied at open in one transaction under an
//! advisory lock, so that ten nodes starting together migrate once and none sees a half-made
//! schema (PostgreSQL's DDL is transactional). A schema written by a newer version is refused.

use super::error::map_pg;
use crate::error::{Error, Result};
use sqlx::{PgConnection, PgPool};

/// The migrations, in order; the schema version is the number applied. Times are Unix ms.
const MIGRATIONS: &[&str] = &[
    // 1: jobs, attempts, nodes.
    r#"
    CREATE TABLE reseolio_jobs (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        args             BYTEA NOT NULL,
        status           TEXT NOT NULL,
        priority         INTEGER NOT NULL DEFAULT 0,
        attempt          INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        backoff          TEXT NOT NULL,
        initial_delay_ms BIGINT NOT NULL,
        max_delay_ms     BIGINT NOT NULL,
        jitter           DOUBLE PRECISION NOT NULL,
        timeout_ms       BIGINT NOT NULL,
        idempotency_key  TEXT,
        result           BYTEA,
        last_error       TEXT,
        created_at       BIGINT NOT NULL,
        run_at           BIGINT NOT NULL,
        started_at       BIGINT,
        completed_at     BIGINT,
        lease            BIGINT NOT NULL DEFAULT 0,
        lease_expires_at BIGINT,
        worker_id        TEXT,
        node_id          TEXT
    );
    CREATE UNIQUE INDEX reseolio_jobs_idempotency
        ON reseolio_jobs (name, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX reseolio_jobs_claimable
        ON reseolio_jobs (priority DESC, run_at, id) WHERE status IN ('PENDING', 'FAILED');
    CREATE INDEX reseolio_jobs_claimable_by_name
        ON reseolio_jobs (name, priority DESC, run_at, id) WHERE status IN ('PENDING', 'FAILED');
    CREATE INDEX reseolio_jobs_running
        ON reseolio_jobs (lease_expires_at) WHERE status = 'RUNNING';
    CREATE INDEX reseolio_jobs_finished
        ON reseolio_jobs (completed_at) WHERE status IN ('SUCCESS', 'DEAD', 'CANCELLED');
    CREATE INDEX reseolio_jobs_name_created ON reseolio_jobs (name, created_at);
    CREATE INDEX reseolio_jobs_created ON reseolio_jobs (created_at);

    CREATE TABLE reseolio_attempts (
        job_id      TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        lease       BIGINT NOT NULL,
        worker_id   TEXT NOT NULL,
        node_id     TEXT NOT NULL,
        started_at  BIGINT NOT NULL,
        finished_at BIGINT,
        outcome     TEXT,
        error       TEXT,
        PRIMARY KEY (job_id, lease)
    );

    CREATE TABLE reseolio_nodes (
        id            TEXT PRIMARY KEY,
        hostname      TEXT NOT NULL,
        pid           BIGINT NOT NULL,
        process_start BIGINT NOT NULL,
        heartbeat_at  BIGINT NOT NULL
    );
    "#,
    // 2: the enqueue() SQL function, for enqueueing inside an application's own transaction.
    include_str!("sql/0002_enqueue.sql"),
    // 3: the leader's term, one row.
    r#"
    CREATE TABLE reseolio_leader (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        node_id    TEXT NOT NULL,
        elected_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    "#,
    // 4: schedules.
    r#"
    CREATE TABLE reseolio_schedules (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        function         TEXT NOT NULL,
        cron             TEXT NOT NULL,
        timezone         TEXT NOT NULL,
        status           TEXT NOT NULL,
        args             BYTEA NOT NULL,
        max_attempts     BIGINT,
        backoff          TEXT,
        initial_delay_ms BIGINT,
        max_delay_ms     BIGINT,
        jitter           DOUBLE PRECISION,
        timeout_ms       BIGINT,
        priority         INTEGER,
        missed           TEXT NOT NULL,
        overlap          TEXT NOT NULL,
        next_run_at      BIGINT NOT NULL,
        last_run_at      BIGINT,
        last_job_id      TEXT,
        created_at       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        version          BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX reseolio_schedules_due ON reseolio_schedules (next_run_at) WHERE status = 'ACTIVE';
    "#,
    // 5: search by idempotency key across functions, and status filters in creation order.
    r#"
    CREATE INDEX reseolio_jobs_key ON reseolio_jobs (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    CREATE INDEX reseolio_jobs_status_created ON reseolio_jobs (status, created_at);
    "#,
    // 6: durable steps (the journal of each job's function), events, and the wake-up of the jobs
    // suspended on an event key or a child job.
    include_str!("sql/0006_steps.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates `schema` if needed and brings it up to [`SCHEMA_VERSION`]. Errors: InvalidArgument
/// when the schema was written by a newer version; Unavailable when the server cannot be reached;
/// Internal when SQL fails (nothing is applied then).
pub(crate) async fn migrate(pool: &PgPool, schema: &str, apply_pending: bool) -> Result<()> {
    if !apply_pending {
        return check(pool, schema).await;
    }
    let mut tx = pool.begin().await.map_err(map_pg)?;
    apply(&mut tx, schema).await?;
    tx.commit().await.map_err(map_pg)
}

/// Checks that `schema` is at [`SCHEMA_VERSION`] without creating or changing anything.
/// Errors: InvalidArgument for a missing, older or newer schema.
async fn check(pool: &PgPool, schema: &str) -> Result<()> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(format!("\"{schema}\".reseolio_schema"))
        .fetch_one(pool)
        .await
        .map_err(map_pg)?;
    let current: i64 = match table {
        None => 0,
        Some(_) => sqlx::query_scalar::<_, Option<i64>>("SELECT max(version) FROM reseolio_schema")
            .fetch_one(pool)
            .await
            .map_err(map_pg)?
            .unwrap_or(0),
    };
    match current.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(Error::invalid(format!(
            "the PostgreSQL schema '{schema}' has version {current}, newer than this reseolio knows ({SCHEMA_VERSION}); upgrade reseolio to use it"
        ))),
        std::cmp::Ordering::Less => Err(Error::invalid(format!(
            "the PostgreSQL schema '{schema}' has version {current}, older than this reseolio's \
             ({SCHEMA_VERSION}); run `reseolio migrate` (or start the application) to upgrade it first"
        ))),
    }
}

async fn apply(tx: &mut PgConnection, schema: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("reseolio:migrate:{schema}"))
        .execute(&mut *tx)
        .await
        .map_err(map_pg)?;
    // The schema name is checked to be a plain identifier (see PostgresConfig) and quoted.
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .execute(&mut *tx)
        .await
        .map_err(map_pg)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS reseolio_schema (version BIGINT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(map_pg)?;
    let current: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM reseolio_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(map_pg)?;
    let current = current.unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(Error::invalid(format!(
            "the PostgreSQL schema '{schema}' has version {current}, newer than this reseolio knows ({SCHEMA_VERSION}); upgrade reseolio to use it"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        for statement in split_statements(sql) {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .map_err(map_pg)?;
        }
        sqlx::query(
            "INSERT INTO reseolio_schema (version, applied_at) \
             VALUES ($1, (extract(epoch from clock_timestamp()) * 1000)::bigint)",
        )
        .bind(i as i64 + 1)
        .execute(&mut *tx)
        .await
        .map_err(map_pg)?;
    }
    Ok(())
}

/// The statements of a migration, split on `;` outside `$fn$ ... $fn$` function bodies and
/// outside `--` comments. (Sent one by one: sqlx's multi-statement `raw_sql` makes the opening
/// future fail rustc's Send proof.)
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for line in sql.lines() {
        let code = match line.find("--") {
            Some(i) if !in_body => &line[..i],
            _ => line,
        };
        let mut rest = code;
        while !rest.is_empty() {
            let next_quote = rest.find("$fn$");
            let next_semi = if in_body { None } else { rest.find(';') };
            match (next_quote, next_semi) {
                (Some(q), Some(s)) if s < q => {
                    current.push_str(&rest[..s]);
                    out.push(std::mem::take(&mut current));
                    rest = &rest[s + 1..];
                }
                (Some(q), _) => {
                    current.push_str(&rest[..q + 4]);
                    in_body = !in_body;
                    rest = &rest[q + 4..];
                }
                (None, Some(s)) => {
                    current.push_str(&rest[..s]);
                    out.push(std::mem::take(&mut current));
                    rest = &rest[s + 1..];
                }
                (None, None) => {
                    current.push_str(rest);
                    rest = "";
                }
            }
        }
        current.push('\n');
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_split_outside_function_bodies_and_comments_only() {
        let s = super::split_statements(
            "CREATE TABLE a (x int); -- a comment; with a semicolon\n\
             CREATE FUNCTION f() AS $fn$ BEGIN x; y; -- inside; kept\n END $fn$;\nSELECT 1;",
        );
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(
            s[1].starts_with("CREATE FUNCTION") && s[1].ends_with("END $fn$"),
            "{s:?}"
        );
        assert_eq!(super::split_statements(super::MIGRATIONS[1]).len(), 1);
    }
}
