//! The store conformance suite: the behaviour every [`Store`] backend must show, written once and
//! run against each backend with [`crate::store_conformance_tests!`].
//!
//! Each case takes a fresh, empty store. Times are explicit (`T0` onwards), so the cases do not
//! depend on the wall clock.

mod schedules;
mod stats;
mod steps;
pub use schedules::*;
pub use stats::*;
pub use steps::*;

use super::*;
use crate::error::ErrorKind;
use crate::job::{EnqueueOptions, FailureKind, JobStatus, Outcome};
use std::sync::Arc;

/// The time the cases start at.
pub const T0: i64 = 1_700_000_000_000;

fn insert_params(id: &str, name: &str, opts: EnqueueOptions) -> JobInsertParams {
    JobInsertParams {
        id: id.to_string(),
        name: name.to_string(),
        args: format!("[\"{id}\"]").into_bytes(),
        options: opts.resolve(T0).expect("valid options"),
        now_ms: T0,
        claim: None,
    }
}

async fn insert(s: &Arc<dyn Store>, id: &str, name: &str, opts: EnqueueOptions) {
    let r = s.job_insert(insert_params(id, name, opts)).await.unwrap();
    assert_eq!(r.job_id, id);
    assert!(!r.deduplicated);
}

async fn claim(
    s: &Arc<dyn Store>,
    names: &[&str],
    limit: u32,
    now: i64,
) -> Vec<crate::job::ClaimedJob> {
    s.job_claim_available(JobClaimParams {
        names: names.iter().map(|n| n.to_string()).collect(),
        limit,
        worker_id: "w1".into(),
        node_id: "n1".into(),
        now_ms: now,
    })
    .await
    .unwrap()
}

async fn get(s: &Arc<dyn Store>, id: &str) -> crate::job::Job {
    s.job_get(JobGetParams { id: id.into() }).await.unwrap()
}

fn no_jitter(max_attempts: i64) -> EnqueueOptions {
    EnqueueOptions {
        max_attempts: Some(max_attempts),
        jitter: Some(0.0),
        backoff: Some(crate::job::Backoff::Exponential),
        initial_delay_ms: Some(100),
        timeout_ms: Some(1000),
        ..Default::default()
    }
}

/// A job reads back exactly as inserted.
pub async fn insert_then_get_round_trips(s: Arc<dyn Store>) {
    let opts = EnqueueOptions {
        max_attempts: Some(5),
        priority: Some(7),
        delay_ms: Some(50),
        idempotency_key: Some("k1".into()),
        ..Default::default()
    };
    insert(&s, "a", "email", opts).await;
    let j = get(&s, "a").await;
    assert_eq!(j.name, "email");
    assert_eq!(j.args, b"[\"a\"]");
    assert_eq!(j.status, JobStatus::Pending);
    assert_eq!((j.attempt, j.max_attempts, j.priority), (0, 5, 7));
    assert_eq!(j.run_at, T0 + 50);
    assert_eq!(j.created_at, T0);
    assert_eq!(j.idempotency_key.as_deref(), Some("k1"));
    assert_eq!(j.timeout_ms, 30_000);
    assert!(j.result.is_none() && j.started_at.is_none() && j.completed_at.is_none());
}

/// A second insert with the same (name, key) returns the first job; another name does not clash.
pub async fn idempotency_key_deduplicates_per_name(s: Arc<dyn Store>) {
    let key = || EnqueueOptions {
        idempotency_key: Some("order-1".into()),
        ..Default::default()
    };
    insert(&s, "a", "charge", key()).await;
    let again = s
        .job_insert(insert_params("b", "charge", key()))
        .await
        .unwrap();
    assert_eq!(
        again,
        JobInsertResult {
            job_id: "a".into(),
            deduplicated: true,
            claimed: None
        }
    );
    let err = s
        .job_get(JobGetParams { id: "b".into() })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    insert(&s, "c", "refund", key()).await;
    let total = s.job_list(JobListParams::default()).await.unwrap().total;
    assert_eq!(total, 2);
}

/// An insert that asks for a claim claims a due new job in the same call, and only that.
pub async fn insert_can_claim_a_due_job_at_once(s: Arc<dyn Store>) {
    let claim = || {
        Some(InsertClaim {
            worker_id: "w9".into(),
            node_id: "n9".into(),
        })
    };
    let mut p = insert_params("now", "f", EnqueueOptions::default());
    p.claim = claim();
    let r = s.job_insert(p).await.unwrap();
    let c = r.claimed.expect("a due job is claimed");
    assert_eq!((c.token.job_id.as_str(), c.attempt), ("now", 1));
    let j = get(&s, "now").await;
    assert_eq!(
        (j.status, j.worker_id.as_deref()),
        (JobStatus::Running, Some("w9"))
    );
    let attempts = s
        .attempt_list(AttemptListParams {
            job_id: "now".into(),
        })
        .await
        .unwrap();
    assert_eq!((attempts.len(), attempts[0].node_id.as_str()), (1, "n9"));
    let mut later = insert_params(
        "later",
        "f",
        EnqueueOptions {
            delay_ms: Some(10),
            idempotency_key: Some("k".into()),
            ..Default::default()
        },
    );
    later.claim = claim();
    assert!(s.job_insert(later.clone()).await.unwrap().claimed.is_none());
    assert_eq!(get(&s, "later").await.status, JobStatus::Pending);
    later.id = "dup".into();
    let dup = s.job_insert(later).await.unwrap();
    assert!(dup.deduplicated && dup.claimed.is_none());
}

/// Unknown ids are NotFound everywhere.
pub async fn unknown_ids_are_not_found(s: Arc<dyn Store>) {
    let kind = |r: crate::Result<_>| r.map(|_: ()| ()).unwrap_err().kind();
    assert_eq!(
        kind(
            s.job_get(JobGetParams { id: "nope".into() })
                .await
                .map(|_| ())
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            s.job_cancel(JobCancelParams {
                id: "nope".into(),
                now_ms: T0
            })
            .await
            .map(|_| ())
        ),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(
            s.job_retry(JobRetryParams {
                id: "nope".into(),
                now_ms: T0
            })
            .await
            .map(|_| ())
        ),
        ErrorKind::NotFound
    );
    let complete = s
        .job_complete(JobCompleteParams {
            job_id: "nope".into(),
            lease: 1,
            outcome: Outcome::Success(vec![]),
            jitter_sample: 0.0,
            now_ms: T0,
        })
        .await;
    assert_eq!(kind(complete.map(|_| ())), ErrorKind::NotFound);
}

/// Claims take due jobs only, by priority then due time, filtered by name, each once.
pub async fn claim_order_due_time_names_and_exclusivity(s: Arc<dyn Store>) {
    insert(&s, "low", "f", EnqueueOptions::default()).await;
    insert(
        &s,
        "high",
        "f",
        EnqueueOptions {
            priority: Some(5),
            ..Default::default()
        },
    )
    .await;
    insert(
        &s,
        "later",
        "f",
        EnqueueOptions {
            delay_ms: Some(1000),
            ..Default::default()
        },
    )
    .await;
    insert(&s, "other", "g", EnqueueOptions::default()).await;
    let got = claim(&s, &["f"], 10, T0).await;
    let ids: Vec<_> = got.iter().map(|c| c.token.job_id.as_str()).collect();
    assert_eq!(ids, ["high", "low"]);
    assert_eq!(got[0].attempt, 1);
    assert_eq!(got[0].deadline_ms, T0 + 30_000);
    assert!(
        claim(&s, &["f"], 10, T0).await.is_empty(),
        "claimed jobs are not handed out twice"
    );
    let later = claim(&s, &["f"], 10, T0 + 1000).await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].token.job_id, "later");
    let any = claim(&s, &[], 1, T0).await;
    assert_eq!(any[0].token.job_id, "other");
    assert_eq!(get(&s, "high").await.status, JobStatus::Running);
    assert_eq!(get(&s, "high").await.worker_id.as_deref(), Some("w1"));
}

/// The claim limit is respected.
pub async fn claim_respects_limit(s: Arc<dyn Store>) {
    for i in 0..5 {
        insert(&s, &format!("j{i}"), "f", EnqueueOptions::default()).await;
    }
    assert_eq!(claim(&s, &[], 3, T0).await.len(), 3);
    assert_eq!(claim(&s, &[], 3, T0).await.len(), 2);
    assert_eq!(claim(&s, &[], 0, T0).await.len(), 0);
}

/// Success stores the result, finishes the attempt and ends the job.
pub async fn success_stores_result_and_attempt(s: Arc<dyn Store>) {
    insert(&s, "a", "f", EnqueueOptions::default()).await;
    let c = claim(&s, &[], 1, T0 + 5).await.remove(0);
    let r = s
        .job_complete(JobCompleteParams {
            job_id: "a".into(),
            lease: c.token.lease,
            outcome: Outcome::Success(b"42".to_vec()),
            jitter_sample: 0.0,
            now_ms: T0 + 9,
        })
        .await
        .unwrap();
    assert_eq!(r.status, JobStatus::Success);
    let j = get(&s, "a").await;
    assert_eq!(
        r.job.as_ref(),
        Some(&j),
        "a finished job comes back as stored"
    );
    assert_eq!(j.status, JobStatus::Success);
    assert_eq!(j.result.as_deref(), Some(&b"42"[..]));
    assert_eq!((j.started_at, j.completed_at), (Some(T0 + 5), Some(T0 + 9)));
    let attempts = s
        .attempt_list(AttemptListParams { job_id: "a".into() })
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome,
        Some(crate::job::AttemptOutcome::Success)
    );
    assert_eq!(
        (attempts[0].started_at, attempts[0].finished_at),
        (T0 + 5, Some(T0 + 9))
    );
    assert_eq!(attempts[0].worker_id, "w1");
}

/// Failures follow the backoff exactly, then DEAD with the last error kept.
pub async fn failures_back_off_then_die(s: Arc<dyn Store>) {
    insert(&s, "a", "f", no_jitter(3)).await;
    let mut now = T0;
    for (n, delay) in [(1u32, 100i64), (2, 200)] {
        let c = claim(&s, &[], 1, now).await.remove(0);
        assert_eq!(c.attempt, n);
        let r = s
            .job_complete(JobCompleteParams {
                job_id: "a".into(),
                lease: c.token.lease,
                outcome: Outcome::Failure {
                    error: format!("boom {n}"),
                    retryable: true,
                },
                jitter_sample: 0.0,
                now_ms: now,
            })
            .await
            .unwrap();
        assert_eq!(r.status, JobStatus::Failed);
        assert!(r.job.is_none(), "only finished jobs come back");
        assert_eq!(r.next_attempt, Some(n + 1));
        assert_eq!(r.next_run_at, Some(now + delay));
        assert!(
            claim(&s, &[], 1, now + delay - 1).await.is_empty(),
            "not due before its backoff"
        );
        now += delay;
    }
    let c = claim(&s, &[], 1, now).await.remove(0);
    let r = s
        .job_complete(JobCompleteParams {
            job_id: "a".into(),
            lease: c.token.lease,
            outcome: Outcome::Failure {
                error: "boom 3".into(),
                retryable: true,
            },
            jitter_sample: 0.0,
            now_ms: now,
        })
        .await
        .unwrap();
    assert_eq!((r.status, r.next_attempt), (JobStatus::Dead, None));
    let j = get(&s, "a").await;
    assert_eq!(r.job.as_ref(), Some(&j));
    assert_eq!(j.last_error.as_deref(), Some("boom 3"));
    assert_eq!(j.attempt, 3);
    assert_eq!(
        s.attempt_list(AttemptListParams { job_id: "a".into() })
            .await
            .unwrap()
            .len(),
        3
    );
}

/// A failure marked not retryable goes straight to DEAD.
pub async fn not_retryable_goes_dead(s: Arc<dyn Store>) {
    insert(&s, "a", "f", no_jitter(10)).await;
    let c = claim(&s, &[], 1, T0).await.remove(0);
    let r = s
        .job_complete(JobCompleteParams {
            job_id: "a".into(),
            lease: c.token.lease,
            outcome: Outcome::Failure {
                error: "bad input".into(),
                retryable: false,
            },
            jitter_sample: 0.0,
            now_ms: T0,
        })
        .await
        .unwrap();
    assert_eq!(r.status, JobStatus::Dead);
}

/// A token from an earlier claim is refused and changes nothing.
pub async fn stale_tokens_are_refused(s: Arc<dyn Store>) {
    insert(&s, "a", "f", no_jitter(3)).await;
    let first = claim(&s, &[], 1, T0).await.remove(0);
    // The lease lapses and the rescuer fails the attempt; a second claim takes the job.
    let rescued = s
        .job_rescue(JobRescueParams {
            now_ms: T0 + 1001,
            dead_node_ids: vec![],
            jitter_sample: 0.0,
        })
        .await
        .unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(
        (rescued[0].status, rescued[0].kind),
        (JobStatus::Failed, FailureKind::LeaseLost)
    );
    let second = claim(&s, &[], 1, T0 + 1101).await.remove(0);
    assert_eq!(second.attempt, 2);
    assert_ne!(second.token.lease, first.token.lease);
    let late = s
        .job_complete(JobCompleteParams {
            job_id: "a".into(),
            lease: first.token.lease,
            outcome: Outcome::Success(b"stale".to_vec()),
            jitter_sample: 0.0,
            now_ms: T0 + 1200,
        })
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
    assert!(late.message().contains("stale"), "{}", late.message());
    let j = get(&s, "a").await;
    assert_eq!(j.status, JobStatus::Running);
    assert!(j.result.is_none());
    let hb = s
        .job_heartbeat(JobHeartbeatParams {
            job_id: "a".into(),
            lease: first.token.lease,
            now_ms: T0 + 1200,
        })
        .await
        .unwrap_err();
    assert_eq!(hb.kind(), ErrorKind::Conflict);
}

/// Heartbeats push the lease out, so the rescuer leaves the job alone.
pub async fn heartbeat_extends_the_lease(s: Arc<dyn Store>) {
    insert(&s, "a", "f", no_jitter(3)).await;
    let c = claim(&s, &[], 1, T0).await.remove(0);
    let r = s
        .job_heartbeat(JobHeartbeatParams {
            job_id: "a".into(),
            lease: c.token.lease,
            now_ms: T0 + 900,
        })
        .await
        .unwrap();
    assert_eq!(
        r,
        JobHeartbeatResult::Extended {
            lease_expires_at: T0 + 1900
        }
    );
    let none = s
        .job_rescue(JobRescueParams {
            now_ms: T0 + 1500,
            dead_node_ids: vec![],
            jitter_sample: 0.0,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let some = s
        .job_rescue(JobRescueParams {
            now_ms: T0 + 1901,
            dead_node_ids: vec![],
            jitter_sample: 0.0,
        })
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    let j = get(&s, "a").await;
    assert_eq!(j.status, JobStatus::Failed);
    assert!(j.last_error.unwrap().contains("timed out"));
}

/// Jobs of a dead node are rescued whatever their lease says; the last attempt can make them DEAD.
pub async fn dead_node_jobs_are_rescued(s: Arc<dyn Store>) {
    insert(&s, "a", "f", no_jitter(3)).await;
    insert(&s, "b", "f", no_jitter(1)).await;
    claim(&s, &[], 2, T0).await;
    let r = s
        .job_rescue(JobRescueParams {
            now_ms: T0 + 1,
            dead_node_ids: vec!["other".into()],
            jitter_sample: 0.0,
        })
        .await
        .unwrap();
    assert!(r.is_empty(), "a live node's leases stand");
    let mut r = s
        .job_rescue(JobRescueParams {
            now_ms: T0 + 1,
            dead_node_ids: vec!["n1".into()],
            jitter_sample: 0.0,
        })
        .await
        .unwrap();
    r.sort_by(|x, y| x.job_id.cmp(&y.job_id));
    assert_eq!(
        r.iter().map(|x| x.status).collect::<Vec<_>>(),
        [JobStatus::Failed, JobStatus::Dead]
    );
    assert!(get(&s, "a").await.last_error.unwrap().contains("died"));
    let attempts = s
        .attempt_list(AttemptListParams { job_id: "a".into() })
        .await
        .unwrap();
    assert_eq!(
        attempts[0].outcome,
        Some(crate::job::AttemptOutcome::WorkerLost)
    );
}

/// Cancel and retry follow the state table.
pub async fn cancel_and_retry(s: Arc<dyn Store>) {
    insert(&s, "p", "f", EnqueueOptions::default()).await;
    insert(
        &s,
        "r",
        "f",
        EnqueueOptions {
            priority: Some(1),
            ..Default::default()
        },
    )
    .await;
    let c = claim(&s, &[], 1, T0).await.remove(0);
    assert_eq!(c.token.job_id, "r");
    assert_eq!(
        s.job_cancel(JobCancelParams {
            id: "p".into(),
            now_ms: T0
        })
        .await
        .unwrap()
        .status,
        JobStatus::Cancelled
    );
    assert!(
        claim(&s, &[], 5, T0).await.is_empty(),
        "a cancelled job never runs"
    );
    assert_eq!(
        s.job_cancel(JobCancelParams {
            id: "r".into(),
            now_ms: T0
        })
        .await
        .unwrap()
        .status,
        JobStatus::Cancelled
    );
    let hb = s
        .job_heartbeat(JobHeartbeatParams {
            job_id: "r".into(),
            lease: c.token.lease,
            now_ms: T0,
        })
        .await
        .unwrap();
    assert_eq!(hb, JobHeartbeatResult::Cancelled);
    let late = s
        .job_complete(JobCompleteParams {
            job_id: "r".into(),
            lease: c.token.lease,
            outcome: Outcome::Success(b"1".to_vec()),
            jitter_sample: 0.0,
            now_ms: T0,
        })
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
    assert_eq!(get(&s, "r").await.status, JobStatus::Cancelled);
    let again = s
        .job_cancel(JobCancelParams {
            id: "r".into(),
            now_ms: T0,
        })
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    let back = s
        .job_retry(JobRetryParams {
            id: "r".into(),
            now_ms: T0 + 10,
        })
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.attempt, back.run_at),
        (JobStatus::Pending, 0, T0 + 10)
    );
    let c2 = claim(&s, &[], 1, T0 + 10).await.remove(0);
    assert_eq!(c2.attempt, 1);
    assert!(
        c2.token.lease > c.token.lease,
        "fencing counters never repeat"
    );
    let not_dead = s
        .job_retry(JobRetryParams {
            id: "r".into(),
            now_ms: T0,
        })
        .await
        .unwrap_err();
    assert_eq!(not_dead.kind(), ErrorKind::Conflict);
}

/// A released job is due again at once and its attempt is not counted.
pub async fn release_hands_back(s: Arc<dyn Store>) {
    insert(&s, "a", "f", EnqueueOptions::default()).await;
    let c = claim(&s, &[], 1, T0).await.remove(0);
    s.job_release(JobReleaseParams {
        job_id: "a".into(),
        lease: c.token.lease,
        now_ms: T0 + 3,
    })
    .await
    .unwrap();
    let j = get(&s, "a").await;
    assert_eq!(
        (j.status, j.attempt, j.run_at),
        (JobStatus::Pending, 0, T0 + 3)
    );
    let again = claim(&s, &[], 1, T0 + 3).await.remove(0);
    assert_eq!(again.attempt, 1);
}

/// Lists filter, sort, page and count.
pub async fn list_filters_sorts_and_pages(s: Arc<dyn Store>) {
    for i in 0..6 {
        let mut p = insert_params(
            &format!("j{i}"),
            if i % 2 == 0 { "even" } else { "odd" },
            EnqueueOptions::default(),
        );
        p.now_ms = T0 + i;
        s.job_insert(p).await.unwrap();
    }
    claim(&s, &["odd"], 1, T0 + 10).await;
    let page = s
        .job_list(JobListParams {
            names: vec!["even".into()],
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(
        page.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["j4", "j2"]
    );
    let asc = s
        .job_list(JobListParams {
            ascending: true,
            offset: 1,
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        asc.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["j1", "j2"]
    );
    let running = s
        .job_list(JobListParams {
            statuses: vec![JobStatus::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((running.total, running.jobs[0].id.as_str()), (1, "j1"));
    let bad = s
        .job_list(JobListParams {
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
}

/// Pruning deletes finished jobs older than the cut-off, and nothing else.
pub async fn prune_deletes_old_finished_jobs_only(s: Arc<dyn Store>) {
    insert(
        &s,
        "done",
        "f",
        EnqueueOptions {
            priority: Some(1),
            ..Default::default()
        },
    )
    .await;
    insert(&s, "waiting", "f", EnqueueOptions::default()).await;
    insert(&s, "cancelled", "f", EnqueueOptions::default()).await;
    let c = claim(&s, &[], 1, T0).await.remove(0);
    assert_eq!(c.token.job_id, "done");
    s.job_complete(JobCompleteParams {
        job_id: "done".into(),
        lease: c.token.lease,
        outcome: Outcome::Success(vec![]),
        jitter_sample: 0.0,
        now_ms: T0,
    })
    .await
    .unwrap();
    s.job_cancel(JobCancelParams {
        id: "cancelled".into(),
        now_ms: T0 + 100,
    })
    .await
    .unwrap();
    assert_eq!(
        s.job_prune(JobPruneParams {
            completed_before_ms: T0,
            limit: 10
        })
        .await
        .unwrap(),
        0
    );
    assert_eq!(
        s.job_prune(JobPruneParams {
            completed_before_ms: T0 + 50,
            limit: 10
        })
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        s.job_get(JobGetParams { id: "done".into() })
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(s
        .attempt_list(AttemptListParams {
            job_id: "done".into()
        })
        .await
        .unwrap()
        .is_empty());
    assert_eq!(get(&s, "waiting").await.status, JobStatus::Pending);
    assert_eq!(get(&s, "cancelled").await.status, JobStatus::Cancelled);
}

/// Nodes register, refresh and go.
pub async fn nodes_register_refresh_and_delete(s: Arc<dyn Store>) {
    let node = |at| Node {
        id: "n1".into(),
        hostname: "h".into(),
        pid: 42,
        process_start: 7,
        heartbeat_at: at,
    };
    s.node_heartbeat(NodeHeartbeatParams { node: node(T0) })
        .await
        .unwrap();
    s.node_heartbeat(NodeHeartbeatParams { node: node(T0 + 5) })
        .await
        .unwrap();
    assert_eq!(s.node_list().await.unwrap(), vec![node(T0 + 5)]);
    s.node_delete(NodeDeleteParams {
        ids: vec!["n1".into()],
    })
    .await
    .unwrap();
    assert!(s.node_list().await.unwrap().is_empty());
}

/// One leader at a time: a live term is kept, renewed by its holder (keeping when it began),
/// taken over when it lapses or its node is dead, and ended by its holder only.
pub async fn leader_election_and_takeover(s: Arc<dyn Store>) {
    assert_eq!(s.leader_get().await.unwrap(), None);
    let elect = |node: &str, now_ms: i64, dead: &[&str]| LeaderElectParams {
        node_id: node.into(),
        now_ms,
        ttl_ms: 1000,
        dead_node_ids: dead.iter().map(|d| d.to_string()).collect(),
    };
    let leader = |node: &str, elected_at: i64, expires_at: i64| Leader {
        node_id: node.into(),
        elected_at,
        expires_at,
    };
    assert_eq!(
        s.leader_elect(elect("a", 1000, &[])).await.unwrap(),
        leader("a", 1000, 2000)
    );
    // A live term is not taken.
    assert_eq!(
        s.leader_elect(elect("b", 1500, &[])).await.unwrap(),
        leader("a", 1000, 2000)
    );
    // Its holder renews it.
    assert_eq!(
        s.leader_elect(elect("a", 1800, &[])).await.unwrap(),
        leader("a", 1000, 2800)
    );
    // A lapsed term is taken over.
    assert_eq!(
        s.leader_elect(elect("b", 2900, &[])).await.unwrap(),
        leader("b", 2900, 3900)
    );
    // A dead leader is replaced at once, whatever its term.
    assert_eq!(
        s.leader_elect(elect("c", 3000, &["b"])).await.unwrap(),
        leader("c", 3000, 4000)
    );
    assert_eq!(s.leader_get().await.unwrap(), Some(leader("c", 3000, 4000)));
    // Only the holder ends its term.
    s.leader_resign("a").await.unwrap();
    assert_eq!(s.leader_get().await.unwrap(), Some(leader("c", 3000, 4000)));
    s.leader_resign("c").await.unwrap();
    assert_eq!(s.leader_get().await.unwrap(), None);
}

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from `$make`
/// (an async expression giving `Arc<dyn Store>`). With `optional`, `$make` gives
/// `Option<Arc<dyn Store>>` and a case with `None` returns at once (a backend that needs a
/// server the environment does not name; the maker says that it skipped).
#[macro_export]
macro_rules! store_conformance_tests {
    (optional $make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            insert_then_get_round_trips,
            idempotency_key_deduplicates_per_name,
            insert_can_claim_a_due_job_at_once,
            unknown_ids_are_not_found,
            claim_order_due_time_names_and_exclusivity,
            claim_respects_limit,
            success_stores_result_and_attempt,
            failures_back_off_then_die,
            not_retryable_goes_dead,
            stale_tokens_are_refused,
            heartbeat_extends_the_lease,
            dead_node_jobs_are_rescued,
            cancel_and_retry,
            release_hands_back,
            list_filters_sorts_and_pages,
            prune_deletes_old_finished_jobs_only,
            nodes_register_refresh_and_delete,
            leader_election_and_takeover,
            schedule_declare_get_list_and_redeclare,
            schedule_update_pause_and_delete,
            schedule_fire_applies_once_per_tick,
            schedule_fire_overlap_and_skipped_ticks,
            stats_follow_transitions_and_bucket_finished_jobs,
            list_searches_by_id_or_idempotency_key,
            steps_record_in_order_and_refuse_changes,
            sleep_suspends_then_resumes_when_due,
            events_before_after_and_deadlines,
            child_waits_are_woken_by_the_child,
            retries_forget_failed_steps_and_prune_deletes
        );
    };
    ($make:expr) => {
        $crate::store_conformance_tests!(optional async { Some($make.await) });
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = $make.await else { return };
                $crate::store::conformance::$case(store.clone()).await;
                store.close().await;
            }
        )*
    };
}
