//! The one mapping between the engine's job options and the wire's `JobOptions`, both ways,
//! shared by the sidecar and the remote client (and by the schedules, which carry job options).

use reseolio_core::{Backoff, EnqueueOptions, Error, Result};

/// Engine options to wire options. A set field whose value is 0 is named in `zero_fields`, so
/// the sidecar does not read it as "the default" (the v1 rule for zeros). Values that do not fit
/// the wire's 32-bit fields are refused by name.
pub fn options_to_wire(o: &EnqueueOptions) -> Result<crate::JobOptions> {
    let mut zero_fields = Vec::new();
    let mut note_zero = |field: &str, is_zero: bool| {
        if is_zero {
            zero_fields.push(field.to_string());
        }
    };
    note_zero("max_attempts", o.max_attempts == Some(0));
    note_zero("initial_delay_ms", o.initial_delay_ms == Some(0));
    note_zero("max_delay_ms", o.max_delay_ms == Some(0));
    note_zero("timeout_ms", o.timeout_ms == Some(0));
    note_zero("jitter", o.jitter == Some(0.0));
    note_zero("priority", o.priority == Some(0));
    note_zero("run_at", o.run_at_ms == Some(0));
    note_zero("delay_ms", o.delay_ms == Some(0));
    let int32 = |field: &str, v: Option<i64>| -> Result<i32> {
        i32::try_from(v.unwrap_or(0)).map_err(|_| {
            Error::invalid(format!(
                "{field} is {}; over gRPC it must fit in 32 bits",
                v.unwrap_or(0)
            ))
        })
    };
    Ok(crate::JobOptions {
        max_attempts: int32("max_attempts", o.max_attempts)?,
        backoff: o
            .backoff
            .map(|b| b.as_str().to_string())
            .unwrap_or_default(),
        initial_delay_ms: int32("initial_delay_ms", o.initial_delay_ms)?,
        max_delay_ms: int32("max_delay_ms", o.max_delay_ms)?,
        timeout_ms: int32("timeout_ms", o.timeout_ms)?,
        jitter: o.jitter.unwrap_or(0.0) as f32,
        priority: o.priority.unwrap_or(0),
        run_at: o.run_at_ms.unwrap_or(0),
        delay_ms: o.delay_ms.unwrap_or(0),
        zero_fields,
    })
}

/// Wire options to engine options: zero or empty means the default (the v1 rule), except for
/// the fields named in `zero_fields`, which are a real 0. Negative values are passed on so that
/// the engine names them in its error.
pub fn options_from_wire(
    o: Option<crate::JobOptions>,
    idempotency_key: String,
) -> Result<EnqueueOptions> {
    let o = o.unwrap_or_default();
    const ZEROABLE: [&str; 9] = [
        "max_attempts",
        "initial_delay_ms",
        "max_delay_ms",
        "timeout_ms",
        "jitter",
        "priority",
        "run_at",
        "delay_ms",
        "run_at_ms",
    ];
    for f in &o.zero_fields {
        if !ZEROABLE.contains(&f.as_str()) {
            return Err(Error::invalid(format!(
                "zero_fields: '{f}' is not a numeric job option"
            )));
        }
    }
    let zero = |name: &str| o.zero_fields.iter().any(|f| f == name);
    let pick = |name: &str, v: i64| (v != 0 || zero(name)).then_some(v);
    let backoff = if o.backoff.is_empty() {
        None
    } else {
        Some(o.backoff.parse::<Backoff>()?)
    };
    Ok(EnqueueOptions {
        max_attempts: pick("max_attempts", o.max_attempts.into()),
        backoff,
        initial_delay_ms: pick("initial_delay_ms", o.initial_delay_ms.into()),
        max_delay_ms: pick("max_delay_ms", o.max_delay_ms.into()),
        jitter: (o.jitter != 0.0 || zero("jitter")).then_some(o.jitter as f64),
        timeout_ms: pick("timeout_ms", o.timeout_ms.into()),
        delay_ms: pick("delay_ms", o.delay_ms),
        run_at_ms: pick("run_at", o.run_at).or(pick("run_at_ms", o.run_at)),
        priority: pick("priority", o.priority.into()).map(|p| p as i32),
        idempotency_key: (!idempotency_key.is_empty()).then_some(idempotency_key),
    })
}
