//! `reseolio stats`: jobs by status, jobs finished in the last minutes, schedules by status and
//! the leader.

use super::output::{json, table, time};
use super::{open, DbArgs, Failure};
use reseolio_core::schedule::ScheduleStatus;
use reseolio_core::store::{ScheduleListParams, StatsParams};
use serde_json::json as j;

/// The arguments of `reseolio stats`.
#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Minutes of finished-job throughput to show (1 to 1440).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    minutes: u32,
}

/// Runs `reseolio stats`.
pub async fn run(args: StatsArgs) -> Result<(), Failure> {
    let e = open(&args.db.db, false).await?;
    let r = async {
        let stats = e
            .stats(StatsParams {
                window_ms: i64::from(args.minutes) * 60_000,
                bucket_ms: 60_000,
            })
            .await?;
        let mut schedules = Vec::new();
        for s in [ScheduleStatus::Active, ScheduleStatus::Paused] {
            let page = e
                .schedule_list(ScheduleListParams {
                    status: Some(s),
                    limit: 1,
                    offset: 0,
                })
                .await?;
            schedules.push((s, page.total));
        }
        let leader = e.leader().await?;
        Ok::<_, reseolio_core::Error>((stats, schedules, leader))
    }
    .await
    .map_err(Failure::from);
    e.shutdown().await;
    let (stats, schedules, leader) = r?;
    if args.db.json {
        let counts: serde_json::Map<String, serde_json::Value> = stats
            .counts
            .iter()
            .map(|c| (c.status.as_str().to_string(), c.count.into()))
            .collect();
        let throughput: Vec<_> = stats
            .throughput
            .iter()
            .map(|b| {
                j!({ "start_ms": b.start_ms, "succeeded": b.succeeded, "dead": b.dead,
                     "cancelled": b.cancelled })
            })
            .collect();
        let sched: serde_json::Map<String, serde_json::Value> = schedules
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), (*n).into()))
            .collect();
        json(&j!({
            "jobs": counts,
            "throughput": throughput,
            "schedules": sched,
            "leader": leader.map(|l| j!({ "node_id": l.node_id, "expires_at": l.expires_at })),
        }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = stats
        .counts
        .iter()
        .map(|c| vec![c.status.as_str().to_string(), c.count.to_string()])
        .collect();
    table(&["STATUS", "JOBS"], &rows);
    let (ok, dead, cancelled) = stats.throughput.iter().fold((0, 0, 0), |(a, b, c), t| {
        (a + t.succeeded, b + t.dead, c + t.cancelled)
    });
    println!(
        "\nlast {} min: {ok} succeeded, {dead} dead, {cancelled} cancelled",
        args.minutes.max(1)
    );
    println!(
        "schedules: {} active, {} paused",
        schedules[0].1, schedules[1].1
    );
    match leader {
        Some(l) => println!(
            "leader: {} (term until {})",
            l.node_id,
            time(Some(l.expires_at))
        ),
        None => println!("leader: none"),
    }
    Ok(())
}
