//! This process's metrics, kept in memory and rendered in the Prometheus text format: counters
//! by function (jobs enqueued, attempts succeeded and failed, jobs dead), attempts lost to
//! expired leases or dead processes, and histograms of attempt duration and queue wait. Gauges
//! (jobs by status, worker slots) are read when the text is rendered.
//!
//! Counters are this process's (as Prometheus expects of each scraped instance); jobs by status
//! are the store's, the same from every node.

use crate::job::LeaseToken;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Default, Clone)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative; summed on render).
    counts: [u64; BUCKETS.len()],
    /// Observations above the last bound.
    over: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        match BUCKETS.iter().position(|b| secs <= *b) {
            Some(i) => self.counts[i] += 1,
            None => self.over += 1,
        }
        self.sum += secs;
    }
    fn count(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.over
    }
}

#[derive(Default)]
struct PerFunction {
    enqueued: u64,
    succeeded: u64,
    failed: u64,
    dead: u64,
    duration: Histogram,
    wait: Histogram,
}

#[derive(Default)]
struct State {
    functions: BTreeMap<String, PerFunction>,
    lost: u64,
    /// The function and start time of every attempt claimed in this process and not yet
    /// completed, for the duration histogram and the counters of its completion.
    running: HashMap<LeaseToken, (String, i64)>,
}

/// The engine's metrics. Every method may be called from any thread; each takes one short lock.
#[derive(Default)]
pub(crate) struct Metrics {
    state: Mutex<State>,
}

/// The outcome of an attempt, as the counters see it.
pub(crate) enum Ended {
    Succeeded,
    Failed { dead: bool },
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A job was written (not a deduplicated enqueue).
    pub(crate) fn enqueued(&self, function: &str) {
        self.with(|s| entry(s, function).enqueued += 1);
    }

    /// An attempt was claimed by a worker of this process at `now_ms`; it was due at `due_ms`.
    pub(crate) fn claimed(&self, token: &LeaseToken, function: &str, due_ms: i64, now_ms: i64) {
        self.with(|s| {
            entry(s, function)
                .wait
                .observe((now_ms - due_ms).max(0) as f64 / 1000.0);
            s.running
                .insert(token.clone(), (function.to_string(), now_ms));
        });
    }

    /// An attempt ended by a completion applied at `now_ms`. An attempt claimed elsewhere (a
    /// completion relayed for another process) counts under `function` without a duration.
    pub(crate) fn ended(
        &self,
        token: &LeaseToken,
        function: Option<&str>,
        how: Ended,
        now_ms: i64,
    ) {
        self.with(|s| {
            let started = s.running.remove(token);
            let Some(name) = started
                .as_ref()
                .map(|(n, _)| n.clone())
                .or_else(|| function.map(str::to_string))
            else {
                return;
            };
            let f = entry(s, &name);
            if let Some((_, at)) = started {
                f.duration.observe((now_ms - at).max(0) as f64 / 1000.0);
            }
            match how {
                Ended::Succeeded => f.succeeded += 1,
                Ended::Failed { dead } => {
                    f.failed += 1;
                    if dead {
                        f.dead += 1;
                    }
                }
            }
        });
    }

    /// An attempt of this process will not be completed here (handed back, abandoned).
    pub(crate) fn forget(&self, token: &LeaseToken) {
        self.with(|s| s.running.remove(token));
    }

    /// Attempts the rescuer counted lost (expired lease or dead process).
    pub(crate) fn lost(&self, n: u64) {
        self.with(|s| s.lost += n);
    }

    /// The Prometheus text: this process's counters and histograms, then the gauges given.
    pub(crate) fn render(&self, jobs_by_status: &[(&str, u64)], slots: (u64, u64)) -> String {
        let mut out = String::new();
        self.with(|s| {
            counter(&mut out, "reseolio_jobs_enqueued_total", "Jobs written by this process, by function.", s, |f| f.enqueued);
            counter(&mut out, "reseolio_attempts_succeeded_total", "Attempts that succeeded, by function.", s, |f| f.succeeded);
            counter(&mut out, "reseolio_attempts_failed_total", "Attempts that failed (the handler's error or its timeout), by function.", s, |f| f.failed);
            counter(&mut out, "reseolio_jobs_dead_total", "Jobs that went DEAD after a failed attempt, by function.", s, |f| f.dead);
            let _ = writeln!(out, "# HELP reseolio_attempts_lost_total Attempts counted lost by the rescuer of this process (lease expired or process dead).");
            let _ = writeln!(out, "# TYPE reseolio_attempts_lost_total counter");
            let _ = writeln!(out, "reseolio_attempts_lost_total {}", s.lost);
            histogram(&mut out, "reseolio_attempt_duration_seconds", "Claim to completion of attempts claimed by this process.", s, |f| &f.duration);
            histogram(&mut out, "reseolio_queue_wait_seconds", "Due time (enqueue or retry time) to claim.", s, |f| &f.wait);
        });
        let _ = writeln!(out, "# HELP reseolio_jobs Jobs in the store by status.");
        let _ = writeln!(out, "# TYPE reseolio_jobs gauge");
        for (status, n) in jobs_by_status {
            let _ = writeln!(out, "reseolio_jobs{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP reseolio_worker_slots_in_use Jobs held by the workers of this process."
        );
        let _ = writeln!(out, "# TYPE reseolio_worker_slots_in_use gauge");
        let _ = writeln!(out, "reseolio_worker_slots_in_use {}", slots.0);
        let _ = writeln!(
            out,
            "# HELP reseolio_worker_slots Slots (concurrency) of the workers of this process."
        );
        let _ = writeln!(out, "# TYPE reseolio_worker_slots gauge");
        let _ = writeln!(out, "reseolio_worker_slots {}", slots.1);
        out
    }
}

fn entry<'a>(s: &'a mut State, function: &str) -> &'a mut PerFunction {
    if !s.functions.contains_key(function) {
        s.functions
            .insert(function.to_string(), PerFunction::default());
    }
    s.functions.get_mut(function).expect("inserted above")
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn counter(out: &mut String, name: &str, help: &str, s: &State, f: impl Fn(&PerFunction) -> u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (function, m) in &s.functions {
        let _ = writeln!(out, "{name}{{function=\"{}\"}} {}", label(function), f(m));
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    s: &State,
    f: impl Fn(&PerFunction) -> &Histogram,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (function, m) in &s.functions {
        let h = f(m);
        let l = label(function);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{function=\"{l}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{function=\"{l}\",le=\"+Inf\"}} {}",
            h.count()
        );
        let _ = writeln!(out, "{name}_sum{{function=\"{l}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{function=\"{l}\"}} {}", h.count());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str) -> LeaseToken {
        LeaseToken {
            job_id: id.into(),
            lease: 1,
        }
    }

    #[test]
    fn counters_and_histograms_render_in_the_text_format() {
        let m = Metrics::default();
        m.enqueued("send \"mail\"");
        m.enqueued("send \"mail\"");
        m.claimed(&token("a"), "send \"mail\"", 1_000, 1_020);
        m.ended(&token("a"), None, Ended::Succeeded, 1_520);
        m.claimed(&token("b"), "send \"mail\"", 1_000, 1_000);
        m.ended(&token("b"), None, Ended::Failed { dead: true }, 61_000_000);
        m.ended(&token("c"), Some("other"), Ended::Failed { dead: false }, 5);
        m.ended(&token("d"), None, Ended::Succeeded, 5);
        m.lost(3);
        let text = m.render(&[("PENDING", 4), ("SUCCESS", 1)], (2, 10));
        for line in [
            r#"reseolio_jobs_enqueued_total{function="send \"mail\""} 2"#,
            r#"reseolio_attempts_succeeded_total{function="send \"mail\""} 1"#,
            r#"reseolio_attempts_failed_total{function="send \"mail\""} 1"#,
            r#"reseolio_jobs_dead_total{function="send \"mail\""} 1"#,
            r#"reseolio_attempts_failed_total{function="other"} 1"#,
            r#"reseolio_jobs_dead_total{function="other"} 0"#,
            "reseolio_attempts_lost_total 3",
            r#"reseolio_attempt_duration_seconds_bucket{function="send \"mail\"",le="0.5"} 1"#,
            r#"reseolio_attempt_duration_seconds_bucket{function="send \"mail\"",le="300"} 1"#,
            r#"reseolio_attempt_duration_seconds_bucket{function="send \"mail\"",le="+Inf"} 2"#,
            r#"reseolio_attempt_duration_seconds_count{function="send \"mail\""} 2"#,
            r#"reseolio_queue_wait_seconds_bucket{function="send \"mail\"",le="0.005"} 1"#,
            r#"reseolio_queue_wait_seconds_bucket{function="send \"mail\"",le="0.025"} 2"#,
            r#"reseolio_jobs{status="PENDING"} 4"#,
            "reseolio_worker_slots_in_use 2",
            "reseolio_worker_slots 10",
            "# TYPE reseolio_attempt_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        // A completion nobody claimed here and with no function is not counted at all.
        assert!(!text.contains("function=\"\""));
    }
}
