//! The one Tokio runtime of the process, created on first use.

use reseolio_core::{Error, Result};
use std::future::Future;
use std::sync::OnceLock;

/// The process-wide runtime the engine runs on: multi-threaded, two workers (the engine's own
/// work is I/O-bound and its SQLite writes run on a dedicated thread).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("reseolio")
            .enable_all()
            .build()
            .expect("start the reseolio runtime")
    })
}

/// Runs `fut` on the runtime and awaits its outcome from whatever executor the caller is on.
/// Dropping the returned future stops waiting, not the work (a write in flight still commits).
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
