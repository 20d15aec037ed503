//! The schedule operations over the sidecar: the v1 schedule RPCs, with the fields added since.

use super::{wire, Remote};
use reseolio_core::schedule::{Schedule, ScheduleChange, ScheduleSpec};
use reseolio_core::store::{ScheduleListParams, ScheduleListResult};
use reseolio_core::{Enqueued, Error, Result};
use reseolio_proto as pb;

impl Remote {
    pub(crate) async fn schedule_declare(&self, spec: ScheduleSpec) -> Result<Schedule> {
        let s = self
            .api()
            .create_schedule(pb::CreateScheduleRequest {
                name: spec.name,
                cron_expression: spec.cron,
                timezone: spec.timezone.unwrap_or_default(),
                handler_options: Some(pb::options_to_wire(&spec.options)?),
                args: spec.args,
                function: spec.function,
                missed: spec.missed.as_str().to_string(),
                overlap: spec.overlap.as_str().to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        pb::schedule_from_wire(s)
    }

    pub(crate) async fn schedule_get(&self, id_or_name: &str) -> Result<Schedule> {
        let s = self
            .api()
            .get_schedule(pb::GetScheduleRequest {
                schedule_id: id_or_name.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        pb::schedule_from_wire(s)
    }

    pub(crate) async fn schedule_list(&self, p: ScheduleListParams) -> Result<ScheduleListResult> {
        // Checked here, so that a zero is not sent as v1's "the default page size".
        if p.limit == 0 || p.limit > 1000 {
            return Err(Error::invalid(format!(
                "limit must be between 1 and 1000, got {}",
                p.limit
            )));
        }
        let r = self
            .api()
            .list_schedules(pb::ListSchedulesRequest {
                status_filter: p
                    .status
                    .map_or("all", |s| match s {
                        reseolio_core::schedule::ScheduleStatus::Active => "active",
                        reseolio_core::schedule::ScheduleStatus::Paused => "paused",
                    })
                    .to_string(),
                limit: p.limit as i32,
                offset: p.offset.min(i32::MAX as u32) as i32,
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        Ok(ScheduleListResult {
            schedules: r
                .schedules
                .into_iter()
                .map(pb::schedule_from_wire)
                .collect::<Result<_>>()?,
            total: r.total.max(0) as u64,
        })
    }

    pub(crate) async fn schedule_update(
        &self,
        id_or_name: &str,
        change: ScheduleChange,
    ) -> Result<Schedule> {
        let s = self
            .api()
            .update_schedule(pb::UpdateScheduleRequest {
                schedule_id: id_or_name.to_string(),
                cron_expression: change.cron.unwrap_or_default(),
                timezone: change.timezone.unwrap_or_default(),
                handler_options: change
                    .options
                    .as_ref()
                    .map(pb::options_to_wire)
                    .transpose()?,
                args: change.args,
                missed: change
                    .missed
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default(),
                overlap: change
                    .overlap
                    .map(|o| o.as_str().to_string())
                    .unwrap_or_default(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        pb::schedule_from_wire(s)
    }

    pub(crate) async fn schedule_pause(&self, id_or_name: &str) -> Result<Schedule> {
        let s = self
            .api()
            .pause_schedule(pb::PauseScheduleRequest {
                schedule_id: id_or_name.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        pb::schedule_from_wire(s)
    }

    pub(crate) async fn schedule_resume(&self, id_or_name: &str) -> Result<Schedule> {
        let s = self
            .api()
            .resume_schedule(pb::ResumeScheduleRequest {
                schedule_id: id_or_name.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        pb::schedule_from_wire(s)
    }

    pub(crate) async fn schedule_delete(&self, id_or_name: &str) -> Result<()> {
        self.api()
            .delete_schedule(pb::DeleteScheduleRequest {
                schedule_id: id_or_name.to_string(),
            })
            .await
            .map_err(wire::error)?;
        Ok(())
    }

    pub(crate) async fn schedule_trigger(&self, id_or_name: &str) -> Result<Enqueued> {
        let r = self
            .api()
            .trigger_schedule(pb::TriggerScheduleRequest {
                schedule_id: id_or_name.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        Ok(Enqueued {
            job_id: r.job_id,
            deduplicated: r.deduplicated,
        })
    }
}
