//! What the request journal keeps of a request and its answer, taken on the request path as
//! cheaply as it can be: the request's small parts copied at once into one buffer (never
//! slices of hyper's buffers, which a kept entry would pin), the answer read where it lies, and
//! both packed into the journal entry's one allocation; redacted and rendered only when the
//! journal is read (and cut to the journal's text cap then). A request over the text cap is
//! redacted and cut at once instead. An answer is packed whole whatever its length, up to the
//! size the journal reads at all: redacting a long listing on the request path cost far more
//! than copying it (a 25-customer Froxlor listing, 54 KB: about 80% of its CPU), and
//! the journal's byte bound counts every byte an entry holds.
//!
//! The packed form (this module writes and reads it; the core only stores it):
//! * the request: `0` method `u8`+bytes, target `u32`+bytes, content type `u16`+bytes
//!   (`u16::MAX`: none), body state `u8` (complete, too large, timed out), body `u32`+bytes;
//!   or `1` and a ready text `u32`+bytes;
//! * the answer: `0`, content type as above, exact size `u8` (0: none) + `u64`, body
//!   `u32`+bytes; or `1` and a ready text.

use panelgate_core::journal::{capped, Texts, Unpacker, TEXT_CAP};
use panelgate_http::{Request, Response};

/// The largest answer the journal reads whole (larger ones are kept by their size).
const RESPONSE_READ: u64 = 1024 * 1024;

const RAW: u8 = 0;
const READY: u8 = 1;
const NO_TYPE: u16 = u16::MAX;

fn put_u16_str(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) if s.len() < usize::from(NO_TYPE) => {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s);
        }
        _ => out.extend_from_slice(&NO_TYPE.to_le_bytes()),
    }
}

fn put_u32_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&b[..len as usize]);
}

/// Reads the packed form back (a short or bad input reads as empty parts, never a panic).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        b.try_into().map_or(0, u16::from_le_bytes)
    }
    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        b.try_into().map_or(0, u32::from_le_bytes)
    }
    fn u64(&mut self) -> u64 {
        let b = self.take(8);
        b.try_into().map_or(0, u64::from_le_bytes)
    }
    fn bytes32(&mut self) -> &'a [u8] {
        let n = self.u32() as usize;
        self.take(n)
    }
    fn text16(&mut self) -> Option<&'a str> {
        match self.u16() {
            NO_TYPE => None,
            n => std::str::from_utf8(self.take(usize::from(n))).ok(),
        }
    }
    fn text32(&mut self) -> String {
        String::from_utf8_lossy(self.bytes32()).into_owned()
    }
}

/// A request as the journal keeps it: packed at once (one allocation).
pub(crate) struct KeptRequest {
    packed: Vec<u8>,
}

impl KeptRequest {
    /// Take what the journal keeps of `req`.
    pub(crate) fn take(req: &Request) -> KeptRequest {
        let target = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes);
        let (state, body): (u8, &[u8]) = match &req.body {
            panelgate_http::Body::Complete(b) => (0, b),
            panelgate_http::Body::TooLarge => (1, &[]),
            panelgate_http::Body::TimedOut => (2, &[]),
        };
        if body.len() + target.len() > TEXT_CAP {
            let text = capped(panelgate_http::redact::request(
                &req.method,
                &req.uri,
                content_type.and_then(|t| std::str::from_utf8(t).ok()),
                &req.body,
            ));
            let mut packed = Vec::with_capacity(text.len() + 5);
            packed.push(READY);
            put_u32_bytes(&mut packed, text.as_bytes());
            return KeptRequest { packed };
        }
        let method = req.method.as_str().as_bytes();
        let mut packed = Vec::with_capacity(
            1 + 1
                + method.len()
                + 4
                + target.len()
                + 2
                + content_type.map_or(0, <[u8]>::len)
                + 1
                + 4
                + body.len(),
        );
        packed.push(RAW);
        packed.push(method.len().min(255) as u8);
        packed.extend_from_slice(&method[..method.len().min(255)]);
        put_u32_bytes(&mut packed, target.as_bytes());
        put_u16_str(&mut packed, content_type);
        packed.push(state);
        put_u32_bytes(&mut packed, body);
        KeptRequest { packed }
    }
}

fn unpack_request(r: &mut Reader<'_>) -> String {
    if r.u8() == READY {
        return r.text32();
    }
    let method = r.u8();
    let method = http::Method::from_bytes(r.take(usize::from(method))).unwrap_or_default();
    let target: http::Uri = std::str::from_utf8(r.bytes32())
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    let content_type = r.text16();
    let state = r.u8();
    let body = r.bytes32();
    let body = match state {
        1 => panelgate_http::Body::TooLarge,
        2 => panelgate_http::Body::TimedOut,
        _ => panelgate_http::Body::Complete(bytes::Bytes::copy_from_slice(body)),
    };
    panelgate_http::redact::request(&method, &target, content_type, &body)
}

fn unpack_response(r: &mut Reader<'_>) -> String {
    if r.u8() == READY {
        return r.text32();
    }
    let content_type = r.text16();
    let has_exact = r.u8() == 1;
    // The eight bytes are there either way.
    let exact = r.u64();
    let exact = has_exact.then_some(exact);
    let body = bytes::Bytes::copy_from_slice(r.bytes32());
    panelgate_http::redact::response(content_type, Some(&body), exact)
}

fn unpack(packed: &[u8]) -> (String, String) {
    let mut r = Reader(packed);
    let request = unpack_request(&mut r);
    let response = unpack_response(&mut r);
    (request, response)
}

/// What the journal keeps of an answer: a ready text (a large, binary or failed one), or
/// `None` when the answer's text is beside it ([`panelgate_http::BodyText`]).
pub(crate) struct KeptResponse {
    ready: Option<String>,
}

impl KeptResponse {
    /// Make sure the journal can read `resp`: its text is beside it (nearly every answer is
    /// made in memory with it), or its body is read into memory, or it is kept as a ready text.
    pub(crate) async fn take(resp: Response) -> (Response, KeptResponse) {
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let exact = resp.body().size_hint().exact();
        let binary = content_type.is_some_and(|t| t.contains("octet-stream"));
        if binary || exact.is_none_or(|n| n > RESPONSE_READ) {
            let text = panelgate_http::redact::response(content_type, None, exact);
            return (resp, KeptResponse { ready: Some(text) });
        }
        if resp
            .extensions()
            .get::<panelgate_http::BodyText>()
            .is_some()
        {
            return KeptResponse::beside(resp);
        }
        let (mut parts, body) = resp.into_parts();
        match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                parts
                    .extensions
                    .insert(panelgate_http::BodyText(bytes.clone()));
                let body = http_body_util::Full::new(bytes)
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync();
                KeptResponse::beside(Response::from_parts(parts, body))
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
                    KeptResponse { ready: Some(text) },
                )
            }
        }
    }

    /// An answer whose text is beside it: packed from there when the entry is recorded.
    fn beside(resp: Response) -> (Response, KeptResponse) {
        (resp, KeptResponse { ready: None })
    }
}

/// A request and its answer, packed into the journal entry when it is recorded.
pub(crate) struct Kept<'a> {
    pub request: &'a KeptRequest,
    pub response: &'a KeptResponse,
    /// The answer (its content type and the text beside it).
    pub answer: &'a Response,
}

impl Kept<'_> {
    fn answer_parts(&self) -> (Option<&[u8]>, Option<u64>, &[u8]) {
        use http_body::Body as _;
        let content_type = self
            .answer
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(http::HeaderValue::as_bytes);
        let exact = self.answer.body().size_hint().exact();
        let body = self
            .answer
            .extensions()
            .get::<panelgate_http::BodyText>()
            .map_or(&[][..], |t| &t.0[..]);
        (content_type, exact, body)
    }
}

impl Texts for Kept<'_> {
    fn packed_len(&self) -> usize {
        let answer = match &self.response.ready {
            Some(text) => 1 + 4 + text.len(),
            None => {
                let (content_type, _, body) = self.answer_parts();
                1 + 2 + content_type.map_or(0, <[u8]>::len) + 9 + 4 + body.len()
            }
        };
        self.request.packed.len() + answer
    }

    fn pack(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request.packed);
        match &self.response.ready {
            Some(text) => {
                out.push(READY);
                put_u32_bytes(out, text.as_bytes());
            }
            None => {
                let (content_type, exact, body) = self.answer_parts();
                out.push(RAW);
                put_u16_str(out, content_type);
                out.push(u8::from(exact.is_some()));
                out.extend_from_slice(&exact.unwrap_or(0).to_le_bytes());
                put_u32_bytes(out, body);
            }
        }
    }

    fn unpacker(&self) -> Unpacker {
        unpack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_packed_form_reads_as_empty_texts() {
        for bad in [
            &b""[..],
            b"\x00",
            b"\x00\x04POST\xff\xff\xff\xff",
            b"\x01\xff\xff\xff\x7f",
        ] {
            let _ = unpack(bad);
        }
    }
}
