//! From matching local times to instants, in an IANA time zone, with the daylight-saving rules.
//!
//! Every local time that the expression matches (see `calendar`) fires at one instant:
//! - a local time that exists once fires then;
//! - a local time that exists twice (a fold, when clocks go back) fires at its first occurrence;
//! - a local time that does not exist (a gap, when clocks go forward) fires at the first instant
//!   after the gap, which is the transition itself.
//!
//! The ticks are the set of those instants: several local times that land on the same instant
//! fire once. This mapping never goes backwards as local time goes forwards, which lets the
//! searches below find the first (or last) matching local time whose instant is past (or
//! before) a bound, and stop there.

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::calendar::{next_match, prev_match, SEARCH_YEARS};
use super::CronExpr;

/// The first tick strictly after `after_ms` (Unix milliseconds), computed in zone `tz`; `None`
/// only when there is none before the end of chrono's calendar (year 262142). Ticks fall on whole
/// seconds.
///
/// Ticks are computed in local (wall-clock) time and converted to instants; daylight-saving
/// changes follow these rules:
/// - **Gap** (clocks go forward, local times that do not exist that day): a local time in the gap
///   fires once, at the first valid instant after the gap. A daily `30 2 * * *` in
///   America/New_York fires at 03:00 EDT (07:00 UTC) on 2026-03-08. Several local times in one
///   gap, or a gap time and the first time after the gap, that all land on that instant fire
///   once, never twice: `0,30 2,3 * * *` fires at 03:00 and 03:30 EDT that day.
/// - **Fold** (clocks go back, local times that happen twice): such a local time fires once, at
///   its first occurrence. A daily `30 1 * * *` in America/New_York fires at 01:30 EDT (05:30 UTC)
///   on 2026-11-01, not again at 01:30 EST.
/// - **Hourly and finer schedules**: every real hour fires once across a gap (`0 * * * *` on a
///   spring-forward day fires at 01:00 EST, then 03:00 EDT: local 02:00 does not exist and lands
///   on 03:00, which fires once). In a fold the repeated hour fires only during its first
///   occurrence: `0 * * * *` fires at 01:00 EDT and then at 02:00 EST, two real hours later, and
///   a seconds- or minutes-level schedule is silent during the second occurrence of the repeated
///   hour (01:00-01:59 EST).
///
/// The search moves field by field through the local calendar (month, day, hour, minute,
/// second), never second by second; it is bounded to 401 years, one whole Gregorian cycle, in
/// which every expression [`CronExpr::parse`] accepts matches.
pub fn next_tick(expr: &CronExpr, tz: Tz, after_ms: i64) -> Option<i64> {
    let after = after_ms.div_euclid(1000);
    // The first local time whose instant is after `after`: the next second of local time,
    // unless `after` lies in the second occurrence of a fold, whose local times all fire at their
    // first occurrence, before `after`: then the end of the fold.
    let mut from = match second_occurrence_transition(tz, after) {
        Some(transition) => {
            local_time(tz, transition - 1)?.checked_add_signed(TimeDelta::seconds(1))?
        }
        None => local_time(tz, after)?.checked_add_signed(TimeDelta::seconds(1))?,
    };
    let last_year = from.year().saturating_add(SEARCH_YEARS);
    loop {
        let local = next_match(expr, from, last_year)?;
        let instant = instant_of(tz, local)?;
        if instant > after {
            return instant.checked_mul(1000);
        }
        // Not reached with the start above; kept so that the result is right whatever a zone's
        // rules look like.
        from = local.checked_add_signed(TimeDelta::seconds(1))?;
    }
}

/// The latest tick at or before `at_ms`, searching back no further than `not_before_ms`
/// (exclusive): a tick `t` with `not_before_ms < t <= at_ms` (Unix milliseconds), or `None` if
/// that window holds none. Used to catch up on ticks missed while nothing was running. The ticks
/// are exactly those of [`next_tick`], with the same daylight-saving rules.
pub fn latest_tick_at_or_before(
    expr: &CronExpr,
    tz: Tz,
    not_before_ms: i64,
    at_ms: i64,
) -> Option<i64> {
    let at = at_ms.div_euclid(1000);
    let not_before = not_before_ms.div_euclid(1000);
    if at <= not_before {
        return None;
    }
    // The last local time whose instant is at or before `at`: the local time of `at`, unless
    // `at` lies in the second occurrence of a fold, whose local times all fired earlier: then
    // the last second of the fold.
    let mut from = match second_occurrence_transition(tz, at) {
        Some(transition) => local_time(tz, transition - 1)?,
        None => local_time(tz, at)?,
    };
    let floor_year = match local_time(tz, not_before) {
        Some(t) => t.year() - 1,
        None => i32::MIN,
    };
    let first_year = floor_year.max(from.year().saturating_sub(SEARCH_YEARS));
    loop {
        let local = prev_match(expr, from, first_year)?;
        let instant = instant_of(tz, local)?;
        if instant <= not_before {
            return None;
        }
        if instant <= at {
            return instant.checked_mul(1000);
        }
        // Not reached with the start above (see next_tick).
        from = local.checked_sub_signed(TimeDelta::seconds(1))?;
    }
}

/// The wall-clock time in `tz` at Unix second `secs`; `None` when it falls outside chrono's
/// calendar (an instant near either end in a zone whose offset pushes it past the end).
fn local_time(tz: Tz, secs: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// The UTC offset of `tz` at Unix second `secs`, in seconds.
fn offset_at(tz: Tz, secs: i64) -> Option<i32> {
    let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
    Some(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// The instant (Unix second) at which the local time `local` fires: its only occurrence, its
/// first in a fold, the end of the gap if it falls in one.
fn instant_of(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The first instant after the gap that the nonexistent local time `local` falls in: the instant
/// of the first local time after it that exists.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> Option<i64> {
    let exists = |t: NaiveDateTime| !matches!(tz.from_local_datetime(&t), LocalResult::None);
    // Gaps last an hour, sometimes half an hour or two; the longest ever is a day (Samoa, 2011).
    let mut invalid = local;
    let mut valid = local;
    for _ in 0..48 {
        valid = valid.checked_add_signed(TimeDelta::hours(1))?;
        if exists(valid) {
            break;
        }
        invalid = valid;
    }
    if !exists(valid) {
        return None;
    }
    // Bisect down to the second: `invalid` does not exist, `valid` does.
    while (valid - invalid).num_seconds() > 1 {
        let mid = invalid + TimeDelta::seconds((valid - invalid).num_seconds() / 2);
        if exists(mid) {
            valid = mid;
        } else {
            invalid = mid;
        }
    }
    match tz.from_local_datetime(&valid) {
        LocalResult::Single(t) => Some(t.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => None,
    }
}

/// When Unix second `secs` lies in the second occurrence of a fold (its local time happened
/// once already, before clocks went back), the instant clocks went back (the first second with
/// the new offset); otherwise `None`.
fn second_occurrence_transition(tz: Tz, secs: i64) -> Option<i64> {
    let LocalResult::Ambiguous(a, b) = tz.from_local_datetime(&local_time(tz, secs)?) else {
        return None;
    };
    let first = a.timestamp().min(b.timestamp());
    if first >= secs {
        return None;
    }
    // Bisect between the first occurrence (old offset) and `secs` (new offset).
    let new_offset = offset_at(tz, secs)?;
    let (mut old, mut new) = (first, secs);
    while new - old > 1 {
        let mid = old + (new - old) / 2;
        if offset_at(tz, mid)? == new_offset {
            new = mid;
        } else {
            old = mid;
        }
    }
    Some(new)
}

#[cfg(test)]
mod tests;
