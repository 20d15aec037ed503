//! Who may read and who may act.
//!
//! Every request passes [`guard`], in this order:
//!
//! 0. No route reads a request body: a request that declares one over [`MAX_BODY_BYTES`] gets
//!    413, and one whose length is not declared (`Transfer-Encoding`) gets 411, before anything
//!    else runs.
//! 1. Without a token (the server is then bound to loopback), the `Host` header must name a
//!    loopback host (`localhost`, `127.x.x.x`, `[::1]`): a web page whose DNS name an attacker
//!    re-points at 127.0.0.1 cannot read the API (DNS rebinding).
//! 2. With a token, `GET /?token=<token>` sets the `reseolio_token` cookie (HttpOnly,
//!    SameSite=Lax) and redirects to `/`, so the token leaves the address bar and the history.
//!    Any other request needs `Authorization: Bearer <token>` or that cookie: else 401.
//! 3. Any method other than GET and HEAD is an action: 403 when the dashboard is read-only;
//!    403 without the header `x-reseolio-csrf: 1` (a cross-site form or simple request cannot
//!    send a custom header, and a cross-site `fetch` that does needs a CORS preflight this server
//!    never grants); 403 when an `Origin` header names another origin than the `Host`.
//!
//! [`headers`] adds the headers every answer carries (CSP, no framing, no sniffing, no referrer).

use crate::error::ApiError;
use crate::router::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::net::IpAddr;

/// The cookie that carries the token after `/?token=`.
pub(crate) const COOKIE: &str = "reseolio_token";
/// The header every action must carry.
pub(crate) const CSRF_HEADER: &str = "x-reseolio-csrf";

/// The largest request body a request may declare. No route reads a body (actions take their
/// arguments from the path), so this only bounds what a client may announce.
pub(crate) const MAX_BODY_BYTES: u64 = 16 * 1024;

/// The security settings of one server.
pub(crate) struct Security {
    /// The token, when one is required.
    token: Option<String>,
    /// The token as stored in the cookie (percent-encoded, so any token is a valid cookie value).
    cookie_value: Option<String>,
    /// Refuse every action.
    pub(crate) read_only: bool,
}

impl Security {
    pub(crate) fn new(token: Option<String>, read_only: bool) -> Self {
        let cookie_value = token
            .as_deref()
            .map(|t| form_urlencoded::byte_serialize(t.as_bytes()).collect());
        Security {
            token,
            cookie_value,
            read_only,
        }
    }

    /// Whether the request carries the token (header or cookie). True when none is required.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let (Some(token), Some(cookie_value)) = (&self.token, &self.cookie_value) else {
            return true;
        };
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|given| same(given.trim().as_bytes(), token.as_bytes()));
        bearer
            || cookie_values(headers, COOKIE)
                .any(|given| same(given.as_bytes(), cookie_value.as_bytes()))
    }
}

/// Compares secrets in time independent of where they first differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The values of the cookie `name` across every `Cookie` header.
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim())
        })
}

/// The host (without the port) the request was sent to: the `Host` header, else the absolute URI.
fn request_host(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()))
}

/// Strips the port from `host[:port]`, `[v6]:port` or `[v6]`.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// `localhost`, `*.localhost` or a loopback IP.
fn is_loopback_host(authority: &str) -> bool {
    let name = host_name(authority)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether `origin` (`scheme://host[:port]`) is the origin of a server reached as `host`.
fn same_origin(origin: &str, host: &str) -> bool {
    let (scheme, authority) = match origin.split_once("://") {
        Some(("http", a)) => ("http", a),
        Some(("https", a)) => ("https", a),
        _ => return false,
    };
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let norm = |a: &str| {
        let a = a.to_ascii_lowercase();
        a.strip_suffix(default_port)
            .map(str::to_string)
            .unwrap_or(a)
    };
    norm(authority) == norm(host)
}

/// The middleware of every route; see the module docs for the rules.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Err(e) = check_body(req.headers()) {
        return refuse(&req, e);
    }
    let sec = &state.security;
    let host = request_host(&req);
    if sec.token.is_none() && !host.as_deref().is_some_and(is_loopback_host) {
        return refuse(
            &req,
            ApiError::forbidden(
                "Forbidden",
                "this dashboard has no token, so it only answers requests addressed to \
                 localhost or a loopback IP",
            ),
        );
    }
    if let Some(res) = token_login(sec, &req) {
        return res;
    }
    if !sec.authorized(req.headers()) {
        return refuse(
            &req,
            ApiError::unauthenticated(
                "this dashboard needs a token: send 'Authorization: Bearer <token>', or open \
                 /?token=<token> once in the browser",
            ),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Err(e) = check_action(sec, req.headers(), host.as_deref()) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// A body of unknown length (411) or declared over [`MAX_BODY_BYTES`] (413) is refused unread.
fn check_body(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "LengthRequired",
            "this dashboard takes no request body of undeclared length: send Content-Length",
        ));
    }
    for v in headers.get_all(header::CONTENT_LENGTH) {
        let n = v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
        if n.is_none_or(|n| n > MAX_BODY_BYTES) {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                format!(
                    "the request body may be at most {MAX_BODY_BYTES} bytes (no route reads one)"
                ),
            ));
        }
    }
    Ok(())
}

/// `GET /?token=...`: the cookie and a redirect to `/` when the token is right, else 401.
/// None for every other request.
fn token_login(sec: &Security, req: &Request) -> Option<Response> {
    let (Some(token), Some(cookie_value)) = (&sec.token, &sec.cookie_value) else {
        return None;
    };
    if req.method() != Method::GET || req.uri().path() != "/" {
        return None;
    }
    let given = form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())?;
    if !same(given.as_bytes(), token.as_bytes()) {
        return Some(refuse(req, ApiError::unauthenticated("the token is wrong")));
    }
    let cookie = format!("{COOKIE}={cookie_value}; Path=/; HttpOnly; SameSite=Lax");
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SEE_OTHER;
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    Some(res)
}

/// The rules of actions: not read-only, the CSRF header, and the request's own origin.
fn check_action(sec: &Security, headers: &HeaderMap, host: Option<&str>) -> Result<(), ApiError> {
    if sec.read_only {
        return Err(ApiError::forbidden(
            "ReadOnly",
            "this dashboard is read-only: actions are disabled",
        ));
    }
    let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if csrf != Some("1") {
        return Err(ApiError::forbidden(
            "Forbidden",
            format!("actions need the header '{CSRF_HEADER}: 1'"),
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !host.is_some_and(|h| same_origin(origin, h)) {
            return Err(ApiError::forbidden(
                "Forbidden",
                format!("cross-origin action refused: Origin '{origin}' is not this server"),
            ));
        }
    }
    Ok(())
}

/// An error answer shaped for the route: JSON under `/api`, an HTML page at `/`, text elsewhere.
fn refuse(req: &Request, e: ApiError) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        let mut res = e.into_response();
        if res.status() == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return res;
    }
    let status = e.status();
    let mut res = if path == "/" {
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Reseolio</title>\
             <h1>Reseolio dashboard</h1>\
             <p>{}</p></body>",
            escape_html(e.message())
        );
        (status, Html(page)).into_response()
    } else {
        (status, format!("{}\n", e.message())).into_response()
    };
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Content-Security-Policy of every answer: only this server's own scripts, styles and
/// connections; no framing; no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// Adds the security headers to every answer.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for ok in [
            "localhost",
            "localhost:7780",
            "127.0.0.1:7780",
            "127.1.2.3",
            "[::1]:80",
            "[::1]",
            "app.localhost:1",
            "LOCALHOST.",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7780",
            "10.0.0.1:7780",
            "[::2]:1",
            "localhost.evil.com",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn origins_match_only_their_own_host() {
        assert!(same_origin("http://127.0.0.1:7780", "127.0.0.1:7780"));
        assert!(same_origin("https://dash.example", "dash.example:443"));
        assert!(same_origin("http://Dash.Example", "dash.example"));
        assert!(!same_origin("http://127.0.0.1:7781", "127.0.0.1:7780"));
        assert!(!same_origin("null", "127.0.0.1:7780"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:7780"));
        assert!(!same_origin("ftp://127.0.0.1:7780", "127.0.0.1:7780"));
    }

    #[test]
    fn tokens_match_from_the_header_or_the_cookie() {
        let sec = Security::new(Some("s3cret; x".into()), false);
        let mut h = HeaderMap::new();
        assert!(!sec.authorized(&h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret; x"),
        );
        assert!(sec.authorized(&h));
        let mut c = HeaderMap::new();
        c.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; reseolio_token=s3cret%3B+x"),
        );
        assert!(sec.authorized(&c));
        let mut wrong = HeaderMap::new();
        wrong.insert(
            header::COOKIE,
            HeaderValue::from_static("reseolio_token=s3cret"),
        );
        assert!(!sec.authorized(&wrong));
        assert!(Security::new(None, false).authorized(&HeaderMap::new()));
    }
}
