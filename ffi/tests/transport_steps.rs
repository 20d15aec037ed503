//! Durable steps and events on every transport (embedded SQLite, embedded PostgreSQL, a sidecar
//! in-process, and the `reseolio` binary): the same journal, the same suspensions and wake-ups,
//! the same error kinds through the same Client API.

mod common;

use common::*;
use reseolio_ffi::{
    Client, ClientTask, ClientWorker, EnqueueOptions, ErrorKind, JobStatus, LeaseToken, Outcome,
    StepKind, StepOutcome, StepRecord, StepStatus, StepWait, StepWaitOutcome, WAKE_NEVER_MS,
};
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn run(seq: u32, name: &str, value: &[u8]) -> StepRecord {
    StepRecord {
        seq,
        name: name.into(),
        outcome: StepOutcome::Success(value.to_vec()),
        attempts: 1,
        started_at: now_ms(),
    }
}

/// The next claimed task within `secs`.
async fn next(w: &ClientWorker, secs: u64) -> ClientTask {
    tokio::time::timeout(Duration::from_secs(secs), w.poll())
        .await
        .unwrap_or_else(|_| panic!("no job claimed within {secs} s"))
        .unwrap()
}

/// Enqueues one job of `name` and claims it with a worker of concurrency 1.
async fn claim_one(c: &Client, name: &str) -> (String, ClientWorker, ClientTask) {
    let job = c
        .enqueue(name, b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let w = c.worker(vec![name.into()], 1).await.unwrap();
    let task = next(&w, 5).await;
    assert_eq!(task.token().job_id, job.job_id);
    (job.job_id, w, task)
}

/// The wait's outcome, which must be a suspension; its wake time.
fn suspended(o: StepWaitOutcome) -> i64 {
    match o {
        StepWaitOutcome::Suspended { wake_at } => wake_at,
        StepWaitOutcome::Done(s) => panic!("expected a suspension, got {s:?}"),
    }
}

fn done(o: StepWaitOutcome) -> reseolio_ffi::Step {
    match o {
        StepWaitOutcome::Done(s) => s,
        StepWaitOutcome::Suspended { wake_at } => {
            panic!("expected a finished wait, got a suspension until {wake_at}")
        }
    }
}

async fn a_run_step_is_recorded_and_listed_and_the_first_record_wins(c: Client) {
    let (id, w, task) = claim_one(&c, "charge").await;
    assert_eq!(c.steps(&id).await.unwrap(), vec![]);
    let t0 = now_ms();
    let first = c
        .step_record(
            task.token(),
            StepRecord {
                attempts: 2,
                started_at: t0,
                ..run(0, "charge-card", b"{\"id\":\"ch_1\"}")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (first.job_id.as_str(), first.seq, first.name.as_str()),
        (id.as_str(), 0, "charge-card")
    );
    assert_eq!(
        (first.kind, first.status, first.attempts, first.started_at),
        (StepKind::Run, StepStatus::Success, 2, t0)
    );
    assert_eq!(first.result.as_deref(), Some(&b"{\"id\":\"ch_1\"}"[..]));
    assert!(first.completed_at.is_some_and(|t| t >= t0), "{first:?}");
    assert_eq!((first.error.clone(), first.wait_key.clone()), (None, None));

    // The first record wins: a second outcome for the same place returns the first.
    let again = c
        .step_record(task.token(), run(0, "charge-card", b"\"other\""))
        .await
        .unwrap();
    assert_eq!(again, first);

    let failed = c
        .step_record(
            task.token(),
            StepRecord {
                outcome: StepOutcome::Failure("card declined".into()),
                attempts: 3,
                ..run(1, "notify", b"")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            failed.status,
            failed.error.as_deref(),
            failed.result.clone()
        ),
        (StepStatus::Failed, Some("card declined"), None)
    );
    assert_eq!(c.steps(&id).await.unwrap(), vec![first, failed]);

    let bad = c
        .step_record(
            task.token(),
            StepRecord {
                attempts: 0,
                ..run(2, "x", b"1")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument, "{bad}");
    let bad = c
        .step_record(task.token(), run(2, "", b"1"))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument, "{bad}");
    assert_eq!(
        c.steps("nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    w.complete(task.token(), Outcome::Success(b"1".to_vec()))
        .await
        .unwrap();
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn a_changed_step_order_and_a_stale_token_are_conflicts(c: Client) {
    let (id, w, task) = claim_one(&c, "order").await;
    c.step_record(task.token(), run(0, "a", b"1"))
        .await
        .unwrap();
    let e = c
        .step_record(task.token(), run(0, "b", b"1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.message().starts_with("step order changed"), "{e}");
    // Another kind at a recorded place is a changed order too.
    let e = c
        .step_wait(task.token(), 0, "a", StepWait::Sleep { until_ms: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.message().starts_with("step order changed"), "{e}");

    let stale = LeaseToken {
        job_id: id.clone(),
        lease: task.token().lease + 1,
    };
    let e = c.step_record(&stale, run(1, "c", b"1")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let e = c
        .step_wait(&stale, 1, "c", StepWait::Sleep { until_ms: 0 })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(c.steps(&id).await.unwrap().len(), 1, "nothing was written");

    // After the job finished, its token is stale as well.
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    let e = c
        .step_record(task.token(), run(1, "c", b"1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn a_sleep_suspends_then_resumes_done(c: Client) {
    let (id, w, task) = claim_one(&c, "nap").await;
    c.step_record(task.token(), run(0, "before", b"1"))
        .await
        .unwrap();
    let until = now_ms() + 300;
    let wake_at = suspended(
        c.step_wait(task.token(), 1, "nap", StepWait::Sleep { until_ms: until })
            .await
            .unwrap(),
    );
    assert_eq!(wake_at, until);
    w.complete(task.token(), Outcome::Suspended).await.unwrap();
    let job = c.get(&id).await.unwrap();
    assert_eq!(
        (job.status, job.run_at, job.attempt),
        (JobStatus::Pending, until, 0),
        "PENDING until the wake time, the attempt not counted"
    );
    let waiting = c.steps(&id).await.unwrap()[1].clone();
    assert_eq!(
        (waiting.kind, waiting.status, waiting.wake_at),
        (StepKind::Sleep, StepStatus::Waiting, Some(until))
    );
    // A step that ran beside the wait still lands from the suspending lease, until the next
    // claim; the job's state does not change.
    let beside = c
        .step_record(task.token(), run(2, "beside", b"1"))
        .await
        .unwrap();
    assert_eq!(beside.status, StepStatus::Success);
    assert_eq!(c.get(&id).await.unwrap().run_at, until);

    let again = next(&w, 5).await;
    // Claimed again: the old lease can write nothing more.
    let e = c
        .step_record(task.token(), run(3, "after", b"1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(now_ms() >= until, "not claimed before the sleep ended");
    assert_eq!(
        (again.token().job_id.as_str(), again.job().attempt),
        (id.as_str(), 1)
    );
    assert!(again.token().lease > task.token().lease);
    // The re-run replays its steps: the recorded one first, then the sleep, now over.
    let replay = c
        .step_record(again.token(), run(0, "before", b"2"))
        .await
        .unwrap();
    assert_eq!(replay.result.as_deref(), Some(&b"1"[..]));
    let slept = done(
        c.step_wait(
            again.token(),
            1,
            "nap",
            StepWait::Sleep {
                until_ms: now_ms() + 60_000,
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (slept.kind, slept.status, slept.wake_at),
        (StepKind::Sleep, StepStatus::Success, Some(until)),
        "the first recorded wake time counts"
    );
    w.complete(again.token(), Outcome::Success(b"\"ok\"".to_vec()))
        .await
        .unwrap();
    let job = c
        .await_result(&id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!((job.status, job.attempt), (JobStatus::Success, 1));
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn an_event_sent_before_the_wait_is_received_at_once(c: Client) {
    let key = "order-1:paid";
    assert_eq!(
        c.event_send(key, b"{\"amount\":3}".to_vec())
            .await
            .unwrap()
            .woken,
        0
    );
    let (id, w, task) = claim_one(&c, "ship").await;
    let got = done(
        c.step_wait(
            task.token(),
            0,
            "paid",
            StepWait::Event {
                key: key.into(),
                timeout_at_ms: None,
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        (got.kind, got.status, got.wait_key.as_deref()),
        (StepKind::Event, StepStatus::Success, Some(key))
    );
    assert_eq!(got.result.as_deref(), Some(&b"{\"amount\":3}"[..]));
    assert_eq!(c.steps(&id).await.unwrap(), vec![got]);

    for bad in ["", &"k".repeat(201)] {
        let e = c.event_send(bad, vec![]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let e = c
            .step_wait(
                task.token(),
                1,
                "e",
                StepWait::Event {
                    key: bad.to_string(),
                    timeout_at_ms: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn an_event_sent_after_suspension_wakes_the_job(c: Client) {
    let key = "approval:7";
    let wait = StepWait::Event {
        key: key.into(),
        timeout_at_ms: None,
    };
    let (id, w, task) = claim_one(&c, "approve").await;
    let wake_at = suspended(
        c.step_wait(task.token(), 0, "approved", wait.clone())
            .await
            .unwrap(),
    );
    assert_eq!(wake_at, WAKE_NEVER_MS);
    w.complete(task.token(), Outcome::Suspended).await.unwrap();
    let job = c.get(&id).await.unwrap();
    assert_eq!(
        (job.status, job.run_at),
        (JobStatus::Pending, WAKE_NEVER_MS)
    );

    let sent_at = Instant::now();
    let sent = c.event_send(key, b"\"yes\"".to_vec()).await.unwrap();
    assert_eq!(sent.woken, 1);
    let again = next(&w, 3).await;
    assert!(
        sent_at.elapsed() < Duration::from_secs(2),
        "claimed again soon after the event: {:?}",
        sent_at.elapsed()
    );
    assert_eq!(
        (again.token().job_id.as_str(), again.job().attempt),
        (id.as_str(), 1)
    );
    let got = done(
        c.step_wait(again.token(), 0, "approved", wait)
            .await
            .unwrap(),
    );
    assert_eq!(
        (got.status, got.result.as_deref()),
        (StepStatus::Success, Some(&b"\"yes\""[..]))
    );
    // A later send replaces the stored payload; the received one is kept.
    assert_eq!(
        c.event_send(key, b"\"no\"".to_vec()).await.unwrap().woken,
        0
    );
    assert_eq!(
        c.steps(&id).await.unwrap()[0].result.as_deref(),
        Some(&b"\"yes\""[..])
    );
    w.complete(again.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn an_event_wait_past_its_deadline_fails_with_a_timeout(c: Client) {
    let (id, w, task) = claim_one(&c, "deadline").await;
    let deadline = now_ms() + 300;
    let wait = StepWait::Event {
        key: "never-sent".into(),
        timeout_at_ms: Some(deadline),
    };
    let wake_at = suspended(
        c.step_wait(task.token(), 0, "reply", wait.clone())
            .await
            .unwrap(),
    );
    assert_eq!(wake_at, deadline);
    w.complete(task.token(), Outcome::Suspended).await.unwrap();
    let again = next(&w, 5).await;
    assert!(now_ms() >= deadline, "not claimed before the deadline");
    let timed_out = done(c.step_wait(again.token(), 0, "reply", wait).await.unwrap());
    assert_eq!(
        (timed_out.kind, timed_out.status, timed_out.result.clone()),
        (StepKind::Event, StepStatus::Failed, None)
    );
    let error = timed_out.error.clone().unwrap_or_default();
    assert!(error.contains("timed out"), "{error}");

    // A deadline already passed at the first call: done at once, FAILED.
    let past = done(
        c.step_wait(
            again.token(),
            1,
            "late",
            StepWait::Event {
                key: "never-sent".into(),
                timeout_at_ms: Some(now_ms() - 1),
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!(past.status, StepStatus::Failed);
    assert!(past.error.unwrap_or_default().contains("timed out"));
    assert_eq!(c.steps(&id).await.unwrap().len(), 2);
    w.complete(again.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn a_child_wait_resumes_with_the_childs_result(c: Client) {
    let child = c
        .enqueue("child", b"[2]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let (id, parents, task) = claim_one(&c, "parent").await;
    let wait = StepWait::Child {
        job_id: child.job_id.clone(),
    };
    let wake_at = suspended(
        c.step_wait(task.token(), 0, "child", wait.clone())
            .await
            .unwrap(),
    );
    assert_eq!(wake_at, WAKE_NEVER_MS);
    parents
        .complete(task.token(), Outcome::Suspended)
        .await
        .unwrap();
    // A wait beside the one that suspended the job is checked like any other (an unknown
    // child is NotFound) and, when not over, keeps the job suspended.
    let e = c
        .step_wait(
            task.token(),
            1,
            "x",
            StepWait::Child {
                job_id: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    let children = c.worker(vec!["child".into()], 1).await.unwrap();
    let ct = next(&children, 5).await;
    assert_eq!(ct.token().job_id, child.job_id);
    // Not woken before the child finished.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), parents.poll())
            .await
            .is_err(),
        "the parent ran before its child finished"
    );
    children
        .complete(ct.token(), Outcome::Success(b"4".to_vec()))
        .await
        .unwrap();
    let again = next(&parents, 3).await;
    assert_eq!(again.token().job_id, id);
    let got = done(c.step_wait(again.token(), 0, "child", wait).await.unwrap());
    assert_eq!(
        (got.kind, got.status, got.result.as_deref()),
        (StepKind::Child, StepStatus::Success, Some(&b"4"[..]))
    );
    assert_eq!(got.wait_key.as_deref(), Some(child.job_id.as_str()));
    let e = c
        .step_wait(
            again.token(),
            1,
            "ghost",
            StepWait::Child {
                job_id: "nope".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    parents
        .complete(again.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    parents.shutdown(Duration::from_secs(1)).await.unwrap();
    children.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn a_suspended_completion_frees_the_slot(c: Client) {
    let (id, w, task) = claim_one(&c, "slot").await;
    let other = c
        .enqueue("slot", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    suspended(
        c.step_wait(
            task.token(),
            0,
            "long",
            StepWait::Sleep {
                until_ms: now_ms() + 3_600_000,
            },
        )
        .await
        .unwrap(),
    );
    // The handler has not reported yet: its slot is still taken.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), w.poll())
            .await
            .is_err(),
        "a worker of concurrency 1 claimed a second job while holding one"
    );
    let r = w.complete(task.token(), Outcome::Suspended).await.unwrap();
    assert_eq!(r.status, JobStatus::Pending);
    let t2 = next(&w, 3).await;
    assert_eq!(t2.token().job_id, other.job_id);
    // A handler that reports a suspension no wait made is refused, and keeps its job.
    let e = w
        .complete(t2.token(), Outcome::Suspended)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("no step wait suspended it"), "{e}");
    assert_eq!(
        c.get(&other.job_id).await.unwrap().status,
        JobStatus::Running
    );
    w.complete(t2.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    // Reporting the suspension again changes nothing (the slot is not freed twice).
    w.complete(task.token(), Outcome::Suspended).await.unwrap();
    assert_eq!(c.get(&id).await.unwrap().status, JobStatus::Pending);
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

transport_conformance!(
    a_run_step_is_recorded_and_listed_and_the_first_record_wins,
    a_changed_step_order_and_a_stale_token_are_conflicts,
    a_sleep_suspends_then_resumes_done,
    an_event_sent_before_the_wait_is_received_at_once,
    an_event_sent_after_suspension_wakes_the_job,
    an_event_wait_past_its_deadline_fails_with_a_timeout,
    a_child_wait_resumes_with_the_childs_result,
    a_suspended_completion_frees_the_slot,
);

/// The same cases against the `reseolio` binary (skipped, with a note, when it is not built).
mod sidecar_binary {
    use super::*;

    macro_rules! on_the_binary {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(f) = sidecar_binary().await else { return };
                super::$case(f.client.clone()).await;
            }
        )*};
    }

    on_the_binary!(
        a_run_step_is_recorded_and_listed_and_the_first_record_wins,
        a_changed_step_order_and_a_stale_token_are_conflicts,
        a_sleep_suspends_then_resumes_done,
        an_event_sent_before_the_wait_is_received_at_once,
        an_event_sent_after_suspension_wakes_the_job,
        an_event_wait_past_its_deadline_fails_with_a_timeout,
        a_child_wait_resumes_with_the_childs_result,
        a_suspended_completion_frees_the_slot,
    );
}
