//! The server side of the dashboard's browser test (`dashboard/tests/browser/`): a SQLite engine
//! at `--db PATH` with jobs in every status, three of them suspended on durable steps, and two
//! schedules, the dashboard on 127.0.0.1, and a `send-email` worker that succeeds whatever it
//! gets, so that a DEAD job retried from the UI runs to SUCCESS.
//!
//! ```text
//! cargo run -p reseolio-dashboard --example browser_fixture -- --db /tmp/x.db --port 0
//! ```
//! Prints one line, `READY http://127.0.0.1:PORT <id of a DEAD send-email job> <id of the
//! onboard-user job>`, then runs until its standard input closes (then it stops cleanly) or it
//! is killed.
//!
//! The jobs, whose counts the browser test checks:
//!
//! | status    | n | jobs |
//! |-----------|---|------|
//! | PENDING   | 6 | 3 `sync-crm`, which no worker runs; 3 suspended on a step (below) |
//! | RUNNING   | 1 | `resize-image`, held with a 1 h lease by a worker that never completes it |
//! | FAILED    | 1 | `charge-card`, failed once, its retry due in 1 h |
//! | SUCCESS   | 4 | 2 `send-email`, 1 `resize-image`, 1 `charge-card` |
//! | DEAD      | 3 | 2 `send-email` (the printed one failed twice), 1 `charge-card` |
//! | CANCELLED | 1 | `charge-card`, cancelled before it ran |
//!
//! The jobs with steps (see [`seed_steps`]), each suspended on its last step:
//!
//! | job | steps |
//! |-----|-------|
//! | `onboard-user` | `create-account` SUCCESS, `fetch-profile` SUCCESS (a long result), `send-welcome-sms` FAILED after 3 tries, `wait-a-day` sleeps a day |
//! | `approve-order` | `reserve-stock` SUCCESS, `manager-approval` waits for event `approval:order-1005` with no deadline |
//! | `import-contacts` | `sync-crm-account` waits for the first `sync-crm` job as its child |

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, Outcome, StepOutcome, StepRecord, StepWait,
    StepWaitOutcome, Worker, WorkerOptions,
};
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

    let (dead_id, steps_id) = seed(&engine).await?;
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
    println!("READY http://{} {dead_id} {steps_id}", serving.local_addr());

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

/// Every finished status, one FAILED, PENDING and CANCELLED jobs, the jobs with steps and two
/// schedules; returns the ids of the DEAD send-email job that failed twice and of the
/// onboard-user job.
async fn seed(engine: &Engine) -> Res<(String, String)> {
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
    let mut crm = vec![];
    for n in 1..=3 {
        let args = format!(r#"[{{"account": {n}}}]"#).into_bytes();
        crm.push(engine.enqueue("sync-crm", args, now()).await?.job_id); // no worker runs sync-crm
    }
    let steps_id = seed_steps(engine, &crm[0]).await?;

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
    Ok((dead_id, steps_id))
}

/// A step as a handler records it: (name, outcome, attempts, ms since it started; the later
/// steps of a job started later).
type RunStep<'a> = (&'a str, StepOutcome, u32, i64);

/// The three jobs with steps of the doc's table, each run once up to its wait, where it is
/// suspended; returns the id of the onboard-user job.
async fn seed_steps(engine: &Engine, child_id: &str) -> Res<String> {
    let names = ["onboard-user", "approve-order", "import-contacts"];
    let worker = engine.worker(WorkerOptions {
        names: names.map(String::from).to_vec(),
        concurrency: 1,
        worker_id: Some("steps-worker".into()),
    })?;
    let value = |json: &str| StepOutcome::Success(json.as_bytes().to_vec());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let now_ms = i64::try_from(now.as_millis())?;
    let profile = r#"{"name": "Ada Lovelace", "email": "ada@example.com", "plan": "team", "seats": 12, "locale": "en-GB", "referrer": "newsletter-2026-11"}"#;
    let sms_failed = "SMS gateway: +44 7700 900123 unreachable (code 30003)";
    let jobs: [(&str, &str, Vec<RunStep>, StepWait); 3] = [
        (
            "onboard-user",
            r#"[{"user": "ada@example.com"}]"#,
            vec![
                (
                    "create-account",
                    value(r#"{"account_id": "acc_1042"}"#),
                    1,
                    2_150,
                ),
                ("fetch-profile", value(profile), 2, 1_830),
                (
                    "send-welcome-sms",
                    StepOutcome::Failure(sms_failed.into()),
                    3,
                    1_200,
                ),
            ],
            StepWait::Sleep {
                until_ms: now_ms + 24 * HOUR_MS,
            },
        ),
        (
            "approve-order",
            r#"[{"order": 1005}]"#,
            vec![("reserve-stock", value(r#"{"reserved": 2}"#), 1, 95)],
            StepWait::Event {
                key: "approval:order-1005".into(),
                timeout_at_ms: None,
            },
        ),
        (
            "import-contacts",
            r#"[{"account": 1}]"#,
            vec![],
            StepWait::Child {
                job_id: child_id.into(),
            },
        ),
    ];
    let wait_names = ["wait-a-day", "manager-approval", "sync-crm-account"];
    let mut ids = vec![];
    for ((name, args, runs, wait), wait_name) in jobs.into_iter().zip(wait_names) {
        let id = engine
            .enqueue(name, args.as_bytes().to_vec(), EnqueueOptions::default())
            .await?
            .job_id;
        let task = worker.poll().await?;
        assert_eq!(task.job.token.job_id, id, "one job at a time");
        let seq = runs.len() as u32;
        for (n, (step, outcome, attempts, took_ms)) in runs.into_iter().enumerate() {
            let record = StepRecord {
                seq: n as u32,
                name: step.into(),
                outcome,
                attempts,
                started_at: now_ms - took_ms,
            };
            engine.step_record(task.token(), record).await?;
        }
        let out = engine.step_wait(task.token(), seq, wait_name, wait).await?;
        assert!(matches!(out, StepWaitOutcome::Suspended { .. }), "{out:?}");
        worker.complete(task.token(), Outcome::Suspended).await?;
        ids.push(id);
    }
    worker.shutdown(Duration::ZERO).await;
    Ok(ids.swap_remove(0))
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
