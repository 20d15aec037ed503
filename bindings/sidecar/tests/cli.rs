//! The operator commands of the `reseolio` binary, run as a process over a database a test
//! engine filled: tables and JSON, every subcommand's effect, and the exit codes.

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn reseolio(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reseolio"))
        .args(args)
        .env("RESEOLIO_DB", db)
        .output()
        .unwrap()
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let out = reseolio(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
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

    let all = ok_json(&db, &["jobs", "list", "--json"]);
    assert_eq!(all["total"], 4);
    let dead_list = ok_json(&db, &["jobs", "list", "--status", "dead", "--json"]);
    assert_eq!(dead_list["total"], 2);
    assert!(dead_list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["status"] == "DEAD"));
    let found = ok_json(&db, &["jobs", "list", "--search", "welcome-ada", "--json"]);
    assert_eq!(
        (found["total"].clone(), found["jobs"][0]["id"].clone()),
        (1.into(), pending.clone().into())
    );

    let table = reseolio(&db, &["jobs", "list", "--name", "mail", "--limit", "2"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("ID"), "{text}");
    assert!(text.contains("2 of 4"), "{text}");

    let job = ok_json(&db, &["jobs", "get", &dead, "--json"]);
    assert_eq!(job["status"], "DEAD");
    assert_eq!(job["last_error"], "smtp 550");
    assert_eq!(job["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(job["attempts"][0]["error"], "smtp 550");
    let shown = String::from_utf8(reseolio(&db, &["jobs", "get", &dead]).stdout).unwrap();
    assert!(
        shown.contains("smtp 550") && shown.contains("ATTEMPT"),
        "{shown}"
    );

    let retried = ok_json(&db, &["jobs", "retry", &dead, "--json"]);
    assert_eq!(retried["status"], "PENDING");
    // Not DEAD any more: a conflict.
    let again = reseolio(&db, &["jobs", "retry", &dead]);
    assert_eq!(
        code(&again),
        4,
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let cancelled = ok_json(&db, &["jobs", "cancel", &pending, "--json"]);
    assert_eq!(cancelled["status"], "CANCELLED");
    let n = ok_json(&db, &["jobs", "retry-dead", "mail", "--json"]);
    assert_eq!(n["retried"], 1);
    let stats = ok_json(&db, &["stats", "--json"]);
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
async fn schedules_commands_show_and_steer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ops.db");
    fill(&db).await;
    let list = ok_json(&db, &["schedules", "list", "--json"]);
    assert_eq!(list["total"], 1);
    assert_eq!(list["schedules"][0]["name"], "nightly");
    let paused = ok_json(&db, &["schedules", "pause", "nightly", "--json"]);
    assert_eq!(paused["status"], "PAUSED");
    let only_active = ok_json(&db, &["schedules", "list", "--status", "active", "--json"]);
    assert_eq!(only_active["total"], 0);
    let resumed = ok_json(&db, &["schedules", "resume", "nightly", "--json"]);
    assert_eq!(resumed["status"], "ACTIVE");
    let text = String::from_utf8(reseolio(&db, &["schedules", "list"]).stdout).unwrap();
    assert!(
        text.contains("nightly") && text.contains("0 3 * * *"),
        "{text}"
    );
    let fired = ok_json(&db, &["schedules", "trigger", "nightly", "--json"]);
    let job_id = fired["job_id"].as_str().unwrap().to_string();
    let job = ok_json(&db, &["jobs", "get", &job_id, "--json"]);
    assert_eq!(
        (job["name"].clone(), job["status"].clone()),
        ("report".into(), "PENDING".into())
    );
    ok_json(&db, &["schedules", "delete", "nightly", "--json"]);
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
    let empty = ok_json(&db, &["jobs", "list", "--json"]);
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
