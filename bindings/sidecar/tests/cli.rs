//! The operator commands of the `reseolio` binary, run as a process over a database a test
//! engine filled: tables and JSON, every subcommand's effect, and the exit codes.

mod support;

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, StepOutcome, StepRecord, StepWait,
    StepWaitOutcome, WorkerOptions,
};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::cli_json;

fn reseolio(db: &Path, args: &[&str]) -> Output {
    support::reseolio()
        .args(args)
        .env("RESEOLIO_DB", db)
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// A database with one SUCCESS, two DEAD and one PENDING job of `mail`, and a schedule.
async fn fill(db: &Path) -> (String, String) {
    let e = Engine::open(
        &format!("sqlite://{}", db.display()),
        EngineConfig::default(),
    )
    .unwrap();
    let once = EnqueueOptions {
        max_attempts: Some(1),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            e.enqueue("mail", format!("[{i}]").into_bytes(), once.clone())
                .await
                .unwrap()
                .job_id,
        );
    }
    let w = e
        .worker(WorkerOptions {
            names: vec!["mail".into()],
            ..Default::default()
        })
        .unwrap();
    for _ in 0..3 {
        let t = w.poll().await.unwrap();
        let outcome = if t.job.args == b"[0]" {
            Outcome::Success(b"\"sent\"".to_vec())
        } else {
            Outcome::Failure {
                error: "smtp 550".into(),
                retryable: true,
            }
        };
        w.complete(t.token(), outcome).await.unwrap();
    }
    w.shutdown(std::time::Duration::from_millis(10)).await;
    let pending = e
        .enqueue(
            "mail",
            b"[3]".to_vec(),
            EnqueueOptions {
                idempotency_key: Some("welcome-ada".into()),
                delay_ms: Some(3_600_000),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .job_id;
    e.schedule_declare(ScheduleSpec {
        name: "nightly".into(),
        function: "report".into(),
        cron: "0 3 * * *".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    e.shutdown().await;
    (ids[1].clone(), pending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_commands_show_and_steer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    let (dead, pending) = fill(&db).await;

    let all = cli_json(&db, &["jobs", "list", "--json"]);
    assert_eq!(all["total"], 4);
    let dead_list = cli_json(&db, &["jobs", "list", "--status", "dead", "--json"]);
    assert_eq!(dead_list["total"], 2);
    assert!(dead_list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["status"] == "DEAD"));
    let found = cli_json(&db, &["jobs", "list", "--search", "welcome-ada", "--json"]);
    assert_eq!(
        (found["total"].clone(), found["jobs"][0]["id"].clone()),
        (1.into(), pending.clone().into())
    );

    let table = reseolio(&db, &["jobs", "list", "--name", "mail", "--limit", "2"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("ID"), "{text}");
    assert!(text.contains("2 of 4"), "{text}");

    let job = cli_json(&db, &["jobs", "get", &dead, "--json"]);
    assert_eq!(job["status"], "DEAD");
    assert_eq!(job["last_error"], "smtp 550");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(job["attempts"][0]["error"], "smtp 550");
    let shown = String::from_utf8(reseolio(&db, &["jobs", "get", &dead]).stdout).unwrap();
    assert!(
        shown.contains("smtp 550") && shown.contains("ATTEMPT"),
        "{shown}"
    );

    let retried = cli_json(&db, &["jobs", "retry", &dead, "--json"]);
    assert_eq!(retried["status"], "PENDING");
    // Not DEAD any more: a conflict.
    let again = reseolio(&db, &["jobs", "retry", &dead]);
    assert_eq!(
        code(&again),
        4,
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let cancelled = cli_json(&db, &["jobs", "cancel", &pending, "--json"]);
    assert_eq!(cancelled["status"], "CANCELLED");
    let n = cli_json(&db, &["jobs", "retry-dead", "mail", "--json"]);
    assert_eq!(n["retried"], 1);
    let stats = cli_json(&db, &["stats", "--json"]);
    assert_eq!(stats["jobs"]["PENDING"], 2);
    assert_eq!(stats["jobs"]["SUCCESS"], 1);
    assert_eq!(stats["jobs"]["CANCELLED"], 1);
    assert_eq!(stats["jobs"]["DEAD"], 0);
    assert_eq!(stats["schedules"]["ACTIVE"], 1);

    let missing = reseolio(&db, &["jobs", "get", "no-such-job"]);
    assert_eq!(code(&missing), 3);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-job"));
    let bad = reseolio(&db, &["jobs", "list", "--status", "sleeping"]);
    assert_eq!(code(&bad), 2);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sleeping"));
    let usage = reseolio(&db, &["jobs", "frobnicate"]);
    assert_eq!(code(&usage), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_get_shows_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    let e = Engine::open(
        &format!("sqlite://{}", db.display()),
        EngineConfig::default(),
    )
    .unwrap();
    let plain = e
        .enqueue("mail", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap()
        .job_id;
    let flow = e
        .enqueue("flow", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap()
        .job_id;
    let w = e
        .worker(WorkerOptions {
            names: vec!["flow".into()],
            ..Default::default()
        })
        .unwrap();
    let t = w.poll().await.unwrap();
    let started_at = 1_767_225_600_000; // 2026-01-01T00:00:00Z, before the engine's now
    let steps = [
        ("fetch", StepOutcome::Success(br#"{"rows": 3}"#.to_vec()), 1),
        (
            "notify",
            StepOutcome::Failure("smtp 550\nmailbox full".into()),
            3,
        ),
    ];
    for (seq, (name, outcome, attempts)) in steps.into_iter().enumerate() {
        let record = StepRecord {
            seq: seq as u32,
            name: name.into(),
            outcome,
            attempts,
            started_at,
        };
        e.step_record(t.token(), record).await.unwrap();
    }
    let until_ms = 4_102_444_800_000; // 2100-01-01T00:00:00Z
    let wait = StepWait::Sleep { until_ms };
    let out = e.step_wait(t.token(), 2, "cool-down", wait).await.unwrap();
    assert_eq!(out, StepWaitOutcome::Suspended { wake_at: until_ms });
    w.complete(t.token(), Outcome::Suspended).await.unwrap();
    w.shutdown(std::time::Duration::from_millis(10)).await;
    e.shutdown().await;

    let job = cli_json(&db, &["jobs", "get", &flow, "--json"]);
    let steps = job["steps"].as_array().unwrap();
    let brief: Vec<(Value, Value, Value, Value, Value)> = steps
        .iter()
        .map(|s| {
            let f = |k: &str| s[k].clone();
            (f("seq"), f("name"), f("kind"), f("status"), f("attempts"))
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                0.into(),
                "fetch".into(),
                "run".into(),
                "SUCCESS".into(),
                1.into()
            ),
            (
                1.into(),
                "notify".into(),
                "run".into(),
                "FAILED".into(),
                3.into()
            ),
            (
                2.into(),
                "cool-down".into(),
                "sleep".into(),
                "WAITING".into(),
                1.into()
            ),
        ]
    );
    assert_eq!(
        steps[0]["result"],
        serde_json::json!({"encoding": "json", "value": {"rows": 3}}),
        "the API's payload shape"
    );
    assert_eq!(steps[1]["error"], "smtp 550\nmailbox full");
    let done = steps[0]["completed_at"].as_i64().unwrap();
    assert_eq!(steps[0]["duration_ms"], done - started_at);
    assert_eq!(steps[2]["wake_at"], until_ms);
    assert_eq!(
        (&steps[2]["completed_at"], &steps[2]["duration_ms"]),
        (&Value::Null, &Value::Null)
    );
    let none = cli_json(&db, &["jobs", "get", &plain, "--json"]);
    assert_eq!(none["steps"], serde_json::json!([]));

    let out = reseolio(&db, &["jobs", "get", &flow]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.starts_with("STEP"))
        .unwrap_or_else(|| panic!("no steps table: {text}"));
    let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        cols(lines[head]),
        ["STEP", "NAME", "KIND", "STATUS", "ATTEMPTS", "STARTED", "DURATION", "OUTCOME"]
    );
    let rows: Vec<Vec<String>> = lines[head + 1..].iter().map(|l| cols(l)).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(
        rows[0][..6],
        [
            "0",
            "fetch",
            "run",
            "SUCCESS",
            "1",
            "2026-01-01T00:00:00.000Z"
        ]
    );
    assert_eq!(rows[0].last().unwrap(), r#"{"rows":3}"#, "{text}");
    assert!(
        lines[head + 2].ends_with("smtp 550 mailbox full"),
        "the error on one line: {text}"
    );
    assert!(
        lines[head + 3].ends_with("sleeps until 2100-01-01T00:00:00.000Z"),
        "{text}"
    );
    assert_eq!(rows[2][6], "-", "a waiting step has no duration: {text}");
    let plain_text = String::from_utf8(reseolio(&db, &["jobs", "get", &plain]).stdout).unwrap();
    assert!(!plain_text.contains("STEP"), "no steps table: {plain_text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_commands_show_and_steer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    fill(&db).await;
    let list = cli_json(&db, &["schedules", "list", "--json"]);
    assert_eq!(list["total"], 1);
    assert_eq!(list["schedules"][0]["name"], "nightly");
    let paused = cli_json(&db, &["schedules", "pause", "nightly", "--json"]);
    assert_eq!(paused["status"], "PAUSED");
    let only_active = cli_json(&db, &["schedules", "list", "--status", "active", "--json"]);
    assert_eq!(only_active["total"], 0);
    let resumed = cli_json(&db, &["schedules", "resume", "nightly", "--json"]);
    assert_eq!(resumed["status"], "ACTIVE");
    let text = String::from_utf8(reseolio(&db, &["schedules", "list"]).stdout).unwrap();
    assert!(
        text.contains("nightly") && text.contains("0 3 * * *"),
        "{text}"
    );
    let fired = cli_json(&db, &["schedules", "trigger", "nightly", "--json"]);
    let job_id = fired["job_id"].as_str().unwrap().to_string();
    let job = cli_json(&db, &["jobs", "get", &job_id, "--json"]);
    assert_eq!(
        (job["name"].clone(), job["status"].clone()),
        ("report".into(), "PENDING".into())
    );
    cli_json(&db, &["schedules", "delete", "nightly", "--json"]);
    let gone = reseolio(&db, &["schedules", "get", "nightly"]);
    assert_eq!(code(&gone), 3);
    let still = Engine::open(
        &format!("sqlite://{}", db.display()),
        EngineConfig::default(),
    )
    .unwrap();
    assert_eq!(still.get(&job_id).await.unwrap().status, JobStatus::Pending);
    still.shutdown().await;
}

#[test]
fn only_migrate_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let out = reseolio(&db, &["jobs", "list"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no database") && err.contains("reseolio migrate"),
        "{err}"
    );
    assert!(!db.exists(), "a read command created the database");
    let migrated = reseolio(&db, &["migrate"]);
    assert!(migrated.status.success());
    assert!(db.exists());
    let empty = cli_json(&db, &["jobs", "list", "--json"]);
    assert_eq!(empty["total"], 0);
    // A database older than this build is refused, not upgraded behind the application's back.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "DELETE FROM reseolio_schema WHERE version = (SELECT max(version) FROM reseolio_schema)",
            [],
        )
        .unwrap();
    }
    let old = reseolio(&db, &["stats"]);
    assert_eq!(code(&old), 2);
    let err = String::from_utf8_lossy(&old.stderr);
    assert!(
        err.contains("older") && err.contains("reseolio migrate"),
        "{err}"
    );
    let not_db = dir.path().join("text.db");
    std::fs::write(&not_db, "not a database at all, just text").unwrap();
    let out = reseolio(&not_db, &["stats"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a SQLite database"));
    assert_eq!(
        std::fs::read_to_string(&not_db).unwrap(),
        "not a database at all, just text"
    );
}

/// Runs the binary with `args` and RESEOLIO_DB set, killing it if it is still running after
/// 20 s (a bad serve flag must stop it before it serves).
fn bounded(db: &Path, args: &[&str]) -> Output {
    let mut child = support::reseolio()
        .args(args)
        .env("RESEOLIO_DB", db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("{args:?} still running after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn bad_flags_and_values_exit_2_naming_them_and_a_corrupt_database_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flags.db");
    assert!(reseolio(&db, &["migrate"]).status.success());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let missing = dir.path().join("no/such/dir/x.db");
    let missing = missing.to_str().unwrap();
    let unknown_param = format!("sqlite://{}?cache=1", dir.path().join("p.db").display());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["jobs", "list", "--limit", "0"],
            "limit must be between 1 and 1000, got 0".into(),
        ),
        (
            vec!["jobs", "list", "--limit", "5000"],
            "limit must be between 1 and 1000, got 5000".into(),
        ),
        (
            vec!["jobs", "list", "--limit", "-1"],
            "unexpected argument '-1'".into(),
        ),
        (
            vec!["jobs", "list", "--offset", "x"],
            "invalid value 'x' for '--offset <OFFSET>'".into(),
        ),
        (vec!["jobs", "get"], "<ID>".into()),
        (
            vec!["schedules", "list", "--status", "sleeping"],
            "schedule status must be 'active' or 'paused', got 'sleeping'".into(),
        ),
        (
            vec!["schedules", "list", "--limit", "0"],
            "limit must be between 1 and 1000, got 0".into(),
        ),
        (
            vec!["stats", "--minutes", "0"],
            "invalid value '0' for '--minutes <MINUTES>': 0 is not in 1..=1440".into(),
        ),
        (
            vec!["stats", "--minutes", "5000"],
            "5000 is not in 1..=1440".into(),
        ),
        (
            vec!["jobs", "list", "--db", "mysql://x"],
            "storage URL 'mysql://x' has an unsupported scheme 'mysql'".into(),
        ),
        (
            vec!["migrate", "--db", &unknown_param],
            "has an unknown parameter 'cache=1'; known: durability=normal|full".into(),
        ),
        (
            vec!["--poll-interval", "0", "--addr", "127.0.0.1:0"],
            "--poll-interval must be >= 1 ms".into(),
        ),
        (
            vec!["--max-concurrent", "0", "--addr", "127.0.0.1:0"],
            "--max-concurrent must be >= 1".into(),
        ),
        (
            vec!["serve", "--addr", "nonsense"],
            "invalid value 'nonsense' for '--addr <ADDR>'".into(),
        ),
        (
            vec!["--addr", &busy],
            format!("cannot listen on {busy}"),
        ),
        (
            vec!["--db", missing, "--addr", "127.0.0.1:0"],
            format!(
                "cannot open storage '{missing}': cannot create '{missing}': the directory '{}' does not exist",
                dir.path().join("no/such/dir").display()
            ),
        ),
        (
            vec!["--frobnicate"],
            "unexpected argument '--frobnicate'".into(),
        ),
        (
            vec!["ui", "--port", "99999"],
            "99999 is not in 0..=65535".into(),
        ),
    ];
    for (args, words) in cases {
        let out = bounded(&db, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert!(err.contains(&words), "{args:?}: '{err}' lacks '{words}'");
    }
    assert!(!dir.path().join("no").exists());
    assert!(!dir.path().join("p.db").exists());
    drop(taken);

    // A database cut short is a storage failure, not bad input: exit 1, naming the file.
    let whole = std::fs::read(&db).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = reseolio(&cut, &["jobs", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains(&format!("'{}' is corrupt", cut.display())),
        "{err}"
    );
    assert_eq!(std::fs::read(&cut).unwrap(), &whole[..whole.len() / 2]);
}
