//! The one mapping between the engine's schedules and the wire's `Schedule`, shared by the
//! sidecar and the remote client.

use crate::options::{options_from_wire, options_to_wire};
use reseolio_core::schedule::{Schedule, ScheduleStatus};
use reseolio_core::{Error, Result};

/// The wire enum of a schedule status.
pub fn schedule_status_to_wire(s: ScheduleStatus) -> crate::ScheduleStatus {
    match s {
        ScheduleStatus::Active => crate::ScheduleStatus::Active,
        ScheduleStatus::Paused => crate::ScheduleStatus::Paused,
    }
}

/// An engine schedule on the wire. Errors: InvalidArgument when a job option does not fit the
/// wire's 32-bit fields (a timeout over 24 days).
pub fn schedule_to_wire(s: &Schedule) -> Result<crate::Schedule> {
    Ok(crate::Schedule {
        id: s.id.clone(),
        name: s.name.clone(),
        cron_expression: s.cron.clone(),
        timezone: s.timezone.clone(),
        status: schedule_status_to_wire(s.status) as i32,
        next_run_at: s.next_run_at,
        last_run_at: s.last_run_at.unwrap_or(0),
        created_at: s.created_at,
        updated_at: s.updated_at,
        handler_options: Some(options_to_wire(&s.options)?),
        args: s.args.clone(),
        function: s.function.clone(),
        missed: s.missed.as_str().to_string(),
        overlap: s.overlap.as_str().to_string(),
        last_job_id: s.last_job_id.clone().unwrap_or_default(),
    })
}

/// A wire schedule as the engine's. A v1 server sends no function (the name is the function)
/// and no policies (the defaults). Errors: Internal for a status the engine does not know.
pub fn schedule_from_wire(s: crate::Schedule) -> Result<Schedule> {
    let status = match crate::ScheduleStatus::try_from(s.status) {
        Ok(crate::ScheduleStatus::Active) => ScheduleStatus::Active,
        Ok(crate::ScheduleStatus::Paused) => ScheduleStatus::Paused,
        _ => {
            return Err(Error::internal(format!(
                "the sidecar sent schedule status {}",
                s.status
            )))
        }
    };
    Ok(Schedule {
        function: if s.function.is_empty() {
            s.name.clone()
        } else {
            s.function
        },
        id: s.id,
        name: s.name,
        cron: s.cron_expression,
        timezone: s.timezone,
        status,
        args: s.args,
        options: options_from_wire(s.handler_options, String::new())?,
        missed: s.missed.parse()?,
        overlap: s.overlap.parse()?,
        next_run_at: s.next_run_at,
        last_run_at: (s.last_run_at != 0).then_some(s.last_run_at),
        last_job_id: (!s.last_job_id.is_empty()).then_some(s.last_job_id),
        created_at: s.created_at,
        updated_at: s.updated_at,
        // The wire does not carry it (see the field's doc).
        version: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reseolio_core::schedule::{MissedPolicy, OverlapPolicy};
    use reseolio_core::EnqueueOptions;

    #[test]
    fn a_schedule_round_trips_through_the_wire() {
        let s = Schedule {
            id: "id".into(),
            name: "nightly".into(),
            function: "report".into(),
            cron: "0 3 * * *".into(),
            timezone: "Europe/Paris".into(),
            status: ScheduleStatus::Paused,
            args: b"[1]".to_vec(),
            options: EnqueueOptions {
                max_attempts: Some(2),
                initial_delay_ms: Some(0),
                ..Default::default()
            },
            missed: MissedPolicy::Skip,
            overlap: OverlapPolicy::Skip,
            next_run_at: 5,
            last_run_at: Some(4),
            last_job_id: Some("j".into()),
            created_at: 1,
            updated_at: 2,
            version: 0,
        };
        assert_eq!(
            schedule_from_wire(schedule_to_wire(&s).unwrap()).unwrap(),
            s
        );
        let fresh = Schedule {
            last_run_at: None,
            last_job_id: None,
            ..s
        };
        assert_eq!(
            schedule_from_wire(schedule_to_wire(&fresh).unwrap()).unwrap(),
            fresh
        );
    }

    #[test]
    fn a_v1_schedule_runs_its_name_with_the_default_policies() {
        let w = crate::Schedule {
            name: "nightly".into(),
            status: crate::ScheduleStatus::Active as i32,
            ..Default::default()
        };
        let s = schedule_from_wire(w).unwrap();
        assert_eq!(s.function, "nightly");
        assert_eq!(
            (s.missed, s.overlap),
            (MissedPolicy::RunLatest, OverlapPolicy::Allow)
        );
        let unknown = crate::Schedule {
            status: 9,
            ..Default::default()
        };
        assert!(schedule_from_wire(unknown).is_err());
    }
}
