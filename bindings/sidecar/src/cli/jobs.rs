//! `reseolio jobs list|get|retry|cancel|retry-dead`.

use super::output::{clean, json, table, time};
use super::{open, DbArgs, Failure};
use clap::Subcommand;
use reseolio_core::store::{JobListParams, JobOrder};
use reseolio_core::{Engine, JobStatus};
use reseolio_dashboard::json as wire;
use serde_json::json as j;

/// Inspect and steer jobs.
#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only this status (pending, running, failed, success, dead, cancelled); repeatable.
        #[arg(long)]
        status: Vec<String>,
        /// Only this function; repeatable.
        #[arg(long)]
        name: Vec<String>,
        /// Only the job with this id or idempotency key.
        #[arg(long)]
        search: Option<String>,
        /// Rows per page (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Rows skipped.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Oldest first.
        #[arg(long)]
        asc: bool,
    },
    /// Show one job with its attempts and its steps.
    Get {
        #[command(flatten)]
        db: DbArgs,
        /// The job id.
        id: String,
    },
    /// Put a DEAD or CANCELLED job back to PENDING.
    Retry {
        #[command(flatten)]
        db: DbArgs,
        /// The job id.
        id: String,
    },
    /// Cancel a PENDING, FAILED or RUNNING job.
    Cancel {
        #[command(flatten)]
        db: DbArgs,
        /// The job id.
        id: String,
    },
    /// Put every DEAD job of a function back to PENDING.
    RetryDead {
        #[command(flatten)]
        db: DbArgs,
        /// The function name.
        function: String,
    },
}

fn statuses(given: &[String]) -> Result<Vec<JobStatus>, Failure> {
    given
        .iter()
        .map(|s| s.parse::<JobStatus>().map_err(Failure::from))
        .collect()
}

async fn finish<T>(engine: Engine, r: Result<T, Failure>) -> Result<T, Failure> {
    engine.shutdown().await;
    r
}

/// Runs a `jobs` command.
pub async fn run(cmd: JobsCommand) -> Result<(), Failure> {
    match cmd {
        JobsCommand::List {
            db,
            status,
            name,
            search,
            limit,
            offset,
            asc,
        } => {
            let statuses = statuses(&status)?;
            let e = open(&db.db, false).await?;
            let r = e
                .list(JobListParams {
                    statuses,
                    names: name,
                    limit,
                    offset,
                    order: JobOrder::CreatedAt,
                    ascending: asc,
                    search,
                })
                .await
                .map_err(Failure::from);
            let page = finish(e, r).await?;
            if db.json {
                let jobs: Vec<_> = page.jobs.iter().map(wire::job_row).collect();
                json(&j!({ "jobs": jobs, "total": page.total }));
            } else {
                let rows: Vec<Vec<String>> = page
                    .jobs
                    .iter()
                    .map(|job| {
                        vec![
                            job.id.clone(),
                            job.name.clone(),
                            job.status.as_str().to_string(),
                            format!("{}/{}", job.attempt, job.max_attempts),
                            time(Some(job.created_at)),
                            time(Some(job.run_at)),
                        ]
                    })
                    .collect();
                table(
                    &["ID", "FUNCTION", "STATUS", "ATTEMPTS", "CREATED", "RUN AT"],
                    &rows,
                );
                println!("{} of {} (offset {offset})", page.jobs.len(), page.total);
            }
        }
        JobsCommand::Get { db, id } => {
            let e = open(&db.db, false).await?;
            let r = async {
                let job = e.get(&id).await?;
                let attempts = e.attempts(&id).await?;
                let steps = e.steps(&id).await?;
                Ok::<_, reseolio_core::Error>((job, attempts, steps))
            }
            .await
            .map_err(Failure::from);
            let (job, attempts, steps) = finish(e, r).await?;
            if db.json {
                let mut v = wire::job_detail(&job, serde_json::Value::Null);
                v["attempts"] = attempts.iter().map(wire::attempt).collect();
                v["steps"] = steps.iter().map(wire::step).collect();
                json(&v);
            } else {
                let detail = wire::job_detail(&job, serde_json::Value::Null);
                let field = |k: &str| match &detail[k] {
                    serde_json::Value::Null => "-".to_string(),
                    v => v.to_string(),
                };
                for (label, value) in [
                    ("id", job.id.clone()),
                    ("function", job.name.clone()),
                    ("status", job.status.as_str().to_string()),
                    ("attempts", format!("{}/{}", job.attempt, job.max_attempts)),
                    ("key", job.idempotency_key.clone().unwrap_or("-".into())),
                    ("created", time(Some(job.created_at))),
                    ("run at", time(Some(job.run_at))),
                    ("completed", time(job.completed_at)),
                    ("args", field("args")),
                    ("result", field("result")),
                    ("last error", job.last_error.clone().unwrap_or("-".into())),
                ] {
                    println!("{label:<11} {}", clean(&value));
                }
                println!();
                let rows: Vec<Vec<String>> = attempts
                    .iter()
                    .map(|a| {
                        vec![
                            a.attempt.to_string(),
                            time(Some(a.started_at)),
                            time(a.finished_at),
                            a.outcome
                                .map_or("running".into(), |o| o.as_str().to_string()),
                            a.worker_id.clone(),
                            a.error.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                table(
                    &[
                        "ATTEMPT", "STARTED", "FINISHED", "OUTCOME", "WORKER", "ERROR",
                    ],
                    &rows,
                );
                super::steps::print(&steps);
            }
        }
        JobsCommand::Retry { db, id } => {
            let e = open(&db.db, false).await?;
            let r = e.retry(&id).await.map_err(Failure::from);
            let job = finish(e, r).await?;
            said(&db, &job, "retried");
        }
        JobsCommand::Cancel { db, id } => {
            let e = open(&db.db, false).await?;
            let r = e.cancel(&id).await.map_err(Failure::from);
            let job = finish(e, r).await?;
            said(&db, &job, "cancelled");
        }
        JobsCommand::RetryDead { db, function } => {
            let e = open(&db.db, false).await?;
            let r = e.retry_all_dead(&function).await.map_err(Failure::from);
            let n = finish(e, r).await?;
            if db.json {
                json(&j!({ "function": function, "retried": n }));
            } else {
                println!("{n} DEAD jobs of {} retried", clean(&function));
            }
        }
    }
    Ok(())
}

fn said(db: &DbArgs, job: &reseolio_core::Job, what: &str) {
    if db.json {
        json(&wire::job_row(job));
    } else {
        println!("job {} {what}: now {}", job.id, job.status.as_str());
    }
}
