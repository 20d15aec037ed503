//! The SQLite store: WAL mode, one group-committing writer thread, a few read connections.
//!
//! Several processes may open the same file: SQLite's file lock serialises their writers (each
//! waits up to the busy timeout), and every rule that must hold across processes (idempotency,
//! one claim per job, fencing) is enforced inside a write transaction or by an index.

mod error;
mod jobs;
mod migrations;
mod readers;
mod schedules;
mod steps;
mod writer;

pub use migrations::SCHEMA_VERSION;

use crate::error::{Error, Result};
use crate::job::{Attempt, ClaimedJob, Job, Step, StepWaitOutcome};
use crate::schedule::Schedule;
use crate::store::*;
use async_trait::async_trait;
use error::map_sqlite;
use readers::Readers;
use rusqlite::{Connection, OpenFlags, MAIN_DB};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use writer::Writer;

/// What a commit promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: a commit survives a crash of the process; the last commits before a
    /// power loss or OS crash may be lost (the database stays consistent).
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is synced to disk before it is acknowledged.
    Full,
}

impl std::str::FromStr for Durability {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            _ => Err(Error::invalid(format!(
                "durability must be 'normal' or 'full', got '{s}'"
            ))),
        }
    }
}

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file (created if missing), or `None` for a private in-memory database.
    pub path: Option<PathBuf>,
    /// Commit durability.
    pub durability: Durability,
    /// Idle read connections kept open (file databases only).
    pub read_connections: usize,
    /// How long a write waits for another process's lock before failing with Unavailable.
    pub busy_timeout: Duration,
    /// The most requests committed in one transaction.
    pub max_batch: usize,
    /// Apply pending migrations at open (default). When false, a database whose schema is older
    /// than this build is refused instead, and nothing is created: operator tools open this way
    /// so that a newer CLI never upgrades the database under a running application.
    pub migrate: bool,
}

impl SqliteConfig {
    /// A file database with default settings.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: Some(path.into()),
            ..Self::memory()
        }
    }
    /// A private in-memory database (tests).
    pub fn memory() -> Self {
        SqliteConfig {
            path: None,
            durability: Durability::Normal,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            max_batch: 512,
            migrate: true,
        }
    }
}

/// The SQLite backend of [`Store`].
pub struct SqliteStore {
    writer: Writer,
    readers: Option<Arc<Readers>>,
}

fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::*;
    let p = path.display();
    match e.sqlite_error_code() {
        Some(NotADatabase) => Error::invalid(format!("'{p}' is not a SQLite database")),
        Some(ReadOnly) => Error::invalid(format!(
            "'{p}' is read-only: reseolio needs to write to the database file and its directory"
        )),
        Some(CannotOpen) => cannot_open(path, &e),
        Some(DatabaseCorrupt) => Error::internal(format!(
            "'{p}' is corrupt (truncated or overwritten: {e}); it was left as it is: restore it from a backup"
        )),
        _ => Error::internal(format!("opening '{p}': {e}")),
    }
}

/// Why SQLite could not open or create `path`, in the operating system's words (SQLite only
/// says "unable to open database file"): the file cannot be opened, is a directory, or cannot
/// be created in its directory.
fn cannot_open(path: &Path, e: &rusqlite::Error) -> Error {
    let p = path.display();
    let why = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Error::invalid(format!("cannot open '{p}': it is a directory"))
        }
        Ok(_) => match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        {
            Err(io) => return Error::invalid(format!("cannot open '{p}': {io}")),
            Ok(_) => e.to_string(),
        },
        Err(io) if io.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Error::invalid(format!(
                    "cannot create '{p}': the directory '{}' does not exist",
                    dir.display()
                ));
            }
            // Try what SQLite tried, to learn why it failed; a file made here is removed again.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Err(io) => {
                    return Error::invalid(format!(
                        "cannot create '{p}' in '{}': {io}",
                        dir.display()
                    ))
                }
                Ok(_) => {
                    let _ = std::fs::remove_file(path);
                    e.to_string()
                }
            }
        }
        Err(io) => return Error::invalid(format!("cannot open '{p}': {io}")),
    };
    Error::invalid(format!(
        "cannot open or create '{p}': check that the directory exists and is writable ({why})"
    ))
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database. Blocks while it migrates, waiting
    /// for other processes' locks up to the busy timeout.
    ///
    /// Errors: InvalidArgument when the file is not a SQLite database, is read-only, cannot be
    /// created, or was written by a newer schema; Unavailable when it stayed locked.
    pub fn open(config: &SqliteConfig) -> Result<SqliteStore> {
        let conn = match &config.path {
            None => Connection::open_in_memory().map_err(map_sqlite)?,
            Some(path) => Self::open_file(path, config)?,
        };
        conn.busy_timeout(config.busy_timeout).map_err(map_sqlite)?;
        let sync = match config.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous = {sync}"))
            .map_err(map_sqlite)?;
        if let Err(e) = migrations::migrate(&conn, config.migrate) {
            return Err(match (&config.path, e.kind()) {
                (Some(p), crate::ErrorKind::Internal) if e.message().contains("read-only") => {
                    Error::invalid(format!("'{}' is read-only: {}", p.display(), e.message()))
                }
                // Name the file a storage failure at open is about (corrupt, I/O error).
                (Some(p), crate::ErrorKind::Internal) => {
                    Error::internal(format!("opening '{}': {}", p.display(), e.message()))
                }
                _ => e,
            });
        }
        let readers = config
            .path
            .as_ref()
            .map(|p| Readers::new(p.clone(), config.read_connections, config.busy_timeout));
        Ok(SqliteStore {
            writer: Writer::start(conn, config.max_batch),
            readers,
        })
    }

    fn open_file(path: &Path, config: &SqliteConfig) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| open_error(path, e))?;
        if conn.is_readonly(MAIN_DB).unwrap_or(false) {
            return Err(Error::invalid(format!(
                "'{}' is read-only: reseolio needs to write to the database file",
                path.display()
            )));
        }
        conn.busy_timeout(config.busy_timeout).map_err(map_sqlite)?;
        // The first statement that reads the header tells a non-database file apart.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| open_error(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::invalid(format!(
                "'{}' could not be switched to WAL mode (journal_mode is {mode})",
                path.display()
            )));
        }
        Ok(conn)
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.readers {
            Some(r) => r.read(f).await,
            // An in-memory database is private to its one connection: reads queue with writes.
            None => self.writer.write(f).await,
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn job_insert(&self, p: JobInsertParams) -> Result<JobInsertResult> {
        self.writer.write(move |c| jobs::job_insert(c, p)).await
    }
    async fn job_get(&self, p: JobGetParams) -> Result<Job> {
        self.read(move |c| jobs::job_get(c, p)).await
    }
    async fn job_list(&self, p: JobListParams) -> Result<JobListResult> {
        if p.limit == 0 || p.limit > 1000 {
            return Err(Error::invalid(format!(
                "limit must be between 1 and 1000, got {}",
                p.limit
            )));
        }
        self.read(move |c| jobs::job_list(c, p)).await
    }
    async fn job_claim_available(&self, p: JobClaimParams) -> Result<Vec<ClaimedJob>> {
        self.writer
            .write(move |c| jobs::job_claim_available(c, p))
            .await
    }
    async fn job_complete(&self, p: JobCompleteParams) -> Result<JobCompleteResult> {
        self.writer.write(move |c| jobs::job_complete(c, p)).await
    }
    async fn job_heartbeat(&self, p: JobHeartbeatParams) -> Result<JobHeartbeatResult> {
        self.writer.write(move |c| jobs::job_heartbeat(c, p)).await
    }
    async fn job_release(&self, p: JobReleaseParams) -> Result<()> {
        self.writer.write(move |c| jobs::job_release(c, p)).await
    }
    async fn job_cancel(&self, p: JobCancelParams) -> Result<Job> {
        self.writer.write(move |c| jobs::job_cancel(c, p)).await
    }
    async fn job_retry(&self, p: JobRetryParams) -> Result<Job> {
        self.writer.write(move |c| jobs::job_retry(c, p)).await
    }
    async fn job_rescue(&self, p: JobRescueParams) -> Result<Vec<JobRescued>> {
        self.writer.write(move |c| jobs::job_rescue(c, p)).await
    }
    async fn job_prune(&self, p: JobPruneParams) -> Result<u64> {
        self.writer.write(move |c| jobs::job_prune(c, p)).await
    }
    async fn job_stats(&self, p: JobStatsParams) -> Result<JobStats> {
        rules::check_stats(&p)?;
        self.read(move |c| jobs::job_stats(c, p)).await
    }
    async fn attempt_list(&self, p: AttemptListParams) -> Result<Vec<Attempt>> {
        self.read(move |c| jobs::attempt_list(c, p)).await
    }
    async fn node_heartbeat(&self, p: NodeHeartbeatParams) -> Result<()> {
        self.writer.write(move |c| jobs::node_heartbeat(c, p)).await
    }
    async fn node_list(&self) -> Result<Vec<Node>> {
        self.read(jobs::node_list).await
    }
    async fn node_delete(&self, p: NodeDeleteParams) -> Result<()> {
        self.writer.write(move |c| jobs::node_delete(c, p)).await
    }
    async fn leader_elect(&self, p: LeaderElectParams) -> Result<Leader> {
        self.writer.write(move |c| jobs::leader_elect(c, p)).await
    }
    async fn leader_get(&self) -> Result<Option<Leader>> {
        self.read(jobs::leader_get).await
    }
    async fn leader_resign(&self, node_id: &str) -> Result<()> {
        let id = node_id.to_string();
        self.writer
            .write(move |c| jobs::leader_resign(c, &id))
            .await
    }
    async fn schedule_upsert(&self, p: ScheduleUpsertParams) -> Result<ScheduleUpsertResult> {
        self.writer
            .write(move |c| schedules::schedule_upsert(c, p))
            .await
    }
    async fn schedule_get(&self, p: ScheduleGetParams) -> Result<Schedule> {
        self.read(move |c| schedules::schedule_get(c, p)).await
    }
    async fn schedule_list(&self, p: ScheduleListParams) -> Result<ScheduleListResult> {
        rules::check_list_limit(p.limit)?;
        self.read(move |c| schedules::schedule_list(c, p)).await
    }
    async fn schedule_update(&self, p: ScheduleUpdateParams) -> Result<Schedule> {
        self.writer
            .write(move |c| schedules::schedule_update(c, p))
            .await
    }
    async fn schedule_delete(&self, p: ScheduleGetParams) -> Result<()> {
        self.writer
            .write(move |c| schedules::schedule_delete(c, p))
            .await
    }
    async fn schedule_due(&self, p: ScheduleDueParams) -> Result<Vec<Schedule>> {
        self.read(move |c| schedules::schedule_due(c, p)).await
    }
    async fn schedule_next_due(&self) -> Result<Option<i64>> {
        self.read(schedules::schedule_next_due).await
    }
    async fn schedule_fire(&self, p: ScheduleFireParams) -> Result<ScheduleFireResult> {
        self.writer
            .write(move |c| schedules::schedule_fire(c, p))
            .await
    }
    async fn step_list(&self, p: StepListParams) -> Result<Vec<Step>> {
        self.read(move |c| steps::step_list(c, p)).await
    }
    async fn step_record(&self, p: StepRecordParams) -> Result<Step> {
        self.writer.write(move |c| steps::step_record(c, p)).await
    }
    async fn step_wait(&self, p: StepWaitParams) -> Result<StepWaitOutcome> {
        self.writer.write(move |c| steps::step_wait(c, p)).await
    }
    async fn event_send(&self, p: EventSendParams) -> Result<EventSendResult> {
        self.writer.write(move |c| steps::event_send(c, p)).await
    }
    async fn close(&self) {
        if let Some(r) = &self.readers {
            r.close();
        }
        self.writer.close().await;
    }
}
