//! Crash consistency (issue 14): a real `panelgate` process takes writes through all four panel
//! APIs (creates, updates, suspends, deletes, backups, restores) from several clients and is
//! killed with SIGKILL at a random moment, then started again on the same database and data
//! folder. After every restart:
//!
//! * every acknowledged write is there, and no refused one is (a write cut off by the kill may
//!   have landed or not: both are accepted, nothing in between);
//! * every owner's `customers_used` and resource counters equal the sums over its customers;
//! * every archive row has its files (with the row's size) and every archive file its row;
//! * no backup task stays `working` once its lease ran out, and no `.tmp` file stays behind.
//!
//! The backend is SQLite, or the PostgreSQL / MariaDB server of `PANELGATE_TEST_POSTGRES_URL`
//! / `PANELGATE_TEST_MYSQL_URL` (a scratch database each run). `PANELGATE_CRASH_CYCLES` sets
//! the number of kill cycles (3 by default, as CI runs it; the issue's proof is 20).

mod support;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use panelgate_core::backups::TaskState;
use panelgate_core::{Core, CustomerRef, Resource};

const PASSWORD: &str = "changeme1Q**";
const FROXLOR: &str = "ZGVtby1mcm94bG9yLWFkbWluLWtleTpkZW1vLWZyb3hsb3ItYWRtaW4tc2VjcmV0";
const HTTPAPI: &str = "auth-userid=2&api-key=demo-httpapi-key";

/// A small xorshift generator: the run is reproducible from its seed (printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What came back for a write.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The API said it was done.
    Done(String),
    /// The API refused it with its own error.
    Refused(String),
    /// No answer (the process was killed, or the connection broke).
    Unknown,
}

/// One HTTP/1.1 exchange with `Connection: close`; `None` when no whole answer came back.
fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let length: Option<usize> = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok());
    if length.is_some_and(|n| n != body.len()) {
        return None;
    }
    Some((status, body.to_owned()))
}

fn froxlor(addr: &str, body: &str) -> Option<(u16, String)> {
    http(
        addr,
        "POST",
        "/api.php",
        &[
            ("Authorization", &format!("Basic {FROXLOR}")),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

fn plesk(addr: &str, packet: &str) -> Option<(u16, String)> {
    http(
        addr,
        "POST",
        "/enterprise/control/agent.php",
        &[
            ("HTTP_AUTH_LOGIN", "admin"),
            ("HTTP_AUTH_PASSWD", PASSWORD),
            ("Content-Type", "text/xml"),
        ],
        packet,
    )
}

fn isp(addr: &str, query: &str) -> Option<(u16, String)> {
    http(
        addr,
        "GET",
        &format!("/billmgr?authinfo=admin:{PASSWORD}&out=json&{query}"),
        &[],
        "",
    )
}

fn httpapi(addr: &str, path: &str, form: &str) -> Option<(u16, String)> {
    http(
        addr,
        "POST",
        &format!("/api/{path}"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("{HTTPAPI}&{form}"),
    )
}

/// The value between `<tag>` and `</tag>`.
fn xml_value(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_owned())
}

/// A customer created through one of the four APIs (chosen by `api`): its id, or the refusal.
/// With `valid` false the login has a `!`, which no panel takes: the create must be refused.
fn create(addr: &str, api: u64, login: &str, name: &str, valid: bool) -> Outcome {
    let email = format!("{login}@crash.example");
    let login = &if valid {
        login.to_owned()
    } else {
        format!("{login}!")
    };
    match api {
        0 => match froxlor(addr, &format!(r#"{{"command":"Customers.add","params":{{"new_loginname":"{login}","email":"{email}","name":"{name}","firstname":"F","diskspace":100,"mysqls":2,"new_customer_password":"Secret123x!"}}}}"#)) {
            Some((200, b)) => Outcome::Done(serde_json::from_str::<serde_json::Value>(&b).ok().and_then(|v| v["data"]["customerid"].as_i64()).map(|i| i.to_string()).unwrap_or_default()),
            Some((_, b)) => Outcome::Refused(b),
            None => Outcome::Unknown,
        },
        1 => match plesk(addr, &format!("<packet><customer><add><gen_info><pname>{name}</pname><login>{login}</login><passwd>Secret123x!</passwd><email>{email}</email></gen_info></add></customer></packet>")) {
            Some((200, b)) if b.contains("<status>ok</status>") => Outcome::Done(xml_value(&b, "id").unwrap_or_default()),
            Some((200, b)) if b.contains("<status>error</status>") => Outcome::Refused(b),
            _ => Outcome::Unknown,
        },
        2 => match isp(addr, &format!("func=account.edit&sok=ok&username={login}&email={email}&name={name}&passwd=Secret123x!")) {
            Some((200, b)) => {
                let v: serde_json::Value = serde_json::from_str(&b).unwrap_or_default();
                match v["doc"]["id"]["$"].as_str() {
                    Some(id) => Outcome::Done(id.to_owned()),
                    None if !v["doc"]["error"].is_null() => Outcome::Refused(b),
                    None => Outcome::Unknown,
                }
            }
            _ => Outcome::Unknown,
        },
        _ => match httpapi(addr, "customers/signup.json", &format!("username={login}%40crash.example&passwd=Secret%21234x&name={name}&company=C&address-line-1=A&city=C&state=S&country=US&zipcode=1&phone-cc=1&phone=1&lang-pref=en")) {
            Some((200, b)) if b.trim().parse::<i64>().is_ok() => Outcome::Done(b.trim().to_owned()),
            Some((500, b)) => Outcome::Refused(b),
            _ => Outcome::Unknown,
        },
    }
}

/// What a client knows of one of its customers: the states it may be in.
#[derive(Clone, Debug, Default)]
struct Known {
    /// The client that created it: only that client changes it, so that what it knows is
    /// exact (concurrent changes of one customer are tests/integration/races.rs's).
    owner: usize,
    /// The login as stored (httpapi.com signups use the e-mail address).
    login: String,
    id: Option<i64>,
    may_exist: bool,
    may_be_gone: bool,
    names: HashSet<String>,
    suspended: HashSet<bool>,
}

/// A change of an existing customer.
enum Change {
    Rename(String),
    Suspend,
    Delete,
}

impl Known {
    /// What the answer to `change` tells of the customer; a refusal of a change to a customer
    /// that must exist is a lost write (returned as the problem).
    fn learn(&mut self, change: Change, outcome: Outcome) -> Option<String> {
        let what = match &change {
            Change::Rename(_) => "update",
            Change::Suspend => "suspend",
            Change::Delete => "delete",
        };
        match (outcome, change) {
            (Outcome::Refused(b), _) => (!self.may_be_gone).then(|| {
                format!(
                    "{}: {what} refused for a customer that must exist: {b}",
                    self.login
                )
            }),
            (Outcome::Done(_), Change::Rename(name)) => {
                self.names = HashSet::from([name]);
                self.may_be_gone = false;
                None
            }
            (Outcome::Unknown, Change::Rename(name)) => {
                self.names.insert(name);
                None
            }
            (Outcome::Done(_), Change::Suspend) => {
                self.suspended = HashSet::from([true]);
                self.may_be_gone = false;
                None
            }
            (Outcome::Unknown, Change::Suspend) => {
                self.suspended.insert(true);
                None
            }
            (Outcome::Done(_), Change::Delete) => {
                self.may_exist = false;
                self.may_be_gone = true;
                None
            }
            (Outcome::Unknown, Change::Delete) => {
                self.may_be_gone = true;
                None
            }
        }
    }
}

/// A Froxlor answer: 200 is done, any other status a refusal.
fn froxlor_outcome(r: Option<(u16, String)>) -> Outcome {
    match r {
        Some((200, b)) => Outcome::Done(b),
        Some((_, b)) => Outcome::Refused(b),
        None => Outcome::Unknown,
    }
}

/// A Plesk or ISPsystem answer (always 200): done when it has `marker`, else a refusal.
fn marked_outcome(r: Option<(u16, String)>, marker: &str) -> Outcome {
    match r {
        Some((200, b)) if b.contains(marker) => Outcome::Done(b),
        Some((200, b)) => Outcome::Refused(b),
        _ => Outcome::Unknown,
    }
}

#[derive(Default)]
struct Tally {
    done: AtomicU64,
    refused: AtomicU64,
    unknown: AtomicU64,
    backups_done: AtomicU64,
    restores_done: AtomicU64,
}

impl Tally {
    fn count(&self, o: &Outcome) {
        match o {
            Outcome::Done(_) => &self.done,
            Outcome::Refused(_) => &self.refused,
            Outcome::Unknown => &self.unknown,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

/// One client: writes until `stop`, keeping what it knows in `known`. A contradiction with an
/// earlier acknowledged write (an update of a customer that must exist answered "not found")
/// is a lost write, reported through `lost`.
#[allow(clippy::too_many_arguments)]
fn client(
    me: usize,
    addr: &str,
    tag: &str,
    seed: u64,
    stop: &AtomicBool,
    known: &Mutex<Vec<Known>>,
    archives: &[i64],
    tally: &Tally,
    lost: &Mutex<Vec<String>>,
) {
    let mut rng = Rng(seed | 1);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        // Once the process is gone, nothing is sent (a write that was never sent is no write).
        if std::net::TcpStream::connect(addr).is_err() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        n += 1;
        let roll = rng.below(100);
        let pick = {
            let k = known.lock().unwrap();
            let live: Vec<usize> = (0..k.len())
                .filter(|i| k[*i].owner == me && k[*i].may_exist && k[*i].id.is_some())
                .collect();
            if live.is_empty() {
                None
            } else {
                Some(live[rng.below(live.len() as u64) as usize])
            }
        };
        match (roll, pick) {
            (0..=34, _) | (_, None) if roll < 80 => {
                let api = rng.below(4);
                let login = format!("{tag}n{n}");
                let name = format!("Name{n}");
                let outcome = create(addr, api, &login, &name, true);
                tally.count(&outcome);
                let stored = if api == 3 {
                    format!("{login}@crash.example")
                } else {
                    login.clone()
                };
                let mut k = known.lock().unwrap();
                k.push(Known {
                    owner: me,
                    login: stored,
                    id: match &outcome {
                        Outcome::Done(id) => id.parse().ok(),
                        _ => None,
                    },
                    may_exist: !matches!(outcome, Outcome::Refused(_)),
                    may_be_gone: !matches!(outcome, Outcome::Done(_)),
                    names: HashSet::from([name]),
                    suspended: HashSet::from([false]),
                });
            }
            (35..=74, Some(i)) => {
                let id = known.lock().unwrap()[i].id.unwrap();
                let (change, outcome) = match roll {
                    35..=54 => {
                        let name = format!("Renamed{n}");
                        let r = froxlor(
                            addr,
                            &format!(
                                r#"{{"command":"Customers.update","params":{{"id":{id},"name":"{name}","firstname":"F","company":"C"}}}}"#
                            ),
                        );
                        (Change::Rename(name), froxlor_outcome(r))
                    }
                    55..=64 => {
                        let r = plesk(addr, &format!("<packet><customer><set><filter><id>{id}</id></filter><values><gen_info><status>16</status></gen_info></values></set></customer></packet>"));
                        (Change::Suspend, marked_outcome(r, "<status>ok</status>"))
                    }
                    _ if rng.below(2) == 0 => {
                        let r = froxlor(
                            addr,
                            &format!(r#"{{"command":"Customers.delete","params":{{"id":{id}}}}}"#),
                        );
                        (Change::Delete, froxlor_outcome(r))
                    }
                    _ => {
                        let r = isp(addr, &format!("func=account.delete&elid={id}&sok=ok"));
                        (Change::Delete, marked_outcome(r, "\"ok\""))
                    }
                };
                tally.count(&outcome);
                let mut k = known.lock().unwrap();
                if let Some(problem) = k[i].learn(change, outcome) {
                    lost.lock().unwrap().push(problem);
                }
            }
            (75..=79, _) => {
                // A write that must be refused: its customer must never appear.
                let login = format!("{tag}bad{n}");
                let outcome = create(addr, rng.below(3), &login, "Bad", false);
                tally.count(&outcome);
                if let Outcome::Done(b) = &outcome {
                    lost.lock()
                        .unwrap()
                        .push(format!("{login}: an invalid create was accepted: {b}"));
                }
                known.lock().unwrap().push(Known {
                    owner: me,
                    login,
                    may_exist: matches!(outcome, Outcome::Unknown),
                    may_be_gone: true,
                    ..Known::default()
                });
            }
            (80..=89, _) => {
                let r = plesk(addr, "<packet><backup-manager><backup-customer><customer-id>1</customer-id><local/><description>crash</description></backup-customer></backup-manager></packet>");
                let outcome = marked_outcome(r, "<status>ok</status>");
                tally.count(&outcome);
                if matches!(outcome, Outcome::Done(_)) {
                    tally.backups_done.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {
                let Some(archive) = archives.get(rng.below(archives.len().max(1) as u64) as usize)
                else {
                    continue;
                };
                let r = isp(
                    addr,
                    &format!("func=backups.restore&elid={archive}&sok=ok&behavior=skip"),
                );
                let outcome = marked_outcome(r, "\"ok\"");
                tally.count(&outcome);
                if matches!(outcome, Outcome::Done(_)) {
                    tally.restores_done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The database of this run: a scratch PostgreSQL / MariaDB database, or a SQLite file.
async fn database(data: &std::path::Path) -> (String, &'static str) {
    for (var, name) in [
        ("PANELGATE_TEST_POSTGRES_URL", "postgres"),
        ("PANELGATE_TEST_MYSQL_URL", "mariadb"),
    ] {
        if let Some(base) = std::env::var(var).ok().filter(|s| !s.is_empty()) {
            return (
                panelgate_core::db::create_scratch_database(&base)
                    .await
                    .unwrap(),
                name,
            );
        }
    }
    (
        format!("sqlite://{}?mode=rwc", data.join("crash.db").display()),
        "sqlite",
    )
}

/// Every invariant of the module documentation, on the state as it is now.
async fn check(
    core: &Core,
    system: &panelgate_core::SystemCap,
    known: &[Known],
    backups_done: u64,
    data: &std::path::Path,
) -> Vec<String> {
    let sys = system.actor();
    let mut problems = Vec::new();
    for k in known {
        match core
            .customers()
            .get(&sys, &CustomerRef::Login(k.login.clone()))
            .await
        {
            Ok(c) => {
                if !k.may_exist {
                    problems.push(format!(
                        "{}: exists, but its create was refused or its delete acknowledged",
                        k.login
                    ));
                }
                if !k.names.is_empty() && !k.names.contains(&c.profile.name) {
                    problems.push(format!(
                        "{}: name {:?}, acknowledged {:?}",
                        k.login, c.profile.name, k.names
                    ));
                }
                if !k.suspended.is_empty() && !k.suspended.contains(&c.deactivated) {
                    problems.push(format!(
                        "{}: deactivated {}, acknowledged {:?}",
                        k.login, c.deactivated, k.suspended
                    ));
                }
            }
            Err(_) if !k.may_be_gone => {
                problems.push(format!("{}: acknowledged, but gone", k.login))
            }
            Err(_) => {}
        }
    }
    let customers = core.customers().list(&sys).await.unwrap();
    for admin in core.admins().list(&sys).await.unwrap() {
        let owned: Vec<_> = customers
            .iter()
            .filter(|c| c.admin_id == admin.id)
            .collect();
        if admin.customers_used != owned.len() as i64 {
            problems.push(format!(
                "{}: customers_used {} for {} customers: {:?}",
                admin.loginname,
                admin.customers_used,
                owned.len(),
                owned
                    .iter()
                    .map(|c| format!("{} #{} via {}", c.loginname, c.id, c.created_via))
                    .collect::<Vec<_>>()
            ));
        }
        for r in Resource::ALL {
            let sum: i64 = owned.iter().map(|c| c.limits.counted(r)).sum();
            if admin.used.get(r) != sum {
                problems.push(format!(
                    "{}: {r:?} used {} but its customers sum to {sum}",
                    admin.loginname,
                    admin.used.get(r)
                ));
            }
        }
    }
    let tasks = core.backups().tasks(&sys).await.unwrap();
    if (tasks.len() as u64) < backups_done {
        problems.push(format!(
            "{} backups acknowledged, {} tasks",
            backups_done,
            tasks.len()
        ));
    }
    let mut registered = HashSet::new();
    for archive in core.backups().archives(&sys).await.unwrap() {
        match core.backups().files(&sys, archive.id).await {
            Ok(files) => {
                let size: u64 = files
                    .paths
                    .iter()
                    .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
                    .sum();
                if size != archive.size as u64 || files.paths.iter().any(|p| !p.exists()) {
                    problems.push(format!(
                        "archive {}: files of {size} bytes for a row of {}",
                        archive.id, archive.size
                    ));
                }
                registered.extend(files.paths.iter().cloned());
            }
            Err(e) => problems.push(format!("archive {}: {e}", archive.id)),
        }
    }
    for entry in walkdir::WalkDir::new(core.storage_dir())
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_file() && !registered.contains(entry.path()) {
            problems.push(format!(
                "a file without its row: {}",
                entry.path().display()
            ));
        }
    }
    for entry in walkdir::WalkDir::new(data).into_iter().flatten() {
        if entry.file_name().to_string_lossy().ends_with(".tmp") {
            problems.push(format!(
                "a temporary file stayed: {}",
                entry.path().display()
            ));
        }
    }
    problems
}

/// Wait until no task is queued or working (the restarted process took over what the killed
/// one held) and the stopped writer's temporary files are gone; asked through the control API.
fn settle(addr: &str, data: &std::path::Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        let busy = match http(addr, "GET", "/_panelgate/tasks", &[], "") {
            Some((200, body)) => {
                let tasks: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                tasks
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter(|t| matches!(t["state"].as_str(), Some("queued" | "working")))
                            .count()
                    })
                    .unwrap_or(usize::MAX)
            }
            _ => usize::MAX,
        };
        let tmp: Vec<String> = walkdir::WalkDir::new(data)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .map(|e| e.path().display().to_string())
            .collect();
        if busy == 0 && tmp.is_empty() {
            return Ok(());
        }
        last = format!("{busy} tasks queued or working, temporary files {tmp:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("not settled after 60 s: {last}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let cycles: u32 = std::env::var("PANELGATE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("PANELGATE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand_seed);
    let data = tempfile::tempdir().unwrap();
    let (url, backend) = database(data.path()).await;
    let home = data.path().join("homes").join("customer1");
    std::fs::create_dir_all(&home).unwrap();
    for i in 0..8u8 {
        std::fs::write(home.join(format!("f{i}.bin")), vec![i; 512 * 1024]).unwrap();
    }
    let args = [
        "--database-url",
        url.as_str(),
        "--password-hashing",
        "fast",
        "--task-lease-secs",
        "3",
    ];
    let known: Arc<Mutex<Vec<Known>>> = Arc::default();
    let tally = Arc::new(Tally::default());
    let lost: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut rng = Rng(seed | 1);
    let mut server = support::start_with(data.path(), &args);
    let mut archives: Arc<Vec<i64>> = Arc::default();
    let mut checked_cycles = 0;
    let mut last = None;
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3)
            .map(|w| {
                let (addr, stop, known, archives, tally, lost) = (
                    server.addr.clone(),
                    stop.clone(),
                    known.clone(),
                    archives.clone(),
                    tally.clone(),
                    lost.clone(),
                );
                let client_seed = rng.next();
                std::thread::spawn(move || {
                    client(
                        w,
                        &addr,
                        &format!("k{cycle}w{w}"),
                        client_seed,
                        &stop,
                        &known,
                        &archives,
                        &tally,
                        &lost,
                    )
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1700))).await;
        // SIGKILL: no shutdown of any kind.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        // The restarted process recovers; then it is stopped (at a quiet moment) and the state
        // is read directly from the database and the data folder.
        server = support::start_with(data.path(), &args);
        let settled = settle(&server.addr, data.path());
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let (core, system) = Core::open(&url, data.path()).await.unwrap();
        let problems = {
            // (The clients have stopped: this is what they knew.)
            let known = known.lock().unwrap().clone();
            let mut p = lost.lock().unwrap().clone();
            p.extend(settled.err());
            p.extend(
                check(
                    &core,
                    &system,
                    &known,
                    tally.backups_done.load(Ordering::Relaxed),
                    data.path(),
                )
                .await,
            );
            p
        };
        assert!(
            problems.is_empty(),
            "{backend}, seed {seed}, cycle {cycle}:\n{}",
            problems.join("\n")
        );
        checked_cycles += 1;
        archives = Arc::new(
            core.backups()
                .archives(&system.actor())
                .await
                .unwrap()
                .iter()
                .map(|a| a.id)
                .collect(),
        );
        let tasks = core.backups().tasks(&system.actor()).await.unwrap();
        last = Some((
            tasks.len(),
            tasks
                .iter()
                .filter(|t| t.state == TaskState::Failed)
                .count(),
        ));
        drop((core, system));
        server = support::start_with(data.path(), &args);
    }
    let (tasks, failed) = last.unwrap_or_default();
    println!(
        "crash harness on {backend} (seed {seed}): {checked_cycles} kill -9 cycles, {} writes acknowledged, {} refused, {} cut off; {} backups and {} restores acknowledged; {} tasks ({failed} failed by the kill), {} customers tracked; 0 acknowledged writes lost, every invariant held",
        tally.done.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.unknown.load(Ordering::Relaxed),
        tally.backups_done.load(Ordering::Relaxed),
        tally.restores_done.load(Ordering::Relaxed),
        tasks,
        known.lock().unwrap().len(),
    );
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}
