//! Request parameters as a Froxlor command sees them, and the `getParam` family of accessors.
//!
//! Froxlor runs every request through `stripcslashes` (non-empty scalars), voku AntiXSS and
//! `trim` before a command reads it (protocols/froxlor.md §1.6). The outcome, not the mechanism,
//! is reproduced here: non-zero numbers and `true` become strings, `false` stays false, `null`
//! means absent, C escapes are interpreted, and markup is neutralised.

use serde_json::Value;

/// A PHP value after Froxlor's normalisation.
#[derive(Clone, Debug, PartialEq)]
pub enum PValue {
    /// The integer 0 (PHP leaves "empty" scalars alone).
    Zero,
    /// The float 0.0.
    ZeroFloat,
    False,
    Str(String),
    /// A PHP array: JSON objects and lists alike, keys in order.
    Array(Vec<(String, PValue)>, bool),
}

impl PValue {
    pub fn from_json(v: &Value) -> Option<PValue> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(true) => PValue::Str(sanitize("1")),
            Value::Bool(false) => PValue::False,
            Value::Number(n) => {
                if n.as_i64() == Some(0) || n.as_u64() == Some(0) {
                    PValue::Zero
                } else if n.as_f64() == Some(0.0) {
                    PValue::ZeroFloat
                } else {
                    PValue::Str(sanitize(&php_number(n)))
                }
            }
            Value::String(s) => {
                if s.is_empty() || s == "0" {
                    PValue::Str(s.clone())
                } else {
                    PValue::Str(sanitize(s))
                }
            }
            Value::Array(items) => PValue::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| PValue::from_json(v).map(|p| (i.to_string(), p)))
                    .collect(),
                true,
            ),
            Value::Object(map) => PValue::Array(
                map.iter()
                    .filter_map(|(k, v)| PValue::from_json(v).map(|p| (k.clone(), p)))
                    .collect(),
                false,
            ),
        })
    }

    /// PHP `trim((string) $v)` for scalars; arrays give `None`.
    pub fn as_trimmed(&self) -> Option<String> {
        match self {
            PValue::Zero | PValue::ZeroFloat => Some("0".into()),
            PValue::False => Some(String::new()),
            PValue::Str(s) => Some(php_trim(s).to_owned()),
            PValue::Array(..) => None,
        }
    }

    /// PHP `empty()`-like test used by `getParam` for "present but empty".
    fn is_blank(&self) -> bool {
        match self {
            PValue::False => true,
            PValue::Str(s) => php_trim(s).is_empty(),
            _ => false,
        }
    }

    /// PHP truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            PValue::Zero | PValue::ZeroFloat | PValue::False => false,
            PValue::Str(s) => !(s.is_empty() || s == "0"),
            PValue::Array(items, _) => !items.is_empty(),
        }
    }

    /// PHP `intval()`.
    pub fn intval(&self) -> i64 {
        match self {
            PValue::Zero | PValue::ZeroFloat | PValue::False => 0,
            PValue::Str(s) => php_intval(s),
            PValue::Array(items, _) => i64::from(!items.is_empty()),
        }
    }

    pub fn get(&self, key: &str) -> Option<&PValue> {
        match self {
            PValue::Array(items, _) => items.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// PHP's float-to-string of a JSON number (ints as written, floats shortest form).
fn php_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        }
    }
}

/// PHP `trim()`: strips " \t\n\r\0\x0B" from both ends.
pub fn php_trim(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{b}'))
}

/// PHP `intval()` of a string: optional sign and leading digits, else 0.
pub fn php_intval(s: &str) -> i64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let mut n: i64 = 0;
    for b in digits[..end].bytes() {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// PHP `is_numeric()`.
pub fn php_is_numeric(s: &str) -> bool {
    let t = s
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .trim_end_matches(|c: char| c.is_ascii_whitespace());
    !t.is_empty() && t.parse::<f64>().is_ok() && !t.contains(['x', 'X', 'n', 'N', 'i', 'I'])
}

fn sanitize(s: &str) -> String {
    anti_xss(&stripcslashes(s))
}

/// PHP `stripcslashes`: interpret C escapes (`\n`, `\t`, `\x41`, `\101` …); `\c` → `c`.
pub fn stripcslashes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = b[i];
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'v' => out.push(0x0b),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'x' if i + 1 < b.len() && b[i + 1].is_ascii_hexdigit() => {
                let mut v: u32 = 0;
                let mut n = 0;
                while n < 2 && i + 1 < b.len() && b[i + 1].is_ascii_hexdigit() {
                    i += 1;
                    v = v * 16 + (b[i] as char).to_digit(16).unwrap_or(0);
                    n += 1;
                }
                out.push(v as u8);
            }
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i + 1 < b.len() && (b'0'..=b'7').contains(&b[i + 1]) {
                    i += 1;
                    v = v * 8 + u32::from(b[i] - b'0');
                    n += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const DROPPED_TAGS: &[&str] = &[
    "script", "iframe", "object", "embed", "style", "applet", "meta", "xml", "link", "base",
    "frameset", "frame", "form",
];
const DROPPED_WORDS: &[&str] = &[
    "javascript:",
    "vbscript:",
    "livescript:",
    "alert",
    "prompt",
    "confirm",
    "eval(",
    "expression(",
];

/// What voku AntiXSS does to the inputs panel clients send, closely enough: dangerous tags and
/// JavaScript words are removed, other tags stay (and then fail the field's format check), a
/// `<` or `>` that is not part of a tag is written as an entity. A lone `<`, `>`, `<=` or `>=`
/// (sql_search operators) stays unchanged.
pub fn anti_xss(s: &str) -> String {
    if matches!(s, "<" | ">" | "<=" | ">=") || !s.contains(['<', '>', ':', '(']) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let after = &rest[1..];
            let is_tag = after
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_alphabetic() || n == '/' || n == '!')
                && after.contains('>');
            if is_tag {
                let end = after.find('>').unwrap_or(after.len());
                let tag = &after[..end];
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if DROPPED_TAGS.contains(&name.as_str()) {
                    let closing = format!("</{name}");
                    let lower = rest.to_ascii_lowercase();
                    rest = match lower[1..].find(&closing) {
                        Some(pos) if !tag.starts_with('/') => {
                            let from = pos + 1;
                            let tail = &rest[from..];
                            match tail.find('>') {
                                Some(e) => &tail[e + 1..],
                                None => "",
                            }
                        }
                        _ => &after[(end + 1).min(after.len())..],
                    };
                } else {
                    out.push('<');
                    out.push_str(tag);
                    out.push('>');
                    rest = &after[(end + 1).min(after.len())..];
                }
                continue;
            }
            out.push_str("&lt;");
            rest = after;
            continue;
        }
        if c == '>' {
            out.push_str("&gt;");
            rest = &rest[1..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let mut cleaned = out;
    for word in DROPPED_WORDS {
        loop {
            let lower = cleaned.to_ascii_lowercase();
            match lower.find(word) {
                Some(pos) if lower.is_char_boundary(pos) => {
                    let keep_paren = word.ends_with('(');
                    let cut = if keep_paren {
                        word.len() - 1
                    } else {
                        word.len()
                    };
                    cleaned.replace_range(pos..pos + cut, "");
                }
                _ => break,
            }
        }
    }
    cleaned
}

/// Why a required parameter could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// 404 `Requested parameter "x" could not be found for "Module:method"`.
    Missing(String),
    /// 406 `Requested parameter "x" is empty where it should not be for "Module:method"`.
    Empty(String),
}

/// The parameters of one command, with Froxlor's accessors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    items: Vec<(String, PValue)>,
}

impl Params {
    /// From the JSON `params` member: an object or a list; anything else means no params.
    pub fn from_json(v: Option<&Value>) -> Params {
        match v.and_then(PValue::from_json) {
            Some(PValue::Array(items, _)) => Params { items },
            _ => Params::default(),
        }
    }

    pub fn raw(&self, name: &str) -> Option<&PValue> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// `getParam(name)` for a required parameter.
    pub fn required(&self, name: &str) -> Result<&PValue, ParamError> {
        match self.raw(name) {
            None => Err(ParamError::Missing(name.to_owned())),
            Some(v) if v.is_blank() => Err(ParamError::Empty(name.to_owned())),
            Some(v) => Ok(v),
        }
    }

    /// Required, as a trimmed string.
    pub fn required_str(&self, name: &str) -> Result<String, ParamError> {
        let v = self.required(name)?;
        Ok(v.as_trimmed().unwrap_or_default())
    }

    /// `getParam(name, true, default)` as a trimmed string; blank gives `""`.
    pub fn str_or(&self, name: &str, default: &str) -> String {
        match self.raw(name) {
            None => default.to_owned(),
            Some(v) if v.is_blank() => String::new(),
            Some(v) => v.as_trimmed().unwrap_or_default(),
        }
    }

    /// `getParam(name, true, default)` cast with `intval`.
    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        match self.raw(name) {
            None => default,
            Some(v) => v.intval(),
        }
    }

    /// `getBoolParam`: `'1'` when truthy and `intval != 0`.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.raw(name) {
            None => default,
            Some(v) => v.truthy() && v.intval() != 0,
        }
    }

    /// `getUlParam(p, p_ul)`: `(int) p`, or -1 when `p_ul` is a true bool.
    pub fn ul_or(&self, name: &str, default: i64) -> i64 {
        if self.bool_or(&format!("{name}_ul"), false) {
            -1
        } else {
            self.int_or(name, default)
        }
    }

    /// An array parameter as a list of trimmed scalars.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        match self.raw(name)? {
            PValue::Array(items, _) => {
                Some(items.iter().filter_map(|(_, v)| v.as_trimmed()).collect())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Source: protocols/froxlor.md §1.6 (verified with the real libraries).
    #[test]
    fn normalisation_table() {
        let p = Params::from_json(Some(&json!({
            "zero": 0, "n": 1337, "f": 1.5, "t": true, "fa": false, "nul": null,
            "sp": "  x  ", "tab": "a\\tb", "lt": "a<b", "both": "<>", "op": "<",
            "script": "x<script>alert(1)</script>", "js": "javascript:alert(1)", "tag": "Do<e>"
        })));
        assert_eq!(p.raw("zero"), Some(&PValue::Zero));
        assert_eq!(p.raw("n"), Some(&PValue::Str("1337".into())));
        assert_eq!(p.raw("f"), Some(&PValue::Str("1.5".into())));
        assert_eq!(p.raw("t"), Some(&PValue::Str("1".into())));
        assert_eq!(p.raw("fa"), Some(&PValue::False));
        assert_eq!(p.raw("nul"), None);
        assert_eq!(p.str_or("sp", ""), "x");
        assert_eq!(p.str_or("tab", ""), "a\tb");
        assert_eq!(p.str_or("lt", ""), "a&lt;b");
        assert_eq!(p.str_or("both", ""), "&lt;&gt;");
        assert_eq!(p.str_or("op", ""), "<");
        assert_eq!(p.str_or("script", ""), "x");
        assert_eq!(p.str_or("js", ""), "(1)");
        assert_eq!(p.str_or("tag", ""), "Do<e>");
    }

    #[test]
    fn bool_param_rules() {
        let p = Params::from_json(Some(
            &json!({"a": true, "b": 1, "c": "1", "d": "2", "e": "true", "f": "yes", "g": false}),
        ));
        for (k, want) in [
            ("a", true),
            ("b", true),
            ("c", true),
            ("d", true),
            ("e", false),
            ("f", false),
            ("g", false),
        ] {
            assert_eq!(p.bool_or(k, false), want, "{k}");
        }
    }

    #[test]
    fn required_missing_and_empty() {
        let p = Params::from_json(Some(&json!({"email": " ", "x": false})));
        assert_eq!(p.required("name"), Err(ParamError::Missing("name".into())));
        assert_eq!(p.required("email"), Err(ParamError::Empty("email".into())));
        assert_eq!(p.required("x"), Err(ParamError::Empty("x".into())));
    }
}
