//! How the commands print: aligned text tables for people, JSON for scripts, and times as UTC
//! ISO 8601.

use serde_json::Value;

/// Text from the database made safe for a terminal, on one line: control characters (escape
/// sequences, carriage returns, newlines) and the bidirectional overrides are shown escaped
/// (`\u{1b}`, `\n`), so a job name, key or error cannot recolour, retitle or rewrite the
/// operator's terminal, nor forge lines of a table.
pub fn clean(s: &str) -> String {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Prints rows under a header, each column as wide as its widest cell (cells pass [`clean`]).
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints a JSON value on one line.
pub fn json(v: &Value) {
    println!("{v}");
}

/// A Unix-ms time as `2026-11-29T22:38:45.123Z`; `-` for none.
pub fn time(ms: Option<i64>) -> String {
    match ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_print_as_utc_iso() {
        assert_eq!(super::time(Some(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::time(Some(951_782_400_123)),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(super::time(None), "-");
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(super::clean("plain ünï 🚀"), "plain ünï 🚀");
        assert_eq!(
            super::clean("a\u{1b}[31mb\nc\rd\u{7}\u{202e}e"),
            "a\\u{1b}[31mb\\nc\\rd\\u{7}\\u{202e}e"
        );
    }
}
