//! # reseolio-sidecar
//!
//! The `reseolio` binary's library half: the engine served over gRPC with the reseolio v1 wire
//! contract, standard health checking and server reflection, bearer-token auth, and a graceful
//! shutdown. `main.rs` only parses the command line and signals.

mod convert;
mod schedules;
mod server;
mod service;
mod steps;
mod streams;

pub use server::{serve, ServeConfig, Serving, MAX_MESSAGE_BYTES};
pub use service::Service;
