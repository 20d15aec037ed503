//! The Node addon of the `reseolio` npm package: napi-rs glue over `reseolio-ffi`. Type
//! conversion, promises and error mapping only; the user-facing API lives in the TypeScript
//! package (`sdks/node`). The files mirror the Python glue (`bindings/python`).
//!
//! Every engine call returns a Promise at once. The work runs on reseolio-ffi's runtime (which
//! every ffi method uses by itself); napi's own runtime only awaits it and settles the Promise
//! on the JS thread. No engine thread ever calls into JavaScript.
//!
//! A pending Promise keeps the Node event loop alive, as any pending I/O does; nothing else does,
//! so a script exits once its calls are settled and its workers are shut down.

// napi-derive registers the exports only outside `cfg(test)`, so a test build (clippy
// --all-targets) sees the exported items as unused.
#![cfg_attr(test, allow(dead_code))]

mod client;
mod convert;
mod dashboard;
mod error;
mod schedules;
mod steps;
mod worker;

/// The version of the engine inside this addon.
#[napi_derive::napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
