//! Issue 11: the read cache (credentials with their owners, customers, settings) never answers
//! with what a write replaced, whichever panel wrote; and a SQLite file, whose reads are cached,
//! has one panelgate process only.

use panelgate_core::Core;
use panelgate_testkit::{backend, TestApp, ADMIN_KEY, CUSTOMER1_KEY};

const GET: &str = r#"{"command":"Customers.get","params":{"loginname":"customer1"}}"#;

async fn email(t: &TestApp) -> String {
    let get = r#"{"command":"Customers.get","params":{"loginname":"customer2"}}"#;
    let r = t.froxlor(ADMIN_KEY, get).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"]["email"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_write_through_one_panel_is_read_at_once_through_another() {
    let t = TestApp::demo().await;
    let before = email(&t).await;
    assert_eq!(
        email(&t).await,
        before,
        "a repeated read (from the cache) answers the same"
    );

    let set = r#"<packet><customer><set><filter><login>customer2</login></filter><values><gen_info><email>changed@example.org</email></gen_info></values></set></customer></packet>"#;
    let r = t.plesk(&panelgate_testkit::plesk_login("admin"), set).await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    assert_eq!(email(&t).await, "changed@example.org");

    // The same through httpapi.com (reseller1's key; customer2 is reseller1's).
    let r = t
        .request(
            "GET",
            "/api/customers/details-by-id.json?auth-userid=2&api-key=demo-httpapi-key&customer-id=2",
            None,
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("changed@example.org"), "{}", r.body);
}

#[tokio::test]
async fn a_deactivated_customer_is_refused_on_its_next_request() {
    let t = TestApp::demo().await;
    let own = GET;
    for _ in 0..3 {
        let r = t.froxlor(CUSTOMER1_KEY, own).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let off =
        r#"{"command":"Customers.update","params":{"loginname":"customer1","deactivated":1}}"#;
    assert_eq!(t.froxlor(ADMIN_KEY, off).await.status, 200);
    let r = t.froxlor(CUSTOMER1_KEY, own).await;
    assert_eq!(
        r.status, 403,
        "a cached credential outlived its owner's deactivation: {}",
        r.body
    );

    let on = r#"{"command":"Customers.update","params":{"loginname":"customer1","deactivated":0}}"#;
    assert_eq!(t.froxlor(ADMIN_KEY, on).await.status, 200);
    assert_eq!(t.froxlor(CUSTOMER1_KEY, own).await.status, 200);
}

#[tokio::test]
async fn a_changed_setting_applies_to_the_next_request() {
    let t = TestApp::demo().await;
    assert_eq!(t.froxlor(ADMIN_KEY, GET).await.status, 200);
    t.core
        .settings()
        .set(&t.sys(), "api.enabled", "0")
        .await
        .unwrap();
    let r = t.froxlor(ADMIN_KEY, GET).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("API is not enabled"), "{}", r.body);
    t.core
        .settings()
        .set(&t.sys(), "api.enabled", "1")
        .await
        .unwrap();
    assert_eq!(t.froxlor(ADMIN_KEY, GET).await.status, 200);
}

/// A second process on one SQLite file would write behind the first one's cache: it is refused
/// with a message that names the file and the way to run several instances.
#[tokio::test]
async fn a_sqlite_file_has_one_panelgate() {
    if backend() != "sqlite" {
        println!(
            "skipped: the SQLite file lock is a SQLite matter (backend {})",
            backend()
        );
        return;
    }
    let t = TestApp::demo().await;
    let other = tempfile::tempdir().unwrap();
    let err = Core::open(&t.db.url, other.path())
        .await
        .expect_err("a second core on the same SQLite file");
    let text = err.to_string();
    assert!(text.contains("in use by another panelgate"), "{text}");
    assert!(text.contains("PostgreSQL or MariaDB"), "{text}");
}

#[tokio::test]
async fn a_changed_password_is_enforced_on_the_next_login() {
    let t = TestApp::demo().await;
    let get = "<packet><customer><get><filter><login>customer1</login></filter><dataset><gen_info/></dataset></get></customer></packet>";
    let old = panelgate_testkit::plesk_login("customer1");
    for _ in 0..3 {
        let r = t.plesk(&old, get).await;
        assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    }
    let change = r#"{"command":"Customers.update","params":{"loginname":"customer1","new_customer_password":"An0ther-Secret"}}"#;
    assert_eq!(t.froxlor(ADMIN_KEY, change).await.status, 200);
    let r = t.plesk(&old, get).await;
    assert!(
        !r.body.contains("<status>ok</status>"),
        "the old password still opens the account: {}",
        r.body
    );
    let new = [
        ("HTTP_AUTH_LOGIN", "customer1"),
        ("HTTP_AUTH_PASSWD", "An0ther-Secret"),
    ];
    let r = t.plesk(&new, get).await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
}

#[tokio::test]
async fn a_new_customer_is_in_the_next_page_and_count() {
    let t = TestApp::demo().await;
    let page = r#"{"command":"Customers.listing","params":{"sql_limit":25}}"#;
    let isp = "/billmgr?func=account&authinfo=admin:changeme1Q**&out=json&p_cnt=25";
    let before = t.froxlor(ADMIN_KEY, page).await.json()["data"]["count"].clone();
    let isp_before = t.request("GET", isp, None, "").await.body;
    assert_eq!(
        t.froxlor(ADMIN_KEY, page).await.json()["data"]["count"],
        before
    );

    let add = r#"{"command":"Customers.add","params":{"email":"cached@example.com","name":"Cache","firstname":"C","new_loginname":"cachetest","new_customer_password":"Secret123x"}}"#;
    let r = t.froxlor(ADMIN_KEY, add).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let after = t.froxlor(ADMIN_KEY, page).await.json()["data"]["count"].clone();
    assert_eq!(after.as_u64(), before.as_u64().map(|n| n + 1));
    let isp_after = t.request("GET", isp, None, "").await.body;
    assert!(!isp_before.contains("cachetest"), "{isp_before}");
    assert!(isp_after.contains("cachetest"), "{isp_after}");
}

/// A read through any panel leaves the writer alone: it does not count as a write, so it does not
/// empty the cache or wait behind writes.
#[tokio::test]
async fn reads_through_every_panel_are_not_writes() {
    let t = TestApp::demo().await;
    let admin = panelgate_testkit::plesk_login("admin");
    let before = t.core.writes_ended();
    for body in [
        GET,
        r#"{"command":"Customers.listing","params":{"sql_limit":25}}"#,
        r#"{"command":"Customers.listing","params":{"sql_search":{"c.email":"example"}}}"#,
        r#"{"command":"CustomerBackups.listing","params":{"customerid":2}}"#,
        r#"{"command":"Admins.listing"}"#,
    ] {
        let r = t.froxlor(ADMIN_KEY, body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.body);
    }
    let r = t
        .plesk(
            &admin,
            "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer><webspace><get><filter/><dataset><gen_info/></dataset></get></webspace></packet>",
        )
        .await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    for target in [
        "/billmgr?func=account&authinfo=admin:changeme1Q**&out=xml",
        "/api/customers/details-by-id.json?auth-userid=2&api-key=demo-httpapi-key&customer-id=2",
        "/api/customers/search.json?auth-userid=2&api-key=demo-httpapi-key&no-of-records=10&page-no=1",
    ] {
        let r = t.request("GET", target, None, "").await;
        assert_eq!(r.status, 200, "{target}: {}", r.body);
    }
    assert_eq!(
        t.core.writes_ended(),
        before,
        "a read went through the writer"
    );
}

/// Instances that share a PostgreSQL or MariaDB database cache reads as well: each request
/// first reads the database's cache version, which every write moves on. A write through one
/// instance is read at once through the other.
#[tokio::test]
async fn instances_sharing_a_database_read_each_others_writes_at_once() {
    use sea_orm::ConnectionTrait;
    if backend() == "sqlite" {
        println!("skipped: a SQLite file has one panelgate (backend sqlite)");
        return;
    }
    let t = TestApp::demo().await;
    let (core, system) = Core::open(&t.db.url, t.db.data_dir.path()).await.unwrap();
    let other = panelgate_testkit::panelgate_server::App::new(
        core,
        std::sync::Arc::new(system),
        Default::default(),
    );
    let get = r#"{"command":"Customers.get","params":{"loginname":"customer2"}}"#;
    let email_there = || async {
        let r = panelgate_testkit::send(&other, "POST", "/api.php", Some(ADMIN_KEY), get).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["data"]["email"].as_str().unwrap().to_owned()
    };
    let before = email_there().await;
    assert_eq!(email_there().await, before);

    // The other instance answers from its cache: a change made behind panelgate's back, which
    // does not move the version, is not seen...
    let db = sea_orm::Database::connect(&t.db.url).await.unwrap();
    db.execute_unprepared(
        "UPDATE customers SET email = 'behind@example.org' WHERE loginname = 'customer2'",
    )
    .await
    .unwrap();
    assert_eq!(email_there().await, before, "answered from the cache");
    // ...until the version moves, as every write of panelgate moves it.
    db.execute_unprepared("UPDATE cache_version SET version = version + 1 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(email_there().await, "behind@example.org");

    // A write through one instance (Plesk) is read through the other at once (Froxlor).
    let set = r#"<packet><customer><set><filter><login>customer2</login></filter><values><gen_info><email>changed@example.org</email></gen_info></values></set></customer></packet>"#;
    let r = t.plesk(&panelgate_testkit::plesk_login("admin"), set).await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    assert_eq!(email_there().await, "changed@example.org");

    // A deactivation through one instance refuses the customer's next request on the other.
    let own = panelgate_testkit::send(&other, "POST", "/api.php", Some(CUSTOMER1_KEY), GET).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let off =
        r#"{"command":"Customers.update","params":{"loginname":"customer1","deactivated":1}}"#;
    assert_eq!(t.froxlor(ADMIN_KEY, off).await.status, 200);
    let own = panelgate_testkit::send(&other, "POST", "/api.php", Some(CUSTOMER1_KEY), GET).await;
    assert_eq!(own.status, 403, "{}", own.body);
    db.close().await.unwrap();
}
