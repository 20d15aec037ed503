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
pub mod ui;

pub use jobs::JobsCommand;
pub use schedules::SchedulesCommand;
pub use stats::StatsArgs;
pub use ui::UiArgs;

use reseolio_core::{Engine, EngineConfig, Error, ErrorKind};

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

/// A storage argument as a URL: a bare path is a SQLite file.
pub fn storage_url(db: &str) -> String {
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_string()
    } else {
        format!("sqlite://{db}")
    }
}

/// Opens the engine of a command. Only `migrate` may create a database: for the others a SQLite
/// path that names no file is refused, so that a typo does not leave an empty database behind.
pub async fn open(db: &str, create: bool) -> Result<Engine, Failure> {
    let url = storage_url(db);
    if !create {
        if let Some(path) = sqlite_path(&url) {
            if !std::path::Path::new(path).exists() {
                return Err(Failure {
                    message: format!(
                        "no database at '{path}' (create one with: reseolio migrate --db {db})"
                    ),
                    code: 2,
                });
            }
        }
    }
    let config = EngineConfig {
        maintenance: false,
        ..Default::default()
    };
    Engine::open_async(&url, config).await.map_err(|e| {
        let mut f = Failure::from(e);
        f.message = format!("cannot open storage '{db}': {}", f.message);
        f
    })
}

/// The file of a `sqlite://` URL (None for memory or another backend).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
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
