//! Parsing, error messages, and ticks in UTC (the daylight-saving cases are in `zone`).

use chrono::DateTime;
use chrono_tz::Tz;

use super::*;
use crate::error::ErrorKind;

/// Unix ms of an RFC 3339 instant.
fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

/// The first `n` ticks strictly after `after`, in UTC, as Unix ms.
fn ticks(expr: &str, after: &str, n: usize) -> Vec<i64> {
    let expr = CronExpr::parse(expr).unwrap();
    let mut at = ms(after);
    (0..n)
        .map(|_| {
            at = next_tick(&expr, Tz::UTC, at).unwrap();
            at
        })
        .collect()
}

fn all(instants: &[&str]) -> Vec<i64> {
    instants.iter().map(|s| ms(s)).collect()
}

fn parse_err(expr: &str) -> String {
    let err = CronExpr::parse(expr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    err.message().to_string()
}

#[test]
fn every_minute_is_strictly_after() {
    assert_eq!(
        ticks("* * * * *", "2026-01-01T00:00:00Z", 3),
        all(&[
            "2026-01-01T00:01:00Z",
            "2026-01-01T00:02:00Z",
            "2026-01-01T00:03:00Z"
        ])
    );
    let expr = CronExpr::parse("* * * * *").unwrap();
    assert_eq!(
        next_tick(&expr, Tz::UTC, ms("2026-01-01T00:00:59.999Z")),
        Some(ms("2026-01-01T00:01:00Z"))
    );
    assert_eq!(
        next_tick(&expr, Tz::UTC, ms("2026-12-31T23:59:00Z")),
        Some(ms("2027-01-01T00:00:00Z"))
    );
    // Before 1970 too.
    assert_eq!(
        next_tick(&expr, Tz::UTC, ms("1969-12-31T23:59:30Z")),
        Some(0)
    );
    assert!(!expr.has_seconds());
}

#[test]
fn seconds_field() {
    let expr = CronExpr::parse("*/15 * * * * *").unwrap();
    assert!(expr.has_seconds());
    assert_eq!(
        ticks("*/15 * * * * *", "2026-01-01T00:00:00Z", 5),
        all(&[
            "2026-01-01T00:00:15Z",
            "2026-01-01T00:00:30Z",
            "2026-01-01T00:00:45Z",
            "2026-01-01T00:01:00Z",
            "2026-01-01T00:01:15Z"
        ])
    );
    assert_eq!(
        ticks("30 0 12 * * *", "2026-01-01T12:00:30.001Z", 1),
        all(&["2026-01-02T12:00:30Z"])
    );
    // Five fields fire at second 0 only.
    assert_eq!(
        ticks("* * * * *", "2026-01-01T00:00:01Z", 1),
        all(&["2026-01-01T00:01:00Z"])
    );
}

#[test]
fn the_31st_skips_shorter_months() {
    assert_eq!(
        ticks("0 0 31 * *", "2026-01-31T00:00:00Z", 6),
        all(&[
            "2026-03-31T00:00:00Z",
            "2026-05-31T00:00:00Z",
            "2026-07-31T00:00:00Z",
            "2026-08-31T00:00:00Z",
            "2026-10-31T00:00:00Z",
            "2026-12-31T00:00:00Z"
        ])
    );
}

#[test]
fn the_29th_of_february() {
    assert_eq!(
        ticks("0 0 29 2 *", "2026-01-01T00:00:00Z", 2),
        all(&["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
    );
    // 2100 is no leap year: eight years from 2096 to 2104.
    assert_eq!(
        ticks("0 0 29 2 *", "2096-02-29T00:00:00Z", 1),
        all(&["2104-02-29T00:00:00Z"])
    );
    assert_eq!(
        ticks("0 0 29 FEB ?", "2096-03-01T00:00:00Z", 1),
        all(&["2104-02-29T00:00:00Z"])
    );
    // A Sunday 29 February: 40 years from 2088 to 2128.
    assert_eq!(
        ticks("0 0 29 2 */7", "2088-02-29T00:00:00Z", 1),
        all(&["2128-02-29T00:00:00Z"])
    );
}

#[test]
fn macros() {
    let same =
        |a: &str, b: &str| assert_eq!(CronExpr::parse(a).unwrap(), CronExpr::parse(b).unwrap());
    same("@yearly", "0 0 1 1 *");
    same("@annually", "0 0 1 1 *");
    same("@monthly", "0 0 1 * *");
    same("@weekly", "0 0 * * 0");
    same("@daily", "0 0 * * *");
    same("@midnight", "0 0 * * *");
    same("@hourly", "0 * * * *");
    same("  @Daily ", "0 0 * * *");
    assert!(!CronExpr::parse("@hourly").unwrap().has_seconds());
    let after = "2026-06-15T10:20:00Z";
    assert_eq!(ticks("@yearly", after, 1), all(&["2027-01-01T00:00:00Z"]));
    assert_eq!(ticks("@monthly", after, 1), all(&["2026-07-01T00:00:00Z"]));
    // 2026-06-15 is a Monday.
    assert_eq!(ticks("@weekly", after, 1), all(&["2026-06-21T00:00:00Z"]));
    assert_eq!(ticks("@daily", after, 1), all(&["2026-06-16T00:00:00Z"]));
    assert_eq!(ticks("@hourly", after, 1), all(&["2026-06-15T11:00:00Z"]));
}

#[test]
fn vixie_day_rule() {
    // Both restricted: the 13th or any Friday. 2026-01-01 is a Thursday.
    assert_eq!(
        ticks("0 0 13 * 5", "2026-01-01T00:00:00Z", 5),
        all(&[
            "2026-01-02T00:00:00Z",
            "2026-01-09T00:00:00Z",
            "2026-01-13T00:00:00Z",
            "2026-01-16T00:00:00Z",
            "2026-01-23T00:00:00Z"
        ])
    );
    // Day of month written with `*`: both must match (the 1st, 14th or 27th that is a Friday).
    assert_eq!(
        ticks("0 0 */13 * FRI", "2026-01-01T00:00:00Z", 1),
        all(&["2026-02-27T00:00:00Z"])
    );
    // Day of week `*` or `?`: the day of month alone.
    assert_eq!(
        ticks("0 0 13 * ?", "2026-01-01T00:00:00Z", 2),
        all(&["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"])
    );
    // Day of month `?`: Mondays only.
    assert_eq!(
        ticks("0 0 ? * MON", "2026-01-01T00:00:00Z", 2),
        all(&["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"])
    );
    // The OR rule makes an impossible day of month harmless.
    assert_eq!(
        ticks("0 0 30 2 MON", "2026-02-01T00:00:00Z", 1),
        all(&["2026-02-02T00:00:00Z"])
    );
}

#[test]
fn names_and_sunday_as_0_or_7() {
    let p = |s: &str| CronExpr::parse(s).unwrap();
    assert_eq!(p("0 0 * * 7"), p("0 0 * * 0"));
    assert_eq!(p("0 0 * * sun"), p("0 0 * * 0"));
    assert_eq!(p("0 0 * * 5-7"), p("0 0 * * 0,5,6"));
    assert_eq!(p("0 0 * jan-MAR,Dec mon-fri"), p("0 0 * 1-3,12 1-5"));
    assert_eq!(p("0 0 * * Sat"), p("0 0 * * 6"));
    assert_eq!(
        ticks("0 9 * jul sun", "2026-01-01T00:00:00Z", 2),
        all(&["2026-07-05T09:00:00Z", "2026-07-12T09:00:00Z"])
    );
}

#[test]
fn steps() {
    let p = |s: &str| CronExpr::parse(s).unwrap();
    assert_eq!(p("*/15 * * * *"), p("0,15,30,45 * * * *"));
    assert_eq!(p("10-30/10 * * * *"), p("10,20,30 * * * *"));
    assert_eq!(p("5/20 * * * *"), p("5,25,45 * * * *"));
    assert_eq!(p("0 */6 * * *"), p("0 0,6,12,18 * * *"));
    assert_eq!(p("0 0 * */4 *"), p("0 0 * 1,5,9 *"));
    assert_eq!(p("0 0 * JAN-DEC/3 *"), p("0 0 * 1,4,7,10 *"));
    assert_eq!(p("0 0 * * MON-FRI/2"), p("0 0 * * 1,3,5"));
    assert_eq!(p("0 0 * * 1/2"), p("0 0 * * 1,3,5"));
    assert_eq!(p("*/60 * * * *"), p("0 * * * *"));
    assert_eq!(p("0 0 1/10 * *"), p("0 0 1,11,21,31 * *"));
    assert_eq!(
        ticks("0 */20 8-9 * * *", "2026-01-01T08:59:00Z", 4),
        all(&[
            "2026-01-01T09:00:00Z",
            "2026-01-01T09:20:00Z",
            "2026-01-01T09:40:00Z",
            "2026-01-02T08:00:00Z"
        ])
    );
}

#[test]
fn error_messages() {
    let cases = [
        (
            "61 * * * *",
            r#"cron expression "61 * * * *": "61" is out of range for minute (0-59)"#,
        ),
        (
            "0 24 * * *",
            r#"cron expression "0 24 * * *": "24" is out of range for hour (0-23)"#,
        ),
        (
            "0 0 0 * *",
            r#"cron expression "0 0 0 * *": "0" is out of range for day of month (1-31)"#,
        ),
        (
            "0 0 * 13 *",
            r#"cron expression "0 0 * 13 *": "13" is out of range for month (1-12)"#,
        ),
        (
            "0 0 * * 8",
            r#"cron expression "0 0 * * 8": "8" is out of range for day of week (0-7)"#,
        ),
        (
            "60 * * * * *",
            r#"cron expression "60 * * * * *": "60" is out of range for second (0-59)"#,
        ),
        (
            "1-99999999999 * * * *",
            r#"cron expression "1-99999999999 * * * *": "99999999999" is out of range for minute (0-59)"#,
        ),
        (
            "x * * * *",
            r#"cron expression "x * * * *": "x" is not a number for minute"#,
        ),
        (
            "0 0 MON * *",
            r#"cron expression "0 0 MON * *": "MON" is not a number for day of month"#,
        ),
        (
            "0 0 * FOO *",
            r#"cron expression "0 0 * FOO *": "FOO" is not a number or month name for month"#,
        ),
        (
            "0 0 * * MONDAY",
            r#"cron expression "0 0 * * MONDAY": "MONDAY" is not a number or day name for day of week"#,
        ),
        (
            "0 0 * JAN MAR",
            r#"cron expression "0 0 * JAN MAR": "MAR" is not a number or day name for day of week"#,
        ),
        (
            "1,,2 * * * *",
            r#"cron expression "1,,2 * * * *": empty list element in "1,,2" for minute"#,
        ),
        (
            "0 0, * * *",
            r#"cron expression "0 0, * * *": empty list element in "0," for hour"#,
        ),
        (
            "1- * * * *",
            r#"cron expression "1- * * * *": "1-" is missing a number for minute"#,
        ),
        (
            "-5 * * * *",
            r#"cron expression "-5 * * * *": "-5" is missing a number for minute"#,
        ),
        (
            "*/ * * * *",
            r#"cron expression "*/ * * * *": "*/" is missing a number for minute"#,
        ),
        (
            "*/0 * * * *",
            r#"cron expression "*/0 * * * *": step "0" in "*/0" must be at least 1 for minute"#,
        ),
        (
            "*/61 * * * *",
            r#"cron expression "*/61 * * * *": step "61" in "*/61" is out of range for minute (1-60)"#,
        ),
        (
            "*/x * * * *",
            r#"cron expression "*/x * * * *": step "x" in "*/x" is not a number for minute"#,
        ),
        (
            "5-2 * * * *",
            r#"cron expression "5-2 * * * *": range "5-2" has its start after its end for minute"#,
        ),
        (
            "0 0 * * FRI-MON",
            r#"cron expression "0 0 * * FRI-MON": range "FRI-MON" has its start after its end for day of week"#,
        ),
        (
            "? * * * *",
            r#"cron expression "? * * * *": "?" is only allowed in day of month and day of week, not in minute"#,
        ),
        (
            "*-5 * * * *",
            r#"cron expression "*-5 * * * *": "*" in "*-5" must stand alone for minute"#,
        ),
        (
            "* * *",
            r#"cron expression "* * *": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), found 3"#,
        ),
        (
            "* * * * * * *",
            r#"cron expression "* * * * * * *": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), found 7"#,
        ),
        (
            "",
            r#"cron expression "": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), found 0"#,
        ),
        (
            "@reboot",
            r#"cron expression "@reboot": unknown macro "@reboot" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"#,
        ),
        (
            "@every-second",
            r#"cron expression "@every-second": unknown macro "@every-second" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"#,
        ),
        (
            "0 0 30 2 *",
            r#"cron expression "0 0 30 2 *": day of month "30" never occurs in month "2""#,
        ),
        (
            "0 0 31 4,6,9,11 ?",
            r#"cron expression "0 0 31 4,6,9,11 ?": day of month "31" never occurs in month "4,6,9,11""#,
        ),
        (
            "0 0 30,31 FEB */2",
            r#"cron expression "0 0 30,31 FEB */2": day of month "30,31" never occurs in month "FEB""#,
        ),
    ];
    for (expr, message) in cases {
        assert_eq!(parse_err(expr), message, "{expr}");
    }
    // Accepted: one of the months has the day.
    CronExpr::parse("0 0 31 2,3 *").unwrap();
    CronExpr::parse("0 0 29 2 *").unwrap();
    // A very long expression is cut in the message.
    let long = format!("{} * * * *", "1,".repeat(200) + "99");
    let message = parse_err(&long);
    let shown = format!("{}...", &long[..100]);
    assert_eq!(
        message,
        format!(r#"cron expression "{shown}": "99" is out of range for minute (0-59)"#)
    );
}

#[test]
fn time_zones() {
    assert_eq!(parse_timezone("UTC").unwrap(), Tz::UTC);
    assert_eq!(parse_timezone("Europe/Paris").unwrap(), Tz::Europe__Paris);
    assert_eq!(
        parse_timezone("America/New_York").unwrap(),
        Tz::America__New_York
    );
    for (name, message) in [
        (
            "Mars/Olympus",
            r#"timezone "Mars/Olympus" is not a known IANA time zone"#,
        ),
        ("", r#"timezone "" is not a known IANA time zone"#),
        (" UTC", r#"timezone " UTC" is not a known IANA time zone"#),
    ] {
        let err = parse_timezone(name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.message(), message);
    }
}

#[test]
fn latest_tick_in_utc() {
    let hourly = CronExpr::parse("0 * * * *").unwrap();
    let latest = |nb: &str, at: &str| latest_tick_at_or_before(&hourly, Tz::UTC, ms(nb), ms(at));
    // Inclusive at `at`, also with a fraction of a second.
    assert_eq!(
        latest("2026-01-01T00:00:00Z", "2026-01-01T10:00:00Z"),
        Some(ms("2026-01-01T10:00:00Z"))
    );
    assert_eq!(
        latest("2026-01-01T00:00:00Z", "2026-01-01T10:00:00.999Z"),
        Some(ms("2026-01-01T10:00:00Z"))
    );
    assert_eq!(
        latest("2026-01-01T00:00:00Z", "2026-01-01T09:59:59.999Z"),
        Some(ms("2026-01-01T09:00:00Z"))
    );
    // Exclusive at `not_before`.
    assert_eq!(latest("2026-01-01T09:00:00Z", "2026-01-01T09:59:59Z"), None);
    assert_eq!(
        latest("2026-01-01T08:59:59.999Z", "2026-01-01T09:59:59Z"),
        Some(ms("2026-01-01T09:00:00Z"))
    );
    assert_eq!(latest("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"), None);
    assert_eq!(latest("2026-01-01T11:00:00Z", "2026-01-01T10:00:00Z"), None);
    // A rare tick far back, and an unbounded window.
    let leap = CronExpr::parse("0 0 29 2 *").unwrap();
    assert_eq!(
        latest_tick_at_or_before(
            &leap,
            Tz::UTC,
            ms("2090-01-01T00:00:00Z"),
            ms("2103-12-31T00:00:00Z")
        ),
        Some(ms("2096-02-29T00:00:00Z"))
    );
    assert_eq!(
        latest_tick_at_or_before(
            &leap,
            Tz::UTC,
            ms("2097-01-01T00:00:00Z"),
            ms("2103-12-31T00:00:00Z")
        ),
        None
    );
    assert_eq!(
        latest_tick_at_or_before(&leap, Tz::UTC, i64::MIN, ms("2103-12-31T00:00:00Z")),
        Some(ms("2096-02-29T00:00:00Z"))
    );
    assert_eq!(next_tick(&leap, Tz::UTC, i64::MAX), None);
}

/// The `cron` fuzz target's first find (kept in fuzz/regressions/cron): near the end of chrono's
/// calendar, the latest tick must be one `next_tick` gives too.
#[test]
fn the_latest_tick_near_the_end_of_the_calendar_is_a_tick() {
    let yearly = CronExpr::parse("@yearly").unwrap();
    let at = 8_210_266_876_799_000; // +262142-12-31T23:59:59Z, chrono's last day
    let window = 3 * 366 * 24 * 3600 * 1000;
    let latest = latest_tick_at_or_before(&yearly, Tz::UTC, at - window, at).unwrap();
    let year_262141 = chrono::NaiveDate::from_ymd_opt(262_141, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    assert_eq!(latest, year_262141, "chrono's last year is not searched");
    assert_eq!(next_tick(&yearly, Tz::UTC, latest - 1), Some(latest));
    assert_eq!(next_tick(&yearly, Tz::UTC, latest), None);
}
