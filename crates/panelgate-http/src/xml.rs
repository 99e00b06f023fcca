//! One XML document model for every frontend that speaks XML (Plesk packets today): a capped
//! reader into an [`Element`] tree, and a writer on quick-xml's own [`quick_xml::Writer`].
//!
//! Requests are untrusted: the body size, nesting depth and element count are capped while
//! reading, a DOCTYPE is refused (no entity can be declared, so none can expand), and only the
//! five predefined entities and character references are accepted.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Caps for one request packet.
pub const MAX_DEPTH: usize = 64;
pub const MAX_ELEMENTS: usize = 20_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// 1-based line of the start tag in the request.
    pub line: usize,
}

impl Element {
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
            text: String::new(),
            line: 0,
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of a child element, if present.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    // Builders for responses.
    pub fn with_text(name: &str, text: impl Into<String>) -> Element {
        let mut e = Element::new(name);
        e.text = text.into();
        e
    }

    pub fn push(&mut self, child: Element) -> &mut Element {
        self.children.push(child);
        self
    }

    pub fn add_text(&mut self, name: &str, text: impl Into<String>) -> &mut Element {
        self.children.push(Element::with_text(name, text));
        self
    }
}

/// Why a packet could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// 1-based line numbers of byte positions in the request, counted incrementally: the parser
/// asks for non-decreasing positions, so every byte is looked at once in all (issue 7: a
/// rescan from the start per start tag was quadratic, before authentication).
struct LineCounter<'a> {
    input: &'a [u8],
    /// The last position asked for (at most `input.len()`) and its line.
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(input: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            input,
            pos: 0,
            line: 1,
        }
    }

    /// The line of byte `pos`: one more than the newlines before it.
    fn line_of(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.input.len());
        let newlines = |bytes: &[u8]| bytes.iter().filter(|b| **b == b'\n').count();
        if pos >= self.pos {
            self.line += newlines(&self.input[self.pos..pos]);
        } else {
            // Earlier than last time (an error position): step back.
            self.line -= newlines(&self.input[pos..self.pos]);
        }
        self.pos = pos;
        self.line
    }
}

/// An XML name (element or attribute): a letter, `_` or `:` first, then letters, digits,
/// `-`, `.`, `_`, `:` or `·`. quick-xml takes whatever stands between `<` and a space, so an
/// empty or broken name is refused here (found by the `xml_roundtrip` fuzz target: `<></>` was
/// read as an element without a name, which the writer cannot write back as XML).
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '\u{B7}'))
}

/// Read a document into its root element.
pub fn parse(input: &[u8]) -> Result<Element, ParseError> {
    let text = std::str::from_utf8(input).map_err(|e| ParseError {
        line: LineCounter::new(input).line_of(e.valid_up_to()),
        message: "Input is not proper UTF-8, indicate encoding !".into(),
    })?;
    // XML 1.0 characters only: no control characters but tab, line feed and carriage return,
    // and no U+FFFE/U+FFFF (as libxml2 refuses them; NUL bytes inside a packet are not text).
    if let Some((pos, c)) = text.char_indices().find(|(_, c)| {
        (*c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        return Err(ParseError {
            line: LineCounter::new(input).line_of(pos),
            message: format!("Char 0x{:X} out of allowed range", u32::from(c)),
        });
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut lines = LineCounter::new(input);
    loop {
        let pos = reader.buffer_position() as usize;
        let line = lines.line_of(pos);
        let err = |message: String| ParseError { line, message };
        let event = reader.read_event().map_err(|e| ParseError {
            line: lines.line_of(reader.error_position() as usize),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(err(format!("more than {MAX_ELEMENTS} elements")));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                if root.is_some() {
                    return Err(err("Extra content at the end of the document".into()));
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                if !is_name(&name) {
                    return Err(err("StartTag: invalid element name".into()));
                }
                let mut el = Element::new(name);
                el.line = line;
                for a in s.attributes() {
                    let a = a.map_err(|e| err(e.to_string()))?;
                    if !is_name(&String::from_utf8_lossy(a.key.as_ref())) {
                        return Err(err("invalid attribute name".into()));
                    }
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| err(e.to_string()))?;
                    if let Some(c) = value.chars().find(|c| !xml_char(*c)) {
                        return Err(err(invalid_char_ref(c)));
                    }
                    el.attrs.push((
                        String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                        value.into_owned(),
                    ));
                }
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| err("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| err(e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(err("Start tag expected, '<' not found".into())),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| err(e.to_string()))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                    // A reference must name a character XML can hold (found by the plesk_packet
                    // fuzz target: `&#x14;` was taken).
                    Some(c) if !xml_char(c) => return Err(err(invalid_char_ref(c))),
                    Some(c) => c,
                    None => match r.decode().map_err(|e| err(e.to_string()))?.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(err(format!("Entity '{other}' not defined"))),
                    },
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(resolved);
                }
            }
            Event::DocType(_) => {
                return Err(err("DOCTYPE is not allowed in a request packet".into()))
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ParseError {
            line: lines.line_of(input.len()),
            message: "Premature end of data".into(),
        });
    }
    root.ok_or(ParseError {
        line: 1,
        message: "Document is empty".into(),
    })
}

/// An attribute value as written: the markup characters and quotes escaped, and also tab, line
/// feed and carriage return as character references, because a reader normalises them to
/// spaces when they stand in an attribute literally (found by the `xml_roundtrip` fuzz target:
/// a `version` attribute with `&#10;` came back with a space).
fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if !xml_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// libxml2's message for a character reference to a character XML cannot hold.
fn invalid_char_ref(c: char) -> String {
    format!("xmlParseCharRef: invalid xmlChar value {}", u32::from(c))
}

/// A character XML 1.0 can hold; the writer leaves the others out (a request may carry them in
/// a value that an answer echoes, and the answer must stay a document).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Element text as written: `&`, `<` and `>` escaped, and a carriage return as a character
/// reference (a reader turns a literal one into a line feed).
fn escape_text(value: &str) -> std::borrow::Cow<'_, str> {
    let value: std::borrow::Cow<'_, str> = if value.chars().all(xml_char) {
        value.into()
    } else {
        value
            .chars()
            .filter(|c| xml_char(*c))
            .collect::<String>()
            .into()
    };
    let escaped: std::borrow::Cow<'_, str> = match quick_xml::escape::partial_escape(value.as_ref())
    {
        std::borrow::Cow::Borrowed(_) => value.clone(),
        std::borrow::Cow::Owned(s) => s.into(),
    };
    if escaped.contains('\r') {
        std::borrow::Cow::Owned(escaped.replace('\r', "&#13;"))
    } else {
        escaped
    }
}

/// Serialise a document: XML declaration, then the tree; indented by two spaces when `pretty`.
/// Text escapes `&`, `<` and `>`; attribute values also quotes.
pub fn write(root: &Element, pretty: bool) -> String {
    use quick_xml::events::{BytesEnd, BytesStart, BytesText};
    fn element<W: std::io::Write>(
        w: &mut quick_xml::Writer<W>,
        el: &Element,
    ) -> std::io::Result<()> {
        let mut start = BytesStart::new(el.name.as_str());
        for (k, v) in &el.attrs {
            start.push_attribute(quick_xml::events::attributes::Attribute {
                key: quick_xml::name::QName(k.as_bytes()),
                value: std::borrow::Cow::Owned(escape_attr(v).into_bytes()),
            });
        }
        if el.children.is_empty() && el.text.is_empty() {
            return w.write_event(Event::Empty(start));
        }
        w.write_event(Event::Start(start))?;
        if el.children.is_empty() {
            let text = escape_text(&el.text);
            w.write_event(Event::Text(BytesText::from_escaped(text)))?;
        } else {
            for child in &el.children {
                element(w, child)?;
            }
        }
        w.write_event(Event::End(BytesEnd::new(el.name.as_str())))
    }
    let mut writer = if pretty {
        quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2)
    } else {
        quick_xml::Writer::new(Vec::new())
    };
    // Writing into memory cannot fail.
    let _ = element(&mut writer, root);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&String::from_utf8_lossy(&writer.into_inner()));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_what_it_should() {
        let p = parse(b"<?xml version=\"1.0\"?>\n<packet version=\"1.6\"><customer><add><gen_info><passwd>a&amp;b&#x41;</passwd></gen_info></add></customer></packet>").unwrap();
        assert_eq!(p.attr("version"), Some("1.6"));
        let pw = &p.children[0].children[0].children[0].children[0];
        assert_eq!(
            (pw.name.as_str(), pw.text.as_str(), pw.line),
            ("passwd", "a&bA", 2)
        );
        assert!(parse(b"<packet><wrongly formatted xml</packet>").is_err());
        assert!(parse(b"<!DOCTYPE x [<!ENTITY a \"b\">]><packet>&a;</packet>").is_err());
        assert!(parse(b"<packet>&xxe;</packet>").is_err());
        assert!(parse(b"<packet><a></packet>").is_err());
        assert!(parse(b"\xff\xfe").is_err());
        // Found by the plesk_packet fuzz target (fuzz/regressions/plesk_packet): a character
        // reference to a control character is not well-formed, in text or in an attribute.
        let input = include_bytes!("../../../fuzz/regressions/plesk_packet/charref-control.xml");
        assert!(parse(input).is_err());
        assert!(parse(b"<packet><a>&#x1;</a></packet>").is_err());
        assert!(parse(b"<packet><a>&#x9;&#xA;</a></packet>").is_ok());
        // Control characters are no XML text (hostile corpus: plesk/nul_bytes).
        assert!(parse(b"<packet>\x00<a/></packet>").is_err());
        assert!(parse(b"<packet><a>\x01</a></packet>").is_err());
        // Found by the xml_roundtrip fuzz target: names must be XML names.
        for bad in [&b"<></>"[..], b"<1a/>", b"<a b\"c=\"1\"/>", b"<-x/>"] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(deep.as_bytes()).is_err());
    }

    /// Found by the `xml_roundtrip` fuzz target (fuzz/regressions/xml_roundtrip): an attribute
    /// or text with a tab, line feed or carriage return comes back from the writer as it was.
    #[test]
    fn regression_fuzz_whitespace_in_attributes_and_text_round_trips() {
        let input = include_bytes!("../../../fuzz/regressions/xml_roundtrip/attribute-newline.xml");
        let tree = parse(input).unwrap();
        assert!(tree.attr("version").unwrap().contains('\n'));
        for pretty in [false, true] {
            let back = parse(write(&tree, pretty).as_bytes()).unwrap();
            assert_eq!(back.attrs, tree.attrs);
            assert_eq!(back.children[0].text, "a\r\nb\tc");
        }
        // Characters XML cannot hold are left out by the writer (an echoed value may have them).
        let mut el = Element::with_text("t", "a\u{FFFF}b\u{1}c");
        el.attrs.push(("v".into(), "x\u{FFFE}y".into()));
        let back = parse(write(&el, false).as_bytes()).unwrap();
        assert_eq!((back.text.as_str(), back.attr("v")), ("abc", Some("xy")));
    }

    /// The line of `pos` counted from the start, as before issue 7.
    fn naive_line(input: &[u8], pos: usize) -> usize {
        1 + input[..pos.min(input.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    #[test]
    fn line_counter_matches_a_full_count() {
        let input = b"a\nbc\n\n<d>\ne\n";
        let mut lines = LineCounter::new(input);
        for pos in [0, 1, 2, 2, 5, 6, 11, 12, 40, 3, 0, 7, 12] {
            assert_eq!(lines.line_of(pos), naive_line(input, pos), "{pos}");
        }
    }

    #[test]
    fn error_lines_stay_as_they_were() {
        for (input, line) in [
            (&b"<packet>\n<a>\n</b>\n</packet>"[..], 3),
            (b"\n\n<packet>\n<a>", 4),
            (b"<packet>\n</packet>\n<extra/>", 3),
            (b"<packet>\n\n&xxe;</packet>", 3),
            (b"\n<packet>\n<a \xff/>", 3),
            (b"\n\n<!DOCTYPE x>", 3),
            (b"\n  text", 1),
        ] {
            let e = parse(input).unwrap_err();
            assert_eq!(
                e.line,
                line,
                "{:?}: {}",
                String::from_utf8_lossy(input),
                e.message
            );
        }
    }

    #[test]
    fn regression_issue7_defect4_line_numbers_are_linear() {
        // Element lines in a packet at the element cap, behind a long first line.
        let mut body = format!("<packet>{}\n", " ".repeat(1 << 20));
        for i in 0..MAX_ELEMENTS - 1 {
            body.push_str(if i % 2 == 0 { "<a/>\n" } else { "<a>x</a>\n\n" });
        }
        body.push_str("</packet>");
        let p = parse(body.as_bytes()).unwrap();
        assert_eq!(p.line, 1);
        assert_eq!(p.children.len(), MAX_ELEMENTS - 1);
        let mut want = 2;
        for (i, c) in p.children.iter().enumerate() {
            assert_eq!(c.line, want, "child {i}");
            want += if i % 2 == 0 { 1 } else { 2 };
        }
        // 100k sibling start tags: refused at the first element over the cap, on its line.
        let many = format!("<packet>\n{}</packet>", "<a/>\n".repeat(100_000));
        let e = parse(many.as_bytes()).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (MAX_ELEMENTS + 1, "more than 20000 elements")
        );
        // 100k nested start tags: refused at the first one too deep.
        let nested = format!("<packet>\n{}", "<a>\n".repeat(100_000));
        let e = parse(nested.as_bytes()).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (MAX_DEPTH + 1, "elements nested deeper than 64")
        );
        // Unclosed elements: the error names the last line.
        let open = format!("<packet>{}", "\n<a>".repeat(MAX_DEPTH - 1));
        let e = parse(open.as_bytes()).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (MAX_DEPTH, "Premature end of data")
        );
    }

    #[test]
    fn writes_pretty_and_escaped() {
        let mut root = Element::new("packet");
        root.attrs.push(("version".into(), "1.6.9.1".into()));
        let mut r = Element::new("result");
        r.add_text("status", "ok").add_text("errtext", "a<b&c");
        root.push(r);
        assert_eq!(
            write(&root, true),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<packet version=\"1.6.9.1\">\n  <result>\n    <status>ok</status>\n    <errtext>a&lt;b&amp;c</errtext>\n  </result>\n</packet>\n"
        );
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // Issue 4: arbitrary bytes never panic the packet decoder.
        #[test]
        fn arbitrary_bytes_parse_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = super::parse(&body);
        }

        #[test]
        fn arbitrary_markup_parses_or_fails_cleanly(body in "(<[a-z]{1,3}( v=\"[^\"]{0,4}\")?/?>|</[a-z]{1,3}>|&[a-z#0-9]{0,5};|[^<&]{0,6}){0,40}") {
            let _ = super::parse(body.as_bytes());
        }
    }
}
