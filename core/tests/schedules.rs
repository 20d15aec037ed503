//! Schedules through the engine: ticks with an injected clock (exactly one job per tick, missed
//! ticks, overlap, pause and resume, re-declaring, bad input, trigger), then on the wall clock
//! several engines on one SQLite file and, with RESEOLIO_TEST_POSTGRES_URL, several nodes on one
//! PostgreSQL, each firing a seconds-level schedule with the leader shut down mid-run.

use reseolio_core::clock::ManualClock;
use reseolio_core::schedule::{MissedPolicy, OverlapPolicy, ScheduleChange, ScheduleSpec};
use reseolio_core::store::{JobListParams, ScheduleListParams};
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, ErrorKind, Job, JobStatus};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// 2026-01-01T00:00:30Z.
const START: i64 = 1_767_225_630_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn engine(clock: &ManualClock) -> Engine {
    Engine::open(
        "sqlite::memory:",
        EngineConfig {
            clock: Arc::new(clock.clone()),
            maintenance: false,
            ..Default::default()
        },
    )
    .unwrap()
}

/// An engine that leads (one maintenance pass elects it).
async fn leading(clock: &ManualClock) -> Engine {
    let e = engine(clock);
    assert!(e.run_maintenance_once().await.unwrap().leader);
    e
}

fn spec(cron: &str) -> ScheduleSpec {
    ScheduleSpec {
        function: "report".into(),
        cron: cron.into(),
        args: br#"["daily"]"#.to_vec(),
        ..Default::default()
    }
}

async fn jobs(e: &Engine) -> Vec<Job> {
    let mut jobs = e
        .list(JobListParams {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs;
    jobs.sort_by_key(|j| j.created_at);
    jobs
}

/// The tick a schedule's job stands for, from its key `schedule:<id>:<tick ms>`.
fn tick_of(job: &Job) -> i64 {
    let key = job
        .idempotency_key
        .as_deref()
        .expect("a tick job has a key");
    key.rsplit(':').next().unwrap().parse().unwrap()
}

/// Moves the clock, keeps this engine's term alive (as its maintenance loop would) and fires.
async fn at(e: &Engine, clock: &ManualClock, ms: i64) -> reseolio_core::SchedulerReport {
    clock.set_ms(ms);
    e.run_maintenance_once().await.unwrap();
    e.run_scheduler_once().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_due_tick_starts_exactly_one_job() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    let s = e.schedule_declare(spec("* * * * *")).await.unwrap();
    assert_eq!((s.name.as_str(), s.timezone.as_str()), ("report", "UTC"));
    assert_eq!(s.next_run_at, START + 30_000);
    assert_eq!(e.run_scheduler_once().await.unwrap().fired, 0);

    let r = at(&e, &clock, START + 30_000).await;
    assert_eq!((r.fired, r.next_due), (1, Some(START + 30_000 + MINUTE)));
    // Again at the same instant, and a little later: nothing more.
    assert_eq!(e.run_scheduler_once().await.unwrap().fired, 0);
    assert_eq!(at(&e, &clock, START + 59_000).await.fired, 0);
    let js = jobs(&e).await;
    assert_eq!(js.len(), 1);
    assert_eq!(
        (js[0].name.as_str(), js[0].args.as_slice()),
        ("report", &br#"["daily"]"#[..])
    );
    assert_eq!(
        js[0].idempotency_key,
        Some(format!("schedule:{}:{}", s.id, START + 30_000))
    );
    let s = e.schedule_get("report").await.unwrap();
    assert_eq!(s.last_run_at, Some(START + 30_000));
    assert_eq!(s.last_job_id.as_deref(), Some(js[0].id.as_str()));

    for minute in 1..=3 {
        assert_eq!(
            at(&e, &clock, START + 30_000 + minute * MINUTE).await.fired,
            1
        );
    }
    let ticks: Vec<i64> = jobs(&e).await.iter().map(tick_of).collect();
    let want: Vec<i64> = (0..=3).map(|m| START + 30_000 + m * MINUTE).collect();
    assert_eq!(ticks, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_ticks_give_one_catch_up_job_for_the_latest() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    e.schedule_declare(spec("0 * * * *")).await.unwrap();
    // Down for five hours and a bit: 01:00 .. 05:00 passed.
    let r = at(&e, &clock, START + 5 * HOUR + 10 * MINUTE).await;
    assert_eq!((r.fired, r.skipped), (1, 0));
    let js = jobs(&e).await;
    assert_eq!(js.len(), 1);
    assert_eq!(tick_of(&js[0]), START - 30_000 + 5 * HOUR);
    let s = e.schedule_get("report").await.unwrap();
    assert_eq!(s.next_run_at, START - 30_000 + 6 * HOUR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skip_policy_starts_nothing_for_a_late_tick() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    e.schedule_declare(ScheduleSpec {
        missed: MissedPolicy::Skip,
        ..spec("0 * * * *")
    })
    .await
    .unwrap();
    let r = at(&e, &clock, START + 5 * HOUR + 10 * MINUTE).await;
    assert_eq!((r.fired, r.skipped), (0, 1));
    assert!(jobs(&e).await.is_empty());
    // The next tick, 20 s late, is within the grace: it runs.
    let r = at(&e, &clock, START - 30_000 + 6 * HOUR + 20_000).await;
    assert_eq!((r.fired, r.skipped), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlap_skip_policy_waits_for_the_previous_job() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    e.schedule_declare(ScheduleSpec {
        overlap: OverlapPolicy::Skip,
        ..spec("* * * * *")
    })
    .await
    .unwrap();
    let t1 = START + 30_000;
    assert_eq!(at(&e, &clock, t1).await.fired, 1);
    // The first job is still pending: the next tick is skipped.
    let r = at(&e, &clock, t1 + MINUTE).await;
    assert_eq!((r.fired, r.skipped), (0, 1));
    let first = jobs(&e).await.remove(0);
    e.cancel(&first.id).await.unwrap();
    assert_eq!(at(&e, &clock, t1 + 2 * MINUTE).await.fired, 1);
    let ticks: Vec<i64> = jobs(&e).await.iter().map(tick_of).collect();
    assert_eq!(ticks, vec![t1, t1 + 2 * MINUTE]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_ticks_and_resume_starts_after_now_without_catch_up() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    e.schedule_declare(spec("* * * * *")).await.unwrap();
    let p = e.schedule_pause("report").await.unwrap();
    assert_eq!(p.status, reseolio_core::schedule::ScheduleStatus::Paused);
    assert_eq!(at(&e, &clock, START + 10 * MINUTE).await.fired, 0);
    let r = e.schedule_resume("report").await.unwrap();
    assert_eq!(r.status, reseolio_core::schedule::ScheduleStatus::Active);
    assert_eq!(r.next_run_at, START + 30_000 + 10 * MINUTE);
    assert_eq!(e.run_scheduler_once().await.unwrap().fired, 0);
    assert_eq!(at(&e, &clock, r.next_run_at).await.fired, 1);
    assert_eq!(jobs(&e).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeclaring_updates_and_keeps_the_next_tick() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    let a = e.schedule_declare(spec("*/5 * * * *")).await.unwrap();
    clock.advance_ms(MINUTE);
    let b = e
        .schedule_declare(ScheduleSpec {
            args: b"[2]".to_vec(),
            options: EnqueueOptions {
                max_attempts: Some(9),
                ..Default::default()
            },
            ..spec("*/5 * * * *")
        })
        .await
        .unwrap();
    assert_eq!(
        (b.id.as_str(), b.next_run_at),
        (a.id.as_str(), a.next_run_at)
    );
    assert_eq!(
        (b.args.as_slice(), b.options.max_attempts),
        (&b"[2]"[..], Some(9))
    );
    let page = e
        .schedule_list(ScheduleListParams::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    // A changed expression moves the next tick; update works by id too.
    let c = e
        .schedule_update(
            &a.id,
            ScheduleChange {
                cron: Some("0 8 * * *".into()),
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // 08:00 in Paris in January is 07:00 UTC.
    assert_eq!(c.next_run_at, START - 30_000 + 7 * HOUR);
    // A paused schedule stays paused when re-declared.
    e.schedule_pause(&a.id).await.unwrap();
    let d = e.schedule_declare(spec("0 8 * * *")).await.unwrap();
    assert_eq!(d.status, reseolio_core::schedule::ScheduleStatus::Paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_token_and_stores_nothing() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    let cases: Vec<(ScheduleSpec, &str)> = vec![
        (spec("61 * * * *"), r#""61" is out of range for minute"#),
        (spec("* * *"), "cron expression"),
        (
            ScheduleSpec {
                timezone: Some("Mars/Olympus".into()),
                ..spec("* * * * *")
            },
            "Mars/Olympus",
        ),
        (
            ScheduleSpec {
                options: EnqueueOptions {
                    idempotency_key: Some("k".into()),
                    ..Default::default()
                },
                ..spec("* * * * *")
            },
            "idempotency_key",
        ),
        (
            ScheduleSpec {
                options: EnqueueOptions {
                    max_attempts: Some(0),
                    ..Default::default()
                },
                ..spec("* * * * *")
            },
            "max_attempts",
        ),
        (
            ScheduleSpec {
                function: String::new(),
                ..spec("* * * * *")
            },
            "name",
        ),
    ];
    for (bad, want) in cases {
        let err = e.schedule_declare(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(
            err.message().contains(want),
            "{} lacks {want}",
            err.message()
        );
    }
    assert_eq!(
        e.schedule_list(ScheduleListParams::default())
            .await
            .unwrap()
            .total,
        0
    );
    // A bad update changes nothing.
    e.schedule_declare(spec("* * * * *")).await.unwrap();
    let err = e
        .schedule_update(
            "report",
            ScheduleChange {
                cron: Some("* 25 * * *".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.message().contains(r#""25""#), "{}", err.message());
    assert_eq!(e.schedule_get("report").await.unwrap().cron, "* * * * *");
    for err in [
        e.schedule_get("nope").await.unwrap_err(),
        e.schedule_pause("nope").await.unwrap_err(),
        e.schedule_delete("nope").await.unwrap_err(),
        e.schedule_trigger("nope").await.map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_starts_a_job_now_and_delete_keeps_the_jobs() {
    let clock = ManualClock::at(START);
    let e = leading(&clock).await;
    e.schedule_declare(spec("0 0 1 1 *")).await.unwrap();
    e.schedule_pause("report").await.unwrap();
    let j = e.schedule_trigger("report").await.unwrap();
    let job = e.get(&j.job_id).await.unwrap();
    assert_eq!(
        (job.name.as_str(), job.status),
        ("report", JobStatus::Pending)
    );
    assert_eq!(job.run_at, START);
    e.schedule_delete("report").await.unwrap();
    assert_eq!(
        e.schedule_get("report").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(e.get(&j.job_id).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_fires() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let clock = ManualClock::at(START);
    let config = EngineConfig {
        clock: Arc::new(clock.clone()),
        maintenance: false,
        ..Default::default()
    };
    let a = Engine::open(&url, config.clone()).unwrap();
    let b = Engine::open(&url, config).unwrap();
    assert!(a.run_maintenance_once().await.unwrap().leader);
    assert!(!b.run_maintenance_once().await.unwrap().leader);
    a.schedule_declare(spec("* * * * *")).await.unwrap();
    clock.set_ms(START + 30_000);
    // a renews its term first; b finds it taken.
    assert!(a.run_maintenance_once().await.unwrap().leader);
    assert!(!b.run_maintenance_once().await.unwrap().leader);
    let rb = b.run_scheduler_once().await.unwrap();
    assert_eq!((rb.leader, rb.fired), (false, 0));
    assert_eq!(a.run_scheduler_once().await.unwrap().fired, 1);
    assert_eq!(jobs(&b).await.len(), 1);
}

/// Runs `nodes` engines on `url` on the wall clock with an every-second schedule, shuts the
/// leader down midway, and checks that every tick made at most one job and that the ticks have
/// no gap longer than the handover.
async fn wall_clock_fleet(url: &str, nodes: usize) {
    let config = EngineConfig {
        maintenance_interval: Duration::from_millis(100),
        node_timeout: Duration::from_millis(600),
        leader_ttl: Duration::from_millis(500),
        poll_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let mut engines = Vec::new();
    for _ in 0..nodes {
        engines.push(Engine::open_async(url, config.clone()).await.unwrap());
    }
    engines[0]
        .schedule_declare(spec("* * * * * *"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let leader = engines[0]
        .leader()
        .await
        .unwrap()
        .expect("a leader")
        .node_id;
    let i = engines.iter().position(|e| e.node_id() == leader).unwrap();
    let gone = engines.remove(i);
    gone.shutdown().await;
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let e = &engines[0];
    e.schedule_pause("report").await.unwrap();
    let js = jobs(e).await;
    let mut per_tick: BTreeMap<i64, usize> = BTreeMap::new();
    for j in &js {
        assert_eq!(j.name, "report");
        *per_tick.entry(tick_of(j)).or_default() += 1;
    }
    assert!(per_tick.values().all(|n| *n == 1), "{per_tick:?}");
    let ticks: Vec<i64> = per_tick.keys().copied().collect();
    assert!(ticks.iter().all(|t| t % 1000 == 0), "{ticks:?}");
    // About six seconds of ticks; a handover may miss at most the tick or two it took.
    assert!(ticks.len() >= 4, "{ticks:?}");
    let widest = ticks.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(widest <= 2000, "a gap of {widest} ms in {ticks:?}");
    eprintln!(
        "{nodes} engines, leader shut down midway: {} ticks, each one job, widest gap {widest} ms",
        ticks.len()
    );
    for e in engines {
        e.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_engines_on_one_sqlite_file_fire_each_tick_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    wall_clock_fleet(&url, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_postgres_fire_each_tick_once() {
    let Ok(url) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let sep = if url.contains('?') { '&' } else { '?' };
    wall_clock_fleet(&format!("{url}{sep}schema={schema}"), 3).await;
}
