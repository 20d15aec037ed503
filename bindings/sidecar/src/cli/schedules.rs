//! `reseolio schedules list|get|pause|resume|trigger|delete`.

use super::output::{clean, json, table, time};
use super::{open, DbArgs, Failure};
use clap::Subcommand;
use reseolio_core::schedule::ScheduleStatus;
use reseolio_core::store::ScheduleListParams;
use reseolio_dashboard::json as wire;
use serde_json::json as j;

/// Inspect and steer schedules (by id or name).
#[derive(Subcommand, Debug)]
pub enum SchedulesCommand {
    /// List schedules by name.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only `active` or `paused` ones.
        #[arg(long)]
        status: Option<String>,
        /// Rows per page (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Rows skipped.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one schedule.
    Get {
        #[command(flatten)]
        db: DbArgs,
        /// Its id or name.
        schedule: String,
    },
    /// Stop a schedule's ticks.
    Pause {
        #[command(flatten)]
        db: DbArgs,
        /// Its id or name.
        schedule: String,
    },
    /// Start a schedule's ticks again, from the first tick after now.
    Resume {
        #[command(flatten)]
        db: DbArgs,
        /// Its id or name.
        schedule: String,
    },
    /// Start a job of the schedule now.
    Trigger {
        #[command(flatten)]
        db: DbArgs,
        /// Its id or name.
        schedule: String,
    },
    /// Delete a schedule (the jobs it started stay).
    Delete {
        #[command(flatten)]
        db: DbArgs,
        /// Its id or name.
        schedule: String,
    },
}

fn print(db: &DbArgs, s: &reseolio_core::schedule::Schedule, what: &str) {
    if db.json {
        json(&wire::schedule(s));
    } else {
        println!(
            "schedule {} ({}) {what}: {}, next run {}",
            clean(&s.name),
            s.id,
            s.status.as_str(),
            time(Some(s.next_run_at))
        );
    }
}

/// Runs a `schedules` command.
pub async fn run(cmd: SchedulesCommand) -> Result<(), Failure> {
    match cmd {
        SchedulesCommand::List {
            db,
            status,
            limit,
            offset,
        } => {
            let status = status
                .map(|s| s.parse::<ScheduleStatus>())
                .transpose()
                .map_err(Failure::from)?;
            let e = open(&db.db, false).await?;
            let r = e
                .schedule_list(ScheduleListParams {
                    status,
                    limit,
                    offset,
                })
                .await
                .map_err(Failure::from);
            e.shutdown().await;
            let page = r?;
            if db.json {
                let all: Vec<_> = page.schedules.iter().map(wire::schedule).collect();
                json(&j!({ "schedules": all, "total": page.total }));
            } else {
                let rows: Vec<Vec<String>> = page
                    .schedules
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.function.clone(),
                            s.cron.clone(),
                            s.timezone.clone(),
                            s.status.as_str().to_string(),
                            time(Some(s.next_run_at)),
                            time(s.last_run_at),
                        ]
                    })
                    .collect();
                table(
                    &[
                        "NAME", "FUNCTION", "CRON", "ZONE", "STATUS", "NEXT RUN", "LAST RUN",
                    ],
                    &rows,
                );
                println!("{} of {}", page.schedules.len(), page.total);
            }
        }
        SchedulesCommand::Trigger { db, schedule } => {
            let e = open(&db.db, false).await?;
            let r = e.schedule_trigger(&schedule).await.map_err(Failure::from);
            e.shutdown().await;
            let job = r?;
            if db.json {
                json(&j!({ "schedule": schedule, "job_id": job.job_id }));
            } else {
                println!("schedule {schedule} triggered: job {}", job.job_id);
            }
        }
        SchedulesCommand::Delete { db, schedule } => {
            let e = open(&db.db, false).await?;
            let r = e.schedule_delete(&schedule).await.map_err(Failure::from);
            e.shutdown().await;
            r?;
            if db.json {
                json(&j!({ "deleted": schedule }));
            } else {
                println!("schedule {schedule} deleted");
            }
        }
        SchedulesCommand::Get { db, schedule } => {
            let e = open(&db.db, false).await?;
            let r = e.schedule_get(&schedule).await.map_err(Failure::from);
            e.shutdown().await;
            print(&db, &r?, "is");
        }
        SchedulesCommand::Pause { db, schedule } => {
            let e = open(&db.db, false).await?;
            let r = e.schedule_pause(&schedule).await.map_err(Failure::from);
            e.shutdown().await;
            print(&db, &r?, "paused");
        }
        SchedulesCommand::Resume { db, schedule } => {
            let e = open(&db.db, false).await?;
            let r = e.schedule_resume(&schedule).await.map_err(Failure::from);
            e.shutdown().await;
            print(&db, &r?, "resumed");
        }
    }
    Ok(())
}
