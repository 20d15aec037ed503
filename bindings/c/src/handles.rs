//! Handles: what C holds instead of pointers to Rust objects.
//!
//! A handle is a struct with one 64-bit id, passed by value. The objects live in registries
//! keyed by id, and ids come from one counter that never repeats, so a handle that was freed, a
//! zeroed one, or one of another kind is recognised and refused instead of being dereferenced.
//! Jobs and errors are plain structs the caller reads; their addresses are kept in a
//! [`LivePointers`] set for the same reason.

use crate::error::Fail;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// A connection to Reseolio (the embedded engine or a sidecar). Made by `reseolio_connect`,
/// freed by `reseolio_client_free`. The zero value is never a live client.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct reseolio_client {
    /// Opaque; 0 is never a live client.
    pub id: u64,
}

/// A worker claiming jobs for a client. Made by `reseolio_worker_start`, freed by
/// `reseolio_worker_free`. The zero value is never a live worker.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct reseolio_worker {
    /// Opaque; 0 is never a live worker.
    pub id: u64,
}

/// A job claimed by a worker: complete it, then free it. Made by `reseolio_worker_poll`, freed
/// by `reseolio_task_free`. The zero value is never a live task.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct reseolio_task {
    /// Opaque; 0 is never a live task.
    pub id: u64,
}

/// Every id handed out so far is below this; 0 is never handed out.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The live objects of one kind, by id.
pub(crate) struct Registry<T> {
    kind: &'static str,
    live: LazyLock<Mutex<HashMap<u64, Arc<T>>>>,
}

impl<T> Registry<T> {
    pub(crate) const fn new(kind: &'static str) -> Self {
        Registry {
            kind,
            live: LazyLock::new(|| Mutex::new(HashMap::new())),
        }
    }

    /// Stores `value` and returns its new id.
    pub(crate) fn insert(&self, value: T) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.map().insert(id, Arc::new(value));
        id
    }

    /// The object, shared with the registry: a free on another thread during the call leaves
    /// it alive until the call ends. Errors: InvalidHandle saying whether it was freed.
    pub(crate) fn get(&self, id: u64) -> Result<Arc<T>, Fail> {
        self.map().get(&id).cloned().ok_or_else(|| self.gone(id))
    }

    /// Takes the object out; later uses of the id are refused. Errors: as [`Registry::get`].
    pub(crate) fn remove(&self, id: u64) -> Result<Arc<T>, Fail> {
        self.map().remove(&id).ok_or_else(|| self.gone(id))
    }

    fn gone(&self, id: u64) -> Fail {
        let kind = self.kind;
        if id == 0 {
            Fail::invalid_handle(format!("{kind} is a zero handle (never made)"))
        } else if id < NEXT_ID.load(Ordering::Relaxed) {
            Fail::invalid_handle(format!(
                "{kind} {id} was freed already (or is a handle of another kind)"
            ))
        } else {
            Fail::invalid_handle(format!("{kind} {id} was never made"))
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<T>>> {
        // Nothing panics while holding the lock; a poisoned map is still consistent.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Addresses of heap structs handed to the caller and not yet freed.
///
/// They are kept bitwise inverted: leak checkers (valgrind, LeakSanitizer) treat any word that
/// holds a block's address as a reference to it, so a plain copy here would hide every job or
/// error the caller forgot to free. An inverted user-space address points nowhere.
pub(crate) struct LivePointers(LazyLock<Mutex<HashSet<usize>>>);

impl LivePointers {
    pub(crate) const fn new() -> Self {
        LivePointers(LazyLock::new(|| Mutex::new(HashSet::new())))
    }
    pub(crate) fn insert(&self, ptr: usize) {
        self.set().insert(!ptr);
    }
    pub(crate) fn contains(&self, ptr: usize) -> bool {
        self.set().contains(&!ptr)
    }
    /// True when it was live (and is not any more).
    pub(crate) fn remove(&self, ptr: usize) -> bool {
        self.set().remove(&!ptr)
    }
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
