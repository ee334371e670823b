//! A panic inside a request never drops its connection: the request answers 500
//! problem+json naming its request id, the panic is logged once (where it happened, its
//! message with digit runs scrubbed, inside the request's span) and counted in `/metrics` as
//! `outcall_http_panics_total`. Panics outside requests keep the default hook.

use std::{
    cell::RefCell,
    future::Future,
    panic::{AssertUnwindSafe, PanicHookInfo},
    pin::Pin,
    sync::{Arc, Once},
    task::{Context, Poll},
};

use axum::{
    Json,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::FutureExt;
use serde_json::json;

thread_local! {
    /// The id of the request whose handler this thread is polling right now, if any.
    static IN_REQUEST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Polls a request's future with [`IN_REQUEST`] set, so the panic hook knows whose panic it is.
struct InRequest<F> {
    id: Arc<str>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        struct Reset(Option<Arc<str>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                IN_REQUEST.with(|current| *current.borrow_mut() = self.0.take());
            }
        }
        let id = self.id.clone();
        let _reset = Reset(IN_REQUEST.with(|current| current.borrow_mut().replace(id)));
        self.inner.as_mut().poll(cx)
    }
}

/// Installs the hook that logs a request's panic as one line (once per process).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match IN_REQUEST.with(|current| current.borrow().clone()) {
                Some(request_id) => log(info, &request_id),
                None => previous(info),
            }
        }));
    });
}

fn log(info: &PanicHookInfo<'_>, request_id: &str) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    // A panic's message may quote the text that caused it: never a phone, never all of it.
    let message = crate::text::scrub_digits(&crate::text::excerpt(message, 300));
    let location = own_frame().unwrap_or_else(|| {
        info.location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default()
    });
    tracing::error!(%request_id, %location, %message, "a request panicked; answered 500");
}

/// Where in outcall's own code the panic happened: the first frame of the backtrace outside
/// the standard library and the crates (a slice's panic is located in `core` otherwise).
/// Panics are rare; the backtrace is worth its cost here.
fn own_frame() -> Option<String> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    trace
        .lines()
        .filter_map(|line| line.trim().strip_prefix("at "))
        .find(|path| {
            !path.starts_with("/rustc/")
                && !path.contains("/.cargo/")
                && !path.contains("/library/")
                && !path.ends_with("panics.rs")
                && !path.contains("/panics.rs:")
        })
        .map(str::to_owned)
}

/// The layer: runs the rest of the stack and turns a panic into a 500 problem document.
pub async fn catch(req: Request, next: Next) -> Response {
    let id: Arc<str> = req
        .headers()
        .get(super::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .into();
    let running = InRequest {
        id: id.clone(),
        inner: Box::pin(next.run(req)),
    };
    match AssertUnwindSafe(running).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("outcall_http_panics_total").increment(1);
            answer(&id)
        }
    }
}

fn answer(request_id: &str) -> Response {
    let body = json!({
        "type": "https://outcall.dev/problems/internal-server-error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": format!("something went wrong on our side (request {request_id})"),
        "code": crate::codes::Code::Internal.as_str(),
        "params": {},
        "request_id": request_id,
    });
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
