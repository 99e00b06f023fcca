//! Secrets out of journaled requests and answers: every value of a parameter, JSON field or XML
//! element (and its attributes) whose name says it is a secret becomes `***`, at any depth, in
//! query strings, forms, JSON and XML. What cannot be parsed is not stored, only its size.

use bytes::Bytes;
use quick_xml::events::{BytesStart, BytesText, Event};

/// Does this parameter, field or element name hold a secret? (Passwords, keys, tokens, session
/// ids and `authinfo` of every panel: `password`, `passwd`, `new_customer_password`,
/// `api-key`, `secret_key`, `auth`, `authinfo`, …)
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "key", "token", "authinfo", "session"]
        .iter()
        .any(|s| n.contains(s))
        || n == "auth"
}

/// A query string or urlencoded form with secret values replaced.
pub fn form(text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(text.as_bytes()).map(|(k, v)| {
            let v = if secret_name(&k) { "***".into() } else { v };
            (k, v)
        }))
        .finish()
}

/// A JSON document with secret values replaced; `None` when it is not JSON.
pub fn json(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    serde_json::to_string_pretty(&json_value(v)).ok()
}

fn json_value(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if secret_name(&k) {
                        hide(v)
                    } else {
                        json_value(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(json_value).collect()),
        other => other,
    }
}

fn hide(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => Value::Null,
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, hide(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(hide).collect()),
        _ => Value::String("***".into()),
    }
}

/// An XML document with the text and attributes of secret elements (and of every element
/// inside them) replaced, and secret attributes of any element; `None` when it is not
/// well-formed. Entities are not expanded and a DOCTYPE is kept as text.
pub fn xml(bytes: &[u8]) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(bytes.len()));
    let mut secret: Vec<bool> = Vec::new();
    loop {
        let event = reader.read_event().ok()?;
        let inside = secret.last().copied().unwrap_or(false);
        let out = match event {
            Event::Eof => break,
            Event::Start(e) => {
                let hidden =
                    inside || secret_name(&String::from_utf8_lossy(e.local_name().as_ref()));
                secret.push(hidden);
                Event::Start(element(&e, hidden)?)
            }
            Event::Empty(e) => {
                let hidden =
                    inside || secret_name(&String::from_utf8_lossy(e.local_name().as_ref()));
                Event::Empty(element(&e, hidden)?)
            }
            Event::End(e) => {
                secret.pop()?;
                Event::End(e)
            }
            Event::Text(_) | Event::CData(_) if inside => Event::Text(BytesText::new("***")),
            other => other,
        };
        writer.write_event(out).ok()?;
    }
    if !secret.is_empty() {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// `e` with its secret attributes (all of them when `hidden`) replaced.
fn element(e: &BytesStart<'_>, hidden: bool) -> Option<BytesStart<'static>> {
    let mut out = e.clone().into_owned();
    out.clear_attributes();
    for attr in e.attributes() {
        let attr = attr.ok()?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        if hidden || secret_name(&key) {
            out.push_attribute((key.as_str(), "***"));
        } else {
            // As it was written (still escaped).
            out.push_attribute(attr);
        }
    }
    Some(out)
}

/// Could `bytes` name a secret anywhere (see [`secret_name`])? When not, a text is kept as it
/// is, unparsed.
fn may_hold_secrets(bytes: &[u8]) -> bool {
    const WORDS: [&[u8]; 6] = [b"pass", b"secret", b"key", b"token", b"auth", b"session"];
    bytes.windows(3).enumerate().any(|(i, w)| {
        let w = [
            w[0].to_ascii_lowercase(),
            w[1].to_ascii_lowercase(),
            w[2].to_ascii_lowercase(),
        ];
        WORDS.iter().any(|word| {
            word[..3] == w
                && bytes.len() >= i + word.len()
                && bytes[i..i + word.len()].eq_ignore_ascii_case(word)
        })
    })
}

/// A body as the journal keeps it: JSON, XML or a form, redacted; anything else by its size.
pub fn body(content_type: Option<&str>, bytes: &[u8]) -> String {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return String::new();
    };
    if !may_hold_secrets(bytes) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if matches!(first, b'{' | b'[' | b'<') || text.contains('=') {
                return text.to_owned();
            }
        }
    }
    let kind = content_type.unwrap_or("");
    let about = |what: &str| format!("<{} bytes{what}>", bytes.len());
    if kind.starts_with("multipart/") {
        return about(" of multipart form");
    }
    match first {
        b'{' | b'[' => json(bytes)
            .or_else(|| {
                // A Froxlor body may be a form whose first key starts with `{`.
                std::str::from_utf8(bytes)
                    .ok()
                    .filter(|t| t.contains('='))
                    .map(form)
            })
            .unwrap_or_else(|| about(", not valid JSON")),
        b'<' => xml(bytes).unwrap_or_else(|| about(", not well-formed XML")),
        _ => match std::str::from_utf8(bytes) {
            Ok(text) if text.contains('=') || kind.contains("urlencoded") => form(text.trim()),
            _ => about(&format!(
                " of {}",
                if kind.is_empty() { "data" } else { kind }
            )),
        },
    }
}

/// A request as the journal keeps it: method, path, redacted query, then the redacted body.
pub fn request(
    method: &http::Method,
    uri: &http::Uri,
    content_type: Option<&str>,
    sent: &crate::request::Body,
) -> String {
    let mut out = format!("{} {}", method, uri.path());
    if let Some(q) = uri.query() {
        out.push('?');
        out.push_str(&form(q));
    }
    let body = match sent {
        crate::request::Body::Complete(b) => body(content_type, b),
        crate::request::Body::TooLarge => "<body over the limit, not read>".to_owned(),
        crate::request::Body::TimedOut => "<body not sent in time>".to_owned(),
    };
    if !body.is_empty() {
        out.push_str("\n\n");
        out.push_str(&body);
    }
    out
}

/// A response body as the journal keeps it (see [`body`]); `bytes` is `None` for a streamed
/// body, of which only the size is kept.
pub fn response(content_type: Option<&str>, bytes: Option<&Bytes>, size: Option<u64>) -> String {
    match bytes {
        Some(b) if !content_type.is_some_and(|t| t.contains("octet-stream")) => {
            body(content_type, b)
        }
        _ => format!(
            "<{} of {}>",
            size.map_or("streamed bytes".to_owned(), |n| format!("{n} bytes")),
            content_type.unwrap_or("data")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_in_every_format() {
        assert_eq!(
            form("func=auth&username=u&password=p%26q&authinfo=a:b&elid=1"),
            "func=auth&username=u&password=***&authinfo=***&elid=1"
        );
        let j = json(br#"{"command":"Customers.add","params":{"loginname":"x","new_customer_password":"S3cret!","api":{"key":"k"}}}"#).unwrap();
        assert!(!j.contains("S3cret") && !j.contains("\"k\""), "{j}");
        assert!(j.contains("\"loginname\": \"x\""), "{j}");
        let x = xml(br#"<packet><customer><add><gen_info><login>jdoe</login><passwd>S3cret!</passwd><secret_key id="7">abc</secret_key></gen_info></add></customer></packet>"#).unwrap();
        assert!(
            !x.contains("S3cret") && !x.contains("abc") && !x.contains("\"7\""),
            "{x}"
        );
        assert!(
            x.contains("<login>jdoe</login>") && x.contains("<passwd>***</passwd>"),
            "{x}"
        );
        assert_eq!(xml(b"<a><b></a>"), None);
        assert_eq!(
            body(Some("text/xml"), b"<a><passwd>x</a>"),
            "<16 bytes, not well-formed XML>"
        );
        assert_eq!(body(None, b"\x00\x01key"), "<5 bytes of data>");
        // Nothing secret-looking: kept as sent.
        assert_eq!(body(None, br#"{"a": 1}"#), r#"{"a": 1}"#);
        assert!(may_hold_secrets(b"x=1&PassWD=2") && !may_hold_secrets(b"x=1&name=2"));
    }
}
