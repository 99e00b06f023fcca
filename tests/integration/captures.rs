//! Reading the recorded Froxlor exchanges of ../shared/captures (format: its README §2).

use std::path::PathBuf;

/// `../shared` beside the checkout (or `PANELGATE_SHARED_DIR`). `None` when it is not there; the
/// caller skips with a printed reason unless `PANELGATE_REQUIRE_SHARED` is set (CI sets it).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PANELGATE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    if dir.join("captures").is_dir() {
        Some(dir)
    } else if std::env::var_os("PANELGATE_REQUIRE_SHARED").is_some() {
        panic!(
            "{} is missing and PANELGATE_REQUIRE_SHARED is set",
            dir.display()
        );
    } else {
        eprintln!(
            "skipped: {} (the shared captures) is not beside this checkout",
            dir.display()
        );
        None
    }
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub method: String,
    pub target: String,
    /// `key:secret`, or `None` for no Authorization header.
    pub auth: Option<String>,
    pub body: String,
    pub status: u16,
    /// Response headers (name, value) in order.
    pub headers: Vec<(String, String)>,
    pub response_body: String,
}

pub fn parse(name: &str, text: &str) -> Capture {
    let (request, response) = text
        .split_once("### RESPONSE:\n")
        .expect("capture has a response");
    let mut req_lines = request.splitn(2, '\n');
    let head = req_lines
        .next()
        .unwrap()
        .trim_start_matches("### REQUEST: ");
    let body = req_lines
        .next()
        .unwrap_or("")
        .trim_end_matches('\n')
        .to_owned();
    let mut words = head.split(' ');
    let method = words.next().unwrap().to_owned();
    let target = words.next().unwrap().to_owned();
    let auth = words.next().unwrap().trim_start_matches("auth=");
    let auth = (auth != "-").then(|| auth.to_owned());
    let (head, resp_body) = response
        .split_once("\r\n\r\n")
        .expect("header/body separator");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Capture {
        name: name.to_owned(),
        method,
        target,
        auth,
        body,
        status,
        headers,
        response_body: resp_body.trim_end_matches('\n').to_owned(),
    }
}

/// One step of a `.sequence` file.
#[derive(Debug, Clone)]
pub enum Step {
    File(String),
    State(String),
    Send { auth: String, body: String },
}

pub fn sequence(text: &str) -> Vec<Step> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (kind, rest) = l.split_once(' ').unwrap();
            match kind {
                "file" => Step::File(rest.to_owned()),
                "state" => Step::State(rest.to_owned()),
                "send" => {
                    let (auth, body) = rest.split_once(' ').unwrap();
                    Step::Send {
                        auth: auth.to_owned(),
                        body: body.to_owned(),
                    }
                }
                other => panic!("unknown sequence step {other}"),
            }
        })
        .collect()
}
