//! Fuzz target `job_options`: the job options as the SDKs and the wire give them, and every
//! small string parser of the engine's names.
//!
//! Input: any bytes. They are read twice: as text (invalid UTF-8 replaced) by the name parsers,
//! and, when they decode, as a wire `EnqueueRequest`, whose options and idempotency key go
//! through `options_from_wire` and `EnqueueOptions::resolve` (the sidecar's EnqueueJob path and
//! the schedules' handler options).
//!
//! What it proves, for any input:
//! - the name parsers (`Backoff`, `JobStatus`, `StepKind`, `StepStatus`, `ScheduleStatus`,
//!   `MissedPolicy`, `OverlapPolicy`, `Durability`, `ErrorKind`, `AttemptOutcome`, `StoreEvent`,
//!   `LeaseToken`) never panic, refuse only with InvalidArgument, accept a name only in one of
//!   its spellings (any case where documented), and give back a value whose own name parses to
//!   it again; a lease token prints as text that parses to the same token;
//! - `validate_event_key` accepts exactly 1..=200 bytes;
//! - `options_from_wire` and `resolve` never panic and refuse only with InvalidArgument;
//!   resolved options are within their documented limits, and the backoff delay of every attempt
//!   (jitter at either end) never passes `max_delay_ms`;
//! - wire options converted to the engine's, back to the wire (`options_to_wire`) and again are
//!   unchanged: the zero rule loses nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use reseolio_core::job::{backoff_delay_ms, AttemptOutcome};
use reseolio_core::schedule::{MissedPolicy, OverlapPolicy, ScheduleStatus};
use reseolio_core::store::sqlite::Durability;
use reseolio_core::store::StoreEvent;
use reseolio_core::{
    validate_event_key, Backoff, ErrorKind, JobStatus, LeaseToken, StepKind, StepStatus,
    MAX_EVENT_KEY_BYTES,
};
use reseolio_proto as pb;
use std::fmt::Debug;
use std::str::FromStr;

/// The documented limits (`reseolio_core::job::options` is private to its crate): names and
/// idempotency keys of 1 to 255 bytes, a per-attempt timeout of at most 30 days.
const MAX_NAME_BYTES: usize = 255;
const MAX_TIMEOUT_MS: u64 = 30 * 24 * 3600 * 1000;

/// A name parser: a refusal is InvalidArgument; an accepted `s` is one spelling of the value's
/// own name (`case` allows any case; `empty_is_default` lets "" mean the default), and that
/// name parses to the same value.
fn name_parser<T>(s: &str, as_str: fn(&T) -> &'static str, case: bool, empty_is_default: bool)
where
    T: FromStr<Err = reseolio_core::Error> + PartialEq + Debug,
{
    match s.parse::<T>() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{s:?}: {e:?}"),
        Ok(v) => {
            let name = as_str(&v);
            let spelled = if case {
                name.eq_ignore_ascii_case(s)
            } else {
                name == s
            };
            assert!(
                spelled || (empty_is_default && s.is_empty()),
                "{s:?} parsed as {v:?}"
            );
            assert_eq!(name.parse::<T>().ok().as_ref(), Some(&v), "{name:?}");
        }
    }
}

fn names(s: &str) {
    name_parser::<Backoff>(s, |v| v.as_str(), true, false);
    name_parser::<JobStatus>(s, |v| v.as_str(), true, false);
    name_parser::<StepKind>(s, |v| v.as_str(), true, false);
    name_parser::<StepStatus>(s, |v| v.as_str(), true, false);
    name_parser::<ScheduleStatus>(s, |v| v.as_str(), true, false);
    name_parser::<MissedPolicy>(s, |v| v.as_str(), false, true);
    name_parser::<OverlapPolicy>(s, |v| v.as_str(), false, true);
    name_parser::<Durability>(
        s,
        |v| match v {
            Durability::Normal => "normal",
            Durability::Full => "full",
        },
        true,
        false,
    );
    if let Some(k) = ErrorKind::parse(s) {
        assert_eq!(k.as_str(), s);
    }
    if let Some(o) = AttemptOutcome::parse(s) {
        assert_eq!(o.as_str(), s);
    }
    let _ = StoreEvent::parse(s);
    match s.parse::<LeaseToken>() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        Ok(t) => {
            assert!(!t.job_id.is_empty(), "{s:?} parsed as {t:?}");
            let again = t.to_string().parse::<LeaseToken>();
            assert_eq!(again.as_ref().ok(), Some(&t), "{s:?} printed as {t}");
        }
    }
    assert_eq!(
        validate_event_key(s).is_ok(),
        (1..=MAX_EVENT_KEY_BYTES).contains(&s.len())
    );
}

fn options(r: pb::EnqueueRequest) {
    let key = r.idempotency_key.clone();
    let engine_options = match pb::options_from_wire(r.options, key.clone()) {
        Ok(o) => o,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
            return;
        }
    };

    // Wire, engine, wire, engine: nothing lost. (Debug compares a NaN jitter as equal.)
    let wire = pb::options_to_wire(&engine_options)
        .expect("options read from the wire did not go back to the wire");
    let again = pb::options_from_wire(Some(wire), key).expect("round trip refused");
    assert_eq!(format!("{again:?}"), format!("{engine_options:?}"));

    for now_ms in [0, 1_780_000_000_000, i64::MAX, i64::MIN] {
        let resolved = match engine_options.resolve(now_ms) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
                continue;
            }
        };
        assert!(resolved.max_attempts >= 1);
        assert!((1..=MAX_TIMEOUT_MS).contains(&resolved.timeout_ms));
        assert!((0.0..=1.0).contains(&resolved.retry.jitter));
        assert!(engine_options.run_at_ms.is_some() || resolved.run_at_ms >= now_ms);
        if let Some(k) = &resolved.idempotency_key {
            assert!((1..=MAX_NAME_BYTES).contains(&k.len()));
        }
        let cap = resolved.retry.max_delay_ms;
        for attempt in [0, 1, 2, 31, 63, 64, 65, resolved.max_attempts, u32::MAX] {
            for sample in [-1.0, -0.5, 0.0, 0.5, 1.0, f64::NAN, f64::INFINITY] {
                let d = backoff_delay_ms(&resolved.retry, attempt, sample);
                assert!(d <= cap, "delay {d} over the cap {cap}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    names(&String::from_utf8_lossy(data));
    if let Ok(r) = pb::EnqueueRequest::decode(data) {
        options(r);
    }
});
