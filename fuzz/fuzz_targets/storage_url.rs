//! Fuzz target `storage_url`: the storage URLs every entry point takes (`Engine::open`, the
//! SDKs' `Client::connect`, the sidecar's `--db`).
//!
//! Input: the URL as UTF-8 (invalid bytes replaced). The first line is the URL; a second line,
//! if any, is the bearer token a `grpc://` client sends.
//!
//! What it proves, for any input:
//! - `StorageUrl::parse` never panics and refuses only with InvalidArgument, in words that never
//!   show the URL's password;
//! - an accepted `sqlite:` URL names the in-memory database or a non-empty path;
//! - an accepted `postgres://` URL has a schema that is a lower-case identifier of at most 63
//!   bytes, at least one connection, and Reseolio's own parameters (`schema`,
//!   `max_connections`) taken out of the URL handed to the driver, which keeps the scheme;
//!   `PostgresConfig::parse` alone agrees with it;
//! - `StorageUrl::redact` never panics, leaves a URL without a password as it is, and replaces
//!   the password (from the first ':' after the scheme to the last '@') with `***`;
//! - `Client::connect` on a `grpc://` URL (a lazy connection: no network is touched) never
//!   panics and refuses only with InvalidArgument, in words that never show a password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseolio_core::store::postgres::PostgresConfig;
use reseolio_core::{ErrorKind, StorageUrl};
use reseolio_ffi::{Client, ConnectOptions};

/// The credentials of a URL as written (`:PASSWORD@`, any scheme but SQLite's, whose URLs have
/// none; the user info before the last '@' of the authority), when they appear nowhere else in
/// the URL nor in its redacted form: a message that shows them leaked the password.
fn credentials(url: &str) -> Option<String> {
    if url.starts_with("sqlite:") {
        return None;
    }
    let s = url.find("://")?;
    let at = url.rfind('@').filter(|at| *at > s)?;
    let userinfo = &url[s + 3..at];
    // Credentials end the authority: a '/', '?' or '#' before the '@' means it is no password.
    if userinfo.contains(['/', '?', '#']) {
        return None;
    }
    let (user, password) = userinfo.split_once(':')?;
    let written = format!(":{password}@");
    let rest = format!("{}{user}{}", &url[..s + 3], &url[at..]);
    let unique = !rest.contains(&written) && !StorageUrl::redact(url).contains(&written);
    (password.len() >= 3 && unique).then_some(written)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (url, token) = match text.split_once('\n') {
        Some((url, token)) => (url, Some(token)),
        None => (text.as_ref(), None),
    };

    match StorageUrl::parse(url) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url:?}: {e:?}");
            if let Some(written) = credentials(url) {
                assert!(
                    !e.message().contains(&written),
                    "{url:?}: the error shows the password: {e:?}"
                );
            }
        }
        Ok(StorageUrl::Sqlite(c)) => {
            assert!(url.starts_with("sqlite:"), "{url:?} read as SQLite");
            if let Some(path) = &c.path {
                assert!(!path.as_os_str().is_empty(), "{url:?}: empty path");
            }
        }
        Ok(StorageUrl::Postgres(c)) => {
            let ident = |s: &str| {
                (1..=63).contains(&s.len())
                    && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            };
            assert!(ident(&c.schema), "{url:?}: schema {:?}", c.schema);
            assert!(c.max_connections >= 1, "{url:?}");
            assert!(
                c.url.starts_with("postgres://") || c.url.starts_with("postgresql://"),
                "{url:?}: driver URL {:?}",
                c.url
            );
            if let Some((_, query)) = c.url.split_once('?') {
                for pair in query.split('&') {
                    let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                    assert!(
                        key != "schema" && key != "max_connections",
                        "{url:?}: {key} was left in the driver URL {:?}",
                        c.url
                    );
                }
            }
            let alone = PostgresConfig::parse(url).expect("PostgresConfig::parse disagrees");
            assert_eq!(
                (alone.url, alone.schema, alone.max_connections),
                (c.url, c.schema, c.max_connections)
            );
        }
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        let e = PostgresConfig::parse(url).expect_err("a non-postgres URL was accepted");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    let redacted = StorageUrl::redact(url);
    if let (Some(s), Some(at)) = (url.find("://"), url.rfind('@')) {
        if at > s {
            // Credentials run from the scheme to the last '@'; the password from the first ':'.
            if let Some((user, _password)) = url[s + 3..at].split_once(':') {
                let expected = format!("{}{user}:***{}", &url[..s + 3], &url[at..]);
                assert_eq!(redacted, expected, "{url:?}");
            } else {
                assert_eq!(redacted, url);
            }
        } else {
            assert_eq!(redacted, url);
        }
    } else {
        assert_eq!(redacted, url);
    }

    if url.starts_with("grpc://") {
        let options = ConnectOptions {
            token: token.map(str::to_string),
            ..Default::default()
        };
        if let Err(e) = Client::connect(url, options) {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url:?}: {e:?}");
            if let Some(written) = credentials(url) {
                assert!(
                    !e.message().contains(&written),
                    "{url:?}: the error shows the password: {e:?}"
                );
            }
        }
    }
});
