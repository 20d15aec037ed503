//! The one mapping between the engine's job statuses and the wire enum, shared by the sidecar
//! and the remote client.

use reseolio_core::JobStatus as Engine;

impl From<Engine> for crate::JobStatus {
    fn from(s: Engine) -> Self {
        match s {
            Engine::Pending => crate::JobStatus::Pending,
            Engine::Running => crate::JobStatus::Running,
            Engine::Success => crate::JobStatus::Success,
            Engine::Failed => crate::JobStatus::Failed,
            Engine::Dead => crate::JobStatus::Dead,
            Engine::Cancelled => crate::JobStatus::Cancelled,
        }
    }
}

/// The engine status of a wire status number; `None` for UNSPECIFIED or an unknown number.
pub fn job_status(v: i32) -> Option<Engine> {
    match crate::JobStatus::try_from(v).ok()? {
        crate::JobStatus::Unspecified => None,
        crate::JobStatus::Pending => Some(Engine::Pending),
        crate::JobStatus::Running => Some(Engine::Running),
        crate::JobStatus::Success => Some(Engine::Success),
        crate::JobStatus::Failed => Some(Engine::Failed),
        crate::JobStatus::Dead => Some(Engine::Dead),
        crate::JobStatus::Cancelled => Some(Engine::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_unspecified_is_none() {
        for s in Engine::ALL {
            assert_eq!(job_status(crate::JobStatus::from(s) as i32), Some(s));
        }
        assert_eq!(job_status(0), None);
        assert_eq!(job_status(42), None);
    }
}
