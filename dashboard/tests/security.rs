//! The dashboard's security claims (docs/security.md), each proved over real HTTP:
//!
//! - the route table this test knows is the router's own (read from `src/router.rs`, so a new
//!   route fails here until it is added), and with a token EVERY route, every method it takes,
//!   HEAD, every embedded asset and unknown paths refuse a request without the token, with a
//!   wrong one, with malformed headers or a forged cookie, and answer with the header or the
//!   cookie from the `/?token=` login;
//! - a body over the limit, or of undeclared length, is refused before any handler runs; an
//!   oversized request head is refused and the server keeps serving;
//! - hostile text in query parameters and path segments is only ever data, on SQLite and on
//!   PostgreSQL (RESEOLIO_TEST_POSTGRES_URL), and cannot forge `/metrics` lines.

mod support;

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions};
use reseolio_dashboard::{serve, DashboardConfig, Serving};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use support::{request, Fixture, Res};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "s3cret-t0ken";
const BEARER: &str = "Bearer s3cret-t0ken";

/// Every route of the dashboard and the methods it takes, as this test knows them. The first
/// test checks this against `src/router.rs`.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/assets/{*file}", &["GET"]),
    ("/metrics", &["GET"]),
    ("/api/config", &["GET"]),
    ("/api/stats", &["GET"]),
    ("/api/jobs", &["GET"]),
    ("/api/jobs/{id}", &["GET"]),
    ("/api/jobs/{id}/retry", &["POST"]),
    ("/api/jobs/{id}/cancel", &["POST"]),
    ("/api/functions/{name}/retry-dead", &["POST"]),
    ("/api/schedules", &["GET"]),
    ("/api/schedules/{id}", &["GET", "DELETE"]),
    ("/api/schedules/{id}/pause", &["POST"]),
    ("/api/schedules/{id}/resume", &["POST"]),
    ("/api/schedules/{id}/trigger", &["POST"]),
    ("/api/schedules/{id}/delete", &["POST"]),
];

/// axum's method routers, as they are called in a route: `get(handler)`, `.delete(handler)`.
const METHOD_FNS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect", "any",
];

/// Where `src` calls `name(...)` as a function or method (`name(` after a character that cannot
/// end an identifier or a path: `get(` and `.delete(`, not `api::jobs::get` nor `budget(`).
fn calls<'a>(src: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    let pattern = format!("{name}(");
    src.match_indices(&pattern)
        .map(|(i, _)| i)
        .filter(move |&i| {
            let before = src[..i].chars().next_back();
            before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// The routes `src/router.rs` declares: each `.route("PATH", ...)` with the method routers in
/// its call. Routes added any other way (nesting, merging, services) fail the test outright.
fn router_routes() -> BTreeMap<String, BTreeSet<String>> {
    let src = include_str!("../src/router.rs");
    for other in [
        "nest",
        "merge",
        "route_service",
        "nest_service",
        "fallback_service",
        "on",
    ] {
        assert!(
            calls(src, other).next().is_none(),
            "src/router.rs adds routes with {other}(...): teach this test to read them"
        );
    }
    let mut routes = BTreeMap::new();
    let mut rest = src;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a closed .route( call");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a path literal").to_string();
        let methods: BTreeSet<String> = METHOD_FNS
            .iter()
            .filter(|m| calls(call, m).next().is_some())
            .map(|m| m.to_ascii_uppercase())
            .collect();
        assert!(!methods.is_empty(), "no method router in .route({call})");
        assert!(
            routes.insert(path.clone(), methods).is_none(),
            "{path} declared twice"
        );
        rest = &rest[end..];
    }
    routes
}

/// Every embedded file, from the table in `src/assets.rs`.
fn asset_paths() -> Vec<String> {
    let src = include_str!("../src/assets.rs");
    let paths: Vec<String> = src
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path: \""))
        .map(|l| l.trim_end_matches("\",").to_string())
        .collect();
    assert!(
        paths.len() >= 10 && paths.contains(&"app.js".to_string()),
        "{paths:?}"
    );
    paths
}

#[test]
fn the_route_table_is_the_routers_own() {
    let known: BTreeMap<String, BTreeSet<String>> = ROUTES
        .iter()
        .map(|(p, ms)| (p.to_string(), ms.iter().map(|m| m.to_string()).collect()))
        .collect();
    assert_eq!(
        router_routes(),
        known,
        "src/router.rs and this test's ROUTES differ: add the new route (and its methods) to \
         ROUTES so that the security tests cover it"
    );
}

// ------------------------------------------------------------------------------ every route

/// The requests every route refuses, by what is wrong with them: headers to add.
fn refused_credentials() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("no credentials", vec![]),
        ("a wrong token", vec![("authorization", "Bearer nope")]),
        (
            "a wrong token of the same length",
            vec![("authorization", "Bearer s3cret-t0keN")],
        ),
        (
            "a prefix of the token",
            vec![("authorization", "Bearer s3cret-t0ke")],
        ),
        (
            "the token and more",
            vec![("authorization", "Bearer s3cret-t0ken0")],
        ),
        ("the token without a scheme", vec![("authorization", TOKEN)]),
        (
            "another scheme",
            vec![("authorization", "Basic s3cret-t0ken")],
        ),
        (
            "a lower-case scheme",
            vec![("authorization", "bearer s3cret-t0ken")],
        ),
        ("the scheme only", vec![("authorization", "Bearer")]),
        ("an empty token", vec![("authorization", "Bearer ")]),
        ("an empty header", vec![("authorization", "")]),
        (
            "a character that is not ASCII",
            vec![("authorization", "Bearer s3cret-t0kenÿ")],
        ),
        ("a wrong cookie", vec![("cookie", "reseolio_token=nope")]),
        ("an empty cookie", vec![("cookie", "reseolio_token=")]),
        (
            "the token under another cookie name",
            vec![("cookie", "token=s3cret-t0ken")],
        ),
        (
            "the token in another header",
            vec![("x-reseolio-token", TOKEN)],
        ),
    ]
}

/// A request as the UI would send it, plus `extra`: actions carry the CSRF header and the
/// server's own Origin, so that a refusal can only come from the missing token.
async fn send(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> Res {
    let origin = format!("http://{addr}");
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if method != "GET" && method != "HEAD" {
        headers.push(("x-reseolio-csrf", "1"));
        headers.push(("origin", &origin));
    }
    request(addr, method, path, &headers).await
}

/// Each route of [`ROUTES`] with its methods, made concrete: `{id}` is a real job or schedule,
/// `{name}` a real function, `{*file}` every asset; GET routes are also asked with HEAD. The
/// schedule the DELETE method removes is another one than the POST `/delete` removes.
fn concrete(job: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (pattern, methods) in ROUTES {
        let mut all: Vec<&str> = methods.to_vec();
        if methods.contains(&"GET") {
            all.push("HEAD");
        }
        for method in all {
            let paths: Vec<String> = if pattern.contains("{*file}") {
                asset_paths()
                    .iter()
                    .map(|a| format!("/assets/{a}"))
                    .collect()
            } else {
                let schedule = if method == "DELETE" {
                    "weekly"
                } else {
                    "nightly"
                };
                let p = pattern.replace("{name}", "mail");
                let p = if p.starts_with("/api/jobs/") {
                    p.replace("{id}", job)
                } else {
                    p.replace("{id}", schedule)
                };
                vec![p]
            };
            for p in paths {
                out.push((method.to_string(), p));
            }
        }
    }
    out
}

async fn declare(engine: &Engine, name: &str) {
    engine
        .schedule_declare(ScheduleSpec {
            name: name.into(),
            function: "report".into(),
            cron: "0 3 * * *".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_request_without_the_right_token() {
    let f = Fixture::with(|c| c.token = Some(TOKEN.into())).await;
    let job = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    declare(&f.engine, "nightly").await;
    declare(&f.engine, "weekly").await;
    let requests = concrete(&job);
    assert!(requests.len() > ROUTES.len() + 10, "{requests:?}");

    let mut tried = BTreeSet::new();
    for (method, path) in &requests {
        for (what, headers) in refused_credentials() {
            let res = send(f.addr, method, path, &headers).await;
            assert_eq!(
                res.status,
                401,
                "{method} {path} with {what}: {}",
                res.text()
            );
            assert_eq!(
                res.header("www-authenticate"),
                Some("Bearer"),
                "{method} {path}"
            );
            assert!(res.header("set-cookie").is_none(), "{method} {path}");
            if method != "HEAD" && path.starts_with("/api/") {
                assert_eq!(res.kind(), "Unauthenticated", "{method} {path}");
            }
        }
        // The token in the query string is the browser login of `/` only.
        let sep = if path.contains('?') { '&' } else { '?' };
        let in_query = format!("{path}{sep}token={TOKEN}");
        if path != "/" || method != "GET" {
            let res = send(f.addr, method, &in_query, &[]).await;
            assert_eq!(res.status, 401, "{method} {in_query}");
        }
        tried.insert(method.clone());
    }
    assert_eq!(
        tried,
        ["GET", "HEAD", "POST", "DELETE"].map(String::from).into(),
        "every method the routes take was tried"
    );
    // Nothing the refused actions ask for happened.
    assert_eq!(f.engine.get(&job).await.unwrap().status, JobStatus::Pending);
    for s in ["nightly", "weekly"] {
        let s = f.engine.schedule_get(s).await.unwrap();
        assert_eq!(s.status.as_str(), "ACTIVE");
    }
    let total = f.engine.list(Default::default()).await.unwrap().total;
    assert_eq!(total, 1, "a refused trigger enqueued a job");

    // Paths no route serves, and methods no route takes: 401 too, so that nothing about the
    // routes can be learnt without the token.
    for (method, path) in [
        ("GET", "/nothing-here"),
        ("GET", "/api/nothing-here"),
        ("GET", "/assets/../src/lib.rs"),
        ("GET", "/assets/nope.js"),
        ("PUT", "/api/config"),
        ("POST", "/api/jobs"),
        ("OPTIONS", "/api/jobs"),
        ("PATCH", "/api/schedules/nightly"),
    ] {
        let res = send(f.addr, method, path, &[]).await;
        assert_eq!(res.status, 401, "{method} {path}");
        let res = send(f.addr, method, path, &[("authorization", BEARER)]).await;
        assert!(
            matches!(res.status, 404 | 405),
            "{method} {path} with the token: {}",
            res.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_the_header_and_the_login_cookie() {
    let f = Fixture::with(|c| c.token = Some(TOKEN.into())).await;
    let job = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    declare(&f.engine, "nightly").await;
    declare(&f.engine, "weekly").await;

    // The browser login: a wrong token sets nothing; the right one sets the cookie and sends
    // the browser to `/` without the token in the address. Only GET `/` logs in.
    let wrong = f.get("/?token=nope").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let post = send(f.addr, "POST", &format!("/?token={TOKEN}"), &[]).await;
    assert_eq!(post.status, 401, "POST does not log in");
    let login = f.get(&format!("/?token={TOKEN}")).await;
    assert_eq!(login.status, 303);
    assert_eq!(login.header("location"), Some("/"));
    let cookie = login.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();

    // Each credential on every request: the right token reaches the handler. Reads answer 200;
    // actions 200, or 409 when the job is not in a state the action takes (the handler ran).
    let mut kinds = 0;
    for credential in [("authorization", BEARER), ("cookie", pair.as_str())] {
        for (method, path) in concrete(&job) {
            // The deletes would leave nothing for the second credential.
            let deletes = method == "DELETE" || path.ends_with("/delete");
            if deletes && credential.0 == "authorization" {
                continue;
            }
            let res = send(f.addr, &method, &path, &[credential]).await;
            let ok = if method == "POST" || method == "DELETE" {
                matches!(res.status, 200 | 409)
            } else {
                res.status == 200
            };
            assert!(
                ok,
                "{method} {path} with the {}: {} {}",
                credential.0,
                res.status,
                res.text()
            );
        }
        kinds += 1;
    }
    assert_eq!(kinds, 2);
    assert!(
        f.engine.schedule_get("nightly").await.is_err(),
        "deleted by POST .../delete"
    );
    assert!(
        f.engine.schedule_get("weekly").await.is_err(),
        "deleted by DELETE"
    );
}

// ---------------------------------------------------------------------------- bodies, heads

/// Writes `head` then `body` (on its own task, so a server that answers early does not block
/// the test) and reads the answer: the status and the text.
async fn raw(addr: SocketAddr, head: String, body: Vec<u8>) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(&body).await;
        wr
    });
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut out))
        .await
        .expect("an answer within 10 s");
    drop(writer);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

fn head(addr: SocketAddr, method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: {BEARER}\r\nx-reseolio-csrf: 1\r\n{extra}\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_or_of_unknown_length_are_refused_unread() {
    let f = Fixture::with(|c| c.token = Some(TOKEN.into())).await;
    let job = f.enqueue("mail", b"[]", EnqueueOptions::default()).await;
    let cancel = format!("/api/jobs/{job}/cancel");
    let limit = 16 * 1024;

    // Announced as 10 MiB and never sent: refused at once, without waiting for the body.
    let (status, text) = raw(
        f.addr,
        head(f.addr, "POST", &cancel, "Content-Length: 10485760\r\n"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("PayloadTooLarge"), "{text}");
    // Sent whole, just over the limit; on a read route; and without a token.
    for (method, path, auth) in [
        ("POST", cancel.as_str(), true),
        ("GET", "/api/config", true),
        ("POST", cancel.as_str(), false),
    ] {
        let mut h = head(
            f.addr,
            method,
            path,
            &format!("Content-Length: {}\r\n", limit + 1),
        );
        if !auth {
            h = h.replace(&format!("Authorization: {BEARER}\r\n"), "");
        }
        let (status, text) = raw(f.addr, h, vec![b'x'; limit + 1]).await;
        assert_eq!(status, 413, "{method} {path}: {text}");
    }
    // A chunked body has no declared length: 411.
    let (status, text) = raw(
        f.addr,
        head(f.addr, "POST", &cancel, "Transfer-Encoding: chunked\r\n"),
        b"4\r\nabcd\r\n0\r\n\r\n".to_vec(),
    )
    .await;
    assert_eq!(status, 411, "{text}");
    assert_eq!(f.engine.get(&job).await.unwrap().status, JobStatus::Pending);

    // At the limit the body is taken (and ignored: no route reads one).
    let (status, text) = raw(
        f.addr,
        head(
            f.addr,
            "POST",
            &cancel,
            &format!("Content-Length: {limit}\r\n"),
        ),
        vec![b'x'; limit],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        f.engine.get(&job).await.unwrap().status,
        JobStatus::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_head_is_refused_and_the_server_keeps_serving() {
    let f = Fixture::new().await;
    let long = "a".repeat(1024 * 1024);
    let (status, _) = raw(
        f.addr,
        format!(
            "GET /api/jobs?name={long} HTTP/1.1\r\nHost: {}\r\n\r\n",
            f.addr
        ),
        vec![],
    )
    .await;
    assert_eq!(status, 431);
    let (status, _) = raw(
        f.addr,
        format!(
            "GET /api/config HTTP/1.1\r\nHost: {}\r\nX-Big: {long}\r\n\r\n",
            f.addr
        ),
        vec![],
    )
    .await;
    assert_eq!(status, 431);
    assert_eq!(f.get("/api/config").await.status, 200);
}

// ----------------------------------------------------------------------------- hostile text

/// Text that is harmless only when bound as a parameter (see core/tests/injection.rs).
const HOSTILE: &[&str] = &[
    "x'); DROP TABLE reseolio_jobs; --",
    "' OR '1'='1",
    "%",
    "_",
    "a%",
    "\\",
    "\\%",
    "a/b",
    "..",
    "?x=1&y=2#z",
    "$1",
    "[a-z]*",
    "; DELETE FROM reseolio_schedules",
    "ünïcödé 🚀",
    "<script>alert(1)</script>",
];

/// Percent-encodes everything but the unreserved characters: a path segment or query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn job_ids(page: &Value) -> BTreeSet<String> {
    page["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

struct Dash {
    engine: Engine,
    _serving: Serving,
    addr: SocketAddr,
}

impl Dash {
    async fn open(url: &str) -> Dash {
        let engine = Engine::open_async(url, EngineConfig::default())
            .await
            .unwrap();
        let serving = serve(
            engine.clone(),
            DashboardConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        Dash {
            engine,
            addr: serving.local_addr(),
            _serving: serving,
        }
    }

    async fn get(&self, path: &str) -> Res {
        request(self.addr, "GET", path, &[]).await
    }

    async fn act(&self, method: &str, path: &str) -> Res {
        request(self.addr, method, path, &[("x-reseolio-csrf", "1")]).await
    }
}

async fn hostile_text_is_data(d: Dash) {
    let e = &d.engine;
    let once = EnqueueOptions {
        max_attempts: Some(1),
        ..Default::default()
    };
    let mut made = Vec::new();
    for v in HOSTILE {
        let opts = EnqueueOptions {
            idempotency_key: Some(v.to_string()),
            ..once.clone()
        };
        let id = e
            .enqueue(v, v.as_bytes().to_vec(), opts)
            .await
            .unwrap()
            .job_id;
        e.schedule_declare(ScheduleSpec {
            name: v.to_string(),
            function: v.to_string(),
            cron: "0 3 * * *".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        made.push((*v, id));
    }
    // '%' and 'a%' are DEAD: retrying the DEAD jobs of '%' must touch one of them.
    let w = e
        .worker(WorkerOptions {
            names: vec!["%".into(), "a%".into()],
            ..Default::default()
        })
        .unwrap();
    for _ in 0..2 {
        let t = tokio::time::timeout(Duration::from_secs(10), w.poll())
            .await
            .unwrap()
            .unwrap();
        let failure = Outcome::Failure {
            error: "no".into(),
            retryable: false,
        };
        w.complete(t.token(), failure).await.unwrap();
    }
    w.shutdown(Duration::from_millis(100)).await;

    for (v, id) in &made {
        let mine = BTreeSet::from([id.clone()]);
        for q in [format!("name={}", enc(v)), format!("search={}", enc(v))] {
            let res = d.get(&format!("/api/jobs?{q}")).await;
            assert_eq!(res.status, 200, "{q}: {}", res.text());
            assert_eq!(job_ids(&res.json()), mine, "/api/jobs?{q}");
        }
        let job = d.get(&format!("/api/jobs/{id}")).await.json();
        assert_eq!(job["job"]["name"], *v);
        assert_eq!(job["job"]["idempotency_key"], *v);
        let s = d.get(&format!("/api/schedules/{}", enc(v))).await;
        assert_eq!(s.status, 200, "schedule {v:?}: {}", s.text());
        assert_eq!(s.json()["schedule"]["name"], *v);
        let unknown = d.get(&format!("/api/jobs/{}", enc(v))).await;
        assert_eq!(unknown.status, 404, "job id {v:?}");
    }
    for miss in ["%x", "x%", "' OR 'a'='a", "_%", "%25"] {
        for q in [
            format!("name={}", enc(miss)),
            format!("search={}", enc(miss)),
        ] {
            let res = d.get(&format!("/api/jobs?{q}")).await;
            assert_eq!(res.json()["total"], 0, "/api/jobs?{q}");
        }
        let res = d.get(&format!("/api/schedules/{}", enc(miss))).await;
        assert_eq!(res.status, 404, "schedule {miss:?}");
    }
    // Parameters that choose among fixed words refuse anything else.
    for q in [
        "status=PENDING'%20OR%20'1'='1",
        "order=created_at;DROP%20TABLE%20reseolio_jobs",
        "dir=asc--",
        "limit=1%20OR%201=1",
    ] {
        let res = d.get(&format!("/api/jobs?{q}")).await;
        assert_eq!(res.status, 400, "{q}: {}", res.text());
    }
    let res = d.get("/api/schedules?status=active'--").await;
    assert_eq!(res.status, 400);

    // Actions on the literal names only.
    let retried = d
        .act("POST", &format!("/api/functions/{}/retry-dead", enc("%")))
        .await;
    assert_eq!(retried.json()["retried"], 1, "{}", retried.text());
    let by_name = |name: &str| made.iter().find(|(v, _)| *v == name).unwrap().1.clone();
    assert_eq!(
        e.get(&by_name("%")).await.unwrap().status,
        JobStatus::Pending
    );
    assert_eq!(e.get(&by_name("a%")).await.unwrap().status, JobStatus::Dead);
    let paused = d
        .act("POST", &format!("/api/schedules/{}/pause", enc("%")))
        .await;
    assert_eq!(paused.status, 200, "{}", paused.text());
    let page = d.get("/api/schedules?status=paused").await.json();
    let names: Vec<&str> = page["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["%"]);
    let deleted = d
        .act("DELETE", &format!("/api/schedules/{}", enc("_")))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let all = d.get("/api/schedules?limit=1000").await.json();
    assert_eq!(all["total"], HOSTILE.len() - 1);
    assert_eq!(d.get("/api/jobs").await.json()["total"], HOSTILE.len());

    // A function name cannot forge /metrics lines: quotes, backslashes and newlines are escaped.
    let forged = "x\"} 1\nreseolio_forged_total 1\n# \\";
    e.enqueue(forged, vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let metrics = d.get("/metrics").await.text();
    assert!(
        !metrics.lines().any(|l| l.starts_with("reseolio_forged")),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"function="x\"} 1\nreseolio_forged_total 1\n# \\""#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_parameters_and_paths_is_only_data_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.db");
    hostile_text_is_data(Dash::open(&format!("sqlite://{}", path.display())).await).await;
    let c = rusqlite::Connection::open(&path).unwrap();
    let tables: BTreeSet<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in ["reseolio_jobs", "reseolio_attempts", "reseolio_schedules"] {
        assert!(tables.contains(t), "{t} is gone: {tables:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_parameters_and_paths_is_only_data_on_postgres() {
    let Some(base) = std::env::var("RESEOLIO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let url = format!("{base}{sep}schema=t_dash_{}_{nonce}", std::process::id());
    hostile_text_is_data(Dash::open(&url).await).await;
}
