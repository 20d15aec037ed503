//! The schedule cases of the store conformance suite.

use super::T0;
use crate::error::ErrorKind;
use crate::job::{Backoff, EnqueueOptions, JobStatus};
use crate::schedule::{MissedPolicy, OverlapPolicy, ScheduleStatus};
use crate::store::*;
use std::sync::Arc;

fn declare(name: &str, cron: &str, next: i64, now: i64) -> ScheduleUpsertParams {
    ScheduleUpsertParams {
        id: format!("id-{name}-{now}"),
        name: name.into(),
        function: format!("fn-{name}"),
        cron: cron.into(),
        timezone: "UTC".into(),
        args: b"[1]".to_vec(),
        options: EnqueueOptions::default(),
        missed: MissedPolicy::RunLatest,
        overlap: OverlapPolicy::Allow,
        next_run_at: next,
        now_ms: now,
    }
}

fn tick_job(schedule_id: &str, tick: i64, now: i64) -> JobInsertParams {
    JobInsertParams {
        id: format!("job-{tick}-{now}"),
        name: "fn-s".into(),
        args: b"[]".to_vec(),
        options: EnqueueOptions {
            idempotency_key: Some(format!("schedule:{schedule_id}:{tick}")),
            ..Default::default()
        }
        .resolve(now)
        .unwrap(),
        now_ms: now,
        claim: None,
    }
}

/// A firing of `id` expecting tick `expected`; [`fire_now`] fills in the version it is at.
fn fire(id: &str, expected: i64, next: i64, job: Option<JobInsertParams>) -> ScheduleFireParams {
    ScheduleFireParams {
        schedule_id: id.into(),
        expected_next_run_at: expected,
        expected_version: -1,
        next_run_at: next,
        run_tick: expected,
        job,
        skip_if_running: false,
    }
}

/// Fires with the version the schedule is at now (the cases below are not about versions,
/// except where they say so).
async fn fire_now(s: &Arc<dyn Store>, mut p: ScheduleFireParams) -> Result<ScheduleFireResult> {
    p.expected_version = current(s, &p.schedule_id).await.version;
    s.schedule_fire(p).await
}

async fn current(s: &Arc<dyn Store>, id: &str) -> crate::schedule::Schedule {
    s.schedule_get(ScheduleGetParams {
        id_or_name: id.into(),
    })
    .await
    .unwrap()
}

/// A declaration reads back as written, by id and by name; a second declaration of the name
/// updates it, keeping its id, its creation time and, with the same expression and zone, its
/// next tick; listing filters by status and pages by name.
pub async fn schedule_declare_get_list_and_redeclare(s: Arc<dyn Store>) {
    let mut p = declare("s", "* * * * *", T0 + 60_000, T0);
    p.options = EnqueueOptions {
        max_attempts: Some(4),
        backoff: Some(Backoff::Linear),
        initial_delay_ms: Some(10),
        max_delay_ms: Some(20),
        jitter: Some(0.5),
        timeout_ms: Some(30),
        priority: Some(-2),
        ..Default::default()
    };
    p.missed = MissedPolicy::Skip;
    p.overlap = OverlapPolicy::Skip;
    let r = s.schedule_upsert(p.clone()).await.unwrap();
    assert!(r.created);
    let a = r.schedule;
    assert_eq!(
        (a.id.as_str(), a.name.as_str(), a.function.as_str()),
        ("id-s-1700000000000", "s", "fn-s")
    );
    assert_eq!((a.cron.as_str(), a.timezone.as_str()), ("* * * * *", "UTC"));
    assert_eq!(a.status, ScheduleStatus::Active);
    assert_eq!(a.args, b"[1]");
    assert_eq!(a.options, p.options);
    assert_eq!(
        (a.missed, a.overlap),
        (MissedPolicy::Skip, OverlapPolicy::Skip)
    );
    assert_eq!(
        (a.next_run_at, a.last_run_at, a.last_job_id.clone()),
        (T0 + 60_000, None, None)
    );
    assert_eq!((a.created_at, a.updated_at), (T0, T0));
    let by_name = s
        .schedule_get(ScheduleGetParams {
            id_or_name: "s".into(),
        })
        .await
        .unwrap();
    assert_eq!(by_name, a);
    let by_id = s
        .schedule_get(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(by_id, a);

    // Re-declared with the same expression: an update, the next tick kept.
    let mut again = declare("s", "* * * * *", T0 + 120_000, T0 + 5);
    again.args = b"[2]".to_vec();
    let r = s.schedule_upsert(again).await.unwrap();
    assert!(!r.created);
    assert_eq!(r.schedule.id, a.id);
    assert_eq!(r.schedule.args, b"[2]");
    assert_eq!(r.schedule.next_run_at, T0 + 60_000);
    assert_eq!((r.schedule.created_at, r.schedule.updated_at), (T0, T0 + 5));
    assert_eq!(r.schedule.options, EnqueueOptions::default());
    // With a new expression: the new next tick.
    let r = s
        .schedule_upsert(declare("s", "0 * * * *", T0 + 3_600_000, T0 + 6))
        .await
        .unwrap();
    assert_eq!(
        (r.schedule.cron.as_str(), r.schedule.next_run_at),
        ("0 * * * *", T0 + 3_600_000)
    );

    for n in ["b", "c", "d"] {
        s.schedule_upsert(declare(n, "* * * * *", T0, T0))
            .await
            .unwrap();
    }
    let paused = s
        .schedule_get(ScheduleGetParams {
            id_or_name: "c".into(),
        })
        .await
        .unwrap();
    s.schedule_update(update_from(&paused, ScheduleStatus::Paused, None, T0))
        .await
        .unwrap();
    let page = s
        .schedule_list(ScheduleListParams {
            status: None,
            limit: 2,
            offset: 1,
        })
        .await
        .unwrap();
    let names: Vec<_> = page.schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!((names, page.total), (vec!["c", "d"], 4));
    let active = s
        .schedule_list(ScheduleListParams {
            status: Some(ScheduleStatus::Active),
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    let names: Vec<_> = active.schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!((names, active.total), (vec!["b", "d", "s"], 3));
    let err = s
        .schedule_list(ScheduleListParams {
            status: None,
            limit: 0,
            offset: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = s
        .schedule_get(ScheduleGetParams {
            id_or_name: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("nope"), "{}", err.message());
}

fn update_from(
    s: &crate::schedule::Schedule,
    status: ScheduleStatus,
    next: Option<i64>,
    now: i64,
) -> ScheduleUpdateParams {
    ScheduleUpdateParams {
        id: s.id.clone(),
        cron: s.cron.clone(),
        timezone: s.timezone.clone(),
        args: s.args.clone(),
        options: s.options.clone(),
        missed: s.missed,
        overlap: s.overlap,
        status,
        next_run_at: next,
        now_ms: now,
        expected_version: s.version,
    }
}

/// An update writes the whole definition (keeping the next tick when none is given); a paused
/// schedule is never due; delete removes it and an unknown id is NotFound.
pub async fn schedule_update_pause_and_delete(s: Arc<dyn Store>) {
    let a = s
        .schedule_upsert(declare("s", "* * * * *", T0 + 60_000, T0))
        .await
        .unwrap()
        .schedule;
    let mut u = update_from(&a, ScheduleStatus::Active, None, T0 + 1);
    u.cron = "*/5 * * * *".into();
    u.timezone = "Europe/Paris".into();
    u.missed = MissedPolicy::Skip;
    let b = s.schedule_update(u).await.unwrap();
    assert_eq!(
        (b.cron.as_str(), b.timezone.as_str()),
        ("*/5 * * * *", "Europe/Paris")
    );
    assert_eq!(
        (b.missed, b.next_run_at, b.updated_at),
        (MissedPolicy::Skip, T0 + 60_000, T0 + 1)
    );
    let due = |now| {
        s.schedule_due(ScheduleDueParams {
            now_ms: now,
            limit: 10,
        })
    };
    assert_eq!(due(T0 + 60_000).await.unwrap().len(), 1);
    assert_eq!(due(T0 + 59_999).await.unwrap().len(), 0);
    assert_eq!(s.schedule_next_due().await.unwrap(), Some(T0 + 60_000));

    let p = s
        .schedule_update(update_from(&b, ScheduleStatus::Paused, None, T0 + 2))
        .await
        .unwrap();
    assert_eq!(p.status, ScheduleStatus::Paused);
    assert!(due(T0 + 10_000_000).await.unwrap().is_empty());
    assert_eq!(s.schedule_next_due().await.unwrap(), None);
    let r = s
        .schedule_update(update_from(
            &p,
            ScheduleStatus::Active,
            Some(T0 + 300_000),
            T0 + 3,
        ))
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.next_run_at),
        (ScheduleStatus::Active, T0 + 300_000)
    );

    s.schedule_delete(ScheduleGetParams {
        id_or_name: a.id.clone(),
    })
    .await
    .unwrap();
    for err in [
        s.schedule_get(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap_err(),
        s.schedule_delete(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap_err(),
        s.schedule_update(update_from(&a, ScheduleStatus::Active, None, T0))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }
}

/// A tick fires once: the firing that expects it inserts the job and moves the schedule on; a
/// second firing of the same tick applies nothing; a tick key already used finds its job.
pub async fn schedule_fire_applies_once_per_tick(s: Arc<dyn Store>) {
    let t1 = T0 + 60_000;
    let a = s
        .schedule_upsert(declare("s", "* * * * *", t1, T0))
        .await
        .unwrap()
        .schedule;
    let r = fire_now(
        &s,
        fire(&a.id, t1, t1 + 60_000, Some(tick_job(&a.id, t1, t1))),
    )
    .await
    .unwrap();
    assert!(r.applied && r.job_created && !r.skipped_overlap, "{r:?}");
    let job_id = r.job_id.clone().unwrap();
    let job = s
        .job_get(JobGetParams { id: job_id.clone() })
        .await
        .unwrap();
    assert_eq!(job.idempotency_key, Some(format!("schedule:{}:{t1}", a.id)));
    assert_eq!(job.status, JobStatus::Pending);
    let after = s
        .schedule_get(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(after.next_run_at, t1 + 60_000);
    assert_eq!(
        (after.last_run_at, after.last_job_id.clone()),
        (Some(t1), Some(job_id.clone()))
    );

    // The same tick again: not applied, nothing written.
    let again = fire_now(
        &s,
        fire(&a.id, t1, t1 + 60_000, Some(tick_job(&a.id, t1, t1 + 1))),
    )
    .await
    .unwrap();
    assert!(!again.applied && again.job_id.is_none(), "{again:?}");
    let all = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 1);

    // A tick whose key exists (a firing lost its answer and the schedule was rewound by hand):
    // the job is found, not made twice.
    s.schedule_update(update_from(&after, ScheduleStatus::Active, Some(t1), T0))
        .await
        .unwrap();
    let r = fire_now(
        &s,
        fire(&a.id, t1, t1 + 60_000, Some(tick_job(&a.id, t1, t1 + 2))),
    )
    .await
    .unwrap();
    assert!(r.applied && !r.job_created, "{r:?}");
    assert_eq!(r.job_id, Some(job_id));
    // A firing computed from a stale read (the schedule was written since) applies nothing.
    let stale = current(&s, &a.id).await;
    let t2 = stale.next_run_at;
    s.schedule_update(update_from(&stale, ScheduleStatus::Active, None, T0 + 3))
        .await
        .unwrap();
    let mut old = fire(&a.id, t2, t2 + 60_000, None);
    old.expected_version = stale.version;
    assert!(!s.schedule_fire(old).await.unwrap().applied);
    // So does an update from a stale read: a Conflict, nothing changed.
    let mut late = update_from(&stale, ScheduleStatus::Paused, None, T0 + 4);
    late.cron = "0 0 * * *".into();
    let err = s.schedule_update(late).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let kept = current(&s, &a.id).await;
    assert_eq!(
        (kept.status, kept.cron.as_str()),
        (ScheduleStatus::Active, "* * * * *")
    );
    assert_eq!(kept.version, stale.version + 1);
    // A paused schedule does not fire.
    let paused = s
        .schedule_update(update_from(&kept, ScheduleStatus::Paused, None, T0))
        .await
        .unwrap();
    let r = fire_now(
        &s,
        fire(&a.id, paused.next_run_at, paused.next_run_at + 60_000, None),
    )
    .await
    .unwrap();
    assert!(!r.applied);
}

/// The overlap rule skips a tick while the previous job is unfinished and not once it is done;
/// a tick without a job only moves the schedule on.
pub async fn schedule_fire_overlap_and_skipped_ticks(s: Arc<dyn Store>) {
    let t1 = T0 + 60_000;
    let a = s
        .schedule_upsert(declare("s", "* * * * *", t1, T0))
        .await
        .unwrap()
        .schedule;
    let mut p = fire(&a.id, t1, t1 + 60_000, Some(tick_job(&a.id, t1, t1)));
    p.skip_if_running = true;
    let first = fire_now(&s, p).await.unwrap();
    assert!(first.job_created);
    let t2 = t1 + 60_000;
    let mut p = fire(&a.id, t2, t2 + 60_000, Some(tick_job(&a.id, t2, t2)));
    p.skip_if_running = true;
    let r = fire_now(&s, p).await.unwrap();
    assert!(
        r.applied && r.skipped_overlap && r.job_id.is_none(),
        "{r:?}"
    );
    let sch = s
        .schedule_get(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!((sch.next_run_at, sch.last_run_at), (t2 + 60_000, Some(t1)));
    assert_eq!(sch.last_job_id, first.job_id);

    // The previous job finishes: the next tick runs.
    s.job_cancel(JobCancelParams {
        id: first.job_id.clone().unwrap(),
        now_ms: t2,
    })
    .await
    .unwrap();
    let t3 = t2 + 60_000;
    let mut p = fire(&a.id, t3, t3 + 60_000, Some(tick_job(&a.id, t3, t3)));
    p.skip_if_running = true;
    let r = fire_now(&s, p).await.unwrap();
    assert!(r.applied && r.job_created && !r.skipped_overlap, "{r:?}");

    // A tick that starts nothing (a skipped missed tick) moves the schedule on only.
    let t4 = t3 + 60_000;
    let r = fire_now(&s, fire(&a.id, t4, t4 + 60_000, None))
        .await
        .unwrap();
    assert!(r.applied && r.job_id.is_none() && !r.job_created, "{r:?}");
    let sch = s
        .schedule_get(ScheduleGetParams {
            id_or_name: a.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!((sch.next_run_at, sch.last_run_at), (t4 + 60_000, Some(t3)));
}
