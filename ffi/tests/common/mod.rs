//! The transports every conformance case runs on: the embedded engine on SQLite and on
//! PostgreSQL (when RESEOLIO_TEST_POSTGRES_URL names a server; else that half says it skipped),
//! and a sidecar served in-process on 127.0.0.1:0; and the macro that expands each case once per
//! transport. [`sidecar_binary`] runs the `reseolio` binary itself, for suites that also check
//! the shipped executable.

#![allow(dead_code)]

use reseolio_ffi::{Client, ConnectOptions};
use std::time::Duration;

/// Keeps a transport's resources alive for the length of a case.
#[allow(dead_code)]
pub struct Fixture {
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub sidecar: Option<(reseolio_sidecar::Serving, reseolio_core::Engine)>,
    /// The `reseolio` binary's process, stopped with the fixture.
    pub process: Option<SidecarProcess>,
}

/// A `reseolio` binary running as a child process; SIGTERM and a bounded wait on drop.
pub struct SidecarProcess(std::process::Child);

impl Drop for SidecarProcess {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `reseolio` binary: RESEOLIO_SIDECAR_BIN, else `reseolio` beside this test's `deps`
/// directory (the same target directory and profile).
pub fn sidecar_binary_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("RESEOLIO_SIDECAR_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    profile_dir.join(format!("reseolio{}", std::env::consts::EXE_SUFFIX))
}

/// The `reseolio` binary serving a fresh SQLite file on 127.0.0.1:0, and a client of it; None
/// (and a note) when the binary is not built (`cargo build -p reseolio-sidecar`).
pub async fn sidecar_binary() -> Option<Fixture> {
    use std::io::{BufRead, BufReader};
    let bin = sidecar_binary_path();
    if !bin.exists() {
        eprintln!(
            "skipped: no sidecar binary at {} (build it with cargo build -p reseolio-sidecar)",
            bin.display()
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(&bin)
        .args(["--addr", "127.0.0.1:0", "--poll-interval", "50"])
        .args(["--shutdown-grace", "1", "--db"])
        .arg(dir.path().join("binary.db"))
        .env_remove("RESEOLIO_TOKEN")
        .env_remove("RESEOLIO_HTTP_ADDR")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let process = SidecarProcess(child);
    let ready = lines.next().unwrap().unwrap();
    assert!(ready.starts_with("reseolio ready on "), "{ready}");
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    // Keep reading its log, so that a full pipe never blocks it.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let client = Client::connect(&format!("grpc://{addr}"), ConnectOptions::default()).unwrap();
    Some(Fixture {
        client,
        dir,
        sidecar: None,
        process: Some(process),
    })
}

pub fn engine_config() -> reseolio_core::EngineConfig {
    reseolio_core::EngineConfig {
        poll_interval: Duration::from_millis(50),
        maintenance_interval: Duration::from_millis(100),
        ..Default::default()
    }
}

pub async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("embedded.db").display());
    let client = Client::connect_async(
        &url,
        ConnectOptions {
            poll_interval_ms: Some(50),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Fixture {
        client,
        dir,
        sidecar: None,
        process: None,
    }
}

/// The embedded engine on PostgreSQL, in a fresh schema; None (and a note) without a server.
pub async fn embedded_postgres() -> Option<Fixture> {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return None;
    };
    let sep = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{sep}schema=t_{}", uuid::Uuid::now_v7().simple());
    let client = Client::connect_async(
        &url,
        ConnectOptions {
            poll_interval_ms: Some(50),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Some(Fixture {
        client,
        dir: tempfile::tempdir().unwrap(),
        sidecar: None,
        process: None,
    })
}

pub async fn sidecar() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sidecar.db").display());
    sidecar_on(dir, url).await
}

/// A sidecar in-process over the storage `url`, and a client of it.
pub async fn sidecar_on(dir: tempfile::TempDir, url: String) -> Fixture {
    let (serving, engine) = reseolio_ffi::runtime()
        .spawn(async move {
            let engine = reseolio_core::Engine::open(&url, engine_config()).unwrap();
            let serving = reseolio_sidecar::serve(
                engine.clone(),
                reseolio_sidecar::ServeConfig {
                    addr: "127.0.0.1:0".parse().unwrap(),
                    token: Some("t0ken".into()),
                    max_concurrent: 100,
                    grace: Duration::from_secs(1),
                },
            )
            .await
            .unwrap();
            (serving, engine)
        })
        .await
        .unwrap();
    let client = Client::connect(
        &format!("grpc://{}", serving.local_addr()),
        ConnectOptions {
            token: Some("t0ken".into()),
            ..Default::default()
        },
    )
    .unwrap();
    Fixture {
        client,
        dir,
        sidecar: Some((serving, engine)),
        process: None,
    }
}

/// Expands to one `#[tokio::test]` per case and transport: modules `embedded_engine`,
/// `embedded_postgres` and `sidecar_over_grpc`, each calling `super::case(client)`.
#[macro_export]
macro_rules! transport_conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded_engine {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let f = embedded().await;
                    super::$case(f.client.clone()).await;
                }
            )*
        }
        mod embedded_postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(f) = embedded_postgres().await else { return };
                    super::$case(f.client.clone()).await;
                }
            )*
        }
        mod sidecar_over_grpc {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let f = sidecar().await;
                    super::$case(f.client.clone()).await;
                }
            )*
        }
    };
}
