//! The element-by-element comparison of an XML golden case with panelgate's answer, shared by
//! the Plesk and ISPsystem golden cases. Elements are matched in order; what a case lists in
//! `ignore` is not compared below its name, what panelgate adds (`extra`) is skipped, and what the
//! example has that panelgate cannot (`missing`) may be absent.

use panelgate_http::xml::Element;

/// How a protocol's attributes are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attrs {
    /// The same attributes, in the same order (Plesk).
    Exact,
    /// Attribute by attribute, with `ignore`, `missing` and `extra` applied to their names too
    /// (ISPsystem).
    ByName,
}

/// What a golden case allows to differ.
pub struct Rules<'a> {
    pub ignore: &'a [String],
    pub extra: &'a [String],
    pub missing: &'a [String],
    pub attrs: Attrs,
}

fn compare_attrs(
    want: &Element,
    got: &Element,
    rules: &Rules<'_>,
    here: &str,
) -> Result<(), String> {
    if rules.attrs == Attrs::Exact {
        return if want.attrs == got.attrs {
            Ok(())
        } else {
            Err(format!(
                "{here}: attributes {:?}, expected {:?}",
                got.attrs, want.attrs
            ))
        };
    }
    for (k, v) in &want.attrs {
        let ours = got.attrs.iter().find(|(gk, _)| gk == k).map(|(_, gv)| gv);
        match ours {
            Some(o) if o == v || rules.ignore.contains(k) => {}
            _ if rules.missing.contains(k) => {}
            other => return Err(format!("{here}@{k}: {other:?}, expected {v:?}")),
        }
    }
    if let Some((k, _)) = got
        .attrs
        .iter()
        .find(|(k, _)| !want.attrs.iter().any(|(w, _)| w == k) && !rules.extra.contains(k))
    {
        return Err(format!("{here}: unexpected attribute {k}"));
    }
    Ok(())
}

pub fn compare(want: &Element, got: &Element, rules: &Rules<'_>, path: &str) -> Result<(), String> {
    let here = format!("{path}/{}", want.name);
    if want.name != got.name {
        return Err(format!("{here}: got <{}>", got.name));
    }
    compare_attrs(want, got, rules, &here)?;
    if rules.ignore.contains(&want.name) {
        return Ok(());
    }
    if want.children.is_empty() && got.children.is_empty() {
        return if want.text.trim() == got.text.trim() {
            Ok(())
        } else {
            Err(format!(
                "{here}: text {:?}, expected {:?}",
                got.text.trim(),
                want.text.trim()
            ))
        };
    }
    let mut ours = got.children.iter().peekable();
    for w in &want.children {
        loop {
            match ours.peek() {
                Some(g) if g.name == w.name => {
                    compare(w, g, rules, &here)?;
                    ours.next();
                    break;
                }
                Some(g) if rules.extra.contains(&g.name) => {
                    ours.next();
                }
                _ if rules.missing.contains(&w.name) => break,
                Some(g) => {
                    return Err(format!(
                        "{here}: got <{}> where <{}> was expected",
                        g.name, w.name
                    ))
                }
                None => return Err(format!("{here}: <{}> is missing", w.name)),
            }
        }
    }
    if let Some(left) = ours.find(|g| !rules.extra.contains(&g.name)) {
        return Err(format!("{here}: unexpected <{}>", left.name));
    }
    Ok(())
}
