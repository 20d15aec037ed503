//! How results get from the engine's threads back to asyncio without those threads ever taking
//! the GIL.
//!
//! A thread that takes the GIL while the interpreter finalizes is killed or aborts the process
//! (a known hazard of running Python callbacks from Tokio threads, seen as "PyGILState_Release:
//! thread state must be current" at exit). So an engine call made from Python only spawns its
//! work; when the work is done, the engine thread stores the plain Rust result in a queue and
//! writes one byte to the event loop's pipe. The loop's reader callback, on the loop's own thread
//! with the GIL, then calls [`drain`], which turns the results into Python objects and resolves
//! the futures. Pipes belong to the Python package, which never closes them (it reuses them), so
//! a late write can never land in an unrelated file.

use crate::convert::{Attempt, Job, LeaderInfo};
use crate::error::to_py;
use crate::schedules::Schedule;
use crate::steps::Step;
use crate::worker::{Task, Worker};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

/// A finished call's value, still plain Rust.
pub(crate) enum Value {
    Unit,
    Bool(bool),
    Int(i64),
    Str(String),
    Enqueued(String, bool),
    Job(reseolio_ffi::Job),
    Jobs(Vec<reseolio_ffi::Job>, u64),
    Attempts(Vec<reseolio_ffi::Attempt>),
    Leader(reseolio_ffi::LeaderInfo),
    Schedule(reseolio_ffi::Schedule),
    Schedules(Vec<reseolio_ffi::Schedule>, u64),
    Step(reseolio_ffi::Step),
    Steps(Vec<reseolio_ffi::Step>),
    Worker(reseolio_ffi::ClientWorker),
    Task(reseolio_ffi::ClientTask),
}

type Done = (u64, reseolio_ffi::Result<Value>);

static QUEUES: Mutex<Option<HashMap<i32, Vec<Done>>>> = Mutex::new(None);

/// The calls still running, by id, so that a call the Python side gave up on can be stopped.
static RUNNING: Mutex<Option<HashMap<u64, tokio::task::AbortHandle>>> = Mutex::new(None);

/// Runs `work` on the engine's runtime; its result is queued for the loop behind `fd` under `id`.
pub(crate) fn spawn<F>(fd: i32, id: u64, work: F)
where
    F: Future<Output = reseolio_ffi::Result<Value>> + Send + 'static,
{
    // Held while the task is registered: a task that finishes at once waits here to deregister.
    let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    let task = reseolio_ffi::runtime().spawn(async move {
        let r = work.await;
        if let Some(m) = RUNNING.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            m.remove(&id);
        }
        QUEUES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashMap::new)
            .entry(fd)
            .or_default()
            .push((id, r));
        // SAFETY: writes one byte from a valid buffer; the fd is a pipe the Python package keeps
        // open for the life of the process. A full pipe (EAGAIN) is fine: a wake-up is pending.
        unsafe {
            libc::write(fd, b"!".as_ptr().cast(), 1);
        }
    });
    running
        .get_or_insert_with(HashMap::new)
        .insert(id, task.abort_handle());
}

/// Stops a call whose future Python cancelled. Every call may be stopped safely: reads and waits
/// just end, a worker's poll leaves its job queued for the next poll, and writes run to their
/// end in a task of their own (see reseolio-ffi).
#[pyfunction]
pub(crate) fn cancel(id: u64) {
    let handle = RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .and_then(|m| m.remove(&id));
    if let Some(h) = handle {
        h.abort();
    }
}

fn to_object(py: Python<'_>, v: Value) -> PyResult<Py<PyAny>> {
    match v {
        Value::Unit => Ok(py.None()),
        Value::Bool(b) => b.into_py_any(py),
        Value::Int(i) => i.into_py_any(py),
        Value::Str(s) => s.into_py_any(py),
        Value::Enqueued(id, dedup) => (id, dedup).into_py_any(py),
        Value::Job(j) => Job::from(j).into_py_any(py),
        Value::Jobs(jobs, total) => {
            let jobs: Vec<Job> = jobs.into_iter().map(Job::from).collect();
            (jobs, total).into_py_any(py)
        }
        Value::Attempts(a) => a
            .into_iter()
            .map(Attempt::from)
            .collect::<Vec<_>>()
            .into_py_any(py),
        Value::Leader(i) => LeaderInfo::from(i).into_py_any(py),
        Value::Schedule(s) => Schedule::from(s).into_py_any(py),
        Value::Schedules(schedules, total) => {
            let schedules: Vec<Schedule> = schedules.into_iter().map(Schedule::from).collect();
            (schedules, total).into_py_any(py)
        }
        Value::Step(s) => Step::from(s).into_py_any(py),
        Value::Steps(s) => s
            .into_iter()
            .map(Step::from)
            .collect::<Vec<_>>()
            .into_py_any(py),
        Value::Worker(w) => Worker::new(w).into_py_any(py),
        Value::Task(t) => Task::new(t).into_py_any(py),
    }
}

/// The results queued for the loop behind `fd`, as `(id, value, is_error)`; the value is the
/// exception instance when `is_error`. Called by the loop's reader callback, with the GIL.
#[pyfunction]
pub(crate) fn drain(py: Python<'_>, fd: i32) -> PyResult<Vec<(u64, Py<PyAny>, bool)>> {
    let done = QUEUES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .and_then(|q| q.remove(&fd))
        .unwrap_or_default();
    done.into_iter()
        .map(|(id, r)| match r {
            Ok(v) => Ok((id, to_object(py, v)?, false)),
            Err(e) => Ok((id, to_py(e).into_value(py).into_any(), true)),
        })
        .collect()
}
