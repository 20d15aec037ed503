//! The schedule operations of the Client: the same on the embedded engine and over a sidecar.

use super::{Client, Transport};
use crate::runtime::on_runtime;
use reseolio_core::schedule::{Schedule, ScheduleChange, ScheduleSpec};
use reseolio_core::store::{ScheduleListParams, ScheduleListResult};
use reseolio_core::{Enqueued, Result};

/// Runs `$call` on the embedded engine `e` or the remote `r`, on the client's runtime.
macro_rules! either {
    ($self:ident, |$t:ident| $call:expr) => {
        match $self.transport.clone() {
            Transport::Embedded($t) => on_runtime(async move { $call.await }).await,
            Transport::Remote($t) => on_runtime(async move { $call.await }).await,
        }
    };
}

impl Client {
    /// Declares a schedule: creates it, or updates the one with the same name (re-declaring at
    /// every start is idempotent). Errors: InvalidArgument naming the field and token (nothing is
    /// stored); Unavailable.
    pub async fn schedule_declare(&self, spec: ScheduleSpec) -> Result<Schedule> {
        either!(self, |t| t.schedule_declare(spec))
    }

    /// Reads a schedule by id or name. Errors: NotFound.
    pub async fn schedule_get(&self, id_or_name: &str) -> Result<Schedule> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_get(&id))
    }

    /// Lists schedules by name with a total. Errors: InvalidArgument for a limit outside 1 to
    /// 1000.
    pub async fn schedule_list(&self, params: ScheduleListParams) -> Result<ScheduleListResult> {
        either!(self, |t| t.schedule_list(params))
    }

    /// Changes a schedule's expression, zone, args, options or policies. Errors: NotFound;
    /// InvalidArgument (nothing is changed).
    pub async fn schedule_update(
        &self,
        id_or_name: &str,
        change: ScheduleChange,
    ) -> Result<Schedule> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_update(&id, change))
    }

    /// Pauses a schedule. Errors: NotFound.
    pub async fn schedule_pause(&self, id_or_name: &str) -> Result<Schedule> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_pause(&id))
    }

    /// Resumes a schedule from the first tick after now. Errors: NotFound.
    pub async fn schedule_resume(&self, id_or_name: &str) -> Result<Schedule> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_resume(&id))
    }

    /// Deletes a schedule (its jobs stay). Errors: NotFound.
    pub async fn schedule_delete(&self, id_or_name: &str) -> Result<()> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_delete(&id))
    }

    /// Starts a job of the schedule now. Errors: NotFound.
    pub async fn schedule_trigger(&self, id_or_name: &str) -> Result<Enqueued> {
        let id = id_or_name.to_string();
        either!(self, |t| t.schedule_trigger(&id))
    }
}
