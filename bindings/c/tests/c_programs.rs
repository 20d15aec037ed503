//! C programs built against `include/reseolio.h` and the library this crate just built, and run
//! for real: `examples/c/quickstart.c` (a job enqueued, run by a worker loop on its own thread,
//! its result awaited) and `tests/c/bad_input.c` (every kind of bad input, from C). Each runs
//! natively, under valgrind's memcheck, under AddressSanitizer with LeakSanitizer, and the
//! quickstart also linked statically. `tests/c/leak_probe.c` proves both leak checks can fail.
//!
//! valgrind is required when RESEOLIO_REQUIRE_VALGRIND is set (CI sets it); without it, and
//! without valgrind, those cases say they were skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The newest `libreseolio.<ext>`: `cargo test` leaves it in `deps/`, `cargo build` also in the
/// profile directory; an older copy in one of them must not be the one tested.
fn library(ext: &str) -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let name = format!("libreseolio.{ext}");
    [deps.join(&name), deps.parent().unwrap().join(&name)]
        .into_iter()
        .filter_map(|p| {
            let modified = p.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, p))
        })
        .max_by_key(|(t, _): &(SystemTime, PathBuf)| *t)
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("{name} was not built beside {}", deps.display()))
}

/// Compiles a C source into `dir`, against the shared library (with an rpath to it) or the
/// static one; `extra` flags come first (sanitizers). Panics with the compiler's output.
fn compile(source: &Path, dir: &Path, output: &str, static_link: bool, extra: &[&str]) -> PathBuf {
    let exe = dir.join(output);
    let cpp = source.extension().is_some_and(|e| e == "cpp");
    let (cc, std) = match cpp {
        true => (
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
        ),
        false => (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c11",
        ),
    };
    let mut cmd = Command::new(&cc);
    cmd.args(extra)
        .args([std, "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(source)
        .arg("-o")
        .arg(&exe);
    if static_link {
        cmd.arg(library("a")).args(["-lpthread", "-ldl", "-lm"]);
    } else {
        let so = library("so");
        let lib_dir = so.parent().unwrap();
        cmd.arg(format!("-L{}", lib_dir.display()))
            .arg("-lreseolio")
            .arg("-lpthread")
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cc}: {e}"));
    assert!(
        out.status.success(),
        "{cc} failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn quickstart_source() -> PathBuf {
    crate_dir().join("../../examples/c/quickstart.c")
}

fn test_source(name: &str) -> PathBuf {
    crate_dir().join("tests/c").join(name)
}

/// Runs `program URL` (a fresh SQLite file in `dir`) under `wrapper` (empty for none).
fn run(wrapper: &[&str], program: &Path, dir: &Path, env: &[(&str, &str)]) -> Output {
    let url = format!("sqlite://{}", dir.join("c.db").display());
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    };
    // cargo points LD_LIBRARY_PATH at its output directories, where an older libreseolio.so
    // can sit; it outranks the program's rpath, so it is removed: the library just chosen runs.
    cmd.arg(url)
        .env_remove("LD_LIBRARY_PATH")
        .envs(env.iter().copied());
    cmd.output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// memcheck: any invalid read, write or free, or a leak the program caused (definite or
/// indirect), makes the exit code 99. What the runtime keeps for the life of the process (its
/// threads, the handle tables) is still reachable or "possibly lost" through a pointer into a
/// hash table, and is not counted.
const VALGRIND: &[&str] = &[
    "valgrind",
    "--error-exitcode=99",
    "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect",
    "--show-leak-kinds=definite,indirect",
];

/// True when valgrind is here; panics when it is required (CI) and missing.
fn have_valgrind() -> bool {
    let here = Command::new("valgrind").arg("--version").output().is_ok();
    if !here {
        assert!(
            std::env::var_os("RESEOLIO_REQUIRE_VALGRIND").is_none(),
            "RESEOLIO_REQUIRE_VALGRIND is set but valgrind is not installed"
        );
        eprintln!("skipped: valgrind is not installed");
    }
    here
}

const ASAN: &[&str] = &["-fsanitize=address", "-fno-omit-frame-pointer"];
const ASAN_ENV: &[(&str, &str)] = &[("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")];

fn assert_quickstart_ran(out: &Output) {
    let all = text(out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("attempt 1 of add failed") && stdout.contains("attempt 2 of add succeeded"),
        "{all}"
    );
    assert!(
        stdout.contains("SUCCESS after 2 attempts, result 5"),
        "{all}"
    );
}

fn assert_bad_input_passed(out: &Output) {
    let all = text(out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with("0 failed\n"), "{all}");
    let cases = stdout.lines().filter(|l| l.starts_with("ok - ")).count();
    assert!(cases >= 64, "only {cases} cases ran:\n{all}");
}

#[test]
fn the_quickstart_runs_a_job_with_a_retry_and_gets_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&quickstart_source(), dir.path(), "quickstart", false, &[]);
    assert_quickstart_ran(&run(&[], &exe, dir.path(), &[]));
}

#[test]
fn the_quickstart_links_against_the_static_library() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&quickstart_source(), dir.path(), "quickstart", true, &[]);
    assert_quickstart_ran(&run(&[], &exe, dir.path(), &[]));
}

#[test]
fn the_quickstart_is_clean_under_valgrind() {
    if !have_valgrind() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&quickstart_source(), dir.path(), "quickstart", false, &[]);
    let out = run(VALGRIND, &exe, dir.path(), &[]);
    assert_quickstart_ran(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ERROR SUMMARY: 0 errors")
            || out.stderr.is_empty(),
        "{}",
        text(&out)
    );
}

#[test]
fn the_quickstart_is_clean_under_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&quickstart_source(), dir.path(), "quickstart", false, ASAN);
    assert_quickstart_ran(&run(&[], &exe, dir.path(), ASAN_ENV));
}

#[test]
fn bad_input_from_c_is_an_error_code_and_never_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(
        &test_source("bad_input.c"),
        dir.path(),
        "bad_input",
        false,
        &[],
    );
    assert_bad_input_passed(&run(&[], &exe, dir.path(), &[]));
}

#[test]
fn bad_input_from_c_is_clean_under_valgrind_and_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&test_source("bad_input.c"), dir.path(), "asan", false, ASAN);
    assert_bad_input_passed(&run(&[], &exe, dir.path(), ASAN_ENV));
    if have_valgrind() {
        let dir = tempfile::tempdir().unwrap();
        let exe = compile(&test_source("bad_input.c"), dir.path(), "plain", false, &[]);
        assert_bad_input_passed(&run(VALGRIND, &exe, dir.path(), &[]));
    }
}

#[test]
fn both_leak_checks_catch_a_job_that_was_never_freed() {
    let dir = tempfile::tempdir().unwrap();
    let asan = compile(
        &test_source("leak_probe.c"),
        dir.path(),
        "asan",
        false,
        ASAN,
    );
    let out = run(&[], &asan, dir.path(), ASAN_ENV);
    let all = text(&out);
    assert!(
        !out.status.success(),
        "LeakSanitizer missed the leak:\n{all}"
    );
    assert!(all.contains("detected memory leaks"), "{all}");
    if have_valgrind() {
        let dir = tempfile::tempdir().unwrap();
        let plain = compile(
            &test_source("leak_probe.c"),
            dir.path(),
            "plain",
            false,
            &[],
        );
        let out = run(VALGRIND, &plain, dir.path(), &[]);
        let all = text(&out);
        assert_eq!(
            out.status.code(),
            Some(99),
            "valgrind missed the leak:\n{all}"
        );
        assert!(
            all.contains("definitely lost") && all.contains("job_into_raw"),
            "{all}"
        );
    }
}

#[test]
fn the_cpp_binding_example_runs_and_is_clean_under_valgrind() {
    // examples/cpp: a C++ binding written on the C ABI (the one docs/other-languages.md shows).
    let source = crate_dir().join("../../examples/cpp/main.cpp");
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(&source, dir.path(), "cpp", false, &[]);
    let check = |out: &Output| {
        let all = text(out);
        assert!(out.status.success(), "{all}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(": hello, C++"), "{all}");
        assert!(
            stdout.contains("caught not_found: no job with id 'no-such-job'"),
            "{all}"
        );
    };
    check(&run(&[], &exe, dir.path(), &[]));
    if have_valgrind() {
        let dir = tempfile::tempdir().unwrap();
        check(&run(VALGRIND, &exe, dir.path(), &[]));
    }
}

#[test]
fn the_shared_library_exports_only_the_functions_of_the_header() {
    // Rust's own symbols, and those of every crate inside, stay hidden: a C program linking
    // libreseolio.so next to another Rust library cannot pick up the wrong one.
    let so = library("so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success(), "{}", text(&out));
    let header = std::fs::read_to_string(crate_dir().join("include/reseolio.h")).unwrap();
    let functions: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("T"))
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    assert!(functions.len() >= 20, "{functions:?}");
    for f in &functions {
        assert!(
            f.starts_with("reseolio_") && header.contains(&format!("{f}(")),
            "libreseolio.so exports {f}, which reseolio.h does not declare"
        );
    }
}
