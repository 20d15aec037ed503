//! The options a caller may set on a job, their defaults and their limits.

use super::backoff::{Backoff, RetryPolicy};
use crate::error::{Error, Result};

/// The longest function name and idempotency key, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest per-attempt timeout: 30 days. Longer work should heartbeat.
pub const MAX_TIMEOUT_MS: i64 = 30 * 24 * 3600 * 1000;

/// Limits set by the engine's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest args, result or error payload, in bytes (default 1 MiB).
    pub max_payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 1024 * 1024,
        }
    }
}

/// Per-job options as a caller gives them. `None` means the default. Signed integers are used so
/// that a negative value from a binding is reported, not wrapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnqueueOptions {
    /// Attempts before the job is DEAD, at least 1 (default 3).
    pub max_attempts: Option<i64>,
    /// Backoff growth (default exponential).
    pub backoff: Option<Backoff>,
    /// Base retry delay in ms, at least 0 (default 1000).
    pub initial_delay_ms: Option<i64>,
    /// Cap on the retry delay in ms, at least 0 (default 60000).
    pub max_delay_ms: Option<i64>,
    /// Spread of the retry delay, 0.0 to 1.0 (default 0.1).
    pub jitter: Option<f64>,
    /// Per-attempt timeout in ms, the lease length, at least 1 (default 30000).
    pub timeout_ms: Option<i64>,
    /// Not due before this many ms from now, at least 0. Exclusive with `run_at_ms`.
    pub delay_ms: Option<i64>,
    /// Not due before this Unix time in ms. Exclusive with `delay_ms`.
    pub run_at_ms: Option<i64>,
    /// Higher runs first among due jobs (default 0).
    pub priority: Option<i32>,
    /// A second enqueue with the same (name, key) returns the first job.
    pub idempotency_key: Option<String>,
}

/// Options with every default filled in and every limit checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOptions {
    /// Attempts before DEAD.
    pub max_attempts: u32,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Per-attempt timeout (lease) in ms.
    pub timeout_ms: u64,
    /// When the first attempt is due, Unix ms.
    pub run_at_ms: i64,
    /// Claim priority.
    pub priority: i32,
    /// The idempotency key, if any.
    pub idempotency_key: Option<String>,
}

fn non_negative(field: &str, v: Option<i64>, default: i64) -> Result<u64> {
    let v = v.unwrap_or(default);
    if v < 0 {
        return Err(Error::invalid(format!("{field} must be >= 0, got {v}")));
    }
    Ok(v as u64)
}

/// Checks a function name: 1 to 255 bytes.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("name must not be empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!(
            "name is {} bytes; the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// Checks a payload (`field` names it in the error) against the limit.
pub fn validate_payload(field: &str, bytes: &[u8], limits: &Limits) -> Result<()> {
    if bytes.len() > limits.max_payload_bytes {
        return Err(Error::invalid(format!(
            "{field} is {} bytes; the limit is {} bytes",
            bytes.len(),
            limits.max_payload_bytes
        )));
    }
    Ok(())
}

impl EnqueueOptions {
    /// Fills in defaults and checks every limit. `now_ms` anchors `delay_ms`.
    ///
    /// Errors: InvalidArgument naming the field and its limit.
    pub fn resolve(&self, now_ms: i64) -> Result<ResolvedOptions> {
        let max_attempts = self.max_attempts.unwrap_or(3);
        if max_attempts < 1 || max_attempts > i32::MAX as i64 {
            return Err(Error::invalid(format!(
                "max_attempts must be between 1 and {}, got {max_attempts}",
                i32::MAX
            )));
        }
        let initial_delay_ms = non_negative("initial_delay_ms", self.initial_delay_ms, 1000)?;
        let max_delay_ms = non_negative("max_delay_ms", self.max_delay_ms, 60_000)?;
        let jitter = self.jitter.unwrap_or(0.1);
        if !(0.0..=1.0).contains(&jitter) {
            return Err(Error::invalid(format!(
                "jitter must be between 0.0 and 1.0, got {jitter}"
            )));
        }
        let timeout_ms = self.timeout_ms.unwrap_or(30_000);
        if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(Error::invalid(format!(
                "timeout_ms must be between 1 and {MAX_TIMEOUT_MS} (30 days), got {timeout_ms}"
            )));
        }
        let run_at_ms = match (self.delay_ms, self.run_at_ms) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "give delay_ms or run_at_ms, not both".to_string(),
                ))
            }
            (Some(d), None) => now_ms.saturating_add(non_negative("delay_ms", Some(d), 0)? as i64),
            (None, Some(at)) => {
                if at < 0 {
                    return Err(Error::invalid(format!("run_at_ms must be >= 0, got {at}")));
                }
                at
            }
            (None, None) => now_ms,
        };
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() {
                return Err(Error::invalid(
                    "idempotency_key must not be empty (leave it unset for none)",
                ));
            }
            if key.len() > MAX_NAME_BYTES {
                return Err(Error::invalid(format!(
                    "idempotency_key is {} bytes; the limit is {MAX_NAME_BYTES}",
                    key.len()
                )));
            }
        }
        Ok(ResolvedOptions {
            max_attempts: max_attempts as u32,
            retry: RetryPolicy {
                backoff: self.backoff.unwrap_or_default(),
                initial_delay_ms,
                max_delay_ms,
                jitter,
            },
            timeout_ms: timeout_ms as u64,
            run_at_ms,
            priority: self.priority.unwrap_or(0),
            idempotency_key: self.idempotency_key.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let r = EnqueueOptions::default().resolve(1_000).unwrap();
        assert_eq!(r.max_attempts, 3);
        assert_eq!(r.retry.backoff, Backoff::Exponential);
        assert_eq!(r.retry.initial_delay_ms, 1000);
        assert_eq!(r.retry.max_delay_ms, 60_000);
        assert_eq!(r.retry.jitter, 0.1);
        assert_eq!(r.timeout_ms, 30_000);
        assert_eq!(r.run_at_ms, 1_000);
        assert_eq!(r.priority, 0);
    }

    #[test]
    fn each_bad_option_names_its_field() {
        let cases: Vec<(EnqueueOptions, &str)> = vec![
            (
                EnqueueOptions {
                    max_attempts: Some(0),
                    ..Default::default()
                },
                "max_attempts",
            ),
            (
                EnqueueOptions {
                    initial_delay_ms: Some(-1),
                    ..Default::default()
                },
                "initial_delay_ms",
            ),
            (
                EnqueueOptions {
                    max_delay_ms: Some(-5),
                    ..Default::default()
                },
                "max_delay_ms",
            ),
            (
                EnqueueOptions {
                    jitter: Some(1.5),
                    ..Default::default()
                },
                "jitter",
            ),
            (
                EnqueueOptions {
                    jitter: Some(f64::NAN),
                    ..Default::default()
                },
                "jitter",
            ),
            (
                EnqueueOptions {
                    timeout_ms: Some(0),
                    ..Default::default()
                },
                "timeout_ms",
            ),
            (
                EnqueueOptions {
                    timeout_ms: Some(i64::MAX),
                    ..Default::default()
                },
                "30 days",
            ),
            (
                EnqueueOptions {
                    delay_ms: Some(-1),
                    ..Default::default()
                },
                "delay_ms",
            ),
            (
                EnqueueOptions {
                    delay_ms: Some(1),
                    run_at_ms: Some(5),
                    ..Default::default()
                },
                "delay_ms or run_at_ms",
            ),
            (
                EnqueueOptions {
                    idempotency_key: Some(String::new()),
                    ..Default::default()
                },
                "idempotency_key",
            ),
            (
                EnqueueOptions {
                    idempotency_key: Some("k".repeat(256)),
                    ..Default::default()
                },
                "idempotency_key",
            ),
        ];
        for (opts, field) in cases {
            let e = opts.resolve(0).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{field}");
            assert!(e.message().contains(field), "{} lacks {field}", e.message());
        }
    }

    #[test]
    fn names_and_payloads_are_bounded() {
        assert!(validate_name("a").is_ok());
        assert!(validate_name(&"a".repeat(255)).is_ok());
        assert!(validate_name("").unwrap_err().message().contains("empty"));
        assert!(validate_name(&"a".repeat(256))
            .unwrap_err()
            .message()
            .contains("255"));
        let limits = Limits {
            max_payload_bytes: 4,
        };
        assert!(validate_payload("args", b"1234", &limits).is_ok());
        let e = validate_payload("args", b"12345", &limits).unwrap_err();
        assert!(e.message().contains("args") && e.message().contains("4 bytes"));
    }

    #[test]
    fn delay_is_relative_to_now() {
        let r = EnqueueOptions {
            delay_ms: Some(250),
            ..Default::default()
        }
        .resolve(1_000)
        .unwrap();
        assert_eq!(r.run_at_ms, 1_250);
    }
}
