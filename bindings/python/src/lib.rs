//! `reseolio._native`: the pyo3 glue over `reseolio-ffi`. Type conversion, awaitables and error
//! mapping only; the user-facing API lives in the Python package (`sdks/python`).
//!
//! Engine calls start their work on reseolio-ffi's runtime and return at once; results come back
//! to the calling event loop through `bridge.rs`, so no engine thread ever takes the GIL.
//! Blocking calls (`Client.connect`) release the GIL while they wait.

mod bridge;
mod client;
mod convert;
mod dashboard;
mod error;
mod schedules;
mod steps;
mod worker;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<convert::Job>()?;
    m.add_class::<convert::Attempt>()?;
    m.add_class::<convert::LeaderInfo>()?;
    m.add_class::<schedules::Schedule>()?;
    m.add_class::<steps::Step>()?;
    m.add_class::<worker::Worker>()?;
    m.add_class::<worker::Task>()?;
    m.add_class::<dashboard::UiServer>()?;
    m.add_function(wrap_pyfunction!(dashboard::ui_serve, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::drain, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::cancel, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
