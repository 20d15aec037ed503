//! Quickstart: durable jobs on the embedded SQLite engine.
//!
//! Enqueues a few "welcome email" jobs (one of them fails on its first attempt to show a retry,
//! one is enqueued twice with the same idempotency key), runs them with a worker, and awaits every
//! result. Run it twice: the database keeps the jobs, and the idempotency key keeps the duplicate
//! out across runs too.
//!
//! `cargo run -p reseolio-example-quickstart -- [sqlite://path.db]`

use reseolio_ffi::{Backoff, Client, ConnectOptions, EnqueueOptions, Outcome};
use std::time::Duration;

/// The "handler": what a durable function would do with its args.
fn send_welcome(args: &str, attempt: u32) -> Result<String, String> {
    let to: Vec<String> = serde_free_parse(args);
    let to = to.first().cloned().unwrap_or_default();
    if to.starts_with("flaky") && attempt == 1 {
        return Err(format!("SMTP 451 for {to}: try again later"));
    }
    Ok(format!("\"welcome mail queued for {to}\""))
}

/// Reads a JSON array of strings without a JSON dependency (the args are ours).
fn serde_free_parse(args: &str) -> Vec<String> {
    args.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://./reseolio-quickstart.db".to_string());
    let client = Client::connect(&url, ConnectOptions::default())?;
    reseolio_ffi::runtime().block_on(async {
        let opts = EnqueueOptions {
            max_attempts: Some(3),
            backoff: Some(Backoff::Exponential),
            initial_delay_ms: Some(200),
            ..Default::default()
        };
        let mut jobs = Vec::new();
        for to in ["ada@example.com", "flaky@example.com", "grace@example.com"] {
            let key = EnqueueOptions {
                idempotency_key: Some(format!("welcome:{to}")),
                ..opts.clone()
            };
            let job = client
                .enqueue("welcome-email", format!("[\"{to}\"]").into_bytes(), key)
                .await?;
            println!(
                "enqueued {} for {to}{}",
                job.job_id,
                if job.deduplicated {
                    " (already there: deduplicated)"
                } else {
                    ""
                }
            );
            jobs.push(job.job_id);
        }

        let worker = client.worker(vec!["welcome-email".into()], 4).await?;
        let runner = {
            let worker = worker.clone();
            tokio::spawn(async move {
                while let Ok(task) = worker.poll().await {
                    let job = task.job();
                    let args = String::from_utf8_lossy(&job.args).into_owned();
                    let outcome = match send_welcome(&args, job.attempt) {
                        Ok(r) => Outcome::Success(r.into_bytes()),
                        Err(error) => {
                            println!("attempt {} of {args} failed: {error}", job.attempt);
                            Outcome::Failure {
                                error,
                                retryable: true,
                            }
                        }
                    };
                    if let Err(e) = worker.complete(task.token(), outcome).await {
                        eprintln!("completion refused: {e}");
                    }
                }
            })
        };

        for id in &jobs {
            let job = client
                .await_result(id, Some(Duration::from_secs(30)))
                .await?;
            println!(
                "{id}: {} after {} attempt(s): {}",
                job.status,
                job.attempt,
                String::from_utf8_lossy(job.result.as_deref().unwrap_or_default())
            );
        }
        worker.shutdown(Duration::from_secs(5)).await?;
        runner.await?;
        client.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
