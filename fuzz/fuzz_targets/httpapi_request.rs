//! httpapi.com `/api/…`: the path, the query string and an urlencoded body → a typed call.
//!
//! Input: the path after `/api/` (with `.json` or `.xml`), a newline, the query string, a
//! newline, the body.
//! Asserts: the parameters re-encoded as a query string decode to the same call (or the same
//! refusal); every refusal renders as httpapi.com's ERROR envelope, valid in its format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_http::{Params, Request};
use panelgate_httpapi::call::Call;
use panelgate_httpapi::render::{render, Format};
use panelgate_httpapi::{split_path, well_encoded, Failure};

fn request(path: &str, query: &str, body: &[u8]) -> Option<Request> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    Request::new(
        http::Method::POST,
        &format!("/api/{path}?{query}"),
        headers,
        bytes::Bytes::copy_from_slice(body),
    )
}

fn check_refusal(failure: Failure, format: Format) {
    let response = render(Err(failure), format);
    assert_eq!(response.status(), 500);
    let body = response
        .extensions()
        .get::<panelgate_http::BodyText>()
        .expect("an answer made in memory")
        .0
        .clone();
    match format {
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
            assert_eq!(v["status"], "ERROR");
        }
        Format::Xml => {
            panelgate_http::xml::parse(&body).expect("an XML answer");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (Some(path), Some(query)) = (parts.next(), parts.next()) else {
        return;
    };
    let body = parts.next().unwrap_or_default();
    let (Ok(path), Ok(query)) = (std::str::from_utf8(path), std::str::from_utf8(query)) else {
        return;
    };
    // A `?` or `#` would move the rest of the line out of the path.
    if path.contains(['?', '#']) || query.contains('#') {
        return;
    }
    let Some(req) = request(path, query, body) else {
        return;
    };
    let Some((call_path, format)) = split_path(req.uri.path()) else {
        return check_refusal(Failure::new("Unsupported API call"), Format::Json);
    };
    if !well_encoded(req.uri.query().unwrap_or("").as_bytes()) || !well_encoded(body) {
        return check_refusal(Failure::new("Invalid parameter encoding"), format);
    }
    let params = Params::from_request(&req);
    let decoded = Call::decode(call_path, &params);
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.pairs())
        .finish();
    if let Some(again) = request(path, &encoded, b"") {
        if let Some((again_path, _)) = split_path(again.uri.path()) {
            assert_eq!(Call::decode(again_path, &Params::from_request(&again)), decoded);
        }
    }
    if let Err(failure) = decoded {
        check_refusal(failure, format);
    }
});
