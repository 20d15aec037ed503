//! The transports every conformance case runs on: the embedded engine on SQLite and on
//! PostgreSQL (when RESEOLIO_TEST_POSTGRES_URL names a server; else that half says it skipped),
//! and a sidecar served in-process on 127.0.0.1:0; and the macro that expands each case once per
//! transport.

#![allow(dead_code)]

use reseolio_ffi::{Client, ConnectOptions};
use std::time::Duration;

/// Keeps a transport's resources alive for the length of a case.
#[allow(dead_code)]
pub struct Fixture {
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub sidecar: Option<(reseolio_sidecar::Serving, reseolio_core::Engine)>,
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
