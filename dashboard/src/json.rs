//! Engine records as the JSON the API answers with. Times are Unix milliseconds (numbers);
//! absent values are `null`. Payloads (args, results) are tagged with how they are encoded.
//!
//! Public so that other front ends (the sidecar's CLI `--json` output) print the same shapes as
//! the HTTP API. Every function is pure and cannot fail.

use base64::Engine as _;
use reseolio_core::schedule::Schedule;
use reseolio_core::store::Leader;
use reseolio_core::{Attempt, EnqueueOptions, Job, Step};
use serde_json::{json, Value};

/// An opaque payload: `{"encoding": "json", "value": <the JSON>}` when it is valid UTF-8 JSON
/// (the SDKs' convention), else `{"encoding": "base64", "value": "<standard base64>"}`.
pub fn payload(bytes: &[u8]) -> Value {
    let parsed = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    match parsed {
        Some(value) => json!({ "encoding": "json", "value": value }),
        None => json!({
            "encoding": "base64",
            "value": base64::engine::general_purpose::STANDARD.encode(bytes),
        }),
    }
}

/// The schedule id and tick a job key names when a schedule tick started the job:
/// `schedule:<schedule id>:<tick ms>`.
pub fn schedule_tick(idempotency_key: &str) -> Option<(&str, i64)> {
    let rest = idempotency_key.strip_prefix("schedule:")?;
    let (id, tick) = rest.rsplit_once(':')?;
    let tick = tick.parse::<i64>().ok()?;
    (!id.is_empty()).then_some((id, tick))
}

/// A job as a list row: no payloads, no error text (both can be a megabyte).
pub fn job_row(j: &Job) -> Value {
    json!({
        "id": j.id,
        "name": j.name,
        "status": j.status.as_str(),
        "priority": j.priority,
        "attempt": j.attempt,
        "max_attempts": j.max_attempts,
        "idempotency_key": j.idempotency_key,
        "created_at": j.created_at,
        "run_at": j.run_at,
        "started_at": j.started_at,
        "completed_at": j.completed_at,
    })
}

/// A job with everything: payloads decoded, the last error, the retry policy and, when a
/// schedule's tick started it, `schedule` (see [`schedule_link`]).
pub fn job_detail(j: &Job, schedule: Value) -> Value {
    let mut v = job_row(j);
    let extra = json!({
        "args": payload(&j.args),
        "result": j.result.as_deref().map(payload),
        "last_error": j.last_error,
        "timeout_ms": j.timeout_ms,
        "retry": {
            "backoff": j.retry.backoff.as_str(),
            "initial_delay_ms": j.retry.initial_delay_ms,
            "max_delay_ms": j.retry.max_delay_ms,
            "jitter": j.retry.jitter,
        },
        "lease_expires_at": j.lease_expires_at,
        "worker_id": j.worker_id,
        "schedule": schedule,
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut v, extra) {
        base.extend(more);
    }
    v
}

/// `{"id", "name", "tick_ms"}` of the schedule that started a job; `name` is null when the
/// schedule has been deleted since.
pub fn schedule_link(id: &str, name: Option<&str>, tick_ms: i64) -> Value {
    json!({ "id": id, "name": name, "tick_ms": tick_ms })
}

/// One attempt, with its duration once finished.
pub fn attempt(a: &Attempt) -> Value {
    json!({
        "attempt": a.attempt,
        "lease": a.lease,
        "worker_id": a.worker_id,
        "node_id": a.node_id,
        "started_at": a.started_at,
        "finished_at": a.finished_at,
        "duration_ms": a.finished_at.map(|f| f - a.started_at),
        "outcome": a.outcome.map(|o| o.as_str()),
        "error": a.error,
    })
}

/// One step of a job's journal. `result` is a [`payload`] (a finished sleep's is empty bytes);
/// `duration_ms` is set once the step finished (never negative: a run step's start comes from
/// the worker's clock). A waiting step says what it waits for: `wait_key` is the event key or
/// the child job id, `wake_at` the end of a sleep or the deadline of an event wait (null: none).
pub fn step(s: &Step) -> Value {
    json!({
        "seq": s.seq,
        "name": s.name,
        "kind": s.kind.as_str(),
        "status": s.status.as_str(),
        "result": s.result.as_deref().map(payload),
        "error": s.error,
        "attempts": s.attempts,
        "started_at": s.started_at,
        "completed_at": s.completed_at,
        "duration_ms": s.completed_at.map(|c| (c - s.started_at).max(0)),
        "wait_key": s.wait_key,
        "wake_at": s.wake_at,
    })
}

/// A schedule. `next_run_at` is null when the expression has no further tick.
pub fn schedule(s: &Schedule) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "function": s.function,
        "cron": s.cron,
        "timezone": s.timezone,
        "status": s.status.as_str(),
        "args": payload(&s.args),
        "options": options(&s.options),
        "missed": s.missed.as_str(),
        "overlap": s.overlap.as_str(),
        "next_run_at": (s.next_run_at != i64::MAX).then_some(s.next_run_at),
        "last_run_at": s.last_run_at,
        "last_job_id": s.last_job_id,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

/// Job options as given (null where the default applies).
fn options(o: &EnqueueOptions) -> Value {
    json!({
        "max_attempts": o.max_attempts,
        "backoff": o.backoff.map(|b| b.as_str()),
        "initial_delay_ms": o.initial_delay_ms,
        "max_delay_ms": o.max_delay_ms,
        "jitter": o.jitter,
        "timeout_ms": o.timeout_ms,
        "priority": o.priority,
    })
}

/// The leading node, and whether it is this process and its term still runs at `now_ms`.
pub fn leader(l: Option<&Leader>, self_node: &str, now_ms: i64) -> Value {
    match l {
        None => Value::Null,
        Some(l) => json!({
            "node_id": l.node_id,
            "elected_at": l.elected_at,
            "expires_at": l.expires_at,
            "is_self": l.node_id == self_node,
            "active": l.expires_at > now_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_json_when_they_can_be_and_base64_otherwise() {
        assert_eq!(
            payload(br#"["a", 1]"#),
            json!({"encoding": "json", "value": ["a", 1]})
        );
        assert_eq!(
            payload(&[0xff, 0x00]),
            json!({"encoding": "base64", "value": "/wA="})
        );
        assert_eq!(payload(b""), json!({"encoding": "base64", "value": ""}));
        assert_eq!(payload(b"not json")["encoding"], "base64");
    }

    #[test]
    fn steps_have_a_duration_once_finished_and_never_a_negative_one() {
        use reseolio_core::{StepKind, StepStatus};
        let waiting = Step {
            job_id: "j".into(),
            seq: 2,
            name: "approval".into(),
            kind: StepKind::Event,
            status: StepStatus::Waiting,
            result: None,
            error: None,
            attempts: 1,
            started_at: 1_000,
            completed_at: None,
            wait_key: Some("order-7".into()),
            wake_at: None,
        };
        let v = step(&waiting);
        assert_eq!(
            (&v["kind"], &v["status"], &v["duration_ms"], &v["result"]),
            (
                &json!("event"),
                &json!("WAITING"),
                &Value::Null,
                &Value::Null
            )
        );
        assert_eq!(
            (&v["wait_key"], &v["wake_at"]),
            (&json!("order-7"), &Value::Null)
        );
        let done = Step {
            status: StepStatus::Success,
            result: Some(br#"{"ok": true}"#.to_vec()),
            completed_at: Some(1_250),
            ..waiting.clone()
        };
        assert_eq!(step(&done)["duration_ms"], 250);
        assert_eq!(step(&done)["result"], payload(br#"{"ok": true}"#));
        // A worker whose clock runs ahead of the engine's.
        let skewed = Step {
            started_at: 2_000,
            ..done
        };
        assert_eq!(step(&skewed)["duration_ms"], 0);
    }

    #[test]
    fn schedule_keys_are_recognised_and_other_keys_are_not() {
        assert_eq!(
            schedule_tick("schedule:0190-ab:1700000000000"),
            Some(("0190-ab", 1_700_000_000_000))
        );
        for other in [
            "order-7",
            "schedule:",
            "schedule::12",
            "schedule:x:y",
            "x:schedule:a:1",
        ] {
            assert_eq!(schedule_tick(other), None, "{other}");
        }
    }
}
