//! The Plesk XML packet API (`POST /enterprise/control/agent.php`) on panelgate's shared core.
//!
//! # What it emulates
//! Packets of protocol versions 1.6.3.0–1.6.9.1 (newest when a packet names none; prefixes such
//! as `1.6` resolve to the newest match), authenticated with `HTTP_AUTH_LOGIN` /
//! `HTTP_AUTH_PASSWD` (header names matched case-insensitively, underscores kept) or a `KEY`
//! secret key. Every answer is HTTP 200 `text/xml;charset=UTF-8`; failures before execution are
//! `<system>` errors (1001, 1005, 1014, 1029, 11003), failures of one operation are that
//! operation's `<result>` with `errcode`/`errtext`. The response mirrors the request: one
//! operator element per request operator, one operation element per request operation, in order.
//!
//! Operators served so far: `server` (`get_protos`, `get`: `gen_info`, `key`),
//! `customer` (`add`, `get`, `set`, `del`, every filter, `gen_info` + `stat`), `reseller`
//! (`add`, `get`, `set`, `del`, `gen-info`, `permissions`, `limits`), `secret_key` (`create`),
//! `webspace` (`add`, `get`, `del`) and all 15 `backup-manager` operations on the backup engine.
//! See protocols/plesk.md; the README's Plesk table lists what is not served yet.
//!
//! # A request's path
//! 1. the root tag alone is read for the version to echo, then the caller is authenticated by
//!    the core (login and password, or `KEY`);
//! 2. [`xml`]: the packet is parsed under caps (size, depth, element count, no DOCTYPE), and
//!    [`schema`] checks each operator against the schema rules panelgate knows (1014 with
//!    libxml2's wording);
//! 3. each operator runs in its module ([`server`], [`customer`], [`reseller`], [`webspace`],
//!    [`backup_manager`]) against the core; filters are grouped by [`filter_groups`];
//! 4. [`error::Fault`] is the one code/text table and the one mapping of core errors; the
//!    answer mirrors the request and is written by [`xml::write`].
//!
//! # Deviations
//! * Request validation is panelgate's own code, not libxml2 with Plesk's XSD: an unknown
//!   operator or operation and malformed XML answer 1014 with libxml2-style texts, but not every
//!   schema rule is checked yet.

pub mod backup_manager;
pub mod call;
pub mod customer;
pub mod error;
pub mod reseller;
pub mod schema;
pub mod server;
pub mod webspace;
/// The XML document model, reader and writer (shared, in `panelgate-http`).
pub use panelgate_http::xml;

use bytes::Bytes;
use http::{HeaderValue, Uri};
use panelgate_core::{Core, CredentialKind, Refusal};
use panelgate_http::{BoxFuture, Context, Frontend, Request, Response};

pub use crate::error::Fault;
use crate::xml::Element;

/// Protocol versions answered, oldest first (`server/get_protos`).
pub const PROTOCOLS: &[&str] = &[
    "1.6.3.0", "1.6.3.1", "1.6.3.2", "1.6.3.3", "1.6.3.4", "1.6.3.5", "1.6.4.0", "1.6.5.0",
    "1.6.6.0", "1.6.7.0", "1.6.8.0", "1.6.9.0", "1.6.9.1",
];
pub const NEWEST: &str = "1.6.9.1";

/// Operators of the 1.6.9.1 request schema, in schema order (libxml2 names the first ten).
const OPERATORS: &[&str] = &[
    "request-settings",
    "server",
    "customer",
    "webspace",
    "subdomain",
    "dns",
    "db_server",
    "mail",
    "certificate",
    "site-alias",
    "reseller",
    "reseller-plan",
    "aps",
    "ftp-user",
    "session",
    "updater",
    "locale",
    "log-rotation",
    "backup-manager",
    "sso",
    "ip",
    "event_log",
    "spamfilter",
    "secret_key",
    "ui",
    "admin",
    "service-plan",
    "virtdir",
    "site",
    "user",
    "role",
    "server-backup",
    "extension",
    "php-handler",
];

/// Resolve a packet's `version` attribute: absent → newest; a prefix → the newest match.
pub fn resolve_version(requested: Option<&str>) -> Option<&'static str> {
    match requested {
        None => Some(NEWEST),
        Some(v) => {
            let v = v.trim();
            PROTOCOLS
                .iter()
                .rev()
                .copied()
                .find(|p| *p == v || (p.starts_with(v) && p.as_bytes().get(v.len()) == Some(&b'.')))
        }
    }
}

/// Who sent the packet.
pub use panelgate_core::Principal;

/// The Plesk frontend.
#[derive(Clone, Debug)]
pub struct Plesk {
    core: Core,
    strict_backup_versions: bool,
}

/// What a packet is answered with: a packet, or (for `download-file`) the archive itself.
#[derive(Debug)]
pub enum Answer {
    Packet(Element),
    File(panelgate_core::backups::ArchiveFiles),
}

/// The last protocol version that has `backup-manager` (Plesk 17.5).
const LAST_BACKUP_VERSION: &str = "1.6.9.0";

fn version_le(a: &str, b: &str) -> bool {
    let parse = |v: &str| {
        v.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    parse(a) <= parse(b)
}

/// Everything an operator needs.
pub struct Ctx<'a> {
    pub core: &'a Core,
    pub principal: &'a Principal,
}

/// The root element's name and attributes, read from the packet's first start tag alone (no
/// children, no text): constant work before authentication. `None` when the input does not start
/// like a document.
pub fn packet_root(input: &[u8]) -> Option<Element> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    // A prolog longer than a few events is no packet worth a version lookup.
    for _ in 0..16 {
        buf.clear();
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let mut el = Element::new(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.ok()?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()?
                        .into_owned();
                    el.attrs.push((
                        String::from_utf8_lossy(attr.key.as_ref()).into_owned(),
                        value,
                    ));
                }
                return Some(el);
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::Text(_) => {}
            _ => return None,
        }
    }
    None
}

/// The parsed packet checked like Plesk's validator does before anything runs: a `packet` root
/// whose children are known operators (with `strict`, no `backup-manager` past the last protocol
/// version that has it). The `<system>` error a client gets otherwise.
pub fn check_packet(
    parsed: Result<Element, xml::ParseError>,
    version: &str,
    echo: &str,
    strict: bool,
) -> Result<Element, Element> {
    let packet = match parsed {
        Ok(p) => p,
        Err(e) => return Err(parser_error(echo, e.line, &e.message)),
    };
    if packet.name != "packet" {
        return Err(parser_error(
            echo,
            packet.line,
            &format!(
                "Element '{}': No matching global declaration available for the validation root.",
                packet.name
            ),
        ));
    }
    let strict_refuses = |c: &Element| {
        strict && c.name == "backup-manager" && !version_le(version, LAST_BACKUP_VERSION)
    };
    if let Some(bad) = packet
        .children
        .iter()
        .find(|c| !OPERATORS.contains(&c.name.as_str()) || strict_refuses(c))
    {
        return Err(parser_error(
            echo,
            bad.line,
            &format!(
                "Element '{}': This element is not expected. Expected is one of ( {} ).",
                bad.name,
                OPERATORS[..10].join(", ")
            ),
        ));
    }
    Ok(packet)
}

/// Every operator of the packet against its schema: the first violation as Plesk's parser error.
pub fn check_schemas(packet: &Element, echo: &str) -> Result<(), Element> {
    for op in &packet.children {
        if let Err((line, message)) = schema::check_operator(op) {
            return Err(parser_error(echo, line, &message));
        }
    }
    Ok(())
}

/// `<system>` error.
fn system_error(version: &str, code: u32, text: &str) -> Element {
    let mut packet = Element::new("packet");
    packet.attrs.push(("version".into(), version.into()));
    let mut sys = Element::new("system");
    sys.add_text("status", "error")
        .add_text("errcode", code.to_string())
        .add_text("errtext", text);
    packet.push(sys);
    packet
}

fn parser_error(version: &str, line: usize, message: &str) -> Element {
    system_error(
        version,
        1014,
        &format!("Parser error: Request is invalid. Error in line {line}: {message}"),
    )
}

/// The answer to an operation the schema has but panelgate does not serve.
pub fn unsupported() -> Element {
    Fault::Unsupported.result()
}

/// The objects a `<filter>` selects, grouped per criterion with its value (each result's
/// `filter-id`); no filter, or one without criteria, selects everything in one group.
///
/// A criterion repeated in the filter is answered once, and at most [`MAX_CRITERIA`] distinct
/// criteria are answered: the work of one operation is bounded by that times the objects the
/// caller sees, however long the packet.
pub fn filter_groups<T: Clone>(
    filter: Option<&Element>,
    all: Vec<T>,
    matches: impl Fn(&T, &str, &str) -> bool,
) -> Vec<(Option<String>, Vec<T>)> {
    match filter.filter(|f| !f.children.is_empty()) {
        None => vec![(None, all)],
        Some(f) => {
            let mut seen = std::collections::HashSet::new();
            f.children
                .iter()
                .filter(|crit| seen.insert((crit.name.as_str(), crit.text.trim())))
                .take(MAX_CRITERIA)
                .map(|crit| {
                    let v = crit.text.trim();
                    let hits = all
                        .iter()
                        .filter(|o| matches(o, &crit.name, v))
                        .cloned()
                        .collect();
                    (Some(v.to_owned()), hits)
                })
                .collect()
        }
    }
}

/// The most distinct criteria one filter is answered for.
pub const MAX_CRITERIA: usize = 1_000;

/// An operation's `<result>` with `<status>ok</status>`.
pub fn ok_result() -> Element {
    let mut r = Element::new("result");
    r.add_text("status", "ok");
    r
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    let dashed = name.replace('_', "-");
    req.headers
        .iter()
        .find(|(k, _)| {
            k.as_str().eq_ignore_ascii_case(name) || k.as_str().eq_ignore_ascii_case(&dashed)
        })
        .and_then(|(_, v)| v.to_str().ok())
}

impl Plesk {
    pub fn new(core: Core) -> Plesk {
        Plesk {
            core,
            strict_backup_versions: false,
        }
    }

    /// Strict mode: `backup-manager` only in packets of version 1.6.9.0 or older, answered with
    /// 1014 in 1.6.9.1 and version-less packets, as Plesk Obsidian does.
    pub fn strict_backup_versions(mut self, strict: bool) -> Plesk {
        self.strict_backup_versions = strict;
        self
    }

    /// Log in through the core; its refusals are answered with Plesk's codes.
    async fn authenticate(&self, req: &Request) -> Result<Principal, (u32, &'static str)> {
        let peer = req.peer.map(|p| p.ip());
        let wrong = (1001, "Authentication failed - wrong password.");
        if let Some(key) = header(req, "KEY") {
            let invalid = (11003, "PleskAPIInvalidSecretKeyException : Invalid secret key usage. Please check logs for details.");
            return match self
                .core
                .auth()
                .key(CredentialKind::Plesk, "", key, peer)
                .await
            {
                Ok(Ok(p)) => Ok(p),
                Ok(Err(
                    Refusal::BadCredentials
                    | Refusal::Throttled
                    | Refusal::Disabled { .. }
                    | Refusal::ApiNotAllowed { .. },
                )) => Err(invalid),
                Err(e) => {
                    tracing::error!(error = %e, "secret key check failed");
                    Err(invalid)
                }
            };
        }
        let (Some(login), Some(password)) = (
            header(req, "HTTP_AUTH_LOGIN"),
            header(req, "HTTP_AUTH_PASSWD"),
        ) else {
            return Err((1029, "Authentication method is not specified"));
        };
        match self.core.auth().password(login, password, peer).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(Refusal::Disabled { .. } | Refusal::ApiNotAllowed { .. })) => {
                Err((1011, "Account is disabled"))
            }
            Ok(Err(Refusal::BadCredentials | Refusal::Throttled)) => Err(wrong),
            Err(e) => {
                tracing::error!(error = %e, "password check failed");
                Err(wrong)
            }
        }
    }

    /// Answer one packet (the whole pipeline of protocols/plesk.md §1 "Order of check-ups").
    pub async fn answer(&self, req: &Request, cx: &Context) -> Answer {
        match self.answer_packet(req, cx).await {
            Ok(answer) => answer,
            Err(packet) => Answer::Packet(packet),
        }
    }

    async fn answer_packet(&self, req: &Request, cx: &Context) -> Result<Answer, Element> {
        // Only the root start tag is read before authentication (for the version to echo);
        // the packet itself is parsed once the caller is known.
        let root = match &req.body {
            panelgate_http::Body::Complete(b) => packet_root(b),
            panelgate_http::Body::TooLarge | panelgate_http::Body::TimedOut => None,
        };
        let (version, echo) = match &root {
            Some(p) if p.name == "packet" => match p.attr("version") {
                None => (NEWEST, NEWEST.to_owned()),
                Some(v) => match resolve_version(Some(v)) {
                    Some(resolved) => (resolved, v.to_owned()),
                    None => {
                        return Err(system_error(
                            v,
                            1005,
                            "XML API protocol version not supported.",
                        ))
                    }
                },
            },
            _ => (NEWEST, NEWEST.to_owned()),
        };
        let principal = match self.authenticate(req).await {
            Ok(p) => p,
            Err((code, text)) => return Err(system_error(&echo, code, text)),
        };
        cx.set_actor(principal.actor().label());
        let parsed = match &req.body {
            panelgate_http::Body::TooLarge => Err(xml::ParseError {
                line: 1,
                message: "the request packet is too large".into(),
            }),
            panelgate_http::Body::TimedOut => Err(xml::ParseError {
                line: 1,
                message: "the request packet was not received in time".into(),
            }),
            panelgate_http::Body::Complete(b) => xml::parse(b),
        };
        let packet = check_packet(parsed, version, &echo, self.strict_backup_versions)?;
        cx.set_call(
            packet
                .children
                .iter()
                .flat_map(|op| {
                    op.children
                        .iter()
                        .map(move |operation| format!("{}/{}", op.name, operation.name))
                })
                .take(16)
                .collect::<Vec<_>>()
                .join(","),
        );
        check_schemas(&packet, &echo)?;
        if let Some(fault) = cx.fault_point().await {
            let code = fault
                .code
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(1006);
            return Err(system_error(&echo, code, &fault.message));
        }
        let ctx = Ctx {
            core: &self.core,
            principal: &principal,
        };
        // `download-file` alone in a packet answers with the archive itself.
        if let [op] = packet.children.as_slice() {
            if let [download] = op.children.as_slice() {
                let call = call::Call::parse(&op.name, &download.name);
                if call == Some(call::Call::Backup(call::BackupOp::DownloadFile)) {
                    return match backup_manager::download(&ctx, download).await {
                        Ok(files) => Ok(Answer::File(files)),
                        Err(result) => {
                            let mut out = Element::new("packet");
                            out.attrs.push(("version".into(), echo.clone()));
                            let mut bm = Element::new("backup-manager");
                            let mut d = Element::new("download-file");
                            d.push(result);
                            bm.push(d);
                            out.push(bm);
                            Ok(Answer::Packet(out))
                        }
                    };
                }
            }
        }
        let mut out = Element::new("packet");
        out.attrs.push(("version".into(), echo.clone()));
        for op in packet
            .children
            .iter()
            .filter(|c| c.name != "request-settings")
        {
            let answered = match op.name.as_str() {
                "server" => server::run(&ctx, op, version).await,
                "customer" => customer::run(&ctx, op).await,
                "reseller" => reseller::run(&ctx, op).await,
                "secret_key" => server::secret_key(&ctx, op).await,
                "webspace" => webspace::run(&ctx, op).await,
                "site" => webspace::site(&ctx, op).await,
                "backup-manager" => backup_manager::run(&ctx, op).await,
                // In the schema, but not served by panelgate: every operation answers 1017.
                other => {
                    let mut el = Element::new(other);
                    for operation in &op.children {
                        let mut answered = Element::new(operation.name.clone());
                        answered.push(unsupported());
                        el.push(answered);
                    }
                    Ok(el)
                }
            };
            match answered {
                Ok(el) => {
                    out.push(el);
                }
                Err((name, line)) => {
                    return Err(parser_error(
                        &echo,
                        line,
                        &format!("Element '{name}': This element is not expected."),
                    ));
                }
            }
        }
        Ok(Answer::Packet(out))
    }
}

/// The result of running one operator: its response element, or the name and line of an
/// element the schema does not allow there (answered as a 1014 for the whole packet).
pub type OperatorResult = Result<Element, (String, usize)>;

impl Frontend for Plesk {
    fn protocol(&self) -> &'static str {
        "plesk"
    }

    fn matches(&self, uri: &Uri) -> bool {
        uri.path() == "/enterprise/control/agent.php"
    }

    fn handle<'a>(&'a self, req: Request, cx: &'a Context) -> BoxFuture<'a, Response> {
        Box::pin(self.respond(req, cx))
    }
}

impl Plesk {
    async fn respond(&self, req: Request, cx: &Context) -> Response {
        let pretty =
            header(&req, "HTTP_PRETTY_PRINT").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let packet = match self.answer(&req, cx).await {
            Answer::Packet(p) => p,
            Answer::File(files) => {
                return panelgate_http::download(&files.file_name, files.paths, files.size)
            }
        };
        let mut resp = panelgate_http::response(
            200,
            "text/xml;charset=UTF-8",
            Bytes::from(xml::write(&packet, pretty)),
        );
        resp.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static(
                "no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
            ),
        );
        resp.headers_mut()
            .insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
        resp
    }
}

/// A stable GUID-shaped string for objects that have none of their own.
pub fn guid_for(kind: &str, id: i64) -> String {
    use sha2::{Digest, Sha256};
    panelgate_core::types::format_guid(&Sha256::digest(format!("panelgate-{kind}-{id}").as_bytes()))
}

/// `YYYY-MM-DD` of a unix time.
pub fn date(unix: i64) -> String {
    panelgate_core::backups::date(unix)
}

#[cfg(test)]
mod tests {
    /// Found by the plesk_packet fuzz target (fuzz/regressions/plesk_packet): a version
    /// attribute with NUL bytes is echoed in the error packet, which must stay well-formed XML.
    #[test]
    fn regression_fuzz_echoed_version_with_nul_stays_xml() {
        let input = include_bytes!("../../../fuzz/regressions/plesk_packet/version-nul.xml");
        let root = packet_root(input).expect("the root start tag");
        let version = root.attr("version").expect("a version");
        assert!(version.contains('\0'));
        let answer = xml::write(
            &system_error(version, 1005, "XML API protocol version not supported."),
            false,
        );
        let back = xml::parse(answer.as_bytes()).expect("well-formed XML");
        assert_eq!(
            back.child("system").and_then(|s| s.child_text("errcode")),
            Some("1005")
        );
    }
    use super::*;

    #[test]
    fn version_prefixes_resolve_to_the_newest_match() {
        assert_eq!(resolve_version(None), Some("1.6.9.1"));
        assert_eq!(resolve_version(Some("1.6")), Some("1.6.9.1"));
        assert_eq!(resolve_version(Some("1.6.5")), Some("1.6.5.0"));
        assert_eq!(resolve_version(Some("1.6.7.0")), Some("1.6.7.0"));
        assert_eq!(resolve_version(Some("100.0.0")), None);
        assert_eq!(resolve_version(Some("1.6.1")), None);
        assert_eq!(resolve_version(Some("1.")), None);
    }
}
