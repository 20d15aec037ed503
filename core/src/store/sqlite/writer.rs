//! The single writer thread and its group commit.
//!
//! Every write of this process goes through one thread that owns the write connection. It takes
//! the first waiting request, then whatever else is already queued (up to `max_batch`), and runs
//! them all in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint so that one failing
//! request rolls back alone. Replies are sent only after COMMIT returns: a caller is told "done"
//! only once its write is as durable as the synchronous mode promises. Concurrent enqueues, claims
//! and completions therefore share one commit (one WAL sync), which is where the throughput comes
//! from.

use super::error::map_sqlite;
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A request queued for the writer: run inside the shared transaction, then told the commit's fate.
trait WriteOp: Send {
    /// Runs the request; false when it failed and its savepoint must be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Replies once the batch committed (or failed to).
    fn finish(self: Box<Self>, commit: Result<()>);
}

struct Op<F, T> {
    f: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<F, T> WriteOp for Op<F, T>
where
    F: FnOnce(&Connection) -> Result<T> + Send,
    T: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let f = self.f.take().expect("a write op runs once");
        let r = catch_unwind(AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(Error::internal("a storage write panicked")));
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<()>) {
        let reply = match (self.result, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(Error::internal("a storage write was never run")),
        };
        // The caller may have stopped waiting (its future was dropped); the write stands anyway.
        let _ = self.reply.send(reply);
    }
}

/// Handle to the writer thread. Safe to share between tasks and threads.
pub(crate) struct Writer {
    sender: Mutex<Option<mpsc::Sender<Box<dyn WriteOp>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, batching up to `max_batch` requests per transaction.
    pub(crate) fn start(conn: Connection, max_batch: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Box<dyn WriteOp>>();
        let thread = std::thread::Builder::new()
            .name("reseolio-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, max_batch.max(1)))
            .expect("spawn the sqlite writer thread");
        Writer {
            sender: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Runs `f` inside the next group transaction and resolves after it committed.
    ///
    /// Non-blocking for the caller (it awaits a reply). Errors: whatever `f` returns (its changes
    /// are rolled back), Unavailable when the database stayed locked past the busy timeout,
    /// Internal when COMMIT failed (disk full, I/O error), ShutDown after [`Writer::stop`].
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let op: Box<dyn WriteOp> = Box::new(Op {
            f: Some(f),
            result: None,
            reply,
        });
        {
            let guard = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            let sender = guard
                .as_ref()
                .ok_or_else(|| Error::shut_down("the store is closed"))?;
            sender
                .send(op)
                .map_err(|_| Error::shut_down("the store's writer has stopped"))?;
        }
        rx.await
            .map_err(|_| Error::shut_down("the store's writer stopped before replying"))?
    }

    /// Stops taking requests, lets queued ones commit, and waits for the thread to end.
    /// Non-blocking for the async caller (the join runs on the blocking pool); idempotent.
    pub(crate) async fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    fn stop_blocking(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop_blocking();
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Box<dyn WriteOp>>, max_batch: usize) {
    let mut batch: Vec<Box<dyn WriteOp>> = Vec::with_capacity(max_batch);
    while let Some(first) = next_request(&rx) {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let commit = run_batch(&conn, &mut batch);
        for op in batch.drain(..) {
            op.finish(commit.clone());
        }
    }
    // Channel closed and drained: the connection closes here, checkpointing the WAL.
    drop(conn);
}

/// The next request, or `None` once every sender is gone. Spins briefly before parking: a
/// request usually follows within microseconds (the reply to the last batch wakes its caller,
/// which often writes again), and waking a parked thread costs more than the spin.
fn next_request(rx: &mpsc::Receiver<Box<dyn WriteOp>>) -> Option<Box<dyn WriteOp>> {
    let spin_until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(op) => return Some(op),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if Instant::now() < spin_until => {
                std::thread::yield_now()
            }
            Err(mpsc::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

const SPIN: Duration = Duration::from_micros(50);

fn exec(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(map_sqlite)
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn WriteOp>]) -> Result<()> {
    exec(conn, "BEGIN IMMEDIATE")?;
    // A lone request needs no savepoint: if it fails, the whole transaction is rolled back.
    if let [op] = batch {
        if !op.run(conn) {
            let _ = exec(conn, "ROLLBACK");
            return Ok(());
        }
    } else {
        for op in batch.iter_mut() {
            let step = exec(conn, "SAVEPOINT op")
                .map(|()| op.run(conn))
                .and_then(|ok| {
                    if !ok {
                        exec(conn, "ROLLBACK TO op")?;
                    }
                    exec(conn, "RELEASE op")
                });
            if let Err(e) = step {
                let _ = exec(conn, "ROLLBACK");
                return Err(e);
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        let _ = exec(conn, "ROLLBACK");
        return Err(e);
    }
    Ok(())
}
