//! The one internal document model of every ISPsystem answer (protocols/ispsystem.md §3.1).
//!
//! A COREmanager answer is always one `<doc>` element; every output format (`xml`, `devel`,
//! `json`, `sjson`, `xjson`, `JSONdata`, `bjson`, `text`) is derived from it by
//! [`crate::render`]. A frontend builds a [`Doc`] (the function, the language, the panel binary,
//! the echoed request parameters and one [`Body`]) and never writes a format by hand.
//!
//! The body is one of the five shapes the spec knows:
//!
//! * [`List`]: `func=LIST` without `sok`: one `<elem>` per row, each column a child element,
//!   flags as empty elements, raw values in `orig`, and the paging elements; `p_elems` is
//!   **always** emitted (§3.1 "Lists": billmgr-addon treats a document as a list only when
//!   `p_elems` is present);
//! * [`Form`]: an object view or blank create form: the field values as direct children of
//!   `<doc>`, drop-down options as `<slist name><val key>label</val></slist>` (§3.1 "Forms");
//! * [`Okay`]: a successful action: `<ok/>`, and on a create `<id>` **and** `<elid>`
//!   (§3.1 "Successful action", the spec's [I] "emit `<id>` and `<elid>` for creates");
//! * [`Error`]: `<error type object lang>` with the two `<param>`s, `<detail>` and `<msg>`
//!   (§3.1 "Errors", "Minimum for compatibility"); an `auth` error also gets a sibling
//!   `<authfail/>` for ISP4-era clients (§2.4 [I]);
//! * `Auth`: `<auth id="ID" level="LEVEL">ID</auth>` (§2.2).
//!
//! [`Doc::to_node`] lays the answer out as a [`Node`] tree in the spec's element order:
//!
//! ```text
//! <doc lang func binary>
//!   [devel only: <metadata …/> <messages …/>]
//!   body (elem… plid plname p_num p_cnt p_elems | fields… slist… | ok id elid | error authfail | auth)
//!   <tparams>…</tparams>        (request parameters, credentials dropped; §2.2, §3.1)
//!   <saved_filters/>            (always present in the captures, §2.2 and §3.2)
//! </doc>
//! ```
//!
//! Names that do not come from this crate (form field names, request parameter names) may be
//! anything a client sent: request parameters whose names are not plain XML names are left out
//! of `<tparams>`, and the renderers mangle any other bad name into a valid one
//! ([`xml_name`]), so no input can break the document.

use std::borrow::Cow;
use std::collections::HashSet;

/// One element of the answer tree: a name, attributes in order, optional text and children.
///
/// Element names are expected to be plain XML names (`[A-Za-z_][A-Za-z0-9_.-]*`); see
/// [`xml_name`] for what the renderers do with others. A node has text *or* children in
/// practice (the model allows both; the renderers then write the text first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: Option<String>,
    pub children: Vec<Node>,
}

impl Node {
    /// An empty element `<name/>`.
    pub fn new(name: impl Into<String>) -> Node {
        Node {
            name: name.into(),
            ..Node::default()
        }
    }

    /// A leaf `<name>text</name>`.
    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Node {
        Node::new(name).text(text)
    }

    /// Adds an attribute (builder).
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Node {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// Sets the text (builder).
    pub fn text(mut self, text: impl Into<String>) -> Node {
        self.text = Some(text.into());
        self
    }

    /// Appends a child (builder).
    pub fn child(mut self, child: Node) -> Node {
        self.children.push(child);
        self
    }

    /// Appends a child in place.
    pub fn push(&mut self, child: Node) -> &mut Node {
        self.children.push(child);
        self
    }

    /// The value of an attribute.
    pub fn attr_value(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child of that name.
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The children of that name, in order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text, `""` when there is none.
    pub fn text_str(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }
}

/// Whether `name` is a plain XML element or attribute name: an ASCII letter or `_`, then ASCII
/// letters, digits, `_`, `-` and `.` (every ISPsystem function, field and parameter name is one,
/// e.g. `item.id`, `p_elems`, `clicked_button`). Deliberately narrower than XML's `Name`: no
/// `:` (namespaces) and no non-ASCII, which older parsers disagree on.
pub fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `name` made into a plain XML name ([`is_xml_name`]): every other character becomes `_`, and a
/// name that does not start with a letter or `_` gets a `_` in front (`""` → `_`,
/// `1st` → `_1st`, `a b` → `a_b`). Borrowed, at no cost, when the name is already fine.
pub fn xml_name(name: &str) -> Cow<'_, str> {
    if is_xml_name(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => out.push('_'),
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            c
        } else {
            '_'
        }
    }));
    Cow::Owned(out)
}

/// One column of a list row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `<name orig="ORIG">value</name>`; JSON `{"$orig":"ORIG","$":"value"}` (§3.1: a cell can
    /// carry a raw value in `orig`).
    Value {
        name: String,
        value: String,
        orig: Option<String>,
    },
    /// A boolean flag that is set: the empty element `<name/>` (§3.1: "A boolean flag is an
    /// empty element, present or absent"). A flag that is not set is simply no cell.
    Flag(String),
}

impl Cell {
    /// A plain column.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Cell {
        Cell::Value {
            name: name.into(),
            value: value.into(),
            orig: None,
        }
    }

    /// A column showing `value` with the raw value `orig` (e.g. status `4` shown as `Deleted`).
    pub fn with_orig(
        name: impl Into<String>,
        value: impl Into<String>,
        orig: impl Into<String>,
    ) -> Cell {
        Cell::Value {
            name: name.into(),
            value: value.into(),
            orig: Some(orig.into()),
        }
    }

    /// A set flag.
    pub fn flag(name: impl Into<String>) -> Cell {
        Cell::Flag(name.into())
    }

    /// The column name.
    pub fn name(&self) -> &str {
        match self {
            Cell::Value { name, .. } | Cell::Flag(name) => name,
        }
    }

    /// A column with an empty value and no `orig`. It is left out of the row in every format:
    /// the spec's JSONdata evidence (§3.2: "Empty columns appear to be left out") and, in XML,
    /// an empty `<name/>` would read as a *set flag* (§3.1).
    pub fn is_blank(&self) -> bool {
        matches!(self, Cell::Value { value, orig: None, .. } if value.is_empty())
    }

    /// The cell as an element, `None` when it is blank.
    pub fn to_node(&self) -> Option<Node> {
        if self.is_blank() {
            return None;
        }
        Some(match self {
            Cell::Value { name, value, orig } => {
                let mut n = Node::new(name.as_str());
                if let Some(o) = orig {
                    n = n.attr("orig", o.as_str());
                }
                n.text(value.as_str())
            }
            Cell::Flag(name) => Node::new(name.as_str()),
        })
    }
}

/// One list row.
pub type Row = Vec<Cell>;

/// What `out=devel` says about a list's columns (§3.1: `<metadata type="list" key="id"
/// keyname="name">` with `<coldata><col name=… type=…/>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The column holding the row id (`elid` of actions).
    pub key: String,
    /// The column holding the row's display name (`elname`).
    pub keyname: String,
    /// The columns, in order; empty means "the columns of the first row".
    pub columns: Vec<String>,
}

impl Default for Metadata {
    fn default() -> Metadata {
        Metadata {
            key: "id".into(),
            keyname: "name".into(),
            columns: Vec::new(),
        }
    }
}

/// A list answer (§3.1 "Lists", §4.4, §4.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct List {
    pub rows: Vec<Row>,
    /// The total number of rows (all pages); always emitted.
    pub p_elems: usize,
    /// The page shown (1-based), when the client asked for one.
    pub p_num: Option<usize>,
    /// The page size, when the client asked for one.
    pub p_cnt: Option<usize>,
    /// Columns for `out=devel`; `None` derives them from the first row.
    pub metadata: Option<Metadata>,
    /// The parent id of a nested list, echoed as `<plid>` (§4.4).
    pub plid: Option<String>,
    /// The parent's display name, echoed as `<plname>` (§4.4).
    pub plname: Option<String>,
}

impl List {
    /// An unpaged list: `p_elems` is the number of rows.
    pub fn new(rows: Vec<Row>) -> List {
        List {
            p_elems: rows.len(),
            rows,
            ..List::default()
        }
    }

    /// One page of `total` rows (`rows` is the page's content).
    pub fn paged(rows: Vec<Row>, p_num: usize, p_cnt: usize, total: usize) -> List {
        List {
            rows,
            p_elems: total,
            p_num: Some(p_num),
            p_cnt: Some(p_cnt),
            ..List::default()
        }
    }

    /// Sets the parent of a nested list (builder).
    pub fn with_parent(mut self, plid: impl Into<String>, plname: Option<String>) -> List {
        self.plid = Some(plid.into());
        self.plname = plname;
        self
    }

    /// Sets the devel metadata (builder).
    pub fn with_metadata(mut self, metadata: Metadata) -> List {
        self.metadata = Some(metadata);
        self
    }

    /// The columns of the devel metadata: the given ones, else the first row's (blank cells
    /// included, since they are still columns).
    pub fn columns(&self) -> Vec<&str> {
        match &self.metadata {
            Some(m) if !m.columns.is_empty() => m.columns.iter().map(String::as_str).collect(),
            _ => self
                .rows
                .first()
                .map(|r| r.iter().map(Cell::name).collect())
                .unwrap_or_default(),
        }
    }
}

/// A form / object view (§3.1 "Forms / object views").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// Field name and current value, in order; an empty value is an empty element.
    pub fields: Vec<(String, String)>,
    /// Drop-downs: field name and its `(key, label)` options, in order.
    pub slists: Vec<(String, Vec<(String, String)>)>,
}

impl Form {
    /// A form of these fields, without drop-downs.
    pub fn new<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Form {
        Form {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            slists: Vec::new(),
        }
    }

    /// Adds a drop-down (builder).
    pub fn with_slist<K: Into<String>, L: Into<String>>(
        mut self,
        field: impl Into<String>,
        options: impl IntoIterator<Item = (K, L)>,
    ) -> Form {
        self.slists.push((
            field.into(),
            options
                .into_iter()
                .map(|(k, l)| (k.into(), l.into()))
                .collect(),
        ));
        self
    }
}

/// A successful action (§3.1 "Successful action").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Okay {
    /// The id of a created object: rendered as `<id>` and `<elid>` (clients read either, §3.1).
    pub id: Option<String>,
}

/// An error answer (§3.1 "Errors", §2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Error {
    /// The `type`: `auth`, `access`, `missed`, `exists`, `value`, `empty`, `xml`, or any other
    /// free string (§3.1 error type table).
    pub kind: String,
    /// The `object` (`badpassword`, `elid`, `user`, a field name, …).
    pub object: String,
    /// The offending value (`<param name="value">`), possibly empty.
    pub value: String,
    /// The human message (`<detail>` and `<msg>`).
    pub msg: String,
}

impl Error {
    pub fn new(
        kind: impl Into<String>,
        object: impl Into<String>,
        value: impl Into<String>,
        msg: impl Into<String>,
    ) -> Error {
        Error {
            kind: kind.into(),
            object: object.into(),
            value: value.into(),
            msg: msg.into(),
        }
    }

    /// Bad login or password, bad or expired session: type `auth`, object `badpassword`
    /// (§2.4 capture).
    pub fn auth(msg: impl Into<String>) -> Error {
        Error::new("auth", "badpassword", "", msg)
    }

    /// Authenticated but not allowed (§3.1: `access`).
    pub fn access(object: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::new("access", object, "", msg)
    }

    /// Object or function not found (§3.1: `missed`).
    pub fn missed(
        object: impl Into<String>,
        value: impl Into<String>,
        msg: impl Into<String>,
    ) -> Error {
        Error::new("missed", object, value, msg)
    }

    /// Already exists (§3.1: `exists`).
    pub fn exists(
        object: impl Into<String>,
        value: impl Into<String>,
        msg: impl Into<String>,
    ) -> Error {
        Error::new("exists", object, value, msg)
    }

    /// Invalid parameter value, bad `elid` included (§3.1: `value`).
    pub fn value(
        object: impl Into<String>,
        value: impl Into<String>,
        msg: impl Into<String>,
    ) -> Error {
        Error::new("value", object, value, msg)
    }
}

/// What the answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    List(List),
    Form(Form),
    Ok(Okay),
    Error(Error),
    /// A session login: `<auth id="ID" level="LEVEL">ID</auth>` (§2.2).
    Auth {
        id: String,
        level: u32,
    },
}

impl Body {
    /// A plain `<ok/>`.
    pub fn ok() -> Body {
        Body::Ok(Okay::default())
    }

    /// `<ok/>` for a create, with the new id.
    pub fn created(id: impl Into<String>) -> Body {
        Body::Ok(Okay {
            id: Some(id.into()),
        })
    }
}

impl From<List> for Body {
    fn from(l: List) -> Body {
        Body::List(l)
    }
}

impl From<Form> for Body {
    fn from(f: Form) -> Body {
        Body::Form(f)
    }
}

impl From<Okay> for Body {
    fn from(o: Okay) -> Body {
        Body::Ok(o)
    }
}

impl From<Error> for Body {
    fn from(e: Error) -> Body {
        Body::Error(e)
    }
}

/// Request parameters never echoed in `<tparams>`: credentials and session ids. The password
/// is not echoed (§2.2 [C]); golden examples 3 and 6 (§6) show `authinfo` and `auth` left out
/// too; `key` is a one-time login key (§2.3), `passwd`/`confirm` the password fields of
/// `user.edit`-style forms (§6 example 9). Clients read nothing from `<tparams>`, so erring on
/// the side of dropping costs nothing.
pub const HIDDEN_TPARAMS: &[&str] = &["password", "passwd", "confirm", "authinfo", "auth", "key"];

/// Whether a request parameter is echoed in `<tparams>`: not a credential
/// ([`HIDDEN_TPARAMS`], compared without case) and a plain XML name ([`is_xml_name`]).
pub fn echoes_tparam(name: &str) -> bool {
    is_xml_name(name) && !HIDDEN_TPARAMS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// One ISPsystem answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    /// The `func` of the request, `<doc func>` (flutter_mgr5 requires it, §3.1).
    pub func: String,
    /// Message language, `<doc lang>` and `<error lang>`; `en` by default.
    pub lang: String,
    /// The panel binary path, `<doc binary>` (e.g. `/billmgr`); left out when empty.
    pub binary: String,
    pub body: Body,
    /// The request parameters in request order; credentials are dropped on output
    /// ([`echoes_tparam`]), so the frontend may pass them all.
    pub tparams: Vec<(String, String)>,
}

impl Doc {
    /// An answer to `func` in English, without binary or echoed parameters.
    pub fn new(func: impl Into<String>, body: impl Into<Body>) -> Doc {
        Doc {
            func: func.into(),
            lang: "en".into(),
            binary: String::new(),
            body: body.into(),
            tparams: Vec::new(),
        }
    }

    /// Sets the language (builder).
    pub fn with_lang(mut self, lang: impl Into<String>) -> Doc {
        self.lang = lang.into();
        self
    }

    /// Sets the panel binary (builder).
    pub fn with_binary(mut self, binary: impl Into<String>) -> Doc {
        self.binary = binary.into();
        self
    }

    /// Sets the request parameters to echo (builder).
    pub fn with_tparams<K: Into<String>, V: Into<String>>(
        mut self,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Doc {
        self.tparams = params
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The parameters `<tparams>` echoes, in order.
    pub fn echoed_tparams(&self) -> impl Iterator<Item = &(String, String)> {
        self.tparams.iter().filter(|(k, _)| echoes_tparam(k))
    }

    /// The answer as a `<doc>` tree (see the module docs for the element order); `devel` adds
    /// `<metadata>` and `<messages>` (§3.1, §3.2 `out=devel`).
    pub fn to_node(&self, devel: bool) -> Node {
        let mut doc = Node::new("doc");
        if !self.lang.is_empty() {
            doc = doc.attr("lang", self.lang.as_str());
        }
        doc = doc.attr("func", self.func.as_str());
        if !self.binary.is_empty() {
            doc = doc.attr("binary", self.binary.as_str());
        }
        if devel {
            self.push_devel(&mut doc);
        }
        match &self.body {
            Body::List(list) => {
                for row in &list.rows {
                    let mut elem = Node::new("elem");
                    elem.children.extend(row.iter().filter_map(Cell::to_node));
                    doc.push(elem);
                }
                if let Some(plid) = &list.plid {
                    doc.push(Node::leaf("plid", plid.as_str()));
                }
                if let Some(plname) = &list.plname {
                    doc.push(Node::leaf("plname", plname.as_str()));
                }
                if let Some(n) = list.p_num {
                    doc.push(Node::leaf("p_num", n.to_string()));
                }
                if let Some(n) = list.p_cnt {
                    doc.push(Node::leaf("p_cnt", n.to_string()));
                }
                doc.push(Node::leaf("p_elems", list.p_elems.to_string()));
            }
            Body::Form(form) => {
                for (name, value) in &form.fields {
                    doc.push(Node::leaf(name.as_str(), value.as_str()));
                }
                for (name, options) in &form.slists {
                    let mut slist = Node::new("slist").attr("name", name.as_str());
                    slist.children.extend(
                        options
                            .iter()
                            .map(|(k, l)| Node::leaf("val", l.as_str()).attr("key", k.as_str())),
                    );
                    doc.push(slist);
                }
            }
            Body::Ok(ok) => {
                doc.push(Node::new("ok"));
                if let Some(id) = &ok.id {
                    doc.push(Node::leaf("id", id.as_str()));
                    doc.push(Node::leaf("elid", id.as_str()));
                }
            }
            Body::Error(e) => {
                let lang = if self.lang.is_empty() {
                    "en"
                } else {
                    &self.lang
                };
                doc.push(
                    Node::new("error")
                        .attr("type", e.kind.as_str())
                        .attr("object", e.object.as_str())
                        .attr("lang", lang)
                        .child(
                            // `msg` on the object param as in golden example 2 (§6).
                            Node::leaf("param", e.object.as_str())
                                .attr("name", "object")
                                .attr("type", "msg")
                                .attr("msg", e.msg.as_str()),
                        )
                        .child(Node::leaf("param", e.value.as_str()).attr("name", "value"))
                        .child(Node::leaf("detail", e.msg.as_str()))
                        .child(Node::leaf("msg", e.msg.as_str())),
                );
                if e.kind == "auth" {
                    // §2.4 [I]: harmless for mgr5 clients, a clean failure for ISP4-era ones.
                    doc.push(Node::new("authfail"));
                }
            }
            Body::Auth { id, level } => {
                doc.push(
                    Node::leaf("auth", id.as_str())
                        .attr("id", id.as_str())
                        .attr("level", level.to_string()),
                );
            }
        }
        let mut tparams = Node::new("tparams");
        tparams.children.extend(
            self.echoed_tparams()
                .map(|(k, v)| Node::leaf(k.as_str(), v.as_str())),
        );
        if !tparams.children.is_empty() {
            doc.push(tparams);
        }
        doc.push(Node::new("saved_filters"));
        doc
    }

    /// `<metadata>` (lists and forms) and `<messages>` for `out=devel`. Shapes as flutter_mgr5
    /// reads them (§3.1, §5.2): list columns as `metadata/coldata/col[@name]`, form fields as
    /// `metadata/form/field[@name]/input|select`, labels as `messages/msg[@name]` (the column
    /// or field name itself, as the emulator has no message files), the title as
    /// `msg[@name="title"]`.
    fn push_devel(&self, doc: &mut Node) {
        let mut labels: Vec<&str> = Vec::new();
        match &self.body {
            Body::List(list) => {
                let meta = list.metadata.clone().unwrap_or_default();
                let columns = list.columns();
                let mut coldata = Node::new("coldata");
                coldata.children.extend(
                    columns
                        .iter()
                        .map(|c| Node::new("col").attr("name", *c).attr("type", "data")),
                );
                doc.push(
                    Node::new("metadata")
                        .attr("name", self.func.as_str())
                        .attr("type", "list")
                        .attr("key", meta.key)
                        .attr("keyname", meta.keyname)
                        .child(coldata),
                );
                labels = columns;
            }
            Body::Form(form) => {
                let mut f = Node::new("form");
                let selects: HashSet<&str> = form.slists.iter().map(|(s, _)| s.as_str()).collect();
                for (name, _) in &form.fields {
                    let control = if selects.contains(name.as_str()) {
                        Node::new("select").attr("name", name.as_str())
                    } else {
                        Node::new("input")
                            .attr("type", "text")
                            .attr("name", name.as_str())
                    };
                    f.push(
                        Node::new("field")
                            .attr("name", name.as_str())
                            .child(control),
                    );
                    labels.push(name);
                }
                f.push(
                    Node::new("buttons")
                        .child(Node::new("button").attr("name", "ok").attr("type", "ok"))
                        .child(
                            Node::new("button")
                                .attr("name", "cancel")
                                .attr("type", "cancel"),
                        ),
                );
                doc.push(
                    Node::new("metadata")
                        .attr("name", self.func.as_str())
                        .attr("type", "form")
                        .child(f),
                );
            }
            Body::Ok(_) | Body::Error(_) | Body::Auth { .. } => {}
        }
        let mut messages = Node::new("messages")
            .attr("name", self.func.as_str())
            .child(Node::leaf("msg", self.func.as_str()).attr("name", "title"));
        messages.children.extend(
            labels
                .into_iter()
                .map(|l| Node::leaf("msg", l).attr("name", l)),
        );
        doc.push(messages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // §3.1 "Lists" / "Forms" / "Successful action" / "Errors", §2.2: the tree's element order
    // and the always-present elements.
    #[test]
    fn tree_order_and_fixed_elements() {
        let list = Doc::new(
            "domain.record",
            List::new(vec![vec![
                Cell::new("rkey", "example.com. A  192.0.2.1"),
                Cell::new("ttl", ""),
                Cell::flag("active"),
            ]])
            .with_parent("example.com", None),
        )
        .with_tparams([
            ("func", "domain.record"),
            ("authinfo", "a:b"),
            ("elid", "example.com"),
        ]);
        let n = list.to_node(false);
        let names: Vec<&str> = n.children.iter().map(|c| c.name.as_str()).collect();
        // §6 example 4: elem, plid, p_elems; then tparams and saved_filters.
        assert_eq!(
            names,
            ["elem", "plid", "p_elems", "tparams", "saved_filters"]
        );
        let elem = &n.children[0];
        // The blank `ttl` is left out; the flag is an empty element.
        assert_eq!(
            elem.children,
            vec![
                Node::leaf("rkey", "example.com. A  192.0.2.1"),
                Node::new("active")
            ]
        );
        let tparams = n.find("tparams").expect("tparams");
        assert!(tparams.find("authinfo").is_none());
        assert_eq!(tparams.children.len(), 2);

        let created = Doc::new("user.edit", Body::created("42")).to_node(false);
        let names: Vec<&str> = created.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ok", "id", "elid", "saved_filters"]);

        let err = Doc::new("auth", Error::auth("bad")).to_node(false);
        assert!(err.find("authfail").is_some());
        let e = err.find("error").expect("error");
        assert_eq!(e.attr_value("type"), Some("auth"));
        assert_eq!(e.attr_value("lang"), Some("en"));

        let devel = list.to_node(true);
        assert_eq!(devel.children[0].name, "metadata");
        assert_eq!(devel.children[0].attr_value("type"), Some("list"));
        let cols: Vec<&str> = devel.children[0]
            .find("coldata")
            .expect("coldata")
            .children
            .iter()
            .filter_map(|c| c.attr_value("name"))
            .collect();
        assert_eq!(cols, ["rkey", "ttl", "active"]);
        assert_eq!(devel.children[1].name, "messages");
    }

    // Names from requests can be anything: they are made valid or left out of tparams.
    #[test]
    fn names() {
        assert!(is_xml_name("item.id"));
        assert!(!is_xml_name("1st"));
        assert_eq!(xml_name("a b"), "a_b");
        assert_eq!(xml_name("1st"), "_1st");
        assert_eq!(xml_name(""), "_");
        assert_eq!(xml_name("-x"), "_-x");
        assert!(!echoes_tparam("Password"));
        assert!(!echoes_tparam("a<b"));
        assert!(echoes_tparam("elid"));
    }
}
