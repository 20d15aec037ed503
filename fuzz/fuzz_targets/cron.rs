//! Fuzz target `cron`: the cron expression parser and the tick search.
//!
//! Input: UTF-8 text (invalid bytes replaced) of up to four lines: the expression, a time zone
//! name, an instant `after_ms` and a window length in ms (a line that is not a number gives a
//! value derived from the input's bytes, so that every input reaches the tick search).
//!
//! What it proves, for any input:
//! - `CronExpr::parse` and `parse_timezone` never panic, and every refusal is an
//!   InvalidArgument that names the expression (or the zone);
//! - parsing is deterministic, and an accepted expression re-parses equal;
//! - for an accepted expression, in the named zone (or, when the name is not a zone, one picked
//!   from the whole IANA list, so that every daylight-saving rule is reached), `next_tick` never
//!   panics (no overflow at the ends of the calendar either) and its answer `t` is a whole second
//!   strictly after `after_ms`, with no tick in between: `latest_tick_at_or_before(after_ms, t)`
//!   is `t` and `latest_tick_at_or_before(after_ms, t - 1)` is none;
//! - `latest_tick_at_or_before(after_ms - window, after_ms)` never panics, and its answer `l` is
//!   a whole second inside the window that is itself a tick: `next_tick(l - 1)` is `l`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseolio_core::schedule::{latest_tick_at_or_before, next_tick, parse_timezone, CronExpr};
use reseolio_core::ErrorKind;

/// A number from the input's bytes (FNV-1a), for lines that are not numbers.
fn derived(data: &[u8], salt: u64) -> i64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    h as i64
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let expr_text = lines.next().unwrap_or("");
    let zone_text = lines.next().unwrap_or("UTC");
    let after_ms = lines
        .next()
        .and_then(|l| l.trim().parse::<i64>().ok())
        // Mostly within a few centuries of now, where schedules live; sometimes anywhere.
        .unwrap_or_else(|| {
            let d = derived(data, 1);
            if d % 4 == 0 {
                d
            } else {
                1_780_000_000_000 + d % 10_000_000_000_000
            }
        });
    let window = lines
        .next()
        .and_then(|l| l.trim().parse::<i64>().ok())
        .unwrap_or_else(|| derived(data, 2).rem_euclid(400 * 24 * 3600 * 1000));

    let expr = match CronExpr::parse(expr_text) {
        Ok(expr) => expr,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
            assert!(e.message().starts_with("cron expression "), "{e:?}");
            assert!(
                CronExpr::parse(expr_text).is_err(),
                "parse is not deterministic"
            );
            return;
        }
    };
    assert_eq!(
        CronExpr::parse(expr_text).ok().as_ref(),
        Some(&expr),
        "parse is not deterministic"
    );

    let tz = match parse_timezone(zone_text) {
        Ok(tz) => tz,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
            assert!(e.message().contains("timezone"), "{e:?}");
            let all = &chrono_tz::TZ_VARIANTS;
            all[(derived(zone_text.as_bytes(), 3) as u64 % all.len() as u64) as usize]
        }
    };

    if let Some(t) = next_tick(&expr, tz, after_ms) {
        assert!(t > after_ms, "next_tick({after_ms}) = {t} is not after it");
        assert_eq!(t.rem_euclid(1000), 0, "tick {t} is not a whole second");
        assert_eq!(
            latest_tick_at_or_before(&expr, tz, after_ms, t),
            Some(t),
            "next_tick({after_ms}) = {t} is not the latest tick at or before itself"
        );
        assert_eq!(
            latest_tick_at_or_before(&expr, tz, after_ms, t - 1),
            None,
            "a tick lies between {after_ms} and next_tick = {t}"
        );
    }

    let not_before = after_ms.saturating_sub(window);
    if let Some(l) = latest_tick_at_or_before(&expr, tz, not_before, after_ms) {
        assert!(
            not_before < l && l <= after_ms,
            "latest tick {l} is outside ({not_before}, {after_ms}]"
        );
        assert_eq!(l.rem_euclid(1000), 0, "tick {l} is not a whole second");
        assert_eq!(
            next_tick(&expr, tz, l - 1),
            Some(l),
            "latest_tick_at_or_before = {l} is not a tick"
        );
    }
});
