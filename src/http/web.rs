//! The browser pages: agent desk, campaign console, wall dashboard and the supervisors' floor. Every asset is compiled
//! into the binary, so the pages work on a closed network; the pages use only the public API.

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use super::error::Error;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const SVG: &str = "image/svg+xml";

static PAGES: &[Asset] = &[
    asset!("agent.html", HTML),
    asset!("lead.html", HTML),
    asset!("dashboard.html", HTML),
    asset!("floor.html", HTML),
];

static ASSETS: &[Asset] = &[
    asset!("app.css", CSS),
    asset!("common.js", JS),
    asset!("i18n.js", JS),
    asset!("agent.js", JS),
    asset!("lead.js", JS),
    asset!("insight.js", JS),
    asset!("dashboard.js", JS),
    asset!("floor.js", JS),
    asset!("people.js", JS),
    asset!("catalog.js", JS),
    asset!("lists.js", JS),
    asset!("contacts.js", JS),
    asset!("segments.js", JS),
    asset!("survey.js", JS),
    asset!("vendor/uPlot.iife.min.js", JS),
    asset!("vendor/uPlot.min.css", CSS),
    asset!("favicon.svg", SVG),
];

/// Scripts, styles and data only from this origin; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app/agent") }))
        .route("/app", get(|| async { Redirect::to("/app/agent") }))
        .route("/app/{page}", get(page))
        .route("/app/assets/{*name}", get(asset))
        // Browsers ask for it whatever the page says; the same SVG icon.
        .route(
            "/favicon.ico",
            get(|| async { serve(ASSETS, "favicon.svg") }),
        )
}

async fn page(Path(page): Path<String>) -> Response {
    let name = format!("{page}.html");
    serve(PAGES, &name)
}

async fn asset(Path(name): Path<String>) -> Response {
    serve(ASSETS, &name)
}

fn serve(from: &[Asset], name: &str) -> Response {
    let Some(asset) = from.iter().find(|a| a.name == name) else {
        return Error::NotFound.into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Assets change only with the binary; a short cache keeps upgrades visible.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_and_style_a_page_names_is_embedded() {
        for page in PAGES {
            let html = std::str::from_utf8(page.body).expect("pages are UTF-8");
            for part in html.split("/app/assets/").skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} names /app/assets/{name}, which is not embedded",
                    page.name
                );
            }
            assert!(
                !html.contains("http://") && !html.contains("https://"),
                "{} loads from the internet",
                page.name
            );
        }
    }
}
