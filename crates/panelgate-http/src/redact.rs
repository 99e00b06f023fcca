//! Secrets out of journaled requests and answers: every value of a parameter, JSON field or XML
//! element (and its attributes) whose name says it is a secret becomes `***`, at any depth, in
//! query strings, forms, JSON and XML. What cannot be parsed is not stored, only its size.

use bytes::Bytes;
use quick_xml::events::{BytesStart, BytesText, Event};

/// Does this parameter, field or element name hold a secret? (Passwords, keys, tokens, session
/// ids and `authinfo` of every panel: `password`, `passwd`, `new_customer_password`,
/// `api-key`, `secret_key`, `auth`, `authinfo`, …)
pub fn secret_name(name: &str) -> bool {
    static WORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        words(&["pass", "secret", "key", "token", "authinfo", "session"])
    });
    WORDS.is_match(name) || name.eq_ignore_ascii_case("auth")
}

/// Finds any of `words`, whatever the case of their ASCII letters.
fn words(words: &[&str]) -> aho_corasick::AhoCorasick {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("fixed words")
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

/// A JSON document with secret values replaced, as it was written otherwise (its layout and
/// escapes kept); `None` when it is not JSON. A secret field's value becomes `"***"`, and so
/// does every value inside it (nulls stay null, keys stay).
pub fn json(bytes: &[u8]) -> Option<String> {
    // Valid first (without building it), so the pass below meets only well-formed JSON.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).ok()?;
    let mut out = Vec::with_capacity(bytes.len());
    // Containers open now; `hidden_from`: the depth at which a secret container opened.
    let (mut depth, mut hidden_from) = (0usize, None::<usize>);
    // The next value belongs to a secret field.
    let mut secret_value = false;
    let mut i = 0;
    while i < bytes.len() {
        let hiding = hidden_from.is_some() || secret_value;
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                let key = bytes[end..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b':');
                if key {
                    out.extend_from_slice(&bytes[i..end]);
                    if hidden_from.is_none() {
                        secret_value = json_key_is_secret(&bytes[i..end]);
                    }
                } else {
                    scalar(&mut out, &bytes[i..end], hiding);
                    secret_value = false;
                }
                i = end;
            }
            open @ (b'{' | b'[') => {
                if secret_value && hidden_from.is_none() {
                    hidden_from = Some(depth);
                }
                secret_value = false;
                depth += 1;
                out.push(open);
                i += 1;
            }
            close @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                if hidden_from == Some(depth) {
                    hidden_from = None;
                }
                out.push(close);
                i += 1;
            }
            b'n' => {
                // `null` stays null, hidden or not.
                out.extend_from_slice(b"null");
                secret_value = false;
                i += 4;
            }
            b if b == b't' || b == b'f' || b == b'-' || b.is_ascii_digit() => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                    .map_or(bytes.len(), |n| i + n);
                scalar(&mut out, &bytes[i..end], hiding);
                secret_value = false;
                i = end;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A string, number or boolean as written, or `"***"` when it is hidden.
fn scalar(out: &mut Vec<u8>, text: &[u8], hidden: bool) {
    out.extend_from_slice(if hidden { b"\"***\"" } else { text });
}

/// The index just past the string that starts (with its quote) at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Is the JSON string `quoted` (quotes included) a secret's name? Escapes are read, so a
/// `pass\u0077ord` is a password too.
fn json_key_is_secret(quoted: &[u8]) -> bool {
    let inner = &quoted[1..quoted.len().saturating_sub(1).max(1)];
    if inner.contains(&b'\\') {
        serde_json::from_slice::<String>(quoted).is_ok_and(|k| secret_name(&k))
    } else {
        std::str::from_utf8(inner).is_ok_and(secret_name)
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
    static WORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| words(&["pass", "secret", "key", "token", "auth", "session"]));
    WORDS.is_match(bytes)
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
        assert!(j.contains(r#""loginname":"x""#), "{j}");
        assert!(j.contains(r#""new_customer_password":"***""#), "{j}");
        assert!(j.contains(r#""api":{"key":"***"}"#), "{j}");
        // Everything inside a secret field, at any depth; nulls and the layout stay.
        assert_eq!(
            json(br#"{"token": {"a": [1, "x", null, true, {"b": -2.5e3}]}, "n": 1}"#).unwrap(),
            r#"{"token": {"a": ["***", "***", null, "***", {"b": "***"}]}, "n": 1}"#
        );
        // An escaped name is read as what it means.
        let j = json(br#"{"pass\u0077ord":"p","x\"y":"\"ok\"","k":[{"secret":1},2]}"#).unwrap();
        assert_eq!(
            j,
            r#"{"pass\u0077ord":"***","x\"y":"\"ok\"","k":[{"secret":"***"},2]}"#
        );
        assert_eq!(json(br#"{"a": }"#), None);
        assert_eq!(json(br#"{"a": 1} x"#), None);
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
        for name in [
            "password",
            "PASSWD",
            "api-key",
            "Secret_Key",
            "AUTH",
            "authinfo",
            "sessid_token",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in ["author", "login", "email", "pas"] {
            assert!(!secret_name(name), "{name}");
        }
    }

    /// The redaction as a tree: what [`json`] must agree with (parsed back).
    fn model(v: serde_json::Value, hidden: bool) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Null => Value::Null,
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let h = hidden || secret_name(&k);
                        (k, model(v, h))
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| model(v, hidden)).collect())
            }
            _ if hidden => Value::String("***".into()),
            other => other,
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[a-z\\\\\"\\u{e9}:,{}\\[\\] ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("password".to_owned()),
                Just("Api-Key".to_owned()),
                Just("name".to_owned()),
                Just("x\"y".to_owned()),
                "[a-z]{0,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((key, inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn json_redaction_agrees_with_the_tree_model(sent in any_json(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&sent).unwrap()
            } else {
                serde_json::to_string(&sent).unwrap()
            };
            let out = json(text.as_bytes()).expect("valid JSON stays valid");
            let back: serde_json::Value = serde_json::from_str(&out).expect("the output is JSON");
            // (Compared with the document as parsed, as floats may not come back bit for bit.)
            let sent: serde_json::Value = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(back, model(sent, false));
        }
    }
}
