//! Request and answer texts laid out for reading: JSON indented, XML one element per line.
//! Display only (the result is escaped by the page); a text that is neither is left as it is.

/// The most bytes laid out; a longer text is shown as it is.
const MAX: usize = 64 * 1024;

/// A journal text, `METHOD target` and the body after a blank line: the body laid out.
pub fn message(text: &str) -> String {
    match text.split_once("\n\n") {
        Some((head, body)) => format!("{head}\n\n{}", self::body(body)),
        None => text.to_owned(),
    }
}

/// A body laid out when it is JSON or XML.
pub fn body(text: &str) -> String {
    let t = text.trim();
    if t.len() > MAX {
        return text.to_owned();
    }
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
            return serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned());
        }
    }
    if t.starts_with('<') && !t.contains("\n  <") {
        return xml(t);
    }
    text.to_owned()
}

/// XML with one element per line, indented by depth; an element holding only text stays on
/// its line. Linear in the text; a malformed text is laid out as far as it reads.
fn xml(t: &str) -> String {
    let mut out = String::with_capacity(t.len() * 2);
    let mut depth: usize = 0;
    let mut rest = t;
    // Whether the last thing written was an opening tag (its text and end follow inline).
    let mut open_inline = false;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let tag = &rest[..end];
            rest = &rest[end..];
            let closing = tag.starts_with("</");
            let special = tag.starts_with("<?") || tag.starts_with("<!");
            let empty = tag.ends_with("/>");
            if closing {
                depth = depth.saturating_sub(1);
                if !open_inline {
                    newline(&mut out, depth);
                }
                out.push_str(tag);
                open_inline = false;
            } else {
                newline(&mut out, depth);
                out.push_str(tag);
                open_inline = !special && !empty;
                if open_inline {
                    depth += 1;
                }
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = rest[..end].trim();
            rest = &rest[end..];
            if !text.is_empty() {
                if !open_inline {
                    newline(&mut out, depth);
                }
                out.push_str(text);
            } else {
                continue;
            }
            // Text keeps the element inline only up to its end tag.
            if !rest.starts_with("</") {
                open_inline = false;
            }
        }
    }
    out.trim_start().to_owned()
}

fn newline(out: &mut String, depth: usize) {
    if !out.is_empty() {
        out.push('\n');
    }
    for _ in 0..depth.min(32) {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_xml_and_json() {
        assert_eq!(
            body("<packet><customer><get><filter/><x>1</x></get></customer></packet>"),
            "<packet>\n  <customer>\n    <get>\n      <filter/>\n      <x>1</x>\n    </get>\n  </customer>\n</packet>"
        );
        assert_eq!(body(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(body("a=1&b=2"), "a=1&b=2");
        assert_eq!(
            message("POST /api.php\n\n{\"command\":\"x\"}"),
            "POST /api.php\n\n{\n  \"command\": \"x\"\n}"
        );
        // Malformed: laid out as far as it reads, no panic.
        for bad in ["<", "<a", "</a></b>", "<a>text", "<<<>>>", "<a><b>t</a>"] {
            let _ = body(bad);
        }
    }
}
