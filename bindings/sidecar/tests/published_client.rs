//! The published `reseolio` npm client (0.1.3, pinned by `tests/compat/package-lock.json`) runs
//! unchanged against this sidecar: enqueue, a worker run, result(), idempotency, automatic retry,
//! cancel, NOT_FOUND. It loads the `.proto` from a `proto/` folder beside its `node_modules`, so
//! the test lays ours there.
//!
//! Needs Node and npm (the registry is reached once; the install is kept in the target
//! directory). Without `npm` on the PATH the test says it was skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The compat project with its dependencies installed, reinstalled when the lock file changes.
fn compat_project() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reseolio-v1-compat");
    std::fs::create_dir_all(dir.join("proto")).unwrap();
    let lock = std::fs::read(src.join("package-lock.json")).unwrap();
    let installed = std::fs::read(dir.join("package-lock.json")).ok();
    for f in ["package.json", "package-lock.json", "compat.mjs"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/reseolio.proto");
    std::fs::copy(proto, dir.join("proto/reseolio.proto")).unwrap();
    if installed.as_deref() != Some(&lock[..]) || !dir.join("node_modules/reseolio").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci failed");
    }
    dir
}

#[test]
fn the_published_v1_client_works_unchanged() {
    if !have("npm") || !have("node") {
        println!("skipped: node and npm are needed for the published-client test");
        return;
    }
    let project = compat_project();
    let db = tempfile::tempdir().unwrap();
    let mut sidecar = Command::new(env!("CARGO_BIN_EXE_reseolio"))
        .env("RESEOLIO_DB", db.path().join("compat.db"))
        .env("RESEOLIO_ADDR", "127.0.0.1:0")
        .env("RESEOLIO_SHUTDOWN_GRACE", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sidecar.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    let out = Command::new("node")
        .args(["compat.mjs", &addr])
        .current_dir(&project)
        .output()
        .unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(sidecar.id() as i32, libc::SIGTERM) };
    let stopped = sidecar.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");
    assert!(
        stopped.success(),
        "the sidecar did not stop cleanly: {stopped:?}"
    );
}
