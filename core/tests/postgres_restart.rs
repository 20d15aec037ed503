//! A real server crash: the test starts a PostgreSQL cluster of its own (initdb in a temporary
//! directory, on a free port), runs an engine on it, and while 300 jobs are enqueued and run it
//! crashes the whole server with `pg_ctl stop -m immediate` (no checkpoint, no goodbye to the
//! clients: the next start replays the WAL), waits 5 s and starts it again. Every call caught by
//! the outage fails with Unavailable and is retried (an enqueue with the same idempotency key, so
//! that one which had in fact committed does not make a second job); no job is lost, none runs
//! twice, every one succeeds, and the table holds exactly the 300 jobs afterwards.
//!
//! Runs when RESEOLIO_TEST_POSTGRES_URL is set (as the other PostgreSQL tests, though it uses
//! only the server binaries, not that server); then the binaries (`initdb`, `pg_ctl` under
//! `/usr/lib/postgresql/*/bin`) must be installed, or it fails. As root it runs them as the
//! `postgres` OS user. The cluster is stopped by a guard, so none is left running on a panic.

mod common;

use reseolio_core::{Engine, EngineConfig, EnqueueOptions, ErrorKind, Outcome, WorkerOptions};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const JOBS: usize = 300;
/// The server is crashed once this many jobs were enqueued.
const CRASH_AT: usize = 100;
/// How long the server stays down.
const DOWN: Duration = Duration::from_secs(5);
/// The lease of each job. Shorter than the 30 s default only so that a job whose claim was
/// committed but never answered (see below) is rescued well within the test's time; far longer
/// than the outage, so no lease held across it lapses.
const LEASE_MS: i64 = 15_000;
/// The most any one call (or a pg_ctl) may take before the test calls it a hang.
const CALL_BOUND: Duration = Duration::from_secs(20);
/// The whole scenario, server start to final check.
const TEST_BOUND: Duration = Duration::from_secs(120);

/// The newest PostgreSQL server binaries installed, as Debian/Ubuntu lay them out.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A port nobody listens on now (taken and let go; good enough for a test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private PostgreSQL cluster in a temporary directory. Dropping it stops the server
/// (immediate mode) before the directory goes.
struct Cluster {
    bin: PathBuf,
    /// Run the tools as the `postgres` OS user (the test runs as root, which PostgreSQL refuses).
    as_postgres: bool,
    port: u16,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A command running one of the server's tools, as the right OS user.
    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        // The postgres user cannot necessarily read the test's working directory.
        c.current_dir(self.dir.path()).stdin(Stdio::null());
        c
    }

    /// Runs a tool to its end (bounded); panics with its output if it fails.
    async fn run(&self, name: &str, args: &[&str]) {
        let mut c = tokio::process::Command::from(self.tool(name));
        c.args(args).kill_on_drop(true);
        let out = tokio::time::timeout(CALL_BOUND, c.output())
            .await
            .unwrap_or_else(|_| panic!("{name} {args:?} did not finish within {CALL_BOUND:?}"))
            .unwrap_or_else(|e| panic!("{name} could not be started: {e}"));
        assert!(
            out.status.success(),
            "{name} {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// initdb: trust authentication, the superuser named `postgres`, listening on 127.0.0.1 at
    /// the chosen port and on a unix socket in the temporary directory.
    async fn create(bin: PathBuf) -> Cluster {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::Builder::new()
            .prefix("reseolio-pg-")
            .tempdir()
            .unwrap();
        if as_postgres {
            let out = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .output()
                .expect("chown could not be started");
            assert!(
                out.status.success(),
                "chown postgres {}: {}",
                dir.path().display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let cluster = Cluster {
            bin,
            as_postgres,
            port: free_port(),
            dir,
        };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            )
            .await;
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        use std::io::Write;
        writeln!(
            conf,
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             max_connections = 40\nshared_buffers = 32MB\nlc_messages = 'C'",
            cluster.port,
            cluster.dir.path().display()
        )
        .unwrap();
        cluster
    }

    /// Starts the server and waits until it accepts connections (after crash recovery, if the
    /// last stop was a crash).
    async fn start(&self) {
        let (data, log) = (self.data(), self.log());
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "15",
                "start",
            ],
        )
        .await;
    }

    /// Crashes the server: SIGQUIT to every process, no checkpoint, connections cut.
    async fn crash(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "-t",
                "15",
                "stop",
            ],
        )
        .await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Whatever happened, no server is left running. Fails harmlessly if it is not running;
        // bounded by pg_ctl's own -t.
        let data = self.data();
        let _ = self
            .tool("pg_ctl")
            .args(["-D", data.to_str().unwrap()])
            .args(["-m", "immediate", "-w", "-t", "10", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_crash_and_restart_loses_no_job_and_runs_none_twice() {
    if std::env::var("RESEOLIO_TEST_POSTGRES_URL").is_err() {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    }
    let bin = postgres_bin_dir().expect(
        "RESEOLIO_TEST_POSTGRES_URL is set but no PostgreSQL server binaries (initdb, pg_ctl) \
         were found under /usr/lib/postgresql/*/bin: this test needs them to crash a server of \
         its own",
    );
    let cluster = Cluster::create(bin).await;
    // Dropped on a timeout as on a panic: the guard stops the server either way.
    tokio::time::timeout(TEST_BOUND, scenario(&cluster))
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_BOUND:?}"));
}

/// What the calls met, counted by the test's producer and worker loop.
#[derive(Default)]
struct Tally {
    /// Runs of each job by the worker (handler starts).
    runs: HashMap<String, u32>,
    /// Enqueue calls answered Unavailable.
    enqueue_unavailable: u32,
    /// Complete calls answered Unavailable.
    complete_unavailable: u32,
    /// Retried enqueues answered `deduplicated`: the refused call had in fact committed.
    enqueue_committed_anyway: u32,
    /// Retried completions answered Conflict: the refused call had in fact been applied.
    complete_applied_anyway: u32,
    /// Answers the contract does not allow here (anything but Unavailable during the outage).
    unexpected: Vec<String>,
}

async fn scenario(cluster: &Cluster) {
    let started = Instant::now();
    cluster.start().await;
    let engine = Engine::open_async(&cluster.url(), EngineConfig::default())
        .await
        .unwrap();
    let tally: Arc<Mutex<Tally>> = Arc::default();

    // The worker loop: runs each job (20 ms), then completes it, retrying a completion the outage
    // refused, as the SDK worker loops do.
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["restart".into()],
                concurrency: 8,
                worker_id: None,
            })
            .unwrap(),
    );
    let running = tokio::spawn({
        let (worker, tally) = (worker.clone(), tally.clone());
        async move {
            loop {
                let Ok(task) = worker.poll().await else {
                    return;
                };
                *tally
                    .lock()
                    .unwrap()
                    .runs
                    .entry(task.token().job_id.clone())
                    .or_default() += 1;
                let (worker, tally) = (worker.clone(), tally.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let began = Instant::now();
                    let mut refused = false;
                    loop {
                        let r = tokio::time::timeout(
                            CALL_BOUND,
                            worker.complete(task.token(), Outcome::Success(b"null".to_vec())),
                        )
                        .await;
                        {
                            let mut t = tally.lock().unwrap();
                            match r {
                                Ok(Ok(_)) => return,
                                // Applied before the server went, answered never: done.
                                Ok(Err(e)) if e.kind() == ErrorKind::Conflict && refused => {
                                    t.complete_applied_anyway += 1;
                                    return;
                                }
                                Ok(Err(e)) if e.kind() == ErrorKind::Unavailable => {
                                    t.complete_unavailable += 1;
                                    refused = true;
                                }
                                Ok(Err(e)) => {
                                    t.unexpected.push(format!("complete: {e}"));
                                    return;
                                }
                                Err(_) => {
                                    t.unexpected.push("a complete call hung".into());
                                    return;
                                }
                            }
                            if began.elapsed() > Duration::from_secs(60) {
                                t.unexpected
                                    .push("a completion was refused for 60 s".into());
                                return;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            }
        }
    });

    // The producer: one enqueue every ~10 ms, each with its own idempotency key; an enqueue the
    // outage refused is retried with the same key.
    let enqueued = Arc::new(AtomicUsize::new(0));
    let producer = tokio::spawn({
        let (engine, tally, enqueued) = (engine.clone(), tally.clone(), enqueued.clone());
        async move {
            let mut ids: Vec<String> = Vec::with_capacity(JOBS);
            // The longest wait of one enqueue (first try to answer), and how each try ended.
            let mut longest = (Duration::ZERO, Vec::new());
            for i in 0..JOBS {
                let key = format!("restart:{i}");
                let began = Instant::now();
                let mut tries = Vec::new();
                let done = loop {
                    let tried = Instant::now();
                    let r = tokio::time::timeout(
                        CALL_BOUND,
                        engine.enqueue(
                            "restart",
                            b"[]".to_vec(),
                            EnqueueOptions {
                                idempotency_key: Some(key.clone()),
                                timeout_ms: Some(LEASE_MS),
                                ..Default::default()
                            },
                        ),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("an enqueue hung for {CALL_BOUND:?}"));
                    match r {
                        Ok(done) => {
                            tries.push(format!("ok after {:?}", tried.elapsed()));
                            break done;
                        }
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::Unavailable, "enqueue: {e}");
                            tries.push(format!("Unavailable after {:?}: {e}", tried.elapsed()));
                            tally.lock().unwrap().enqueue_unavailable += 1;
                        }
                    }
                    assert!(
                        began.elapsed() < Duration::from_secs(40),
                        "enqueue {i} was refused for 40 s: the engine did not recover"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                };
                if done.deduplicated {
                    assert!(
                        tries.len() > 1,
                        "a first enqueue of key {key} was deduplicated"
                    );
                    tally.lock().unwrap().enqueue_committed_anyway += 1;
                }
                if began.elapsed() > longest.0 {
                    longest = (began.elapsed(), tries);
                }
                ids.push(done.job_id);
                enqueued.store(i + 1, Ordering::Release);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (ids, longest)
        }
    });

    // The crash, once a third of the jobs are in: connections cut mid-call, the server down for
    // DOWN, then started again (crash recovery).
    let until = Instant::now() + Duration::from_secs(30);
    while enqueued.load(Ordering::Acquire) < CRASH_AT {
        assert!(
            Instant::now() < until,
            "the first {CRASH_AT} enqueues took 30 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let crashed = Instant::now();
    cluster.crash().await;
    tokio::time::sleep(DOWN).await;
    let restarting = Instant::now();
    cluster.start().await;
    let down_for = crashed.elapsed();
    let recovery = restarting.elapsed();

    let (ids, longest) = tokio::time::timeout(Duration::from_secs(60), producer)
        .await
        .expect("the producer did not finish within 60 s")
        .expect("the producer failed");
    let produced_at = started.elapsed();

    common::wait_all_succeeded(&engine, JOBS, Duration::from_secs(45)).await;
    let total = started.elapsed();
    running.abort();
    worker.shutdown(Duration::from_secs(1)).await;
    engine.shutdown().await;

    let t = std::mem::take(&mut *tally.lock().unwrap());
    eprintln!(
        "server crashed after {CRASH_AT} enqueues, down {down_for:?} (restart with crash \
         recovery: {recovery:?}); the longest enqueue waited {:?} over {} tries {:?}; Unavailable \
         answers: {} enqueues, {} completions; refused but committed anyway: {} enqueues \
         (deduplicated on retry), {} completions (Conflict on retry); all {JOBS} enqueued at \
         {produced_at:?}, all succeeded at {total:?}",
        longest.0,
        longest.1.len(),
        longest.1,
        t.enqueue_unavailable,
        t.complete_unavailable,
        t.enqueue_committed_anyway,
        t.complete_applied_anyway,
    );
    assert!(
        t.unexpected.is_empty(),
        "unexpected answers: {:?}",
        t.unexpected
    );
    assert!(
        t.enqueue_unavailable + t.complete_unavailable > 0,
        "no call met the outage: the test did not test anything"
    );
    let log = std::fs::read_to_string(cluster.log()).unwrap_or_default();
    assert!(
        log.contains("automatic recovery in progress"),
        "the restart ran crash recovery (server log: {})",
        cluster.log().display()
    );

    // Each key made one job, and each job ran exactly once. By the at-least-once contract
    // (docs/durability.md) a job runs again only when its attempt is counted lost: its lease
    // lapsed, or its node was declared dead. Neither happens here: the leases (15 s) outlast
    // the outage, and the only node is alive. A claim committed whose answer was lost (an
    // enqueue's own claim, or the fetcher's) leaves a job RUNNING that no handler got; it is
    // rescued when its lease lapses and then runs for the first time: once, attempt 2.
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        JOBS,
        "each idempotency key made its own job"
    );
    assert_eq!(t.runs.len(), JOBS, "every job ran");
    let twice: Vec<_> = t.runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "jobs ran more than once: {twice:?}");
    assert!(
        ids.iter().all(|id| t.runs.contains_key(id)),
        "the jobs run are the jobs enqueued"
    );

    // And what the table holds, read afresh after the engine is gone.
    let pool = sqlx::PgPool::connect(&cluster.url()).await.unwrap();
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT status, count(*), count(DISTINCT idempotency_key), \
         count(*) FILTER (WHERE attempt > 1) \
         FROM reseolio.reseolio_jobs GROUP BY status",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let later_attempts = rows.iter().map(|r| r.3).sum::<i64>();
    eprintln!(
        "jobs table after the run: {:?} (status, jobs, keys, jobs past attempt 1); {later_attempts} \
         jobs were claimed by a commit whose answer the crash lost and ran after their lease",
        rows
    );
    assert_eq!(
        rows.iter()
            .map(|(s, n, k, _)| (s.as_str(), *n, *k))
            .collect::<Vec<_>>(),
        vec![("SUCCESS", JOBS as i64, JOBS as i64)],
        "exactly the {JOBS} jobs, all SUCCESS"
    );
}
