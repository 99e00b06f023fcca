//! The XML reader and writer every XML answer goes through: whatever the reader accepts, the
//! writer renders to a document the reader accepts again as the same tree, pretty or compact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_http::xml::{self, Element};

fn same(a: &Element, b: &Element, pretty: bool) {
    assert_eq!(a.name, b.name);
    assert_eq!(a.attrs, b.attrs);
    // Text between child elements is not written (nothing reads mixed content); a leaf's text
    // is kept exactly, pretty or not.
    if a.children.is_empty() {
        assert_eq!(a.text, b.text);
    }
    let _ = pretty;
    assert_eq!(a.children.len(), b.children.len());
    for (x, y) in a.children.iter().zip(&b.children) {
        same(x, y, pretty);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(tree) = xml::parse(data) else {
        return;
    };
    for pretty in [false, true] {
        let text = xml::write(&tree, pretty);
        let back = xml::parse(text.as_bytes()).expect("written XML parses");
        same(&tree, &back, pretty);
    }
});
