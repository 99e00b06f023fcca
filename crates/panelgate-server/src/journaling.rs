//! What the request journal keeps of a request and its answer, taken on the request path as
//! cheaply as it can be: owned copies of the small parts (never slices of hyper's buffers, which
//! a kept entry would pin), redacted and rendered only when the journal is read. A request or an
//! answer over the journal's text cap is redacted and cut at once instead.

use std::sync::Arc;

use panelgate_core::journal::{capped, LazyTexts, TEXT_CAP};
use panelgate_http::{Request, Response};

/// The largest answer the journal reads whole (larger ones are kept by their size).
const RESPONSE_READ: u64 = 1024 * 1024;

/// A request as the journal keeps it.
pub(crate) enum KeptRequest {
    Raw {
        method: http::Method,
        /// An owned copy of the path and query (parsed again only when the journal is read).
        target: String,
        content_type: Option<String>,
        body: panelgate_http::Body,
    },
    Ready(String),
}

impl KeptRequest {
    /// Take what the journal keeps of `req`, and its size.
    pub(crate) fn take(req: &Request) -> (KeptRequest, usize) {
        let target = req
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let body = match &req.body {
            panelgate_http::Body::Complete(b) if b.len() <= TEXT_CAP => {
                panelgate_http::Body::Complete(bytes::Bytes::copy_from_slice(b))
            }
            other => other.clone(),
        };
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let size = body.bytes().len() + target.len();
        let kept = KeptRequest::Raw {
            method: req.method.clone(),
            target,
            content_type,
            body,
        };
        if size > TEXT_CAP {
            let text = capped(kept.render());
            let size = text.len();
            return (KeptRequest::Ready(text), size);
        }
        (kept, size)
    }

    fn render(&self) -> String {
        match self {
            KeptRequest::Raw {
                method,
                target,
                content_type,
                body,
            } => {
                let target: http::Uri = target.parse().unwrap_or_default();
                panelgate_http::redact::request(method, &target, content_type.as_deref(), body)
            }
            KeptRequest::Ready(text) => text.clone(),
        }
    }
}

/// An answer as the journal keeps it.
pub(crate) enum KeptResponse {
    Raw {
        content_type: Option<String>,
        body: bytes::Bytes,
        exact: Option<u64>,
    },
    Ready(String),
}

impl KeptResponse {
    fn render(&self) -> String {
        match self {
            KeptResponse::Raw {
                content_type,
                body,
                exact,
            } => panelgate_http::redact::response(content_type.as_deref(), Some(body), *exact),
            KeptResponse::Ready(text) => text.clone(),
        }
    }

    /// What the journal keeps of an answer's body: a large one redacted and cut now (the
    /// journal holds at most its cap), a small one as an exact copy (the answer's buffer may be
    /// far larger than its text).
    fn of(body: &bytes::Bytes, content_type: Option<String>, exact: Option<u64>) -> (Self, usize) {
        if body.len() > TEXT_CAP {
            let text = capped(panelgate_http::redact::response(
                content_type.as_deref(),
                Some(body),
                exact,
            ));
            let size = text.len();
            return (KeptResponse::Ready(text), size);
        }
        let body = bytes::Bytes::copy_from_slice(body);
        let size = body.len();
        (
            KeptResponse::Raw {
                content_type,
                body,
                exact,
            },
            size,
        )
    }

    /// Take what the journal keeps of `resp` (and its size); the answer itself comes back with
    /// its body read into memory when it was in memory already, else untouched.
    pub(crate) async fn take(resp: Response) -> (Response, KeptResponse, usize) {
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let exact = resp.body().size_hint().exact();
        let binary = content_type
            .as_deref()
            .is_some_and(|t| t.contains("octet-stream"));
        if binary || exact.is_none_or(|n| n > RESPONSE_READ) {
            let text = panelgate_http::redact::response(content_type.as_deref(), None, exact);
            let size = text.len();
            return (resp, KeptResponse::Ready(text), size);
        }
        // Made in memory by `panelgate_http::response` (nearly every answer): its text is
        // beside it.
        if let Some(panelgate_http::BodyText(body)) = resp.extensions().get() {
            let (kept, size) = KeptResponse::of(body, content_type, exact);
            return (resp, kept, size);
        }
        let (parts, body) = resp.into_parts();
        match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let (kept, size) = KeptResponse::of(&bytes, content_type, exact);
                let body = http_body_util::Full::new(bytes)
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync();
                (Response::from_parts(parts, body), kept, size)
            }
            Err(e) => {
                // The body fails for the client as it would have without the journal: the
                // connection is closed, never an empty answer that looks complete.
                let text = format!("<body failed: {e}>");
                let failed: Result<hyper::body::Frame<bytes::Bytes>, std::io::Error> =
                    Err(std::io::Error::other(e.to_string()));
                let body = http_body_util::StreamBody::new(futures_util::stream::iter([failed]))
                    .boxed_unsync();
                (
                    Response::from_parts(parts, body),
                    KeptResponse::Ready(text),
                    0,
                )
            }
        }
    }
}

/// Both texts behind one allocation, rendered when the journal is read.
pub(crate) fn texts(request: KeptRequest, response: KeptResponse) -> LazyTexts {
    Arc::new(move || (request.render(), response.render()))
}
