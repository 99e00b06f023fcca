//! Plumbing shared by panelgate's frontends: the request every frontend sees (collected under a
//! body limit), the response type, and the [`Frontend`] trait the router dispatches to.

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};

/// Bodies larger than this are not read at all (PHP's default `post_max_size` is 8 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Response bodies: a buffer, or a stream (archive downloads) that never holds the whole file.
pub type ResponseBody = UnsyncBoxBody<Bytes, std::io::Error>;
pub type Response = http::Response<ResponseBody>;

/// A request as frontends see it: head plus a fully collected, size-capped body.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Body,
    pub peer: Option<SocketAddr>,
}

/// How long a client may take to send a request body by default.
pub const DEFAULT_BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The body of a request, or the fact that it could not be read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Complete(Bytes),
    /// The client sent more than the limit; nothing past the limit was read.
    TooLarge,
    /// The client did not finish sending within the body-read timeout.
    TimedOut,
}

impl Body {
    /// The bytes, or empty for a body that was not read whole.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Complete(b) => b,
            Body::TooLarge | Body::TimedOut => &[],
        }
    }
}

/// How a request body is read: at most `limit` bytes, within `timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    pub limit: usize,
    pub timeout: std::time::Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            limit: DEFAULT_BODY_LIMIT,
            timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

impl Request {
    /// Collect a hyper request's body under the size limit and within the read timeout.
    pub async fn collect<B>(
        req: http::Request<B>,
        peer: Option<SocketAddr>,
        limits: BodyLimits,
    ) -> Request
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let declared_too_large = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > limits.limit as u64);
        let body = if declared_too_large {
            Body::TooLarge
        } else {
            let collect = Limited::new(body, limits.limit).collect();
            match tokio::time::timeout(limits.timeout, collect).await {
                Ok(Ok(collected)) => Body::Complete(collected.to_bytes()),
                Ok(Err(err)) => {
                    tracing::debug!(error = %err, "request body refused");
                    Body::TooLarge
                }
                Err(_) => {
                    tracing::info!(
                        timeout_s = limits.timeout.as_secs_f64(),
                        "request body not received in time"
                    );
                    Body::TimedOut
                }
            }
        };
        Request {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            peer,
        }
    }

    /// A request built in memory (tests, in-process clients).
    pub fn new(method: Method, uri: &str, headers: HeaderMap, body: impl Into<Bytes>) -> Request {
        Request {
            method,
            uri: uri.parse().unwrap_or_else(|_| Uri::from_static("/")),
            headers,
            body: Body::Complete(body.into()),
            peer: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One panel API served on the shared listener.
pub trait Frontend: Send + Sync + 'static {
    /// The protocol name, for logs (`froxlor`, `plesk` …).
    fn protocol(&self) -> &'static str;
    /// Does this frontend serve `uri`?
    fn matches(&self, uri: &Uri) -> bool;
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send;
}

/// A response with a body and a content type.
pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    let full = Full::new(body.into()).map_err(|never: std::convert::Infallible| match never {});
    let mut resp = http::Response::new(full.boxed_unsync());
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

/// A response that streams `paths` one after the other (the parts of an archive), reading a
/// bounded chunk at a time.
pub fn stream_files(
    status: u16,
    content_type: &str,
    paths: Vec<std::path::PathBuf>,
    size: u64,
) -> Response {
    use futures_util::StreamExt;
    let stream = futures_util::stream::iter(paths)
        .then(|p| async move { tokio::fs::File::open(p).await })
        .map(|opened| match opened {
            Ok(file) => tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
        .map(|chunk| chunk.map(http_body::Frame::data));
    let body = http_body_util::StreamBody::new(stream);
    let mut resp = http::Response::new(BodyExt::boxed_unsync(body));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(size));
    resp
}

/// A request body as an `AsyncRead`, without collecting it.
pub fn body_reader<B>(body: B) -> impl tokio::io::AsyncRead + Unpin + Send
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use futures_util::TryStreamExt;
    let frames =
        TryStreamExt::map_err(http_body_util::BodyStream::new(body), std::io::Error::other)
            .try_filter_map(|frame| std::future::ready(Ok(frame.into_data().ok())));
    tokio_util::io::StreamReader::new(frames)
}
