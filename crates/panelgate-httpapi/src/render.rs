//! Answers as httpapi.com writes them: JSON (maps of strings, bare ids, `true`, JSON strings) or
//! the XStream form of a Java `Hashtable` (§2.3), two-space indented; errors are HTTP 500 with
//! the ERROR envelope in the requested format.

use serde_json::{json, Value};

use crate::Failure;

/// The answer format, from the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

pub fn render(answer: Result<Value, Failure>, format: Format) -> panelgate_http::Response {
    let (status, value) = match answer {
        Ok(v) => (200, v),
        Err(Failure(message)) => (500, json!({"status": "ERROR", "message": message})),
    };
    match format {
        Format::Json => panelgate_http::response(status, "application/json", value.to_string()),
        Format::Xml => {
            let mut out = String::with_capacity(256);
            xml(&value, 0, &mut out);
            out.push('\n');
            panelgate_http::response(status, "text/xml", out)
        }
    }
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Characters XML 1.0 cannot hold are left out (U+FFFE and U+FFFF too: found by
            // the httpapi_request fuzz target in an echoed parameter).
            c if ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// One value at `depth`: maps as `<hashtable>` of `<entry>` (key, value), lists as `<list>`,
/// strings as `<string>`, numbers as `<int>`/`<long>`/`<double>`, booleans as `<boolean>`, null as
/// `<null/>` (XStream's names for the Java types).
fn xml(v: &Value, depth: usize, out: &mut String) {
    indent(depth, out);
    match v {
        Value::Object(m) => {
            if m.is_empty() {
                out.push_str("<hashtable/>");
                return;
            }
            out.push_str("<hashtable>\n");
            for (k, v) in m {
                indent(depth + 1, out);
                out.push_str("<entry>\n");
                indent(depth + 2, out);
                out.push_str("<string>");
                escape(k, out);
                out.push_str("</string>\n");
                xml(v, depth + 2, out);
                out.push('\n');
                indent(depth + 1, out);
                out.push_str("</entry>\n");
            }
            indent(depth, out);
            out.push_str("</hashtable>");
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("<list/>");
                return;
            }
            out.push_str("<list>\n");
            for item in items {
                xml(item, depth + 1, out);
                out.push('\n');
            }
            indent(depth, out);
            out.push_str("</list>");
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Bool(b) => {
            out.push_str(if *b {
                "<boolean>true</boolean>"
            } else {
                "<boolean>false</boolean>"
            });
        }
        Value::Number(n) => {
            let tag = match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => "int",
                Some(_) => "long",
                None => "double",
            };
            out.push_str(&format!("<{tag}>{n}</{tag}>"));
        }
        Value::Null => out.push_str("<null/>"),
    }
}

#[cfg(test)]
mod tests {

    /// Found by the httpapi_request fuzz target (fuzz/regressions/httpapi_request): a call
    /// path with U+FFFF, echoed in the error, made the XML answer no XML document.
    #[test]
    fn regression_fuzz_noncharacters_are_left_out_of_xml() {
        let input = include_bytes!("../../../fuzz/regressions/httpapi_request/xml-ffff.bin");
        let path = String::from_utf8_lossy(input.split(|b| *b == b'\n').next().unwrap_or_default())
            .into_owned();
        assert!(path.contains('\u{FFFF}'));
        let resp = render(
            Err(Failure::new(format!("Unsupported API call: {path}"))),
            Format::Xml,
        );
        let body = resp
            .extensions()
            .get::<panelgate_http::BodyText>()
            .expect("an answer made in memory")
            .0
            .clone();
        panelgate_http::xml::parse(&body).expect("a well-formed XML answer");
    }
    use super::*;

    fn xml_of(v: &Value) -> String {
        let mut out = String::new();
        xml(v, 0, &mut out);
        out
    }

    /// protocols/httpapi.md G7's layout.
    #[test]
    fn hashtable_layout() {
        let v = json!({"entityid": "67262002", "status": "Success"});
        assert_eq!(
            xml_of(&v),
            "<hashtable>\n  <entry>\n    <string>entityid</string>\n    <string>67262002</string>\n  </entry>\n  <entry>\n    <string>status</string>\n    <string>Success</string>\n  </entry>\n</hashtable>"
        );
        let nested = json!({"1": {"a": "x<&>"}, "n": 5, "b": false, "l": ["p"]});
        let s = xml_of(&nested);
        assert!(s.contains("    <hashtable>\n      <entry>\n        <string>a</string>\n        <string>x&lt;&amp;&gt;</string>"), "{s}");
        assert!(
            s.contains("<int>5</int>") && s.contains("<boolean>false</boolean>"),
            "{s}"
        );
        assert!(
            s.contains("<list>\n      <string>p</string>\n    </list>"),
            "{s}"
        );
        assert_eq!(xml_of(&json!(30930235)), "<int>30930235</int>");
        assert_eq!(xml_of(&json!(true)), "<boolean>true</boolean>");
        assert_eq!(xml_of(&json!("a\u{1}b")), "<string>ab</string>");
    }
}
