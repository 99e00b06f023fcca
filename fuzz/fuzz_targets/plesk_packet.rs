//! Plesk `agent.php`: a request packet → its root (read before authentication), the parsed
//! tree, the operator and schema checks.
//!
//! Asserts: the root read alone agrees with the full parse; every refusal is a `<packet>` with a
//! `<system>` error that serialises to XML our own reader accepts; an accepted packet re-renders
//! to a document that parses back to the same tree and passes the same checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_http::xml::{self, Element};
use panelgate_plesk::{check_packet, check_schemas, packet_root, resolve_version};

/// The same tree, apart from line numbers (a re-rendered document has its own) and the text
/// between child elements (no operation reads mixed content; the writer leaves it out).
/// Compared element by element: a shape built with `{:?}` strings grows exponentially with the
/// depth (each level escapes the one below), which made one 1.5 KB packet take 20 s.
fn same(a: &Element, b: &Element) -> bool {
    a.name == b.name
        && a.attrs == b.attrs
        && (!a.children.is_empty() || a.text == b.text)
        && a.children.len() == b.children.len()
        && a.children.iter().zip(&b.children).all(|(x, y)| same(x, y))
}

/// The answer as a client reads it (written, then parsed: characters XML cannot hold, which a
/// request may carry into an echoed version, are left out by the writer) is a `<packet>` with a
/// `<system>` error and a numeric errcode.
fn assert_system_error(answer: &Element) {
    let text = xml::write(answer, false);
    let back = xml::parse(text.as_bytes()).expect("an error answer is well-formed XML");
    assert_eq!(back.name, "packet");
    let system = back.child("system").expect("a <system> element");
    assert_eq!(system.child_text("status"), Some("error"));
    let code: u32 = system
        .child_text("errcode")
        .and_then(|c| c.parse().ok())
        .expect("a numeric errcode");
    assert!(code > 0);
    assert_eq!(back.children.len(), 1);
}

fuzz_target!(|data: &[u8]| {
    let strict = data.first().is_some_and(|b| b & 1 == 1);
    let root = packet_root(data);
    let requested = root.as_ref().and_then(|r| r.attr("version"));
    let version = match resolve_version(requested) {
        Some(v) => v,
        None => "1.6.9.1",
    };
    let echo = requested.unwrap_or(version);
    let parsed = xml::parse(data);
    if let (Some(root), Ok(tree)) = (&root, &parsed) {
        assert_eq!(root.name, tree.name);
        assert_eq!(root.attrs, tree.attrs);
    }
    let packet = match check_packet(parsed, version, echo, strict) {
        Ok(p) => p,
        Err(answer) => return assert_system_error(&answer),
    };
    let checked = check_schemas(&packet, echo);
    if let Err(answer) = &checked {
        assert_system_error(answer);
    }
    let text = xml::write(&packet, false);
    let again = xml::parse(text.as_bytes()).expect("a written packet parses");
    assert!(same(&again, &packet), "a written packet reads back as the same tree");
    let again = check_packet(Ok(again), version, echo, strict).expect("the same operators");
    assert_eq!(check_schemas(&again, echo).is_ok(), checked.is_ok());
});
