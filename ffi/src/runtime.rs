//! The one Tokio runtime of the process, created on first use.

use reseolio_core::{Error, Result};
use std::future::Future;
use std::sync::Mutex;

/// The process-wide runtime the engine runs on: multi-threaded, two workers (the engine's own
/// work is I/O-bound and its SQLite writes run on a dedicated thread).
///
/// A child made by `fork()` inherits the parent's runtime without its threads, so work put on
/// it would never run: the runtime is made again in a new process (the parent's copy is left
/// alone; it owns nothing the child can use).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut rt = RT.lock().unwrap_or_else(|p| p.into_inner());
    match *rt {
        Some((owner, r)) if owner == pid => r,
        _ => {
            let made: &'static tokio::runtime::Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("reseolio")
                    .enable_all()
                    .build()
                    .expect("start the reseolio runtime"),
            ));
            *rt = Some((pid, made));
            made
        }
    }
}

/// Refuses a blocking call from a thread of a Tokio runtime (this crate's or the host's), where
/// blocking would stall that runtime (and `block_on` would panic). For the bindings whose calls
/// block: C and UniFFI. Never blocks.
///
/// Errors: Internal saying so.
pub fn check_blocking_allowed() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::internal(
            "a blocking reseolio call was made from a thread of a Tokio runtime, where blocking \
             would stall it; call it from a plain thread",
        ));
    }
    Ok(())
}

/// Runs `fut` to its end on the runtime, blocking the calling thread: what a binding whose calls
/// block does with every Client future. May be called from many threads at once.
///
/// Errors: as [`check_blocking_allowed`].
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    check_blocking_allowed()?;
    Ok(runtime().block_on(fut))
}

/// Runs `fut` on the runtime and awaits its outcome from whatever executor the caller is on,
/// where stopping early would be unsafe: a read or a wait stops with its caller, see
/// [`on_runtime_cancellable`].
/// Dropping the returned future stops waiting, not the work (a write in flight still commits,
/// and a completion still frees its worker slot).
pub(crate) async fn on_runtime<T, F>(fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    runtime()
        .spawn(fut)
        .await
        .map_err(|e| Error::internal(format!("an engine task failed: {e}")))?
}

/// Like [`on_runtime`], for work that changes nothing (reads, waits): dropping the returned
/// future also stops the work, so a caller that gives up on a wait leaves nothing polling.
pub(crate) async fn on_runtime_cancellable<T, F>(fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            // A no-op once the task finished.
            self.0.abort();
        }
    }
    let task = runtime().spawn(fut);
    let _abort = AbortOnDrop(task.abort_handle());
    task.await
        .map_err(|e| Error::internal(format!("an engine task failed: {e}")))?
}
