//! A small pool of read connections. In WAL mode readers never block the writer nor each other.

use super::error::map_sqlite;
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    keep: usize,
    busy_timeout: Duration,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, keep: usize, busy_timeout: Duration) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
            keep,
            busy_timeout,
        })
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(map_sqlite)?;
        conn.busy_timeout(self.busy_timeout).map_err(map_sqlite)?;
        Ok(conn)
    }

    /// Runs `f` on an idle read connection in the blocking pool. Opens another connection when
    /// all are busy; keeps at most `keep` idle ones.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let taken = me.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match taken {
                Some(c) => c,
                None => me.open()?,
            };
            let r = f(&conn);
            let mut idle = me.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < me.keep {
                idle.push(conn);
            }
            r
        })
        .await
        .map_err(|e| Error::internal(format!("a storage read panicked: {e}")))?
    }

    /// Closes the idle connections.
    pub(crate) fn close(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
