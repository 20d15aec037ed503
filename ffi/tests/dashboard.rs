//! The dashboard as the packages serve it: over its own engine on a storage URL.

use reseolio_ffi::dashboard::{ui_serve, DashboardConfig};
use reseolio_ffi::ErrorKind;
use std::io::{Read, Write};

fn config() -> DashboardConfig {
    DashboardConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    }
}

fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_serves_the_dashboard_of_a_database_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ui.db");
    let url = format!("sqlite://{}", db.display());
    let client = reseolio_ffi::Client::connect_async(&url, Default::default())
        .await
        .unwrap();
    client
        .enqueue("mail", b"[]".to_vec(), Default::default())
        .await
        .unwrap();
    client.close().await.unwrap();

    let ui = ui_serve(db.to_str().unwrap(), config()).await.unwrap();
    let addr = ui.local_addr();
    let stats = tokio::task::spawn_blocking(move || get(addr, "/api/stats"))
        .await
        .unwrap()
        .unwrap();
    assert!(stats.starts_with("HTTP/1.1 200"), "{stats}");
    assert!(
        stats.contains("\"PENDING\":1") || stats.contains("\"PENDING\": 1"),
        "{stats}"
    );
    ui.close().await.unwrap();
    ui.close().await.unwrap();
    let after = tokio::task::spawn_blocking(move || get(addr, "/api/stats"))
        .await
        .unwrap();
    assert!(after.is_err(), "still serving after close: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_or_a_sidecar_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let err = ui_serve(missing.to_str().unwrap(), config())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("no database"), "{err}");
    assert!(!missing.exists());
    let err = ui_serve("grpc://127.0.0.1:50051", config())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("sidecar"), "{err}");
    let open = DashboardConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    };
    let err = ui_serve("sqlite::memory:", open).await.err().unwrap();
    assert!(err.message().contains("token"), "{err}");
}
