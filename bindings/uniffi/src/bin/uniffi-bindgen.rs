//! `uniffi-bindgen` for this crate: generates the Python, Kotlin and Swift bindings from the
//! compiled library, with the exact UniFFI version the library was built with.
//!
//! ```sh
//! cargo run -p reseolio-uniffi --bin uniffi-bindgen -- \
//!     generate --library target/debug/libreseolio_uniffi.so --language python --out-dir out/
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
