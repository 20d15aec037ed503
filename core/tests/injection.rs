//! No SQL is built from what a caller gives. Values that would break out of a quoted literal, or
//! act as wildcards if a filter used LIKE, go in through every engine call that takes text (job
//! names, idempotency keys, args, list filters, schedule names and functions, event keys, worker
//! names) on SQLite and on PostgreSQL. Each must round-trip byte for byte, every filter must match
//! only the literal value, and every table must still be there afterwards. The PostgreSQL schema
//! name, the one identifier that comes from the caller (the URL), is refused unless it is a plain
//! identifier.
//!
//! PostgreSQL runs when RESEOLIO_TEST_POSTGRES_URL is set (a schema per case); otherwise that
//! half says it was skipped.

use reseolio_core::schedule::{ScheduleSpec, ScheduleStatus};
use reseolio_core::store::{JobListParams, ScheduleListParams};
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, ErrorKind, JobStatus, Outcome};
use reseolio_core::{WorkerOptions, MAX_EVENT_KEY_BYTES};
use std::collections::BTreeSet;
use std::time::Duration;

/// Text that is harmless only if it is bound as a parameter: quotes that close a literal,
/// statement separators and comments, LIKE and GLOB wildcards, escapes, placeholders of every
/// dialect, control characters and non-ASCII.
const HOSTILE: &[&str] = &[
    "x'); DROP TABLE reseolio_jobs; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "'; DELETE FROM reseolio_schedules; SELECT '",
    "x\"; DROP SCHEMA public CASCADE; --",
    "%",
    "_",
    "%%",
    "a%",
    "_a",
    "\\",
    "\\'",
    "a\\%b",
    "\\0",
    "\\x00",
    "*",
    "?",
    "?1",
    "$1",
    "$$ OR 1=1 $$",
    ":name",
    "@p",
    "[a-z]",
    "--",
    "/*",
    "*/",
    ";",
    "reseolio_jobs",
    "ünïcödé 🚀",
    "line\nbreak\ttab\rret",
    "\u{7f}\u{1}\u{1b}[31m",
];

/// The PostgreSQL test server's URL, or None (and the case says it was skipped).
#[cfg(feature = "postgres")]
fn postgres_url() -> Option<String> {
    let url = std::env::var("RESEOLIO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against); \
             only SQLite was tested"
        );
    }
    url
}

fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}schema={schema}")
}

fn quick() -> EngineConfig {
    EngineConfig {
        poll_interval: Duration::from_millis(20),
        maintenance: false,
        ..Default::default()
    }
}

/// Where the tables are: a SQLite file, or a PostgreSQL schema.
enum Backend {
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: String,
    },
}

impl Backend {
    fn url(&self) -> String {
        match self {
            Backend::Sqlite(path) => format!("sqlite://{}", path.display()),
            #[cfg(feature = "postgres")]
            Backend::Postgres { url, schema } => with_schema(url, schema),
        }
    }

    /// The names of the tables, read around the engine.
    async fn tables(&self) -> BTreeSet<String> {
        match self {
            Backend::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                let mut s = c
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap();
                let names = s.query_map([], |r| r.get::<_, String>(0)).unwrap();
                names.map(Result::unwrap).collect()
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
                )
                .bind(schema)
                .fetch_all(&pool)
                .await
                .unwrap();
                pool.close().await;
                names.into_iter().collect()
            }
        }
    }
}

async fn ids_where(e: &Engine, names: Vec<String>, search: Option<String>) -> BTreeSet<String> {
    let page = e
        .list(JobListParams {
            names,
            search,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.total as usize,
        page.jobs.len(),
        "one page holds them all"
    );
    page.jobs.into_iter().map(|j| j.id).collect()
}

fn one(id: &str) -> BTreeSet<String> {
    BTreeSet::from([id.to_string()])
}

/// Every text-taking engine call, fed [`HOSTILE`] values, on one backend.
async fn hostile_values_are_only_ever_data(backend: Backend) {
    let e = Engine::open_async(&backend.url(), quick()).await.unwrap();
    let tables = backend.tables().await;
    for t in ["reseolio_jobs", "reseolio_attempts", "reseolio_schedules"] {
        assert!(
            tables.contains(t),
            "{t} missing before the test: {tables:?}"
        );
    }
    let once = EnqueueOptions {
        max_attempts: Some(1),
        ..Default::default()
    };

    // Jobs: the value as the name, the key and inside the args (with NUL and non-UTF-8 bytes).
    let mut by_value = Vec::new();
    for (i, v) in HOSTILE.iter().enumerate() {
        let mut args = format!("{v}\0{i}").into_bytes();
        args.extend_from_slice(&[0, 0xff, b'\'', 0]);
        let opts = EnqueueOptions {
            idempotency_key: Some(v.to_string()),
            ..once.clone()
        };
        let first = e.enqueue(v, args.clone(), opts.clone()).await.unwrap();
        assert!(
            !first.deduplicated,
            "{v:?} deduplicated against another job"
        );
        let again = e.enqueue(v, args.clone(), opts).await.unwrap();
        assert!(again.deduplicated, "{v:?}: the same (name, key) again");
        assert_eq!(again.job_id, first.job_id, "{v:?}");
        let job = e.get(&first.job_id).await.unwrap();
        assert_eq!(job.name, *v, "the name round-trips");
        assert_eq!(
            job.idempotency_key.as_deref(),
            Some(*v),
            "the key round-trips"
        );
        assert_eq!(job.args, args, "{v:?}: the args round-trip byte for byte");
        by_value.push((*v, first.job_id));
    }
    // The same keys under one plain name: a key that matched like a pattern would deduplicate
    // against another value's job.
    let mut plain_by_value = Vec::new();
    for (v, _) in &by_value {
        let opts = EnqueueOptions {
            idempotency_key: Some(v.to_string()),
            ..once.clone()
        };
        let en = e.enqueue("plain", vec![], opts).await.unwrap();
        assert!(
            !en.deduplicated,
            "key {v:?} under 'plain' matched another key"
        );
        plain_by_value.push(en.job_id);
    }
    let total = 2 * HOSTILE.len();
    assert_eq!(ids_where(&e, vec![], None).await.len(), total);

    // Filters match the literal value only: '%' is not "anything", '_' not "one character".
    for ((v, id), plain) in by_value.iter().zip(&plain_by_value) {
        assert_eq!(
            ids_where(&e, vec![v.to_string()], None).await,
            one(id),
            "name filter {v:?}"
        );
        let both: BTreeSet<String> = [id.clone(), plain.clone()].into();
        assert_eq!(
            ids_where(&e, vec![], Some(v.to_string())).await,
            both,
            "search {v:?}: its own job and the plain job with that key"
        );
        assert_eq!(
            ids_where(&e, vec![v.to_string()], Some(v.to_string())).await,
            one(id),
            "name and search {v:?}"
        );
    }
    for miss in ["%x", "x%", "' OR 'a'='a", "_%_", "\\%", "%;--"] {
        assert!(
            ids_where(&e, vec![miss.into()], None).await.is_empty(),
            "name filter {miss:?} matched"
        );
        assert!(
            ids_where(&e, vec![], Some(miss.into())).await.is_empty(),
            "search {miss:?} matched"
        );
    }
    let two = ids_where(&e, vec!["%".into(), "_".into()], None).await;
    assert_eq!(two.len(), 2, "a filter of two names matches two jobs");

    // A worker of the names '%' and '_' claims exactly those two jobs.
    let w = e
        .worker(WorkerOptions {
            names: vec!["%".into(), "_".into()],
            concurrency: 10,
            worker_id: Some("w'); DROP TABLE reseolio_attempts; --".into()),
        })
        .unwrap();
    let mut claimed = BTreeSet::new();
    for _ in 0..2 {
        let t = tokio::time::timeout(Duration::from_secs(10), w.poll())
            .await
            .expect("a job named '%' or '_' within 10 s")
            .unwrap();
        claimed.insert(t.job.name.clone());
        let outcome = Outcome::Failure {
            error: "' OR '1'='1 -- \\ %".into(),
            retryable: false,
        };
        w.complete(t.token(), outcome).await.unwrap();
    }
    assert_eq!(claimed, BTreeSet::from(["%".into(), "_".into()]));
    let extra = tokio::time::timeout(Duration::from_millis(300), w.poll()).await;
    assert!(
        extra.is_err(),
        "a third job was claimed: {:?}",
        extra.map(|t| t.map(|t| t.job.name))
    );
    w.shutdown(Duration::from_millis(100)).await;
    let dead_pct = e.get(&by_value[5].1).await.unwrap();
    assert_eq!(
        (dead_pct.name.as_str(), dead_pct.status),
        ("%", JobStatus::Dead)
    );
    assert_eq!(dead_pct.last_error.as_deref(), Some("' OR '1'='1 -- \\ %"));
    let attempts = e.attempts(&dead_pct.id).await.unwrap();
    assert_eq!(
        attempts[0].worker_id,
        "w'); DROP TABLE reseolio_attempts; --"
    );
    // Retrying the DEAD jobs of '%' touches that one job, not '_' (DEAD too) nor the rest.
    assert_eq!(e.retry_all_dead("%").await.unwrap(), 1);
    assert_eq!(
        e.get(&by_value[5].1).await.unwrap().status,
        JobStatus::Pending
    );
    assert_eq!(e.get(&by_value[6].1).await.unwrap().status, JobStatus::Dead);
    assert_eq!(e.retry_all_dead("a%").await.unwrap(), 0);

    // Schedules: the value as the name, the function and the args; found, paused and deleted
    // by that literal name only.
    for v in HOSTILE {
        let s = e
            .schedule_declare(ScheduleSpec {
                name: v.to_string(),
                function: v.to_string(),
                cron: "0 3 * * *".into(),
                args: v.as_bytes().to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
        let got = e.schedule_get(v).await.unwrap();
        assert_eq!(got.id, s.id);
        assert_eq!(
            (
                got.name.as_str(),
                got.function.as_str(),
                got.args.as_slice()
            ),
            (*v, *v, v.as_bytes())
        );
    }
    let listed = |status| {
        let e = e.clone();
        async move {
            let page = e
                .schedule_list(ScheduleListParams {
                    status,
                    limit: 1000,
                    offset: 0,
                })
                .await
                .unwrap();
            page.schedules
                .into_iter()
                .map(|s| s.name)
                .collect::<BTreeSet<_>>()
        }
    };
    let all: BTreeSet<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed(None).await, all);
    e.schedule_pause("%").await.unwrap();
    assert_eq!(
        listed(Some(ScheduleStatus::Paused)).await,
        BTreeSet::from(["%".to_string()])
    );
    e.schedule_delete("_").await.unwrap();
    assert_eq!(
        e.schedule_get("_").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(listed(None).await.len(), HOSTILE.len() - 1);
    for miss in ["%x", "' OR 'a'='a", "_%"] {
        assert_eq!(
            e.schedule_get(miss).await.unwrap_err().kind(),
            ErrorKind::NotFound,
            "schedule {miss:?}"
        );
        assert_eq!(
            e.schedule_delete(miss).await.unwrap_err().kind(),
            ErrorKind::NotFound,
            "schedule {miss:?}"
        );
    }
    let fired = e.schedule_trigger("' OR '1'='1").await.unwrap();
    let job = e.get(&fired.job_id).await.unwrap();
    assert_eq!(
        (job.name.as_str(), job.args.as_slice()),
        ("' OR '1'='1", "' OR '1'='1".as_bytes())
    );

    // Event keys go into an advisory-lock hash and a notification on PostgreSQL.
    for v in HOSTILE.iter().filter(|v| v.len() <= MAX_EVENT_KEY_BYTES) {
        let sent = e.event_send(v, v.as_bytes().to_vec()).await.unwrap();
        assert_eq!(sent.woken, 0, "{v:?}");
    }

    // Nothing was dropped or emptied.
    assert_eq!(backend.tables().await, tables, "the tables changed");
    assert_eq!(ids_where(&e, vec![], None).await.len(), total + 1);
    assert_eq!(
        e.schedule_get("%").await.unwrap().status,
        ScheduleStatus::Paused
    );
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_only_ever_data_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    hostile_values_are_only_ever_data(Backend::Sqlite(dir.path().join("inject.db"))).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_only_ever_data_on_postgres() {
    let Some(url) = postgres_url() else { return };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    hostile_values_are_only_ever_data(Backend::Postgres { url, schema }).await;
}

/// A NUL byte inside a name or key: SQLite keeps it, PostgreSQL's text cannot hold it. Either
/// the text is kept whole (never cut at the NUL) or the call is refused as InvalidArgument with
/// nothing stored; never an Internal error.
async fn nul_in_text(url: &str) -> reseolio_core::Result<()> {
    let e = Engine::open_async(url, quick()).await.unwrap();
    let key = "k\0'; DROP TABLE reseolio_jobs; --";
    let opts = EnqueueOptions {
        idempotency_key: Some(key.into()),
        ..Default::default()
    };
    let before = ids_where(&e, vec![], None).await.len();
    let outcome = match e.enqueue("a\0b", b"\0".to_vec(), opts).await {
        Ok(en) => {
            let job = e.get(&en.job_id).await.unwrap();
            assert_eq!(job.name, "a\0b", "not cut at the NUL");
            assert_eq!(job.idempotency_key.as_deref(), Some(key));
            assert_eq!(ids_where(&e, vec!["a".into()], None).await.len(), 0);
            let by_name = ids_where(&e, vec!["a\0b".into()], None).await;
            assert_eq!(by_name, one(&en.job_id));
            assert_eq!(
                ids_where(&e, vec![], Some(key.into())).await,
                one(&en.job_id)
            );
            Ok(())
        }
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            assert_eq!(ids_where(&e, vec![], None).await.len(), before);
            Err(err)
        }
    };
    // A NUL in a search or a schedule name finds nothing; it is not an error of the server's.
    for r in [
        e.list(JobListParams {
            search: Some("\0".into()),
            ..Default::default()
        })
        .await
        .map(|p| p.total),
        e.schedule_get("\0' OR '1'='1").await.map(|_| 1),
    ] {
        if let Err(err) = &r {
            assert!(
                matches!(err.kind(), ErrorKind::InvalidArgument | ErrorKind::NotFound),
                "{err}"
            );
        }
        assert!(!matches!(r, Ok(n) if n > 0), "a NUL matched something");
    }
    e.shutdown().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_name_is_kept_whole_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nul.db").display());
    // SQLite binds text with its length: the NUL is stored like any other character.
    nul_in_text(&url).await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_name_is_refused_as_bad_input_on_postgres() {
    let Some(url) = postgres_url() else { return };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let err = nul_in_text(&with_schema(&url, &schema)).await.unwrap_err();
    assert!(err.message().contains("NUL"), "{err}");
}

/// The schema name is the one identifier taken from the caller: anything but a plain lower-case
/// identifier is refused before a connection is made (so no server is needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_name_that_is_not_a_plain_identifier_is_refused() {
    let base = "postgres://nobody@127.0.0.1:1/none";
    for schema in [
        "x\"; DROP SCHEMA public CASCADE; --",
        "x%22%3B%20DROP%20SCHEMA%20public%3B%20--",
        "public;drop",
        "a b",
        "A",
        "1abc",
        "a-b",
        "a.b",
        "\"quoted\"",
        "",
        &"a".repeat(64),
    ] {
        let err = Engine::open_async(&with_schema(base, schema), quick())
            .await
            .err()
            .unwrap_or_else(|| panic!("schema {schema:?} accepted"));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{schema:?}: {err}");
        assert!(err.message().contains("schema"), "{schema:?}: {err}");
    }
    for bad in [
        "max_connections=1;DROP TABLE x",
        "max_connections=0",
        "schema=ok&schema=x'y",
    ] {
        let err = Engine::open_async(&format!("{base}?{bad}"), quick())
            .await
            .err()
            .unwrap_or_else(|| panic!("{bad:?} accepted"));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!(
        "sqlite://{}?durability=full;DROP TABLE reseolio_jobs",
        dir.path().join("d.db").display()
    );
    let err = Engine::open_async(&sqlite, quick()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}
