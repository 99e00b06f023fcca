//! The hostile-input corpus (issue 14): every file of `fixtures/hostile/` is sent over a real
//! socket to a server built from the same configuration path `main` uses, and must be answered
//! in its API's own error shape (or refused by the HTTP layer, or closed) within its time bound.
//! Afterwards the store's digest (every table, every home and archive) is what it was before.
//!
//! The cases are written by `fixtures/hostile/generate.py`; see its header for the format.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use panelgate_server::config::{Config, ServeArgs};
use panelgate_server::AppOptions;
use panelgate_testkit::TestApp;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    api: String,
    method: Option<String>,
    target: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: Option<String>,
    body_b64: Option<String>,
    raw_b64: Option<String>,
    repeat: Option<Repeat>,
    slow_ms: Option<u64>,
    within_ms: Option<u64>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    prefix: String,
    unit: String,
    times: usize,
    suffix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    shape: String,
    status: Option<u16>,
    message: Option<String>,
    errcode: Option<u32>,
    format: Option<String>,
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64 in a hostile case")
}

impl Case {
    /// The bytes on the wire.
    fn wire(&self) -> Vec<u8> {
        let repeated = |r: &Repeat| {
            let mut out = r.prefix.as_bytes().to_vec();
            out.extend(r.unit.as_bytes().repeat(r.times));
            out.extend(r.suffix.as_bytes());
            out
        };
        if let Some(raw) = &self.raw_b64 {
            let mut out = b64(raw);
            if let Some(r) = &self.repeat {
                out.extend(repeated(r));
            }
            return out;
        }
        let mut body = match (&self.body, &self.body_b64) {
            (_, Some(b)) => b64(b),
            (Some(b), None) => b.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        if let Some(r) = &self.repeat {
            body.extend(repeated(r));
        }
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
            self.method.as_deref().unwrap_or("GET"),
            self.target.as_deref().expect("a target or raw bytes")
        )
        .into_bytes();
        for (k, v) in &self.headers {
            out.extend(format!("{k}: {v}\r\n").as_bytes());
        }
        out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend(body);
        out
    }
}

/// One answer read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Bytes after the first answer (a second answer means a request was smuggled through).
    rest: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn parse_answer(bytes: &[u8]) -> Result<Option<Answer>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("an answer without a blank line: {:?}", lossy(bytes)))?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("a bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let after = &bytes[end + 4..];
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let (body, rest) = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        let mut at = after;
        loop {
            let line_end = at
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("a chunk without its size line")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&at[..line_end])
                    .map_err(|e| e.to_string())?
                    .trim(),
                16,
            )
            .map_err(|e| e.to_string())?;
            at = &at[line_end + 2..];
            if size == 0 {
                at = at.get(2..).unwrap_or_default();
                break;
            }
            body.extend_from_slice(at.get(..size).ok_or("a chunk cut short")?);
            at = at.get(size + 2..).unwrap_or_default();
        }
        (body, at.to_vec())
    } else {
        let n = get("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(after.len())
            .min(after.len());
        (after[..n].to_vec(), after[n..].to_vec())
    };
    Ok(Some(Answer {
        status,
        headers,
        body,
        rest,
    }))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(400)]).into_owned()
}

/// Send a case and read until the server closes the connection (or the bound passes).
async fn exchange(addr: std::net::SocketAddr, case: &Case) -> Result<(Vec<u8>, Duration), String> {
    let bound = Duration::from_millis(case.within_ms.unwrap_or(10_000));
    let started = Instant::now();
    let wire = case.wire();
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut reader, mut writer) = stream.split();
    let send = async {
        match case.slow_ms {
            Some(ms) => {
                for b in &wire {
                    if writer.write_all(std::slice::from_ref(b)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
            None => {
                // The server may answer (and close) before it has read everything.
                let _ = writer.write_all(&wire).await;
            }
        }
    };
    let receive = async {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    let both = async {
        let ((), out) = tokio::join!(send, receive);
        out
    };
    match tokio::time::timeout(bound, both).await {
        Ok(out) => Ok((out, started.elapsed())),
        Err(_) => Err(format!(
            "no answer and no close within {} ms",
            bound.as_millis()
        )),
    }
}

/// Does `answer` have the shape the case expects?
fn check(case: &Case, answer: Option<&Answer>) -> Result<(), String> {
    let e = &case.expect;
    if let Some(a) = answer {
        let text = a.text().to_ascii_lowercase();
        for leak in ["panicked", "stack backtrace", "<html", "rust_backtrace"] {
            if text.contains(leak) {
                return Err(format!("the answer shows {leak:?}: {}", a.text()));
            }
        }
        if !a.rest.is_empty() {
            return Err(format!(
                "more than one answer on the connection (a smuggled request?): {}",
                lossy(&a.rest)
            ));
        }
        if let Some(status) = e.status {
            if a.status != status {
                return Err(format!(
                    "status {} instead of {status}: {}",
                    a.status,
                    lossy(&a.body)
                ));
            }
        }
    }
    let need = || answer.ok_or_else(|| "the connection closed without an answer".to_owned());
    match e.shape.as_str() {
        "froxlor" => {
            let a = need()?;
            if a.header("content-type") != Some("application/json") {
                return Err(format!("content type {:?}", a.header("content-type")));
            }
            let v: serde_json::Value = serde_json::from_slice(&a.body)
                .map_err(|err| format!("not JSON ({err}): {}", a.text()))?;
            let message = v["message"]
                .as_str()
                .ok_or_else(|| format!("no message: {v}"))?;
            if a.status < 400 {
                return Err(format!("status {} for an error", a.status));
            }
            if let Some(want) = &e.message {
                if message != want {
                    return Err(format!("message {message:?} instead of {want:?}"));
                }
            }
        }
        "froxlor-fatal" => {
            let a = need()?;
            if a.status != 500 || !a.body.is_empty() {
                return Err(format!("not PHP's empty 500: {} {}", a.status, a.text()));
            }
        }
        "plesk" => {
            let a = need()?;
            let doc = panelgate_http::xml::parse(&a.body)
                .map_err(|err| format!("not XML ({}): {}", err.message, lossy(&a.body)))?;
            if doc.name != "packet" || a.status != 200 {
                return Err(format!("not a packet: {} {}", a.status, lossy(&a.body)));
            }
            let mut errcodes = Vec::new();
            let mut stack = vec![&doc];
            while let Some(el) = stack.pop() {
                if el.child_text("status") == Some("error") {
                    errcodes.push(
                        el.child_text("errcode")
                            .and_then(|c| c.parse::<u32>().ok())
                            .ok_or_else(|| format!("an error without errcode: {}", a.text()))?,
                    );
                }
                stack.extend(el.children.iter());
            }
            if errcodes.is_empty() {
                return Err(format!("no error in the packet: {}", lossy(&a.body)));
            }
            if let Some(code) = e.errcode {
                if !errcodes.contains(&code) {
                    return Err(format!("errcodes {errcodes:?}, not {code}: {}", a.text()));
                }
            }
        }
        "ispsystem" => {
            let a = need()?;
            match e.format.as_deref() {
                Some("json") => {
                    let v: serde_json::Value = serde_json::from_slice(&a.body)
                        .map_err(|err| format!("not JSON ({err}): {}", lossy(&a.body)))?;
                    if v["doc"]["error"].is_null() {
                        return Err(format!("no doc.error: {}", lossy(&a.body)));
                    }
                }
                _ => {
                    let doc = panelgate_http::xml::parse(&a.body)
                        .map_err(|err| format!("not XML ({}): {}", err.message, lossy(&a.body)))?;
                    let error = doc
                        .child("error")
                        .filter(|_| doc.name == "doc")
                        .ok_or_else(|| format!("no doc/error: {}", lossy(&a.body)))?;
                    if error.attr("type").is_none() {
                        return Err(format!("an error without type: {}", a.text()));
                    }
                }
            }
        }
        // A read with out-of-range numbers is answered (clamped), as the panel does: any
        // well-formed document of the requested format.
        "ispsystem-doc" => {
            let a = need()?;
            let ok = match e.format.as_deref() {
                Some("json") => serde_json::from_slice::<serde_json::Value>(&a.body)
                    .is_ok_and(|v| v["doc"].is_object()),
                _ => panelgate_http::xml::parse(&a.body).is_ok_and(|d| d.name == "doc"),
            };
            if !ok {
                return Err(format!("not a document: {}", lossy(&a.body)));
            }
        }
        "httpapi" => {
            let a = need()?;
            if a.status != 500 {
                return Err(format!("status {} instead of 500: {}", a.status, a.text()));
            }
            match e.format.as_deref() {
                Some("xml") => {
                    panelgate_http::xml::parse(&a.body)
                        .map_err(|err| format!("not XML ({}): {}", err.message, a.text()))?;
                    if !a.text().contains("ERROR") {
                        return Err(format!("not an ERROR envelope: {}", a.text()));
                    }
                }
                _ => {
                    let v: serde_json::Value = serde_json::from_slice(&a.body)
                        .map_err(|err| format!("not JSON ({err}): {}", a.text()))?;
                    if v["status"] != "ERROR" || !v["message"].is_string() {
                        return Err(format!("not an ERROR envelope: {v}"));
                    }
                }
            }
        }
        "control" => {
            let a = need()?;
            if a.status < 400 {
                return Err(format!("status {} for a refusal: {}", a.status, a.text()));
            }
            let v: serde_json::Value = serde_json::from_slice(&a.body)
                .map_err(|err| format!("not JSON ({err}): {}", a.text()))?;
            if !v["error"].is_string() {
                return Err(format!("no error text: {v}"));
            }
        }
        "refused" => {
            if let Some(a) = answer {
                if a.status < 400 {
                    return Err(format!("accepted ({}): {}", a.status, lossy(&a.body)));
                }
            }
        }
        "closed-or-error" => {
            if let Some(a) = answer {
                if a.status < 400 && !a.text().contains("error") {
                    return Err(format!("answered {}: {}", a.status, lossy(&a.body)));
                }
            }
        }
        other => return Err(format!("unknown shape {other:?}")),
    }
    Ok(())
}

fn corpus() -> Vec<(PathBuf, Case)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/hostile");
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("reading fixtures/hostile");
        if entry.path().extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(entry.path()).expect("a case file");
            let case: Case =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
            out.push((entry.path().strip_prefix(&root).unwrap().to_owned(), case));
        }
    }
    out
}

#[test]
fn the_corpus_has_200_cases_over_every_api() {
    let cases = corpus();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    for api in [
        "froxlor",
        "plesk",
        "ispsystem",
        "httpapi",
        "control",
        "http",
    ] {
        let n = cases.iter().filter(|(_, c)| c.api == api).count();
        assert!(n >= 10, "{api}: {n} cases");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_its_api_error_and_changes_nothing() {
    // The settings as `main` resolves them: short read timeouts, so that the slow senders are
    // cut off quickly; every other limit is the default.
    let data = tempfile::tempdir().unwrap();
    let config = Config::resolve(&ServeArgs {
        data_dir: Some(data.path().to_owned()),
        body_read_timeout: Some(2),
        header_read_timeout: Some(2),
        ..ServeArgs::default()
    })
    .expect("a configuration");
    let t = TestApp::demo_with(AppOptions::from_config(&config), config.limits.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(panelgate_server::serve(
        t.app.clone(),
        listener,
        std::future::pending::<()>(),
    ));
    let before = t.core.snapshots().digest(&t.system).await.unwrap();

    let cases = corpus();
    // Eight at a time: the slow senders overlap the rest.
    let results: Vec<(PathBuf, Result<Duration, String>)> = {
        use futures::StreamExt;
        futures::stream::iter(cases.iter())
            .map(|(path, case)| async move {
                let outcome = match exchange(addr, case).await {
                    Ok((bytes, took)) => parse_answer(&bytes)
                        .and_then(|answer| check(case, answer.as_ref()))
                        .map(|()| took),
                    Err(e) => Err(e),
                };
                (
                    path.clone(),
                    outcome.map_err(|e| format!("{} ({}): {e}", path.display(), case.about)),
                )
            })
            .buffer_unordered(8)
            .collect()
            .await
    };
    let failures: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    let slowest = results
        .iter()
        .filter_map(|(p, r)| r.as_ref().ok().map(|d| (d, p)))
        .max();
    println!(
        "{} hostile cases, {} failed; slowest {:?}",
        results.len(),
        failures.len(),
        slowest
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        results.len(),
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let after = t.core.snapshots().digest(&t.system).await.unwrap();
    assert_eq!(before, after, "a hostile request changed the store");
    server.abort();
}
