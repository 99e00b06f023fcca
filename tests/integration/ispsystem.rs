//! The ISPsystem (BILLmanager) query API through the real router: logins and sessions, client
//! accounts over the shared customers, what the other panels see of them, and refusals.

use panelgate_testkit::{send_with, TestApp, TestResponse, ADMIN_KEY};
use serde_json::Value;

const PASSWORD: &str = "changeme1Q**";

async fn get(t: &TestApp, target: &str) -> TestResponse {
    send_with(&t.app, "GET", target, &[], "").await
}

/// `GET /billmgr?QUERY&authinfo=LOGIN:PASSWORD&out=json`, as JSON.
async fn as_user(t: &TestApp, login: &str, query: &str) -> Value {
    let r = get(
        t,
        &format!("/billmgr?{query}&authinfo={login}:{PASSWORD}&out=json"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn error_type(v: &Value) -> Option<&str> {
    v["doc"]["error"]["$type"].as_str()
}

/// The ids of a list. `out=json` writes one row as an object and several as an array, as the
/// real panel does (clients handle both).
fn ids(v: &Value) -> Vec<String> {
    let rows = match &v["doc"]["elem"] {
        Value::Array(rows) => rows.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    rows.iter()
        .filter_map(|r| r["id"]["$"].as_str().map(str::to_owned))
        .collect()
}

/// `func=auth` with a password opens a session that works as `auth=` and as the `billmgrses5`
/// cookie; `session.delete` ends it; a session idle for an hour expires.
#[tokio::test]
async fn password_login_session_cookie_logout_and_expiry() {
    let t = TestApp::demo().await;
    let r = get(
        &t,
        &format!("/billmgr?func=auth&username=customer1&password={PASSWORD}&out=json"),
    )
    .await;
    let v = r.json();
    let session = v["doc"]["auth"]["$id"]
        .as_str()
        .expect("a session id")
        .to_owned();
    assert_eq!(
        v["doc"]["auth"]["$level"], "16",
        "a client logs in at level 16"
    );
    assert!(
        !r.body.contains(PASSWORD),
        "the password is not echoed: {}",
        r.body
    );

    let listed = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(
        ids(&listed.json()),
        ["1"],
        "a client sees its own account only"
    );
    let cookie = format!("billmgrses5={session}");
    let by_cookie = send_with(
        &t.app,
        "GET",
        "/billmgr?func=account&out=json",
        &[("cookie", cookie.as_str())],
        "",
    )
    .await;
    assert_eq!(ids(&by_cookie.json()), ["1"]);

    // The session slides: 59 minutes of quiet, a call, 59 more: still valid.
    t.clock.advance(59 * 60);
    let still = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(ids(&still.json()), ["1"]);
    t.clock.advance(60 * 60);
    let expired = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(
        error_type(&expired.json()),
        Some("auth"),
        "{}",
        expired.body
    );

    // Log in again and out.
    let v = get(
        &t,
        &format!("/billmgr?func=auth&username=customer1&password={PASSWORD}&out=json"),
    )
    .await
    .json();
    let session = v["doc"]["auth"]["$id"].as_str().unwrap().to_owned();
    // Another client cannot end it, even knowing its id.
    let foreign = as_user(
        &t,
        "customer2",
        &format!("func=session.delete&elid={session}"),
    )
    .await;
    assert_eq!(error_type(&foreign), Some("missed"), "{foreign}");
    let still = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(ids(&still.json()), ["1"]);
    let out = get(
        &t,
        &format!("/billmgr?func=session.delete&auth={session}&out=json"),
    )
    .await;
    assert!(out.json()["doc"]["ok"].is_object(), "{}", out.body);
    let after = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(error_type(&after.json()), Some("auth"));

    // Wrong passwords and missing credentials are `auth` errors.
    let bad = get(
        &t,
        "/billmgr?func=auth&username=customer1&password=nope&out=json",
    )
    .await;
    assert_eq!(error_type(&bad.json()), Some("auth"));
    let none = get(&t, "/billmgr?func=account&out=json").await;
    assert_eq!(error_type(&none.json()), Some("auth"));
}

/// `session.newkey` (staff) plants a one-time key; `func=auth&key=` logs in once with it.
#[tokio::test]
async fn one_time_key_login() {
    let t = TestApp::demo().await;
    let key = "0123456789abcdef0123";
    let made = as_user(
        &t,
        "admin",
        &format!("func=session.newkey&username=customer2&key={key}"),
    )
    .await;
    assert!(made["doc"]["ok"].is_object(), "{made}");
    let first = get(&t, &format!("/billmgr?func=auth&key={key}&out=json"))
        .await
        .json();
    let session = first["doc"]["auth"]["$id"]
        .as_str()
        .expect("a session")
        .to_owned();
    let listed = get(
        &t,
        &format!("/billmgr?func=account&auth={session}&out=json"),
    )
    .await;
    assert_eq!(ids(&listed.json()), ["2"]);
    let again = get(&t, &format!("/billmgr?func=auth&key={key}&out=json"))
        .await
        .json();
    assert_eq!(
        error_type(&again),
        Some("auth"),
        "a key works once: {again}"
    );

    // A client cannot plant keys, not even for itself.
    let refused = as_user(
        &t,
        "customer1",
        "func=session.newkey&username=customer1&key=fedcba9876543210fedc",
    )
    .await;
    assert!(error_type(&refused).is_some(), "{refused}");
    let short = as_user(
        &t,
        "admin",
        "func=session.newkey&username=customer1&key=short",
    )
    .await;
    assert!(
        error_type(&short).is_some(),
        "a key shorter than 16 characters: {short}"
    );
}

/// A client account created through BILLmanager is a customer for Froxlor and Plesk; suspend
/// and resume show as Plesk's status; delete removes it everywhere.
#[tokio::test]
async fn account_edit_is_a_shared_customer() {
    let t = TestApp::demo().await;
    let created = as_user(
        &t,
        "admin",
        "func=account.edit&sok=ok&email=new.client@example.com&name=New%20Client&country=DE&passwd=Secret123!x",
    )
    .await;
    let id = created["doc"]["id"]["$"]
        .as_str()
        .expect("the new id")
        .to_owned();

    let froxlor = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await
        .json();
    assert_eq!(froxlor["data"]["loginname"], "new.client@example.com");
    assert_eq!(froxlor["data"]["email"], "new.client@example.com");
    assert_eq!(froxlor["data"]["name"], "New Client");

    // The new client logs in with its e-mail address and the password it was given.
    let own = get(
        &t,
        "/billmgr?func=account&authinfo=new.client@example.com:Secret123!x&out=json",
    )
    .await;
    assert_eq!(ids(&own.json()), vec![id.clone()]);

    let dup = as_user(
        &t,
        "admin",
        "func=account.edit&sok=ok&email=new.client@example.com&name=Again",
    )
    .await;
    assert_eq!(error_type(&dup), Some("exists"), "{dup}");

    let plesk_status = |body: String| {
        body.split("<status>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .map(str::to_owned)
    };
    let packet = format!(
        "<packet><customer><get><filter><id>{id}</id></filter><dataset><gen_info/></dataset></get></customer></packet>"
    );
    let login = panelgate_testkit::plesk_login("admin");
    let suspended = as_user(&t, "admin", &format!("func=account.suspend&elid={id}")).await;
    assert!(suspended["doc"]["ok"].is_object(), "{suspended}");
    let body = t.plesk(&login, &packet).await.body;
    assert!(body.contains("<status>16</status>"), "{body}");
    let froxlor = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await
        .json();
    assert_eq!(froxlor["data"]["deactivated"], 1, "{froxlor}");
    let listed = as_user(&t, "admin", "func=account").await;
    let row = listed["doc"]["elem"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"]["$"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["status"]["$orig"], "3", "{row}");

    as_user(&t, "admin", &format!("func=account.resume&elid={id}")).await;
    let body = t.plesk(&login, &packet).await.body;
    assert!(
        body.contains("<status>0</status>"),
        "{:?}",
        plesk_status(body)
    );

    // A change through the form, read back through the form view.
    let changed = as_user(
        &t,
        "admin",
        &format!("func=account.edit&sok=ok&elid={id}&phone=%2B49%2030%201234&city=Berlin"),
    )
    .await;
    assert!(changed["doc"]["ok"].is_object(), "{changed}");
    let view = as_user(&t, "admin", &format!("func=account.edit&elid={id}")).await;
    assert_eq!(view["doc"]["city"]["$"], "Berlin", "{view}");
    assert_eq!(view["doc"]["phone"]["$"], "+49 30 1234", "{view}");
    assert_eq!(view["doc"]["name"]["$"], "New Client", "{view}");

    let deleted = as_user(&t, "admin", &format!("func=account.delete&elid={id}")).await;
    assert!(deleted["doc"]["ok"].is_object(), "{deleted}");
    let gone = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}

/// A group action checks every id before it changes anything.
#[tokio::test]
async fn group_action_with_a_bad_id_changes_nothing() {
    let t = TestApp::demo().await;
    let v = as_user(&t, "admin", "func=account.suspend&elid=1,%20999").await;
    assert!(error_type(&v).is_some(), "{v}");
    let v = as_user(&t, "admin", "func=account.suspend&elid=1,%20abc").await;
    assert_eq!(error_type(&v), Some("value"), "{v}");
    // A missing `elid` is a `value` error on `elid` wherever one is needed.
    for f in [
        "account.suspend",
        "account.delete",
        "backups.download",
        "backups.delete",
        "backups.restore",
        "backupdata.names",
        "backupdata.files",
    ] {
        let v = as_user(&t, "admin", &format!("func={f}&sok=ok")).await;
        assert_eq!(error_type(&v), Some("value"), "{f}: {v}");
        assert_eq!(v["doc"]["error"]["$object"], "elid", "{f}: {v}");
    }
    let all = t.core.customers().list(&t.sys()).await.unwrap();
    assert!(all.iter().all(|c| !c.deactivated), "nothing was suspended");

    // `, ` separates ids; both are suspended.
    let v = as_user(&t, "admin", "func=account.suspend&elid=1,%202").await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    let all = t.core.customers().list(&t.sys()).await.unwrap();
    assert!(all.iter().all(|c| c.deactivated));
}

/// Clients may not create or delete accounts; resellers create under themselves.
#[tokio::test]
async fn roles_decide_what_account_calls_may_do() {
    let t = TestApp::demo().await;
    let v = as_user(
        &t,
        "customer1",
        "func=account.edit&sok=ok&email=sneaky@example.com&name=Sneaky",
    )
    .await;
    assert_eq!(error_type(&v), Some("access"), "{v}");
    let v = as_user(&t, "customer1", "func=account.delete&elid=1").await;
    assert_eq!(error_type(&v), Some("access"), "{v}");
    assert_eq!(t.core.customers().list(&t.sys()).await.unwrap().len(), 2);

    let v = as_user(
        &t,
        "reseller1",
        "func=account.edit&sok=ok&username=resold1&email=resold@example.com&name=Resold",
    )
    .await;
    let id: i64 = v["doc"]["id"]["$"]
        .as_str()
        .expect("created")
        .parse()
        .unwrap();
    let c = t
        .core
        .customers()
        .get(&t.sys(), &panelgate_core::CustomerRef::Id(id))
        .await
        .unwrap();
    assert_eq!(c.admin_loginname, "reseller1");
    assert_eq!(c.loginname, "resold1");
}

/// Lists page with `p_num`/`p_cnt` and always say `p_elems`; every path serves the API;
/// unknown functions are `missed`.
#[tokio::test]
async fn paging_paths_and_unknown_functions() {
    let t = TestApp::demo().await;
    let v = as_user(&t, "admin", "func=account&p_cnt=1&p_num=2").await;
    assert_eq!(ids(&v), ["2"], "{v}");
    assert_eq!(v["doc"]["p_elems"]["$"], "2");
    assert_eq!(v["doc"]["p_num"]["$"], "2");

    for path in ["/ispmgr", "/manager", "/manager/billmgr", "/"] {
        let r = get(
            &t,
            &format!("{path}?func=account&authinfo=admin:{PASSWORD}&out=json"),
        )
        .await;
        assert_eq!(ids(&r.json()), ["1", "2"], "{path}: {}", r.body);
    }

    // Inline filters: `filter=on` plus column values; without `filter=on` they are ignored.
    let v = as_user(&t, "admin", "func=account&filter=on&login=customer2").await;
    assert_eq!(ids(&v), ["2"], "{v}");
    assert_eq!(v["doc"]["p_elems"]["$"], "1");
    let v = as_user(&t, "admin", "func=account&login=customer2").await;
    assert_eq!(ids(&v), ["1", "2"], "{v}");
    let v = as_user(&t, "admin", "func=account&filter=on&login=nobody").await;
    assert!(ids(&v).is_empty(), "{v}");

    let v = as_user(&t, "admin", "func=no.such.function").await;
    assert_eq!(error_type(&v), Some("missed"), "{v}");

    // Errors are HTTP 200 in every format; text answers start with ERROR.
    let r = get(&t, "/billmgr?func=account&authinfo=admin:wrong&out=text").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("ERROR auth"), "{}", r.body);
    let r = get(
        &t,
        &format!("/billmgr?func=account&authinfo=admin:{PASSWORD}&out=bogus"),
    )
    .await;
    assert!(r.body.contains("<error type=\"value\""), "{}", r.body);
}

/// A client cannot suspend itself; an id named twice is acted on once; a new password or a
/// deleted account ends the account's sessions.
#[tokio::test]
async fn suspension_duplicates_and_session_lifetime() {
    let t = TestApp::demo().await;
    let v = as_user(&t, "customer1", "func=account.suspend&elid=1").await;
    assert_eq!(error_type(&v), Some("access"), "{v}");
    let me = t
        .core
        .customers()
        .get(&t.sys(), &panelgate_core::CustomerRef::Id(1))
        .await
        .unwrap();
    assert!(!me.deactivated);

    let login = |user: &'static str, password: &'static str| {
        let t = &t;
        async move {
            let v = get(
                t,
                &format!("/billmgr?func=auth&username={user}&password={password}&out=json"),
            )
            .await
            .json();
            v["doc"]["auth"]["$id"]
                .as_str()
                .expect("a session")
                .to_owned()
        }
    };
    let s1 = login("customer1", PASSWORD).await;
    as_user(
        &t,
        "admin",
        "func=account.edit&sok=ok&elid=1&passwd=Another123!pw",
    )
    .await;
    let after = get(&t, &format!("/billmgr?func=account&auth={s1}&out=json")).await;
    assert_eq!(error_type(&after.json()), Some("auth"), "{}", after.body);

    let s2 = login("customer2", PASSWORD).await;
    let v = as_user(&t, "admin", "func=account.delete&elid=2,%202").await;
    assert!(
        v["doc"]["ok"].is_object(),
        "a repeated id is deleted once: {v}"
    );
    let after = get(&t, &format!("/billmgr?func=account&auth={s2}&out=json")).await;
    assert_eq!(error_type(&after.json()), Some("auth"), "{}", after.body);
}

fn rows(v: &Value) -> Vec<Value> {
    match &v["doc"]["elem"] {
        Value::Array(rows) => rows.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Issue 9: `billmgr.backup.create` → the task finishes → `billmgr.backup` lists it with its
/// real size → `backups.download` gives the archive's bytes → a deleted customer comes back
/// through `backups.restore`.
#[tokio::test]
async fn backup_create_list_download_and_restore() {
    use panelgate_core::backup_worker::Worker;
    use sha2::{Digest, Sha256};
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer2").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("index.html"), b"<h1>two</h1>").unwrap();

    let form = as_user(&t, "admin", "func=billmgr.backup.create").await;
    assert!(
        form["doc"]["description"].is_object(),
        "a form without sok: {form}"
    );
    assert!(t.core.backups().tasks(&t.sys()).await.unwrap().is_empty());
    let made = as_user(
        &t,
        "admin",
        "func=billmgr.backup.create&sok=ok&description=nightly",
    )
    .await;
    assert!(made["doc"]["ok"].is_object(), "{made}");
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();

    let listed = as_user(&t, "admin", "func=billmgr.backup").await;
    let found = rows(&listed);
    assert_eq!(found.len(), 1, "{listed}");
    let id = found[0]["id"]["$"].as_str().unwrap().to_owned();
    let archive = t
        .core
        .backups()
        .archive(&t.sys(), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(found[0]["size"]["$orig"], archive.size.to_string());
    assert_eq!(found[0]["description"]["$"], "nightly");
    assert!(
        found[0]["date"]["$"].as_str().unwrap().len() == 19,
        "{}",
        found[0]
    );

    let file = get(
        &t,
        &format!("/billmgr?func=backups.download&elid={id}&authinfo=admin:{PASSWORD}"),
    )
    .await;
    assert_eq!(file.status, 200);
    assert_eq!(file.bytes.len() as i64, archive.size);
    let sha: String = Sha256::digest(&file.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, archive.sha256);

    // Clients cannot see a server backup, nor download or restore it.
    let theirs = as_user(&t, "customer1", "func=billmgr.backup").await;
    assert!(rows(&theirs).is_empty(), "{theirs}");
    let refused = get(
        &t,
        &format!("/billmgr?func=backups.download&elid={id}&authinfo=customer1:{PASSWORD}&out=json"),
    )
    .await;
    assert_eq!(
        error_type(&refused.json()),
        Some("access"),
        "{}",
        refused.body
    );

    as_user(&t, "admin", "func=account.delete&elid=2").await;
    assert!(!home.join("index.html").exists());
    let bad = as_user(
        &t,
        "admin",
        &format!("func=backups.restore&elid={id}&sok=ok&behavior=sideways"),
    )
    .await;
    assert_eq!(error_type(&bad), Some("value"), "{bad}");
    let view = as_user(&t, "admin", &format!("func=backups.restore&elid={id}")).await;
    assert_eq!(view["doc"]["behavior"]["$"], "skip", "{view}");
    let restored = as_user(
        &t,
        "admin",
        &format!("func=backups.restore&elid={id}&sok=ok&behavior=overwrite"),
    )
    .await;
    assert!(restored["doc"]["ok"].is_object(), "{restored}");
    let back = t
        .core
        .customers()
        .get(
            &t.sys(),
            &panelgate_core::CustomerRef::Login("customer2".into()),
        )
        .await
        .unwrap();
    assert_eq!(back.profile.email, "customer2@example.com");
    assert_eq!(
        std::fs::read(t.core.home_dir("customer2").unwrap().join("index.html")).unwrap(),
        b"<h1>two</h1>"
    );

    let gone = as_user(
        &t,
        "admin",
        &format!("func=backups.delete&elid={id}&clean_storages=on"),
    )
    .await;
    assert!(gone["doc"]["ok"].is_object(), "{gone}");
    assert!(rows(&as_user(&t, "admin", "func=billmgr.backup").await).is_empty());
}

/// Archives are one set: a Plesk `backup-customer` archive is listed by `billmgr.backup` for
/// the customer's reseller and for the customer itself.
#[tokio::test]
async fn archives_made_through_plesk_are_listed_here() {
    use panelgate_core::backup_worker::Worker;
    let t = TestApp::demo().await;
    let login = panelgate_testkit::plesk_login("admin");
    let r = t
        .plesk(
            &login,
            "<packet><backup-manager><backup-customer><customer-id>2</customer-id><local/><description>via plesk</description></backup-customer></backup-manager></packet>",
        )
        .await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();
    for who in ["admin", "reseller1", "customer2"] {
        let v = as_user(&t, who, "func=billmgr.backup").await;
        let rows = rows(&v);
        assert_eq!(rows.len(), 1, "{who}: {v}");
        assert_eq!(rows[0]["description"]["$"], "via plesk");
    }
    let v = as_user(&t, "customer1", "func=billmgr.backup").await;
    assert!(rows(&v).is_empty(), "another customer's archive: {v}");
}

/// Issue 9: arbitrary query strings and bodies, sent through the router to every path the API
/// answers at, get an HTTP 200 ISPsystem document (or an archive), never a panic or a 5xx.
#[tokio::test]
async fn arbitrary_requests_get_an_ispsystem_answer() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let t = TestApp::demo().await;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        "(func=(auth|account|account\\.edit|account\\.suspend|user|billmgr\\.backup|backups\\.restore|backups\\.delete|backups\\.download|session\\.delete|x)&)?[a-z_=&%0-9A-F.,+ -]{0,80}",
        proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        0..3usize,
    );
    let mut sent = 0;
    for _ in 0..300 {
        let (query, body, kind) = strategy.new_tree(&mut runner).unwrap().current();
        let query: String = query.replace(' ', "+");
        let target = format!("/billmgr?{query}&authinfo=admin:{PASSWORD}");
        let content_type = match kind {
            0 => "application/x-www-form-urlencoded",
            1 => "multipart/form-data; boundary=xyz",
            _ => "text/plain",
        };
        let r = send_with(
            &t.app,
            "POST",
            &target,
            &[("content-type", content_type)],
            body,
        )
        .await;
        assert!(r.status == 200, "{target}: {} {}", r.status, r.body);
        sent += 1;
    }
    assert_eq!(sent, 300);
}

/// Issue 9 §9: a Froxlor job's archive (written into the customer's home) is listed by
/// `billmgr.backup` and by Plesk's `get-local-backup-list` for that customer, and downloads
/// through both.
#[tokio::test]
async fn froxlor_job_archives_are_listed_by_billmanager_and_plesk() {
    use panelgate_core::backup_worker::Worker;
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("a.txt"), b"job data").unwrap();
    let r = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"CustomerBackups.add","params":{"path":"/backups","loginname":"customer1","backup_web":1}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.clock.advance(61);
    let worker = Worker::new(t.core.clone());
    assert_eq!(worker.schedule_due_jobs(60).await.unwrap(), 1);
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    let archives = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(archives.len(), 1);
    let archive = &archives[0];
    assert_eq!(archive.storage, "home", "a job archive lives in the home");

    let v = as_user(&t, "customer1", "func=billmgr.backup").await;
    assert_eq!(ids(&v), [archive.id.to_string()], "{v}");
    let file = get(
        &t,
        &format!(
            "/billmgr?func=backups.download&elid={}&authinfo=customer1:{PASSWORD}",
            archive.id
        ),
    )
    .await;
    assert_eq!(file.bytes.len() as i64, archive.size);

    let login = panelgate_testkit::plesk_login("customer1");
    let body = t
        .plesk(
            &login,
            "<packet><backup-manager><get-local-backup-list><customer-login>customer1</customer-login></get-local-backup-list></backup-manager></packet>",
        )
        .await
        .body;
    assert!(
        body.contains(&format!("<name>{}</name>", archive.file_name)),
        "{body}"
    );
}

/// `billmgr.backup.settings` and `billmgr.backup.setup` are the server owner's: they read and
/// change the engine's server-wide settings and the server's storage; `dropsettings=on`
/// resets; bad values change nothing.
#[tokio::test]
async fn backup_settings_and_setup() {
    let t = TestApp::demo().await;
    let fresh = t.core.backups().server_settings(&t.sys()).await.unwrap();
    let v = as_user(
        &t,
        "admin",
        "func=billmgr.backup.settings&sok=ok&backup_count=3&compress=off",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    let s = t.core.backups().server_settings(&t.sys()).await.unwrap();
    assert_eq!((s.max_backup_files, s.do_not_compress), (3, true));
    let form = as_user(&t, "admin", "func=billmgr.backup.settings").await;
    assert_eq!(form["doc"]["backup_count"]["$"], "3", "{form}");
    assert_eq!(form["doc"]["compress"]["$"], "off");

    let bad = as_user(
        &t,
        "admin",
        "func=billmgr.backup.settings&sok=ok&backup_count=-1",
    )
    .await;
    assert_eq!(error_type(&bad), Some("value"), "{bad}");
    let s = t.core.backups().server_settings(&t.sys()).await.unwrap();
    assert_eq!(s.max_backup_files, 3, "a bad value changes nothing");

    let v = as_user(
        &t,
        "admin",
        "func=billmgr.backup.settings&sok=ok&dropsettings=on",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    let s = t.core.backups().server_settings(&t.sys()).await.unwrap();
    assert_eq!(s, fresh, "dropsettings gives back a new server's settings");

    let v = as_user(
        &t,
        "admin",
        "func=billmgr.backup.setup&sok=ok&storage=ftp&ftp_host=backup.example.net&ftp_user=u&ftp_password=secret-pw",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    let r = get(
        &t,
        &format!("/billmgr?func=billmgr.backup.setup&authinfo=admin:{PASSWORD}&out=json"),
    )
    .await;
    let form = r.json();
    assert_eq!(form["doc"]["storage"]["$"], "ftp", "{form}");
    assert_eq!(form["doc"]["ftp_host"]["$"], "backup.example.net");
    assert_eq!(form["doc"]["ftp_port"]["$"], "21");
    assert!(!r.body.contains("secret-pw"), "the password is never shown");
    let bad = as_user(
        &t,
        "admin",
        "func=billmgr.backup.setup&sok=ok&storage=ftp&ftp_port=99999",
    )
    .await;
    assert_eq!(error_type(&bad), Some("value"), "{bad}");

    for who in ["reseller1", "customer1"] {
        for q in [
            "func=billmgr.backup.settings",
            "func=billmgr.backup.settings&sok=ok&backup_count=1",
            "func=billmgr.backup.setup",
            "func=billmgr.backup.setup&sok=ok&storage=ftp&ftp_host=evil.example",
        ] {
            let v = as_user(&t, who, q).await;
            assert_eq!(error_type(&v), Some("access"), "{who} {q}: {v}");
        }
    }
}

/// One server backup made through `billmgr.backup.create` and run to the end: its record and
/// its bytes as `backups.download` gives them.
async fn server_backup(t: &TestApp) -> (panelgate_core::backups::BackupArchive, bytes::Bytes) {
    as_user(t, "admin", "func=billmgr.backup.create&sok=ok").await;
    panelgate_core::backup_worker::Worker::new(t.core.clone())
        .run_until_idle()
        .await
        .unwrap();
    let first = t.core.backups().archives(&t.sys()).await.unwrap()[0].clone();
    let bytes = get(
        t,
        &format!(
            "/billmgr?func=backups.download&elid={}&authinfo=admin:{PASSWORD}",
            first.id
        ),
    )
    .await
    .bytes;
    (first, bytes)
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

/// `backups.upload`: a multipart archive is checked and registered (and restorable); a URL,
/// a malformed body, a body over the limit and a forged archive each answer an ISPsystem
/// error in the requested format and add nothing.
#[tokio::test]
async fn backup_upload_and_bad_bodies() {
    let t = TestApp::demo().await;
    let (first, bytes) = server_backup(&t).await;
    let mp = [("content-type", "multipart/form-data; boundary=XyZ")];
    let post = |body: Vec<u8>| {
        let t = &t;
        async move {
            send_with(&t.app, "POST", "/billmgr", &mp, body)
                .await
                .json()
        }
    };
    let auth = format!("admin:{PASSWORD}");
    let fields = [
        ("func", "backups.upload"),
        ("sok", "ok"),
        ("out", "json"),
        ("authinfo", auth.as_str()),
        ("description", "uploaded"),
    ];
    let v = post(multipart(&fields, Some(("server.tar.gz", &bytes)))).await;
    let id = v["doc"]["id"]["$"]
        .as_str()
        .expect("the new archive")
        .to_owned();
    let uploaded = t
        .core
        .backups()
        .archive(&t.sys(), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(uploaded.sha256, first.sha256);
    assert_eq!(uploaded.description, "uploaded");
    let restored = as_user(
        &t,
        "admin",
        &format!("func=backups.restore&elid={id}&sok=ok"),
    )
    .await;
    assert!(restored["doc"]["ok"].is_object(), "{restored}");

    let count = || async { t.core.backups().archives(&t.sys()).await.unwrap().len() };
    let before = count().await;
    // Cut short: the tar stream ends inside an entry.
    let forged = &bytes[..bytes.len() / 2];
    let v = post(multipart(&fields, Some(("forged.tar.gz", forged)))).await;
    assert!(
        error_type(&v).is_some(),
        "a damaged archive is refused: {v}"
    );
    let v = post(multipart(&fields, None)).await;
    assert_eq!(error_type(&v), Some("empty"), "{v}");
    let url = as_user(
        &t,
        "admin",
        "func=backups.upload&sok=ok&url=http%3A%2F%2F127.0.0.1%2Fa.tar.gz",
    )
    .await;
    assert_eq!(error_type(&url), Some("value"), "{url}");
    assert_eq!(url["doc"]["error"]["$object"], "url");

    // Malformed multipart: the query's `out` still picks the format.
    let r = send_with(
        &t.app,
        "POST",
        &format!("/billmgr?func=backups.upload&sok=ok&out=json&authinfo=admin:{PASSWORD}"),
        &mp,
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nno end"
            .to_vec(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(error_type(&r.json()), Some("value"), "{}", r.body);

    // A declared 1 GB body is refused before a byte of it is read.
    let r = send_with(
        &t.app,
        "POST",
        &format!("/billmgr?func=backups.upload&sok=ok&out=sjson&authinfo=admin:{PASSWORD}"),
        &[
            ("content-type", "multipart/form-data; boundary=XyZ"),
            ("content-length", "1073741824"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(error_type(&v), Some("value"), "{v}");
    assert_eq!(v["doc"]["error"]["$object"], "body");
    assert_eq!(count().await, before, "nothing was added");

    // A client cannot upload a server archive.
    let auth1 = format!("customer1:{PASSWORD}");
    let theirs = [
        ("func", "backups.upload"),
        ("sok", "ok"),
        ("out", "json"),
        ("authinfo", auth1.as_str()),
    ];
    let v = post(multipart(&theirs, Some(("server.tar.gz", &bytes)))).await;
    assert_eq!(error_type(&v), Some("access"), "{v}");
    assert_eq!(count().await, before);
}

/// `backupdata` → `backupdata.names` → `backupdata.restore`: one customer (and then its files)
/// comes back from a server backup, chosen by kind and name; the `version` drop-down lists the
/// archives that hold it.
#[tokio::test]
async fn backupdata_restores_one_item() {
    use panelgate_core::backup_worker::Worker;
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer2").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("page.html"), b"two").unwrap();
    as_user(&t, "admin", "func=billmgr.backup.create&sok=ok").await;
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();

    let kinds = as_user(&t, "admin", "func=backupdata").await;
    let kinds = ids(&kinds);
    assert!(kinds.contains(&"customer".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"files".to_owned()), "{kinds:?}");
    let names = as_user(&t, "admin", "func=backupdata.names&elid=customer").await;
    assert_eq!(names["doc"]["plid"]["$"], "customer", "{names}");
    assert!(ids(&names).contains(&"customer2".to_owned()), "{names}");

    as_user(&t, "admin", "func=account.delete&elid=2").await;
    let form = as_user(
        &t,
        "admin",
        "func=backupdata.restore&plid=customer&elid=customer2",
    )
    .await;
    assert!(form["doc"]["version"].is_object(), "{form}");
    let v = as_user(
        &t,
        "admin",
        "func=backupdata.restore&plid=customer&elid=customer2&sok=ok&behavior=overwrite",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    let back = t
        .core
        .customers()
        .get(
            &t.sys(),
            &panelgate_core::CustomerRef::Login("customer2".into()),
        )
        .await;
    assert!(back.is_ok(), "customer2 is back");
    let v = as_user(
        &t,
        "admin",
        "func=backupdata.restore&plid=files&elid=customer2&sok=ok",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    assert_eq!(
        std::fs::read(t.core.home_dir("customer2").unwrap().join("page.html")).unwrap(),
        b"two"
    );

    let missing = as_user(
        &t,
        "admin",
        "func=backupdata.restore&plid=customer&elid=nobody&sok=ok",
    )
    .await;
    assert_eq!(error_type(&missing), Some("access"), "{missing}");
    let bad = as_user(
        &t,
        "admin",
        "func=backupdata.restore&plid=customer&elid=customer2&sok=ok&version=999",
    )
    .await;
    assert_eq!(error_type(&bad), Some("value"), "{bad}");
    // A client sees no server archive, so nothing to restore.
    let theirs = as_user(&t, "customer1", "func=backupdata.names&elid=customer").await;
    assert!(ids(&theirs).is_empty(), "{theirs}");
}

/// Found by this suite: a flipped byte in a tar header or in the end padding of an uploaded
/// archive went unnoticed, because the reader stopped at the end-of-archive blocks and never
/// reached gzip's CRC. Every one of ~120 single-byte changes across the archive is refused now.
#[tokio::test]
async fn every_flipped_byte_of_an_upload_is_refused() {
    let t = TestApp::demo().await;
    let (_, bytes) = server_backup(&t).await;
    let n = bytes.len();
    let mut accepted = Vec::new();
    let mut tried = 0;
    for i in (0..n).step_by((n / 120).max(1)).chain([n - 1]) {
        let mut f = bytes.to_vec();
        f[i] ^= 0xff;
        tried += 1;
        if t.core
            .backups()
            .import(&t.sys(), &f[..], Default::default())
            .await
            .is_ok()
        {
            accepted.push(i);
        }
    }
    assert!(tried > 100);
    assert!(
        accepted.is_empty(),
        "of {n} bytes, flips accepted at {accepted:?}"
    );
    // The untouched archive still imports.
    t.core
        .backups()
        .import(&t.sys(), &bytes[..], Default::default())
        .await
        .unwrap();
}

/// `backupdata.files` lists a home's files in an archive; `backupdata.files.restore` writes back
/// only the chosen ones; a path that is not in the archive (or leads out of the home) changes
/// nothing.
#[tokio::test]
async fn backupdata_files_lists_and_restores_single_files() {
    use panelgate_core::backup_worker::Worker;
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(home.join("sub")).unwrap();
    std::fs::write(home.join("a.txt"), b"A").unwrap();
    std::fs::write(home.join("sub/b.txt"), b"B").unwrap();
    as_user(&t, "admin", "func=billmgr.backup.create&sok=ok").await;
    Worker::new(t.core.clone()).run_until_idle().await.unwrap();

    let v = as_user(&t, "customer1", "func=backupdata.files&elid=customer1").await;
    assert!(
        error_type(&v).is_some(),
        "a client cannot read a server archive: {v}"
    );
    let v = as_user(&t, "admin", "func=backupdata.files&elid=customer1").await;
    let mut files = ids(&v);
    files.sort();
    assert_eq!(files, ["a.txt", "sub/b.txt"], "{v}");
    assert_eq!(v["doc"]["plid"]["$"], "customer1");

    std::fs::write(home.join("a.txt"), b"changed").unwrap();
    std::fs::write(home.join("sub/b.txt"), b"changed").unwrap();
    let v = as_user(
        &t,
        "admin",
        "func=backupdata.files.restore&plid=customer1&elid=sub/b.txt&sok=ok&behavior=overwrite",
    )
    .await;
    assert!(v["doc"]["ok"].is_object(), "{v}");
    assert_eq!(std::fs::read(home.join("sub/b.txt")).unwrap(), b"B");
    assert_eq!(
        std::fs::read(home.join("a.txt")).unwrap(),
        b"changed",
        "only the chosen file"
    );

    for bad in [
        "nothere.txt",
        "../customer2/x",
        "sub/b.txt,%20../../etc/passwd",
    ] {
        let v = as_user(
            &t,
            "admin",
            &format!(
                "func=backupdata.files.restore&plid=customer1&elid={bad}&sok=ok&behavior=overwrite"
            ),
        )
        .await;
        assert!(error_type(&v).is_some(), "{bad}: {v}");
    }
    assert_eq!(std::fs::read(home.join("a.txt")).unwrap(), b"changed");
}

/// The README's ISPsystem table names every function the decoder serves.
#[test]
fn readme_names_every_served_ispsystem_function() {
    let section = crate::readme_section("ISPsystem compatibility");
    let missing: Vec<&str> = panelgate_ispsystem::call::Call::FUNCTIONS
        .iter()
        .copied()
        .filter(|f| !section.contains(&format!("`{f}`")))
        .collect();
    assert!(missing.is_empty(), "not in the README: {missing:?}");
}

/// One HTTP answer on a loopback port, for each of `answers` connections in turn.
async fn serve_once(answers: Vec<Vec<u8>>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(&answer).await;
            let _ = s.shutdown().await;
        }
    });
    addr
}

/// `backups.upload&url=`: fetched only from a host the operator allowed (`--upload-url-hosts`),
/// over http://, without following redirects, and checked like any upload.
#[tokio::test]
async fn backup_upload_from_an_allowed_url() {
    let options = panelgate_server::AppOptions {
        upload_url_hosts: vec!["127.0.0.1".into()],
        ..Default::default()
    };
    let t = TestApp::demo_with(options, Default::default()).await;
    let (first, bytes) = server_backup(&t).await;
    let mut ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    )
    .into_bytes();
    ok.extend_from_slice(&bytes);
    let redirect =
        b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec();
    let addr = serve_once(vec![ok, redirect]).await;
    let enc = |u: String| u.replace(':', "%3A").replace('/', "%2F");

    let v = as_user(
        &t,
        "admin",
        &format!(
            "func=backups.upload&sok=ok&url={}",
            enc(format!("http://{addr}/server.tar.gz"))
        ),
    )
    .await;
    let id = v["doc"]["id"]["$"]
        .as_str()
        .expect("the new archive")
        .to_owned();
    let got = t
        .core
        .backups()
        .archive(&t.sys(), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(got.sha256, first.sha256);

    let v = as_user(
        &t,
        "admin",
        &format!(
            "func=backups.upload&sok=ok&url={}",
            enc(format!("http://{addr}/moved"))
        ),
    )
    .await;
    assert_eq!(
        error_type(&v),
        Some("value"),
        "a redirect is not followed: {v}"
    );
    for url in [
        "http://example.org/a.tar.gz".to_owned(),
        format!("https://{addr}/a.tar.gz"),
        "file:///etc/passwd".to_owned(),
    ] {
        let v = as_user(
            &t,
            "admin",
            &format!("func=backups.upload&sok=ok&url={}", enc(url.clone())),
        )
        .await;
        assert_eq!(error_type(&v), Some("value"), "{url}: {v}");
        assert_eq!(v["doc"]["error"]["$object"], "url");
    }
    assert_eq!(t.core.backups().archives(&t.sys()).await.unwrap().len(), 2);
}

/// Issue 11: an admin's `account` page is paged by the database: the same rows, `p_elems` and
/// page numbers as the full list cut in memory (`filter=on` with no filter takes that path).
#[tokio::test]
async fn account_pages_from_the_database_match_the_full_list() {
    use panelgate_core::{NewCustomer, Profile};
    let t = TestApp::demo().await;
    for i in 0..9 {
        t.core
            .customers()
            .create_owned(
                &t.sys(),
                Some(if i % 2 == 0 { 1 } else { 2 }),
                NewCustomer {
                    loginname: Some(format!("isp{i}").as_str().try_into().unwrap()),
                    password: Some("changeme1Q**".into()),
                    profile: Profile {
                        name: format!("Isp {i}"),
                        email: format!("isp{i}@example.com"),
                        ..Profile::default()
                    },
                    ..NewCustomer::default()
                },
            )
            .await
            .unwrap();
    }
    for who in ["admin", "reseller1"] {
        for paging in [
            "p_num=1&p_cnt=4",
            "p_num=3&p_cnt=4",
            "p_cnt=100",
            "p_num=9&p_cnt=2",
            "p_num=2",
        ] {
            let fast = as_user(&t, who, &format!("func=account&{paging}")).await;
            let full = as_user(&t, who, &format!("func=account&{paging}&filter=on")).await;
            for key in ["p_num", "p_cnt", "p_elems", "elem"] {
                assert_eq!(
                    fast["doc"][key], full["doc"][key],
                    "{who} {paging} {key}: {fast}"
                );
            }
        }
    }
    let v = as_user(&t, "admin", "func=account&p_num=2&p_cnt=4").await;
    assert_eq!(v["doc"]["p_elems"]["$"], "11", "{v}");
    assert_eq!(rows(&v).len(), 4);
}
