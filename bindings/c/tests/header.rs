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
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(dir.join("src")).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut lines = src.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() == "#[no_mangle]" {
                let sig = lines.next().unwrap_or_default();
                let name = sig
                    .split("fn ")
                    .nth(1)
                    .and_then(|s| s.split('(').next())
                    .unwrap_or_else(|| panic!("no function after #[no_mangle]: {sig}"));
                exported.push(name.to_string());
            }
        }
    }
    assert!(exported.len() >= 20, "found only {exported:?}");
    for name in &exported {
        assert!(
            header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
            "{name} is exported but not declared in reseolio.h"
        );
    }
}
