//! The store conformance suite on SQLite, on a file (WAL, read pool) and in memory.

use reseolio_core::store::sqlite::{SqliteConfig, SqliteStore};
use reseolio_core::store::Store;
use std::sync::Arc;

async fn file_store() -> Arc<dyn Store> {
    // The directory lives as long as the test process; each case gets its own file.
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&SqliteConfig::file(dir.join("conformance.db"))).unwrap())
}

async fn memory_store() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&SqliteConfig::memory()).unwrap())
}

mod file {
    use super::*;
    reseolio_core::store_conformance_tests!(file_store());
}

mod memory {
    use super::*;
    reseolio_core::store_conformance_tests!(memory_store());
}
