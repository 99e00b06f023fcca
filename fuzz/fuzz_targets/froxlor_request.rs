//! Froxlor `/api.php`: headers, query form and body → a typed command.
//!
//! Input: one selector byte (bit 0: Froxlor 2.3; bit 1: the first line is the query string, as
//! in `api.php?/customers/get`), then the optional query line, then the body. The first line
//! of the body, when it starts with `Basic `, is also tried as an `Authorization` header.
//! Asserts: a decoded command re-rendered as a JSON request decodes to the same call with the
//! same parameter names, and every refusal maps to one of Froxlor's own answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_froxlor::call::{decode, query_command};
use panelgate_froxlor::error::Failure;
use panelgate_froxlor::params::PValue;
use panelgate_froxlor::FroxlorVersion;
use serde_json::{Map, Value};

fn to_json(v: &PValue) -> Value {
    match v {
        PValue::Zero => Value::from(0),
        PValue::ZeroFloat => Value::from(0.0),
        PValue::False => Value::Bool(false),
        PValue::Str(s) => Value::String(s.clone()),
        PValue::Array(items, _) => Value::Object(
            items
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        FroxlorVersion::V2_0
    } else {
        FroxlorVersion::V2_3
    };
    let (query, body) = if selector & 2 != 0 {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (std::str::from_utf8(&rest[..i]).ok(), &rest[i + 1..]),
            None => (std::str::from_utf8(rest).ok(), &[][..]),
        }
    } else {
        (None, rest)
    };

    // The Authorization header, as the frontend reads it.
    if let Some(line) = body.split(|b| *b == b'\n').next() {
        if let Ok(value) = http::HeaderValue::from_bytes(line) {
            let mut headers = http::HeaderMap::new();
            headers.insert(http::header::AUTHORIZATION, value);
            let _ = panelgate_froxlor::auth::parse_basic(&headers);
        }
    }

    match decode(body, query, version) {
        Ok(cmd) => {
            // The query form names the command with a capital module: it must be one we know.
            if let Some(routed) = query_command(query) {
                // PHP method names are case-insensitive.
                assert!(routed.eq_ignore_ascii_case(&cmd.call.name()));
            }
            let params: Map<String, Value> = cmd
                .params
                .items()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect();
            let again = serde_json::json!({ "command": cmd.call.name(), "params": params });
            let bytes = serde_json::to_vec(&again).expect("a JSON value serialises");
            let decoded = decode(&bytes, None, version).expect("a re-rendered command decodes");
            assert_eq!(decoded.call, cmd.call);
            let names = |p: &panelgate_froxlor::params::Params| {
                let mut n: Vec<String> = p.items().iter().map(|(k, _)| k.clone()).collect();
                // A JSON object keeps the last of repeated keys.
                n.dedup();
                n
            };
            let mut first = names(&cmd.params);
            first.sort();
            first.dedup();
            let mut second = names(&decoded.params);
            second.sort();
            second.dedup();
            assert_eq!(first, second);
        }
        Err(e) => match Failure::from(e) {
            // PHP's fatal error: an empty 500.
            Failure::Fatal => {}
            Failure::Message(status, message) => {
                assert_eq!(status, 400);
                let body = serde_json::to_vec(&serde_json::json!({ "message": message }))
                    .expect("an error answer serialises");
                serde_json::from_slice::<Value>(&body).expect("an error answer is JSON");
            }
        },
    }
});
