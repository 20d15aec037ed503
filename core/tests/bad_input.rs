//! Bad input through the engine's API and bad SQLite files: every option, config and worker
//! setting refused by name, payloads over the limit wherever one is written, wrong lease tokens,
//! and database files that are corrupt, truncated, read-only or on a full disk. Each case checks
//! the error's kind and words, and that what was stored is still there, unchanged.
//!
//! The read-only filesystem and full-disk cases mount a small tmpfs (root only; elsewhere they
//! print "skipped: ..." and pass). File modes do not bind root, so the permission cases re-run
//! themselves as `nobody` when the tests run as root.

use reseolio_core::job::Limits;
use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::store::{JobHeartbeatResult, JobListParams, ScheduleListParams};
use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, ErrorKind, JobStatus, LeaseToken, Outcome, StepOutcome,
    StepRecord, WorkerOptions,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn quick() -> EngineConfig {
    EngineConfig {
        poll_interval: Duration::from_millis(50),
        maintenance_interval: Duration::from_millis(100),
        ..Default::default()
    }
}

fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Asserts an error's kind and that its message contains every one of `needles`.
#[track_caller]
fn refused(e: &reseolio_core::Error, kind: ErrorKind, needles: &[&str]) {
    assert_eq!(e.kind(), kind, "{e}");
    for n in needles {
        assert!(e.message().contains(n), "'{}' lacks '{n}'", e.message());
    }
}

/// The files of `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A database file holding `n` jobs of `f` with known args, closed cleanly (no -wal left).
async fn database_with_jobs(path: &Path, n: usize) -> Vec<(String, Vec<u8>)> {
    let e = Engine::open(&url(path), quick()).unwrap();
    let mut jobs = Vec::new();
    for i in 0..n {
        let args = format!("[{i},\"{}\"]", "x".repeat(200)).into_bytes();
        let id = e
            .enqueue("f", args.clone(), EnqueueOptions::default())
            .await
            .unwrap()
            .job_id;
        jobs.push((id, args));
    }
    e.shutdown().await;
    jobs
}

/// Every stored job reads back with its args, PENDING.
async fn all_intact(e: &Engine, jobs: &[(String, Vec<u8>)]) {
    for (id, args) in jobs {
        let job = e.get(id).await.unwrap();
        assert_eq!(&job.args, args, "job {id}");
        assert_eq!(job.status, JobStatus::Pending, "job {id}");
    }
}

#[tokio::test]
async fn every_bad_enqueue_option_is_refused_by_name_and_nothing_is_stored() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let opts = |f: fn(&mut EnqueueOptions)| {
        let mut o = EnqueueOptions::default();
        f(&mut o);
        o
    };
    let long = "n".repeat(256);
    let cases: Vec<(&str, EnqueueOptions, &str)> = vec![
        ("", EnqueueOptions::default(), "name must not be empty"),
        (
            &long,
            EnqueueOptions::default(),
            "name is 256 bytes; the limit is 255",
        ),
        (
            "f",
            opts(|o| o.max_attempts = Some(0)),
            "max_attempts must be between 1 and 2147483647, got 0",
        ),
        (
            "f",
            opts(|o| o.max_attempts = Some(i64::from(i32::MAX) + 1)),
            "max_attempts must be between 1 and 2147483647, got 2147483648",
        ),
        (
            "f",
            opts(|o| o.initial_delay_ms = Some(-1)),
            "initial_delay_ms must be >= 0, got -1",
        ),
        (
            "f",
            opts(|o| o.max_delay_ms = Some(-1)),
            "max_delay_ms must be >= 0, got -1",
        ),
        (
            "f",
            opts(|o| o.jitter = Some(f64::NAN)),
            "jitter must be between 0.0 and 1.0, got NaN",
        ),
        (
            "f",
            opts(|o| o.jitter = Some(1.5)),
            "jitter must be between 0.0 and 1.0, got 1.5",
        ),
        (
            "f",
            opts(|o| o.timeout_ms = Some(0)),
            "timeout_ms must be between 1 and 2592000000 (30 days), got 0",
        ),
        (
            "f",
            opts(|o| o.timeout_ms = Some(2_592_000_001)),
            "timeout_ms must be between 1 and 2592000000 (30 days), got 2592000001",
        ),
        (
            "f",
            opts(|o| o.delay_ms = Some(-1)),
            "delay_ms must be >= 0, got -1",
        ),
        (
            "f",
            opts(|o| o.run_at_ms = Some(-1)),
            "run_at_ms must be >= 0, got -1",
        ),
        (
            "f",
            opts(|o| {
                o.delay_ms = Some(10);
                o.run_at_ms = Some(10);
            }),
            "give delay_ms or run_at_ms, not both",
        ),
        (
            "f",
            opts(|o| o.idempotency_key = Some(String::new())),
            "idempotency_key must not be empty",
        ),
        (
            "f",
            opts(|o| o.idempotency_key = Some("k".repeat(256))),
            "idempotency_key is 256 bytes; the limit is 255",
        ),
    ];
    for (name, o, message) in cases {
        let err = e.enqueue(name, b"[]".to_vec(), o).await.unwrap_err();
        refused(&err, ErrorKind::InvalidArgument, &[message]);
    }
    // Every extreme that is allowed is stored as given.
    let edge = e
        .enqueue(
            &"n".repeat(255),
            vec![],
            EnqueueOptions {
                max_attempts: Some(i64::from(i32::MAX)),
                priority: Some(i32::MIN),
                timeout_ms: Some(2_592_000_000),
                run_at_ms: Some(i64::MAX),
                idempotency_key: Some("k".repeat(255)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let job = e.get(&edge.job_id).await.unwrap();
    assert_eq!(
        (job.max_attempts, job.priority, job.run_at),
        (i32::MAX as u32, i32::MIN, i64::MAX)
    );
    assert_eq!(
        e.list(JobListParams::default()).await.unwrap().total,
        1,
        "no refused job was stored"
    );
    for limit in [0, 1001] {
        let err = e
            .list(JobListParams {
                limit,
                ..Default::default()
            })
            .await
            .unwrap_err();
        refused(
            &err,
            ErrorKind::InvalidArgument,
            &[&format!("limit must be between 1 and 1000, got {limit}")],
        );
    }
    e.shutdown().await;
}

#[tokio::test]
async fn a_bad_engine_config_or_worker_option_is_refused_by_name() {
    let bad: Vec<(EngineConfig, &str)> = vec![
        (
            EngineConfig {
                poll_interval: Duration::ZERO,
                ..Default::default()
            },
            "poll_interval must be > 0",
        ),
        (
            EngineConfig {
                maintenance_interval: Duration::ZERO,
                ..Default::default()
            },
            "maintenance_interval must be > 0",
        ),
        (
            EngineConfig {
                node_timeout: Duration::from_secs(2),
                ..Default::default()
            },
            "node_timeout (2s) must be at least 3 times maintenance_interval (1s)",
        ),
        (
            EngineConfig {
                leader_ttl: Duration::from_secs(1),
                ..Default::default()
            },
            "leader_ttl (1s) must be at least 2 times maintenance_interval (1s)",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    for (config, message) in bad {
        let err = Engine::open(&url(&path), config.clone()).err().unwrap();
        refused(&err, ErrorKind::InvalidArgument, &[message]);
        let err = Engine::open_async("sqlite::memory:", config)
            .await
            .err()
            .unwrap();
        refused(&err, ErrorKind::InvalidArgument, &[message]);
    }
    assert!(!path.exists(), "a refused config creates no database");

    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let worker = |names: Vec<String>, concurrency: u32, worker_id: Option<String>| {
        e.worker(WorkerOptions {
            names,
            concurrency,
            worker_id,
        })
        .err()
        .unwrap()
    };
    refused(
        &worker(vec![], 0, None),
        ErrorKind::InvalidArgument,
        &["concurrency must be >= 1, got 0"],
    );
    refused(
        &worker(vec!["ok".into(), String::new()], 1, None),
        ErrorKind::InvalidArgument,
        &["name must not be empty"],
    );
    refused(
        &worker(vec!["n".repeat(256)], 1, None),
        ErrorKind::InvalidArgument,
        &["name is 256 bytes; the limit is 255"],
    );
    refused(
        &worker(vec![], 1, Some(String::new())),
        ErrorKind::InvalidArgument,
        &["worker_id must be 1 to 255 bytes, got 0"],
    );
    refused(
        &worker(vec![], 1, Some("w".repeat(256))),
        ErrorKind::InvalidArgument,
        &["worker_id must be 1 to 255 bytes, got 256"],
    );
    let w = e.worker(WorkerOptions::default()).unwrap();
    refused(
        &w.set_names(vec![String::new()]).unwrap_err(),
        ErrorKind::InvalidArgument,
        &["name must not be empty"],
    );
    w.shutdown(Duration::ZERO).await;
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_over_the_limit_are_refused_wherever_they_are_written() {
    let e = Engine::open(
        "sqlite::memory:",
        EngineConfig {
            limits: Limits {
                max_payload_bytes: 16,
            },
            ..quick()
        },
    )
    .unwrap();
    let big = vec![b'x'; 17];
    refused(
        &e.enqueue("f", big.clone(), EnqueueOptions::default())
            .await
            .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["args is 17 bytes; the limit is 16 bytes"],
    );
    let job = e
        .enqueue("f", vec![b'a'; 16], EnqueueOptions::default())
        .await
        .unwrap();
    let w = e
        .worker(WorkerOptions {
            names: vec!["f".into()],
            ..Default::default()
        })
        .unwrap();
    let task = w.poll().await.unwrap();
    refused(
        &w.complete(task.token(), Outcome::Success(big.clone()))
            .await
            .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["result is 17 bytes; the limit is 16 bytes"],
    );
    refused(
        &w.complete(
            task.token(),
            Outcome::Failure {
                error: "e".repeat(17),
                retryable: true,
            },
        )
        .await
        .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["error is 17 bytes; the limit is 16 bytes"],
    );
    let step = |outcome| StepRecord {
        seq: 0,
        name: "s".into(),
        outcome,
        attempts: 1,
        started_at: 0,
    };
    refused(
        &e.step_record(task.token(), step(StepOutcome::Success(big.clone())))
            .await
            .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["step result is 17 bytes; the limit is 16 bytes"],
    );
    refused(
        &e.step_record(task.token(), step(StepOutcome::Failure("e".repeat(17))))
            .await
            .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["step error is 17 bytes; the limit is 16 bytes"],
    );
    refused(
        &e.event_send("k", big.clone()).await.unwrap_err(),
        ErrorKind::InvalidArgument,
        &["event payload is 17 bytes; the limit is 16 bytes"],
    );
    refused(
        &e.schedule_declare(ScheduleSpec {
            name: "s".into(),
            function: "f".into(),
            cron: "* * * * *".into(),
            args: big.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        ErrorKind::InvalidArgument,
        &["args is 17 bytes; the limit is 16 bytes"],
    );
    // The refused reports changed nothing: the attempt is still running, and can still end.
    let still = e.get(&job.job_id).await.unwrap();
    assert_eq!(
        (still.status, still.attempt, still.result, still.last_error),
        (JobStatus::Running, 1, None, None)
    );
    assert!(e.steps(&job.job_id).await.unwrap().is_empty());
    w.complete(task.token(), Outcome::Success(vec![b'r'; 16]))
        .await
        .unwrap();
    let done = e.get(&job.job_id).await.unwrap();
    assert_eq!(
        (done.status, done.result),
        (JobStatus::Success, Some(vec![b'r'; 16]))
    );
    w.shutdown(Duration::ZERO).await;
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_lease_tokens_are_refused_and_change_nothing() {
    for bad in [
        "",
        "garbage",
        "/3",
        "job/",
        "job/x",
        "job/1.5",
        "job/99999999999999999999",
    ] {
        let err = bad.parse::<LeaseToken>().unwrap_err();
        refused(
            &err,
            ErrorKind::InvalidArgument,
            &[&format!(
                "lease token must look like '<job_id>/<lease>', got '{bad}'"
            )],
        );
    }
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let job = e
        .enqueue("f", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap()
        .job_id;
    let token = |lease| LeaseToken {
        job_id: job.clone(),
        lease,
    };
    // Not claimed yet: no token holds it.
    refused(
        &e.complete(&token(0), Outcome::Success(vec![]))
            .await
            .unwrap_err(),
        ErrorKind::Conflict,
        &[&format!("stale lease token for job '{job}'"), "PENDING"],
    );
    let w = e
        .worker(WorkerOptions {
            names: vec!["f".into()],
            concurrency: 2,
            worker_id: None,
        })
        .unwrap();
    let first = w.poll().await.unwrap();
    assert_eq!(first.token(), &token(1));
    let wrong = token(99);
    let claimed_again = "the job was claimed again since (lease 1 now, the token is for lease 99)";
    refused(
        &e.complete(&wrong, Outcome::Success(vec![]))
            .await
            .unwrap_err(),
        ErrorKind::Conflict,
        &[claimed_again, "nothing was changed"],
    );
    refused(
        &e.heartbeat(&wrong).await.unwrap_err(),
        ErrorKind::Conflict,
        &[claimed_again],
    );
    let unknown = LeaseToken {
        job_id: "no-such-job".into(),
        lease: 1,
    };
    refused(
        &e.complete(&unknown, Outcome::Success(vec![]))
            .await
            .unwrap_err(),
        ErrorKind::NotFound,
        &["no job with id 'no-such-job'"],
    );
    refused(
        &e.heartbeat(&unknown).await.unwrap_err(),
        ErrorKind::NotFound,
        &["no-such-job"],
    );
    // The attempt those tokens named is untouched, and its own token still works.
    let held = e.get(&job).await.unwrap();
    assert_eq!((held.status, held.attempt), (JobStatus::Running, 1));
    assert!(!first.is_cancelled());
    assert!(matches!(
        w.heartbeat(first.token()).await.unwrap(),
        JobHeartbeatResult::Extended { .. }
    ));
    // Claimed again (cancelled, retried, claimed): the first token is stale.
    e.cancel(&job).await.unwrap();
    e.retry(&job).await.unwrap();
    let second = w.poll().await.unwrap();
    assert_eq!(second.token(), &token(2));
    refused(
        &w.complete(first.token(), Outcome::Success(b"late".to_vec()))
            .await
            .unwrap_err(),
        ErrorKind::Conflict,
        &["the job was claimed again since (lease 2 now, the token is for lease 1)"],
    );
    w.complete(second.token(), Outcome::Success(b"1".to_vec()))
        .await
        .unwrap();
    // Finished: its own token is stale too, and the result stands.
    refused(
        &e.complete(&token(2), Outcome::Success(b"again".to_vec()))
            .await
            .unwrap_err(),
        ErrorKind::Conflict,
        &["the job is SUCCESS now"],
    );
    let done = e.get(&job).await.unwrap();
    assert_eq!(
        (done.status, done.result.as_deref()),
        (JobStatus::Success, Some(&b"1"[..]))
    );
    w.shutdown(Duration::ZERO).await;
    e.shutdown().await;
}

/// Deterministic bytes that no format recognises.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_is_refused_naming_it_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut header_then_garbage = b"SQLite format 3\0".to_vec();
    header_then_garbage.extend(garbage(16 * 1024));
    let cases: Vec<(&str, Vec<u8>, ErrorKind, &str)> = vec![
        (
            "garbage.db",
            garbage(64 * 1024),
            ErrorKind::InvalidArgument,
            "is not a SQLite database",
        ),
        (
            "text.db",
            b"id,name\n1,ada\n".to_vec(),
            ErrorKind::InvalidArgument,
            "is not a SQLite database",
        ),
        (
            "header.db",
            header_then_garbage,
            ErrorKind::InvalidArgument,
            "is not a SQLite database",
        ),
    ];
    for (name, bytes, kind, words) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        for open in [
            Engine::open(&url(&path), quick()).err().unwrap(),
            Engine::open_async(&url(&path), quick())
                .await
                .err()
                .unwrap(),
        ] {
            refused(&open, kind, &[&format!("'{}'", path.display()), words]);
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_database_is_refused_naming_it_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.db");
    database_with_jobs(&path, 1000).await;
    let whole = std::fs::read(&path).unwrap();
    assert!(whole.len() > 64 * 4096, "{} bytes", whole.len());
    for cut in [50, 100, 4096, 3 * 4096, whole.len() / 2, whole.len() - 4096] {
        std::fs::write(&path, &whole[..cut]).unwrap();
        let err = Engine::open(&url(&path), quick()).err().unwrap();
        refused(
            &err,
            ErrorKind::Internal,
            &[
                &format!("'{}'", path.display()),
                "corrupt",
                "database disk image is malformed",
            ],
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            &whole[..cut],
            "cut at {cut}: the file was changed"
        );
    }
    // An empty file is an empty database: it is set up as a new one.
    std::fs::write(&path, b"").unwrap();
    let e = Engine::open(&url(&path), quick()).unwrap();
    assert_eq!(e.list(JobListParams::default()).await.unwrap().total, 0);
    e.shutdown().await;
}

/// Overwrites the root page of the jobs table (found in the schema) with garbage.
fn damage_the_jobs_table(path: &Path) -> Vec<u8> {
    let (root, page): (i64, i64) = {
        let c = rusqlite::Connection::open(path).unwrap();
        let root = c
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'reseolio_jobs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let page = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        (root, page)
    };
    let mut bytes = std::fs::read(path).unwrap();
    let at = ((root - 1) * page) as usize;
    bytes[at..at + page as usize].copy_from_slice(&garbage(page as usize));
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_table_fails_each_call_that_reads_it_clearly_and_the_rest_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    let jobs = database_with_jobs(&path, 300).await;
    {
        let e = Engine::open(&url(&path), quick()).unwrap();
        e.schedule_declare(ScheduleSpec {
            name: "nightly".into(),
            function: "f".into(),
            cron: "0 3 * * *".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        e.shutdown().await;
    }
    damage_the_jobs_table(&path);
    // Open reads the header, the schema and the migrations table, not every page: a file
    // damaged deeper opens, and each call that reads a damaged page fails naming the cause.
    let e = Engine::open(&url(&path), quick()).unwrap();
    let corrupt = [
        "the SQLite database file is corrupt",
        "database disk image is malformed",
    ];
    refused(
        &e.get(&jobs[0].0).await.unwrap_err(),
        ErrorKind::Internal,
        &corrupt,
    );
    refused(
        &e.list(JobListParams::default()).await.unwrap_err(),
        ErrorKind::Internal,
        &corrupt,
    );
    refused(
        &e.enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap_err(),
        ErrorKind::Internal,
        &corrupt,
    );
    // The schedules live in pages of their own and still read.
    let s = e.schedule_get("nightly").await.unwrap();
    assert_eq!(s.cron, "0 3 * * *");
    assert_eq!(
        e.schedule_list(ScheduleListParams::default())
            .await
            .unwrap()
            .total,
        1
    );
    e.shutdown().await;
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "2m"), or says why the test is skipped.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { path, _dir: dir }),
            Ok(o) => {
                eprintln!(
                    "skipped: mounting a tmpfs is not permitted here ({})",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: no mount command ({e})");
                None
            }
        }
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remount {options}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_on_a_read_only_filesystem_is_refused_naming_it_and_left_unchanged() {
    let Some(fs) = Tmpfs::mount("4m") else {
        return;
    };
    let path = fs.path.join("ro.db");
    let jobs = database_with_jobs(&path, 20).await;
    let before = std::fs::read(&path).unwrap();
    fs.remount("ro");
    // Reseolio has no read-only mode: every engine writes (its node row, claims, the WAL index),
    // so open refuses rather than failing later on the first write.
    let err = Engine::open(&url(&path), quick()).err().unwrap();
    refused(
        &err,
        ErrorKind::InvalidArgument,
        &[&format!("'{}' is read-only", path.display())],
    );
    let new = fs.path.join("new.db");
    let err = Engine::open(&url(&new), quick()).err().unwrap();
    refused(
        &err,
        ErrorKind::InvalidArgument,
        &[
            &format!("cannot create '{}'", new.display()),
            "Read-only file system",
        ],
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(files(&fs.path), ["ro.db"]);
    fs.remount("rw");
    let e = Engine::open(&url(&path), quick()).unwrap();
    all_intact(&e, &jobs).await;
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_clearly_keeps_every_commit_and_recovers_when_space_returns() {
    let Some(fs) = Tmpfs::mount("2m") else {
        return;
    };
    let path = fs.path.join("full.db");
    let e = Engine::open(&url(&path), quick()).unwrap();
    let mut stored = Vec::new();
    for i in 0..10 {
        let args = format!("[{i},\"{}\"]", "a".repeat(1000)).into_bytes();
        let id = e
            .enqueue("f", args.clone(), EnqueueOptions::default())
            .await
            .unwrap()
            .job_id;
        stored.push((id, args));
    }
    // Another file takes every free byte.
    let filler = fs.path.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        let err = loop {
            if let Err(e) = f.write_all(&chunk) {
                break e;
            }
        };
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    }
    // The WAL may still have room for a few writes; then they fail, saying why.
    let mut failed = None;
    for i in 0..200 {
        let args = format!("[{i},\"{}\"]", "b".repeat(8 * 1024)).into_bytes();
        match e
            .enqueue("f", args.clone(), EnqueueOptions::default())
            .await
        {
            Ok(job) => stored.push((job.job_id, args)),
            Err(err) => {
                failed = Some(err);
                break;
            }
        }
    }
    let err = failed.expect("an enqueue on a full disk failed");
    refused(
        &err,
        ErrorKind::Internal,
        &[
            "the disk is full",
            "database or disk is full",
            "nothing was written",
        ],
    );
    // Reads still work, and every committed job is there.
    all_intact(&e, &stored).await;
    assert_eq!(
        e.list(JobListParams::default()).await.unwrap().total,
        stored.len() as u64
    );
    // Space returns: the same engine writes again, and runs every job.
    std::fs::remove_file(&filler).unwrap();
    let args = b"[\"after\"]".to_vec();
    let after = e
        .enqueue("f", args.clone(), EnqueueOptions::default())
        .await
        .unwrap();
    stored.push((after.job_id, args));
    all_intact(&e, &stored).await;
    let w = e
        .worker(WorkerOptions {
            names: vec!["f".into()],
            concurrency: 8,
            worker_id: None,
        })
        .unwrap();
    for _ in 0..stored.len() {
        let t = tokio::time::timeout(Duration::from_secs(10), w.poll())
            .await
            .expect("a job to run")
            .unwrap();
        w.complete(t.token(), Outcome::Success(t.job.args.clone()))
            .await
            .unwrap();
    }
    for (id, args) in &stored {
        let job = e.get(id).await.unwrap();
        assert_eq!(
            (job.status, job.result.as_ref()),
            (JobStatus::Success, Some(args))
        );
    }
    w.shutdown(Duration::ZERO).await;
    e.shutdown().await;
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// File modes bind only unprivileged users: as root, this test runs itself again as `nobody`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_that_forbid_writing_are_refused_naming_the_file() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        as_nobody("permissions_that_forbid_writing_are_refused_naming_the_file");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perm.db");
    let jobs = database_with_jobs(&path, 5).await;
    let before = std::fs::read(&path).unwrap();
    let shown = format!("'{}'", path.display());

    mode(&path, 0o444).unwrap();
    refused(
        &Engine::open(&url(&path), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!("{shown} is read-only")],
    );
    mode(&path, 0o000).unwrap();
    refused(
        &Engine::open(&url(&path), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!("cannot open {shown}: Permission denied")],
    );
    mode(&path, 0o644).unwrap();
    // The directory is read-only: SQLite cannot create the WAL beside the file.
    mode(dir.path(), 0o555).unwrap();
    refused(
        &Engine::open(&url(&path), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!("{shown} is read-only"), "its directory"],
    );
    let new = dir.path().join("new.db");
    refused(
        &Engine::open(&url(&new), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[
            &format!("cannot create '{}'", new.display()),
            "Permission denied",
        ],
    );
    assert!(!new.exists());
    // Not even searchable.
    mode(dir.path(), 0o000).unwrap();
    refused(
        &Engine::open(&url(&path), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!("cannot open {shown}: Permission denied")],
    );
    mode(dir.path(), 0o755).unwrap();
    refused(
        &Engine::open(&url(dir.path()), quick()).err().unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!(
            "cannot open '{}': it is a directory",
            dir.path().display()
        )],
    );
    refused(
        &Engine::open(&url(&dir.path().join("no/such/dir/x.db")), quick())
            .err()
            .unwrap(),
        ErrorKind::InvalidArgument,
        &[&format!(
            "the directory '{}' does not exist",
            dir.path().join("no/such/dir").display()
        )],
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is unchanged"
    );
    assert_eq!(files(dir.path()), ["perm.db"]);
    let e = Engine::open(&url(&path), quick()).unwrap();
    all_intact(&e, &jobs).await;
    e.shutdown().await;
}

/// Runs the test `name` of this binary as the user `nobody` and asserts that it passed, or says
/// why it was skipped.
fn as_nobody(name: &str) {
    use std::os::unix::process::CommandExt;
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .uid(65534)
        .gid(65534)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: cannot run as nobody ({e})");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "as nobody:\n{text}");
    assert!(text.contains("1 passed"), "the test ran as nobody:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_program_is_unavailable_until_it_lets_go() {
    use reseolio_core::store::sqlite::{SqliteConfig, SqliteStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let jobs = database_with_jobs(&path, 3).await;
    let config = SqliteConfig {
        busy_timeout: Duration::from_millis(200),
        ..SqliteConfig::file(&path)
    };
    // Another program holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked = "the SQLite database is locked by another connection beyond the busy timeout";
    refused(
        &SqliteStore::open(&config).err().unwrap(),
        ErrorKind::Unavailable,
        &[locked],
    );
    other.execute_batch("COMMIT").unwrap();
    let store = SqliteStore::open(&config).unwrap();
    let e = Engine::with_store(
        std::sync::Arc::new(store),
        EngineConfig {
            maintenance: false,
            ..quick()
        },
    )
    .unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    refused(
        &e.enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap_err(),
        ErrorKind::Unavailable,
        &[locked],
    );
    // Reads go on under WAL while the other program writes.
    all_intact(&e, &jobs).await;
    other.execute_batch("ROLLBACK").unwrap();
    e.enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    assert_eq!(
        e.list(JobListParams::default()).await.unwrap().total,
        jobs.len() as u64 + 1
    );
    e.shutdown().await;
}
