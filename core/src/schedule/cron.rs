//! Cron expressions: parsing, and the instants at which they tick in a time zone.
//!
//! [`CronExpr::parse`] accepts the classic five fields (`minute hour day-of-month month
//! day-of-week`), six with a seconds field first, or one of the macros `@yearly` (`@annually`),
//! `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly`. Each field is `*`, a value, a
//! range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's maximum), or a comma list
//! of those. Months may be named `JAN`-`DEC` and days of the week `SUN`-`SAT` (any case); day of
//! week runs 0-7 where both 0 and 7 are Sunday (7 only when written: `*` and `a/n` stop at 6). `?`
//! is `*` in the two day fields only.
//!
//! Day matching follows Vixie cron: when both day fields are restricted (neither is written
//! starting with `*` or `?`), a day matches if *either* matches (`0 0 13 * FRI` is every 13th and
//! every Friday); otherwise it must match both.
//!
//! [`next_tick`] and [`latest_tick_at_or_before`] turn an expression and an IANA zone (see
//! [`parse_timezone`]) into Unix instants; their documentation states the daylight-saving rules.
//! The local-calendar search lives in `calendar`, the mapping to instants in `zone`.

mod calendar;
#[cfg(test)]
mod tests;
mod zone;

pub use zone::{latest_tick_at_or_before, next_tick};

use crate::error::{Error, Result};

/// A parsed cron expression.
///
/// Two expressions are equal when they were written with the same sets of values (and the same
/// "starts with `*`" flags of the day fields, which select the Vixie day rule), whatever their
/// spelling: `0 0 * * 7`, `0 0 * * 0` and `0 0 * * sun` are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    /// Bit `n` set: second `n` matches (0-59). Only bit 0 without a seconds field.
    seconds: u64,
    /// Bit `n`: minute `n` (0-59).
    minutes: u64,
    /// Bit `n`: hour `n` (0-23).
    hours: u64,
    /// Bit `n`: day of month `n` (1-31).
    days_of_month: u64,
    /// Bit `n`: month `n` (1-12).
    months: u64,
    /// Bit `n`: day of week `n`, 0 = Sunday (0-6; a written 7 is stored as 0).
    days_of_week: u64,
    /// The day-of-month field was written starting with `*` or `?`.
    dom_star: bool,
    /// The day-of-week field was written starting with `*` or `?`.
    dow_star: bool,
    /// Six fields were given.
    has_seconds: bool,
}

impl CronExpr {
    /// Parses 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), or a
    /// macro: `@yearly` = `@annually` = `0 0 1 1 *`, `@monthly` = `0 0 1 * *`, `@weekly` =
    /// `0 0 * * 0`, `@daily` = `@midnight` = `0 0 * * *`, `@hourly` = `0 * * * *` (macro names in
    /// any case; there is no `@reboot` nor `@every`). Fields are separated by whitespace.
    ///
    /// Errors are [`InvalidArgument`](crate::ErrorKind::InvalidArgument) and name the expression,
    /// the field and the token, e.g. `cron expression "61 * * * *": "61" is out of range for
    /// minute (0-59)`. Rejected: a wrong number of fields, a value out of the field's range or not
    /// a number (nor a name where names are allowed), an empty list element or a missing number,
    /// a step of 0 or larger than the field's count of values, a range whose start is after its
    /// end, `?` outside the day fields, an unknown macro, and a day of month that occurs in none
    /// of the months when the day of month alone decides (`0 0 30 2 *`: `day of month "30" never
    /// occurs in month "2"`), so that every accepted expression ticks again and again.
    pub fn parse(expr: &str) -> Result<CronExpr> {
        let ctx = Ctx { expr };
        let trimmed = expr.trim();
        if trimmed.starts_with('@') {
            let fields = match trimmed.to_ascii_lowercase().as_str() {
                "@yearly" | "@annually" => "0 0 1 1 *",
                "@monthly" => "0 0 1 * *",
                "@weekly" => "0 0 * * 0",
                "@daily" | "@midnight" => "0 0 * * *",
                "@hourly" => "0 * * * *",
                _ => {
                    return Err(ctx.err(format!(
                        "unknown macro {} (expected @yearly, @annually, @monthly, \
                         @weekly, @daily, @midnight or @hourly)",
                        q(trimmed)
                    )))
                }
            };
            return Self::parse_fields(&ctx, &fields.split_whitespace().collect::<Vec<_>>());
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        Self::parse_fields(&ctx, &fields)
    }

    /// True when the expression has a seconds field.
    pub fn has_seconds(&self) -> bool {
        self.has_seconds
    }

    fn parse_fields(ctx: &Ctx<'_>, fields: &[&str]) -> Result<CronExpr> {
        let (has_seconds, rest) = match fields.len() {
            5 => (false, fields),
            6 => (true, &fields[1..]),
            n => {
                return Err(ctx.err(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 \
                     (seconds first), found {n}"
                )))
            }
        };
        let seconds = if has_seconds {
            parse_field(ctx, &SECOND, fields[0])?
        } else {
            1
        };
        let minutes = parse_field(ctx, &MINUTE, rest[0])?;
        let hours = parse_field(ctx, &HOUR, rest[1])?;
        let days_of_month = parse_field(ctx, &DAY_OF_MONTH, rest[2])?;
        let months = parse_field(ctx, &MONTH, rest[3])?;
        let mut days_of_week = parse_field(ctx, &DAY_OF_WEEK, rest[4])?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let starts_star = |f: &str| f.starts_with('*') || f.starts_with('?');
        let expr = CronExpr {
            seconds,
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_star: starts_star(rest[2]),
            dow_star: starts_star(rest[4]),
            has_seconds,
        };
        // When the day of week is `*`-like and the day of month is not, the day of month alone
        // decides (intersected with a weekday set, which every existing date meets in some year).
        // A day of month that no chosen month has would never tick: refuse it now.
        if expr.dow_star && !expr.dom_star {
            let occurs = (1..=12u32)
                .filter(|m| expr.months & (1 << m) != 0)
                .any(|m| expr.days_of_month & ((1u64 << (max_days_in_month(m) + 1)) - 1) != 0);
            if !occurs {
                return Err(ctx.err(format!(
                    "day of month {} never occurs in month {}",
                    q(rest[2]),
                    q(rest[3])
                )));
            }
        }
        Ok(expr)
    }

    /// Whether a calendar day, `day` (1-31) of its month falling on `weekday` (0 = Sunday),
    /// matches the two day fields under the Vixie rule (the month is checked apart).
    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days_of_month & (1 << day) != 0;
        let dow = self.days_of_week & (1 << weekday) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }
}

/// Parses an IANA time zone name such as `"UTC"` or `"Europe/Paris"` (exact spelling; the
/// database is compiled in). Errors: [`InvalidArgument`](crate::ErrorKind::InvalidArgument),
/// `timezone "Mars/Olympus" is not a known IANA time zone`.
pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz> {
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        Error::invalid(format!(
            "timezone {} is not a known IANA time zone",
            q(name)
        ))
    })
}

/// The most days a month has in any year (February: 29).
fn max_days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The expression being parsed, for error messages.
struct Ctx<'a> {
    expr: &'a str,
}

impl Ctx<'_> {
    fn err(&self, what: String) -> Error {
        Error::invalid(format!("cron expression {}: {what}", q(self.expr)))
    }
}

/// At most 100 characters of a caller's string, for an error message.
fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// A caller's token, shortened and quoted, for an error message.
fn q(s: &str) -> String {
    format!("{:?}", shorten(s))
}

/// One field's rules.
struct FieldSpec {
    /// For messages: "minute", "day of month".
    name: &'static str,
    /// Smallest value.
    min: u32,
    /// Largest value that may be written.
    max: u32,
    /// Where `*` and `a/n` stop (day of week: 6, though 7 may be written).
    star_max: u32,
    /// Names of the values from `min` up, if the field has names.
    names: &'static [&'static str],
    /// "month name", "day name" for messages.
    name_kind: &'static str,
    /// `?` is allowed (as `*`).
    day_field: bool,
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    star_max: 59,
    names: &[],
    name_kind: "",
    day_field: false,
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    ..SECOND
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    max: 23,
    star_max: 23,
    ..SECOND
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    star_max: 31,
    names: &[],
    name_kind: "",
    day_field: true,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    star_max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    name_kind: "month name",
    day_field: false,
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 7,
    star_max: 6,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    name_kind: "day name",
    day_field: true,
};

/// The set of values of one field, as a bitset (bit `n` = value `n`).
fn parse_field(ctx: &Ctx<'_>, spec: &FieldSpec, text: &str) -> Result<u64> {
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(ctx.err(format!(
                "empty list element in {} for {}",
                q(text),
                spec.name
            )));
        }
        bits |= parse_item(ctx, spec, item)?;
    }
    Ok(bits)
}

/// One list element: `*`, `v`, `a-b`, each optionally followed by `/step`.
fn parse_item(ctx: &Ctx<'_>, spec: &FieldSpec, item: &str) -> Result<u64> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    let step = match step {
        None => 1,
        Some(text) => parse_step(ctx, spec, item, text)?,
    };
    let (lo, hi) = if range == "*" || (range == "?" && spec.day_field) {
        (spec.min, spec.star_max)
    } else if let Some((a, b)) = range.split_once('-') {
        let (lo, hi) = (
            parse_value(ctx, spec, item, a)?,
            parse_value(ctx, spec, item, b)?,
        );
        if lo > hi {
            return Err(ctx.err(format!(
                "range {} has its start after its end for {}",
                q(range),
                spec.name
            )));
        }
        (lo, hi)
    } else {
        let value = parse_value(ctx, spec, item, range)?;
        if item.contains('/') {
            (value, spec.star_max.max(value))
        } else {
            (value, value)
        }
    };
    Ok((lo..=hi)
        .step_by(step as usize)
        .fold(0u64, |bits, v| bits | (1 << v)))
}

/// The `n` of `/n`: at least 1, at most the field's count of values.
fn parse_step(ctx: &Ctx<'_>, spec: &FieldSpec, item: &str, text: &str) -> Result<u32> {
    let most = spec.star_max - spec.min + 1;
    if text.is_empty() {
        return Err(ctx.err(format!("{} is missing a number for {}", q(item), spec.name)));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ctx.err(format!(
            "step {} in {} is not a number for {}",
            q(text),
            q(item),
            spec.name
        )));
    }
    match text.parse::<u32>() {
        Ok(0) => Err(ctx.err(format!(
            "step {} in {} must be at least 1 for {}",
            q(text),
            q(item),
            spec.name
        ))),
        Ok(n) if n <= most => Ok(n),
        _ => Err(ctx.err(format!(
            "step {} in {} is out of range for {} (1-{most})",
            q(text),
            q(item),
            spec.name
        ))),
    }
}

/// A single value: digits in range, or (month, day of week) a three-letter name in any case.
fn parse_value(ctx: &Ctx<'_>, spec: &FieldSpec, item: &str, text: &str) -> Result<u32> {
    if text.is_empty() {
        return Err(ctx.err(format!("{} is missing a number for {}", q(item), spec.name)));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
            _ => Err(ctx.err(format!(
                "{} is out of range for {} ({}-{})",
                q(text),
                spec.name,
                spec.min,
                spec.max
            ))),
        };
    }
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.min + i as u32);
    }
    if text == "?" && !spec.day_field {
        return Err(ctx.err(format!(
            "\"?\" is only allowed in day of month and day of week, not in {}",
            spec.name
        )));
    }
    if text == "?" || text == "*" {
        return Err(ctx.err(format!(
            "{} in {} must stand alone for {}",
            q(text),
            q(item),
            spec.name
        )));
    }
    if spec.names.is_empty() {
        Err(ctx.err(format!("{} is not a number for {}", q(text), spec.name)))
    } else {
        Err(ctx.err(format!(
            "{} is not a number or {} for {}",
            q(text),
            spec.name_kind,
            spec.name
        )))
    }
}
