//! ISPsystem `/billmgr`: the query string and an urlencoded body → parameters → a typed call,
//! and the answer documents that echo request text, in every `out` format.
//!
//! Input: the query string, a newline, the urlencoded body.
//! Asserts: the parameters re-encoded as one query string decode to the same call; an error
//! answer carrying the request's `func`, `elid` and parameters is well-formed in every XML
//! format and valid JSON in every JSON format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_http::{Params, Request};
use panelgate_ispsystem::call::Call;
use panelgate_ispsystem::doc::{Doc, Error};
use panelgate_ispsystem::render::{render, Format};

fn request(query: &str, body: &[u8]) -> Option<Request> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let uri = format!("/billmgr?{}", query);
    Request::new(
        http::Method::POST,
        &uri,
        headers,
        bytes::Bytes::copy_from_slice(body),
    )
}

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let Some(req) = request(query, body) else {
        return;
    };
    let params = Params::from_request(&req);
    let call = Call::decode(&params);

    // The same parameters in one query string (the body wins, as ISPsystem merges them).
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.merged())
        .finish();
    if let Some(again) = request(&encoded, b"") {
        assert_eq!(Call::decode(&Params::from_request(&again)), call);
    }

    let func = params.get("func").unwrap_or_default();
    let elid = params.get("elid").unwrap_or_default();
    let mut doc = Doc::new(func, Error::value("elid", elid, "The value is not valid"));
    doc.tparams = params
        .merged()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    // One format per input (rendering all eight would make this target eight times slower;
    // the input length spreads the formats evenly).
    {
        let format = Format::ALL[data.len() % Format::ALL.len()];
        let text = render(&doc, format);
        match format {
            Format::Xml | Format::Devel => {
                panelgate_http::xml::parse(text.as_bytes()).expect("an XML answer parses");
            }
            Format::Text => {}
            _ => {
                serde_json::from_str::<serde_json::Value>(&text).expect("a JSON answer parses");
            }
        }
    }
});
