//! PHP's `json_encode($x, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT)`, byte for byte.
//!
//! # Wire format
//! Four-space indentation, `"key": value`, `\n` line ends and no trailing newline; `/` is not
//! escaped; every non-ASCII character is written as `\uXXXX` (lower-case hex, surrogate pairs
//! above U+FFFF); an empty array or object is `[]` (PHP has one array type).

use serde_json::Value;

pub fn encode(value: &Value) -> String {
    let mut out = String::with_capacity(4096);
    write_value(&mut out, value, 0);
    out
}

/// `{ key: value, … }` of owned values, moved in (`json!` would copy each value through serde).
pub fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = serde_json::Map::with_capacity(N);
    for (k, v) in pairs {
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

/// Where an object's scalar fields go: a JSON value being built, or response text.
pub trait Fields {
    fn int(&mut self, key: &str, v: i64);
    fn text(&mut self, key: &str, v: &str);
    fn null(&mut self, key: &str);
}

impl Fields for serde_json::Map<String, Value> {
    fn int(&mut self, key: &str, v: i64) {
        self.insert(key.to_owned(), Value::from(v));
    }
    fn text(&mut self, key: &str, v: &str) {
        self.insert(key.to_owned(), Value::from(v));
    }
    fn null(&mut self, key: &str) {
        self.insert(key.to_owned(), Value::Null);
    }
}

/// An object written straight into response text at nesting `level`, exactly as [`encode`]
/// writes the same object (a key is written once: callers give each key once).
pub struct ObjectText<'a> {
    out: &'a mut String,
    level: usize,
    start: usize,
    empty: bool,
}

impl<'a> ObjectText<'a> {
    pub fn begin(out: &'a mut String, level: usize) -> ObjectText<'a> {
        let start = out.len();
        out.push('{');
        ObjectText {
            out,
            level,
            start,
            empty: true,
        }
    }

    /// Start the member `key` and hand out the text to write its value into.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('\n');
        indent(self.out, self.level + 1);
        write_string(self.out, key);
        self.out.push_str(": ");
        self.out
    }

    /// Close the object (PHP writes an empty one as `[]`).
    pub fn end(self) {
        if self.empty {
            self.out.truncate(self.start);
            self.out.push_str("[]");
        } else {
            self.out.push('\n');
            indent(self.out, self.level);
            self.out.push('}');
        }
    }
}

impl Fields for ObjectText<'_> {
    fn int(&mut self, key: &str, v: i64) {
        self.key(key).push_str(itoa::Buffer::new().format(v));
    }
    fn text(&mut self, key: &str, v: &str) {
        write_string(self.key(key), v);
    }
    fn null(&mut self, key: &str) {
        self.key(key).push_str("null");
    }
}

/// An array written straight into response text at nesting `level`: `item` writes element
/// `i` at `level + 1` (PHP writes an empty one as `[]`).
pub fn array_text(
    out: &mut String,
    level: usize,
    len: usize,
    mut item: impl FnMut(&mut String, usize),
) {
    if len == 0 {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for i in 0..len {
        if i > 0 {
            out.push(',');
        }
        out.push('\n');
        indent(out, level + 1);
        item(out, i);
    }
    out.push('\n');
    indent(out, level);
    out.push(']');
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("    ");
    }
}

fn write_value(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(out, level + 1);
                write_value(out, item, level + 1);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("{\n");
            for (i, (k, v)) in map.iter().enumerate() {
                indent(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, v, level + 1);
                if i + 1 < map.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(itoa::Buffer::new().format(i));
    } else if let Some(u) = n.as_u64() {
        out.push_str(itoa::Buffer::new().format(u));
    } else if let Some(f) = n.as_f64() {
        out.push_str(&php_float(f));
    }
}

/// PHP (`serialize_precision = -1`): the shortest round-trip digits, scientific notation below
/// 1e-4 and from 1e15 on, and a `.0` on integral values (`1.0e+15`, `1.5`, `2.0`).
fn php_float(f: f64) -> String {
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if f != 0.0 && !(-4..15).contains(&exp) {
        let sci = format!("{f:e}");
        let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mantissa}e{}{}", if e < 0 { '-' } else { '+' }, e.abs())
    } else if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape: printable ASCII without `"` and `\\`.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(char::from(HEX[usize::from((*unit >> shift) & 0xf)]));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {

    #[test]
    fn text_written_directly_equals_the_encoded_value() {
        let mut map = serde_json::Map::new();
        let mut text = String::new();
        let mut o = ObjectText::begin(&mut text, 1);
        for f in [&mut map as &mut dyn Fields, &mut o] {
            f.int("id", -7);
            f.text("name", "J\u{e9}r\u{f4}me \"x\"/\n");
            f.null("key");
        }
        o.end();
        let expected = encode(&json!({ "data": Value::Object(map) }));
        assert_eq!(format!("{{\n    \"data\": {text}\n}}"), expected);

        let mut empty = String::new();
        ObjectText::begin(&mut empty, 0).end();
        assert_eq!(empty, encode(&json!({})));
        let mut list = String::new();
        array_text(&mut list, 0, 2, |out, i| {
            out.push_str(if i == 0 { "1" } else { "2" })
        });
        assert_eq!(list, encode(&json!([1, 2])));
        let mut none = String::new();
        array_text(&mut none, 0, 0, |_, _| {});
        assert_eq!(none, encode(&json!([])));
    }

    use super::*;
    use serde_json::json;

    // Source: protocols/froxlor.md §2.2 and the G-examples of §7.
    #[test]
    fn php_pretty_print_rules() {
        let cases = [
            (json!({"message": "x"}), "{\n    \"message\": \"x\"\n}"),
            (json!({"data": 0}), "{\n    \"data\": 0\n}"),
            (
                json!({"data": {"count": 0, "list": []}}),
                "{\n    \"data\": {\n        \"count\": 0,\n        \"list\": []\n    }\n}",
            ),
            (json!("M\u{fc}ller"), "\"M\\u00fcller\""),
            (json!("a/b"), "\"a/b\""),
            (json!("\u{1F600}"), "\"\\ud83d\\ude00\""),
            (json!({}), "[]"),
            (json!(null), "null"),
            (json!(1.5), "1.5"),
        ];
        for (value, expected) in cases {
            assert_eq!(encode(&value), expected, "{value}");
        }
    }
}
