//! The server side of the dashboard's browser test (`dashboard/tests/browser/`): a SQLite engine
//! at `--db PATH` with jobs in every status and two schedules, the dashboard on 127.0.0.1, and a
//! `send-email` worker that succeeds whatever it gets, so that a DEAD job retried from the UI runs
//! to SUCCESS.
//!
//! ```text
//! cargo run -p reseolio-dashboard --example browser_fixture -- --db /tmp/x.db --port 0
//! ```
//! Prints one line, `READY http://127.0.0.1:PORT <id of a DEAD send-email job>`, then runs until
//! its standard input closes (then it stops cleanly) or it is killed.
//!
//! The jobs, whose counts the browser test checks:
//!
//! | status    | n | jobs |
//! |-----------|---|------|
//! | PENDING   | 3 | `sync-crm`, which no worker runs |
//! | RUNNING   | 1 | `resize-image`, held with a 1 h lease by a worker that never completes it |
//! | FAILED    | 1 | `charge-card`, failed once, its retry due in 1 h |
//! | SUCCESS   | 4 | 2 `send-email`, 1 `resize-image`, 1 `charge-card` |
//! | DEAD      | 3 | 2 `send-email` (the printed one failed twice), 1 `charge-card` |
//! | CANCELLED | 1 | `charge-card`, cancelled before it ran |

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, Outcome, Worker, WorkerOptions};
use reseolio_dashboard::{serve, DashboardConfig};
use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HOUR_MS: i64 = 3_600_000;

#[tokio::main]
async fn main() -> Res<()> {
    let (mut db, mut port) = (None, 0u16);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--db" => db = Some(args.next().ok_or("--db needs a path")?),
            "--port" => port = args.next().ok_or("--port needs a value")?.parse()?,
            other => return Err(format!("unknown argument {other}; see the file's doc").into()),
        }
    }
    let db = db.ok_or("--db PATH is required")?;
    let engine = Engine::open_async(&format!("sqlite://{db}"), EngineConfig::default()).await?;

    let dead_id = seed(&engine).await?;
    // Holds one resize-image job RUNNING for as long as it lives.
    let holder = engine.worker(worker_options("resize-image", "holder-worker"))?;
    let held = engine
        .enqueue(
            "resize-image",
            br#"[{"image": "cat.png", "width": 640}]"#.to_vec(),
            EnqueueOptions {
                timeout_ms: Some(HOUR_MS),
                ..Default::default()
            },
        )
        .await?;
    let held_task = holder.poll().await?; // never completed
    assert_eq!(held_task.job.token.job_id, held.job_id);

    // Succeeds every send-email job it gets: the ones the browser retries.
    let mailer = engine.worker(worker_options("send-email", "mailer-worker"))?;
    let serving = serve(
        engine.clone(),
        DashboardConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ..Default::default()
        },
    )
    .await?;
    println!("READY http://{} {dead_id}", serving.local_addr());

    let (eof_tx, mut eof) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = eof_tx.send(());
    });
    loop {
        tokio::select! {
            task = mailer.poll() => {
                let task = task?;
                let result = format!(r#"{{"delivered": true, "attempt": {}}}"#, task.job.attempt);
                mailer.complete(task.token(), Outcome::Success(result.into_bytes())).await?;
            }
            _ = &mut eof => break,
        }
    }

    serving.shutdown().await?;
    mailer.shutdown(Duration::from_secs(1)).await;
    holder.shutdown(Duration::ZERO).await;
    engine.shutdown().await;
    Ok(())
}

fn worker_options(name: &str, id: &str) -> WorkerOptions {
    WorkerOptions {
        names: vec![name.into()],
        concurrency: 1,
        worker_id: Some(id.into()),
    }
}

/// Every finished status, one FAILED, PENDING and CANCELLED jobs and two schedules; returns the
/// id of the DEAD send-email job that failed twice.
async fn seed(engine: &Engine) -> Res<String> {
    let names = ["send-email", "charge-card", "resize-image"];
    let seeder = Seeder {
        engine,
        worker: engine.worker(WorkerOptions {
            names: names.map(String::from).to_vec(),
            concurrency: 1,
            worker_id: Some("seed-worker".into()),
        })?,
    };
    let mail = |to: &str| format!(r#"[{{"to": "{to}", "subject": "Welcome"}}]"#);
    let sent = || ok(r#"{"delivered": true}"#);
    // A failed attempt is due again at once (DEAD after 2), or in an hour (FAILED meanwhile).
    let retry_in = |delay_ms| EnqueueOptions {
        max_attempts: Some(2),
        initial_delay_ms: Some(delay_ms),
        jitter: Some(0.0),
        ..Default::default()
    };
    let now = EnqueueOptions::default;

    seeder
        .run("send-email", &mail("ada@example.com"), now(), &[sent()])
        .await?;
    seeder
        .run("send-email", &mail("alan@example.com"), now(), &[sent()])
        .await?;
    let image = r#"[{"image": "dog.png", "width": 320}]"#;
    seeder
        .run("resize-image", image, now(), &[ok(r#"{"bytes": 20480}"#)])
        .await?;
    let order = |n: u32| format!(r#"[{{"order": {n}, "cents": 4999}}]"#);
    seeder
        .run(
            "charge-card",
            &order(1001),
            now(),
            &[ok(r#"{"charge": "ch_1001"}"#)],
        )
        .await?;

    let dead_id = seeder
        .run(
            "send-email",
            &mail("grace@example.com"),
            retry_in(0),
            &[
                fail("SMTP 421 4.7.0 try again later", true),
                fail(
                    "SMTP 550 5.1.1 <grace@example.com>: mailbox unavailable",
                    true,
                ),
            ],
        )
        .await?;
    let no_mx = fail("no MX record for domain invalid", false);
    seeder
        .run("send-email", &mail("nobody@invalid"), now(), &[no_mx])
        .await?;
    let declined = fail("card declined: insufficient funds", false);
    seeder
        .run("charge-card", &order(1002), now(), &[declined])
        .await?;
    let timed_out = fail("payment gateway timed out", true);
    seeder
        .run("charge-card", &order(1003), retry_in(HOUR_MS), &[timed_out])
        .await?;
    seeder.worker.shutdown(Duration::ZERO).await;

    let in_an_hour = EnqueueOptions {
        delay_ms: Some(HOUR_MS),
        ..Default::default()
    };
    let cancelled = engine
        .enqueue("charge-card", order(1004).into_bytes(), in_an_hour)
        .await?;
    engine.cancel(&cancelled.job_id).await?;
    for n in 1..=3 {
        let args = format!(r#"[{{"account": {n}}}]"#).into_bytes();
        engine.enqueue("sync-crm", args, now()).await?; // no worker runs sync-crm
    }

    // Yearly and paused, so neither fires while the test runs.
    for (name, cron) in [
        ("new-year-greetings", "0 9 1 1 *"),
        ("weekly-digest", "0 8 * * MON"),
    ] {
        let spec = ScheduleSpec {
            name: name.into(),
            function: "send-email".into(),
            cron: cron.into(),
            timezone: Some("Europe/Paris".into()),
            args: mail("team@example.com").into_bytes(),
            ..Default::default()
        };
        engine.schedule_declare(spec).await?;
    }
    engine.schedule_pause("weekly-digest").await?;
    Ok(dead_id)
}

fn ok(json: &str) -> Outcome {
    Outcome::Success(json.as_bytes().to_vec())
}

fn fail(error: &str, retryable: bool) -> Outcome {
    let error = error.into();
    Outcome::Failure { error, retryable }
}

/// Runs jobs one at a time through its own worker, with the outcomes it is told.
struct Seeder<'a> {
    engine: &'a Engine,
    worker: Worker,
}

impl Seeder<'_> {
    /// Enqueues one job and reports one outcome for each of its attempts; returns its id.
    async fn run(
        &self,
        name: &str,
        args: &str,
        options: EnqueueOptions,
        outcomes: &[Outcome],
    ) -> Res<String> {
        let args = args.as_bytes().to_vec();
        let id = self.engine.enqueue(name, args, options).await?.job_id;
        for outcome in outcomes {
            let task = self.worker.poll().await?;
            assert_eq!(task.job.token.job_id, id, "one job at a time");
            self.worker.complete(task.token(), outcome.clone()).await?;
        }
        Ok(id)
    }
}
