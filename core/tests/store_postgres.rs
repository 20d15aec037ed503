//! The store conformance suite on PostgreSQL: the same cases as on SQLite, each in a schema of
//! its own. Reads RESEOLIO_TEST_POSTGRES_URL (CI sets it); without it every case says it was
//! skipped, and with it an unreachable server fails the case.

use reseolio_core::store::postgres::{PostgresConfig, PostgresStore};
use reseolio_core::store::Store;
use std::sync::Arc;

/// The server's URL, or None (the case is skipped, and says so).
fn server_url() -> Option<String> {
    let url = std::env::var("RESEOLIO_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
    }
    url
}

/// A store in a fresh schema of the test server.
async fn pg_store() -> Option<Arc<dyn Store>> {
    let url = server_url()?;
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let sep = if url.contains('?') { '&' } else { '?' };
    let config = PostgresConfig::parse(&format!("{url}{sep}schema={schema}")).unwrap();
    Some(Arc::new(PostgresStore::open(&config).await.unwrap()))
}

mod conformance {
    use super::*;
    reseolio_core::store_conformance_tests!(optional pg_store());
}

/// Opening: concurrent migration, a newer schema, and the ways a URL can be wrong.
mod open {
    use super::*;
    use reseolio_core::ErrorKind;

    fn with_schema(url: &str, schema: &str) -> PostgresConfig {
        let sep = if url.contains('?') { '&' } else { '?' };
        PostgresConfig::parse(&format!("{url}{sep}schema={schema}")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_nodes_starting_together_migrate_once() {
        let Some(url) = server_url() else { return };
        let config = with_schema(&url, &format!("t_{}", uuid::Uuid::now_v7().simple()));
        let opens = (0..10).map(|_| {
            let c = config.clone();
            tokio::spawn(async move { PostgresStore::open(&c).await })
        });
        let mut stores = Vec::new();
        for o in opens {
            stores.push(o.await.unwrap().unwrap());
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM reseolio_schema ORDER BY version")
                .fetch_all(stores[0].pool())
                .await
                .unwrap();
        assert_eq!(
            versions,
            (1..=reseolio_core::store::postgres::SCHEMA_VERSION).collect::<Vec<_>>(),
            "each migration applied once"
        );
        for s in stores {
            s.close().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_schema_from_a_newer_version_is_refused_and_left_alone() {
        let Some(url) = server_url() else { return };
        let config = with_schema(&url, &format!("t_{}", uuid::Uuid::now_v7().simple()));
        let store = PostgresStore::open(&config).await.unwrap();
        sqlx::query("INSERT INTO reseolio_schema (version, applied_at) VALUES (999, 0)")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
        let e = PostgresStore::open(&config).await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("version 999"), "{}", e.message());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_urls_fail_naming_the_problem() {
        let Some(url) = server_url() else { return };
        // The test server's host and port, with a database and a role that do not exist.
        let base = url.split('?').next().unwrap();
        let (scheme_user, host_db) = base.split_once('@').unwrap();
        let host = host_db.split('/').next().unwrap();
        let scheme = scheme_user.split("://").next().unwrap();
        let cases = [
            (
                format!("{base}_no_such_database_x"),
                ErrorKind::InvalidArgument,
                "does not exist",
            ),
            (
                format!("{scheme}://no_such_role_x@{host}/postgres"),
                ErrorKind::InvalidArgument,
                "no_such_role_x",
            ),
            (
                format!("{scheme}://postgres@127.0.0.1:1/postgres"),
                ErrorKind::Unavailable,
                "cannot be reached",
            ),
        ];
        for (url, kind, needle) in cases {
            let mut config = PostgresConfig::parse(&url).unwrap();
            config.acquire_timeout = std::time::Duration::from_secs(2);
            let e = PostgresStore::open(&config).await.err().unwrap();
            assert_eq!(e.kind(), kind, "{url}: {}", e.message());
            assert!(e.message().contains(needle), "{url}: {}", e.message());
        }
    }
}
