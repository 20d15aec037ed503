//! The schedule calls on every transport (embedded SQLite, embedded PostgreSQL, a sidecar):
//! the same answers and the same error kinds through the same Client API, and a seconds-level
//! schedule that fires and whose jobs run.

mod common;

use common::*;
use reseolio_ffi::{
    Client, EnqueueOptions, ErrorKind, JobListParams, JobStatus, MissedPolicy, Outcome,
    OverlapPolicy, ScheduleChange, ScheduleListParams, ScheduleSpec, ScheduleStatus,
};
use std::time::{Duration, Instant};

fn spec(name: &str, cron: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        function: "report".into(),
        cron: cron.into(),
        args: b"[\"x\"]".to_vec(),
        ..Default::default()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn declare_read_change_and_delete(c: Client) {
    let a = c
        .schedule_declare(ScheduleSpec {
            timezone: Some("Europe/Paris".into()),
            options: EnqueueOptions {
                max_attempts: Some(5),
                initial_delay_ms: Some(0),
                ..Default::default()
            },
            missed: MissedPolicy::Skip,
            overlap: OverlapPolicy::Skip,
            ..spec("nightly", "0 3 * * *")
        })
        .await
        .unwrap();
    assert_eq!(
        (a.name.as_str(), a.function.as_str(), a.timezone.as_str()),
        ("nightly", "report", "Europe/Paris")
    );
    assert_eq!(
        (a.status, a.last_run_at, a.last_job_id.clone()),
        (ScheduleStatus::Active, None, None)
    );
    assert_eq!(
        (a.missed, a.overlap),
        (MissedPolicy::Skip, OverlapPolicy::Skip)
    );
    assert_eq!(
        (a.options.max_attempts, a.options.initial_delay_ms),
        (Some(5), Some(0))
    );
    assert_eq!(a.args, b"[\"x\"]");
    assert!(a.next_run_at > now_ms() && a.next_run_at <= now_ms() + 86_400_000);
    assert_eq!(c.schedule_get("nightly").await.unwrap(), a);
    assert_eq!(c.schedule_get(&a.id).await.unwrap(), a);

    // Re-declared: the same schedule, updated.
    let again = c
        .schedule_declare(ScheduleSpec {
            timezone: Some("Europe/Paris".into()),
            ..spec("nightly", "0 3 * * *")
        })
        .await
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.next_run_at),
        (a.id.as_str(), a.next_run_at)
    );
    assert_eq!(again.missed, MissedPolicy::RunLatest);
    c.schedule_declare(spec("hourly", "@hourly")).await.unwrap();
    c.schedule_declare(spec("weekly", "0 9 * * MON"))
        .await
        .unwrap();

    let paused = c.schedule_pause("hourly").await.unwrap();
    assert_eq!(paused.status, ScheduleStatus::Paused);
    let all = c
        .schedule_list(ScheduleListParams::default())
        .await
        .unwrap();
    let names: Vec<_> = all.schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!((names, all.total), (vec!["hourly", "nightly", "weekly"], 3));
    let active = c
        .schedule_list(ScheduleListParams {
            status: Some(ScheduleStatus::Active),
            limit: 1,
            offset: 1,
        })
        .await
        .unwrap();
    let names: Vec<_> = active.schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!((names, active.total), (vec!["weekly"], 2));
    let resumed = c.schedule_resume("hourly").await.unwrap();
    assert_eq!(resumed.status, ScheduleStatus::Active);
    assert!(resumed.next_run_at > now_ms());

    let changed = c
        .schedule_update(
            &a.id,
            ScheduleChange {
                cron: Some("*/5 * * * *".into()),
                timezone: Some("UTC".into()),
                args: Some(b"[2]".to_vec()),
                options: Some(EnqueueOptions {
                    priority: Some(3),
                    ..Default::default()
                }),
                missed: Some(MissedPolicy::Skip),
                overlap: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.cron.as_str(), changed.timezone.as_str()),
        ("*/5 * * * *", "UTC")
    );
    assert_eq!(changed.args, b"[2]");
    assert_eq!(
        (changed.options.priority, changed.options.max_attempts),
        (Some(3), None)
    );
    assert_eq!(
        (changed.missed, changed.overlap),
        (MissedPolicy::Skip, OverlapPolicy::Allow)
    );
    assert!(changed.next_run_at <= now_ms() + 300_000);
    assert_eq!(changed.next_run_at % 300_000, 0);

    c.schedule_delete("nightly").await.unwrap();
    let err = c.schedule_get("nightly").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        c.schedule_list(ScheduleListParams::default())
            .await
            .unwrap()
            .total,
        2
    );
}

async fn bad_schedules_name_the_token_and_store_nothing(c: Client) {
    let cases = [
        (
            spec("a", "61 * * * *"),
            r#""61" is out of range for minute"#,
        ),
        (spec("a", "* * * * * * *"), "found 7"),
        (spec("a", "0 0 30 2 *"), r#""30" never occurs"#),
        (
            ScheduleSpec {
                timezone: Some("Mars/Olympus".into()),
                ..spec("a", "* * * * *")
            },
            "Mars/Olympus",
        ),
        (
            ScheduleSpec {
                options: EnqueueOptions {
                    delay_ms: Some(5),
                    ..Default::default()
                },
                ..spec("a", "* * * * *")
            },
            "delay_ms",
        ),
    ];
    for (bad, want) in cases {
        let err = c.schedule_declare(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(
            err.message().contains(want),
            "'{}' lacks '{want}'",
            err.message()
        );
    }
    let err = c
        .schedule_list(ScheduleListParams {
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        c.schedule_list(ScheduleListParams::default())
            .await
            .unwrap()
            .total,
        0
    );
    for err in [
        c.schedule_get("nope").await.unwrap_err(),
        c.schedule_pause("nope").await.unwrap_err(),
        c.schedule_resume("nope").await.unwrap_err(),
        c.schedule_delete("nope").await.unwrap_err(),
        c.schedule_trigger("nope").await.map(|_| ()).unwrap_err(),
        c.schedule_update("nope", ScheduleChange::default())
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.message().contains("nope"), "{err}");
    }
}

/// A seconds-level schedule fires on the leader, its jobs run in a worker, trigger starts one
/// more at once, and pausing stops the ticks.
async fn a_seconds_schedule_fires_and_its_jobs_run(c: Client) {
    let s = c
        .schedule_declare(spec("every-second", "* * * * * *"))
        .await
        .unwrap();
    let w = c.worker(vec!["report".into()], 4).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ran = 0;
    while ran < 3 {
        assert!(
            Instant::now() < deadline,
            "{ran} scheduled jobs ran in 10 s"
        );
        let t = tokio::time::timeout(Duration::from_secs(5), w.poll())
            .await
            .expect("a scheduled job within 5 s")
            .unwrap();
        assert_eq!(
            (t.job().name.as_str(), t.job().args.as_slice()),
            ("report", &b"[\"x\"]"[..])
        );
        w.complete(&t.job().token, Outcome::Success(b"1".to_vec()))
            .await
            .unwrap();
        ran += 1;
    }
    let fired = c.schedule_get(&s.id).await.unwrap();
    assert!(
        fired.last_run_at.is_some() && fired.last_job_id.is_some(),
        "{fired:?}"
    );
    let last = c.get(fired.last_job_id.as_deref().unwrap()).await.unwrap();
    assert_eq!(
        last.idempotency_key,
        Some(format!("schedule:{}:{}", s.id, fired.last_run_at.unwrap()))
    );

    c.schedule_pause(&s.id).await.unwrap();
    let triggered = c.schedule_trigger(&s.id).await.unwrap();
    let done = c
        .await_result(&triggered.job_id, Some(Duration::from_millis(1)))
        .await;
    assert!(done.is_err(), "nothing ran the triggered job yet");
    let count = |c: Client| async move {
        c.list(JobListParams {
            names: vec!["report".into()],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
    };
    let before = count(c.clone()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(c.clone()).await, before, "a paused schedule fired");
    // The triggered job runs like any other.
    loop {
        let t = tokio::time::timeout(Duration::from_secs(5), w.poll())
            .await
            .expect("the remaining jobs within 5 s")
            .unwrap();
        let id = t.job().token.job_id.clone();
        w.complete(&t.job().token, Outcome::Success(b"1".to_vec()))
            .await
            .unwrap();
        if id == triggered.job_id {
            break;
        }
    }
    let job = c.await_result(&triggered.job_id, None).await.unwrap();
    assert_eq!(job.status, JobStatus::Success);
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

transport_conformance!(
    declare_read_change_and_delete,
    bad_schedules_name_the_token_and_store_nothing,
    a_seconds_schedule_fires_and_its_jobs_run,
);
