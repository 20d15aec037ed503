//! A dashboard to look at: a SQLite engine in a temporary directory with jobs in every status,
//! a few schedules, and a worker that keeps finishing jobs so that the overview moves.
//!
//! ```text
//! cargo run -p reseolio-dashboard --example demo                 # http://127.0.0.1:7780
//! cargo run -p reseolio-dashboard --example demo -- --port 7781 --read-only --token s3cret
//! ```
//! Runs until killed (Ctrl-C).

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, Outcome, WorkerOptions};
use reseolio_dashboard::{serve, DashboardConfig, DEFAULT_PORT};
use std::net::SocketAddr;
use std::time::Duration;

const FUNCTIONS: [&str; 4] = ["send-email", "resize-image", "charge-card", "sync-crm"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = DashboardConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                let port: u16 = args.next().ok_or("--port needs a value")?.parse()?;
                config.addr = SocketAddr::from(([127, 0, 0, 1], port));
            }
            "--token" => config.token = Some(args.next().ok_or("--token needs a value")?),
            "--read-only" => config.read_only = true,
            other => return Err(format!("unknown argument {other}; see the file's doc").into()),
        }
    }
    if config.addr.port() == 0 {
        config.addr.set_port(DEFAULT_PORT);
    }

    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let engine = Engine::open_async(&url, EngineConfig::default()).await?;
    seed(&engine).await?;
    let serving = serve(engine.clone(), config.clone()).await?;
    let login = match &config.token {
        Some(t) => format!("/?token={t}"),
        None => "/".into(),
    };
    println!("dashboard on http://{}{login}", serving.local_addr());

    // Keep work flowing: a job every 200 ms, most succeed, some fail for good.
    let worker = engine.worker(WorkerOptions {
        names: FUNCTIONS.iter().map(|s| s.to_string()).collect(),
        concurrency: 4,
        worker_id: Some("demo-worker".into()),
    })?;
    let mut n = 0u64;
    loop {
        n += 1;
        let name = FUNCTIONS[(n % 4) as usize];
        let args = format!(r#"[{{"n": {n}, "to": "user{n}@example.com"}}]"#);
        engine
            .enqueue(name, args.into_bytes(), EnqueueOptions::default())
            .await?;
        let task = worker.poll().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let outcome = if n % 9 == 0 {
            Outcome::Failure {
                error: format!("SMTP 550: mailbox unavailable (job {n})"),
                retryable: false,
            }
        } else {
            Outcome::Success(format!(r#"{{"ok": true, "n": {n}}}"#).into_bytes())
        };
        worker.complete(task.token(), outcome).await?;
    }
}

/// Jobs in every status and three schedules.
async fn seed(engine: &Engine) -> Result<(), Box<dyn std::error::Error>> {
    for (i, name) in FUNCTIONS.iter().cycle().take(120).enumerate() {
        let options = EnqueueOptions {
            delay_ms: Some(60_000 * (i as i64 % 30 + 1)),
            idempotency_key: (i % 10 == 0).then(|| format!("order-{i}")),
            ..Default::default()
        };
        engine
            .enqueue(name, format!("[{i}]").into_bytes(), options)
            .await?;
    }
    let worker = engine.worker(WorkerOptions {
        names: vec!["import-feed".into()],
        concurrency: 50,
        worker_id: Some("seed-worker".into()),
    })?;
    for i in 0..30 {
        let options = EnqueueOptions {
            initial_delay_ms: Some(3_600_000),
            ..Default::default()
        };
        let args = if i % 7 == 0 {
            vec![0xde, 0xad, 0xbe, 0xef]
        } else {
            format!("[{i}]").into_bytes()
        };
        let id = engine.enqueue("import-feed", args, options).await?.job_id;
        let task = worker.poll().await?;
        let outcome = match i % 5 {
            0 => continue, // stays RUNNING until its lease lapses
            1 => Outcome::Failure {
                error: "feed returned HTTP 503".into(),
                retryable: true,
            },
            2 => Outcome::Failure {
                error: "malformed row 17: expected 4 columns".into(),
                retryable: false,
            },
            _ => Outcome::Success(br#"{"rows": 120}"#.to_vec()),
        };
        worker.complete(task.token(), outcome).await?;
        if i % 11 == 0 {
            let _ = engine.cancel(&id).await;
        }
    }
    drop(worker); // its RUNNING jobs stay RUNNING until their leases lapse
    for (name, function, cron, zone) in [
        ("nightly-report", "send-email", "0 3 * * *", "Europe/Paris"),
        ("hourly-sync", "sync-crm", "@hourly", "UTC"),
        (
            "weekly-cleanup",
            "resize-image",
            "30 4 * * SUN",
            "America/New_York",
        ),
    ] {
        engine
            .schedule_declare(ScheduleSpec {
                name: name.into(),
                function: function.into(),
                cron: cron.into(),
                timezone: Some(zone.into()),
                ..Default::default()
            })
            .await?;
    }
    engine.schedule_pause("weekly-cleanup").await?;
    Ok(())
}
