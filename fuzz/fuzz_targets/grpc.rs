//! Fuzz target `grpc`: the sidecar's gRPC handlers, fed decoded request messages directly (the
//! `Reseolio` trait of `reseolio_sidecar::Service`, no network), over one engine on
//! `sqlite::memory:` that lives as long as the process, so that calls meet the jobs, schedules,
//! steps and events earlier calls made.
//!
//! Input: byte 0 picks the RPC (all 23: 21 unary, PollJobs and SubscribeToJobs); byte 1 is a set
//! of flags; the rest is the request, protobuf-encoded (for the two streams: a sequence of
//! messages, each prefixed by its length as a protobuf varint). A request that does not decode
//! is skipped: tonic refuses it before any handler runs. The flags reach state a random string
//! never names:
//! - bit 0: first enqueue a job and claim it, so that a live lease exists;
//! - bit 1: put that lease's token in the request's `lease_token`;
//! - bit 2: put a real job id in the request's job id fields (the claimed job's, else a new
//!   pending job's);
//! - bit 3: declare the schedule `fuzz-schedule` and name it in the request's schedule field.
//!
//! What it proves, for any input: no handler panics (on any thread: libFuzzer aborts on any
//! panic, including one in a task a handler spawned), every call answers within 10 s, every
//! failure is a gRPC `Status` whose code is never INTERNAL or UNKNOWN (a caller's bad request
//! is never reported as a server fault), and a stream ends once its requests end (PollJobs) or
//! is dropped cleanly (SubscribeToJobs) with the same rules for the errors it carries.
//!
//! The database grows as a run goes on (about 300 MB of memory after 300,000 calls), and a
//! crash may depend on what earlier calls stored: replay the whole corpus, not only the input,
//! when one does not reproduce alone. `RESEOLIO_FUZZ_TRACE=1` prints every answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, LeaseToken, Worker, WorkerOptions};
use reseolio_proto as pb;
use reseolio_proto::reseolio_server::Reseolio;
use reseolio_sidecar::Service;
use std::sync::OnceLock;
use std::time::Duration;
use tokio_stream::{Stream, StreamExt};
use tonic::codec::Codec;
use tonic::{Code, Request, Status, Streaming};

/// The function name of the jobs claimed for bit 0.
const CLAIM_NAME: &str = "fuzz-claim";
/// The schedule of bit 3.
const SCHEDULE_NAME: &str = "fuzz-schedule";
/// The longest any call may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// The process-wide engine and service.
struct World {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    svc: Service,
    /// Claims the bit-0 jobs; holds at most one, let go of at once.
    claimer: Worker,
    /// Kept so that the service never sees its stop signal.
    _stop: tokio::sync::watch::Sender<bool>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (engine, claimer) = rt.block_on(async {
            let engine = Engine::open_async("sqlite::memory:", EngineConfig::default())
                .await
                .expect("open sqlite::memory:");
            let claimer = engine
                .worker(WorkerOptions {
                    names: vec![CLAIM_NAME.into()],
                    concurrency: 1,
                    worker_id: Some("fuzz-claimer".into()),
                })
                .expect("worker");
            (engine, claimer)
        });
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let svc = Service::new(engine.clone(), 64, Duration::from_millis(50), stopping);
        World {
            rt,
            engine,
            svc,
            claimer,
            _stop: stop,
        }
    })
}

/// The real names the flags put into a request.
#[derive(Default)]
struct Subst {
    token: Option<String>,
    job_id: Option<String>,
    schedule: bool,
}

impl Subst {
    async fn new(w: &World, flags: u8) -> Subst {
        let mut s = Subst::default();
        let claimed = if flags & 1 != 0 { claim(w).await } else { None };
        if flags & 2 != 0 {
            s.token = claimed.as_ref().map(ToString::to_string);
        }
        if flags & 4 != 0 {
            s.job_id = match &claimed {
                Some(t) => Some(t.job_id.clone()),
                None => w
                    .engine
                    .enqueue("fuzz-pending", vec![], EnqueueOptions::default())
                    .await
                    .ok()
                    .map(|e| e.job_id),
            };
        }
        if flags & 8 != 0 {
            let spec = ScheduleSpec {
                name: SCHEDULE_NAME.into(),
                function: "fuzz-scheduled".into(),
                cron: "*/5 * * * *".into(),
                ..Default::default()
            };
            s.schedule = w.engine.schedule_declare(spec).await.is_ok();
        }
        s
    }
    fn token(&self, field: &mut String) {
        if let Some(t) = &self.token {
            t.clone_into(field);
        }
    }
    fn job(&self, field: &mut String) {
        if let Some(id) = &self.job_id {
            id.clone_into(field);
        }
    }
    fn schedule(&self, field: &mut String) {
        if self.schedule {
            SCHEDULE_NAME.clone_into(field);
        }
    }
}

/// Enqueues a job and claims it: a live lease, let go of by the claimer (the job stays RUNNING
/// under that lease until it lapses or someone completes it).
async fn claim(w: &World) -> Option<LeaseToken> {
    w.engine
        .enqueue(CLAIM_NAME, b"{}".to_vec(), EnqueueOptions::default())
        .await
        .ok()?;
    let task = tokio::time::timeout(Duration::from_secs(2), w.claimer.poll())
        .await
        .ok()?
        .ok()?;
    let token = task.token().clone();
    w.claimer.abandon(&token);
    Some(token)
}

/// With RESEOLIO_FUZZ_TRACE set, every call's answer is printed (to see which paths the seeds
/// reach).
fn trace(rpc: &str, answer: &dyn std::fmt::Debug) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("RESEOLIO_FUZZ_TRACE").is_some()) {
        eprintln!("{rpc}: {answer:?}");
    }
}

/// A failure a handler may give: any code but INTERNAL and UNKNOWN.
fn check(status: &Status) {
    assert!(
        !matches!(status.code(), Code::Internal | Code::Unknown),
        "a request was answered as a server fault: {status:?}"
    );
}

/// The messages of a stream's input: varint-length-prefixed chunks, each kept when it decodes as
/// `M`, framed as gRPC frames (uncompressed flag, big-endian length, message).
fn frames<M: Message + Default>(mut body: &[u8]) -> (Vec<M>, bytes::Bytes) {
    let mut messages = Vec::new();
    let mut framed = Vec::new();
    while !body.is_empty() {
        let Ok(len) = prost::encoding::decode_varint(&mut body) else {
            break;
        };
        let Some(chunk) = usize::try_from(len).ok().and_then(|n| body.get(..n)) else {
            break;
        };
        body = &body[chunk.len()..];
        if let Ok(m) = M::decode(chunk) {
            framed.push(0u8);
            framed.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            framed.extend_from_slice(chunk);
            messages.push(m);
        }
    }
    (messages, framed.into())
}

/// A request stream as tonic's server hands it to a handler.
fn inbound<M: Message + Default + Send + 'static>(framed: bytes::Bytes) -> Streaming<M> {
    let decoder = tonic_prost::ProstCodec::<M, M>::default().decoder();
    Streaming::new_request(decoder, http_body_util::Full::new(framed), None, None)
}

/// Reads a response stream until it ends (`idle` None) or until nothing came for `idle`,
/// checking every error it carries.
async fn drain<T: std::fmt::Debug>(
    rpc: &str,
    stream: impl Stream<Item = Result<T, Status>>,
    idle: Option<Duration>,
) {
    tokio::pin!(stream);
    loop {
        let next = match idle {
            None => stream.next().await,
            Some(d) => match tokio::time::timeout(d, stream.next()).await {
                Ok(next) => next,
                Err(_) => return,
            },
        };
        match next {
            None => return,
            Some(Ok(item)) => trace(rpc, &item),
            Some(Err(status)) => {
                trace(rpc, &status);
                check(&status)
            }
        }
    }
}

/// Decodes a unary request (or skips the input), applies the substitutions and calls the handler.
macro_rules! unary {
    ($svc:expr, $body:expr, $ty:ty, $method:ident) => {
        unary!($svc, $body, $ty, $method, |_m| ())
    };
    ($svc:expr, $body:expr, $ty:ty, $method:ident, |$m:ident| $fix:expr) => {{
        let Ok(mut request) = <$ty>::decode($body) else {
            return;
        };
        let fix = |$m: &mut $ty| $fix;
        fix(&mut request);
        match $svc.$method(Request::new(request)).await {
            // The answer must go back on the wire.
            Ok(answer) => {
                let answer = answer.into_inner();
                trace(stringify!($method), &answer);
                drop(answer.encode_to_vec());
            }
            Err(status) => {
                trace(stringify!($method), &status);
                check(&status);
            }
        }
    }};
}

async fn call(w: &World, rpc: u8, flags: u8, body: &[u8]) {
    let s = Subst::new(w, flags).await;
    let svc = &w.svc;
    match rpc % 23 {
        0 => unary!(svc, body, pb::EnqueueRequest, enqueue_job),
        1 => unary!(svc, body, pb::AckRequest, ack_job, |m| {
            s.token(&mut m.lease_token);
            s.job(&mut m.job_id)
        }),
        2 => unary!(svc, body, pb::GetJobRequest, get_job, |m| s
            .job(&mut m.job_id)),
        3 => unary!(svc, body, pb::CancelRequest, cancel_job, |m| s
            .job(&mut m.job_id)),
        4 => unary!(svc, body, pb::RetryRequest, retry_job, |m| s
            .job(&mut m.job_id)),
        5 => unary!(svc, body, pb::ListJobsRequest, list_jobs),
        6 => unary!(svc, body, pb::CreateScheduleRequest, create_schedule, |m| s
            .schedule(&mut m.name)),
        7 => unary!(svc, body, pb::GetScheduleRequest, get_schedule, |m| s
            .schedule(&mut m.schedule_id)),
        8 => unary!(svc, body, pb::ListSchedulesRequest, list_schedules),
        9 => unary!(svc, body, pb::UpdateScheduleRequest, update_schedule, |m| s
            .schedule(&mut m.schedule_id)),
        10 => unary!(svc, body, pb::PauseScheduleRequest, pause_schedule, |m| s
            .schedule(&mut m.schedule_id)),
        11 => unary!(svc, body, pb::ResumeScheduleRequest, resume_schedule, |m| s
            .schedule(&mut m.schedule_id)),
        12 => unary!(svc, body, pb::DeleteScheduleRequest, delete_schedule, |m| s
            .schedule(&mut m.schedule_id)),
        13 => unary!(svc, body, pb::HeartbeatRequest, heartbeat_job, |m| s
            .token(&mut m.lease_token)),
        14 => unary!(svc, body, pb::ListAttemptsRequest, list_attempts, |m| s
            .job(&mut m.job_id)),
        15 => unary!(svc, body, pb::GetLeaderRequest, get_leader),
        16 => unary!(
            svc,
            body,
            pb::TriggerScheduleRequest,
            trigger_schedule,
            |m| s.schedule(&mut m.schedule_id)
        ),
        17 => unary!(svc, body, pb::ListStepsRequest, list_steps, |m| s
            .job(&mut m.job_id)),
        18 => unary!(svc, body, pb::RecordStepRequest, record_step, |m| s
            .token(&mut m.lease_token)),
        19 => unary!(svc, body, pb::WaitStepRequest, wait_step, |m| s
            .token(&mut m.lease_token)),
        20 => unary!(svc, body, pb::SendEventRequest, send_event),
        21 => {
            let (messages, framed) = frames::<pb::PollRequest>(body);
            if messages.is_empty() {
                return;
            }
            match svc.poll_jobs(Request::new(inbound(framed))).await {
                // The stream ends by itself once its requests have ended.
                Ok(jobs) => drain("poll_jobs", jobs.into_inner(), None).await,
                Err(status) => {
                    trace("poll_jobs", &status);
                    check(&status)
                }
            }
        }
        _ => {
            let (mut messages, _) = frames::<pb::SubscribeRequest>(body);
            if messages.is_empty() {
                return;
            }
            if let (Some(first), Some(id)) = (messages.first_mut(), &s.job_id) {
                first.job_ids.push(id.clone());
            }
            let framed: Vec<u8> = messages
                .iter()
                .flat_map(|m| {
                    let bytes = m.encode_to_vec();
                    let mut frame = vec![0u8];
                    frame.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                    frame.extend_from_slice(&bytes);
                    frame
                })
                .collect();
            match svc
                .subscribe_to_jobs(Request::new(inbound(framed.into())))
                .await
            {
                // Completions of unfinished jobs never come: stop listening when it goes quiet.
                Ok(completions) => {
                    drain(
                        "subscribe_to_jobs",
                        completions.into_inner(),
                        Some(Duration::from_millis(20)),
                    )
                    .await
                }
                Err(status) => check(&status),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [rpc, flags, body @ ..] = data else {
        return;
    };
    let w = world();
    w.rt.block_on(async {
        tokio::time::timeout(ANSWER_WITHIN, call(w, *rpc, *flags, body))
            .await
            .unwrap_or_else(|_| panic!("RPC {} did not answer within {ANSWER_WITHIN:?}", rpc % 23))
    });
});
