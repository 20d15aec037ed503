//! The search for matching local (wall-clock) times, free of any time zone.
//!
//! Like a classic cron "next time" computation, it moves field by field (month, day, hour,
//! minute, second) and jumps to the next or previous allowed value of a field instead of stepping
//! through time: a yearly expression costs a few dozen steps per year searched.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::CronExpr;

/// The first and last years either search looks at: chrono's calendar less its first and last
/// year, whose local times may have no instant. Both searches share them, so that a tick one
/// finds is a tick the other finds.
fn first_search_year() -> i32 {
    NaiveDate::MIN.year() + 1
}
fn last_search_year() -> i32 {
    NaiveDate::MAX.year() - 1
}

/// How many years a search may cover. The Gregorian calendar repeats exactly every 400 years
/// (146,097 days, a whole number of weeks), and [`CronExpr::parse`] refuses day/month
/// combinations that never occur, so every accepted expression matches within this window.
pub(super) const SEARCH_YEARS: i32 = 401;

/// The first local time at or after `from` (at whole seconds; a fraction is ignored) that
/// `expr` matches, looking no later than the end of year `last_year`.
pub(super) fn next_match(
    expr: &CronExpr,
    from: NaiveDateTime,
    last_year: i32,
) -> Option<NaiveDateTime> {
    let last_year = last_year.min(last_search_year());
    let (mut y, mut mo, mut d) = (from.year(), from.month() as i32, from.day() as i32);
    let (mut h, mut mi, mut s) = (
        from.hour() as i32,
        from.minute() as i32,
        from.second() as i32,
    );
    if y < first_search_year() {
        (y, mo, d, h, mi, s) = (first_search_year(), 1, 1, 0, 0, 0);
    }
    loop {
        if y > last_year {
            return None;
        }
        match next_bit(expr.months, mo) {
            None => {
                (y, mo, d, h, mi, s) = (y + 1, 1, 1, 0, 0, 0);
                continue;
            }
            Some(m) if m != mo => (mo, d, h, mi, s) = (m, 1, 0, 0, 0),
            Some(_) => {}
        }
        if d > days_in_month(y, mo) {
            (mo, d, h, mi, s) = (mo + 1, 1, 0, 0, 0);
            continue;
        }
        if !expr.day_matches(d as u32, weekday(y, mo, d)?) {
            (d, h, mi, s) = (d + 1, 0, 0, 0);
            continue;
        }
        match next_bit(expr.hours, h) {
            None => {
                (d, h, mi, s) = (d + 1, 0, 0, 0);
                continue;
            }
            Some(v) if v != h => (h, mi, s) = (v, 0, 0),
            Some(_) => {}
        }
        match next_bit(expr.minutes, mi) {
            None => {
                (h, mi, s) = (h + 1, 0, 0);
                continue;
            }
            Some(v) if v != mi => (mi, s) = (v, 0),
            Some(_) => {}
        }
        match next_bit(expr.seconds, s) {
            None => {
                (mi, s) = (mi + 1, 0);
                continue;
            }
            Some(v) => s = v,
        }
        return at(y, mo, d, h, mi, s);
    }
}

/// The last local time at or before `from` (at whole seconds) that `expr` matches, looking no
/// earlier than the start of year `first_year`.
pub(super) fn prev_match(
    expr: &CronExpr,
    from: NaiveDateTime,
    first_year: i32,
) -> Option<NaiveDateTime> {
    let first_year = first_year.max(first_search_year());
    let (mut y, mut mo, mut d) = (from.year(), from.month() as i32, from.day() as i32);
    let (mut h, mut mi, mut s) = (
        from.hour() as i32,
        from.minute() as i32,
        from.second() as i32,
    );
    if y > last_search_year() {
        (y, mo, d, h, mi, s) = (last_search_year(), 12, 31, 23, 59, 59);
    }
    loop {
        if y < first_year {
            return None;
        }
        match prev_bit(expr.months, mo) {
            None => {
                (y, mo, d, h, mi, s) = (y - 1, 12, 31, 23, 59, 59);
                continue;
            }
            Some(m) if m != mo => (mo, d, h, mi, s) = (m, 31, 23, 59, 59),
            Some(_) => {}
        }
        if d > days_in_month(y, mo) {
            (d, h, mi, s) = (days_in_month(y, mo), 23, 59, 59);
        }
        if d < 1 {
            (mo, d, h, mi, s) = (mo - 1, 31, 23, 59, 59);
            continue;
        }
        if !expr.day_matches(d as u32, weekday(y, mo, d)?) {
            (d, h, mi, s) = (d - 1, 23, 59, 59);
            continue;
        }
        match prev_bit(expr.hours, h) {
            None => {
                (d, h, mi, s) = (d - 1, 23, 59, 59);
                continue;
            }
            Some(v) if v != h => (h, mi, s) = (v, 59, 59),
            Some(_) => {}
        }
        match prev_bit(expr.minutes, mi) {
            None => {
                (h, mi, s) = (h - 1, 59, 59);
                continue;
            }
            Some(v) if v != mi => (mi, s) = (v, 59),
            Some(_) => {}
        }
        match prev_bit(expr.seconds, s) {
            None => {
                (mi, s) = (mi - 1, 59);
                continue;
            }
            Some(v) => s = v,
        }
        return at(y, mo, d, h, mi, s);
    }
}

/// The smallest set bit at or above `from`.
fn next_bit(bits: u64, from: i32) -> Option<i32> {
    if !(0..64).contains(&from) {
        return None;
    }
    let rest = bits & (u64::MAX << from);
    (rest != 0).then(|| rest.trailing_zeros() as i32)
}

/// The largest set bit at or below `from`.
fn prev_bit(bits: u64, from: i32) -> Option<i32> {
    if from < 0 {
        return None;
    }
    let rest = if from >= 63 {
        bits
    } else {
        bits & ((1u64 << (from + 1)) - 1)
    };
    (rest != 0).then(|| 63 - rest.leading_zeros() as i32)
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, mo: i32) -> i32 {
    match mo {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day of week, 0 = Sunday; `None` only outside chrono's range of dates.
fn weekday(y: i32, mo: i32, d: i32) -> Option<u32> {
    NaiveDate::from_ymd_opt(y, mo as u32, d as u32)
        .map(|date| date.weekday().num_days_from_sunday())
}

fn at(y: i32, mo: i32, d: i32, h: i32, mi: i32, s: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, mo as u32, d as u32)?.and_hms_opt(h as u32, mi as u32, s as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn next(expr: &str, from: &str) -> Option<NaiveDateTime> {
        let from = t(from);
        next_match(
            &CronExpr::parse(expr).unwrap(),
            from,
            from.year() + SEARCH_YEARS,
        )
    }

    fn prev(expr: &str, from: &str) -> Option<NaiveDateTime> {
        let from = t(from);
        prev_match(
            &CronExpr::parse(expr).unwrap(),
            from,
            from.year() - SEARCH_YEARS,
        )
    }

    /// Found by the `cron` fuzz target: the backward search found ticks in chrono's last year,
    /// which the forward search never looks at, so `latest_tick_at_or_before` answered an
    /// instant `next_tick` denies is a tick. Both now search the same years.
    #[test]
    fn both_searches_skip_the_first_and_last_years_of_the_calendar() {
        let yearly = CronExpr::parse("@yearly").unwrap();
        let last = NaiveDate::MAX.year();
        let end_of_last = NaiveDate::MAX.and_hms_opt(23, 59, 59).unwrap();
        assert_eq!(
            prev_match(&yearly, end_of_last, last - SEARCH_YEARS),
            Some(at(last - 1, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(next_match(&yearly, end_of_last, last + 1), None);
        let first = NaiveDate::MIN.year();
        let start_of_first = NaiveDate::MIN.and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(
            next_match(&yearly, start_of_first, first + SEARCH_YEARS),
            Some(at(first + 1, 1, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(prev_match(&yearly, start_of_first, first - 1), None);
    }

    #[test]
    fn bits() {
        assert_eq!(next_bit(0b1010, 0), Some(1));
        assert_eq!(next_bit(0b1010, 2), Some(3));
        assert_eq!(next_bit(0b1010, 4), None);
        assert_eq!(next_bit(u64::MAX, 63), Some(63));
        assert_eq!(next_bit(u64::MAX, 64), None);
        assert_eq!(prev_bit(0b1010, 4), Some(3));
        assert_eq!(prev_bit(0b1010, 2), Some(1));
        assert_eq!(prev_bit(0b1010, 0), None);
        assert_eq!(prev_bit(0b1010, -1), None);
        assert_eq!(prev_bit(1 << 63, 100), Some(63));
    }

    #[test]
    fn forward_is_inclusive_and_rolls_every_field_over() {
        assert_eq!(
            next("* * * * *", "2026-01-01 00:00:00"),
            Some(t("2026-01-01 00:00:00"))
        );
        assert_eq!(
            next("* * * * *", "2026-01-01 00:00:01"),
            Some(t("2026-01-01 00:01:00"))
        );
        assert_eq!(
            next("* * * * *", "2026-12-31 23:59:01"),
            Some(t("2027-01-01 00:00:00"))
        );
        assert_eq!(
            next("59 59 23 31 12 *", "2026-12-31 23:59:59"),
            Some(t("2026-12-31 23:59:59"))
        );
        assert_eq!(
            next("0 0 0 1 1 *", "2026-12-31 23:59:59"),
            Some(t("2027-01-01 00:00:00"))
        );
        assert_eq!(
            next("30 * * * *", "2026-05-10 23:31:00"),
            Some(t("2026-05-11 00:30:00"))
        );
        assert_eq!(
            next("0 0 31 * *", "2026-04-01 00:00:00"),
            Some(t("2026-05-31 00:00:00"))
        );
    }

    #[test]
    fn backward_is_inclusive_and_rolls_every_field_over() {
        assert_eq!(
            prev("* * * * *", "2026-01-01 00:00:00"),
            Some(t("2026-01-01 00:00:00"))
        );
        assert_eq!(
            prev("* * * * *", "2026-01-01 00:00:59"),
            Some(t("2026-01-01 00:00:00"))
        );
        assert_eq!(
            prev("59 * * * *", "2026-01-01 00:00:00"),
            Some(t("2025-12-31 23:59:00"))
        );
        assert_eq!(
            prev("0 0 31 * *", "2026-07-30 00:00:00"),
            Some(t("2026-05-31 00:00:00"))
        );
        assert_eq!(
            prev("0 0 29 2 *", "2104-02-28 00:00:00"),
            Some(t("2096-02-29 00:00:00"))
        );
        assert_eq!(
            prev("*/20 * * * * *", "2026-03-01 00:00:00"),
            Some(t("2026-03-01 00:00:00"))
        );
        assert_eq!(
            prev("*/20 * * * * *", "2026-03-01 00:00:19"),
            Some(t("2026-03-01 00:00:00"))
        );
        assert_eq!(
            prev("10 * * * * *", "2026-03-01 00:00:09"),
            Some(t("2026-02-28 23:59:10"))
        );
    }

    #[test]
    fn rare_dates_are_found_and_bounds_hold() {
        // Feb 29 falling on a Sunday (day of week written with `*`: both must match): 2032, then
        // 2060, 2088, and 2128 (2100 is no leap year).
        assert_eq!(
            next("0 0 29 2 */7", "2088-03-01 00:00:00"),
            Some(t("2128-02-29 00:00:00"))
        );
        assert_eq!(
            prev("0 0 29 2 */7", "2128-02-28 00:00:00"),
            Some(t("2088-02-29 00:00:00"))
        );
        let expr = CronExpr::parse("0 0 29 2 *").unwrap();
        assert_eq!(next_match(&expr, t("2097-01-01 00:00:00"), 2103), None);
        assert_eq!(prev_match(&expr, t("2103-01-01 00:00:00"), 2097), None);
    }
}
