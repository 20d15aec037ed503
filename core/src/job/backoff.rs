//! The retry policy and the backoff function: pure, so it is tested without a clock.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// How the delay between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backoff {
    /// The same delay every time: `d`.
    Fixed,
    /// `d * attempt`.
    Linear,
    /// `d * 2^(attempt - 1)`.
    #[default]
    Exponential,
}

impl Backoff {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backoff::Fixed => "fixed",
            Backoff::Linear => "linear",
            Backoff::Exponential => "exponential",
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backoff {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fixed" => Ok(Backoff::Fixed),
            "linear" => Ok(Backoff::Linear),
            "exponential" => Ok(Backoff::Exponential),
            _ => Err(Error::invalid(format!(
                "backoff must be one of fixed, linear, exponential; got '{s}'"
            ))),
        }
    }
}

/// The retry policy stored with every job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The growth of the delay.
    pub backoff: Backoff,
    /// `d`, the base delay in milliseconds.
    pub initial_delay_ms: u64,
    /// The cap on any delay, jitter included.
    pub max_delay_ms: u64,
    /// 0.0 to 1.0: the delay is spread uniformly by up to this fraction either way.
    pub jitter: f64,
}

/// The delay before the attempt after `attempt` (the 1-based number of the attempt that just
/// failed). `jitter_sample` is a uniform sample in `[-1.0, 1.0]`, passed in so that this function
/// stays pure; the result is `base * (1 + jitter * sample)`, where `base` is the policy's delay
/// capped at `max_delay_ms`, and the result itself never exceeds `max_delay_ms`.
pub fn backoff_delay_ms(policy: &RetryPolicy, attempt: u32, jitter_sample: f64) -> u64 {
    let d = policy.initial_delay_ms;
    let n = attempt.max(1);
    let base = match policy.backoff {
        Backoff::Fixed => d,
        Backoff::Linear => d.saturating_mul(n as u64),
        Backoff::Exponential => {
            let shift = (n - 1).min(63);
            d.saturating_mul(1u64 << shift)
        }
    }
    .min(policy.max_delay_ms);
    let sample = jitter_sample.clamp(-1.0, 1.0);
    let spread = base as f64 * (1.0 + policy.jitter.clamp(0.0, 1.0) * sample);
    (spread.max(0.0).round() as u64).min(policy.max_delay_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: Backoff, jitter: f64) -> RetryPolicy {
        RetryPolicy {
            backoff,
            initial_delay_ms: 1000,
            max_delay_ms: 60_000,
            jitter,
        }
    }

    #[test]
    fn fixed_linear_exponential_without_jitter() {
        let f = policy(Backoff::Fixed, 0.0);
        let l = policy(Backoff::Linear, 0.0);
        let e = policy(Backoff::Exponential, 0.0);
        assert_eq!(
            (1..=4)
                .map(|a| backoff_delay_ms(&f, a, 0.7))
                .collect::<Vec<_>>(),
            [1000, 1000, 1000, 1000]
        );
        assert_eq!(
            (1..=4)
                .map(|a| backoff_delay_ms(&l, a, 0.7))
                .collect::<Vec<_>>(),
            [1000, 2000, 3000, 4000]
        );
        assert_eq!(
            (1..=4)
                .map(|a| backoff_delay_ms(&e, a, 0.7))
                .collect::<Vec<_>>(),
            [1000, 2000, 4000, 8000]
        );
    }

    #[test]
    fn capped_at_max_delay_even_for_huge_attempts() {
        let e = policy(Backoff::Exponential, 0.0);
        assert_eq!(backoff_delay_ms(&e, 7, 0.0), 60_000);
        assert_eq!(backoff_delay_ms(&e, 200, 0.0), 60_000);
        let l = policy(Backoff::Linear, 0.0);
        assert_eq!(backoff_delay_ms(&l, u32::MAX, 0.0), 60_000);
    }

    #[test]
    fn jitter_spreads_within_bounds_and_never_passes_the_cap() {
        let p = policy(Backoff::Fixed, 0.1);
        assert_eq!(backoff_delay_ms(&p, 1, -1.0), 900);
        assert_eq!(backoff_delay_ms(&p, 1, 1.0), 1100);
        assert_eq!(backoff_delay_ms(&p, 1, 0.0), 1000);
        let capped = policy(Backoff::Exponential, 1.0);
        assert_eq!(backoff_delay_ms(&capped, 10, 1.0), 60_000);
        assert_eq!(backoff_delay_ms(&capped, 10, -1.0), 0);
    }

    #[test]
    fn names_parse_case_insensitively_and_reject_others() {
        assert_eq!("Linear".parse::<Backoff>().unwrap(), Backoff::Linear);
        let e = "quadratic".parse::<Backoff>().unwrap_err();
        assert!(e.message().contains("quadratic") && e.message().contains("backoff"));
    }
}
