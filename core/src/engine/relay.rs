//! Wake-ups from other processes: the store's event feed (PostgreSQL's LISTEN/NOTIFY) turned
//! into this engine's in-process signals, so that an enqueue on any node wakes idle workers here
//! within milliseconds and a job finished anywhere wakes its waiters here. Without a feed
//! (SQLite) the poll interval does this.

use super::Inner;
use crate::store::StoreEvent;
use std::sync::Weak;
use tokio::sync::{broadcast, watch};

/// Runs until the engine stops or is dropped. Holds the engine weakly, so that it never keeps
/// an engine alive.
pub(crate) async fn run(
    inner: Weak<Inner>,
    mut events: broadcast::Receiver<StoreEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = stop.changed() => return,
        };
        let Some(inner) = inner.upgrade() else { return };
        let signals = &inner.signals;
        match event {
            Ok(StoreEvent::JobAvailable) => signals.job_available.notify_waiters(),
            Ok(StoreEvent::JobFinished(id)) => signals.finished(&id, None),
            Ok(StoreEvent::LeaseLost { job_id, lease }) => signals.cancel_lease(&job_id, lease),
            // Events were missed (a lost connection, or this relay fell behind): everyone looks.
            Ok(StoreEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                signals.job_available.notify_waiters();
                signals.wake_all_waiters();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
