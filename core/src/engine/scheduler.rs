//! The scheduler: on the leader only, fires every due tick of every active schedule.
//!
//! Exactly one job per tick rests on three guards, any one of which would be enough on its own:
//! only the leader fires (and only while its term runs); a firing is one store transaction that
//! applies only if the schedule still expects that tick, moving it on in the same commit; and
//! the tick's job carries the idempotency key `schedule:<id>:<tick ms>`.
//!
//! Missed ticks (no leader was running) give one catch-up job, for the most recent of them, or
//! none under [`MissedPolicy::Skip`]; never a burst.

use super::Inner;
use crate::error::Result;
use crate::schedule::{
    latest_tick_at_or_before, next_tick, parse_timezone, CronExpr, MissedPolicy, OverlapPolicy,
    Schedule, MISSED_GRACE_MS,
};
use crate::store::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Due schedules read per store call.
const BATCH: u32 = 200;
/// Batches fired per pass before the loop yields (a backlog continues on the next pass).
const MAX_BATCHES: usize = 50;

/// What one scheduler pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerReport {
    /// Whether this node led (only the leader fires).
    pub leader: bool,
    /// Ticks that started a job (a job found by its tick key counts too).
    pub fired: u64,
    /// Ticks that started nothing: missed under the skip policy, or skipped by the overlap rule.
    pub skipped: u64,
    /// Firings that failed (logged); they are tried again after a poll interval.
    pub failed: u64,
    /// The earliest next tick of any active schedule after the pass.
    pub next_due: Option<i64>,
}

pub(crate) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        let changed = inner.signals.schedules_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let mut wait = inner.config.poll_interval;
        match pass(&inner).await {
            Ok(report) => {
                // Sleep to the next tick when it is sooner than a poll; the poll still looks
                // for schedules declared by other processes. After a failed firing the due
                // tick is still due: waiting a poll keeps a failing store from a busy loop.
                if let (Some(next), 0) = (report.next_due, report.failed) {
                    let until = next.saturating_sub(inner.now_ms()).max(0) as u64;
                    wait = wait.min(Duration::from_millis(until));
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed; retrying next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut changed => {}
            _ = stop.changed() => return,
        }
    }
}

/// Fires every due tick, if this node leads.
pub(crate) async fn pass(inner: &Arc<Inner>) -> Result<SchedulerReport> {
    let mut report = SchedulerReport::default();
    if !inner.leads() {
        return Ok(report);
    }
    report.leader = true;
    for _ in 0..MAX_BATCHES {
        if !inner.leads() {
            break;
        }
        let now = inner.now_ms();
        let due = inner
            .store
            .schedule_due(ScheduleDueParams {
                now_ms: now,
                limit: BATCH,
            })
            .await?;
        let full = due.len() as u32 == BATCH;
        // The ticks of one batch fire concurrently, so that on SQLite their writes share group
        // commits instead of queueing one commit each (a minute's worth of schedules due in the
        // same second would otherwise fire late).
        let mut firing = tokio::task::JoinSet::new();
        for s in due {
            // The term may lapse mid-batch (a stalled process): stop firing then.
            if !inner.leads() {
                break;
            }
            let inner = inner.clone();
            firing.spawn(async move {
                let r = fire(&inner, &s, now).await;
                (s.name, r)
            });
        }
        while let Some(done) = firing.join_next().await {
            match done {
                Ok((_, Ok(Some(true)))) => report.fired += 1,
                Ok((_, Ok(Some(false)))) => report.skipped += 1,
                Ok((_, Ok(None))) => {}
                Ok((name, Err(e))) => {
                    report.failed += 1;
                    tracing::warn!(schedule = %name, error = %e, "firing a schedule tick failed")
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(error = %e, "a schedule firing task failed")
                }
            }
        }
        if !full || report.failed > 0 {
            break;
        }
    }
    report.next_due = inner.store.schedule_next_due().await?;
    Ok(report)
}

/// Fires the due tick of one schedule. Some(true) when a job was started (or found by its key),
/// Some(false) when the tick started nothing, None when another firing got there first.
async fn fire(inner: &Inner, s: &Schedule, now: i64) -> Result<Option<bool>> {
    let expr = CronExpr::parse(&s.cron)?;
    let tz = parse_timezone(&s.timezone)?;
    let tick = s.next_run_at;
    // Ticks between the stored one and now were missed: only the latest may start a job.
    let latest = latest_tick_at_or_before(&expr, tz, tick - 1, now).unwrap_or(tick);
    if latest != tick {
        tracing::info!(
            schedule = %s.name,
            due = tick,
            latest,
            "ticks were missed (no leader ran, or the scheduler fell behind): only the latest counts"
        );
    }
    let next = next_tick(&expr, tz, now).unwrap_or(i64::MAX);
    let on_time = now - latest <= MISSED_GRACE_MS;
    let job = if s.missed == MissedPolicy::RunLatest || on_time {
        let mut options = s.options.clone();
        options.idempotency_key = Some(s.tick_key(latest));
        Some(JobInsertParams {
            id: uuid::Uuid::now_v7().to_string(),
            name: s.function.clone(),
            args: s.args.clone(),
            options: options.resolve(now)?,
            now_ms: now,
            claim: None,
        })
    } else {
        None
    };
    let wanted = job.is_some();
    let r = inner
        .store
        .schedule_fire(ScheduleFireParams {
            schedule_id: s.id.clone(),
            expected_next_run_at: tick,
            expected_version: s.version,
            next_run_at: next,
            job,
            run_tick: latest,
            skip_if_running: s.overlap == OverlapPolicy::Skip,
        })
        .await?;
    if !r.applied {
        return Ok(None);
    }
    if r.job_created {
        inner.metrics.enqueued(&s.function);
        inner.signals.job_available.notify_waiters();
    }
    Ok(Some(wanted && !r.skipped_overlap))
}
