//! The store conformance suite on PostgreSQL: the same cases as on SQLite, each in a schema of
//! its own. Reads RESEOLIO_TEST_POSTGRES_URL (CI sets it); without it every case says it was
//! skipped, and with it an unreachable server fails the case.

use reseolio_core::store::postgres::{PostgresConfig, PostgresStore};
use reseolio_core::store::Store;
use std::sync::Arc;

/// The server's URL, or None (the case is skipped, and says so).
fn server_url() -> Option<String> {
    let url = std::env::var("RESEOLIO_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
    }
    url
}

/// A store in a fresh schema of the test server.
async fn pg_store() -> Option<Arc<dyn Store>> {
    let url = server_url()?;
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let sep = if url.contains('?') { '&' } else { '?' };
    let config = PostgresConfig::parse(&format!("{url}{sep}schema={schema}")).unwrap();
    Some(Arc::new(PostgresStore::open(&config).await.unwrap()))
}

mod conformance {
    use super::*;
    reseolio_core::store_conformance_tests!(optional pg_store());
}

/// Opening: concurrent migration, a newer schema, and the ways a URL can be wrong.
mod open {
    use super::*;
    use reseolio_core::ErrorKind;

    fn with_schema(url: &str, schema: &str) -> PostgresConfig {
        let sep = if url.contains('?') { '&' } else { '?' };
        PostgresConfig::parse(&format!("{url}{sep}schema={schema}")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_nodes_starting_together_migrate_once() {
        let Some(url) = server_url() else { return };
        let config = with_schema(&url, &format!("t_{}", uuid::Uuid::now_v7().simple()));
        let opens = (0..10).map(|_| {
            let c = config.clone();
            tokio::spawn(async move { PostgresStore::open(&c).await })
        });
        let mut stores = Vec::new();
        for o in opens {
            stores.push(o.await.unwrap().unwrap());
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM reseolio_schema ORDER BY version")
                .fetch_all(stores[0].pool())
                .await
                .unwrap();
        assert_eq!(
            versions,
            (1..=reseolio_core::store::postgres::SCHEMA_VERSION).collect::<Vec<_>>(),
            "each migration applied once"
        );
        for s in stores {
            s.close().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_schema_from_a_newer_version_is_refused_and_left_alone() {
        let Some(url) = server_url() else { return };
        let config = with_schema(&url, &format!("t_{}", uuid::Uuid::now_v7().simple()));
        let store = PostgresStore::open(&config).await.unwrap();
        sqlx::query("INSERT INTO reseolio_schema (version, applied_at) VALUES (999, 0)")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
        let e = PostgresStore::open(&config).await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("version 999"), "{}", e.message());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_urls_fail_naming_the_problem() {
        let Some(url) = server_url() else { return };
        // The test server's host and port, with a database and a role that do not exist.
        let base = url.split('?').next().unwrap();
        let (scheme_user, host_db) = base.split_once('@').unwrap();
        let host = host_db.split('/').next().unwrap();
        let scheme = scheme_user.split("://").next().unwrap();
        let cases = [
            (
                format!("{base}_no_such_database_x"),
                ErrorKind::InvalidArgument,
                "does not exist",
            ),
            (
                format!("{scheme}://no_such_role_x@{host}/postgres"),
                ErrorKind::InvalidArgument,
                "no_such_role_x",
            ),
            (
                format!("{scheme}://postgres@127.0.0.1:1/postgres"),
                ErrorKind::Unavailable,
                "cannot be reached",
            ),
        ];
        for (url, kind, needle) in cases {
            let mut config = PostgresConfig::parse(&url).unwrap();
            config.acquire_timeout = std::time::Duration::from_secs(2);
            let e = PostgresStore::open(&config).await.err().unwrap();
            assert_eq!(e.kind(), kind, "{url}: {}", e.message());
            assert!(e.message().contains(needle), "{url}: {}", e.message());
        }
    }
}

/// PostgreSQL only: waits racing the sends and completions that end them, from many connections
/// at once. SQLite serialises every write; here READ COMMITTED transactions interleave, and a
/// wake-up that ran between a wait's check and its commit would leave the job suspended forever.
mod step_races {
    use super::*;
    use reseolio_core::store::{
        EventSendParams, JobCancelParams, JobClaimParams, JobCompleteParams, JobGetParams,
        JobInsertParams, StepListParams, StepWaitParams,
    };
    use reseolio_core::{
        ClaimedJob, EnqueueOptions, JobStatus, Outcome, StepStatus, StepWait, StepWaitOutcome,
        WAKE_NEVER_MS,
    };
    use std::time::Duration;
    use tokio::sync::Barrier;

    const T0: i64 = 1_700_000_000_000;
    const JOBS: usize = 200;

    /// A store in a fresh schema with enough connections for the races to interleave.
    async fn store() -> Option<Arc<PostgresStore>> {
        let url = server_url()?;
        let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
        let sep = if url.contains('?') { '&' } else { '?' };
        let config =
            PostgresConfig::parse(&format!("{url}{sep}schema={schema}&max_connections=40"))
                .unwrap();
        Some(Arc::new(PostgresStore::open(&config).await.unwrap()))
    }

    async fn insert(s: &PostgresStore, id: &str, name: &str) {
        let options = EnqueueOptions {
            max_attempts: Some(1),
            ..Default::default()
        };
        s.job_insert(JobInsertParams {
            id: id.into(),
            name: name.into(),
            args: b"[]".to_vec(),
            options: options.resolve(T0).unwrap(),
            now_ms: T0,
            claim: None,
        })
        .await
        .unwrap();
    }

    async fn claim_all(s: &PostgresStore, name: &str, n: usize) -> Vec<ClaimedJob> {
        let claimed = s
            .job_claim_available(JobClaimParams {
                names: vec![name.into()],
                limit: n as u32,
                worker_id: "w".into(),
                node_id: "n".into(),
                now_ms: T0,
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), n);
        claimed
    }

    /// Checks a waiter after the race: its wait either ended at once (`Done`, the step finished)
    /// or it was suspended and then woken (due by `now`). Returns whether it was suspended.
    async fn not_stuck(s: &PostgresStore, id: &str, outcome: &StepWaitOutcome, now: i64) -> bool {
        let job = s.job_get(JobGetParams { id: id.into() }).await.unwrap();
        let steps = s
            .step_list(StepListParams { job_id: id.into() })
            .await
            .unwrap();
        match outcome {
            StepWaitOutcome::Done(step) => {
                assert!(step.status.is_finished(), "{id}: {step:?}");
                assert_eq!(steps[0].status, step.status, "{id}: the recorded step");
                assert_eq!(job.status, JobStatus::Running, "{id}");
                false
            }
            StepWaitOutcome::Suspended { wake_at } => {
                assert_eq!(*wake_at, WAKE_NEVER_MS);
                assert_eq!(steps[0].status, StepStatus::Waiting, "{id}");
                assert_eq!(job.status, JobStatus::Pending, "{id}");
                assert!(
                    job.run_at <= now,
                    "{id} stayed suspended (run_at {}): its wake-up was lost",
                    job.run_at
                );
                true
            }
        }
    }

    /// Each of 200 jobs waits for its own event while the event is sent, all at once: every job
    /// either receives the event at once or is suspended and woken by the send; and each send
    /// reports the job it woke.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_event_sent_while_its_waiter_suspends_is_never_lost() {
        let Some(s) = store().await else { return };
        for i in 0..JOBS {
            insert(&s, &format!("e{i}"), "waits").await;
        }
        let claimed = claim_all(&s, "waits", JOBS).await;
        let start = Arc::new(Barrier::new(2 * JOBS));
        let mut waits = Vec::new();
        let mut sends = Vec::new();
        for c in claimed {
            let key = format!("key-{}", c.token.job_id);
            let (s1, b1, k1) = (s.clone(), start.clone(), key.clone());
            waits.push(tokio::spawn(async move {
                b1.wait().await;
                let out = s1
                    .step_wait(StepWaitParams {
                        job_id: c.token.job_id.clone(),
                        lease: c.token.lease,
                        seq: 0,
                        name: "event".into(),
                        wait: StepWait::Event {
                            key: k1,
                            timeout_at_ms: None,
                        },
                        now_ms: T0 + 1,
                    })
                    .await
                    .unwrap();
                (c.token.job_id, out)
            }));
            let (s2, b2) = (s.clone(), start.clone());
            sends.push(tokio::spawn(async move {
                b2.wait().await;
                s2.event_send(EventSendParams {
                    key,
                    payload: b"sent".to_vec(),
                    now_ms: T0 + 2,
                })
                .await
                .unwrap()
                .woken
            }));
        }
        let mut woken = 0;
        for send in sends {
            woken += send.await.unwrap();
        }
        let mut suspended = 0;
        for wait in waits {
            let (id, out) = wait.await.unwrap();
            if let StepWaitOutcome::Done(step) = &out {
                assert_eq!(step.result.as_deref(), Some(&b"sent"[..]), "{id}");
            }
            if not_stuck(&s, &id, &out, T0 + 2).await {
                suspended += 1;
            }
        }
        eprintln!("{suspended} of {JOBS} waits suspended before their event, {woken} woken");
        assert_eq!(
            woken, suspended,
            "each send woke exactly its suspended waiter"
        );
        s.close().await;
    }

    /// Each of 200 parents waits for its own child while the child finishes (a success through
    /// the batched completion, a failure to DEAD, or a cancel), all at once: every parent either
    /// sees the child finished at once or is suspended and woken by the child.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_child_finishing_while_its_parent_suspends_is_never_lost() {
        let Some(s) = store().await else { return };
        for i in 0..JOBS {
            insert(&s, &format!("p{i}"), "parent").await;
            insert(&s, &format!("c{i}"), "child").await;
        }
        let parents = claim_all(&s, "parent", JOBS).await;
        let children = claim_all(&s, "child", JOBS).await;
        let child_of = |parent: &str| format!("c{}", &parent[1..]);
        let start = Arc::new(Barrier::new(2 * JOBS));
        let mut waits = Vec::new();
        for p in parents {
            let (s1, b1, child) = (s.clone(), start.clone(), child_of(&p.token.job_id));
            waits.push(tokio::spawn(async move {
                b1.wait().await;
                let out = s1
                    .step_wait(StepWaitParams {
                        job_id: p.token.job_id.clone(),
                        lease: p.token.lease,
                        seq: 0,
                        name: "child".into(),
                        wait: StepWait::Child { job_id: child },
                        now_ms: T0 + 1,
                    })
                    .await
                    .unwrap();
                (p.token.job_id, out)
            }));
        }
        let mut finishes = Vec::new();
        for (i, c) in children.into_iter().enumerate() {
            let (s2, b2) = (s.clone(), start.clone());
            finishes.push(tokio::spawn(async move {
                b2.wait().await;
                let complete = |outcome| JobCompleteParams {
                    job_id: c.token.job_id.clone(),
                    lease: c.token.lease,
                    outcome,
                    jitter_sample: 0.0,
                    now_ms: T0 + 2,
                };
                match i % 3 {
                    0 => {
                        s2.job_complete(complete(Outcome::Success(b"r".to_vec())))
                            .await
                            .unwrap();
                    }
                    1 => {
                        s2.job_complete(complete(Outcome::Failure {
                            error: "boom".into(),
                            retryable: false,
                        }))
                        .await
                        .unwrap();
                    }
                    _ => {
                        s2.job_cancel(JobCancelParams {
                            id: c.token.job_id.clone(),
                            now_ms: T0 + 2,
                        })
                        .await
                        .unwrap();
                    }
                }
            }));
        }
        for f in finishes {
            f.await.unwrap();
        }
        let mut suspended = 0;
        for wait in waits {
            let (id, out) = wait.await.unwrap();
            if not_stuck(&s, &id, &out, T0 + 2).await {
                suspended += 1;
            }
        }
        eprintln!("{suspended} of {JOBS} parents suspended before their child finished");
        s.close().await;
    }

    /// The case the batched completion's wake-up must get right, made deterministic: a parent's
    /// wait holds the child's row FOR SHARE while the child's success is written; the completion
    /// statement starts (and takes its snapshot) before the parent suspends and commits, and is
    /// held up on the child's row until then. Its wake-up must still see the parent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batched_success_waiting_on_the_child_row_wakes_the_parent_that_held_it() {
        let Some(s) = store().await else { return };
        insert(&s, "p", "parent").await;
        insert(&s, "c", "child").await;
        claim_all(&s, "parent", 1).await;
        let child = claim_all(&s, "child", 1).await.remove(0);

        // What step_wait does for a child that has not finished, stopped before its commit.
        let mut tx = s.pool().begin().await.unwrap();
        let holder: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        for sql in [
            "SELECT 1 FROM reseolio_jobs WHERE id = 'p' FOR UPDATE",
            "SELECT 1 FROM reseolio_jobs WHERE id = 'c' FOR SHARE",
        ] {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        let completion = tokio::spawn({
            let s = s.clone();
            async move {
                s.job_complete(JobCompleteParams {
                    job_id: child.token.job_id.clone(),
                    lease: child.token.lease,
                    outcome: Outcome::Success(b"r".to_vec()),
                    jitter_sample: 0.0,
                    now_ms: T0 + 2,
                })
                .await
            }
        });
        // The completion is blocked on the child's row: its statement has begun.
        let blocked = async {
            loop {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                )
                .bind(holder)
                .fetch_one(s.pool())
                .await
                .unwrap();
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), blocked)
            .await
            .expect("the completion waits for the child's row");
        for sql in [
            "INSERT INTO reseolio_steps (job_id, seq, name, kind, status, attempts, started_at, \
             wait_key) VALUES ('p', 0, 'child', 'child', 'WAITING', 1, 0, 'c')",
            "UPDATE reseolio_jobs SET status = 'PENDING', attempt = attempt - 1, \
             run_at = 253402300799000, lease_expires_at = NULL, worker_id = NULL WHERE id = 'p'",
        ] {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        let done = completion.await.unwrap().unwrap();
        assert_eq!(done.status, JobStatus::Success);
        let parent = s.job_get(JobGetParams { id: "p".into() }).await.unwrap();
        assert_eq!(parent.status, JobStatus::Pending);
        assert_eq!(parent.run_at, T0 + 2, "the parent was woken");
        s.close().await;
    }
}
