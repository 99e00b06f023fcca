//! The real `panelgate` binary over a real socket: startup output, the README's curl line,
//! health, graceful shutdown on SIGTERM, and a restart on the same data directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

mod support;
use support::{start, start_with, start_with_env};

/// Send one raw request (head and body) and read the whole answer (`Connection: close`):
/// the status, the headers (names lower-cased) and the body, parsed with httparse.
fn exchange_bytes(addr: &str, head: &str, body: &[u8]) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(at)) = resp.parse(&out) else {
        return (0, Vec::new(), String::from_utf8_lossy(&out).into_owned());
    };
    let status = resp.code.unwrap_or(0);
    let headers = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    (
        status,
        headers,
        String::from_utf8_lossy(&out[at..]).into_owned(),
    )
}

fn http(addr: &str, request: &str) -> (u16, String) {
    let (status, _, body) = exchange_bytes(addr, request, b"");
    (status, body)
}

/// HTTP Basic credentials of the demo admin's Froxlor key.
fn admin_basic() -> String {
    base64::engine::general_purpose::STANDARD
        .encode("demo-froxlor-admin-key:demo-froxlor-admin-secret")
}

/// A Froxlor command as the demo admin, on a connection of its own.
fn froxlor(addr: &str, body: &str) -> (u16, String) {
    http(
        addr,
        &format!(
            "POST /api.php HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            admin_basic(),
            body.len()
        ),
    )
}

fn froxlor_listing(addr: &str) -> (u16, String) {
    froxlor(addr, r#"{"command":"Customers.listing"}"#)
}

/// `POST path` with `body` (the control API), on a connection of its own.
fn post(addr: &str, path: &str, body: &str) -> (u16, String) {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn binary_serves_demo_data_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    assert!(
        server.banner.contains("demo data loaded"),
        "{}",
        server.banner
    );
    assert!(server
        .banner
        .contains("demo-froxlor-admin-key:demo-froxlor-admin-secret"));
    assert!(server.banner.contains("curl -s -u demo-froxlor-admin-key"));
    assert_eq!(
        server.banner.matches("  Froxlor:  curl").count(),
        1,
        "{}",
        server.banner
    );
    assert_eq!(
        server.banner.matches("  Plesk:    curl").count(),
        1,
        "{}",
        server.banner
    );

    // The README's first curl line.
    let (status, body) = froxlor_listing(&server.addr);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("{\n    \"data\": {\n        \"count\": 2,\n        \"list\": ["),
        "{body}"
    );
    let (status, body) = http(
        &server.addr,
        "GET /_panelgate/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok", "{body}");

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "panelgate did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // Same data directory again: the data is kept and the demo set is not loaded twice.
    let again = start(dir.path());
    assert!(
        !again.banner.contains("demo data loaded"),
        "{}",
        again.banner
    );
    let (status, body) = froxlor_listing(&again.addr);
    assert_eq!(status, 200);
    assert!(body.contains("\"count\": 2"), "{body}");
}

fn get_json(addr: &str, path: &str) -> serde_json::Value {
    let (status, body) = http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Pseudo-random, incompressible bytes (xorshift), fast enough for tens of megabytes.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

// Issue 3 acceptance: SIGKILL while an archive is being written leaves no listed archive, no
// archive file and no task stuck in `working` after a restart (a real child process).
#[test]
fn sigkill_while_writing_leaves_no_half_archive() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("homes").join("customer1");
    std::fs::create_dir_all(&home).unwrap();
    for i in 0..4 {
        std::fs::write(
            home.join(format!("blob{i}.bin")),
            noise(24 << 20, 0x9e37_79b9_7f4a_7c15 + i),
        )
        .unwrap();
    }
    let mut server = start(dir.path());
    let (status, body) = http(&server.addr, "POST /_panelgate/backups?scope=customer:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 201, "{body}");
    let task: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = task["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let storage = dir.path().join("backups");
    loop {
        let t = get_json(&server.addr, &format!("/_panelgate/tasks/{id}"));
        let writing = std::fs::read_dir(&storage)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false);
        if t["state"] == "working" && writing {
            break;
        }
        assert_ne!(
            t["state"], "finished",
            "the archive was written before the kill; make the home bigger"
        );
        assert!(Instant::now() < deadline, "the task never started: {t}");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let again = start(dir.path());
    let tasks = get_json(&again.addr, "/_panelgate/tasks");
    let t = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(t["state"], "failed", "{t}");
    assert!(t["error"].as_str().unwrap().contains("interrupted"), "{t}");
    assert!(tasks
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["state"] != "working"));
    assert_eq!(
        get_json(&again.addr, "/_panelgate/archives"),
        serde_json::json!([])
    );
    let left: Vec<_> = std::fs::read_dir(&storage)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files left in storage: {left:?}");
}

fn request_with(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let (status, _, body) = exchange_bytes(addr, head, body);
    (status, body)
}

// Issue 7, defect 3: `--control-token` was ignored by the binary, so any loopback client (and
// everything behind a local reverse proxy) reached the control API. With a token, every client
// must send it, loopback included.
#[test]
fn regression_issue7_defect3_control_token_is_applied_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &["--control-token", "s3cret-token"]);
    let get = |auth: &str| {
        request_with(
            &server.addr,
            &format!(
                "GET /_panelgate/tasks HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
            ),
            b"",
        )
    };
    assert_eq!(get("").0, 403, "no token from loopback");
    assert_eq!(get("Authorization: Bearer wrong\r\n").0, 403, "wrong token");
    assert_eq!(
        get("Authorization: Basic czNjcmV0LXRva2Vu\r\n").0,
        403,
        "not a bearer token"
    );
    let (status, body) = get("Authorization: Bearer s3cret-token\r\n");
    assert_eq!(status, 200, "{body}");
}

// Issue 7, defect 3: `upload_limit` (TOML) and Plesk strict mode (here by its environment
// variable) were ignored by the binary.
#[test]
fn regression_issue7_defect3_upload_limit_and_plesk_strict_are_applied_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("panelgate.toml");
    std::fs::write(&config, "upload_limit = 1000\n").unwrap();
    let data = dir.path().join("data");
    let server = start_with_env(
        &data,
        &["--config", config.to_str().unwrap()],
        &[("PANELGATE_PLESK_STRICT", "true")],
    );
    let body = vec![0u8; 5000];
    let (status, answer) = request_with(
        &server.addr,
        &format!(
            "POST /_panelgate/archives HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        &body,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("larger than 1000 bytes"), "{answer}");
    let packet = r#"<packet version="1.6.9.1"><backup-manager><get-supported-protocols/></backup-manager></packet>"#;
    let (status, answer) = request_with(
        &server.addr,
        &format!(
            "POST /enterprise/control/agent.php HTTP/1.1\r\nHost: x\r\nHTTP_AUTH_LOGIN: admin\r\nHTTP_AUTH_PASSWD: changeme1Q**\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            packet.len()
        ),
        packet.as_bytes(),
    );
    assert_eq!(status, 200);
    assert!(
        answer.contains("<errcode>1014</errcode>"),
        "strict mode: {answer}"
    );
}

// Issue 7, defect 12: a client that sends its body slowly is answered after the body-read
// timeout instead of holding the connection and its buffer forever.
#[test]
fn regression_issue7_defect12_slow_body_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &["--body-read-timeout", "1"]);
    let started = Instant::now();
    let auth = base64::engine::general_purpose::STANDARD
        .encode("demo-froxlor-admin-key:demo-froxlor-admin-secret");
    let (status, body) = request_with(
        &server.addr,
        &format!("POST /api.php HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"),
        b"{\"command\":",
    );
    let took = started.elapsed();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Empty request body."), "{body}");
    assert!(took < Duration::from_secs(20), "answered after {took:?}");
}

// Issue 7, defect 12: with the connection cap reached, a further client waits until a slot is
// free (here: the idle first connection is dropped by the header-read timeout).
#[test]
fn regression_issue7_defect12_connection_cap_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(
        dir.path(),
        &["--max-connections", "1", "--header-read-timeout", "2"],
    );
    let idle = TcpStream::connect(&server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (status, _) = request_with(
        &server.addr,
        "GET /_panelgate/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        waited >= Duration::from_millis(1000),
        "the second client was served while the first held the only slot ({waited:?})"
    );
    drop(idle);
}

// Issue 7, defect 5: failed logins are limited per address and login; the limit comes from the
// TOML file's `[limits]` and is applied by the binary (past it, even the right secret is refused
// without hashing, until the minute is over).
#[test]
fn regression_issue7_defect5_failed_login_limit_from_toml() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("panelgate.toml");
    std::fs::write(&config, "[limits]\nfailed_logins_per_minute = 3\n").unwrap();
    let server = start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let call = |secret: &str| {
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("demo-froxlor-admin-key:{secret}"));
        let body = r#"{"command":"Customers.listingCount"}"#;
        request_with(
            &server.addr,
            &format!("POST /api.php HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()),
            body.as_bytes(),
        )
    };
    assert_eq!(call("demo-froxlor-admin-secret").0, 200);
    for _ in 0..3 {
        assert_eq!(call("wrong").0, 403);
    }
    let (status, body) = call("demo-froxlor-admin-secret");
    assert_eq!(status, 403, "throttled: {body}");
    assert!(body.contains("Invalid authorization credentials"), "{body}");
}

fn exchange(addr: &str, request: &str) -> (u16, Vec<(String, String)>, String) {
    exchange_bytes(addr, request, b"")
}

// Issue 8: every answer of every API carries `X-Request-Id` (the client's, or a new one), and
// with `--log-format json` each request writes exactly one log line with the six fields.
#[test]
fn every_answer_has_a_request_id_and_one_json_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("PANELGATE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start panelgate");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "no banner");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
        }
        if line.contains("health:") {
            break;
        }
    }
    let addr = addr.unwrap();
    let auth = base64::engine::general_purpose::STANDARD
        .encode("demo-froxlor-admin-key:demo-froxlor-admin-secret");
    let froxlor = r#"{"command":"Customers.listingCount"}"#;
    let plesk =
        "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>";
    let requests = [
        (
            "froxlor",
            Some("client-chosen-id-1"),
            format!("POST /api.php HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-chosen-id-1\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{froxlor}", froxlor.len()),
        ),
        (
            "plesk",
            None,
            format!("POST /enterprise/control/agent.php HTTP/1.1\r\nHost: x\r\nHTTP_AUTH_LOGIN: admin\r\nHTTP_AUTH_PASSWD: changeme1Q**\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{plesk}", plesk.len()),
        ),
        ("control", None, "GET /_panelgate/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()),
        ("control", None, "POST /_panelgate/archives HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc".to_owned()),
        ("none", Some("bad id!"), "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id!\r\nConnection: close\r\n\r\n".to_owned()),
    ];
    let mut ids = Vec::new();
    for (protocol, given, request) in &requests {
        let (status, headers, body) = exchange(&addr, request);
        assert!(status > 0, "{protocol}: {body}");
        let id = headers
            .iter()
            .find(|(k, _)| k == "x-request-id")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{protocol}: no X-Request-Id in {headers:?}"));
        match given {
            Some(g) if !g.contains(' ') => assert_eq!(&id, g),
            _ => assert_eq!(id.len(), 36, "a fresh id: {id}"),
        }
        ids.push((*protocol, id, status));
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    child.wait().unwrap();
    let lines: Vec<serde_json::Value> = rest
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for (protocol, id, status) in &ids {
        let mine: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l.to_string().contains(id.as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "{protocol}: lines for {id}: {mine:?}");
        let fields = &mine[0]["fields"];
        assert_eq!(fields["request.id"], id.as_str(), "{fields}");
        assert_eq!(fields["protocol"], *protocol, "{fields}");
        assert_eq!(fields["status"], *status, "{fields}");
        assert!(fields["elapsed_ms"].is_number(), "{fields}");
        assert!(
            fields.get("call").is_some() && fields.get("actor").is_some(),
            "{fields}"
        );
    }
    let froxlor_line = lines
        .iter()
        .find(|l| l["fields"]["protocol"] == "froxlor")
        .unwrap();
    assert_eq!(froxlor_line["fields"]["call"], "Customers.listingCount");
    assert_eq!(froxlor_line["fields"]["actor"], "admin:1");
    let plesk_line = lines
        .iter()
        .find(|l| l["fields"]["protocol"] == "plesk")
        .unwrap();
    assert_eq!(plesk_line["fields"]["call"], "customer/get");
}

/// The real binary runs its backup worker (`ready`), exports metrics, moves its clock and
/// resets to the demo data through the control API; the reset's duration is printed.
#[test]
fn binary_is_ready_exports_metrics_steers_its_clock_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let post = |path: &str, body: &str| post(&server.addr, path, body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http(
            &server.addr,
            "GET /_panelgate/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let before: serde_json::Value =
        serde_json::from_str(&post("/_panelgate/clock", r#"{"advance": 86400}"#).1).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (before["now"].as_i64().unwrap() - now - 86_400).abs() <= 2,
        "{before}"
    );

    // A change, then a reset: the demo data is back.
    let (status, body) = froxlor(
        &server.addr,
        r#"{"command":"Customers.delete","params":{"id":2}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(froxlor_listing(&server.addr).1.contains("\"count\": 1"));
    let (status, body) = post("/_panelgate/reset", "");
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    println!(
        "POST /_panelgate/reset with the demo data on SQLite: {:.1} ms",
        report["took_ms"].as_f64().unwrap()
    );
    assert!(froxlor_listing(&server.addr).1.contains("\"count\": 2"));

    // Seven reads of one call more, then the exposition, read by a Prometheus text parser: the
    // counters are the requests this process answered.
    for _ in 0..7 {
        let (status, _) = froxlor(
            &server.addr,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        );
        assert_eq!(status, 200);
    }
    let (status, metrics) = http(
        &server.addr,
        "GET /_panelgate/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{e}: {metrics}"));
    let sample = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(h) => {
                    h.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(_) => f64::NAN,
            })
    };
    let froxlor_ok = |call| {
        sample(
            "panelgate_requests_total",
            &[("protocol", "froxlor"), ("call", call), ("status", "200")],
        )
    };
    assert_eq!(froxlor_ok("Customers.listing"), Some(2.0), "{metrics}");
    assert_eq!(froxlor_ok("Customers.get"), Some(7.0), "{metrics}");
    assert_eq!(froxlor_ok("Customers.delete"), Some(1.0), "{metrics}");
    assert_eq!(
        sample(
            "panelgate_request_duration_seconds",
            &[("protocol", "froxlor"), ("call", "Customers.get")]
        ),
        Some(7.0),
        "the histogram counts every request: {metrics}"
    );
    assert!(
        sample(
            "panelgate_db_connections",
            &[("pool", "reader"), ("state", "idle")]
        )
        .is_some(),
        "{metrics}"
    );
    for state in ["queued", "working", "finished", "failed", "stopped"] {
        assert_eq!(
            sample("panelgate_backup_tasks", &[("state", state)]),
            Some(0.0),
            "{metrics}"
        );
    }
}

/// `--tls-listen` serves HTTPS beside plain HTTP: a self-signed certificate for localhost is
/// made in the data directory, its fingerprint printed, and a client that trusts it (and checks
/// the name `localhost`) gets the same panel answers as over plain HTTP. Restarting keeps the
/// certificate.
#[test]
fn binary_serves_https_with_a_self_signed_certificate() {
    use sha2::Digest;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

    let dir = tempfile::tempdir().unwrap();
    // Two HTTPS listeners (as Plesk's 8443 and ISPmanager's 1500 would be).
    let start_tls = || start_with(dir.path(), &["--tls-listen", "127.0.0.1:0,127.0.0.1:0"]);
    let server = start_tls();
    let listeners: Vec<String> = server
        .banner
        .split("HTTPS on https://")
        .skip(1)
        .filter_map(|r| r.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert_eq!(listeners.len(), 2, "{}", server.banner);
    let https = listeners[0].clone();
    let cert_path = dir.path().join("tls").join("cert.pem");
    let der = CertificateDer::from_pem_file(&cert_path).unwrap();
    let fingerprint = sha2::Sha256::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        server
            .banner
            .contains(&format!("SHA-256 fingerprint {fingerprint}")),
        "{}",
        server.banner
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.clone()).unwrap();
    let client = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let get_at = |at: &str, path: &str| -> String {
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(client.clone(), name).unwrap();
        let tcp = TcpStream::connect(at).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let get = |path: &str| get_at(&https, path);
    let health = get("/_panelgate/health");
    let second = get_at(&listeners[1], "/_panelgate/health");
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let isp = get("/billmgr?authinfo=admin:changeme1Q**&func=account&out=json");
    assert!(isp.starts_with("HTTP/1.1 200"), "{isp}");
    assert!(isp.contains("customer1"), "{isp}");

    // A plain-HTTP client on the HTTPS port gets no answer from the panels.
    let (status, _) = http(
        &https,
        "GET /_panelgate/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_ne!(status, 200);

    drop(server);
    let again = start_tls();
    assert!(
        again
            .banner
            .contains(&format!("SHA-256 fingerprint {fingerprint}")),
        "the certificate is kept: {}",
        again.banner
    );
}

/// `drop` and `truncate` fault rules act on the real connection: no answer at all, or half an
/// answer under its full `Content-Length`, then the connection closes.
#[test]
fn binary_drops_and_truncates_connections_on_fault_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let post = |path: &str, body: &str| post(&server.addr, path, body);
    let (status, body) = post(
        "/_panelgate/faults",
        r#"{"protocol":"froxlor","call":"Customers.listing","times":1,"effect":"drop"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let listing = r#"{"command":"Customers.listing"}"#;
    let head = format!(
        "POST /api.php HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Length: {}\r\n\r\n{listing}",
        admin_basic(),
        listing.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.is_empty(),
        "dropped without an answer: {}",
        String::from_utf8_lossy(&out)
    );

    let (status, body) = post(
        "/_panelgate/faults",
        r#"{"protocol":"froxlor","call":"Customers.listing","times":1,"effect":"truncate"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head_part, body_part) = text.split_once("\r\n\r\n").expect("a head");
    let length: usize = head_part
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a Content-Length")
        .trim()
        .parse()
        .unwrap();
    assert!(
        body_part.len() < length,
        "{} of {length} bytes",
        body_part.len()
    );
    assert!(!body_part.is_empty());

    // The next call is whole again.
    let (status, body) = froxlor_listing(&server.addr);
    assert_eq!(status, 200, "{body}");
}

/// The operator subcommands (`panelgate snapshot|faults|journal|reset`) act on a running server
/// through its control API, and say why when they cannot.
#[test]
fn operator_commands_drive_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let url = format!("http://{}", server.addr);
    let run = |args: &[&str]| -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_panelgate"))
            .args(args)
            .args(["--server", &url])
            .env_remove("PANELGATE_CONTROL_TOKEN")
            .output()
            .expect("run panelgate");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let count = || -> u64 {
        let (status, body) = froxlor_listing(&server.addr);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["data"]["count"]
            .as_u64()
            .unwrap()
    };

    let (ok, out, err) = run(&["snapshot", "save", "first"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("saved first: ") && out.contains("2 customers"),
        "{out}"
    );
    let (ok, out, _) = run(&["snapshot", "list"]);
    assert!(ok && out.starts_with("first\t"), "{out}");

    let (ok, out, err) = run(&[
        "faults",
        "add",
        "--protocol",
        "froxlor",
        "--call",
        "Customers.get",
        "--effect",
        "error",
        "--status",
        "503",
        "--message",
        "from the CLI",
        "--times",
        "1",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added fault rule 1");
    let (status, body) = froxlor(
        &server.addr,
        r#"{"command":"Customers.get","params":{"id":1}}"#,
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("from the CLI"), "{body}");
    let (ok, out, _) = run(&["faults", "list"]);
    assert!(
        ok && out.contains("froxlor Customers.get error\tfired 1"),
        "{out}"
    );
    let (ok, out, _) = run(&["journal", "--protocol", "froxlor", "--limit", "5"]);
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(" froxlor Customers.get admin:1 503 ")
                && l.contains("fault: rule 1: error")),
        "{out}"
    );
    let (ok, out, _) = run(&[
        "journal",
        "--json",
        "--call",
        "Customers.get",
        "--limit",
        "1",
    ]);
    assert!(ok);
    let entry: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(entry["status"], 503);
    let (ok, out, _) = run(&["faults", "clear"]);
    assert!(ok && out.contains("removed 1"), "{out}");

    let (status, body) = froxlor(
        &server.addr,
        r#"{"command":"Customers.delete","params":{"id":2}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(count(), 1);
    let (ok, out, err) = run(&["snapshot", "restore", "first"]);
    assert!(ok && out.starts_with("restored first in "), "{out}{err}");
    assert_eq!(count(), 2);

    let (status, _) = froxlor(
        &server.addr,
        r#"{"command":"Customers.delete","params":{"id":2}}"#,
    );
    assert_eq!(status, 200);
    let (ok, out, err) = run(&["reset"]);
    assert!(
        ok && out.starts_with("reset to the demo seed in "),
        "{out}{err}"
    );
    assert_eq!(count(), 2);

    let (ok, _, _) = run(&["snapshot", "delete", "first"]);
    assert!(ok);
    let (ok, _, err) = run(&["snapshot", "restore", "first"]);
    assert!(!ok);
    assert!(err.contains("404") && err.contains("not found"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .args(["reset", "--server", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach panelgate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--restore-snapshot NAME` brings a saved state back at start (over what the database holds);
/// a missing snapshot stops the start with the reason.
#[test]
fn binary_restores_a_snapshot_at_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let server = start(dir.path());
        let (status, body) = post(&server.addr, "/_panelgate/snapshots", r#"{"name":"base"}"#);
        assert_eq!(status, 201, "{body}");
        let (status, _) = froxlor(
            &server.addr,
            r#"{"command":"Customers.delete","params":{"id":2}}"#,
        );
        assert_eq!(status, 200);
        assert!(froxlor_listing(&server.addr).1.contains("\"count\": 1"));
    }
    let server = start_with(dir.path(), &["--restore-snapshot", "base"]);
    let (status, body) = froxlor_listing(&server.addr);
    assert_eq!(status, 200);
    assert!(body.contains("\"count\": 2"), "{body}");
    drop(server);

    let out = Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("PANELGATE_RESTORE_SNAPSHOT", "missing")
        .env("PANELGATE_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("restoring the snapshot \"missing\" at start") && err.contains("not found"),
        "{err}"
    );
}
