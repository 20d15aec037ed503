//! `include/reseolio.h` is what the sources generate: a C caller can never be compiled against
//! a header that has drifted from the library. `RESEOLIO_BLESS=1` rewrites it after a change.

use std::path::Path;

#[test]
fn the_checked_in_header_is_what_the_sources_generate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("generate the header from src/")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = dir.join("include/reseolio.h");
    if std::env::var_os("RESEOLIO_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/reseolio.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        let line = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |n| format!("line {}", n + 1));
        panic!(
            "bindings/c/include/reseolio.h differs from what src/ generates (first at {line}); \
             run RESEOLIO_BLESS=1 cargo test -p reseolio-c --test header and commit it"
        );
    }
}

#[test]
fn every_exported_function_is_declared_in_the_header() {
    // The other direction: nothing the library exports is missing from the header (cbindgen
    // skips an item it cannot express, silently).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("include/reseolio.h")).unwrap();
    let exported: Vec<String> = exported_functions().into_iter().map(|(n, _)| n).collect();
    assert!(exported.len() >= 20, "found only {exported:?}");
    for name in &exported {
        assert!(
            header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
            "{name} is exported but not declared in reseolio.h"
        );
    }
}

#[test]
fn every_exported_function_runs_behind_the_panic_boundary() {
    // A panic unwinding out of an `extern "C"` function aborts the host. Each exported body must
    // start in `boundary::call` or `boundary::quiet` (directly or through the two helpers that
    // do), except the few that only return constants.
    const WRAPPERS: [&str; 4] = ["call(", "crate::boundary::quiet(", "job_call(", "complete("];
    const CONSTANT: [&str; 4] = [
        "reseolio_version",
        "reseolio_status_name",
        "reseolio_connect_options_default",
        "reseolio_enqueue_options_default",
    ];
    for (name, first) in exported_functions() {
        if CONSTANT.contains(&name.as_str()) {
            continue;
        }
        assert!(
            WRAPPERS.iter().any(|w| first.starts_with(w)),
            "{name} does not start behind the boundary: its body begins with `{first}`"
        );
    }
}

/// Every `#[no_mangle]` function in src/, with the first line of its body.
fn exported_functions() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(dir.join("src")).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut lines = src.lines();
        while let Some(line) = lines.next() {
            if line.trim() != "#[no_mangle]" {
                continue;
            }
            let sig = lines.next().unwrap_or_default();
            let name = sig
                .split("fn ")
                .nth(1)
                .and_then(|s| s.split('(').next())
                .unwrap_or_else(|| panic!("no function after #[no_mangle]: {sig}"));
            // The body starts after the line that ends the signature with `{`.
            let mut line = sig;
            while !line.trim_end().ends_with('{') {
                line = lines.next().unwrap_or_else(|| panic!("{name} has no body"));
            }
            let first = lines.next().unwrap_or_default().trim().to_string();
            exported.push((name.to_string(), first));
        }
    }
    exported
}
