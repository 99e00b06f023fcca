//! Issue 7: one regression test per defect of the security review, named after it, through the
//! real router (in process). Defects 2, 4 and 9 have their tests beside the code they fixed
//! (panelgate-froxlor `params`/`listing`, panelgate-plesk `xml`, panelgate-core `archive`);
//! defects 3, 5 (the TOML limit) and 12 start the real binary (panelgate-server
//! `tests/binary.rs`).

use std::io::Read;

use panelgate_core::backup_worker::Worker;
use panelgate_core::backups::{BackupOptions, BackupScope, RestoreBehavior};
use panelgate_core::{CustomerPatch, CustomerRef, Limits, NewCredential};
use panelgate_testkit::{TestApp, ADMIN_KEY, RESELLER_KEY};

const ADMIN: &[(&str, &str)] = &[
    ("HTTP_AUTH_LOGIN", "admin"),
    ("HTTP_AUTH_PASSWD", "changeme1Q**"),
];
const CUSTOMER1: &[(&str, &str)] = &[
    ("HTTP_AUTH_LOGIN", "customer1"),
    ("HTTP_AUTH_PASSWD", "changeme1Q**"),
];

async fn plesk(t: &TestApp, headers: &[(&str, &str)], body: &str) -> String {
    t.plesk(headers, body).await.body
}

async fn control(t: &TestApp, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let r = t.control(method, path, body).await;
    (r.status, r.bytes.to_vec())
}

async fn logins(t: &TestApp) -> Vec<String> {
    let mut out: Vec<String> = t
        .core
        .customers()
        .list(&t.sys())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.loginname)
        .collect();
    out.extend(
        t.core
            .admins()
            .list(&t.sys())
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.loginname),
    );
    out
}

async fn backup(t: &TestApp, scope: BackupScope) -> i64 {
    let task = t
        .core
        .backups()
        .start(&t.sys(), scope, BackupOptions::default())
        .await
        .unwrap();
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    t.core
        .backups()
        .task(&t.sys(), task.id)
        .await
        .unwrap()
        .archive_id
        .expect("the backup finished")
}

// Defect 1: a reseller could create a customer named `/`, `..` or an absolute path, whose home
// was then the data directory itself (and its backup a copy of the database).
#[tokio::test]
async fn regression_issue7_defect1_unsafe_logins_are_refused() {
    let t = TestApp::demo().await;
    let before = logins(&t).await;
    let long = "a".repeat(200);
    for bad in [
        "/",
        "..",
        "/etc",
        "a/b",
        "a\\b",
        ".hidden",
        "x\u{1}y",
        long.as_str(),
    ] {
        let packet = format!(
            "<packet><customer><add><gen_info><pname>P</pname><login>{bad}</login><passwd>changeme1Q**</passwd></gen_info></add></customer></packet>"
        );
        let answer = plesk(&t, ADMIN, &packet).await;
        assert!(
            answer.contains("<status>error</status>"),
            "{bad:?}: {answer}"
        );
        let packet = format!(
            "<packet><reseller><add><gen-info><pname>P</pname><login>{bad}</login><passwd>changeme1Q**</passwd></gen-info></add></reseller></packet>"
        );
        let answer = plesk(&t, ADMIN, &packet).await;
        assert!(
            answer.contains("<status>error</status>"),
            "{bad:?}: {answer}"
        );
        let body = serde_json::json!({"command": "Customers.add", "params": {
            "loginname": bad, "email": "x@example.com", "name": "N", "firstname": "F"}})
        .to_string();
        // Froxlor refuses the login, or (where AntiXSS/trim empties it) names the customer
        // itself: either way no unsafe login is stored.
        let r = t.froxlor(ADMIN_KEY, &body).await;
        assert!(r.status == 400 || r.status == 200, "{bad:?}: {}", r.body);
    }
    let now = logins(&t).await;
    for login in &now {
        assert!(
            panelgate_core::types::Login::is_valid(login),
            "{login:?} was stored"
        );
    }
    assert!(before.iter().all(|l| now.contains(l)));
    assert!(t.core.home_dir("..").is_err() && t.core.home_dir("/").is_err());
}

// Defect 1 (restore/import): an archive whose manifest names an unsafe login is refused.
#[tokio::test]
async fn regression_issue7_defect1_archive_with_unsafe_login_is_refused() {
    let t = TestApp::demo().await;
    let archive = backup(&t, BackupScope::Customer(2)).await;
    let (status, bytes) = control(
        &t,
        "GET",
        &format!("/_panelgate/archives/{archive}/download"),
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200);
    // Rebuild the archive with the manifest's login changed to `../evil`.
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let mut out = tar::Builder::new(Vec::new());
    let mut entries = tar::Archive::new(tar_bytes.as_slice());
    for entry in entries.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if path == "manifest.json" {
            data = String::from_utf8(data)
                .unwrap()
                .replace("\"customer2\"", "\"../evil\"")
                .into_bytes();
        }
        let mut header = entry.header().clone();
        header.set_size(data.len() as u64);
        header.set_cksum();
        out.append_data(&mut header, &path, data.as_slice())
            .unwrap();
    }
    let tampered = out.into_inner().unwrap();
    assert!(String::from_utf8_lossy(&tampered).contains("../evil"));
    let (status, answer) = control(&t, "POST", "/_panelgate/archives", tampered).await;
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid login"), "{answer}");
    assert_eq!(t.core.backups().archives(&t.sys()).await.unwrap().len(), 1);
}

// Defect 5: secret_key get_info/delete verified every <key> with argon2 (thousands per packet).
#[tokio::test]
async fn regression_issue7_defect5_many_keys_cost_no_hashing() {
    let t = TestApp::demo().await;
    plesk(&t, ADMIN, "<packet><server><get_protos/></server></packet>").await;
    let keys: String = (0..2_000)
        .map(|i| format!("<key>wrong-{i}</key>"))
        .collect();
    let before = t.core.hashes_run();
    let answer = plesk(
        &t,
        ADMIN,
        &format!("<packet><secret_key><get_info><filter>{keys}</filter></get_info></secret_key></packet>"),
    )
    .await;
    // Each distinct key is answered once, up to the cap of one filter.
    assert_eq!(
        answer.matches("<errcode>1013</errcode>").count(),
        panelgate_plesk::MAX_CRITERIA
    );
    assert_eq!(t.core.hashes_run() - before, 0, "unknown keys cost no hash");
    // The admin's real key is still found (one verification, then cached).
    let answer = plesk(
        &t,
        ADMIN,
        "<packet><secret_key><get_info><filter><key>demo-plesk-secret-key</key></filter></get_info></secret_key></packet>",
    )
    .await;
    assert!(answer.contains("<status>ok</status>"), "{answer}");
}

// Defect 5: failed logins were unlimited; past the limit no hash runs.
#[tokio::test]
async fn regression_issue7_defect5_failed_logins_are_limited() {
    let t = TestApp::demo().await;
    let limit = Limits::default().failed_logins_per_minute as u64;
    let before = t.core.hashes_run();
    for _ in 0..limit + 20 {
        let answer = plesk(
            &t,
            &[("HTTP_AUTH_LOGIN", "admin"), ("HTTP_AUTH_PASSWD", "wrong")],
            "<packet><server><get_protos/></server></packet>",
        )
        .await;
        assert!(answer.contains("<errcode>1001</errcode>"), "{answer}");
    }
    assert_eq!(
        t.core.hashes_run() - before,
        limit,
        "one hash per counted failure"
    );
    // The right password is refused too until the window is over, then accepted.
    let answer = plesk(&t, ADMIN, "<packet><server><get_protos/></server></packet>").await;
    assert!(answer.contains("<errcode>1001</errcode>"), "{answer}");
    t.clock.advance(61);
    let answer = plesk(&t, ADMIN, "<packet><server><get_protos/></server></packet>").await;
    assert!(answer.contains("<status>ok</status>"), "{answer}");
}

// Defect 6: negative limits other than "unlimited" lowered a reseller's counters; huge ones
// overflowed the sums.
#[tokio::test]
async fn regression_issue7_defect6_limits_are_checked() {
    let t = TestApp::demo().await;
    let reseller = || async { t.admin(2).await };
    let before = reseller().await;
    for (field, value) in [
        ("diskspace", "-5"),
        ("mysqls", "-7"),
        ("mysqls", "9223372036854775807"),
        ("emails", "4611686018427387904"),
    ] {
        let body = format!(
            r#"{{"command":"Customers.add","params":{{"loginname":"q{}","email":"q@example.com","name":"N","firstname":"F","{field}":{value}}}}}"#,
            field.len()
        );
        let r = t.froxlor(RESELLER_KEY, &body).await;
        assert!(r.status >= 400, "{field}={value}: {}", r.body);
    }
    let after = reseller().await;
    assert_eq!(after.used, before.used);
    assert_eq!(after.customers_used, before.customers_used);
}

// Defect 7: a deleted customer's home stayed behind for the next customer of that login, and
// archive visibility was fixed at creation (after a move the old reseller kept access).
#[tokio::test]
async fn regression_issue7_defect7_homes_and_archive_visibility() {
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer2").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("private.txt"), "old tenant").unwrap();
    let archive = backup(&t, BackupScope::Customer(2)).await;
    let reseller = t.as_admin(2).await.actor();
    let admin = t.as_admin(1).await.actor();
    assert!(t.core.backups().archive(&reseller, archive).await.is_ok());
    t.core
        .customers()
        .move_to(&admin, &CustomerRef::Id(2), 1)
        .await
        .unwrap();
    assert!(
        t.core.backups().archive(&reseller, archive).await.is_err(),
        "the old reseller lost access with the customer"
    );
    t.core
        .customers()
        .move_to(&admin, &CustomerRef::Id(2), 2)
        .await
        .unwrap();
    assert!(t.core.backups().archive(&reseller, archive).await.is_ok());
    let r = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Customers.delete","params":{"id":2}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!home.exists(), "the home goes with the customer");
    let r = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.add","params":{"loginname":"customer2","email":"n@example.com","name":"N","firstname":"F"}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!home.join("private.txt").exists(), "no inherited files");
}

// Defect 8: one request could queue any number of tasks; split size 1 KiB made a part per KiB;
// archives were kept without limit.
#[tokio::test]
async fn regression_issue7_defect8_disk_filling_is_bounded() {
    let t = TestApp::demo().await;
    let limits = Limits::default();
    let mut statuses = Vec::new();
    for _ in 0..limits.tasks_queued_per_scope + 2 {
        let (status, _) = control(
            &t,
            "POST",
            "/_panelgate/backups?scope=customer:1",
            Vec::new(),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        limits.tasks_queued_per_scope as usize
    );
    assert!(statuses.ends_with(&[409, 409]), "{statuses:?}");
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    let task = t
        .core
        .backups()
        .start(
            &t.sys(),
            BackupScope::Customer(2),
            BackupOptions {
                split_size: 1024,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        task.options.split_size, limits.min_split_size,
        "raised to the minimum"
    );
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    for _ in 0..limits.archives_per_scope {
        backup(&t, BackupScope::Customer(1)).await;
    }
    let kept = t
        .core
        .backups()
        .archives(&t.sys())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.customer_id == Some(1))
        .count();
    assert_eq!(kept, limits.archives_per_scope as usize);
}

// Defect 10: a restore overwrote an existing admin's password hash and rights from the archive.
#[tokio::test]
async fn regression_issue7_defect10_restore_keeps_existing_accounts() {
    let t = TestApp::demo().await;
    let archive = backup(&t, BackupScope::Reseller(2)).await;
    t.core
        .admins()
        .update(
            &t.sys(),
            2,
            panelgate_core::admins::AdminPatch {
                password: Some("n3w-Passw0rd".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.core
        .backups()
        .restore(&t.sys(), archive, None, RestoreBehavior::Overwrite)
        .await
        .unwrap();
    let old = plesk(
        &t,
        &[
            ("HTTP_AUTH_LOGIN", "reseller1"),
            ("HTTP_AUTH_PASSWD", "changeme1Q**"),
        ],
        "<packet><server><get_protos/></server></packet>",
    )
    .await;
    assert!(
        old.contains("<errcode>1001</errcode>"),
        "the archive's password is not back: {old}"
    );
    let new = plesk(
        &t,
        &[
            ("HTTP_AUTH_LOGIN", "reseller1"),
            ("HTTP_AUTH_PASSWD", "n3w-Passw0rd"),
        ],
        "<packet><server><get_protos/></server></packet>",
    )
    .await;
    assert!(new.contains("<status>ok</status>"), "{new}");
    // A reseller restoring its own archive cannot bring customers in for another owner.
    let reseller = t.as_admin(2).await.actor();
    let report = t
        .core
        .backups()
        .restore(&reseller, archive, None, RestoreBehavior::Overwrite)
        .await
        .unwrap();
    assert!(
        report.restored.iter().all(|i| i.kind != "reseller"),
        "{report:?}"
    );
}

// Defect 11: Plesk secret keys ignored their IP restriction and expiry.
#[tokio::test]
async fn regression_issue7_defect11_secret_key_rules() {
    let t = TestApp::demo().await;
    for (secret, allowed_from, valid_until) in [
        ("key-from-elsewhere", "192.0.2.7", -1),
        ("key-expired", "", t.core.now() - 10),
        ("key-good", "127.0.0.1", t.core.now() + 3600),
    ] {
        t.core
            .credentials()
            .create(
                &t.sys(),
                NewCredential {
                    kind: panelgate_core::CredentialKind::Plesk,
                    public_key: String::new(),
                    secret: secret.into(),
                    admin_id: Some(1),
                    customer_id: None,
                    allowed_from: allowed_from.into(),
                    valid_until,
                    description: String::new(),
                },
            )
            .await
            .unwrap();
    }
    let packet = "<packet><server><get_protos/></server></packet>";
    let elsewhere = plesk(&t, &[("KEY", "key-from-elsewhere")], packet).await;
    assert!(
        elsewhere.contains("<errcode>11003</errcode>"),
        "{elsewhere}"
    );
    let expired = plesk(&t, &[("KEY", "key-expired")], packet).await;
    assert!(expired.contains("<errcode>11003</errcode>"), "{expired}");
    let good = plesk(&t, &[("KEY", "key-good")], packet).await;
    assert!(good.contains("<status>ok</status>"), "{good}");
}

// Defect 13: reactivating a customer made all its keys valid forever, expired ones included.
#[tokio::test]
async fn regression_issue7_defect13_reactivation_keeps_key_expiry() {
    let t = TestApp::demo().await;
    let key = t
        .core
        .credentials()
        .list(&t.sys(), panelgate_core::CredentialKind::Froxlor)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.customer_id == Some(1))
        .unwrap();
    t.core
        .credentials()
        .set_valid_until(&t.sys(), key.id, t.core.now() - 1)
        .await
        .unwrap();
    for deactivated in [true, false] {
        t.core
            .customers()
            .update(
                &t.sys(),
                &CustomerRef::Id(1),
                CustomerPatch {
                    deactivated: Some(deactivated),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let r = t
        .froxlor(
            panelgate_testkit::CUSTOMER1_KEY,
            r#"{"command":"Customers.get"}"#,
        )
        .await;
    assert_eq!(r.status, 403, "the expired key stays expired: {}", r.body);
}

// Defect 14: `Customers.update` with `move_to_admin` committed the update, then refused the move;
// Plesk `customer/add` with a status wrote the customer, then changed it in a second step.
#[tokio::test]
async fn regression_issue7_defect14_changes_are_all_or_nothing() {
    let t = TestApp::demo().await;
    let r = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Customers.update","params":{"id":2,"email":"changed@example.com","move_to_admin":1}}"#,
        )
        .await;
    assert!(r.status >= 400, "{}", r.body);
    let c = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Id(2))
        .await
        .unwrap();
    assert_eq!(
        c.profile.email, "customer2@example.com",
        "nothing was changed"
    );
    assert_eq!(c.admin_id, 2);
    let answer = plesk(
        &t,
        ADMIN,
        "<packet><customer><add><gen_info><pname>Off</pname><login>offline</login><passwd>changeme1Q**</passwd><status>16</status></gen_info></add></customer></packet>",
    )
    .await;
    assert!(answer.contains("<status>ok</status>"), "{answer}");
    let c = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Login("offline".into()))
        .await
        .unwrap();
    assert!(c.deactivated, "created deactivated in one step");
}

// Defect 15: temporary files of an interrupted run were removed only on SQLite and only in
// `backups/`.
#[tokio::test]
async fn regression_issue7_defect15_leftover_temporary_files_are_removed() {
    let t = TestApp::demo().await;
    let storage = t.core.storage_dir();
    std::fs::create_dir_all(&storage).unwrap();
    let left = storage.join("upload_00000000deadbeef.tmp");
    std::fs::write(&left, b"partial upload").unwrap();
    let in_home = t.core.home_dir("customer1").unwrap().join("backups");
    std::fs::create_dir_all(&in_home).unwrap();
    let home_tmp = in_home.join("backup_customer1_20260101000000.tar.gz.tmp");
    std::fs::write(&home_tmp, b"partial").unwrap();
    let own_file = in_home.join("notes.tmp");
    std::fs::write(&own_file, b"the customer's own file").unwrap();
    // Old enough: older than a lease.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for f in [&left, &home_tmp] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let removed = Worker::new(t.core.clone())
        .remove_orphan_tmp_files()
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert!(!left.exists() && !home_tmp.exists());
    assert!(
        own_file.exists(),
        "files panelgate did not write are left alone"
    );
}

// Defect 16: `reseller-login` was resolved as the system (mapping logins to ids for anyone) and
// the server-wide backup settings were readable by customers. Also: `backup-reseller` without
// `<description>` is refused as the schema says (1014).
#[tokio::test]
async fn regression_issue7_defect16_small_leaks() {
    let t = TestApp::demo().await;
    let answer = plesk(
        &t,
        CUSTOMER1,
        "<packet><backup-manager><get-server-wide-settings/></backup-manager></packet>",
    )
    .await;
    assert!(answer.contains("<errcode>1006</errcode>"), "{answer}");
    assert!(!answer.contains("max-backup-files"), "{answer}");
    let answer = plesk(
        &t,
        CUSTOMER1,
        "<packet><backup-manager><get-tasks-info><reseller-login>reseller1</reseller-login></get-tasks-info></backup-manager></packet>",
    )
    .await;
    assert!(answer.contains("<status>error</status>"), "{answer}");
    assert!(!answer.contains("<reseller-id>2</reseller-id>"), "{answer}");
    let answer = plesk(
        &t,
        ADMIN,
        "<packet><backup-manager><backup-reseller><reseller-id>2</reseller-id><local/></backup-reseller></backup-manager></packet>",
    )
    .await;
    assert!(answer.contains("<errcode>1014</errcode>"), "{answer}");
    assert!(t.core.backups().tasks(&t.sys()).await.unwrap().is_empty());
}

// Defect 2 (and its storage side): an 8 MiB parameter is decoded in linear time and refused by
// the field's length rule, never stored (Froxlor's columns are `varchar(255)`).
#[tokio::test]
async fn regression_issue7_defect2_huge_values_are_refused_not_stored() {
    let t = TestApp::demo().await;
    let huge = "<".repeat(8 * 1024 * 1024 - 4096);
    let body = format!(r#"{{"command":"Customers.update","params":{{"id":1,"name":"{huge}"}}}}"#);
    let r = t.froxlor(ADMIN_KEY, &body).await;
    assert_eq!(r.status, 400, "{}", &r.body[..r.body.len().min(200)]);
    assert!(r.message().contains("longer than 255"), "{}", r.message());
    let c = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Id(1))
        .await
        .unwrap();
    assert_eq!(c.profile.name, "One");
    let packet = format!(
        "<packet><customer><set><filter><id>1</id></filter><values><gen_info><pname>{}</pname></gen_info></values></set></customer></packet>",
        "x".repeat(1_000_000)
    );
    let answer = plesk(&t, ADMIN, &packet).await;
    assert!(
        answer.contains("<status>error</status>"),
        "{}",
        &answer[..answer.len().min(300)]
    );
}

// Defect 2 (review): a `LIKE` value with `_` against a long column costs text × pattern per row;
// the listing's work is bounded, and past the bound answered as MariaDB answers a query that ran
// past `max_statement_time`.
#[tokio::test]
async fn regression_issue7_defect2_like_work_is_bounded() {
    let t = TestApp::demo().await;
    let notes = "a".repeat(60_000);
    let body =
        format!(r#"{{"command":"Customers.update","params":{{"id":1,"custom_notes":"{notes}"}}}}"#);
    let r = t.froxlor(ADMIN_KEY, &body).await;
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    let pattern = format!("{}b", "a_".repeat(15_000));
    let body = format!(
        r#"{{"command":"Customers.listing","params":{{"sql_search":{{"c.custom_notes":"{pattern}"}}}}}}"#
    );
    let started = std::time::Instant::now();
    let r = t.froxlor(ADMIN_KEY, &body).await;
    assert_eq!(r.status, 500, "{}", &r.body[..r.body.len().min(300)]);
    assert!(
        r.message()
            .contains("1969 Query execution was interrupted (max_statement_time exceeded)"),
        "{}",
        r.message()
    );
    println!("bounded LIKE answered in {:?}", started.elapsed());
    // An ordinary search still works.
    let r = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.custom_notes":"a_a"}}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(300)]);
    assert_eq!(r.json()["data"]["count"], 1);
}
