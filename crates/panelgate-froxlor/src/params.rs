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
///
/// Linear in the input: attackers choose it (issue 7).
pub fn anti_xss(s: &str) -> String {
    if matches!(s, "<" | ">" | "<=" | ">=") || !s.contains(['<', '>', ':', '(']) {
        return s.to_owned();
    }
    let mut cleaned = neutralise_markup(s);
    for word in DROPPED_WORDS {
        remove_word(&mut cleaned, word.as_bytes());
    }
    expand_marks(&cleaned)
}

/// Stand-ins for the entities `&lt;` and `&gt;` until the words are removed: bytes that occur
/// in no UTF-8 text and in no word. No word can take in any byte of an entity either (none has
/// `&` or `;`, and `lt` / `gt` are shorter than every word), so the words removed are the same,
/// and the passes over the text do not grow fourfold with it.
const LT_MARK: u8 = 0xfe;
const GT_MARK: u8 = 0xff;

/// The tag pass's output with the entities written out.
fn expand_marks(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut rest = b;
    while let Some(at) = rest.iter().position(|c| matches!(*c, LT_MARK | GT_MARK)) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(if rest[at] == LT_MARK {
            b"&lt;"
        } else {
            b"&gt;"
        });
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    // Only ASCII runs are ever cut out and the marks are all replaced, so this is UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The tag pass of [`anti_xss`], left to right: a `<` followed by a letter, `/` or `!` and, anywhere
/// later, by a `>` starts a tag that runs to the next `>`. A dropped tag goes together with
/// everything up to and including its closing tag (if there is one later), other tags are kept;
/// any other `<` or `>` becomes an entity (for now its mark, see [`LT_MARK`]).
fn neutralise_markup(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let last_gt = s.rfind('>');
    let mut closings: Option<ClosingTags> = None;
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let run = b[i..]
            .iter()
            .position(|c| matches!(c, b'<' | b'>'))
            .unwrap_or(b.len() - i);
        out.extend_from_slice(&b[i..i + run]);
        i += run;
        if i == b.len() {
            break;
        }
        if b[i] == b'>' {
            out.push(GT_MARK);
            i += 1;
            continue;
        }
        // `b[i]` is `<`. Where its tag ends, if it starts one: the search for that `>` is only
        // made when there is one, and `i` then moves past it.
        let starts_tag = b
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, b'/' | b'!'))
            && last_gt.is_some_and(|g| g > i);
        let Some(end) = starts_tag
            .then(|| s[i + 1..].find('>').map(|e| i + 1 + e))
            .flatten()
        else {
            out.push(LT_MARK);
            i += 1;
            continue;
        };
        let tag = &s[i + 1..end];
        let bare = tag.trim_start_matches('/');
        let name_len = bare
            .bytes()
            .position(|c| !c.is_ascii_alphanumeric())
            .unwrap_or(bare.len());
        let name = &bare[..name_len];
        match DROPPED_TAGS
            .iter()
            .position(|t| t.eq_ignore_ascii_case(name))
        {
            Some(k) => {
                let closing = if tag.starts_with('/') {
                    None
                } else {
                    closings
                        .get_or_insert_with(|| ClosingTags::new(s))
                        .find(k, i + 1)
                };
                i = match closing {
                    Some(at) => s[at..].find('>').map_or(b.len(), |e| at + e + 1),
                    None => end + 1,
                };
            }
            None => {
                out.extend_from_slice(&b[i..=end]);
                i = end + 1;
            }
        }
    }
    out
}

/// Where the closing tag `</name` of each dropped tag next occurs (case-insensitively) at or
/// after a position. Positions asked for only grow, so each tag's answer is remembered until it
/// falls behind, and the text is scanned at most once per tag name.
struct ClosingTags {
    /// The input, ASCII-lowercased (byte offsets unchanged).
    lower: String,
    needles: Vec<String>,
    /// Per dropped tag: `None` = not searched yet, `Some(None)` = none left, `Some(Some(at))`
    /// = the first occurrence at or after the last position searched from.
    next: Vec<Option<Option<usize>>>,
}

impl ClosingTags {
    fn new(s: &str) -> ClosingTags {
        ClosingTags {
            lower: s.to_ascii_lowercase(),
            needles: DROPPED_TAGS.iter().map(|t| format!("</{t}")).collect(),
            next: vec![None; DROPPED_TAGS.len()],
        }
    }

    /// The first occurrence of the closing tag of `DROPPED_TAGS[k]` at or after byte `from`
    /// (a char boundary, not smaller than in any earlier call).
    fn find(&mut self, k: usize, from: usize) -> Option<usize> {
        match self.next[k] {
            Some(None) => None,
            Some(Some(at)) if at >= from => Some(at),
            _ => {
                let found = self.lower[from..].find(&self.needles[k]).map(|p| from + p);
                self.next[k] = Some(found);
                found
            }
        }
    }
}

/// Remove `word` (ASCII, matched case-insensitively) from `buf` until none is left; of a word
/// ending in `(` the `(` stays.
///
/// One pass that treats the kept bytes as a stack: a byte is pushed, and when the kept bytes
/// then end with the word, it is popped. None of [`DROPPED_WORDS`] can overlap itself, so every
/// order of removals ends in the same text, and this pass gives what removing the leftmost
/// occurrence again and again gives. The matched bytes are ASCII, so cuts fall on char
/// boundaries.
fn remove_word(buf: &mut Vec<u8>, word: &[u8]) {
    let Some(&last) = word.last() else {
        return;
    };
    let keep_paren = last == b'(';
    let (mut read, mut write) = (0usize, 0usize);
    let len = buf.len();
    while read < len {
        // Only a byte equal to the word's last one can complete an occurrence.
        let run = buf[read..]
            .iter()
            .position(|c| c.to_ascii_lowercase() == last)
            .map_or(len - read, |p| p + 1);
        if write != read {
            buf.copy_within(read..read + run, write);
        }
        read += run;
        write += run;
        while write >= word.len() && buf[write - word.len()..write].eq_ignore_ascii_case(word) {
            if keep_paren {
                write -= word.len() - 1;
                buf[write - 1] = b'(';
            } else {
                write -= word.len();
            }
        }
    }
    buf.truncate(write);
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

    /// Every parameter, in request order (the fuzz targets re-render a decoded command).
    pub fn items(&self) -> &[(String, PValue)] {
        &self.items
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

    /// The quadratic `anti_xss` this module had before issue 7, kept as the reference for its
    /// output.
    fn quadratic_anti_xss(s: &str) -> String {
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
                        let cut = if word.ends_with('(') {
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

    #[test]
    fn anti_xss_table() {
        for (input, want) in [
            ("<", "<"),
            (">", ">"),
            ("<=", "<="),
            (">=", ">="),
            ("plain alert", "plain alert"),
            ("a<b", "a&lt;b"),
            ("a>b", "a&gt;b"),
            ("<>", "&lt;&gt;"),
            ("<<b>", "&lt;<b>"),
            ("<b", "&lt;b"),
            ("Do<e>", "Do<e>"),
            ("x<script>alert(1)</script>", "x"),
            ("x<SCRIPT>1</sCrIpT >y", "xy"),
            ("x<script>1</script", "x"),
            ("x<script>1", "x1"),
            ("x</script>y", "xy"),
            ("<script </script>z", "z"),
            ("<frame>a</frameset>b", "b"),
            ("<!-- c --><b>é</b>", "<!-- c --><b>é</b>"),
            ("javascript:alert(1)", "(1)"),
            ("JavaScript:ALERT(1)", "(1)"),
            ("jav<b>ascript:1", "jav<b>ascript:1"),
            ("alalertert:", ":"),
            ("evaleval((", "(("),
            ("EVAL(x) expression(y)", "(x) (y)"),
            ("alconfirmert(", "alert("),
            ("confalertirm(", "("),
            ("prompt(é) ä:", "(é) ä:"),
            ("<iframe src=x>ok</iframe>done<i>", "done<i>"),
        ] {
            assert_eq!(anti_xss(input), want, "{input:?}");
            assert_eq!(quadratic_anti_xss(input), want, "reference: {input:?}");
        }
    }

    /// Many inputs built from the pieces that matter: the linear `anti_xss` gives what the
    /// quadratic one gave.
    #[test]
    fn anti_xss_agrees_with_quadratic_reference() {
        const PIECES: &[&str] = &[
            "<",
            ">",
            "/",
            "!",
            "a",
            "é",
            "script",
            "SCRIPT",
            "</script",
            "<script>",
            "</frame>",
            "frameset",
            "<b>",
            "al",
            "ert",
            "alert",
            "eval",
            "(",
            "java",
            "script:",
            ":",
            "con",
            "firm",
            "x",
            "AL",
            "ERT",
            "EvAl",
            "<Style>",
            "</STYLE",
            "</script>",
            "&",
            ";",
            "lt",
            "<!",
            "</",
            "vbscript:",
            "livescript:",
            "prompt",
            "expression(",
        ];
        // A small deterministic generator (no dependencies).
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..30_000 {
            let n = (next() % 9) as usize;
            let input: String = (0..n)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            assert_eq!(anti_xss(&input), quadratic_anti_xss(&input), "{input:?}");
        }
    }

    #[test]
    fn regression_issue7_defect2_anti_xss_is_linear() {
        const MIB: usize = 1 << 20;
        // Stray `<` (with and without a following letter), no `>` anywhere.
        let lts = "<".repeat(2 * MIB);
        assert_eq!(anti_xss(&lts), "&lt;".repeat(2 * MIB));
        let lt_letters = "<a".repeat(MIB);
        assert_eq!(anti_xss(&lt_letters), "&lt;a".repeat(MIB));
        // `<a` everywhere and a single `>` at the very end: every `<a` is a tag start.
        let one_tag = format!("{}>", "<a".repeat(MIB));
        assert_eq!(anti_xss(&one_tag), format!("<a{}>", "<a".repeat(MIB - 1)));
        // Dropped tags that are never closed.
        let scripts = "<script>".repeat(2 * MIB / 8);
        assert_eq!(anti_xss(&scripts), "");
        let scripts_text = "<script>x".repeat(2 * MIB / 9);
        assert_eq!(anti_xss(&scripts_text), "x".repeat(2 * MIB / 9));
        // Dropped tags, each closed, and a closing tag far away for each kind.
        let closed = format!(
            "{}{}</style>",
            "<iframe>a</iframe>b<STYLE>".repeat(MIB / 26),
            "c".repeat(MIB)
        );
        assert_eq!(anti_xss(&closed), "b");
        let pairs = "<form>a</form>b".repeat(MIB / 15);
        assert_eq!(anti_xss(&pairs), "b".repeat(MIB / 15));
        // Words that reappear once the inner one is removed.
        let half = MIB / 5;
        let nested = format!("{}{}:", "al".repeat(half), "ert".repeat(half));
        assert_eq!(anti_xss(&nested), ":");
        let nested_js = format!("{}{}", "javas".repeat(half / 2), "cript:".repeat(half / 2));
        assert_eq!(anti_xss(&nested_js), "");
        let nested_eval = format!("{}x{}", "eval".repeat(MIB / 4), "(".repeat(8));
        assert_eq!(
            anti_xss(&nested_eval),
            format!("{}x{}", "eval".repeat(MIB / 4), "(".repeat(8))
        );
        let evals = format!("{}{}", "eval".repeat(MIB / 4), "(".repeat(MIB / 4));
        assert_eq!(anti_xss(&evals), "(".repeat(MIB / 4));
        let words = "javascript:alert(prompt(confirm(eval(".repeat(MIB / 37);
        assert_eq!(anti_xss(&words), "((((".repeat(MIB / 37));
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
