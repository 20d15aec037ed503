//! Schedules: cron expressions with a time zone that start jobs of a durable function.
//!
//! `cron` parses expressions and computes ticks (pure functions); `model` holds the schedule as
//! stored and as callers give it; the engine's scheduler fires due ticks on the leader.

pub mod cron;
pub mod model;

pub use cron::*;
pub use model::*;
