//! Responses: a buffered body, a streamed file download (RFC 6266 `filename*`), and the body
//! type every frontend answers with.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

/// Response bodies: a buffer, or a stream (archive downloads) that never holds the whole file.
pub type ResponseBody = UnsyncBoxBody<Bytes, std::io::Error>;
pub type Response = http::Response<ResponseBody>;

/// The whole body of an answer made in memory by [`response`], beside it as an extension: the
/// request journal reads it from here instead of collecting the body again.
#[derive(Clone, Debug)]
pub struct BodyText(pub Bytes);

/// A response with a body and a content type.
pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    let body = body.into();
    let text = BodyText(body.clone());
    let full = Full::new(body).map_err(|never: std::convert::Infallible| match never {});
    let mut resp = http::Response::new(full.boxed_unsync());
    resp.extensions_mut().insert(text);
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

/// An attachment streamed from `paths` (the parts of an archive, one after the other), with a
/// `Content-Disposition` that names it safely (RFC 6266: an ASCII `filename` with anything
/// unusual replaced, and the exact name percent-encoded in `filename*`).
pub fn download(file_name: &str, paths: Vec<std::path::PathBuf>, size: u64) -> Response {
    // Counted when the download starts (a client that stops early read less).
    metrics::counter!("panelgate_archive_bytes_read_total", "via" => "download").increment(size);
    let mut resp = stream_files(200, "application/octet-stream", paths, size);
    if let Ok(v) = http::HeaderValue::from_str(&content_disposition(file_name)) {
        resp.headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `attachment; filename="…"; filename*=UTF-8''…` for any name.
pub fn content_disposition(file_name: &str) -> String {
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = percent_encoding::utf8_percent_encode(file_name, ATTR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_always_a_valid_header() {
        assert_eq!(
            content_disposition("backup_customer1_20261130.tar.gz"),
            "attachment; filename=\"backup_customer1_20261130.tar.gz\"; filename*=UTF-8''backup_customer1_20261130.tar.gz"
        );
        let tricky = content_disposition("a\"b\r\nX-Evil: 1;ü.tar");
        assert!(http::HeaderValue::from_str(&tricky).is_ok(), "{tricky}");
        assert!(
            tricky.starts_with("attachment; filename=\"a_b__X-Evil:_1;_.tar\"; "),
            "{tricky}"
        );
        assert!(
            tricky.ends_with("filename*=UTF-8''a%22b%0D%0AX-Evil%3A%201%3B%C3%BC.tar"),
            "{tricky}"
        );
    }
}
