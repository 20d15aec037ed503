//! The two streams: PollJobs (a worker's jobs, at most as many in flight as it has slots) and
//! SubscribeToJobs (completions of the jobs a client waits for).

use crate::convert::{claimed_to_wire, status};
use crate::service::{Held, Service};
use reseolio_core::{Engine, ErrorKind, LeaseToken, WorkerOptions};
use reseolio_proto as pb;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Response, Status, Streaming};

/// The jobs of one PollJobs stream.
pub type JobStream = ReceiverStream<Result<pb::Job, Status>>;
/// The completions of one SubscribeToJobs stream.
pub type CompletionStream = ReceiverStream<Result<pb::JobCompletion, Status>>;

/// The worker concurrency of a v1 PollRequest that leaves it at 0.
const DEFAULT_CONCURRENCY: u32 = 10;

/// Opens a worker stream: one engine worker per stream, so the engine's slots are the stream's
/// credit. A job is sent only when the engine claimed it into a free slot, and a slot frees only
/// when its job is acked (or its lease lost), so the server never sends more jobs than the
/// worker has free slots. A later PollRequest on the stream replaces the function names (the v1
/// client sends one whenever it registers a handler).
pub(crate) async fn poll_jobs(
    svc: Service,
    mut inbound: Streaming<pb::PollRequest>,
) -> Result<Response<JobStream>, Status> {
    let first = inbound.message().await?.ok_or_else(|| {
        Status::invalid_argument("PollJobs: the stream ended before its first PollRequest")
    })?;
    if first.concurrency < 0 {
        return Err(Status::invalid_argument(format!(
            "concurrency must be >= 0, got {}",
            first.concurrency
        )));
    }
    let asked = match first.concurrency {
        0 => DEFAULT_CONCURRENCY,
        n => n as u32,
    };
    let granted = take_slots(&svc, asked)?;
    let worker = svc.engine.worker(WorkerOptions {
        names: first.names,
        concurrency: granted,
        worker_id: (!first.worker_id.is_empty()).then_some(first.worker_id),
    });
    let worker = match worker {
        Ok(w) => Arc::new(w),
        Err(e) => {
            give_back_slots(&svc, granted);
            return Err(status(e));
        }
    };
    let stream = svc
        .next_stream
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(granted as usize);
    svc.open_streams.send_modify(|n| *n += 1);
    tokio::spawn(async move {
        run_worker_stream(svc.clone(), worker, stream, inbound, tx).await;
        give_back_slots(&svc, granted);
        svc.open_streams.send_modify(|n| *n -= 1);
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

/// Takes up to `asked` of the server's free slots for a new stream. Errors: RESOURCE_EXHAUSTED
/// when other streams hold them all.
fn take_slots(svc: &Service, asked: u32) -> Result<u32, Status> {
    use std::sync::atomic::Ordering;
    let mut free = svc.free_slots.load(Ordering::Acquire);
    loop {
        if free == 0 {
            return Err(Status::resource_exhausted(format!(
                "all {} job slots of this server are held by other worker streams (RESEOLIO_MAX_CONCURRENT)",
                svc.max_concurrent
            )));
        }
        let take = asked.min(free);
        match svc.free_slots.compare_exchange(
            free,
            free - take,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok(take),
            Err(now) => free = now,
        }
    }
}

fn give_back_slots(svc: &Service, n: u32) {
    svc.free_slots
        .fetch_add(n, std::sync::atomic::Ordering::AcqRel);
}

async fn run_worker_stream(
    svc: Service,
    worker: Arc<reseolio_core::Worker>,
    stream: u64,
    mut inbound: Streaming<pb::PollRequest>,
    tx: mpsc::Sender<Result<pb::Job, Status>>,
) {
    let mut stopping = svc.stopping.clone();
    let server_stopping = loop {
        if *stopping.borrow() {
            break true;
        }
        tokio::select! {
            task = worker.poll() => {
                let Ok(task) = task else { break false };
                let token = task.token().clone();
                svc.held.lock().unwrap_or_else(|p| p.into_inner()).insert(
                    token.clone(),
                    Held { token: token.clone(), worker: worker.clone(), stream },
                );
                if tx.send(Ok(claimed_to_wire(&task.job))).await.is_err() {
                    // Never delivered: forget it here so that the shutdown below hands it back.
                    svc.held.lock().unwrap_or_else(|p| p.into_inner()).remove(&token);
                    break false;
                }
            }
            update = inbound.message() => match update {
                Ok(Some(update)) => {
                    if let Err(e) = worker.set_names(update.names) {
                        let _ = tx.send(Err(status(e))).await;
                        break false;
                    }
                }
                // A message that does not decode ends the stream with its status (best effort:
                // a worker that went away is not waited for).
                Err(e) => {
                    let _ = tx.try_send(Err(e));
                    break false;
                }
                // The worker closed its side.
                Ok(None) => break false,
            },
            // A dropped sender (the Serving value gone without stop) means stopping too.
            changed = stopping.changed() => if changed.is_err() { break true },
            _ = tx.closed() => break false,
        }
    };
    if server_stopping {
        // Graceful shutdown: no new jobs; acks of jobs in flight are taken for the grace period,
        // then what is left is handed back.
        worker.shutdown(svc.grace).await;
    } else {
        // The worker is gone: jobs it received keep their leases, which lapse (counted as a lost
        // attempt) unless it reconnects and acks them by token; jobs claimed but not yet sent are
        // handed back at once.
        let delivered: Vec<LeaseToken> = svc
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|h| h.stream == stream)
            .map(|h| h.token.clone())
            .collect();
        for token in &delivered {
            worker.abandon(token);
        }
        worker.shutdown(Duration::ZERO).await;
    }
    svc.held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|_, h| h.stream != stream);
}

/// Opens a completion stream: every subscribed job id gets one JobCompletion when it is (or
/// already was) SUCCESS, DEAD or CANCELLED. An unknown id gets a completion with status
/// UNSPECIFIED and the error, rather than ending the stream for the others.
pub(crate) fn subscribe(
    engine: Engine,
    mut inbound: Streaming<pb::SubscribeRequest>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> CompletionStream {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        // Each waiter carries a generation, so that a late "done" from an older waiter of the
        // same id never removes a newer one.
        let mut waits: HashMap<String, (u64, tokio::task::JoinHandle<()>)> = HashMap::new();
        let mut generation = 0u64;
        // A waiter reports here before it sends its completion, so that a subscription made in
        // answer to that completion finds the id free and is answered again.
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, u64)>();
        let forget = |waits: &mut HashMap<String, (u64, tokio::task::JoinHandle<()>)>,
                      (id, g): (String, u64)| {
            if waits.get(&id).is_some_and(|(wg, _)| *wg == g) {
                waits.remove(&id);
            }
        };
        let mut reading = true;
        loop {
            if !reading && waits.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                Some(done) = done_rx.recv() => forget(&mut waits, done),
                msg = inbound.message(), if reading => match msg {
                    Ok(Some(req)) => {
                        while let Ok(done) = done_rx.try_recv() {
                            forget(&mut waits, done);
                        }
                        for id in req.job_ids {
                            if req.unsubscribe {
                                if let Some((_, h)) = waits.remove(&id) {
                                    h.abort();
                                }
                            } else if let std::collections::hash_map::Entry::Vacant(slot) =
                                waits.entry(id.clone())
                            {
                                generation += 1;
                                slot.insert((
                                    generation,
                                    tokio::spawn(await_one(
                                        engine.clone(),
                                        id,
                                        generation,
                                        tx.clone(),
                                        done_tx.clone(),
                                    )),
                                ));
                            }
                        }
                    }
                    // A message that does not decode ends the stream with its status, rather
                    // than a clean end that would read as "nothing more to say".
                    Err(e) => {
                        let _ = tx.try_send(Err(e));
                        break;
                    }
                    Ok(None) => reading = false,
                },
                _ = stopping.changed() => break,
                _ = tx.closed() => break,
            }
        }
        for (_, h) in waits.values() {
            h.abort();
        }
    });
    ReceiverStream::new(rx)
}

async fn await_one(
    engine: Engine,
    id: String,
    generation: u64,
    tx: mpsc::Sender<Result<pb::JobCompletion, Status>>,
    done: mpsc::UnboundedSender<(String, u64)>,
) {
    let completion = loop {
        match engine.await_result(&id, None).await {
            Ok(job) => {
                break pb::JobCompletion {
                    job_id: id,
                    status: pb::JobStatus::from(job.status) as i32,
                    result: job.result.unwrap_or_default(),
                    error: match job.status {
                        reseolio_core::JobStatus::Cancelled => "the job was cancelled".to_string(),
                        _ => job.last_error.unwrap_or_default(),
                    },
                }
            }
            Err(e) if e.kind() == ErrorKind::ShutDown => return,
            // Only an unknown id is answered as such; a passing failure (a busy store) is not a
            // reason to tell the client its job does not exist.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                break pb::JobCompletion {
                    job_id: id,
                    status: pb::JobStatus::Unspecified as i32,
                    result: vec![],
                    error: e.message().to_string(),
                }
            }
            Err(e) => {
                tracing::warn!(job_id = %id, error = %e, "waiting for a result failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let _ = done.send((completion.job_id.clone(), generation));
    let _ = tx.send(Ok(completion)).await;
}
