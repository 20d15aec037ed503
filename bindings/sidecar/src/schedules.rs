//! The schedule RPCs of the `Reseolio` service (the v1 ones, with the fields added since, and
//! TriggerSchedule): wire requests to engine calls and engine schedules back to the wire.

use crate::convert::status;
use reseolio_core::schedule::{ScheduleChange, ScheduleSpec, ScheduleStatus};
use reseolio_core::store::ScheduleListParams;
use reseolio_core::Engine;
use reseolio_proto as pb;
use tonic::Status;

type Answer<T> = Result<T, Status>;

fn to_wire(s: reseolio_core::schedule::Schedule) -> Answer<pb::Schedule> {
    pb::schedule_to_wire(&s).map_err(status)
}

/// An empty policy on the wire is the default on create and "unchanged" on update.
fn policy<T: std::str::FromStr<Err = reseolio_core::Error>>(v: &str) -> Answer<Option<T>> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse().map(Some).map_err(status)
}

pub(crate) async fn create(engine: &Engine, r: pb::CreateScheduleRequest) -> Answer<pb::Schedule> {
    // v1 clients send only a name: it is also the function their jobs run.
    let function = if r.function.is_empty() {
        r.name.clone()
    } else {
        r.function
    };
    let spec = ScheduleSpec {
        name: r.name,
        function,
        cron: r.cron_expression,
        timezone: (!r.timezone.is_empty()).then_some(r.timezone),
        args: r.args,
        options: pb::options_from_wire(r.handler_options, String::new()).map_err(status)?,
        missed: policy(&r.missed)?.unwrap_or_default(),
        overlap: policy(&r.overlap)?.unwrap_or_default(),
    };
    to_wire(engine.schedule_declare(spec).await.map_err(status)?)
}

pub(crate) async fn get(engine: &Engine, id_or_name: &str) -> Answer<pb::Schedule> {
    to_wire(engine.schedule_get(id_or_name).await.map_err(status)?)
}

pub(crate) async fn list(
    engine: &Engine,
    r: pb::ListSchedulesRequest,
) -> Answer<pb::ListSchedulesResponse> {
    let status_filter = match r.status_filter.to_ascii_lowercase().as_str() {
        "" | "all" => None,
        "active" => Some(ScheduleStatus::Active),
        "paused" => Some(ScheduleStatus::Paused),
        other => {
            return Err(Status::invalid_argument(format!(
                "status_filter must be 'active', 'paused' or 'all', got '{other}'"
            )))
        }
    };
    // v1: 0 means the default page size.
    let limit = match r.limit {
        0 => 100,
        n if n < 0 => {
            return Err(Status::invalid_argument(format!(
                "limit must be between 1 and 1000, got {n}"
            )))
        }
        n => n as u32,
    };
    if r.offset < 0 {
        return Err(Status::invalid_argument(format!(
            "offset must be >= 0, got {}",
            r.offset
        )));
    }
    let page = engine
        .schedule_list(ScheduleListParams {
            status: status_filter,
            limit,
            offset: r.offset as u32,
        })
        .await
        .map_err(status)?;
    Ok(pb::ListSchedulesResponse {
        schedules: page
            .schedules
            .into_iter()
            .map(to_wire)
            .collect::<Answer<_>>()?,
        total: page.total.min(i32::MAX as u64) as i32,
    })
}

pub(crate) async fn update(engine: &Engine, r: pb::UpdateScheduleRequest) -> Answer<pb::Schedule> {
    let change = ScheduleChange {
        cron: (!r.cron_expression.is_empty()).then_some(r.cron_expression),
        timezone: (!r.timezone.is_empty()).then_some(r.timezone),
        args: r.args,
        options: r
            .handler_options
            .map(|o| pb::options_from_wire(Some(o), String::new()))
            .transpose()
            .map_err(status)?,
        missed: policy(&r.missed)?,
        overlap: policy(&r.overlap)?,
    };
    to_wire(
        engine
            .schedule_update(&r.schedule_id, change)
            .await
            .map_err(status)?,
    )
}

pub(crate) async fn pause(engine: &Engine, id_or_name: &str) -> Answer<pb::Schedule> {
    to_wire(engine.schedule_pause(id_or_name).await.map_err(status)?)
}

pub(crate) async fn resume(engine: &Engine, id_or_name: &str) -> Answer<pb::Schedule> {
    to_wire(engine.schedule_resume(id_or_name).await.map_err(status)?)
}

/// v1 answers a delete with success and a message; an unknown schedule is NOT_FOUND, as every
/// other call by id.
pub(crate) async fn delete(
    engine: &Engine,
    id_or_name: &str,
) -> Answer<pb::DeleteScheduleResponse> {
    engine.schedule_delete(id_or_name).await.map_err(status)?;
    Ok(pb::DeleteScheduleResponse {
        success: true,
        message: format!("schedule '{id_or_name}' deleted"),
    })
}

pub(crate) async fn trigger(engine: &Engine, id_or_name: &str) -> Answer<pb::EnqueueResponse> {
    let e = engine.schedule_trigger(id_or_name).await.map_err(status)?;
    Ok(pb::EnqueueResponse {
        job_id: e.job_id,
        deduplicated: e.deduplicated,
    })
}
