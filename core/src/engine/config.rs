//! Engine configuration and storage URLs.

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::job::Limits;
use crate::store::sqlite::{Durability, SqliteConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How an engine behaves. `Default` gives the documented defaults.
#[derive(Clone)]
pub struct EngineConfig {
    /// How often idle workers and result waiters look for work written by other processes
    /// (default 100 ms). Work from this process wakes them at once.
    pub poll_interval: Duration,
    /// How often this engine heartbeats its node row and rescues lost jobs (default 1 s).
    pub maintenance_interval: Duration,
    /// A node whose heartbeat is older than this is dead and its jobs are rescued (default 10 s).
    /// A node on this host whose process is gone is dead at once.
    pub node_timeout: Duration,
    /// Finished jobs older than this are pruned; `None` keeps them (default 7 days).
    pub retention: Option<Duration>,
    /// How often the pruner runs (default 60 s).
    pub prune_interval: Duration,
    /// Payload limits.
    pub limits: Limits,
    /// The clock; tests inject a [`crate::clock::ManualClock`].
    pub clock: Arc<dyn Clock>,
    /// Run the maintenance loop (rescuer, pruner, node heartbeat). Default true.
    pub maintenance: bool,
    /// How long a leader's term lasts unless renewed (every maintenance pass renews it; default
    /// 5 s). When the leader's node dies another takes over within this time, at once when the
    /// dead process is on this host.
    pub leader_ttl: Duration,
    /// Apply pending schema migrations at open (default true). Operator tools set false: a
    /// database older than this build is then refused rather than upgraded under a running
    /// application.
    pub migrate: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            poll_interval: Duration::from_millis(100),
            maintenance_interval: Duration::from_secs(1),
            node_timeout: Duration::from_secs(10),
            retention: Some(Duration::from_secs(7 * 24 * 3600)),
            prune_interval: Duration::from_secs(60),
            limits: Limits::default(),
            clock: Arc::new(SystemClock),
            maintenance: true,
            leader_ttl: Duration::from_secs(5),
            migrate: true,
        }
    }
}

impl EngineConfig {
    /// Checks the intervals against each other. Errors: InvalidArgument naming the setting.
    pub fn validate(&self) -> Result<()> {
        if self.poll_interval.is_zero() {
            return Err(Error::invalid("poll_interval must be > 0"));
        }
        if self.maintenance_interval.is_zero() {
            return Err(Error::invalid("maintenance_interval must be > 0"));
        }
        // A live node heartbeats once per maintenance interval; with a node timeout not well
        // above it, live nodes would judge each other dead and rescue each other's jobs.
        if self.node_timeout < self.maintenance_interval * 3 {
            return Err(Error::invalid(format!(
                "node_timeout ({:?}) must be at least 3 times maintenance_interval ({:?})",
                self.node_timeout, self.maintenance_interval
            )));
        }
        // The leader renews its term once per pass: a term not well above that would lapse
        // between two renewals of a live leader.
        if self.leader_ttl < self.maintenance_interval * 2 {
            return Err(Error::invalid(format!(
                "leader_ttl ({:?}) must be at least 2 times maintenance_interval ({:?})",
                self.leader_ttl, self.maintenance_interval
            )));
        }
        Ok(())
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("poll_interval", &self.poll_interval)
            .field("maintenance_interval", &self.maintenance_interval)
            .field("node_timeout", &self.node_timeout)
            .field("retention", &self.retention)
            .field("prune_interval", &self.prune_interval)
            .field("limits", &self.limits)
            .field("maintenance", &self.maintenance)
            .field("leader_ttl", &self.leader_ttl)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// A parsed storage URL.
#[derive(Debug, Clone)]
pub enum StorageUrl {
    /// `sqlite://PATH[?durability=normal|full]`, `sqlite::memory:` or `sqlite://:memory:`.
    Sqlite(SqliteConfig),
    /// `postgres://USER:PASS@HOST:PORT/DB[?schema=NAME&...]` (also `postgresql://`).
    #[cfg(feature = "postgres")]
    Postgres(crate::store::postgres::PostgresConfig),
}

impl StorageUrl {
    /// The same storage, opened applying pending migrations or (false) refusing an older schema.
    pub fn migrating(self, migrate: bool) -> StorageUrl {
        match self {
            StorageUrl::Sqlite(mut c) => {
                c.migrate = migrate;
                StorageUrl::Sqlite(c)
            }
            #[cfg(feature = "postgres")]
            StorageUrl::Postgres(mut c) => {
                c.migrate = migrate;
                StorageUrl::Postgres(c)
            }
        }
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redact(url: &str) -> String {
        match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &url[s + 3..at];
                match creds.split_once(':') {
                    Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                    None => url.to_string(),
                }
            }
            _ => url.to_string(),
        }
    }
    /// Parses a storage URL.
    ///
    /// `sqlite://PATH` takes PATH as a file path, relative to the working directory unless it
    /// starts with `/`; `sqlite:///./x.db` and `sqlite:///../x.db` are read as relative too, for
    /// the spelling some tools use. The query may set `durability=normal|full`.
    ///
    /// Errors: InvalidArgument naming what is wrong (unknown scheme, empty path, unknown query
    /// parameter or value).
    pub fn parse(url: &str) -> Result<StorageUrl> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Ok(StorageUrl::Postgres(
                crate::store::postgres::PostgresConfig::parse(url)?,
            ));
            #[cfg(not(feature = "postgres"))]
            return Err(Error::invalid(format!(
                "storage URL '{url}': this build has no PostgreSQL support (the reseolio-core feature 'postgres')"
            )));
        }
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                let scheme = url.split("://").next().unwrap_or(url);
                // A URL of another database may carry its password: never repeat it.
                Error::invalid(format!(
                    "storage URL '{}' has an unsupported scheme '{scheme}'; this build takes sqlite://PATH or postgres://...",
                    Self::redact(url)
                ))
            })?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut config = if path == ":memory:" {
            SqliteConfig::memory()
        } else if path.is_empty() {
            return Err(Error::invalid(format!(
                "storage URL '{url}' has no file path; write sqlite://./reseolio.db"
            )));
        } else {
            let path = if path.starts_with("/./") || path.starts_with("/../") {
                &path[1..]
            } else {
                path
            };
            SqliteConfig::file(PathBuf::from(path))
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("durability", v)) => config.durability = v.parse::<Durability>()?,
                _ => {
                    return Err(Error::invalid(format!(
                        "storage URL '{url}' has an unknown parameter '{pair}'; known: durability=normal|full"
                    )))
                }
            }
        }
        Ok(StorageUrl::Sqlite(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            StorageUrl::redact("postgres://app:s3cr@t@db:5432/jobs"),
            "postgres://app:***@db:5432/jobs"
        );
        assert_eq!(
            StorageUrl::redact("postgres://app@db/jobs"),
            "postgres://app@db/jobs"
        );
        assert_eq!(StorageUrl::redact("sqlite://./x.db"), "sqlite://./x.db");
    }

    /// Found by the `storage_url` fuzz target (kept in fuzz/regressions/storage_url): the
    /// error for an unsupported scheme repeated the whole URL, password included.
    #[test]
    fn an_unsupported_scheme_is_named_without_the_password() {
        let e = StorageUrl::parse("mysql://app:s3cret@db:3306/jobs").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!e.message().contains("s3cret"), "{}", e.message());
        assert!(
            e.message().contains("'mysql://app:***@db:3306/jobs'")
                && e.message().contains("scheme 'mysql'"),
            "{}",
            e.message()
        );
    }

    fn sqlite(url: &str) -> SqliteConfig {
        match StorageUrl::parse(url).unwrap() {
            StorageUrl::Sqlite(c) => c,
            #[cfg(feature = "postgres")]
            StorageUrl::Postgres(_) => panic!("not sqlite"),
        }
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite("sqlite://./a.db").path,
            Some(PathBuf::from("./a.db"))
        );
        assert_eq!(sqlite("sqlite://a.db").path, Some(PathBuf::from("a.db")));
        assert_eq!(
            sqlite("sqlite:///tmp/a.db").path,
            Some(PathBuf::from("/tmp/a.db"))
        );
        assert_eq!(
            sqlite("sqlite:///./a.db").path,
            Some(PathBuf::from("./a.db"))
        );
        assert_eq!(sqlite("sqlite::memory:").path, None);
        assert_eq!(sqlite("sqlite://:memory:").path, None);
        assert_eq!(
            sqlite("sqlite://a.db?durability=full").durability,
            Durability::Full
        );
        assert_eq!(sqlite("sqlite://a.db").durability, Durability::Normal);
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, needle) in [
            ("mysql://x", "scheme 'mysql'"),
            ("sqlite://", "no file path"),
            ("sqlite://a.db?durability=maybe", "durability"),
            ("sqlite://a.db?cache=1", "unknown parameter 'cache=1'"),
        ] {
            let e = StorageUrl::parse(url).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
            assert!(e.message().contains(needle), "{url}: {}", e.message());
        }
    }
}
