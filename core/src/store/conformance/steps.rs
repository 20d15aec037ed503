//! The step and event cases of the store conformance suite: the journal (record, first record
//! wins, order changes refused, stale tokens refused), suspension on a wait (the job handed back
//! with its wake time, the attempt not counted), and the wake-ups (an event before or after the
//! wait, a deadline, a child's completion), and what retries and pruning do to steps.

use super::{claim, get, insert, no_jitter, T0};
use crate::error::ErrorKind;
use crate::job::{
    AttemptOutcome, ClaimedJob, JobStatus, LeaseToken, Outcome, Step, StepKind, StepOutcome,
    StepStatus, StepWait, StepWaitOutcome, WAKE_NEVER_MS,
};
use crate::store::*;
use std::sync::Arc;

async fn one(s: &Arc<dyn Store>, name: &str, now: i64) -> ClaimedJob {
    let mut c = claim(s, &[name], 1, now).await;
    assert_eq!(c.len(), 1, "one job of '{name}' is due at {now}");
    c.remove(0)
}

fn record(
    t: &LeaseToken,
    seq: u32,
    name: &str,
    outcome: StepOutcome,
    now: i64,
) -> StepRecordParams {
    StepRecordParams {
        job_id: t.job_id.clone(),
        lease: t.lease,
        seq,
        name: name.to_string(),
        outcome,
        attempts: 1,
        started_at: now - 5,
        now_ms: now,
    }
}

fn wait(t: &LeaseToken, seq: u32, name: &str, w: StepWait, now: i64) -> StepWaitParams {
    StepWaitParams {
        job_id: t.job_id.clone(),
        lease: t.lease,
        seq,
        name: name.to_string(),
        wait: w,
        now_ms: now,
    }
}

async fn steps(s: &Arc<dyn Store>, id: &str) -> Vec<Step> {
    s.step_list(StepListParams { job_id: id.into() })
        .await
        .unwrap()
}

fn done(o: StepWaitOutcome) -> Step {
    match o {
        StepWaitOutcome::Done(s) => s,
        other => panic!("expected the wait to be over, got {other:?}"),
    }
}

fn suspended(o: StepWaitOutcome) -> i64 {
    match o {
        StepWaitOutcome::Suspended { wake_at } => wake_at,
        other => panic!("expected a suspension, got {other:?}"),
    }
}

async fn complete(s: &Arc<dyn Store>, t: &LeaseToken, outcome: Outcome, now: i64) -> JobStatus {
    s.job_complete(JobCompleteParams {
        job_id: t.job_id.clone(),
        lease: t.lease,
        outcome,
        jitter_sample: 0.0,
        now_ms: now,
    })
    .await
    .unwrap()
    .status
}

/// Run steps are recorded in order and read back whole; the first record of a place wins; a
/// place recorded under another name or kind is refused as an order change; a stale token is
/// refused and writes nothing.
pub async fn steps_record_in_order_and_refuse_changes(s: Arc<dyn Store>) {
    insert(&s, "j", "flow", no_jitter(3)).await;
    let c = one(&s, "flow", T0).await;
    let t = &c.token;
    let a = s
        .step_record(record(
            t,
            0,
            "charge",
            StepOutcome::Success(b"{\"id\":7}".to_vec()),
            T0 + 10,
        ))
        .await
        .unwrap();
    assert_eq!(a.status, StepStatus::Success);
    assert_eq!(a.kind, StepKind::Run);
    assert_eq!(a.completed_at, Some(T0 + 10));
    let mut failed = record(
        t,
        1,
        "ship",
        StepOutcome::Failure("carrier down".into()),
        T0 + 20,
    );
    failed.attempts = 3;
    s.step_record(failed).await.unwrap();

    // The first record wins: a second record of the same place returns the first.
    let again = s
        .step_record(record(
            t,
            0,
            "charge",
            StepOutcome::Success(b"2".to_vec()),
            T0 + 30,
        ))
        .await
        .unwrap();
    assert_eq!(again.result.as_deref(), Some(&b"{\"id\":7}"[..]));
    assert_eq!(again.completed_at, Some(T0 + 10));

    // Another name at a recorded place is an order change.
    let e = s
        .step_record(record(
            t,
            0,
            "refund",
            StepOutcome::Success(vec![]),
            T0 + 40,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("step order changed"), "{e}");
    // So is another kind under the same name.
    let e = s
        .step_wait(wait(
            t,
            1,
            "ship",
            StepWait::Sleep { until_ms: T0 },
            T0 + 40,
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("step order changed"), "{e}");

    let list = steps(&s, "j").await;
    assert_eq!(list.len(), 2);
    assert_eq!((list[0].seq, list[0].name.as_str()), (0, "charge"));
    assert_eq!(list[1].status, StepStatus::Failed);
    assert_eq!(list[1].error.as_deref(), Some("carrier down"));
    assert_eq!(list[1].attempts, 3);
    assert_eq!(list[1].started_at, T0 + 15);

    // A stale token writes nothing.
    let stale = LeaseToken {
        job_id: "j".into(),
        lease: t.lease + 1,
    };
    let e = s
        .step_record(record(
            &stale,
            2,
            "late",
            StepOutcome::Success(vec![]),
            T0 + 50,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(steps(&s, "j").await.len(), 2);
    assert!(steps(&s, "unknown").await.is_empty());
}

/// A sleep that is not over suspends the job: PENDING until the wake time, the lease gone, the
/// attempt ended as suspended and not counted. Claimed again when due, the same wait is over,
/// even if the re-run asks for a later end (the first recorded end counts).
pub async fn sleep_suspends_then_resumes_when_due(s: Arc<dyn Store>) {
    insert(&s, "j", "nap", no_jitter(2)).await;
    let c = one(&s, "nap", T0).await;
    assert_eq!(c.attempt, 1);
    let until = T0 + 60_000;
    let wake = suspended(
        s.step_wait(wait(
            &c.token,
            0,
            "sleep",
            StepWait::Sleep { until_ms: until },
            T0 + 1,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(wake, until);
    let j = get(&s, "j").await;
    assert_eq!(j.status, JobStatus::Pending);
    assert_eq!(j.run_at, until);
    assert_eq!(j.attempt, 0, "a suspension does not count as an attempt");
    let attempts = s
        .attempt_list(AttemptListParams { job_id: "j".into() })
        .await
        .unwrap();
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Suspended));
    // Steps that ran in parallel with the wait still land, from the same lease, until the next
    // claim: a run step's record, and a parallel wait's own deadline, which moves the wake-up
    // earlier when it is first (and never later).
    s.step_record(record(
        &c.token,
        1,
        "beside",
        StepOutcome::Success(b"2".to_vec()),
        T0 + 2,
    ))
    .await
    .unwrap();
    let earlier = suspended(
        s.step_wait(wait(
            &c.token,
            2,
            "short",
            StepWait::Sleep {
                until_ms: T0 + 30_000,
            },
            T0 + 3,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(earlier, T0 + 30_000);
    let later = suspended(
        s.step_wait(wait(
            &c.token,
            3,
            "long",
            StepWait::Sleep {
                until_ms: T0 + 90_000,
            },
            T0 + 4,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(
        later,
        T0 + 30_000,
        "a later parallel wait does not push the wake-up back"
    );
    let j = get(&s, "j").await;
    assert_eq!(
        (j.status, j.run_at, j.attempt),
        (JobStatus::Pending, T0 + 30_000, 0)
    );
    let journal = steps(&s, "j").await;
    assert_eq!(journal.len(), 4);
    assert_eq!(journal[0].status, StepStatus::Waiting);
    assert_eq!(journal[0].wake_at, Some(until));
    assert_eq!(journal[1].status, StepStatus::Success);
    assert_eq!(journal[3].wake_at, Some(T0 + 90_000));

    // The short parallel sleep wakes the job first; its re-run suspends on the first sleep again.
    assert!(claim(&s, &["nap"], 1, T0 + 29_999).await.is_empty());
    let c1 = one(&s, "nap", T0 + 30_000).await;
    // Once claimed again, the old lease can write nothing.
    let e = s
        .step_record(record(
            &c.token,
            4,
            "x",
            StepOutcome::Success(vec![]),
            T0 + 30_001,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        suspended(
            s.step_wait(wait(
                &c1.token,
                0,
                "sleep",
                StepWait::Sleep { until_ms: 0 },
                T0 + 30_002
            ))
            .await
            .unwrap()
        ),
        until
    );

    assert!(claim(&s, &["nap"], 1, until - 1).await.is_empty());
    let c2 = one(&s, "nap", until).await;
    assert_eq!(c2.attempt, 1, "the resumed run is still the first attempt");
    // The re-run computes a later end from its own clock; the recorded one counts.
    let st = done(
        s.step_wait(wait(
            &c2.token,
            0,
            "sleep",
            StepWait::Sleep {
                until_ms: until + 60_000,
            },
            until + 5,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(st.status, StepStatus::Success);
    assert_eq!(st.completed_at, Some(until + 5));
    assert_eq!(st.started_at, T0 + 1);
    // Done is final: asking again returns the same record.
    let again = done(
        s.step_wait(wait(
            &c2.token,
            0,
            "sleep",
            StepWait::Sleep { until_ms: 0 },
            until + 9,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(again.completed_at, Some(until + 5));
    assert_eq!(
        complete(&s, &c2.token, Outcome::Success(b"1".to_vec()), until + 10).await,
        JobStatus::Success
    );
}

/// An event sent before the wait is received at once; one sent while the job is suspended wakes
/// it (due now) and the resumed wait receives the payload; a wait past its deadline fails with a
/// timeout error; a later send replaces the payload for later waits only.
pub async fn events_before_after_and_deadlines(s: Arc<dyn Store>) {
    // Before the wait.
    let r = s
        .event_send(EventSendParams {
            key: "approved:1".into(),
            payload: b"\"yes\"".to_vec(),
            now_ms: T0,
        })
        .await
        .unwrap();
    assert_eq!(r.woken, 0);
    insert(&s, "a", "flow", no_jitter(3)).await;
    let c = one(&s, "flow", T0).await;
    let ev = |key: &str, timeout: Option<i64>| StepWait::Event {
        key: key.into(),
        timeout_at_ms: timeout,
    };
    let st = done(
        s.step_wait(wait(
            &c.token,
            0,
            "event:approved:1",
            ev("approved:1", None),
            T0 + 1,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(st.result.as_deref(), Some(&b"\"yes\""[..]));

    // After the wait: suspended forever (no deadline) until the send.
    let wake = suspended(
        s.step_wait(wait(
            &c.token,
            1,
            "event:approved:2",
            ev("approved:2", None),
            T0 + 2,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(wake, WAKE_NEVER_MS);
    assert_eq!(get(&s, "a").await.run_at, WAKE_NEVER_MS);
    let r = s
        .event_send(EventSendParams {
            key: "approved:2".into(),
            payload: b"42".to_vec(),
            now_ms: T0 + 100,
        })
        .await
        .unwrap();
    assert_eq!(r.woken, 1);
    assert_eq!(get(&s, "a").await.run_at, T0 + 100);
    let c2 = one(&s, "flow", T0 + 100).await;
    let st = done(
        s.step_wait(wait(
            &c2.token,
            1,
            "event:approved:2",
            ev("approved:2", None),
            T0 + 101,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(st.result.as_deref(), Some(&b"42"[..]));
    assert_eq!(st.wait_key.as_deref(), Some("approved:2"));

    // A deadline: suspended until it, then the wait fails with a timeout.
    let wake = suspended(
        s.step_wait(wait(
            &c2.token,
            2,
            "event:never",
            ev("never", Some(T0 + 5_000)),
            T0 + 102,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(wake, T0 + 5_000);
    assert!(claim(&s, &["flow"], 1, T0 + 4_999).await.is_empty());
    let c3 = one(&s, "flow", T0 + 5_000).await;
    // The re-run passes a later deadline; the recorded one counts.
    let st = done(
        s.step_wait(wait(
            &c3.token,
            2,
            "event:never",
            ev("never", Some(T0 + 99_000)),
            T0 + 5_001,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(st.status, StepStatus::Failed);
    assert!(st
        .error
        .as_deref()
        .unwrap()
        .contains("timed out waiting for event 'never'"));

    // A second send replaces the payload for waits that come later; the recorded one stays.
    s.event_send(EventSendParams {
        key: "approved:2".into(),
        payload: b"43".to_vec(),
        now_ms: T0 + 6_000,
    })
    .await
    .unwrap();
    assert_eq!(steps(&s, "a").await[1].result.as_deref(), Some(&b"42"[..]));
    let st = done(
        s.step_wait(wait(
            &c3.token,
            3,
            "event:approved:2",
            ev("approved:2", None),
            T0 + 6_001,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(st.result.as_deref(), Some(&b"43"[..]));
}

/// A parent waiting on a child is suspended until the child finishes, whichever way: the child's
/// completion makes the parent due, and the wait returns the child's result, or fails naming
/// the child when it died or was cancelled. An unknown child is NotFound.
pub async fn child_waits_are_woken_by_the_child(s: Arc<dyn Store>) {
    insert(&s, "p", "parent", no_jitter(3)).await;
    insert(&s, "c1", "child", no_jitter(1)).await;
    insert(&s, "c2", "child", no_jitter(1)).await;
    insert(&s, "c3", "child", no_jitter(1)).await;
    let p = one(&s, "parent", T0).await;
    let child = |id: &str| StepWait::Child { job_id: id.into() };
    let e = s
        .step_wait(wait(&p.token, 0, "join:child", child("nope"), T0))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        suspended(
            s.step_wait(wait(&p.token, 0, "join:child", child("c1"), T0 + 1))
                .await
                .unwrap()
        ),
        WAKE_NEVER_MS
    );
    assert!(claim(&s, &["parent"], 1, T0 + 10).await.is_empty());
    // The child succeeds: the parent is due at that moment.
    let k = one(&s, "child", T0 + 10).await;
    assert_eq!(k.token.job_id, "c1");
    complete(&s, &k.token, Outcome::Success(b"\"one\"".to_vec()), T0 + 20).await;
    assert_eq!(get(&s, "p").await.run_at, T0 + 20);
    let p2 = one(&s, "parent", T0 + 20).await;
    let st = done(
        s.step_wait(wait(&p2.token, 0, "join:child", child("c1"), T0 + 21))
            .await
            .unwrap(),
    );
    assert_eq!(st.result.as_deref(), Some(&b"\"one\""[..]));

    // A child that dies fails the wait, naming it and its error.
    suspended(
        s.step_wait(wait(&p2.token, 1, "join:child", child("c2"), T0 + 22))
            .await
            .unwrap(),
    );
    let k = one(&s, "child", T0 + 30).await;
    let to = complete(
        &s,
        &k.token,
        Outcome::Failure {
            error: "boom".into(),
            retryable: true,
        },
        T0 + 31,
    )
    .await;
    assert_eq!(to, JobStatus::Dead);
    let p3 = one(&s, "parent", T0 + 31).await;
    let st = done(
        s.step_wait(wait(&p3.token, 1, "join:child", child("c2"), T0 + 32))
            .await
            .unwrap(),
    );
    assert_eq!(st.status, StepStatus::Failed);
    let err = st.error.unwrap();
    assert!(
        err.contains("child job 'c2' failed") && err.contains("boom"),
        "{err}"
    );

    // A cancelled child wakes its parent too.
    suspended(
        s.step_wait(wait(&p3.token, 2, "join:child", child("c3"), T0 + 33))
            .await
            .unwrap(),
    );
    s.job_cancel(JobCancelParams {
        id: "c3".into(),
        now_ms: T0 + 40,
    })
    .await
    .unwrap();
    let p4 = one(&s, "parent", T0 + 40).await;
    let st = done(
        s.step_wait(wait(&p4.token, 2, "join:child", child("c3"), T0 + 41))
            .await
            .unwrap(),
    );
    assert!(st.error.unwrap().contains("child job 'c3' was cancelled"));
}

/// A failed attempt that will be retried forgets its failed steps (the retry runs them again);
/// its succeeded steps stay. A job that dies keeps them (they show why); an explicit retry
/// forgets the failed ones. Pruning a job deletes its steps. A store never writes a
/// suspended outcome.
pub async fn retries_forget_failed_steps_and_prune_deletes(s: Arc<dyn Store>) {
    insert(&s, "j", "flow", no_jitter(2)).await;
    let c = one(&s, "flow", T0).await;
    s.step_record(record(
        &c.token,
        0,
        "a",
        StepOutcome::Success(b"1".to_vec()),
        T0 + 1,
    ))
    .await
    .unwrap();
    s.step_record(record(
        &c.token,
        1,
        "b",
        StepOutcome::Failure("no".into()),
        T0 + 2,
    ))
    .await
    .unwrap();
    let e = s
        .job_complete(JobCompleteParams {
            job_id: "j".into(),
            lease: c.token.lease,
            outcome: Outcome::Suspended,
            jitter_sample: 0.0,
            now_ms: T0 + 3,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let fail = Outcome::Failure {
        error: "step b failed".into(),
        retryable: true,
    };
    assert_eq!(
        complete(&s, &c.token, fail.clone(), T0 + 3).await,
        JobStatus::Failed
    );
    let left = steps(&s, "j").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "a");

    let c2 = one(&s, "flow", T0 + 10_000).await;
    s.step_record(record(
        &c2.token,
        1,
        "b",
        StepOutcome::Failure("still no".into()),
        T0 + 10_001,
    ))
    .await
    .unwrap();
    assert_eq!(
        complete(&s, &c2.token, fail, T0 + 10_002).await,
        JobStatus::Dead
    );
    assert_eq!(
        steps(&s, "j").await.len(),
        2,
        "a dead job keeps its failed step"
    );
    s.job_retry(JobRetryParams {
        id: "j".into(),
        now_ms: T0 + 20_000,
    })
    .await
    .unwrap();
    assert_eq!(
        steps(&s, "j").await.len(),
        1,
        "an explicit retry runs the failed step again"
    );

    let c3 = one(&s, "flow", T0 + 20_000).await;
    complete(&s, &c3.token, Outcome::Success(vec![]), T0 + 20_001).await;
    let pruned = s
        .job_prune(JobPruneParams {
            completed_before_ms: T0 + 30_000,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert!(steps(&s, "j").await.is_empty());
}
