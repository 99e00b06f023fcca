//! Issue 3 acceptance: two panelgate processes on one PostgreSQL (or MariaDB) database with 20
//! queued tasks execute each exactly once. Needs `PANELGATE_TEST_POSTGRES_URL` or
//! `PANELGATE_TEST_MYSQL_URL` (CI sets them); on SQLite alone there is nothing to share.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use panelgate_core::backups::{BackupOptions, BackupScope, TaskState};
use panelgate_core::Core;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch PostgreSQL or MariaDB database with the demo data, a data directory, and a core on
/// them; `None` (with the reason printed) when neither server is configured.
async fn shared_demo() -> Option<(String, tempfile::TempDir, Core, panelgate_core::SystemCap)> {
    let base = ["PANELGATE_TEST_POSTGRES_URL", "PANELGATE_TEST_MYSQL_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
    let Some(base) = base else {
        eprintln!("skipped: needs PANELGATE_TEST_POSTGRES_URL or PANELGATE_TEST_MYSQL_URL (.ci/run sets them)");
        return None;
    };
    let url = panelgate_core::db::create_scratch_database(&base)
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (core, system) = Core::open(&url, data.path()).await.unwrap();
    core.load(&system, &panelgate_server::demo_data().unwrap())
        .await
        .unwrap();
    Some((url, data, core, system))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_each_task_exactly_once() {
    let Some((url, data, core, system)) = shared_demo().await else {
        return;
    };
    for c in ["customer1", "customer2"] {
        let home = data.path().join("homes").join(c);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("index.html"), vec![b'x'; 200_000]).unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..20 {
        let scope = BackupScope::Customer(1 + (i % 2));
        ids.push(
            core.backups()
                .start(&system.actor(), scope, BackupOptions::default())
                .await
                .unwrap()
                .id,
        );
    }
    let spawn = || {
        Kill(
            Command::new(env!("CARGO_BIN_EXE_panelgate"))
                .args([
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--no-demo",
                    "--database-url",
                    &url,
                    "--data-dir",
                ])
                .arg(data.path())
                .env("PANELGATE_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let (_a, _b) = (spawn(), spawn());
    let deadline = Instant::now() + Duration::from_secs(180);
    let tasks = loop {
        let tasks = core.backups().tasks(&system.actor()).await.unwrap();
        if tasks.iter().all(|t| {
            matches!(
                t.state,
                TaskState::Finished | TaskState::Failed | TaskState::Stopped
            )
        }) {
            break tasks;
        }
        assert!(Instant::now() < deadline, "tasks did not finish: {tasks:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(tasks.len(), 20);
    for t in &tasks {
        assert_eq!(
            (t.state, t.attempts),
            (TaskState::Finished, 1),
            "task {} ran {} times: {}",
            t.id,
            t.attempts,
            t.error
        );
    }
    let workers: std::collections::BTreeSet<&str> =
        tasks.iter().map(|t| t.worker.as_str()).collect();
    assert_eq!(workers.len(), 2, "both instances took part: {workers:?}");
    let archives = core.backups().archives(&system.actor()).await.unwrap();
    assert_eq!(archives.len(), 20, "one archive per task");
    let mut by_task: Vec<i64> = archives.iter().filter_map(|a| a.task_id).collect();
    by_task.sort();
    assert_eq!(by_task, ids);
}

/// A started `panelgate serve` and the address it printed.
fn serve(url: &str, data: &std::path::Path) -> (Kill, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_panelgate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-demo",
            "--database-url",
            url,
            "--data-dir",
        ])
        .arg(data)
        .env("PANELGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && reader.read_line(&mut line).unwrap_or(0) > 0 {
        addr = line
            .split("listening on http://")
            .nth(1)
            .map(|a| a.trim().to_owned());
        line.clear();
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (Kill(child), addr.expect("the listen address"))
}

/// `GET target` over a real socket; the body.
fn get(addr: &str, target: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

/// Issue 9: a BILLmanager session opened on one process works on a second process sharing the
/// database, and a logout on the second ends it on the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ispsystem_session_is_shared_by_instances() {
    let Some((url, data, _core, _system)) = shared_demo().await else {
        return;
    };
    let ((_a, a), (_b, b)) = (serve(&url, data.path()), serve(&url, data.path()));
    let login = get(
        &a,
        "/billmgr?func=auth&username=customer1&password=changeme1Q**&out=json",
    );
    let v: serde_json::Value = serde_json::from_str(&login).unwrap();
    let session = v["doc"]["auth"]["$id"].as_str().expect(&login).to_owned();
    let listed = get(
        &b,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    );
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v["doc"]["elem"]["login"]["$"], "customer1", "{listed}");
    let out = get(
        &b,
        &format!("/billmgr?func=session.delete&auth={session}&out=json"),
    );
    assert!(out.contains("\"ok\""), "{out}");
    let after = get(
        &a,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    );
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["doc"]["error"]["$type"], "auth", "{after}");
}

/// `POST target` with an urlencoded body over a real socket; the body of the answer.
fn post(addr: &str, target: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

/// Issue 11: two instances on one database see each other's writes at once: a signup, a
/// change, a suspension and a password change made on one are what the other answers next
/// (no cache of either instance may serve an older state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_see_each_others_writes_at_once() {
    let Some((url, data, _core, _system)) = shared_demo().await else {
        return;
    };
    let ((_a, a), (_b, b)) = (serve(&url, data.path()), serve(&url, data.path()));
    const AUTH: &str = "auth-userid=2&api-key=demo-httpapi-key";
    let details = |addr: &str, id: &str| -> serde_json::Value {
        let body = get(
            addr,
            &format!("/api/customers/details-by-id.json?{AUTH}&customer-id={id}"),
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    let id = post(
        &a,
        "/api/customers/signup.json",
        &format!("{AUTH}&username=shared%40example.com&passwd=Secret1234x&name=Shared&company=C&address-line-1=A&city=C&state=S&country=DE&zipcode=1&phone-cc=49&phone=1&lang-pref=en"),
    );
    let id = id.trim().to_owned();
    assert!(id.parse::<i64>().is_ok(), "{id}");
    // Both read it (each instance's key check warmed its own cache first).
    assert_eq!(details(&b, &id)["name"], "Shared");
    assert_eq!(details(&a, &id)["name"], "Shared");
    // A change on B is what A answers next, and the other way round.
    assert_eq!(
        post(
            &b,
            "/api/customers/modify.json",
            &format!("{AUTH}&customer-id={id}&name=Renamed")
        )
        .trim(),
        "true"
    );
    assert_eq!(details(&a, &id)["name"], "Renamed");
    assert_eq!(
        post(
            &a,
            "/api/customers/suspend.json",
            &format!("{AUTH}&customer-id={id}")
        )
        .trim(),
        "true"
    );
    assert_eq!(details(&b, &id)["customerstatus"], "Suspended");
    // A password changed on A: B accepts the new one and refuses the old one at once, though
    // B verified the old one a moment before.
    let login = |addr: &str, password: &str| {
        get(
            addr,
            &format!("/billmgr?func=account&authinfo=customer2:{password}&out=json"),
        )
    };
    assert!(login(&b, "changeme1Q**").contains("\"elem\""));
    assert_eq!(
        post(
            &a,
            "/api/customers/change-password.json",
            &format!("{AUTH}&customer-id=2&new-passwd=Fresh1234x")
        )
        .trim(),
        "true"
    );
    assert!(
        login(&b, "Fresh1234x").contains("\"elem\""),
        "new password on the other instance"
    );
    assert!(
        !login(&b, "changeme1Q**").contains("\"elem\""),
        "old password on the other instance"
    );
}

/// Issue 12: instances on one database share the request journal (a request answered by one is
/// in the journal the other serves), and a snapshot saved through one and restored through the
/// other brings back what both answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_the_journal_and_snapshots() {
    let Some((url, data, _core, _system)) = shared_demo().await else {
        return;
    };
    let ((_a, a), (_b, b)) = (serve(&url, data.path()), serve(&url, data.path()));
    const AUTH: &str = "auth-userid=2&api-key=demo-httpapi-key";
    let details = format!("/api/customers/details-by-id.json?{AUTH}&customer-id=2");
    let before = get(&a, &details);
    assert!(before.contains("customer2"), "{before}");

    // The entry is written off the request path, in batches: it shows within moments.
    let deadline = Instant::now() + Duration::from_secs(20);
    let entries = loop {
        let body = get(&b, "/_panelgate/journal?protocol=httpapi&entity=customer:2");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        if v.as_array().is_some_and(|e| !e.is_empty()) || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let entry = &entries[0];
    assert_eq!(entry["call"], "customers/details-by-id", "{entries}");
    assert!(
        entry["request"].as_str().unwrap().contains("api-key=***"),
        "the key is redacted: {entry}"
    );

    let saved = post(&a, "/_panelgate/snapshots", r#"{"name":"shared"}"#);
    assert!(saved.contains("\"shared\""), "{saved}");
    assert_eq!(
        post(
            &b,
            "/api/customers/modify.json",
            &format!("{AUTH}&customer-id=2&name=Changed")
        )
        .trim(),
        "true"
    );
    assert!(get(&a, &details).contains("Changed"));
    let restored = post(&b, "/_panelgate/snapshots/shared/restore", "");
    assert!(restored.contains("\"restored\""), "{restored}");
    assert_eq!(get(&a, &details), before);
    assert_eq!(get(&b, &details), before);
}
