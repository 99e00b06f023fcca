//! The backup engine (issue 3): real archives, restore, upload checks, Froxlor jobs, leases.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use panelgate_core::backup_worker::Worker;
use panelgate_core::backups::{
    BackupOptions, BackupScope, RestoreBehavior, ServerSettings, Storage, TaskState,
};
use panelgate_core::CustomerRef;
use panelgate_testkit::{TestApp, ADMIN_KEY};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A home folder with nested, binary and empty files.
fn fill_home(home: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        ("index.html".to_owned(), b"<h1>hello</h1>\n".to_vec()),
        (
            "deep/dir/data.bin".to_owned(),
            (0..=255u8).cycle().take(300_000).collect(),
        ),
        ("empty.txt".to_owned(), Vec::new()),
        (
            "name with spaces.txt".to_owned(),
            "Grüße\n".as_bytes().to_vec(),
        ),
    ];
    files.sort();
    for (name, bytes) in &files {
        let p = home.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    files
}

fn read_home(home: &Path, files: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|(name, _)| {
            (
                name.clone(),
                std::fs::read(home.join(name)).unwrap_or_else(|_| b"<missing>".to_vec()),
            )
        })
        .collect()
}

async fn control(t: &TestApp, method: &str, target: &str) -> (u16, Value) {
    let r = t.request(method, target, None, "").await;
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn backup_now(t: &TestApp, scope: BackupScope, opts: BackupOptions) -> (i64, i64) {
    let task = t.core.backups().start(&t.sys(), scope, opts).await.unwrap();
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let task = t.core.backups().task(&t.sys(), task.id).await.unwrap();
    assert_eq!(
        task.state,
        TaskState::Finished,
        "task error: {}",
        task.error
    );
    (task.id, task.archive_id.expect("archive recorded"))
}

async fn download(t: &TestApp, archive: i64) -> Vec<u8> {
    let r = t.app.handle(
        panelgate_http::Request::new(
            http::Method::GET,
            &format!("/_panelgate/archives/{archive}/download"),
            http::HeaderMap::new(),
            Bytes::new(),
        )
        .unwrap(),
    );
    let resp = r.await;
    assert_eq!(resp.status(), 200);
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

async fn upload(t: &TestApp, target: &str, body: Vec<u8>) -> (u16, Value) {
    let req = http::Request::post(target)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = t.app.handle_http(req, "127.0.0.1:9".parse().unwrap()).await;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const ADD_JDOE: &str = r#"{"command":"Customers.add","params":{"email":"jane@example.com","name":"Doe","firstname":"Jane","company":"ACME","new_loginname":"jdoe","new_customer_password":"Secret123x","diskspace":100,"ftps":2}}"#;

// Issue 3 acceptance: backup → delete customer and files → restore → same customer (fields,
// authentication) and same file bytes. Runs on SQLite, PostgreSQL and MariaDB.
#[tokio::test]
async fn customer_backup_delete_restore_round_trip() {
    let t = TestApp::demo().await;
    let r = t.froxlor(ADMIN_KEY, ADD_JDOE).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["data"]["customerid"].as_i64().unwrap();
    let data = panelgate_core::seed::DataSet {
        credentials: vec![panelgate_core::NewCredential {
            kind: panelgate_core::CredentialKind::Froxlor,
            public_key: "jdoe-key".into(),
            secret: "jdoe-secret".into(),
            admin_id: None,
            customer_id: Some(id),
            allowed_from: String::new(),
            valid_until: -1,
            description: String::new(),
        }],
        ..Default::default()
    };
    t.load(&data).await;
    let before = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"jdoe"}}"#,
        )
        .await
        .body;
    let counters_before = t.admin(1).await;
    let home = t.core.home_dir("jdoe").unwrap();
    let files = fill_home(&home);

    let (_, archive) = backup_now(
        &t,
        BackupScope::Customer(id),
        BackupOptions {
            description: "before delete".into(),
            ..Default::default()
        },
    )
    .await;
    let (status, listed) = control(&t, "GET", "/_panelgate/archives").await;
    assert_eq!(status, 200);
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == archive)
        .unwrap()
        .clone();
    assert!(entry["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["type"] == "files" && i["name"] == "jdoe"));
    let bytes = download(&t, archive).await;
    assert_eq!(
        hex(&Sha256::digest(&bytes)),
        entry["sha256"].as_str().unwrap(),
        "download = recorded archive"
    );
    assert_eq!(bytes.len() as i64, entry["size"].as_i64().unwrap());

    let del = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.delete","params":{"loginname":"jdoe"}}"#,
        )
        .await;
    assert_eq!(del.status, 200);
    assert!(
        !home.exists(),
        "the deleted customer's home is removed with it"
    );
    assert_eq!(
        t.froxlor(
            "jdoe-key:jdoe-secret",
            r#"{"command":"Customers.get","params":{"id":1}}"#
        )
        .await
        .status,
        403
    );

    let (status, report) = control(
        &t,
        "POST",
        &format!("/_panelgate/archives/{archive}/restore?behavior=skip"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["files_restored"], 4);
    let after = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"jdoe"}}"#,
        )
        .await
        .body;
    assert_eq!(after, before, "the restored customer has the same fields");
    assert_eq!(
        read_home(&home, &files),
        files,
        "the restored files have the same bytes"
    );
    let own = t
        .froxlor(
            "jdoe-key:jdoe-secret",
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await;
    assert_eq!(
        own.status, 200,
        "the customer's API key works again: {}",
        own.body
    );
    assert!(
        t.core
            .auth()
            .password("jdoe", "Secret123x", None)
            .await
            .unwrap()
            .is_ok(),
        "same password"
    );
    let counters_after = t.admin(1).await;
    assert_eq!(
        (
            counters_after.customers_used,
            counters_after.used.diskspace,
            counters_after.used.ftps
        ),
        (
            counters_before.customers_used,
            counters_before.used.diskspace,
            counters_before.used.ftps
        )
    );
}

// Issue 3 acceptance: skip-existing keeps later changes, overwrite-existing brings the archive's
// version back (records and files).
#[tokio::test]
async fn restore_skip_versus_overwrite() {
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    let files = fill_home(&home);
    let original = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await
        .body;
    let (_, archive) = backup_now(&t, BackupScope::Customer(1), BackupOptions::default()).await;

    let changed = t.froxlor(ADMIN_KEY, r#"{"command":"Customers.update","params":{"id":1,"name":"Changed","city":"Elsewhere"}}"#).await;
    assert_eq!(changed.status, 200);
    std::fs::write(home.join("index.html"), b"changed").unwrap();
    std::fs::remove_file(home.join("empty.txt")).unwrap();

    let report = t
        .core
        .backups()
        .restore(&t.sys(), archive, None, RestoreBehavior::Skip)
        .await
        .unwrap();
    assert!(
        report
            .skipped
            .iter()
            .any(|i| i.kind == "customer" && i.name == "customer1"),
        "{report:?}"
    );
    assert_eq!(
        (report.files_restored, report.files_skipped),
        (1, 3),
        "only the missing file comes back"
    );
    let now = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Id(1))
        .await
        .unwrap();
    assert_eq!(
        (now.profile.name.as_str(), now.profile.city.as_str()),
        ("Changed", "Elsewhere")
    );
    assert_eq!(std::fs::read(home.join("index.html")).unwrap(), b"changed");

    let report = t
        .core
        .backups()
        .restore(&t.sys(), archive, None, RestoreBehavior::Overwrite)
        .await
        .unwrap();
    assert!(
        report
            .restored
            .iter()
            .any(|i| i.kind == "customer" && i.name == "customer1"),
        "{report:?}"
    );
    assert_eq!(report.files_restored, 4);
    let back = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await
        .body;
    assert_eq!(back, original);
    assert_eq!(read_home(&home, &files), files);

    // Selected items only: the files of customer1, not its record.
    t.froxlor(
        ADMIN_KEY,
        r#"{"command":"Customers.update","params":{"id":1,"name":"Again"}}"#,
    )
    .await;
    std::fs::write(home.join("index.html"), b"again").unwrap();
    let (status, report) = control(
        &t,
        "POST",
        &format!("/_panelgate/archives/{archive}/restore?behavior=overwrite&items=files:customer1"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        std::fs::read(home.join("index.html")).unwrap(),
        b"<h1>hello</h1>\n"
    );
    assert_eq!(
        t.core
            .customers()
            .get(&t.sys(), &CustomerRef::Id(1))
            .await
            .unwrap()
            .profile
            .name,
        "Again"
    );
}

/// A tar.gz whose entry names are written raw (the tar crate refuses `..` on its own).
fn raw_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        let bytes = name.as_bytes();
        header.as_gnu_mut().unwrap().name[..bytes.len()].copy_from_slice(bytes);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

fn storage_listing(t: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(t.core.storage_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// Issue 3 acceptance: wrong checksum, truncated gzip, path traversal, oversized body — refused
// with a clear error, nothing registered, nothing left in storage.
#[tokio::test]
async fn bad_uploads_are_refused_and_change_nothing() {
    let t = TestApp::demo().await;
    fill_home(&t.core.home_dir("customer1").unwrap());
    let (_, archive) = backup_now(&t, BackupScope::Customer(1), BackupOptions::default()).await;
    let good = download(&t, archive).await;
    let archives_before = control(&t, "GET", "/_panelgate/archives").await.1;
    let files_before = storage_listing(&t);

    let manifest = {
        // The manifest of the good archive, reused so only the attack differs.
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&good[..]));
        let mut first = a.entries().unwrap().next().unwrap().unwrap();
        let mut m = Vec::new();
        std::io::Read::read_to_end(&mut first, &mut m).unwrap();
        m
    };
    let traversal = raw_archive(&[
        ("manifest.json", &manifest),
        ("../../etc/passwd", b"root:x:0:0"),
        ("checksums.json", b"{}"),
    ]);
    let absolute = raw_archive(&[
        ("manifest.json", &manifest),
        ("/etc/passwd", b"root:x:0:0"),
        ("checksums.json", b"{}"),
    ]);
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            format!("/_panelgate/archives?sha256={}", "0".repeat(64)),
            good.clone(),
            "checksum mismatch",
        ),
        (
            "/_panelgate/archives".into(),
            good[..good.len() / 2].to_vec(),
            "truncated",
        ),
        ("/_panelgate/archives".into(), flipped, "archive"),
        (
            "/_panelgate/archives".into(),
            traversal,
            "forbidden entry: ../../etc/passwd",
        ),
        ("/_panelgate/archives".into(), absolute, "forbidden entry"),
        (
            "/_panelgate/archives".into(),
            b"not an archive at all".to_vec(),
            "archive",
        ),
        ("/_panelgate/archives".into(), Vec::new(), "archive"),
    ];
    for (target, body, expect) in cases {
        let (status, answer) = upload(&t, &target, body).await;
        assert_eq!(status, 400, "{target}: {answer}");
        let text = answer["error"].as_str().unwrap_or_default();
        assert!(
            text.contains(expect),
            "{target}: {text:?} should mention {expect:?}"
        );
    }
    let small = TestApp::demo().await;
    let limited = small.app_with(panelgate_server::AppOptions {
        upload_limit: 4096,
        ..Default::default()
    });
    let req = http::Request::post("/_panelgate/archives")
        .body(Full::new(Bytes::from(good.clone())))
        .unwrap();
    let resp = limited
        .handle_http(req, "127.0.0.1:9".parse().unwrap())
        .await;
    assert_eq!(resp.status(), 400, "an upload over the limit is refused");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("larger than 4096 bytes"));
    assert!(
        storage_listing(&small).is_empty(),
        "{:?}",
        storage_listing(&small)
    );

    assert_eq!(
        control(&t, "GET", "/_panelgate/archives").await.1,
        archives_before
    );
    assert_eq!(storage_listing(&t), files_before, "no file was left behind");

    // The good archive itself is accepted, with its checksum, and can be restored.
    let (status, imported) = upload(
        &t,
        &format!(
            "/_panelgate/archives?sha256={}",
            hex(&Sha256::digest(&good))
        ),
        good.clone(),
    )
    .await;
    assert_eq!(status, 201, "{imported}");
    let id = imported["id"].as_i64().unwrap();
    let report = t
        .core
        .backups()
        .restore(&t.sys(), id, None, RestoreBehavior::Overwrite)
        .await
        .unwrap();
    assert_eq!(report.files_restored, 4);
}

// Issue 3 §7: a Froxlor job runs like Froxlor's cron: an archive inside the customer's destdir,
// and the job leaves the listing.
#[tokio::test]
async fn froxlor_job_produces_an_archive_in_the_destdir() {
    let t = TestApp::demo().await;
    fill_home(&t.core.home_dir("customer1").unwrap());
    let r = t.froxlor(ADMIN_KEY, r#"{"command":"CustomerBackups.add","params":{"path":"/my backups","loginname":"customer1","backup_web":1}}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listing = t
        .froxlor(ADMIN_KEY, r#"{"command":"CustomerBackups.listing"}"#)
        .await;
    assert_eq!(listing.json()["data"]["count"], 1);
    let worker = Worker::new(t.core.clone());
    assert_eq!(
        worker.schedule_due_jobs(60).await.unwrap(),
        0,
        "not due yet"
    );
    t.clock.advance(61);
    assert_eq!(worker.schedule_due_jobs(60).await.unwrap(), 1);
    assert_eq!(
        worker.schedule_due_jobs(60).await.unwrap(),
        0,
        "scheduled once"
    );
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    let listing = t
        .froxlor(ADMIN_KEY, r#"{"command":"CustomerBackups.listing"}"#)
        .await;
    assert_eq!(
        listing.json()["data"]["count"],
        0,
        "the job is gone once it ran"
    );
    let dir = t.core.home_dir("customer1").unwrap().join("my backups");
    let made: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(
        made[0].starts_with("backup_customer1_") && made[0].ends_with(".tar.gz"),
        "{made:?}"
    );
    let archives = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!(archives[0].storage, "home");
}

// Issue 3 §8/§9: a claim is a lease; a task whose worker vanished is queued again once, then
// failed — never stuck in `working`. The clock is injected, nothing sleeps.
#[tokio::test]
async fn expired_leases_are_recovered() {
    let t = TestApp::demo().await;
    let lost = Worker::new(t.core.clone()).with_lease(30);
    let task = t
        .core
        .backups()
        .start(&t.sys(), BackupScope::Customer(1), BackupOptions::default())
        .await
        .unwrap();
    assert_eq!(
        lost.claim().await.unwrap().map(|c| c.task_id()),
        Some(task.id)
    );
    assert!(
        lost.claim().await.unwrap().is_none(),
        "a claimed task is not handed out twice"
    );
    let other = Worker::new(t.core.clone());
    assert_eq!(
        other.run_until_idle().await.unwrap(),
        0,
        "the lease still holds"
    );
    t.clock.advance(31);
    assert_eq!(
        other.run_until_idle().await.unwrap(),
        1,
        "the expired lease is taken over"
    );
    let done = t.core.backups().task(&t.sys(), task.id).await.unwrap();
    assert_eq!((done.state, done.attempts), (TaskState::Finished, 2));

    let task = t
        .core
        .backups()
        .start(&t.sys(), BackupScope::Customer(1), BackupOptions::default())
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(lost.claim().await.unwrap().is_some());
        t.clock.advance(31);
        lost.recover_expired().await.unwrap();
    }
    let failed = t.core.backups().task(&t.sys(), task.id).await.unwrap();
    assert_eq!(failed.state, TaskState::Failed);
    assert!(failed.error.contains("lease expired"), "{}", failed.error);
}

// A writer killed between committing its archive row and renaming the parts leaves `.tmp`
// parts of a registered archive (seen on MariaDB by the kill -9 harness: the task was finished,
// so no lease ran out and nothing swept them). Reading the archive finishes the renames; a
// restarted worker sweeps the files a lease after it starts.
#[tokio::test]
async fn an_archive_registered_but_not_renamed_is_finished() {
    let t = TestApp::demo().await;
    fill_home(&t.core.home_dir("customer1").unwrap());
    let (_, archive) = backup_now(&t, BackupScope::Customer(1), BackupOptions::default()).await;
    let whole = download(&t, archive).await;
    let row = t.core.backups().archive(&t.sys(), archive).await.unwrap();
    let dir = t.core.storage_dir();
    for p in &row.parts {
        std::fs::rename(dir.join(p), dir.join(format!("{p}.tmp"))).unwrap();
    }
    assert_eq!(
        download(&t, archive).await,
        whole,
        "the archive is whole again"
    );
    for p in &row.parts {
        assert!(dir.join(p).is_file() && !dir.join(format!("{p}.tmp")).exists());
    }

    // A fresh `.tmp` of a writer killed just before this worker started.
    let left = t.core.storage_dir().join("upload_00000000feedface.tmp");
    std::fs::write(&left, b"partial").unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = Worker::new(t.core.clone()).with_lease(3);
    let run = tokio::spawn(worker.run(60, Duration::from_millis(50), stopped));
    let started = std::time::Instant::now();
    while left.exists() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    run.await.unwrap();
    assert!(!left.exists(), "swept a lease after the worker started");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before it was a lease old"
    );
}

// Issue 3 §1, §4: stop while queued; FTP without settings fails clearly; split archives; pruning.
#[tokio::test]
async fn stop_ftp_split_and_prune() {
    // Split parts of 1,000 bytes need a lower minimum split size than the default.
    let t = TestApp::demo_with(
        Default::default(),
        panelgate_core::Limits {
            min_split_size: 1_000,
            ..Default::default()
        },
    )
    .await;
    fill_home(&t.core.home_dir("customer1").unwrap());
    let task = t
        .core
        .backups()
        .start(&t.sys(), BackupScope::Customer(1), BackupOptions::default())
        .await
        .unwrap();
    let (status, stopped) =
        control(&t, "POST", &format!("/_panelgate/tasks/{}/stop", task.id)).await;
    assert_eq!((status, stopped["state"].as_str()), (200, Some("stopped")));
    assert_eq!(
        Worker::new(t.core.clone()).run_until_idle().await.unwrap(),
        0
    );

    let ftp = t
        .core
        .backups()
        .start(
            &t.sys(),
            BackupScope::Customer(1),
            BackupOptions {
                storage: Storage::Ftp,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let ftp = t.core.backups().task(&t.sys(), ftp.id).await.unwrap();
    assert_eq!(ftp.state, TaskState::Failed);
    assert!(
        ftp.error.contains("remote storage (FTP) is not configured"),
        "{}",
        ftp.error
    );

    let (_, split) = backup_now(
        &t,
        BackupScope::Customer(1),
        BackupOptions {
            split_size: 1_000,
            ..Default::default()
        },
    )
    .await;
    let archive = t.core.backups().archive(&t.sys(), split).await.unwrap();
    assert!(archive.parts.len() > 1, "{:?}", archive.parts);
    let bytes = download(&t, split).await;
    assert_eq!(hex(&Sha256::digest(&bytes)), archive.sha256);
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::remove_dir_all(&home).unwrap();
    let report = t
        .core
        .backups()
        .restore(&t.sys(), split, None, RestoreBehavior::Skip)
        .await
        .unwrap();
    assert_eq!(report.files_restored, 4);

    t.core
        .backups()
        .set_server_settings(
            &t.sys(),
            &ServerSettings {
                max_backup_files: 2,
                max_backup_processes: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        t.clock.advance(1);
        backup_now(&t, BackupScope::Customer(1), BackupOptions::default()).await;
    }
    let left = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(left.len(), 2, "the oldest archives were pruned");
    assert!(left.iter().all(|a| a.id != split));
    for a in &left {
        for p in &a.parts {
            assert!(t.core.storage_dir().join(p).is_file());
        }
    }
    assert!(
        !t.core.storage_dir().join(&archive.parts[0]).exists(),
        "pruned files are deleted"
    );
}

// Visibility: a reseller sees only its customers' tasks and archives; a customer only its own.
#[tokio::test]
async fn backup_visibility_follows_ownership() {
    let t = TestApp::demo().await;
    backup_now(&t, BackupScope::Customer(1), BackupOptions::default()).await;
    backup_now(&t, BackupScope::Customer(2), BackupOptions::default()).await;
    let reseller = t.as_admin(2).await.actor();
    let customer1 = t.as_customer(1).await.actor();
    let names = |v: Vec<panelgate_core::backups::BackupArchive>| {
        v.into_iter().map(|a| a.scope_name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(t.core.backups().archives(&reseller).await.unwrap()),
        ["customer2"]
    );
    assert_eq!(
        names(t.core.backups().archives(&customer1).await.unwrap()),
        ["customer1"]
    );
    assert!(t
        .core
        .backups()
        .start(
            &reseller,
            BackupScope::Customer(1),
            BackupOptions::default()
        )
        .await
        .is_err());
    assert!(t
        .core
        .backups()
        .start(&customer1, BackupScope::Server, BackupOptions::default())
        .await
        .is_err());
    let archive1 = t.core.backups().archives(&customer1).await.unwrap()[0].id;
    assert!(t
        .core
        .backups()
        .restore(&reseller, archive1, None, RestoreBehavior::Skip)
        .await
        .is_err());
}

// Issue 3 §1: a working task stops on request: no archive, no file, state `stopped`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_working_task() {
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let mut seed = 0x853c_49e6_748f_ea9bu64;
    let blob: Vec<u8> = (0..40 << 20)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    std::fs::write(home.join("big.bin"), &blob).unwrap();
    let task = t
        .core
        .backups()
        .start(&t.sys(), BackupScope::Customer(1), BackupOptions::default())
        .await
        .unwrap();
    let worker = Worker::new(t.core.clone());
    let running = tokio::spawn(async move { worker.run_until_idle().await });
    loop {
        let now = t.core.backups().task(&t.sys(), task.id).await.unwrap();
        if now.state == TaskState::Working {
            break;
        }
        assert_eq!(now.state, TaskState::Queued);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (status, _) = control(&t, "POST", &format!("/_panelgate/tasks/{}/stop", task.id)).await;
    assert_eq!(status, 200);
    running.await.unwrap().unwrap();
    let done = t.core.backups().task(&t.sys(), task.id).await.unwrap();
    assert_eq!(done.state, TaskState::Stopped, "{}", done.error);
    assert!(done.archive_id.is_none());
    assert!(t
        .core
        .backups()
        .archives(&t.sys())
        .await
        .unwrap()
        .is_empty());
    assert!(storage_listing(&t).is_empty(), "{:?}", storage_listing(&t));
}
