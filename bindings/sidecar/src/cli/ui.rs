//! `reseolio ui`: the dashboard on a storage URL, until SIGINT or SIGTERM.

use super::{open, Failure};
use reseolio_dashboard::{serve, DashboardConfig, DEFAULT_PORT};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The arguments of `reseolio ui`.
#[derive(clap::Args, Debug)]
pub struct UiArgs {
    /// Storage: a URL (sqlite://PATH, postgres://...) or a SQLite file path.
    #[arg(long, env = "RESEOLIO_DB", default_value = "reseolio.db")]
    db: String,
    /// The port to listen on.
    #[arg(long, env = "RESEOLIO_UI_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The address to listen on; any but a loopback one needs --token.
    #[arg(long, env = "RESEOLIO_UI_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Require this token (Authorization: Bearer, or open /?token=... once in a browser).
    #[arg(long, env = "RESEOLIO_UI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Show, never change: every action is refused.
    #[arg(long)]
    read_only: bool,
}

/// Runs `reseolio ui` until a signal.
pub async fn run(args: UiArgs) -> Result<(), Failure> {
    let config = DashboardConfig {
        addr: SocketAddr::new(args.host, args.port),
        token: args.token.filter(|t| !t.is_empty()),
        read_only: args.read_only,
    };
    config.validate().map_err(Failure::from)?;
    let mut signals = crate::Signals::new().map_err(|e| Failure {
        message: format!("cannot listen for signals: {e}"),
        code: 1,
    })?;
    let engine = open(&args.db, false).await?;
    let serving = match serve(engine.clone(), config).await {
        Ok(s) => s,
        Err(e) => {
            engine.shutdown().await;
            return Err(Failure::from(e));
        }
    };
    eprintln!(
        "reseolio dashboard on http://{} (storage {}{})",
        serving.local_addr(),
        reseolio_core::StorageUrl::redact(&args.db),
        if args.read_only { ", read-only" } else { "" }
    );
    signals.next().await;
    let _ = serving.shutdown().await;
    engine.shutdown().await;
    Ok(())
}
