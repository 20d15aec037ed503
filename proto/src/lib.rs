//! # reseolio-proto
//!
//! The Reseolio gRPC API, generated from `proto/reseolio.proto` (the reseolio v1 wire contract
//! plus fields and RPCs added since, never renumbered). Messages live at the crate root;
//! `reseolio_client` and `reseolio_server` hold the tonic client and server.

#![allow(missing_docs, clippy::all)]

tonic::include_proto!("reseolio");

mod options;
mod schedule;
mod status;
mod step;
pub use options::{options_from_wire, options_to_wire};
pub use schedule::{schedule_from_wire, schedule_status_to_wire, schedule_to_wire};
pub use status::job_status;
pub use step::{
    step_from_wire, step_kind_from_wire, step_kind_to_wire, step_record_from_wire,
    step_record_to_wire, step_status_from_wire, step_status_to_wire, step_to_wire,
    step_wait_from_wire, step_wait_outcome_from_wire, step_wait_outcome_to_wire, step_wait_to_wire,
};

/// The encoded file descriptor set of `reseolio.proto`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/reseolio_descriptor.bin"));
