//! `cargo run --release -p panelgate-bench`: panelgate's benchmark suite.
//!
//! It builds and starts a release `panelgate` server on a fresh data directory (the demo data,
//! optionally with generated customers, on SQLite or the `--database-url` given), measures how
//! long the server takes to answer its first health check and how much memory it holds, then
//! loads every measured call with `--connections` keep-alive HTTP/1.1 connections for
//! `--duration` seconds and prints one table: requests per second, p50/p99/p99.9 latency, errors,
//! and the ratio to the server's own 404 route measured in the same run.
//!
//! `--rate R` adds a fixed-rate run of mixed reads: requests are scheduled at R per second and
//! each latency is measured from its scheduled start, so a stalled server shows in the
//! percentiles instead of slowing the load down (no coordinated omission).
//!
//! `--overhead` measures what the request journal and the metrics cost instead: the mixed reads
//! against two servers, one as configured (journal and metrics on, the defaults) and one with
//! `--journal-max-entries=0 --no-metrics`, in alternating rounds so that a drift of the machine
//! meets both alike; it prints each call's rates and the cost in percent. With `--pin` each
//! server runs on CPU 0 and the load generator on the others, so the generator's scheduling
//! does not move the ratio; the `busy` column shows that the server's CPU was the bound.
//!
//! `--soak` runs a mixed load over all four panel APIs instead: reads, writes, backups and
//! archive downloads from `--connections` connections (200 by default) for `--duration` seconds
//! (60 by default, at most an hour). Every 5 s it prints the interval's requests per second,
//! errors and p50/p99/p99.9 latency, and the server's RSS, open file descriptors and database
//! connections; at the end, how RSS and descriptors moved after the warm-up.
//!
//! Figures are printed, never asserted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

#[derive(Parser, Debug, Clone)]
#[command(name = "panelgate-bench", about = "panelgate's benchmark suite")]
struct Args {
    /// Seconds each call is loaded for.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Also run mixed reads at this fixed rate (requests per second) for `--duration` seconds.
    #[arg(long)]
    rate: Option<u64>,
    /// Connections of the fixed-rate run.
    #[arg(long, default_value_t = 64)]
    rate_connections: usize,
    /// Customers generated on top of the demo data (owned by the admin), e.g. 100000.
    #[arg(long, default_value_t = 0)]
    customers: u64,
    /// Run the server on this database (postgres://… or mysql://…) instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// The panelgate binary (default: build `target/release/panelgate`).
    #[arg(long)]
    server: Option<PathBuf>,
    /// More arguments for `panelgate serve` (repeatable), e.g. `--server-arg=--password-hashing=fast`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Load a server that is already running at this address (HOST:PORT) instead of starting
    /// one (it must hold the demo data).
    #[arg(long)]
    addr: Option<String>,
    /// Only the calls whose name contains this text (the 404 route always runs).
    #[arg(long)]
    only: Option<String>,
    /// Measure the cost of the journal and the metrics on the mixed reads (see above).
    #[arg(long)]
    overhead: bool,
    /// Rounds of `--overhead` (each loads both servers once per call).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Run the soak test (see above); `--duration` defaults to 60 s and `--connections` to 200.
    #[arg(long)]
    soak: bool,
    /// Pin the servers to CPU 0 and the load generator to the other CPUs (with `taskset`), so
    /// that a server's throughput is bound by its own CPU time, not by how the two share cores.
    #[arg(long)]
    pin: bool,
}

/// One measured call. `{n}` in the path or body is replaced by a number unique to the run.
#[derive(Clone)]
struct Call {
    name: String,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: String,
    /// The status a correct answer has.
    status: u16,
    /// Text a correct answer never contains.
    error_marker: &'static str,
}

const FROXLOR_KEY: &str = "demo-froxlor-admin-key:demo-froxlor-admin-secret";
const HTTPAPI: &str = "auth-userid=2&api-key=demo-httpapi-key";

fn froxlor(name: &str, body: &str) -> Call {
    let auth = base64::engine::general_purpose::STANDARD.encode(FROXLOR_KEY);
    Call {
        name: format!("froxlor {name}"),
        method: "POST",
        path: "/api.php".into(),
        headers: vec![
            ("authorization", format!("Basic {auth}")),
            ("content-type", "application/json".into()),
        ],
        body: body.into(),
        status: 200,
        error_marker: "\"message\"",
    }
}

fn plesk(name: &str, packet: &str) -> Call {
    Call {
        name: format!("plesk {name}"),
        method: "POST",
        path: "/enterprise/control/agent.php".into(),
        headers: vec![
            ("key", "demo-plesk-secret-key".into()),
            ("content-type", "text/xml".into()),
        ],
        body: format!("<packet>{packet}</packet>"),
        status: 200,
        error_marker: "<status>error</status>",
    }
}

fn isp(name: &str, query: &str) -> Call {
    Call {
        name: format!("ispsystem {name}"),
        method: "GET",
        path: format!("/billmgr?{query}"),
        headers: vec![],
        body: String::new(),
        status: 200,
        error_marker: "<error",
    }
}

fn httpapi(name: &str, method: &'static str, path: &str, params: &str) -> Call {
    let (path, body) = if method == "GET" {
        (format!("{path}?{HTTPAPI}&{params}"), String::new())
    } else {
        (path.to_owned(), format!("{HTTPAPI}&{params}"))
    };
    Call {
        name: format!("httpapi {name}"),
        method,
        path,
        headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
        body,
        status: 200,
        error_marker: "\"ERROR\"",
    }
}

fn not_found() -> Call {
    Call {
        name: "404 route (the floor)".into(),
        method: "GET",
        path: "/no-such-route".into(),
        headers: vec![],
        body: String::new(),
        status: 404,
        error_marker: "\u{0}",
    }
}

fn calls() -> Vec<Call> {
    vec![
        froxlor("Customers.get", r#"{"command":"Customers.get","params":{"id":2}}"#),
        froxlor(
            "Customers.listing (25)",
            r#"{"command":"Customers.listing","params":{"sql_limit":25}}"#,
        ),
        froxlor(
            "Customers.listing search email",
            r#"{"command":"Customers.listing","params":{"sql_limit":25,"sql_search":{"c.email":"customer2"}}}"#,
        ),
        froxlor(
            "CustomerBackups.listing",
            r#"{"command":"CustomerBackups.listing","params":{"customerid":2}}"#,
        ),
        plesk(
            "customer/get",
            "<customer><get><filter><id>2</id></filter><dataset><gen_info/></dataset></get></customer>",
        ),
        plesk(
            "multi-operation packet (3 gets)",
            "<customer><get><filter><id>1</id></filter><dataset><gen_info/></dataset></get></customer><customer><get><filter><id>2</id></filter><dataset><gen_info/></dataset></get></customer><customer><get><filter><login>customer1</login></filter><dataset><gen_info/><stat/></dataset></get></customer>",
        ),
        isp(
            "account list (xml)",
            "func=account&authinfo=admin:changeme1Q**&out=xml&p_cnt=25",
        ),
        isp(
            "account list (json)",
            "func=account&authinfo=admin:changeme1Q**&out=json&p_cnt=25",
        ),
        isp(
            "func=auth",
            "func=auth&username=admin&password=changeme1Q**&out=xml",
        ),
        httpapi(
            "customers/details-by-id",
            "GET",
            "/api/customers/details-by-id.json",
            "customer-id=2",
        ),
        httpapi(
            "customers/search (10)",
            "GET",
            "/api/customers/search.json",
            "no-of-records=10&page-no=1",
        ),
        httpapi(
            "backup/us/add",
            "POST",
            "/api/backup/us/add.json",
            "storage-size-gb=5&customer-id=2&hosting-order-id=2&months=12&plan-id=1001&invoice-option=NoInvoice",
        ),
        // Writes last, so that the reads above run on the data set as loaded.
        froxlor(
            "Customers.add",
            r#"{"command":"Customers.add","params":{"email":"fb{n}@example.com","firstname":"Bench","name":"F{n}","loginname":"fb{n}","new_customer_password":"changeme1Q**"}}"#,
        ),
        plesk(
            "customer/add",
            "<customer><add><gen_info><pname>Bench P{n}</pname><login>pb{n}</login><passwd>changeme1Q**</passwd><email>pb{n}@example.com</email></gen_info></add></customer>",
        ),
    ]
}

/// Mixed reads of the fixed-rate run.
fn mixed_reads() -> Vec<Call> {
    calls()
        .into_iter()
        .filter(|c| {
            [
                "froxlor Customers.get",
                "plesk customer/get",
                "ispsystem account list (xml)",
                "httpapi customers/details-by-id",
            ]
            .contains(&c.name.as_str())
        })
        .collect()
}

struct Server {
    child: Child,
    addr: String,
    startup: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/release/panelgate`, built by cargo if needed.
fn server_binary(args: &Args) -> PathBuf {
    if let Some(path) = &args.server {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "building the release server (cargo build --release -p panelgate-server --bin panelgate)…"
    );
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "panelgate-server",
            "--bin",
            "panelgate",
        ])
        .status()
        .expect("run cargo");
    assert!(status.success(), "building panelgate failed");
    let exe = std::env::current_exe().expect("own path");
    exe.parent().expect("target dir").join("panelgate")
}

/// The CPU time a process has used so far (user + system), in seconds.
fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from the third on.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ, 100 on Linux.
    Some(ticks as f64 / 100.0)
}

fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `count` generated customers (owned by the admin, with the demo password's stored hash), as a
/// JSON-lines data set.
fn generated_customers(dir: &Path, count: u64) -> PathBuf {
    use std::io::Write;
    let demo = include_str!("../../../fixtures/demo.toml");
    let hash = demo
        .lines()
        .find_map(|l| l.strip_prefix("\"changeme1Q**\" = "))
        .expect("the demo data's hash of its password")
        .trim_matches('"');
    let path = dir.join("generated.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..count {
        writeln!(
            out,
            r#"{{"customer":{{"loginname":"gen{i}","password_hash":"{hash}","admin":1,"name":"Generated {i}","firstname":"G","email":"gen{i}@example.net","create_std_subdomain":false}}}}"#
        )
        .unwrap();
    }
    out.flush().unwrap();
    path
}

/// Run `panelgate import FILE` on `data` (before the server starts); returns how long it took
/// and the peak RSS seen (KiB).
fn import(args: &Args, binary: &Path, data: &Path, file: &Path) -> (Duration, u64) {
    let mut cmd = std::process::Command::new(binary);
    cmd.arg("import")
        .arg(file)
        .arg("--data-dir")
        .arg(data)
        .env("PANELGATE_LOG", "warn")
        .stdout(Stdio::null());
    if let Some(url) = &args.database_url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(&args.server_args);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start panelgate import");
    let mut peak = 0;
    loop {
        if let Some(status) = child.try_wait().expect("wait for panelgate import") {
            assert!(
                status.success(),
                "panelgate import {} failed",
                file.display()
            );
            return (started.elapsed(), peak);
        }
        peak = peak.max(proc_status(child.id(), "VmHWM:").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn start(args: &Args, binary: &Path, data: &Path) -> Server {
    let mut cmd = if args.pin {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "0"]).arg(binary);
        taskset
    } else {
        Command::new(binary)
    };
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("PANELGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = &args.database_url {
        cmd.args(["--database-url", url]);
    }
    if args.customers > 0 {
        // The data was imported before the server started.
        cmd.arg("--no-demo");
    }
    cmd.args(&args.server_args);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start panelgate");
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.trim().to_owned();
                // Keep draining the banner so the server never blocks on a full pipe.
                std::thread::spawn(move || {
                    let mut sink = String::new();
                    while reader.read_line(&mut sink).unwrap_or(0) > 0 {
                        sink.clear();
                    }
                });
                return Some(addr);
            }
        }
    })
    .await
    .unwrap()
    .expect("the server printed no listen address");
    // The first healthy answer.
    loop {
        if let Ok(mut conn) = Conn::open(&addr).await {
            if conn
                .send(&health(), 0)
                .await
                .is_ok_and(|(status, _)| status == 200)
            {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the server never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Server {
        child,
        addr,
        startup: started.elapsed(),
    }
}

fn health() -> Call {
    Call {
        name: "health".into(),
        method: "GET",
        path: "/_panelgate/health".into(),
        headers: vec![],
        body: String::new(),
        status: 200,
        error_marker: "\u{0}",
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_owned(),
        })
    }

    /// Send `call` (with `{n}` = `n`): the status and the body.
    async fn send(&mut self, call: &Call, n: u64) -> Result<(u16, Bytes), String> {
        let n = n.to_string();
        let mut req = http::Request::builder()
            .method(call.method)
            .uri(call.path.replace("{n}", &n))
            .header("host", &self.host);
        for (k, v) in &call.headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(call.body.replace("{n}", &n))))
            .map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// Send the `i`-th of `calls` (round robin, with a fresh `{n}`): the call, its answer and how
/// long it took.
async fn send_next<'a>(
    conn: &mut Conn,
    calls: &'a [Call],
    i: usize,
) -> (&'a Call, Result<(u16, Bytes), String>, Duration) {
    let call = &calls[i % calls.len()];
    let t = Instant::now();
    let answer = conn
        .send(call, COUNTER.fetch_add(1, Ordering::Relaxed))
        .await;
    (call, answer, t.elapsed())
}

/// A wrong answer as a line of the report.
fn describe_error(call: &Call, answer: &Result<(u16, Bytes), String>) -> String {
    match answer {
        Ok((s, b)) => format!(
            "{} → {s}: {}",
            call.name,
            String::from_utf8_lossy(&b[..b.len().min(300)])
        ),
        Err(e) => format!("{} → {e}", call.name),
    }
}

fn correct(call: &Call, answer: &Result<(u16, Bytes), String>) -> bool {
    match answer {
        Ok((status, body)) => {
            *status == call.status && !String::from_utf8_lossy(body).contains(call.error_marker)
        }
        Err(_) => false,
    }
}

struct Figures {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies: Vec<u32>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len() - 1);
        f64::from(self.latencies[i]) / 1000.0
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// Closed loop: `connections` connections send `call` back to back for `duration`.
async fn closed_loop(
    addr: &str,
    calls: &[Call],
    connections: usize,
    duration: Duration,
) -> Figures {
    let calls = Arc::new(calls.to_vec());
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..connections {
        let (addr, calls) = (addr.to_owned(), calls.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            let Ok(mut conn) = Conn::open(&addr).await else {
                return (lat, 1, Some("connect failed".to_owned()));
            };
            let mut i = k;
            while Instant::now() < deadline {
                let (call, answer, took) = send_next(&mut conn, &calls, i).await;
                i += 1;
                lat.push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                if !correct(call, &answer) {
                    errors += 1;
                    if first_error.is_none() {
                        first_error = Some(describe_error(call, &answer));
                    }
                    if answer.is_err() {
                        match Conn::open(&addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
            }
            (lat, errors, first_error)
        }));
    }
    collect(tasks, started).await
}

/// Open loop at `rate` requests per second: request `i` is due at `start + i / rate`; its latency
/// counts from then.
async fn fixed_rate(
    addr: &str,
    calls: &[Call],
    connections: usize,
    rate: u64,
    duration: Duration,
) -> Figures {
    let calls = Arc::new(calls.to_vec());
    let total = rate * duration.as_secs();
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for k in 0..connections as u64 {
        let (addr, calls) = (addr.to_owned(), calls.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            let Ok(mut conn) = Conn::open(&addr).await else {
                return (lat, 1, Some("connect failed".to_owned()));
            };
            let mut i = k;
            while i < total {
                let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
                tokio::time::sleep_until(due.into()).await;
                let call = &calls[(i as usize) % calls.len()];
                let answer = conn
                    .send(call, COUNTER.fetch_add(1, Ordering::Relaxed))
                    .await;
                lat.push(due.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if !correct(call, &answer) {
                    errors += 1;
                    first_error.get_or_insert_with(|| call.name.clone());
                    if answer.is_err() {
                        match Conn::open(&addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
                i += connections as u64;
            }
            (lat, errors, first_error)
        }));
    }
    let mut f = collect(tasks, start).await;
    f.elapsed = start.elapsed();
    f
}

type TaskResult = (Vec<u32>, u64, Option<String>);

async fn collect(tasks: Vec<tokio::task::JoinHandle<TaskResult>>, started: Instant) -> Figures {
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        let (lat, e, fe) = t.await.unwrap();
        latencies.extend(lat);
        errors += e;
        if first_error.is_none() {
            first_error = fe;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Figures {
        requests: latencies.len() as u64,
        errors,
        first_error,
        elapsed,
        latencies,
    }
}

fn row(name: &str, f: &Figures, floor: f64) {
    println!(
        "| {name:<40} | {:>9.0} | {:>8.3} | {:>8.3} | {:>8.3} | {:>6} | {:>5.1}% |",
        f.rate(),
        f.pct(0.50),
        f.pct(0.99),
        f.pct(0.999),
        f.errors,
        100.0 * f.rate() / floor
    );
    if let Some(e) = &f.first_error {
        println!("|   first error: {e}");
    }
}

fn main() {
    let args = Args::parse();
    let binary = match &args.addr {
        Some(_) => PathBuf::new(),
        None => server_binary(&args),
    };
    if args.pin {
        pin_self();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args, binary));
}

/// `--pin`: this process (and the threads it starts) runs on every CPU but 0, which the servers
/// get. Without `taskset` or a second CPU the run stops with the reason.
fn pin_self() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        cores >= 2,
        "--pin needs at least two CPUs; this machine has {cores}"
    );
    let others = format!("1-{}", cores - 1);
    let pinned = Command::new("taskset")
        .args(["-p", "-c", &others, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    match pinned {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("--pin: taskset failed ({s})"),
        Err(e) => panic!("--pin needs taskset (util-linux): {e}"),
    }
}

async fn run(args: Args, binary: PathBuf) {
    if let Some(addr) = &args.addr {
        return load(&args, addr).await;
    }
    if args.overhead {
        return overhead(&args, &binary).await;
    }
    if args.soak {
        return soak(&args, &binary).await;
    }
    let data = tempfile::tempdir().unwrap();
    let mut imported = None;
    if args.customers > 0 {
        // The demo data, then the generated customers, each through `panelgate import`.
        let demo = data.path().join("demo.toml");
        std::fs::write(&demo, include_str!("../../../fixtures/demo.toml")).unwrap();
        import(&args, &binary, data.path(), &demo);
        let file = generated_customers(data.path(), args.customers);
        imported = Some(import(&args, &binary, data.path(), &file));
    }
    let server = start(&args, &binary, data.path()).await;
    let pid = server.child.id();
    let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
    let peak = proc_status(pid, "VmHWM:").unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("panelgate-bench: {} on {cores} cores, {} connections, {} s per call, database {}, data set: demo + {} customers",
        binary.display(), args.connections, args.duration,
        args.database_url.as_deref().map_or("SQLite (file)".to_owned(), |u| u.split('@').next_back().unwrap_or(u).to_owned()),
        args.customers);
    if !args.server_args.is_empty() {
        println!("server arguments: {}", args.server_args.join(" "));
    }
    if let Some((took, peak)) = imported {
        println!(
            "panelgate import of {} generated customers: {:.1} s ({:.0} customers/s), peak RSS {:.1} MiB",
            args.customers,
            took.as_secs_f64(),
            args.customers as f64 / took.as_secs_f64(),
            peak as f64 / 1024.0
        );
    }
    println!(
        "start-up to the first healthy answer: {:.0} ms; RSS after start {:.1} MiB (peak {:.1} MiB)",
        server.startup.as_secs_f64() * 1e3,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!();
    load(&args, &server.addr).await;
    let rss_end = proc_status(pid, "VmRSS:").unwrap_or(0);
    println!();
    println!(
        "server RSS after the run: {:.1} MiB",
        rss_end as f64 / 1024.0
    );
}

/// The table (and the fixed-rate run) against the server at `addr`.
async fn load(args: &Args, addr: &str) {
    println!(
        "| {:<40} | {:>9} | {:>8} | {:>8} | {:>8} | {:>6} | {:>6} |",
        "call", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "/ 404"
    );
    println!(
        "| {:-<40} | {:->9} | {:->8} | {:->8} | {:->8} | {:->6} | {:->6} |",
        "", "", "", "", "", "", ""
    );
    let duration = Duration::from_secs(args.duration);
    let warm = Duration::from_millis(300);
    let floor_call = [not_found()];
    closed_loop(addr, &floor_call, args.connections, warm).await;
    let floor = closed_loop(addr, &floor_call, args.connections, duration).await;
    let floor_rate = floor.rate();
    row(&floor_call[0].name, &floor, floor_rate);
    // The fixed-rate run comes before the per-call runs, whose writes grow the data set.
    if let Some(rate) = args.rate {
        let f = fixed_rate(addr, &mixed_reads(), args.rate_connections, rate, duration).await;
        println!(
            "fixed rate {rate} req/s of mixed reads (Customers.get, customer/get, account xml, details-by-id) over {} connections for {} s: {:.0} req/s done, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, {} errors{}",
            args.rate_connections,
            args.duration,
            f.rate(),
            f.pct(0.5),
            f.pct(0.99),
            f.pct(0.999),
            f.errors,
            f.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
        println!();
    }
    for call in calls() {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !call.name.contains(o.as_str()))
        {
            continue;
        }
        let one = [call];
        closed_loop(addr, &one, args.connections, warm).await;
        let f = closed_loop(addr, &one, args.connections, duration).await;
        row(&one[0].name, &f, floor_rate);
    }
}

/// `--overhead`: the mixed reads with the journal and metrics on and off, alternating.
async fn overhead(args: &Args, binary: &Path) {
    let (on_dir, off_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let on = start(args, binary, on_dir.path()).await;
    let mut bare = args.clone();
    for flag in ["--journal-max-entries=0", "--no-metrics"] {
        // (A flag given twice is refused.)
        let name = flag.split('=').next().unwrap_or(flag);
        bare.server_args
            .retain(|a| a.split('=').next() != Some(name));
        bare.server_args.push(flag.to_owned());
    }
    let off = start(&bare, binary, off_dir.path()).await;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "panelgate-bench --overhead: {} on {cores} cores, {} connections, {} rounds of {} s per call and server",
        binary.display(),
        args.connections,
        args.rounds,
        args.duration
    );
    println!(
        "on: {}; off: --journal-max-entries=0 --no-metrics",
        if args.server_args.is_empty() {
            "the defaults (journal in memory, metrics)".to_owned()
        } else {
            args.server_args.join(" ")
        }
    );
    println!();
    println!(
        "| {:<40} | {:>12} | {:>12} | {:>7} | {:>16} | {:>6} | {:>6} | {:>7} | {:>11} |",
        "call",
        "on req/s",
        "off req/s",
        "cost",
        "rounds' range",
        "on µs",
        "off µs",
        "CPU",
        "busy on/off"
    );
    println!(
        "| {:-<40} | {:->12} | {:->12} | {:->7} | {:->16} | {:->6} | {:->6} | {:->7} | {:->11} |",
        "", "", "", "", "", "", "", "", ""
    );
    let duration = Duration::from_secs(args.duration);
    let warm = Duration::from_millis(300);
    let (mut costs, mut cpu_costs) = (Vec::new(), Vec::new());
    for call in mixed_reads() {
        let one = [call];
        let (mut with, mut without) = (0.0, 0.0);
        // Each round loads the two servers back to back: its ratio is little moved by what
        // the machine does over minutes, and the median of the rounds' ratios by an outlier.
        let mut ratios = Vec::new();
        // The servers' CPU time and requests over every round: CPU per request is what a
        // server short of CPU pays, and is little moved by the load generator's scheduling.
        let (mut cpu_on, mut cpu_off, mut n_on, mut n_off) = (0.0, 0.0, 0u64, 0u64);
        for round in 0..args.rounds {
            let (mut on_rate, mut off_rate) = (0.0, 0.0);
            // Alternate which server goes first.
            let order = if round % 2 == 0 {
                [(&on.addr, true), (&off.addr, false)]
            } else {
                [(&off.addr, false), (&on.addr, true)]
            };
            for (addr, is_on) in order {
                closed_loop(addr, &one, args.connections, warm).await;
                let pid = if is_on { on.child.id() } else { off.child.id() };
                let cpu_before = proc_cpu_seconds(pid).unwrap_or(0.0);
                let f = closed_loop(addr, &one, args.connections, duration).await;
                let cpu = proc_cpu_seconds(pid).unwrap_or(0.0) - cpu_before;
                if is_on {
                    cpu_on += cpu;
                    n_on += f.requests;
                } else {
                    cpu_off += cpu;
                    n_off += f.requests;
                }
                if f.errors > 0 {
                    println!("|   errors: {} (first: {:?})", f.errors, f.first_error);
                }
                if is_on {
                    on_rate = f.rate();
                } else {
                    off_rate = f.rate();
                }
            }
            with += on_rate;
            without += off_rate;
            if off_rate > 0.0 {
                ratios.push(on_rate / off_rate);
            }
        }
        let rounds = f64::from(args.rounds.max(1));
        let (with, without) = (with / rounds, without / rounds);
        ratios.sort_by(f64::total_cmp);
        let median = match ratios.len() {
            0 => 1.0,
            n if n % 2 == 1 => ratios[n / 2],
            n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
        };
        let cost = 100.0 * (1.0 - median);
        costs.push(cost);
        let spread = |r: Option<&f64>| r.map_or(0.0, |r| 100.0 * (1.0 - r));
        let per = |cpu: f64, n: u64| 1e6 * cpu / n.max(1) as f64;
        let (us_on, us_off) = (per(cpu_on, n_on), per(cpu_off, n_off));
        let cpu_cost = 100.0 * (1.0 - us_off / us_on);
        // The server's CPU time over its loaded time, in percent of one CPU: near 100% with
        // `--pin` when the server, not the load generator, was the bound.
        let busy = |cpu: f64| 100.0 * cpu / (rounds * duration.as_secs_f64()).max(1e-9);
        cpu_costs.push(cpu_cost);
        println!(
            "| {:<40} | {:>12.0} | {:>12.0} | {:>6.1}% | {:>5.1}% .. {:>5.1}% | {:>6.1} | {:>6.1} | {:>6.1}% | {:>4.0}%/{:>4.0}% |",
            one[0].name,
            with,
            without,
            cost,
            spread(ratios.last()),
            spread(ratios.first()),
            us_on,
            us_off,
            cpu_cost,
            busy(cpu_on),
            busy(cpu_off),
        );
    }
    let cpu_mean = cpu_costs.iter().sum::<f64>() / cpu_costs.len().max(1) as f64;
    let mean = costs.iter().sum::<f64>() / costs.len().max(1) as f64;
    println!();
    println!("journal + metrics cost of read throughput (per call the median of the rounds' costs), mean over the calls: {mean:.1}%");
    println!("journal + metrics cost in server CPU per request (1 - off/on), mean over the calls: {cpu_mean:.1}%");
    let rss = |s: &Server| proc_status(s.child.id(), "VmRSS:").unwrap_or(0) as f64 / 1024.0;
    println!(
        "server RSS after the runs: on {:.1} MiB, off {:.1} MiB",
        rss(&on),
        rss(&off)
    );
}

/// The calls of the soak: reads over every API, writes (new customers through Froxlor and
/// Plesk, updates through ISPsystem), in the proportions the list gives.
fn soak_calls() -> Vec<Call> {
    let all = calls();
    let pick = |name: &str| {
        all.iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no call {name}"))
    };
    let mut out = Vec::new();
    for _ in 0..3 {
        out.extend([
            pick("froxlor Customers.get"),
            pick("plesk customer/get"),
            pick("ispsystem account list (xml)"),
            pick("httpapi customers/details-by-id"),
        ]);
    }
    out.extend([
        pick("froxlor Customers.listing (25)"),
        pick("httpapi customers/search (10)"),
        pick("ispsystem account list (json)"),
        pick("froxlor Customers.add"),
        pick("plesk customer/add"),
        isp(
            "account.edit",
            "func=account.edit&sok=ok&elid=2&authinfo=admin:changeme1Q**&out=xml&city=Soak{n}",
        ),
    ]);
    out
}

/// The server's open file descriptors.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Busy and idle database connections, from the server's metrics.
async fn db_connections(addr: &str) -> String {
    let call = Call {
        name: "metrics".into(),
        method: "GET",
        path: "/_panelgate/metrics".into(),
        headers: vec![],
        body: String::new(),
        status: 200,
        error_marker: "\u{0}",
    };
    let Ok(mut conn) = Conn::open(addr).await else {
        return "?".into();
    };
    let Ok((_, body)) = conn.send(&call, 0).await else {
        return "?".into();
    };
    let text = String::from_utf8_lossy(&body);
    let (mut busy, mut idle) = (0.0, 0.0);
    for line in text
        .lines()
        .filter(|l| l.starts_with("panelgate_db_connections{"))
    {
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        if line.contains("state=\"busy\"") {
            busy += value;
        } else {
            idle += value;
        }
    }
    format!("{busy:.0} busy / {idle:.0} idle")
}

/// A client that takes a backup of customer1, waits for it, downloads the archive and starts
/// over: the backup and download part of the soak. Counts requests and errors into `stats`.
async fn backup_loop(addr: String, deadline: Instant, stats: Arc<SoakStats>) {
    let post = |path: String| Call {
        name: "backup".into(),
        method: "POST",
        path,
        headers: vec![],
        body: String::new(),
        status: 201,
        error_marker: "\u{0}",
    };
    let get = |path: String| Call {
        name: "task".into(),
        method: "GET",
        path,
        headers: vec![],
        body: String::new(),
        status: 200,
        error_marker: "\u{0}",
    };
    let Ok(mut conn) = Conn::open(&addr).await else {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    while Instant::now() < deadline {
        let t = Instant::now();
        let started = conn
            .send(&post("/_panelgate/backups?scope=customer:1".into()), 0)
            .await;
        stats.record(t.elapsed(), started.as_ref().is_ok_and(|(s, _)| *s == 201));
        let Ok((201, body)) = started else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let task: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let id = task["id"].as_i64().unwrap_or(0);
        // Poll the task until it has its archive.
        let archive = loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let t = Instant::now();
            let answer = conn.send(&get(format!("/_panelgate/tasks/{id}")), 0).await;
            stats.record(t.elapsed(), answer.as_ref().is_ok_and(|(s, _)| *s == 200));
            let Ok((200, body)) = answer else { break None };
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            match v["state"].as_str() {
                Some("finished") => break v["archive_id"].as_i64(),
                Some("failed") => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    break None;
                }
                _ if Instant::now() > deadline => break None,
                _ => {}
            }
        };
        if let Some(archive) = archive {
            let t = Instant::now();
            let answer = conn
                .send(&get(format!("/_panelgate/archives/{archive}/download")), 0)
                .await;
            stats.record(
                t.elapsed(),
                answer
                    .as_ref()
                    .is_ok_and(|(s, b)| *s == 200 && b.starts_with(&[0x1f, 0x8b])),
            );
        }
    }
}

/// Counters of the soak, read and reset every interval.
#[derive(Default)]
struct SoakStats {
    requests: AtomicU64,
    errors: AtomicU64,
    latencies: std::sync::Mutex<Vec<u32>>,
    first_error: std::sync::Mutex<Option<String>>,
}

impl SoakStats {
    fn record(&self, took: Duration, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = took.as_micros().min(u128::from(u32::MAX)) as u32;
        self.latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(micros);
    }

    /// The interval's figures, counters back to zero.
    fn take(&self) -> (u64, u64, Vec<u32>) {
        let mut lat =
            std::mem::take(&mut *self.latencies.lock().unwrap_or_else(|e| e.into_inner()));
        lat.sort_unstable();
        (
            self.requests.swap(0, Ordering::Relaxed),
            self.errors.swap(0, Ordering::Relaxed),
            lat,
        )
    }
}

/// `--soak`: see the module documentation.
async fn soak(args: &Args, binary: &Path) {
    let explicit = |flag: &str| std::env::args().any(|a| a.starts_with(flag));
    let duration = Duration::from_secs(if explicit("--duration") {
        args.duration.min(3600)
    } else {
        60
    });
    let connections = if explicit("--connections") {
        args.connections
    } else {
        200
    };
    let mut server_args = args.clone();
    if !server_args
        .server_args
        .iter()
        .any(|a| a.starts_with("--password-hashing"))
    {
        // New customers are part of the load: hash them with the fast profile.
        server_args
            .server_args
            .push("--password-hashing=fast".into());
    }
    let data = tempfile::tempdir().unwrap();
    let home = data.path().join("homes").join("customer1");
    std::fs::create_dir_all(&home).unwrap();
    for i in 0..16u8 {
        std::fs::write(home.join(format!("f{i}.bin")), vec![i; 256 * 1024]).unwrap();
    }
    let server = start(&server_args, binary, data.path()).await;
    let pid = server.child.id();
    let addr = server.addr.clone();
    println!(
        "panelgate-bench --soak: {} for {} s over {connections} connections (+1 backup and download client), database {}",
        binary.display(),
        duration.as_secs(),
        args.database_url
            .as_deref()
            .map_or("SQLite (file)".to_owned(), |u| u.split('@').next_back().unwrap_or(u).to_owned()),
    );
    println!(
        "| {:>5} | {:>8} | {:>6} | {:>8} | {:>8} | {:>8} | {:>8} | {:>5} | {:<20} |",
        "t s",
        "req/s",
        "errors",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "RSS MiB",
        "fds",
        "db connections"
    );
    let stats = Arc::new(SoakStats::default());
    let deadline = Instant::now() + duration;
    let calls = Arc::new(soak_calls());
    let mut tasks = Vec::new();
    for k in 0..connections {
        let (addr, calls, stats) = (addr.clone(), calls.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(mut conn) = Conn::open(&addr).await else {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let mut i = k;
            while Instant::now() < deadline {
                let (call, answer, took) = send_next(&mut conn, &calls, i).await;
                i += 1;
                let ok = correct(call, &answer);
                stats.record(took, ok);
                if !ok {
                    stats
                        .first_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert_with(|| describe_error(call, &answer));
                    if answer.is_err() {
                        match Conn::open(&addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
            }
        }));
    }
    tasks.push(tokio::spawn(backup_loop(
        addr.clone(),
        deadline,
        stats.clone(),
    )));
    let started = Instant::now();
    let interval = Duration::from_secs(5);
    let warm_up = Duration::from_secs(10).min(duration / 4);
    let (mut total, mut errors) = (0u64, 0u64);
    let mut after_warm_up: Vec<(u64, usize)> = Vec::new();
    let mut next = started + interval;
    while Instant::now() < deadline {
        tokio::time::sleep_until(next.min(deadline).into()).await;
        next += interval;
        let (n, e, lat) = stats.take();
        total += n;
        errors += e;
        let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
        let fds = open_fds(pid);
        let pct = |p: f64| {
            if lat.is_empty() {
                f64::NAN
            } else {
                f64::from(lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)]) / 1000.0
            }
        };
        let t = started.elapsed();
        println!(
            "| {:>5.0} | {:>8.0} | {:>6} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8.1} | {:>5} | {:<20} |",
            t.as_secs_f64(),
            n as f64 / interval.as_secs_f64(),
            e,
            pct(0.5),
            pct(0.99),
            pct(0.999),
            rss as f64 / 1024.0,
            fds,
            db_connections(&addr).await
        );
        if t >= warm_up {
            after_warm_up.push((rss, fds));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let (n, e, _) = stats.take();
    total += n;
    errors += e;
    println!();
    println!(
        "soak: {total} requests in {:.0} s ({:.0} req/s), {errors} errors{}",
        duration.as_secs_f64(),
        total as f64 / duration.as_secs_f64(),
        stats
            .first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    if let (Some(first), Some(last)) = (after_warm_up.first(), after_warm_up.last()) {
        let (min_rss, max_rss) = after_warm_up
            .iter()
            .fold((u64::MAX, 0), |(lo, hi), (r, _)| (lo.min(*r), hi.max(*r)));
        let (min_fd, max_fd) = after_warm_up
            .iter()
            .fold((usize::MAX, 0), |(lo, hi), (_, f)| (lo.min(*f), hi.max(*f)));
        println!(
            "after the {} s warm-up: RSS {:.1} → {:.1} MiB (range {:.1}–{:.1}), open descriptors {} → {} (range {min_fd}–{max_fd})",
            warm_up.as_secs(),
            first.0 as f64 / 1024.0,
            last.0 as f64 / 1024.0,
            min_rss as f64 / 1024.0,
            max_rss as f64 / 1024.0,
            first.1,
            last.1
        );
    }
}
