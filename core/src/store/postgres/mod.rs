//! The PostgreSQL store: many engine nodes, one job table. Claims lock rows with
//! `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other's claims; every rule that must hold
//! across nodes (idempotency, one claim per job, fencing) is enforced inside one transaction or
//! by an index, exactly as on SQLite. The tables live in their own schema (default `reseolio`).

mod completions;
mod error;
mod jobs;
mod migrations;
mod schedules;
mod steps;

pub use migrations::SCHEMA_VERSION;

use crate::error::{Error, Result};
use crate::job::{Attempt, ClaimedJob, Job, Outcome, Step, StepWaitOutcome};
use crate::schedule::Schedule;
use crate::store::*;
use async_trait::async_trait;
use error::{map_pg, pool_error};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

/// How to open a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// The connection URL as sqlx takes it (`postgres://user:pass@host:5432/db?sslmode=...`),
    /// without Reseolio's own parameters.
    pub url: String,
    /// The schema the tables live in (created if missing).
    pub schema: String,
    /// The most pooled connections of this node.
    pub max_connections: u32,
    /// How long a call waits for a free connection (or for the server) before Unavailable.
    pub acquire_timeout: Duration,
    /// Apply pending migrations at open (default). When false, a schema older than this build is
    /// refused and nothing is created (see `SqliteConfig::migrate`).
    pub migrate: bool,
}

impl PostgresConfig {
    /// Parses `postgres://...` or `postgresql://...`. Reseolio's own query parameters are taken
    /// out: `schema=NAME` (default `reseolio`; a plain identifier) and `max_connections=N`;
    /// the rest go to the driver, which knows the ones in `DRIVER_PARAMETERS` (`sslmode`,
    /// `application_name`, ...). Any other parameter is refused, since the driver would ignore it.
    ///
    /// Errors: InvalidArgument naming what is wrong.
    pub fn parse(url: &str) -> Result<PostgresConfig> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::invalid(format!(
                "storage URL '{}' is not a postgres:// URL",
                redact(url)
            )));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut config = PostgresConfig {
            url: base.to_string(),
            schema: "reseolio".into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            migrate: true,
        };
        let mut rest = Vec::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "schema" => config.schema = v.to_string(),
                "max_connections" => {
                    config.max_connections = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        Error::invalid(format!(
                            "storage URL parameter max_connections must be an integer >= 1, got '{v}'"
                        ))
                    })?
                }
                k if DRIVER_PARAMETERS.contains(&k) || k.starts_with("options[") => {
                    rest.push(pair)
                }
                // The driver would ignore it: a misspelt `schema` would silently use another.
                _ => {
                    return Err(Error::invalid(format!(
                        "storage URL parameter '{k}' is unknown; known: schema, max_connections, {}",
                        DRIVER_PARAMETERS.join(", ")
                    )))
                }
            }
        }
        if !rest.is_empty() {
            config.url = format!("{base}?{}", rest.join("&"));
        }
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !ident(&config.schema) {
            return Err(Error::invalid(format!(
                "storage URL parameter schema must be a lower-case identifier (a-z, 0-9, _; at most 63), got '{}'",
                config.schema
            )));
        }
        // Checked here, so that a malformed URL is an error at open, not at first use.
        PgConnectOptions::from_str(&config.url).map_err(|e| {
            Error::invalid(format!(
                "storage URL '{}' cannot be parsed: {e}",
                redact(url)
            ))
        })?;
        Ok(config)
    }
}

/// The query parameters the PostgreSQL driver (sqlx) takes; it ignores any other.
const DRIVER_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// The URL with its password replaced, for messages.
fn redact(url: &str) -> String {
    crate::StorageUrl::redact(url)
}

/// The PostgreSQL store. Cheap to share; every call takes a pooled connection, and every write
/// is one transaction.
pub struct PostgresStore {
    pool: PgPool,
    schema: String,
    /// The LISTEN/NOTIFY channel of this schema.
    channel: String,
    events: broadcast::Sender<StoreEvent>,
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Group commit of successful completions.
    completions: completions::Completions,
    closed: AtomicBool,
}

impl PostgresStore {
    /// Connects and migrates. Errors: InvalidArgument for a refused login, a missing database or
    /// a newer schema; Unavailable when the server cannot be reached within the acquire timeout.
    pub async fn open(config: &PostgresConfig) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(&config.url)
            .map_err(|e| Error::invalid(format!("the PostgreSQL URL cannot be parsed: {e}")))?
            // Unqualified names resolve in the store's schema on every pooled connection.
            .options([("search_path", config.schema.as_str())]);
        let at = |e: Error| {
            Error::new(
                e.kind(),
                format!(
                    "opening PostgreSQL at {}: {}",
                    redact(&config.url),
                    e.message()
                ),
            )
        };
        // One direct connection first: a pool that cannot connect only reports that it timed
        // out, where this says why (refused, unknown role, missing database).
        let probe = PgConnection::connect_with(&options);
        match tokio::time::timeout(config.acquire_timeout, probe).await {
            Ok(Ok(c)) => {
                let _ = c.close().await;
            }
            Ok(Err(e)) => return Err(at(map_pg(e))),
            Err(_) => {
                return Err(at(Error::new(
                    crate::error::ErrorKind::Unavailable,
                    format!(
                        "the server did not answer within {:?}",
                        config.acquire_timeout
                    ),
                )))
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| at(map_pg(e)))?;
        migrations::migrate(&pool, &config.schema, config.migrate)
            .await
            .map_err(at)?;
        // One channel per schema, so that stores in other schemas of the database stay apart.
        // NOTIFY channels are identifiers: at most 63 bytes.
        let channel: String = format!("reseolio_{}", config.schema)
            .chars()
            .take(63)
            .collect();
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(|e| at(map_pg(e)))?;
        listener.listen(&channel).await.map_err(|e| at(map_pg(e)))?;
        let (events, _) = broadcast::channel(1024);
        let feed = tokio::spawn(listen(listener, events.clone()));
        let completions = completions::Completions::start(pool.clone(), channel.clone());
        Ok(PostgresStore {
            completions,
            pool,
            schema: config.schema.clone(),
            channel,
            events,
            listener: std::sync::Mutex::new(Some(feed)),
            closed: AtomicBool::new(false),
        })
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The connection pool (tests, tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A pooled connection; when none comes, the error says why (see [`pool_error`]).
    async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        match self.pool.acquire().await {
            Ok(c) => Ok(c),
            Err(e) => Err(pool_error(&self.pool, e).await),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::shut_down("the PostgreSQL store was closed"));
        }
        Ok(())
    }
}

/// Runs `$body` (a block using `tx`) in one transaction, committed when it returns Ok.
macro_rules! in_tx {
    ($self:ident, |$tx:ident| $body:expr) => {{
        $self.check_open()?;
        let mut $tx = match $self.pool.begin().await {
            Ok(tx) => tx,
            Err(e) => return Err(pool_error(&$self.pool, e).await),
        };
        let r = $body;
        match r {
            Ok(v) => {
                $tx.commit().await.map_err(map_pg)?;
                Ok(v)
            }
            // Dropping the transaction rolls it back.
            Err(e) => Err(e),
        }
    }};
}

#[async_trait]
impl Store for PostgresStore {
    async fn job_insert(&self, p: JobInsertParams) -> Result<JobInsertResult> {
        if p.claim.is_none() {
            self.check_open()?;
            let mut c = self.acquire().await?;
            return jobs::job_insert_unclaimed(&mut c, &self.channel, &p).await;
        }
        in_tx!(self, |tx| jobs::job_insert(&mut tx, &self.channel, p).await)
    }
    async fn job_get(&self, p: JobGetParams) -> Result<Job> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::job_get(&mut c, &p.id).await
    }
    async fn job_list(&self, p: JobListParams) -> Result<JobListResult> {
        if !(1..=1000).contains(&p.limit) {
            return Err(Error::invalid(format!(
                "limit must be between 1 and 1000, got {}",
                p.limit
            )));
        }
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::job_list(&mut c, p).await
    }
    async fn job_claim_available(&self, p: JobClaimParams) -> Result<Vec<ClaimedJob>> {
        if p.limit == 0 {
            return Ok(vec![]);
        }
        // A single statement, atomic on its own: no transaction around it.
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::job_claim_available(&mut c, p).await
    }
    async fn job_complete(&self, p: JobCompleteParams) -> Result<JobCompleteResult> {
        self.check_open()?;
        if let Outcome::Success(result) = &p.outcome {
            let result = result.clone();
            if let Some(done) = self.completions.success(p.clone(), result).await? {
                return Ok(done);
            }
        }
        in_tx!(self, |tx| jobs::job_complete(&mut tx, &self.channel, p)
            .await)
    }
    async fn job_heartbeat(&self, p: JobHeartbeatParams) -> Result<JobHeartbeatResult> {
        in_tx!(self, |tx| jobs::job_heartbeat(&mut tx, p).await)
    }
    async fn job_release(&self, p: JobReleaseParams) -> Result<()> {
        in_tx!(self, |tx| jobs::job_release(&mut tx, &self.channel, p)
            .await)
    }
    async fn job_cancel(&self, p: JobCancelParams) -> Result<Job> {
        in_tx!(self, |tx| jobs::job_cancel(&mut tx, &self.channel, p).await)
    }
    async fn job_retry(&self, p: JobRetryParams) -> Result<Job> {
        in_tx!(self, |tx| jobs::job_retry(&mut tx, &self.channel, p).await)
    }
    async fn job_rescue(&self, p: JobRescueParams) -> Result<Vec<JobRescued>> {
        in_tx!(self, |tx| jobs::job_rescue(&mut tx, &self.channel, p).await)
    }
    async fn job_prune(&self, p: JobPruneParams) -> Result<u64> {
        in_tx!(self, |tx| jobs::job_prune(&mut tx, p).await)
    }
    async fn job_stats(&self, p: JobStatsParams) -> Result<JobStats> {
        rules::check_stats(&p)?;
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::job_stats(&mut c, p).await
    }
    async fn attempt_list(&self, p: AttemptListParams) -> Result<Vec<Attempt>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::attempt_list(&mut c, p).await
    }
    async fn node_heartbeat(&self, p: NodeHeartbeatParams) -> Result<()> {
        in_tx!(self, |tx| jobs::node_heartbeat(&mut tx, p).await)
    }
    async fn node_list(&self) -> Result<Vec<Node>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::node_list(&mut c).await
    }
    async fn node_delete(&self, p: NodeDeleteParams) -> Result<()> {
        in_tx!(self, |tx| jobs::node_delete(&mut tx, p).await)
    }
    async fn leader_elect(&self, p: LeaderElectParams) -> Result<Leader> {
        in_tx!(self, |tx| jobs::leader_elect(&mut tx, p).await)
    }
    async fn leader_get(&self) -> Result<Option<Leader>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        jobs::leader_get(&mut c).await
    }
    async fn leader_resign(&self, node_id: &str) -> Result<()> {
        in_tx!(self, |tx| jobs::leader_resign(&mut tx, node_id).await)
    }
    async fn schedule_upsert(&self, p: ScheduleUpsertParams) -> Result<ScheduleUpsertResult> {
        in_tx!(self, |tx| schedules::schedule_upsert(&mut tx, p).await)
    }
    async fn schedule_get(&self, p: ScheduleGetParams) -> Result<Schedule> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        schedules::schedule_get(&mut c, p).await
    }
    async fn schedule_list(&self, p: ScheduleListParams) -> Result<ScheduleListResult> {
        rules::check_list_limit(p.limit)?;
        self.check_open()?;
        let mut c = self.acquire().await?;
        schedules::schedule_list(&mut c, p).await
    }
    async fn schedule_update(&self, p: ScheduleUpdateParams) -> Result<Schedule> {
        in_tx!(self, |tx| schedules::schedule_update(&mut tx, p).await)
    }
    async fn schedule_delete(&self, p: ScheduleGetParams) -> Result<()> {
        in_tx!(self, |tx| schedules::schedule_delete(&mut tx, p).await)
    }
    async fn schedule_due(&self, p: ScheduleDueParams) -> Result<Vec<Schedule>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        schedules::schedule_due(&mut c, p).await
    }
    async fn schedule_next_due(&self) -> Result<Option<i64>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        schedules::schedule_next_due(&mut c).await
    }
    async fn schedule_fire(&self, p: ScheduleFireParams) -> Result<ScheduleFireResult> {
        in_tx!(self, |tx| schedules::schedule_fire(
            &mut tx,
            &self.channel,
            p
        )
        .await)
    }
    async fn step_list(&self, p: StepListParams) -> Result<Vec<Step>> {
        self.check_open()?;
        let mut c = self.acquire().await?;
        steps::step_list(&mut c, p).await
    }
    async fn step_record(&self, p: StepRecordParams) -> Result<Step> {
        in_tx!(self, |tx| steps::step_record(&mut tx, p).await)
    }
    async fn step_wait(&self, p: StepWaitParams) -> Result<StepWaitOutcome> {
        in_tx!(self, |tx| steps::step_wait(&mut tx, &self.schema, p).await)
    }
    async fn event_send(&self, p: EventSendParams) -> Result<EventSendResult> {
        in_tx!(self, |tx| steps::event_send(
            &mut tx,
            &self.schema,
            &self.channel,
            p
        )
        .await)
    }
    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(feed) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            feed.abort();
        }
        self.pool.close().await;
    }
    fn events(&self) -> Option<broadcast::Receiver<StoreEvent>> {
        Some(self.events.subscribe())
    }
}

/// Relays the schema's notifications to the store's subscribers until the store is closed. A
/// lost connection is reconnected by the listener on its next receive; since notifications sent
/// meanwhile are gone, subscribers get a Resync.
async fn listen(mut listener: PgListener, events: broadcast::Sender<StoreEvent>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                if let Some(e) = StoreEvent::parse(n.payload()) {
                    let _ = events.send(e);
                }
            }
            Ok(None) => {
                tracing::warn!("the PostgreSQL notification connection was lost; reconnecting");
                let _ = events.send(StoreEvent::Resync);
            }
            Err(e) => {
                tracing::warn!("PostgreSQL notifications: {e}; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = events.send(StoreEvent::Resync);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_take_out_reseolio_parameters_and_check_the_schema() {
        let c = PostgresConfig::parse("postgres://u:p@h:5432/db?schema=jobs_1&sslmode=disable")
            .unwrap();
        assert_eq!(c.schema, "jobs_1");
        assert_eq!(c.url, "postgres://u:p@h:5432/db?sslmode=disable");
        let c = PostgresConfig::parse("postgresql://h/db").unwrap();
        assert_eq!((c.schema.as_str(), c.max_connections), ("reseolio", 10));
        for (url, needle) in [
            ("postgres://h/db?schema=Bad-Name", "schema"),
            ("postgres://h/db?schema=", "schema"),
            ("postgres://h/db?max_connections=0", "max_connections"),
            ("postgres://h/db?max_connections=ten", "got 'ten'"),
            (
                "postgres://u:secret@h/db?shema=jobs",
                "storage URL parameter 'shema' is unknown; known: schema, max_connections, sslmode",
            ),
            (
                "postgres://h/db?connect_timeout=5",
                "'connect_timeout' is unknown",
            ),
            ("postgres://u:secret@h:notaport/db", "cannot be parsed"),
        ] {
            let e = PostgresConfig::parse(url).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{url}");
            assert!(e.message().contains(needle), "{url}: {}", e.message());
            assert!(
                !e.message().contains("secret"),
                "the password is never shown"
            );
        }
    }
}
