//! Froxlor API behaviour across roles, on the demo data (issue 2 acceptance).

use panelgate_core::CustomerRef;
use panelgate_testkit::{TestApp, ADMIN_KEY, CUSTOMER1_KEY, RESELLER_KEY};

use crate::froxlor_logins;

const ADD_BY_RESELLER: &str = r#"{"command":"Customers.add","params":{"email":"new@example.com","name":"New","firstname":"Customer","new_loginname":"rescust","new_customer_password":"Secret123x","diskspace":100,"ftps":2,"createstdsubdomain":0}}"#;

// Source: issue 2 acceptance; protocols/froxlor.md §4.1, §4.5 (401/404 rules).
#[tokio::test]
async fn reseller_customer_is_invisible_to_other_customers_and_listed_by_admin() {
    let t = TestApp::demo().await;
    let r = t.froxlor(RESELLER_KEY, ADD_BY_RESELLER).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"]["adminname"], "reseller1");
    let id = r.json()["data"]["customerid"].as_i64().unwrap();

    let by_id = t
        .froxlor(
            CUSTOMER1_KEY,
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await;
    assert_eq!(
        (by_id.status, by_id.message().as_str()),
        (401, "You cannot access data of other customers")
    );
    let by_login = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"rescust"}}"#,
        )
        .await;
    assert_eq!(by_login.status, 401);
    let listing = t
        .froxlor(CUSTOMER1_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    assert_eq!(
        (listing.status, listing.message().as_str()),
        (403, "Not allowed to execute given command.")
    );

    let admin = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    assert_eq!(
        froxlor_logins(&admin.json()),
        ["customer1", "customer2", "rescust"]
    );
    let reseller = t
        .froxlor(RESELLER_KEY, r#"{"command":"Customers.listing"}"#)
        .await;
    assert_eq!(froxlor_logins(&reseller.json()), ["customer2", "rescust"]);
    let foreign = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.message().as_str()),
        (404, "Customer with id #1 could not be found")
    );
    let own = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(own.status, 200);
    assert!(
        own.json()["data"].get("adminname").is_none(),
        "a customer sees no adminname"
    );
}

// Source: issue 2 acceptance ("Customers.delete removes its backup jobs"); protocols/froxlor.md §4.8, §5.
#[tokio::test]
async fn deleting_a_customer_removes_its_backup_jobs() {
    let t = TestApp::demo().await;
    for body in [
        r#"{"command":"CustomerBackups.add","params":{"path":"/backups","loginname":"customer1","backup_web":1}}"#,
        r#"{"command":"CustomerBackups.add","params":{"path":"/b2","customerid":1}}"#,
        r#"{"command":"CustomerBackups.add","params":{"path":"/keep","loginname":"customer2"}}"#,
    ] {
        let r = t.froxlor(ADMIN_KEY, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let count = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"CustomerBackups.listingCount"}"#,
        )
        .await;
    assert_eq!(count.json()["data"], 2);
    let del = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.delete","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(del.json()["data"]["loginname"], "customer1");
    let jobs = t.core.backup_jobs().list(&t.sys(), None).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].loginname, "customer2");
    let listing = t
        .froxlor(ADMIN_KEY, r#"{"command":"CustomerBackups.listing"}"#)
        .await;
    assert_eq!(listing.json()["data"]["count"], 1);
    // The deleted customer's API key is gone with it.
    let gone = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(gone.status, 403);
}

async fn admin_counters(t: &TestApp, id: i64) -> (i64, i64, i64) {
    let a = t.admin(id).await;
    (a.customers_used, a.used.diskspace, a.used.ftps)
}

// Source: issue 2 acceptance ("Customers.move moves the counters"); protocols/froxlor.md §4.6 step 12, §4.10.
#[tokio::test]
async fn add_and_move_keep_the_owners_counters() {
    let t = TestApp::demo().await;
    assert_eq!(admin_counters(&t, 2).await, (1, 0, 0));
    let r = t.froxlor(RESELLER_KEY, ADD_BY_RESELLER).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin_counters(&t, 2).await, (2, 102_400, 2));
    let before_admin = admin_counters(&t, 1).await;

    let moved = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.move","params":{"loginname":"rescust","adminid":1}}"#,
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["data"]["adminname"], "admin");
    assert_eq!(admin_counters(&t, 2).await, (1, 0, 0));
    assert_eq!(
        admin_counters(&t, 1).await,
        (
            before_admin.0 + 1,
            before_admin.1 + 102_400,
            before_admin.2 + 2
        )
    );
    let denied = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Customers.move","params":{"loginname":"customer2","adminid":1}}"#,
        )
        .await;
    assert_eq!(
        (denied.status, denied.message().as_str()),
        (403, "Not allowed to execute given command.")
    );

    let del = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.delete","params":{"loginname":"rescust"}}"#,
        )
        .await;
    assert_eq!(del.status, 200);
    assert_eq!(admin_counters(&t, 1).await, before_admin);
}

// Source: protocols/froxlor.md §4.7 (a customer may only change language, theme, password) and
// §1.3 rule 3 + §4.7 (deactivation disables the customer's keys).
#[tokio::test]
async fn customer_self_update_and_deactivation() {
    let t = TestApp::demo().await;
    let r = t.froxlor(CUSTOMER1_KEY, r#"{"command":"Customers.update","params":{"id":1,"name":"Hacker","def_language":"de","diskspace":999}}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"]["name"], "One");
    assert_eq!(r.json()["data"]["def_language"], "de");
    assert_eq!(r.json()["data"]["diskspace"], 0);

    let off = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.update","params":{"id":1,"deactivated":1}}"#,
        )
        .await;
    assert_eq!(off.json()["data"]["deactivated"], 1);
    assert_eq!(off.json()["data"]["standardsubdomain"], 0);
    let refused = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(
        (refused.status, refused.message().as_str()),
        (403, "Invalid authorization credentials")
    );
    let on = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.update","params":{"id":1,"deactivated":0}}"#,
        )
        .await;
    assert_eq!(on.json()["data"]["deactivated"], 0);
    let ok = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Customers.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(ok.status, 200);
}

// Source: issue 2 acceptance: 50 concurrent adds of one login give one success and 49
// `Loginname … already exists`, on every backend (the unique constraint decides).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_one_login_have_one_winner() {
    let t = std::sync::Arc::new(TestApp::demo().await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!(
                r#"{{"command":"Customers.add","params":{{"email":"race{i}@example.com","name":"Race","firstname":"R{i}","new_loginname":"racer","new_customer_password":"Secret123x"}}}}"#
            );
            t.froxlor(ADMIN_KEY, &body).await
        }));
    }
    let mut ok = 0;
    let mut dup = 0;
    for task in tasks {
        let r = task.await.unwrap();
        match r.status {
            200 => ok += 1,
            400 if r.message() == "Loginname racer already exists" => dup += 1,
            other => panic!("unexpected answer {other}: {}", r.body),
        }
    }
    assert_eq!((ok, dup), (1, 49));
    let admin = t.admin(1).await;
    assert_eq!(
        admin.customers_used, 2,
        "counters count the one winner only"
    );
    let c = t
        .core
        .customers()
        .get(&t.sys(), &CustomerRef::Login("racer".into()))
        .await
        .unwrap();
    assert_eq!(c.loginname, "racer");
}

// Source: protocols/froxlor.md §5.3–§5.7 (job shape, visibility, delete by customer).
#[tokio::test]
async fn backup_jobs_through_froxlor_roles() {
    let t = TestApp::demo().await;
    let r = t.froxlor(CUSTOMER1_KEY, r#"{"command":"CustomerBackups.add","params":{"path":"my backups/../x","backup_mail":true}}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["data"]["destdir"],
        "/var/customers/webs/customer1/my\\ backups/./x/"
    );
    assert_eq!(r.json()["data"]["backup_mail"], "1");
    let r = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"CustomerBackups.add","params":{"path":"/b","loginname":"customer1"}}"#,
        )
        .await;
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            404,
            "Customer with loginname 'customer1' could not be found"
        )
    );
    let r = t
        .froxlor(RESELLER_KEY, r#"{"command":"CustomerBackups.listing"}"#)
        .await;
    assert_eq!(
        r.json()["data"]["count"],
        0,
        "the reseller does not see customer1's job"
    );
    let list = t
        .froxlor(ADMIN_KEY, r#"{"command":"DataDump.listing"}"#)
        .await;
    let id = list.json()["data"]["list"][0]["id"].as_i64().unwrap();
    let denied = t
        .froxlor(
            RESELLER_KEY,
            &format!(
                r#"{{"command":"CustomerBackups.delete","params":{{"backup_job_entry":{id}}}}}"#
            ),
        )
        .await;
    assert_eq!(denied.status, 404);
    let del = t
        .froxlor(
            CUSTOMER1_KEY,
            &format!(
                r#"{{"command":"CustomerBackups.delete","params":{{"backup_job_entry":{id}}}}}"#
            ),
        )
        .await;
    assert_eq!(
        (del.status, del.body.as_str()),
        (200, "{\n    \"data\": true\n}")
    );
}

// Source: protocols/froxlor.md §1.1 (query-string routing), §2.3 (headers).
#[tokio::test]
async fn query_form_and_headers() {
    let t = TestApp::demo().await;
    let r = t
        .request(
            "GET",
            "/api.php?/customers/listingcount",
            Some(ADMIN_KEY),
            "",
        )
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, "{\n    \"data\": 2\n}"));
    assert_eq!(r.headers["accept"], "application/json");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["x-ratelimit-limit"], "60");
    assert_eq!(r.headers["x-ratelimit-remaining"], "59");
    assert_eq!(
        r.headers["x-ratelimit-reset"],
        (panelgate_testkit::TEST_EPOCH + 60).to_string().as_str()
    );
    let r = t.request("POST", "/api.php", None, "{}").await;
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"API\"");
    let r = t.request("POST", "/nothing-here", None, "").await;
    assert_eq!(r.status, 404);
}

// Source: protocols/froxlor.md §3 (sql_search / orderby / limit semantics) and captures c26–c38.
#[tokio::test]
async fn listing_search_order_and_limit() {
    let t = TestApp::demo().await;
    let q = |p: &str| format!(r#"{{"command":"Customers.listing","params":{p}}}"#);
    let r = t
        .froxlor(ADMIN_KEY, &q(r#"{"sql_search":{"c.loginname":"TOMER2"}}"#))
        .await;
    assert_eq!(froxlor_logins(&r.json()), ["customer2"]);
    let r = t
        .froxlor(
            ADMIN_KEY,
            &q(r#"{"sql_search":{"a.loginname":{"op":"=","value":"reseller1"}}}"#),
        )
        .await;
    assert_eq!(froxlor_logins(&r.json()), ["customer2"]);
    let r = t
        .froxlor(ADMIN_KEY, &q(r#"{"sql_orderby":{"adminname":"desc"}}"#))
        .await;
    assert_eq!(froxlor_logins(&r.json()), ["customer2", "customer1"]);
    let r = t
        .froxlor(
            ADMIN_KEY,
            &q(r#"{"sql_orderby":{"c.customerid":"desc"},"sql_limit":1,"sql_offset":1}"#),
        )
        .await;
    assert_eq!(froxlor_logins(&r.json()), ["customer1"]);
    let r = t.froxlor(ADMIN_KEY, &q(r#"{"sql_offset":1}"#)).await;
    assert_eq!(
        r.json()["data"]["count"],
        2,
        "an offset without a limit is ignored"
    );
    let r = t
        .froxlor(
            ADMIN_KEY,
            &q(r#"{"sql_search":{"c.customerid":{"op":"in","value":[2,"x y"]}}}"#),
        )
        .await;
    assert_eq!(froxlor_logins(&r.json()), ["customer2"]);
}

// Source: protocols/froxlor.md §4 (Admins is the same object Plesk calls reseller).
#[tokio::test]
async fn admins_read_rules() {
    let t = TestApp::demo().await;
    let r = t
        .froxlor(ADMIN_KEY, r#"{"command":"Admins.listing"}"#)
        .await;
    assert_eq!(r.json()["data"]["count"], 2);
    assert!(r.json()["data"]["list"][0].get("password").is_none());
    let own = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Admins.get","params":{"loginname":"reseller1"}}"#,
        )
        .await;
    assert_eq!(own.json()["data"]["adminid"], 2);
    assert_eq!(own.json()["data"]["customers_used"], 1);
    let other = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Admins.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(other.status, 403);
    let list = t
        .froxlor(RESELLER_KEY, r#"{"command":"Admins.listing"}"#)
        .await;
    assert_eq!(list.status, 403);
    let cust = t
        .froxlor(
            CUSTOMER1_KEY,
            r#"{"command":"Admins.get","params":{"id":1}}"#,
        )
        .await;
    assert_eq!(cust.status, 403);
    let missing = t
        .froxlor(ADMIN_KEY, r#"{"command":"Admins.get","params":{"id":55}}"#)
        .await;
    assert_eq!(
        (missing.status, missing.message().as_str()),
        (404, "Admin with id #55 could not be found")
    );
}

// Source: issue 2 item 7: credentials are verified once, then served from the cache.
#[tokio::test]
async fn repeated_requests_do_not_rehash_the_secret() {
    let t = TestApp::demo().await;
    let first = t
        .froxlor(ADMIN_KEY, r#"{"command":"Customers.listingCount"}"#)
        .await;
    assert_eq!(first.status, 200);
    let after_first = t.core.slow_credential_checks();
    for _ in 0..20 {
        let r = t
            .froxlor(ADMIN_KEY, r#"{"command":"Customers.listingCount"}"#)
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        t.core.slow_credential_checks(),
        after_first,
        "cached credentials were hashed again"
    );
    let wrong = t
        .froxlor(
            "demo-froxlor-admin-key:wrong",
            r#"{"command":"Customers.listingCount"}"#,
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(
        t.core.slow_credential_checks(),
        after_first + 1,
        "a wrong secret is always checked in full"
    );
}

// The README's Froxlor table names every served call (`Call::ALL`, the one list of them).
#[test]
fn readme_names_every_served_froxlor_call() {
    let section = crate::readme_section("Froxlor compatibility");
    for call in panelgate_testkit::panelgate_froxlor::call::Call::ALL {
        let module = format!("`{}.*`", call.module().name());
        let method = format!("`{}`", call.method());
        let row = section
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&module))
            .unwrap_or_else(|| panic!("no README row for {module}"));
        assert!(
            row.contains(&method),
            "{}: {method} missing in {row}",
            call.name()
        );
    }
}

/// Issue 11: a listing without a search or an order is paged by the database; it answers what
/// the in-memory path answers (the same page with a no-op order), for every role.
#[tokio::test]
async fn plain_listing_pages_in_the_database_like_the_full_path() {
    use panelgate_core::{NewCustomer, Profile};
    let t = TestApp::demo().await;
    for (i, owner) in (0..12).map(|i| (i, if i % 3 == 0 { 2 } else { 1 })) {
        t.core
            .customers()
            .create_owned(
                &t.sys(),
                Some(owner),
                NewCustomer {
                    loginname: Some(format!("page{i}").as_str().try_into().unwrap()),
                    password: Some("changeme1Q**".into()),
                    profile: Profile {
                        name: format!("Page {i}"),
                        email: format!("page{i}@example.com"),
                        ..Profile::default()
                    },
                    ..NewCustomer::default()
                },
            )
            .await
            .unwrap();
    }
    for key in [ADMIN_KEY, RESELLER_KEY, CUSTOMER1_KEY] {
        for (limit, offset) in [(5, 0), (5, 3), (25, 0), (3, 20), (1, -4)] {
            let fast = t
                .froxlor(key, &format!(r#"{{"command":"Customers.listing","params":{{"sql_limit":{limit},"sql_offset":{offset}}}}}"#))
                .await;
            let full = t
                .froxlor(key, &format!(r#"{{"command":"Customers.listing","params":{{"sql_limit":{limit},"sql_offset":{offset},"sql_orderby":{{"c.customerid":"ASC"}}}}}}"#))
                .await;
            assert_eq!(fast.status, full.status, "{key} {limit} {offset}");
            assert_eq!(fast.body, full.body, "{key} limit {limit} offset {offset}");
        }
    }
    let page = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_limit":5,"sql_offset":3}}"#,
        )
        .await
        .json();
    assert_eq!(page["data"]["count"], 5);
    assert_eq!(page["data"]["list"][0]["customerid"], 4);
}
