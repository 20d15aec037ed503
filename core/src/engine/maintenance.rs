//! The maintenance loop every engine runs: heartbeat this node, find dead nodes, take part in the
//! leader election, and, on the leader only, rescue jobs whose lease expired or whose process
//! died and prune old finished jobs.
//!
//! The leader is elected through the store (one row with a term, renewed every pass; see
//! `Store::leader_elect`), on SQLite and PostgreSQL alike. A leader whose process is seen dead on
//! this host is replaced at once; one on another host when its term lapses. Running the rescuer
//! on one node saves work, it is not what makes it safe: `job_rescue` is a single write
//! transaction that re-reads each job, so two rescuers at once (a term lapsing mid-pass) cannot
//! both move a job.

use super::liveness;
use super::{jitter_sample, Inner};
use crate::error::Result;
use crate::store::*;
use std::sync::Arc;
use tokio::sync::watch;

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs whose attempt was counted lost.
    pub rescued: Vec<JobRescued>,
    /// Nodes found dead and removed.
    pub dead_nodes: Vec<String>,
    /// Finished jobs deleted.
    pub pruned: u64,
    /// Whether this node led during the pass (only the leader rescues and prunes).
    pub leader: bool,
}

pub(crate) async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut last_prune = i64::MIN;
    loop {
        let now = inner.now_ms();
        let prune_due =
            now.saturating_sub(last_prune) >= inner.config.prune_interval.as_millis() as i64;
        match pass(&inner, prune_due).await {
            Ok(report) => {
                if prune_due {
                    last_prune = now;
                }
                if !report.rescued.is_empty() || report.pruned > 0 {
                    tracing::info!(
                        rescued = report.rescued.len(),
                        dead_nodes = report.dead_nodes.len(),
                        pruned = report.pruned,
                        "maintenance"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "maintenance pass failed; retrying next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(inner.config.maintenance_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

pub(crate) async fn pass(inner: &Inner, prune: bool) -> Result<Report> {
    let now = inner.now_ms();
    let host = liveness::hostname();
    let pid = std::process::id() as i64;
    inner
        .store
        .node_heartbeat(NodeHeartbeatParams {
            node: Node {
                id: inner.node_id.clone(),
                hostname: host.clone(),
                pid,
                process_start: liveness::process_start(pid).unwrap_or(0),
                heartbeat_at: now,
            },
        })
        .await?;
    let timeout = inner.config.node_timeout.as_millis() as i64;
    let dead_nodes: Vec<String> = inner
        .store
        .node_list()
        .await?
        .into_iter()
        .filter(|n| n.id != inner.node_id)
        .filter(|n| now - n.heartbeat_at > timeout || liveness::known_dead(n, &host))
        .map(|n| n.id)
        .collect();
    let leader = inner
        .store
        .leader_elect(LeaderElectParams {
            node_id: inner.node_id.clone(),
            now_ms: now,
            ttl_ms: inner.config.leader_ttl.as_millis() as i64,
            dead_node_ids: dead_nodes.clone(),
        })
        .await?;
    let was_leading = inner.leads();
    let term_until = if leader.node_id == inner.node_id {
        leader.expires_at
    } else {
        0
    };
    inner
        .leader_until
        .store(term_until, std::sync::atomic::Ordering::Release);
    if !was_leading && term_until > 0 {
        inner.signals.schedules_changed.notify_waiters();
    }
    if leader.node_id != inner.node_id {
        return Ok(Report {
            leader: false,
            ..Report::default()
        });
    }
    let rescued = inner
        .store
        .job_rescue(JobRescueParams {
            now_ms: now,
            dead_node_ids: dead_nodes.clone(),
            jitter_sample: jitter_sample(),
        })
        .await?;
    for r in &rescued {
        if r.status.is_terminal() {
            inner.signals.finished(&r.job_id, None);
        }
        // A rescued job's task in this process (a stuck handler) is told its lease is gone.
        inner.signals.cancel_running(&r.job_id);
    }
    if !rescued.is_empty() {
        inner.metrics.lost(rescued.len() as u64);
        inner.signals.job_available.notify_waiters();
    }
    if !dead_nodes.is_empty() {
        inner
            .store
            .node_delete(NodeDeleteParams {
                ids: dead_nodes.clone(),
            })
            .await?;
    }
    let mut pruned = 0;
    if let (true, Some(retention)) = (prune, inner.config.retention) {
        let before = now.saturating_sub(retention.as_millis() as i64);
        loop {
            let n = inner
                .store
                .job_prune(JobPruneParams {
                    completed_before_ms: before,
                    limit: 1000,
                })
                .await?;
            pruned += n;
            if n < 1000 {
                break;
            }
        }
    }
    Ok(Report {
        rescued,
        dead_nodes,
        pruned,
        leader: true,
    })
}
