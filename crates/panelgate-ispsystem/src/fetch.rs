//! Fetching an archive for `backups.upload&url=`: only `http://` URLs on hosts the operator
//! allowed (`--upload-url-hosts`), no redirects, a time limit, and at most the upload limit of
//! bytes, streamed into the core's import (never held in memory).

use std::time::Duration;

use futures_util::TryStreamExt;
use http_body_util::BodyExt;

use crate::doc::Error;

/// How long connecting and receiving the headers may take; the body is bounded by size.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A response body to read: an async reader over the archive's bytes.
pub type Reader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// Refused, in the API's words.
fn refused(url: &str, why: impl Into<String>) -> Error {
    Error::value("url", url, why)
}

/// Open `url` when its host is in `allowed`; the reader yields the body.
pub async fn open(url: &str, allowed: &[String]) -> Result<Reader, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| refused(url, "The URL is not valid"))?;
    if uri.scheme_str() != Some("http") {
        return Err(refused(url, "Only http:// URLs can be fetched"));
    }
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    if allowed.is_empty() {
        return Err(refused(
            url,
            "Downloading a backup from a URL is not enabled on this server",
        ));
    }
    if !allowed.contains(&host) {
        return Err(refused(
            url,
            format!("The host {host} is not allowed for backup downloads"),
        ));
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let req = http::Request::get(uri)
        .body(http_body_util::Empty::new())
        .map_err(|_| refused(url, "The URL is not valid"))?;
    let resp = match tokio::time::timeout(HEAD_TIMEOUT, client.request(req)).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => return Err(refused(url, format!("The download failed: {e}"))),
        Err(_) => return Err(refused(url, "The download timed out")),
    };
    if resp.status() != http::StatusCode::OK {
        return Err(refused(
            url,
            format!(
                "The server answered {} (redirects are not followed)",
                resp.status()
            ),
        ));
    }
    let stream = resp
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    Ok(Box::new(tokio_util::io::StreamReader::new(stream)))
}
