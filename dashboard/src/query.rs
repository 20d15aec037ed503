//! Query-string parsing with answers that name the parameter at fault.
//!
//! Unknown parameters are refused (a typo such as `stauts=DEAD` would otherwise list every job);
//! an empty value counts as absent, so a form that sends `status=` means "any status".

use crate::error::ApiError;
use std::str::FromStr;

/// The decoded pairs of one query string.
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `raw` (the part after `?`) and refuses any key outside `known`.
    pub(crate) fn parse(raw: Option<&str>, known: &[&str]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(ApiError::param(
                k,
                format!("unknown parameter (known: {})", known.join(", ")),
            ));
        }
        Ok(Query { pairs })
    }

    /// Every non-empty value of `key`, in order (a repeated key gives several).
    pub(crate) fn all<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let key = key.to_string();
        self.pairs
            .iter()
            .filter(move |(k, v)| *k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// The one value of `key`; None when absent or empty. A repeated key is a 400.
    pub(crate) fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.all(key);
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::param(key, "given more than once"));
        }
        Ok(first)
    }

    /// The comma-separated or repeated values of `key`, each parsed with `FromStr`.
    pub(crate) fn list<T: FromStr>(&self, key: &str) -> Result<Vec<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.all(key)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<T>().map_err(|e| ApiError::param(key, e)))
            .collect()
    }

    /// An integer in `min..=max`, or `default` when absent.
    pub(crate) fn int<T>(&self, key: &str, default: T, min: T, max: T) -> Result<T, ApiError>
    where
        T: FromStr + PartialOrd + Copy + std::fmt::Display,
    {
        let Some(raw) = self.one(key)? else {
            return Ok(default);
        };
        let v: T = raw
            .parse()
            .map_err(|_| ApiError::param(key, format!("'{raw}' is not an integer")))?;
        if v < min || v > max {
            return Err(ApiError::param(
                key,
                format!("{v} is out of range ({min} to {max})"),
            ));
        }
        Ok(v)
    }

    /// One of `choices` (case-insensitive), returned as the matching choice; `default` when
    /// absent.
    pub(crate) fn choice(
        &self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, ApiError> {
        let Some(raw) = self.one(key)? else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(raw))
            .copied()
            .ok_or_else(|| {
                ApiError::param(key, format!("'{raw}' is not one of {}", choices.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_ints_and_choices_and_names_the_bad_parameter() {
        let q = Query::parse(
            Some("status=dead,failed&status=&limit=20&order=RUN_AT&name=a%2Cb"),
            &["status", "limit", "order", "name", "dir"],
        )
        .unwrap();
        let statuses: Vec<String> = q.list("status").unwrap();
        assert_eq!(statuses, ["dead", "failed"]);
        assert_eq!(q.int("limit", 50u32, 1, 1000).unwrap(), 20);
        assert_eq!(q.int("offset", 0u32, 0, u32::MAX).unwrap(), 0);
        assert_eq!(
            q.choice("order", &["created_at", "run_at"], "created_at")
                .unwrap(),
            "run_at"
        );
        assert_eq!(q.choice("dir", &["asc", "desc"], "desc").unwrap(), "desc");
        assert_eq!(q.all("name").collect::<Vec<_>>(), ["a,b"]);

        let bad = Query::parse(Some("limit=abc"), &["limit"]).unwrap();
        let e = bad.int("limit", 50u32, 1, 1000).unwrap_err();
        assert!(e.message().contains("'limit'"), "{}", e.message());
        let big = Query::parse(Some("limit=5000"), &["limit"]).unwrap();
        assert!(big.int("limit", 50u32, 1, 1000).is_err());
        let twice = Query::parse(Some("limit=1&limit=2"), &["limit"]).unwrap();
        assert!(twice.int("limit", 50u32, 1, 1000).is_err());
        let unknown = Query::parse(Some("stauts=DEAD"), &["status"])
            .err()
            .unwrap();
        assert!(
            unknown.message().contains("'stauts'"),
            "{}",
            unknown.message()
        );
    }
}
