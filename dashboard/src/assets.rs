//! The UI's files, compiled into the binary: `index.html` at `/`, the rest under `/assets/`.
//! Nothing is fetched from anywhere else at run time (the Content-Security-Policy forbids it).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    /// The path under `/assets/`.
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/assets/`.
const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/app.css"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../assets/favicon.svg"),
    },
    Asset {
        path: "app.js",
        content_type: JS,
        body: include_str!("../assets/app.js"),
    },
    Asset {
        path: "js/api.js",
        content_type: JS,
        body: include_str!("../assets/js/api.js"),
    },
    Asset {
        path: "js/dom.js",
        content_type: JS,
        body: include_str!("../assets/js/dom.js"),
    },
    Asset {
        path: "js/format.js",
        content_type: JS,
        body: include_str!("../assets/js/format.js"),
    },
    Asset {
        path: "js/chart.js",
        content_type: JS,
        body: include_str!("../assets/js/chart.js"),
    },
    Asset {
        path: "js/overview.js",
        content_type: JS,
        body: include_str!("../assets/js/overview.js"),
    },
    Asset {
        path: "js/jobs.js",
        content_type: JS,
        body: include_str!("../assets/js/jobs.js"),
    },
    Asset {
        path: "js/job.js",
        content_type: JS,
        body: include_str!("../assets/js/job.js"),
    },
    Asset {
        path: "js/steps.js",
        content_type: JS,
        body: include_str!("../assets/js/steps.js"),
    },
    Asset {
        path: "js/schedules.js",
        content_type: JS,
        body: include_str!("../assets/js/schedules.js"),
    },
];

const INDEX: &str = include_str!("../assets/index.html");

/// The files change only with the binary, but a browser must not keep an old app.js beside a new
/// server: revalidate every time (they are small and served from memory).
fn respond(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// `GET /`: the single page.
pub(crate) async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`: an embedded file, or 404.
pub(crate) async fn file(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == file) {
        Some(a) => respond(a.content_type, a.body),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted strings in `text` that start with `prefix` and end with `suffix`.
    fn references<'a>(text: &'a str, prefix: &str, suffix: &str) -> Vec<&'a str> {
        text.split(['"', '\''])
            .filter(|s| s.starts_with(prefix) && s.ends_with(suffix))
            .collect()
    }

    #[test]
    fn every_file_the_page_and_the_modules_load_is_embedded() {
        let known = |p: &str| ASSETS.iter().any(|a| a.path == p);
        let from_index = references(INDEX, "/assets/", "");
        assert!(from_index.len() >= 3, "{from_index:?}");
        for r in from_index {
            assert!(
                known(&r["/assets/".len()..]),
                "index.html loads {r}, not embedded"
            );
        }
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let dir = a.path.rsplit_once('/').map_or("", |(d, _)| d);
            for r in references(a.body, "./", ".js") {
                let target = if dir.is_empty() {
                    r[2..].to_string()
                } else {
                    format!("{dir}/{}", &r[2..])
                };
                assert!(
                    known(&target),
                    "{} imports {r} ({target}), not embedded",
                    a.path
                );
            }
        }
    }

    #[test]
    fn no_file_reaches_outside_this_server() {
        for body in ASSETS.iter().map(|a| a.body).chain([INDEX]) {
            for scheme in ["http://", "https://", "//cdn"] {
                let hits: Vec<&str> = body
                    .match_indices(scheme)
                    .map(|(i, _)| &body[i..(i + 40).min(body.len())])
                    .filter(|s| !s.starts_with("http://www.w3.org/"))
                    .collect();
                assert!(hits.is_empty(), "external reference: {hits:?}");
            }
        }
    }
}
