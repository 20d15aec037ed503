//! The generated bindings, tested from the outside: `uniffi-bindgen generate --library` on the
//! cdylib cargo built for this test run, then
//!
//! * Python: the generated module runs a job end to end (`tests/python/test_end_to_end.py`);
//! * Kotlin and Swift: the sources are generated and name the exported types (no Kotlin or Swift
//!   compiler here: generation only).
//!
//! The cdylib is the one cargo builds with the library for this very run (a package's library is
//! built, with all its crate types, before its integration tests): it lies beside the
//! `uniffi-bindgen` binary in the target directory (`CARGO_TARGET_DIR` or the workspace's), or
//! in its `deps/`. Nothing here invokes cargo to build.
//!
//! `RESEOLIO_PYTHON` names the Python interpreter (default `python3`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The bindgen binary of this package, built by cargo for this test run.
fn bindgen() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_uniffi-bindgen"))
}

/// The file name of the cdylib on this platform: `libreseolio_uniffi.so` on Linux.
fn cdylib_name() -> String {
    format!(
        "{}reseolio_uniffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The cdylib cargo built with this test: beside the bindgen binary (the profile directory of
/// the target directory), else in its `deps/`. The newest wins when both exist.
fn cdylib() -> PathBuf {
    let bin = bindgen();
    let profile_dir = bin.parent().expect("the binary lies in a directory");
    let name = cdylib_name();
    let candidates = [
        profile_dir.join(&name),
        profile_dir.join("deps").join(&name),
    ];
    candidates
        .iter()
        .filter_map(|p| {
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok()?;
            Some((modified, p.clone()))
        })
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "no {name} beside {} or in its deps/: was the library built with crate-type cdylib?",
                bin.display()
            )
        })
}

/// Runs `cmd` with a deadline, killing it past the deadline; returns its output.
fn run_with_deadline(mut cmd: Command, deadline: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut buf).map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut buf).map(|_| buf)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still ran after {deadline:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader
            .join()
            .expect("stdout reader")
            .unwrap_or_default(),
        stderr: err_reader
            .join()
            .expect("stderr reader")
            .unwrap_or_default(),
    }
}

/// Prints a child's output (shown by the test harness on failure, or with --nocapture).
fn show(label: &str, output: &Output) {
    println!("--- {label}: {}", output.status);
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
}

/// `uniffi-bindgen generate --library <cdylib> --language <language> --out-dir <out>`, without
/// formatters (no ktlint or swiftformat needed) and without resolving the dependency graph
/// (every exported type lives in this crate).
fn generate(language: &str, out: &Path) {
    let mut cmd = Command::new(bindgen());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("generate")
        .arg("--library")
        .arg(cdylib())
        .args(["--language", language, "--out-dir"])
        .arg(out)
        .args(["--no-format", "--metadata-no-deps"]);
    let output = run_with_deadline(cmd, Duration::from_secs(120));
    show(&format!("uniffi-bindgen ({language})"), &output);
    assert!(output.status.success(), "generating {language} failed");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Reads `path`, asserting it exists and contains every one of `needles`.
fn assert_contains(path: &Path, needles: &[&str]) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("expected generated file {}: {e}", path.display()));
    for needle in needles {
        assert!(
            text.contains(needle),
            "{} does not contain {needle:?}",
            path.display()
        );
    }
}

#[test]
fn python_bindings_run_a_job_end_to_end() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("python");
    generate("python", &out);
    assert_contains(
        &out.join("reseolio_uniffi.py"),
        &[
            "class Client",
            "class Worker",
            "class ClaimedTask",
            "class ReseolioError",
        ],
    );
    // The generated module loads the library from its own directory.
    let lib = cdylib();
    std::fs::copy(&lib, out.join(cdylib_name()))
        .unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_end_to_end.py");
    let python = std::env::var("RESEOLIO_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let db_dir = dir.path().join("db");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(&db_dir)
        .env("PYTHONPATH", &out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let output = run_with_deadline(cmd, Duration::from_secs(300));
    show(&format!("{python} {}", script.display()), &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python end-to-end script failed (set RESEOLIO_PYTHON to choose the interpreter)"
    );
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the script did not report its checks: {stdout}"
    );
}

#[test]
fn kotlin_sources_are_generated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    generate("kotlin", dir.path());
    let kt = dir.path().join("uniffi/reseolio_uniffi/reseolio_uniffi.kt");
    // Kotlin names error types ...Exception.
    assert_contains(
        &kt,
        &[
            "package uniffi.reseolio_uniffi",
            "open class Client",
            "open class Worker",
            "open class ClaimedTask",
            "sealed class ReseolioException",
            "class NotFound(message: String) : ReseolioException(message)",
            "data class Job",
            "enum class JobStatus",
            "fun `connect`(",
        ],
    );
    assert_eq!(files_under(dir.path()), vec![kt], "unexpected Kotlin files");
}

#[test]
fn swift_sources_are_generated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    generate("swift", dir.path());
    let swift = dir.path().join("reseolio_uniffi.swift");
    assert_contains(
        &swift,
        &[
            "open class Client",
            "open class Worker",
            "open class ClaimedTask",
            "enum ReseolioError",
            "case NotFound(message: String)",
            "public struct Job",
            "public enum JobStatus",
        ],
    );
    // The C side of the Swift module: the FFI header and its module map.
    assert_contains(
        &dir.path().join("reseolio_uniffiFFI.h"),
        &["uniffi_reseolio_uniffi_fn_constructor_client_connect"],
    );
    assert_contains(
        &dir.path().join("reseolio_uniffiFFI.modulemap"),
        &["reseolio_uniffiFFI.h"],
    );
}
