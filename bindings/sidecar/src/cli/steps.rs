//! The steps of one job as `reseolio jobs get` prints them: one line a step, its result or error
//! cut to one short line, and for a waiting step what it waits for.

use super::output::{table, time};
use reseolio_core::{Step, StepKind, StepStatus};
use reseolio_dashboard::json as wire;

/// The longest result or error shown, in characters.
const OUTCOME_CHARS: usize = 60;

/// Prints the steps as a table under a blank line; nothing for a job without steps.
pub fn print(steps: &[Step]) {
    if steps.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = steps
        .iter()
        .map(|s| {
            vec![
                s.seq.to_string(),
                s.name.clone(),
                s.kind.as_str().to_string(),
                s.status.as_str().to_string(),
                s.attempts.to_string(),
                time(Some(s.started_at)),
                s.completed_at
                    .map_or("-".into(), |c| duration((c - s.started_at).max(0))),
                outcome(s),
            ]
        })
        .collect();
    println!();
    table(
        &[
            "STEP", "NAME", "KIND", "STATUS", "ATTEMPTS", "STARTED", "DURATION", "OUTCOME",
        ],
        &rows,
    );
}

/// What a step came to: its result (as the API shows it), its error, or what it waits for.
pub fn outcome(s: &Step) -> String {
    match s.status {
        StepStatus::Waiting => waits_for(s),
        StepStatus::Failed => cut(s.error.as_deref().unwrap_or("-")),
        StepStatus::Success => match s.result.as_deref() {
            None | Some([]) => "-".into(), // a sleep's result is empty
            Some(bytes) => match wire::payload(bytes) {
                v if v["encoding"] == "json" => cut(&v["value"].to_string()),
                v => cut(&format!("base64 {}", v["value"].as_str().unwrap_or(""))),
            },
        },
    }
}

fn waits_for(s: &Step) -> String {
    let key = s.wait_key.as_deref().unwrap_or("-");
    match s.kind {
        StepKind::Sleep => format!("sleeps until {}", time(s.wake_at)),
        StepKind::Event => match s.wake_at {
            Some(t) => format!("waits for event {key} until {}", time(Some(t))),
            None => format!("waits for event {key} until forever"),
        },
        StepKind::Child => format!("waits for child job {key}"),
        StepKind::Run => "running".into(),
    }
}

/// `text` on one line, at most [`OUTCOME_CHARS`] characters (the last one `…` when cut).
fn cut(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= OUTCOME_CHARS {
        return flat;
    }
    let mut short: String = flat.chars().take(OUTCOME_CHARS - 1).collect();
    short.push('…');
    short
}

/// 850 ms, 1.25 s, 2 min 5 s, 1 h, 3 d 4 h: at most two units, as the dashboard shows them.
fn duration(ms: i64) -> String {
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        let s = format!("{:.2}", ms as f64 / 1000.0);
        return format!("{} s", s.trim_end_matches('0').trim_end_matches('.'));
    }
    let mut rest = (ms + 500) / 1_000;
    let mut parts = vec![];
    for (name, size) in [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)] {
        let n = rest / size;
        rest -= n * size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, name));
        }
    }
    let shown: Vec<String> = parts
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: StepKind, status: StepStatus) -> Step {
        Step {
            job_id: "j".into(),
            seq: 0,
            name: "s".into(),
            kind,
            status,
            result: None,
            error: None,
            attempts: 1,
            started_at: 0,
            completed_at: None,
            wait_key: None,
            wake_at: None,
        }
    }

    #[test]
    fn a_waiting_step_says_what_it_waits_for() {
        let sleep = Step {
            wake_at: Some(951_782_400_000),
            ..step(StepKind::Sleep, StepStatus::Waiting)
        };
        assert_eq!(outcome(&sleep), "sleeps until 2000-02-29T00:00:00.000Z");
        let event = Step {
            wait_key: Some("approval:7".into()),
            ..step(StepKind::Event, StepStatus::Waiting)
        };
        assert_eq!(outcome(&event), "waits for event approval:7 until forever");
        let deadline = Step {
            wake_at: Some(0),
            ..event
        };
        assert_eq!(
            outcome(&deadline),
            "waits for event approval:7 until 1970-01-01T00:00:00.000Z"
        );
        let child = Step {
            wait_key: Some("01ab-child".into()),
            ..step(StepKind::Child, StepStatus::Waiting)
        };
        assert_eq!(outcome(&child), "waits for child job 01ab-child");
    }

    #[test]
    fn results_and_errors_are_cut_to_one_short_line() {
        let ok = |bytes: &[u8]| Step {
            result: Some(bytes.to_vec()),
            ..step(StepKind::Run, StepStatus::Success)
        };
        assert_eq!(outcome(&ok(br#"{ "rows": 3 }"#)), r#"{"rows":3}"#);
        assert_eq!(outcome(&ok(&[0xff, 0x00])), "base64 /wA=");
        assert_eq!(outcome(&ok(b"")), "-");
        let long = format!("[{}]", "1,".repeat(40) + "1");
        let shown = outcome(&ok(long.as_bytes()));
        assert_eq!(shown.chars().count(), OUTCOME_CHARS);
        assert!(
            shown.starts_with("[1,1,") && shown.ends_with('…'),
            "{shown}"
        );
        let failed = Step {
            error: Some("line one\n  line two".into()),
            ..step(StepKind::Run, StepStatus::Failed)
        };
        assert_eq!(outcome(&failed), "line one line two");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(1_250), "1.25 s");
        assert_eq!(duration(1_200), "1.2 s");
        assert_eq!(duration(30_000), "30 s");
        assert_eq!(duration(125_000), "2 min 5 s");
        assert_eq!(duration(3_600_000), "1 h");
        assert_eq!(duration(90_061_000), "1 d 1 h");
    }
}
