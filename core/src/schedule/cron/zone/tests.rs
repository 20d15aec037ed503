//! The daylight-saving rules of `next_tick` and `latest_tick_at_or_before`, in real zones.

use chrono_tz::Tz::{America__New_York as NEW_YORK, Europe__London as LONDON};

use super::*;

/// Unix ms of an RFC 3339 instant.
fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn all(instants: &[&str]) -> Vec<i64> {
    instants.iter().map(|s| ms(s)).collect()
}

/// The first `n` ticks strictly after `after`, in `tz`.
fn ticks(expr: &str, tz: Tz, after: &str, n: usize) -> Vec<i64> {
    let expr = CronExpr::parse(expr).unwrap();
    let mut at = ms(after);
    (0..n)
        .map(|_| {
            at = next_tick(&expr, tz, at).unwrap();
            at
        })
        .collect()
}

fn latest(expr: &str, tz: Tz, not_before: &str, at: &str) -> Option<i64> {
    latest_tick_at_or_before(&CronExpr::parse(expr).unwrap(), tz, ms(not_before), ms(at))
}

// America/New_York, 2026: 02:00 EST (07:00Z) on 8 March becomes 03:00 EDT; 02:00 EDT
// (06:00Z) on 1 November becomes 01:00 EST.
// Europe/London, 2026: 01:00 GMT (01:00Z) on 29 March becomes 02:00 BST; 02:00 BST (01:00Z)
// on 25 October becomes 01:00 GMT.

#[test]
fn new_york_daily_in_the_gap_fires_at_its_end() {
    assert_eq!(
        ticks("30 2 * * *", NEW_YORK, "2026-03-06T12:00:00Z", 4),
        all(&[
            "2026-03-07T07:30:00Z", // 02:30 EST
            "2026-03-08T07:00:00Z", // 02:30 does not exist: 03:00 EDT
            "2026-03-09T06:30:00Z", // 02:30 EDT
            "2026-03-10T06:30:00Z",
        ])
    );
}

#[test]
fn gap_times_landing_on_a_tick_fire_once() {
    // 02:00 and 02:30 land on 03:00 EDT, itself a tick.
    assert_eq!(
        ticks("0,30 2,3 * * *", NEW_YORK, "2026-03-08T05:00:00Z", 4),
        all(&[
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z",
            "2026-03-09T06:00:00Z",
            "2026-03-09T06:30:00Z",
        ])
    );
    // Every minute: 01:59 EST, then 03:00 EDT (for all of 02:00-02:59), 03:01 EDT.
    assert_eq!(
        ticks("* * * * *", NEW_YORK, "2026-03-08T06:58:30Z", 3),
        all(&[
            "2026-03-08T06:59:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:01:00Z",
        ])
    );
}

#[test]
fn new_york_daily_in_the_fold_fires_once() {
    assert_eq!(
        ticks("30 1 * * *", NEW_YORK, "2026-10-31T00:00:00Z", 3),
        all(&[
            "2026-10-31T05:30:00Z", // 01:30 EDT
            "2026-11-01T05:30:00Z", // first 01:30 (EDT); not 06:30Z (01:30 EST)
            "2026-11-02T06:30:00Z", // 01:30 EST
        ])
    );
    // From inside the second occurrence, before and after its 01:30.
    for after in ["2026-11-01T06:15:00Z", "2026-11-01T06:45:00Z"] {
        assert_eq!(
            ticks("30 1 * * *", NEW_YORK, after, 1),
            all(&["2026-11-02T06:30:00Z"])
        );
    }
}

#[test]
fn new_york_hourly_across_gap_and_fold() {
    assert_eq!(
        ticks("0 * * * *", NEW_YORK, "2026-03-08T04:30:00Z", 4),
        all(&[
            "2026-03-08T05:00:00Z", // 00:00 EST
            "2026-03-08T06:00:00Z", // 01:00 EST
            "2026-03-08T07:00:00Z", // 03:00 EDT (02:00 lands there too)
            "2026-03-08T08:00:00Z", // 04:00 EDT
        ])
    );
    assert_eq!(
        ticks("0 * * * *", NEW_YORK, "2026-11-01T03:30:00Z", 4),
        all(&[
            "2026-11-01T04:00:00Z", // 00:00 EDT
            "2026-11-01T05:00:00Z", // 01:00 EDT; 01:00 EST (06:00Z) does not fire
            "2026-11-01T07:00:00Z", // 02:00 EST
            "2026-11-01T08:00:00Z", // 03:00 EST
        ])
    );
    assert_eq!(
        ticks("15 * * * *", NEW_YORK, "2026-11-01T06:10:00Z", 1),
        all(&["2026-11-01T07:15:00Z"])
    );
}

#[test]
fn seconds_are_silent_in_the_second_occurrence() {
    assert_eq!(
        ticks("*/20 * * * * *", NEW_YORK, "2026-11-01T05:59:30Z", 2),
        all(&["2026-11-01T05:59:40Z", "2026-11-01T07:00:00Z"])
    );
    assert_eq!(
        ticks("* * * * * *", NEW_YORK, "2026-11-01T06:10:05.500Z", 2),
        all(&["2026-11-01T07:00:00Z", "2026-11-01T07:00:01Z"])
    );
}

#[test]
fn london_daily_and_hourly_across_gap_and_fold() {
    assert_eq!(
        ticks("30 1 * * *", LONDON, "2026-03-28T00:00:00Z", 3),
        all(&[
            "2026-03-28T01:30:00Z", // 01:30 GMT
            "2026-03-29T01:00:00Z", // 01:30 does not exist: 02:00 BST
            "2026-03-30T00:30:00Z", // 01:30 BST
        ])
    );
    assert_eq!(
        ticks("30 1 * * *", LONDON, "2026-10-24T00:00:00Z", 3),
        all(&[
            "2026-10-24T00:30:00Z", // 01:30 BST
            "2026-10-25T00:30:00Z", // first 01:30 (BST), not 01:30 GMT (01:30Z)
            "2026-10-26T01:30:00Z", // 01:30 GMT
        ])
    );
    assert_eq!(
        ticks("0 * * * *", LONDON, "2026-03-28T23:30:00Z", 3),
        all(&[
            "2026-03-29T00:00:00Z", // 00:00 GMT
            "2026-03-29T01:00:00Z", // 02:00 BST (01:00 lands there too)
            "2026-03-29T02:00:00Z", // 03:00 BST
        ])
    );
    assert_eq!(
        ticks("0 * * * *", LONDON, "2026-10-24T22:30:00Z", 4),
        all(&[
            "2026-10-24T23:00:00Z", // 00:00 BST
            "2026-10-25T00:00:00Z", // 01:00 BST; 01:00 GMT (01:00Z) does not fire
            "2026-10-25T02:00:00Z", // 02:00 GMT
            "2026-10-25T03:00:00Z",
        ])
    );
}

#[test]
fn half_hour_shift() {
    // Australia/Lord_Howe, 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11:00).
    assert_eq!(
        ticks(
            "15 2 * * *",
            Tz::Australia__Lord_Howe,
            "2026-10-03T00:00:00Z",
            2
        ),
        all(&["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"])
    );
}

#[test]
fn latest_tick_across_gap_and_fold() {
    let day = "2026-11-01T00:00:00Z";
    // At 01:30 EST, the second 01:xx: the hour's ticks were in its first occurrence.
    assert_eq!(
        latest("0 * * * *", NEW_YORK, day, "2026-11-01T06:30:00Z"),
        Some(ms("2026-11-01T05:00:00Z"))
    );
    assert_eq!(
        latest("45 * * * *", NEW_YORK, day, "2026-11-01T06:30:00Z"),
        Some(ms("2026-11-01T05:45:00Z"))
    );
    assert_eq!(
        latest(
            "45 * * * *",
            NEW_YORK,
            "2026-11-01T05:45:00Z",
            "2026-11-01T06:30:00Z"
        ),
        None
    );
    assert_eq!(
        latest("* * * * * *", NEW_YORK, day, "2026-11-01T06:30:00Z"),
        Some(ms("2026-11-01T05:59:59Z"))
    );
    assert_eq!(
        latest(
            "30 1 * * *",
            LONDON,
            "2026-10-01T00:00:00Z",
            "2026-10-25T01:45:00Z"
        ),
        Some(ms("2026-10-25T00:30:00Z"))
    );
    // The gap's tick at its end.
    let day = "2026-03-01T00:00:00Z";
    assert_eq!(
        latest("30 2 * * *", NEW_YORK, day, "2026-03-08T07:00:00Z"),
        Some(ms("2026-03-08T07:00:00Z"))
    );
    assert_eq!(
        latest("30 2 * * *", NEW_YORK, day, "2026-03-08T06:59:59Z"),
        Some(ms("2026-03-07T07:30:00Z"))
    );
    assert_eq!(
        latest("0 * * * *", NEW_YORK, day, "2026-03-08T07:59:59Z"),
        Some(ms("2026-03-08T07:00:00Z"))
    );
    assert_eq!(
        latest("0 * * * *", NEW_YORK, day, "2026-03-08T06:59:59Z"),
        Some(ms("2026-03-08T06:00:00Z"))
    );
}

/// Walking forward with `next_tick` and back with `latest_tick_at_or_before` see the same
/// ticks, over whole DST-change weeks.
#[test]
fn next_and_latest_agree() {
    let weeks = [
        (NEW_YORK, "2026-03-05T00:00:00Z"),
        (NEW_YORK, "2026-10-29T00:00:00Z"),
        (LONDON, "2026-03-26T00:00:00Z"),
        (LONDON, "2026-10-22T00:00:00Z"),
    ];
    let exprs = [
        "0 * * * *",
        "30 1,2 * * *",
        "*/7 * * * *",
        "0 0,30 1-3 * * *",
        "@daily",
    ];
    for (tz, start) in weeks {
        for text in exprs {
            let expr = CronExpr::parse(text).unwrap();
            let start = ms(start);
            let end = start + 7 * 86_400_000;
            let mut prev = start;
            let mut t = next_tick(&expr, tz, start).unwrap();
            while t < end {
                assert!(t > prev && t % 1000 == 0, "{text} {tz}: {t} after {prev}");
                assert_eq!(
                    latest_tick_at_or_before(&expr, tz, start, t),
                    Some(t),
                    "{text} {tz}"
                );
                let before = latest_tick_at_or_before(&expr, tz, start, t - 1);
                assert_eq!(before, (prev > start).then_some(prev), "{text} {tz} {t}");
                prev = t;
                t = next_tick(&expr, tz, t).unwrap();
            }
        }
    }
}

/// The ticks of a minute-level expression in a window, found the slow way: every local
/// minute, checked field by field and mapped to its instant by stepping through the gap.
fn brute_force(expr: &CronExpr, tz: Tz, from: NaiveDateTime, to: NaiveDateTime) -> Vec<i64> {
    use chrono::Timelike;
    let mut out = Vec::new();
    let mut local = from;
    while local < to {
        let weekday = local.weekday().num_days_from_sunday();
        let matches = expr.minutes & (1 << local.minute()) != 0
            && expr.hours & (1 << local.hour()) != 0
            && expr.months & (1 << local.month()) != 0
            && expr.day_matches(local.day(), weekday);
        if matches {
            let mut t = local;
            let instant = loop {
                match tz.from_local_datetime(&t) {
                    LocalResult::Single(x) => break x.timestamp(),
                    LocalResult::Ambiguous(a, b) => break a.timestamp().min(b.timestamp()),
                    LocalResult::None => t += TimeDelta::minutes(1),
                }
            };
            if out.last() != Some(&(instant * 1000)) {
                out.push(instant * 1000);
            }
        }
        local += TimeDelta::minutes(1);
    }
    out
}

#[test]
fn matches_brute_force_around_transitions() {
    let days = [
        (NEW_YORK, "2026-03-07", "2026-03-10"),
        (NEW_YORK, "2026-10-31", "2026-11-03"),
        (LONDON, "2026-03-28", "2026-03-31"),
        (LONDON, "2026-10-24", "2026-10-27"),
        (Tz::Australia__Lord_Howe, "2026-04-04", "2026-04-06"),
        (Tz::Australia__Lord_Howe, "2026-10-03", "2026-10-05"),
    ];
    let exprs = [
        "*/7 * * * *",
        "0 * * * *",
        "30 1,2 * * *",
        "0,30 2,3 * * *",
        "45 0-3 * * *",
        "59 * * * *",
    ];
    let day =
        |s: &str| NaiveDateTime::parse_from_str(&format!("{s} 00:00"), "%Y-%m-%d %H:%M").unwrap();
    for (tz, from, to) in days {
        for text in exprs {
            let expr = CronExpr::parse(text).unwrap();
            let expected = brute_force(&expr, tz, day(from), day(to));
            // Walk the ticks from the first one found.
            let start = expected[0];
            let mut got = vec![start];
            loop {
                let t = next_tick(&expr, tz, *got.last().unwrap()).unwrap();
                if t > *expected.last().unwrap() {
                    break;
                }
                got.push(t);
            }
            assert_eq!(got, expected, "{text} in {tz}");
            // And from every minute in between, the next tick is the first expected one after.
            let mut at = start;
            while at < *expected.last().unwrap() {
                let want = expected.iter().copied().find(|&t| t > at);
                assert_eq!(next_tick(&expr, tz, at), want, "{text} in {tz} after {at}");
                let back = expected.iter().copied().rfind(|&t| t <= at);
                assert_eq!(
                    latest_tick_at_or_before(&expr, tz, start - 1, at),
                    back,
                    "{text} in {tz} at {at}"
                );
                at += 60_000 * 7 + 13_000;
            }
        }
    }
}

/// Found by the `cron` fuzz target (kept in fuzz/regressions/cron): an instant on chrono's last
/// day, in a zone east of UTC, has a local time past the end of the calendar; reading it panicked
/// in chrono (`naive_local`). There is no tick after it, and the ticks before it are found.
#[test]
fn instants_whose_local_time_is_past_the_calendar_have_no_local_time() {
    let yearly = CronExpr::parse("@yearly").unwrap();
    let last_second = 8_210_266_876_799; // +262142-12-31T23:59:59Z
    let tokyo = chrono_tz::Tz::Asia__Tokyo;
    assert_eq!(local_time(tokyo, last_second), None);
    assert_eq!(next_tick(&yearly, tokyo, last_second * 1000), None);
    let window = 3 * 366 * 24 * 3600 * 1000;
    let latest = latest_tick_at_or_before(
        &yearly,
        tokyo,
        last_second * 1000 - window,
        last_second * 1000,
    );
    assert_eq!(
        latest, None,
        "the local time to search back from is unknown"
    );
    let before = (last_second - 24 * 3600) * 1000;
    let latest = latest_tick_at_or_before(&yearly, tokyo, before - window, before).unwrap();
    assert_eq!(next_tick(&yearly, tokyo, latest - 1), Some(latest));
}
