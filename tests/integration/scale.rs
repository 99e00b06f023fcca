//! Issue 11: listings over more customers than one scan chunk (searched a chunk at a time,
//! then ordered and cut) answer as over a small table; a data set loads in batches.

use panelgate_core::customers::{Imported, SCAN_CHUNK};
use panelgate_core::{NewCustomer, Profile};
use panelgate_testkit::{TestApp, ADMIN_KEY, RESELLER_KEY};

use crate::froxlor_logins;

/// The demo data and `n` customers `bulkN` of the admin; every seventh is `…@seven.example`
/// (every other one of them in upper case).
async fn with_many(n: usize) -> TestApp {
    let t = TestApp::demo().await;
    // The demo data's stored hash of its password: importing hashes nothing.
    let stored = panelgate_server::demo_data().unwrap().hashes["changeme1Q**"].clone();
    let batch: Vec<Imported> = (0..n)
        .map(|i| {
            let login = format!("bulk{i}");
            // Upper case too: the database's narrowing compares case-insensitively.
            let domain = match i % 14 {
                0 => "SEVEN.Example",
                7 => "seven.example",
                _ => "example.net",
            };
            Imported {
                id: None,
                owner: 1,
                password_hash: Some(stored.clone()),
                new: NewCustomer {
                    loginname: Some(login.as_str().try_into().unwrap()),
                    profile: Profile {
                        name: format!("Bulk {i}"),
                        email: format!("{login}@{domain}"),
                        def_language: "en".into(),
                        ..Profile::default()
                    },
                    create_std_subdomain: false,
                    ..NewCustomer::default()
                },
            }
        })
        .collect();
    t.core
        .customers()
        .import_batch(&t.sys(), batch)
        .await
        .expect("importing");
    t
}

#[tokio::test]
async fn a_search_over_several_chunks_is_ordered_and_cut_as_one_table() {
    let n = SCAN_CHUNK as usize * 2 + 500;
    let t = with_many(n).await;
    let sevens = (0..n).filter(|i| i % 7 == 0).count();

    let count = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listingCount","params":{"sql_search":{"c.email":"seven.example"}}}"#,
        )
        .await
        .json();
    // 2.0 listingCount ignores sql_search: every customer (the demo's two and the bulk).
    assert_eq!(count["data"], n + 2, "{count}");

    let all = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.email":"seven.example"}}}"#,
        )
        .await
        .json();
    assert_eq!(all["data"]["count"], sevens, "{}", all["data"]["count"]);

    // Ordered by login descending (natural order), cut past the first chunk's matches.
    let page = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.email":"seven.example"},"sql_orderby":{"c.loginname":"DESC"},"sql_offset":150,"sql_limit":3}}"#,
        )
        .await
        .json();
    let mut expected: Vec<usize> = (0..n).filter(|i| i % 7 == 0).collect();
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = expected[150..153]
        .iter()
        .map(|i| format!("bulk{i}"))
        .collect();
    assert_eq!(froxlor_logins(&page), expected);

    // Without an order, a page in id order: the scan stops once it holds the page, here past
    // several of its growing chunks.
    let unordered = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.email":"seven.example"},"sql_offset":200,"sql_limit":4}}"#,
        )
        .await
        .json();
    let expected: Vec<String> = (0..n)
        .filter(|i| i % 7 == 0)
        .skip(200)
        .take(4)
        .map(|i| format!("bulk{i}"))
        .collect();
    assert_eq!(froxlor_logins(&unordered), expected);

    // An unknown column is refused as before, whatever the table's size.
    let bad = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.nope":"x"}}}"#,
        )
        .await;
    assert!(bad.body.contains("Unknown column 'c.nope'"), "{}", bad.body);

    // A reseller's scan sees its own customers only.
    let mine = t
        .froxlor(
            RESELLER_KEY,
            r#"{"command":"Customers.listing","params":{"sql_search":{"c.loginname":"bulk"}}}"#,
        )
        .await
        .json();
    assert_eq!(mine["data"]["count"], 0, "{mine}");
}

/// The database's search index follows every change of a customer: a new email is found at
/// once, the old one no longer, a deleted customer not at all.
#[tokio::test]
async fn a_search_follows_changes_at_once() {
    let t = TestApp::demo().await;
    let search = |needle: &str| {
        format!(
            r#"{{"command":"Customers.listing","params":{{"sql_search":{{"c.email":"{needle}"}}}}}}"#
        )
    };
    let before = froxlor_logins(&t.froxlor(ADMIN_KEY, &search("example")).await.json());
    assert!(before.contains(&"customer2".to_owned()), "{before:?}");

    let set = r#"<packet><customer><set><filter><login>customer2</login></filter><values><gen_info><email>renamed@zzz.example</email></gen_info></values></set></customer></packet>"#;
    let r = t.plesk(&panelgate_testkit::plesk_login("admin"), set).await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    assert_eq!(
        froxlor_logins(&t.froxlor(ADMIN_KEY, &search("zzz.example")).await.json()),
        ["customer2"]
    );
    assert_eq!(
        froxlor_logins(&t.froxlor(ADMIN_KEY, &search("renamed@ZZZ")).await.json()),
        ["customer2"]
    );

    let add = r#"{"command":"Customers.add","params":{"email":"fresh@zzz.example","name":"F","firstname":"F","new_loginname":"fresh","new_customer_password":"Secret123x"}}"#;
    assert_eq!(t.froxlor(ADMIN_KEY, add).await.status, 200);
    assert_eq!(
        froxlor_logins(&t.froxlor(ADMIN_KEY, &search("zzz.example")).await.json()),
        ["customer2", "fresh"]
    );
    let delete = r#"{"command":"Customers.delete","params":{"loginname":"customer2"}}"#;
    let r = t.froxlor(ADMIN_KEY, delete).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        froxlor_logins(&t.froxlor(ADMIN_KEY, &search("zzz.example")).await.json()),
        ["fresh"]
    );
}

/// httpapi.com `customers/search` over several chunks: the total counts every match, the page
/// shows the asked slice in id order.
#[tokio::test]
async fn an_httpapi_search_over_several_chunks_counts_and_pages() {
    let n = SCAN_CHUNK as usize * 2 + 500;
    let t = with_many(n).await;
    t.core
        .credentials()
        .create(
            &t.sys(),
            panelgate_core::NewCredential {
                kind: panelgate_core::CredentialKind::Httpapi,
                public_key: "1".into(),
                secret: "admin-httpapi-key".into(),
                admin_id: Some(1),
                customer_id: None,
                allowed_from: String::new(),
                valid_until: i64::MAX,
                description: String::new(),
            },
        )
        .await
        .unwrap();
    // "Bulk 12" is in the names Bulk 12, 120–129 and 1200–1299.
    let r = t
        .request(
            "GET",
            "/api/customers/search.json?auth-userid=1&api-key=admin-httpapi-key&no-of-records=10&page-no=2&name=Bulk%2012",
            None,
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["recsindb"], "111", "{v}");
    assert_eq!(v["recsonpage"], "10", "{v}");
    // In id order (bulk{i} has id i + 3) the matches are 12, 120–129, 1200–1299: page 2 holds
    // the 11th to the 20th, bulk129 then bulk1200–1208.
    assert_eq!(v["1"]["customer.username"], "bulk129", "{v}");
    assert_eq!(v["2"]["customer.customerid"], "1203", "{v}");
    assert_eq!(v["10"]["customer.username"], "bulk1208", "{v}");
}
