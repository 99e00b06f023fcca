//! The real `panelgate` binary over a real socket: startup output, the README's curl line,
//! health, graceful shutdown on SIGTERM, and a restart on the same data directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

struct Server {
    child: Child,
    addr: String,
    banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("PANELGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start panelgate");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut banner = String::new();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        banner.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = Some(rest.trim().to_owned());
        }
        if line.contains("health:") {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listen address in the startup output:\n{banner}"));
    Server {
        child,
        addr,
        banner,
    }
}

fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn froxlor_listing(addr: &str) -> (u16, String) {
    let body = r#"{"command":"Customers.listing"}"#;
    let auth = base64::engine::general_purpose::STANDARD
        .encode("demo-froxlor-admin-key:demo-froxlor-admin-secret");
    http(
        addr,
        &format!(
            "POST /api.php HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
