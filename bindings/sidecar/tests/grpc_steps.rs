//! The step RPCs over real gRPC: the statuses of bad and stale calls, and a suspended job's
//! stream slot, freed by its `suspended` ack exactly once.

mod support;

use reseolio_core::StepStatus;
use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use std::time::Duration;
use support::{client, next_job, Setup, Sidecar};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;

async fn start() -> (Sidecar, ReseolioClient<Channel>) {
    let s = Sidecar::start(Setup {
        token: None,
        max_concurrent: 10,
        grace: Duration::from_secs(1),
        maintenance: None,
    })
    .await;
    let c = client(&s.url).await;
    (s, c)
}

async fn enqueue(c: &mut ReseolioClient<Channel>, name: &str) -> String {
    c.enqueue_job(support::enqueue(name, "[]"))
        .await
        .unwrap()
        .into_inner()
        .job_id
}

fn suspended_ack(job_id: &str, lease_token: &str) -> pb::AckRequest {
    pb::AckRequest {
        job_id: job_id.into(),
        result: Some(pb::AckResult {
            suspended: true,
            ..Default::default()
        }),
        lease_token: lease_token.into(),
    }
}

async fn no_job_within(jobs: &mut tonic::Streaming<pb::Job>, ms: u64) {
    let got = tokio::time::timeout(Duration::from_millis(ms), jobs.next()).await;
    assert!(got.is_err(), "a job arrived on a stream with no free slot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_ack_frees_the_streams_slot_once() {
    let (mut s, mut c) = start().await;
    let a = enqueue(&mut c, "f").await;
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::PollRequest {
        worker_id: String::new(),
        names: vec!["f".into()],
        concurrency: 1,
    })
    .await
    .unwrap();
    let mut jobs = c
        .poll_jobs(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let job = next_job(&mut jobs).await;
    assert_eq!(job.id, a);
    let b = enqueue(&mut c, "f").await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let until = now + 3_600_000;
    let r = c
        .wait_step(pb::WaitStepRequest {
            lease_token: job.lease_token.clone(),
            seq: 0,
            name: "nap".into(),
            wait: Some(pb::wait_step_request::Wait::SleepUntilMs(until)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.suspended, r.wake_at, r.step), (true, until, None));
    let steps = s.engine.steps(&a).await.unwrap();
    assert_eq!(steps[0].status, StepStatus::Waiting);
    // Suspended but not acked: the slot is still the handler's.
    no_job_within(&mut jobs, 300).await;

    // A v1 ack names only the job: a suspension must name its lease.
    let e = c.ack_job(suspended_ack(&a, "")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    no_job_within(&mut jobs, 200).await;

    let done = c
        .ack_job(suspended_ack(&a, &job.lease_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.new_status, pb::JobStatus::Pending as i32);
    assert_eq!(next_job(&mut jobs).await.id, b);
    // Acked again: nothing is written and no second slot is freed.
    c.ack_job(suspended_ack(&a, &job.lease_token))
        .await
        .unwrap();
    enqueue(&mut c, "f").await;
    no_job_within(&mut jobs, 300).await;
    let job_a = s.engine.get(&a).await.unwrap();
    assert_eq!(
        (job_a.status, job_a.run_at, job_a.attempt),
        (reseolio_core::JobStatus::Pending, until, 0)
    );
    drop(tx);
    s.serving.take().unwrap().stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_and_stale_step_calls_get_the_matching_status() {
    let (mut s, mut c) = start().await;
    let id = enqueue(&mut c, "f").await;
    let kind = |s: &tonic::Status| {
        s.metadata()
            .get("reseolio-error-kind")
            .map(|v| v.to_str().unwrap().to_string())
    };

    let e = c
        .list_steps(pb::ListStepsRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let listed = c
        .list_steps(pb::ListStepsRequest { job_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.steps.is_empty());

    let record = pb::RecordStepRequest {
        lease_token: format!("{id}/99"),
        seq: 0,
        name: "a".into(),
        outcome: Some(pb::record_step_request::Outcome::Result(b"1".to_vec())),
        attempts: 1,
        started_at: 1,
    };
    // The job is PENDING: no lease holds it.
    let e = c.record_step(record.clone()).await.unwrap_err();
    assert_eq!(
        (e.code(), kind(&e).as_deref()),
        (Code::FailedPrecondition, Some("conflict")),
        "{e:?}"
    );
    let e = c
        .record_step(pb::RecordStepRequest {
            outcome: None,
            ..record.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = c
        .record_step(pb::RecordStepRequest {
            lease_token: "garbage".into(),
            ..record
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    let e = c
        .wait_step(pb::WaitStepRequest {
            lease_token: format!("{id}/1"),
            seq: 0,
            name: "w".into(),
            wait: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    let e = c
        .send_event(pb::SendEventRequest {
            key: String::new(),
            payload: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let sent = c
        .send_event(pb::SendEventRequest {
            key: "k".into(),
            payload: b"1".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.woken, 0);
    s.serving.take().unwrap().stop().await.unwrap();
}
