//! The operator commands of the `reseolio` binary: `jobs`, `schedules`, `stats`, `migrate` and
//! `ui`, on any storage URL. Each opens its own engine that takes no part in the fleet (no
//! maintenance: it rescues nothing, fires no schedule and is never elected).
//!
//! Exit codes: 0 done; 1 an unexpected failure; 2 bad input (an unknown flag, a bad value, a
//! database that is not there); 3 not found; 4 conflict (e.g. retrying a job that is not DEAD
//! or CANCELLED); 5 storage unavailable.

pub mod jobs;
mod output;
pub mod schedules;
pub mod stats;
mod steps;
pub mod ui;

pub use jobs::JobsCommand;
pub use schedules::SchedulesCommand;
pub use stats::StatsArgs;
pub use ui::UiArgs;

use reseolio_core::{Engine, Error, ErrorKind};

/// Where the commands find the jobs, and how they answer.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArgs {
    /// Storage: a URL (sqlite://PATH, postgres://...) or a SQLite file path.
    #[arg(long, env = "RESEOLIO_DB", default_value = "reseolio.db")]
    pub db: String,
    /// Print JSON instead of a table (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

/// A failed command: its message and exit code.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, for standard error.
    pub message: String,
    /// The process exit code.
    pub code: i32,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e.kind() {
            ErrorKind::InvalidArgument => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Conflict | ErrorKind::AlreadyExists => 4,
            ErrorKind::Unavailable | ErrorKind::Timeout => 5,
            _ => 1,
        };
        Failure {
            message: e.message().to_string(),
            code,
        }
    }
}

pub use reseolio_dashboard::storage_url;

/// Opens the engine of a command (see [`reseolio_dashboard::open_operator_engine`]): no
/// maintenance, and only `migrate` may create a database.
pub async fn open(db: &str, create: bool) -> Result<Engine, Failure> {
    reseolio_dashboard::open_operator_engine(db, create)
        .await
        .map_err(Failure::from)
}

/// `reseolio migrate`: creates the database if needed and brings its schema up to date.
pub async fn migrate(args: DbArgs) -> Result<(), Failure> {
    let engine = open(&args.db, true).await?;
    engine.shutdown().await;
    if args.json {
        println!("{}", serde_json::json!({ "migrated": args.db }));
    } else {
        println!("{}: schema up to date", args.db);
    }
    Ok(())
}
