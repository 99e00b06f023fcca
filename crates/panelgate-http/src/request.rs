//! The request every frontend sees: head plus a body collected under a size limit and a read
//! timeout.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use http_body_util::{BodyExt, Limited};

/// Bodies larger than this are not read at all (PHP's default `post_max_size` is 8 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

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

    /// A request built in memory (tests, in-process clients). `None` for a target that is not
    /// a valid request URI.
    pub fn new(
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Option<Request> {
        Some(Request {
            method,
            uri: uri.parse().ok()?,
            headers,
            body: Body::Complete(body.into()),
            peer: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
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
