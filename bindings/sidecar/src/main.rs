//! `reseolio`: the engine as a sidecar serving the gRPC API to workers in other processes, and
//! the operator commands (`jobs`, `schedules`, `stats`, `migrate`, `ui`; see `cli/`).

mod cli;

use clap::{Parser, Subcommand};
use reseolio_core::{Engine, EngineConfig};
use reseolio_sidecar::{serve, ServeConfig};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "reseolio",
    version,
    about = "Durable jobs: the Reseolio engine served over gRPC (reseolio v1 API), and the commands to inspect and steer it.",
    long_about = "Runs the Reseolio engine on a storage URL and serves the gRPC API (reseolio v1, \
                  with grpc.health.v1 health checking and server reflection) to workers and \
                  clients in other processes. `reseolio` and `reseolio serve` are the same. \
                  SIGTERM or SIGINT stops gracefully; a second signal exits at once. \
                  The other commands inspect and steer the jobs and schedules of a database; \
                  they exit 0 when done, 1 on an unexpected failure, 2 for bad input, 3 when \
                  something is not found, 4 on a conflict, 5 when the storage is unavailable."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the gRPC API (the default).
    Serve(ServeArgs),
    /// List, show, retry and cancel jobs.
    Jobs {
        #[command(subcommand)]
        command: cli::JobsCommand,
    },
    /// List, show, pause, resume, trigger and delete schedules.
    Schedules {
        #[command(subcommand)]
        command: cli::SchedulesCommand,
    },
    /// Jobs by status, recent throughput, schedules and the leader.
    Stats(cli::StatsArgs),
    /// Create the database if needed and bring its schema up to date.
    Migrate(cli::DbArgs),
    /// Serve the web dashboard on 127.0.0.1:7780.
    Ui(cli::UiArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct ServeArgs {
    /// Storage: a URL (sqlite://PATH[?durability=full]) or a SQLite file path.
    #[arg(long, env = "RESEOLIO_DB", default_value = "reseolio.db")]
    db: String,
    /// Address to listen on (port 0 picks a free one; the ready line says which). Any address but
    /// a loopback one needs --token.
    #[arg(long, env = "RESEOLIO_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// Jobs in flight across all worker streams (a stream gets what it asks for, up to what is left).
    #[arg(long, env = "RESEOLIO_MAX_CONCURRENT", default_value_t = 100)]
    max_concurrent: u32,
    /// Milliseconds between looks for work written by other processes.
    #[arg(long, env = "RESEOLIO_POLL_INTERVAL", default_value_t = 100)]
    poll_interval: u64,
    /// When set, every call must carry `authorization: Bearer <token>` (health checks excepted).
    /// Required when --addr is not a loopback address.
    #[arg(long, env = "RESEOLIO_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Seconds a graceful stop waits for jobs in flight before handing them back.
    #[arg(long, env = "RESEOLIO_SHUTDOWN_GRACE", default_value_t = 30)]
    shutdown_grace: u64,
    /// Also serve the dashboard and /metrics over HTTP on this address (off unless set; any
    /// address but a loopback one needs --http-token).
    #[arg(long, env = "RESEOLIO_HTTP_ADDR")]
    http_addr: Option<SocketAddr>,
    /// The token the dashboard and /metrics require (Authorization: Bearer).
    #[arg(long, env = "RESEOLIO_HTTP_TOKEN", hide_env_values = true)]
    http_token: Option<String>,
    /// Serve the dashboard read-only: every action is refused.
    #[arg(long, env = "RESEOLIO_HTTP_READ_ONLY")]
    http_read_only: bool,
}

use cli::storage_url;

async fn run(args: ServeArgs) -> Result<(), String> {
    if args.poll_interval == 0 {
        return Err("--poll-interval must be >= 1 ms".into());
    }
    if args.max_concurrent == 0 {
        return Err("--max-concurrent must be >= 1".into());
    }
    // Both configurations are checked before the storage is opened: a refused address or token
    // must not leave a database behind or a dashboard serving.
    let grpc = ServeConfig {
        addr: args.addr,
        token: args.token.filter(|t| !t.is_empty()),
        max_concurrent: args.max_concurrent,
        grace: Duration::from_secs(args.shutdown_grace),
    };
    grpc.validate().map_err(|e| e.message().to_string())?;
    let dashboard = args
        .http_addr
        .map(|addr| reseolio_dashboard::DashboardConfig {
            addr,
            token: args.http_token.clone().filter(|t| !t.is_empty()),
            read_only: args.http_read_only,
        });
    if let Some(config) = &dashboard {
        config.validate().map_err(|e| e.message().to_string())?;
    }
    // Listening for signals from the start: a signal that arrives before its listener exists is
    // swallowed, so the listener for the second signal must not be created after the first.
    let mut signals = Signals::new().map_err(|e| format!("cannot listen for signals: {e}"))?;
    let engine = Engine::open_async(
        &storage_url(&args.db),
        EngineConfig {
            poll_interval: Duration::from_millis(args.poll_interval),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| format!("cannot open storage '{}': {}", args.db, e.message()))?;
    let http = match dashboard {
        None => None,
        Some(config) => {
            let addr = config.addr;
            let serving = reseolio_dashboard::serve(engine.clone(), config)
                .await
                .map_err(|e| format!("cannot serve the dashboard on {addr}: {}", e.message()))?;
            eprintln!(
                "reseolio dashboard and /metrics on http://{}",
                serving.local_addr()
            );
            Some(serving)
        }
    };
    let serving = serve(engine.clone(), grpc)
        .await
        .map_err(|e| e.message().to_string())?;
    eprintln!(
        "reseolio ready on {} (storage {})",
        serving.local_addr(),
        args.db
    );

    signals.next().await;
    eprintln!("reseolio stopping: finishing jobs in flight (a second signal exits at once)");
    tokio::spawn(async move {
        signals.next().await;
        eprintln!("reseolio: second signal, exiting now");
        std::process::exit(130);
    });
    serving.stop().await.map_err(|e| e.message().to_string())?;
    if let Some(http) = http {
        let _ = http.shutdown().await;
    }
    engine.shutdown().await;
    eprintln!("reseolio stopped");
    Ok(())
}

/// SIGTERM and SIGINT, listened for from creation on.
pub(crate) struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    pub(crate) async fn next(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESEOLIO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the runtime");
    let outcome = runtime.block_on(async move {
        match cli.command {
            None => run(cli.serve).await.map_err(serve_failure),
            Some(Command::Serve(args)) => run(args).await.map_err(serve_failure),
            Some(Command::Jobs { command }) => cli::jobs::run(command).await,
            Some(Command::Schedules { command }) => cli::schedules::run(command).await,
            Some(Command::Stats(args)) => cli::stats::run(args).await,
            Some(Command::Migrate(args)) => cli::migrate(args).await,
            Some(Command::Ui(args)) => cli::ui::run(args).await,
        }
    });
    if let Err(f) = outcome {
        eprintln!("reseolio: {}", f.message);
        std::process::exit(f.code);
    }
}

/// The sidecar's own failures (it cannot start) exit 2, as they always have.
fn serve_failure(message: String) -> cli::Failure {
    cli::Failure { message, code: 2 }
}
