//! Bad input gets Froxlor's answer (status and message), never a panic or a page of our own,
//! and leaves the database as it was (issue 2 acceptance, "Bad input").

use bytes::Bytes;
use http_body_util::Full;
use panelgate_testkit::{TestApp, ADMIN_KEY, RESELLER_KEY};

/// Everything the Froxlor API can change, as text.
async fn fingerprint(t: &TestApp) -> String {
    let customers = t.core.customers().list(&t.sys()).await.unwrap();
    let admins = t.core.admins().list(&t.sys()).await.unwrap();
    let jobs = t.core.backup_jobs().list(&t.sys(), None).await.unwrap();
    let settings = t.core.settings().snapshot().await.unwrap();
    format!("{customers:?}\n{admins:?}\n{jobs:?}\n{settings:?}")
}

const SYNTAX: &str = "SQLSTATE[42000]: Syntax error or access violation: 1064 You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '' at line 4";

// Source: protocols/froxlor.md §1.4, §2.1, §3 and captures e03, e04, e19, c29, c32.
#[tokio::test]
async fn bad_requests_get_froxlor_answers_and_change_nothing() {
    let t = TestApp::demo().await;
    let before = fingerprint(&t).await;
    let cases: &[(&str, u16, &str)] = &[
        ("", 400, "Empty request body."),
        ("{\"command\":", 400, "Invalid JSON Format."),
        ("\u{0}\u{1}garbage", 400, "Invalid JSON Format."),
        ("null", 400, "Invalid JSON Format."),
        ("[1,2]", 400, "Please provide a command."),
        ("{\"command\":\"Customers.add\",\"params\":\"x\"}", 500, ""),
        ("{\"command\":\"Customers.add\",\"params\":17}", 500, ""),
        (r#"{"command":"Customers.listing","params":{"sql_search":{"c.loginname` OR 1=1 --":"x"}}}"#, 500, SYNTAX),
        (r#"{"command":"Customers.listing","params":{"sql_search":{"c.loginname":{"op":"!=","value":"x"}}}}"#, 500, SYNTAX),
        (r#"{"command":"Customers.listing","params":{"sql_search":{"c.password; DROP TABLE customers":"x"}}}"#, 500, SYNTAX),
        (r#"{"command":"Customers.listing","params":{"sql_search":{"nosuchcol":"x"}}}"#, 500, "SQLSTATE[42S22]: Column not found: 1054 Unknown column 'nosuchcol' in 'WHERE'"),
        (r#"{"command":"Customers.listing","params":{"sql_search":{"c.nosuch":"x"}}}"#, 500, "SQLSTATE[42S22]: Column not found: 1054 Unknown column 'c.nosuch' in 'WHERE'"),
        (r#"{"command":"Customers.listing","params":{"sql_orderby":{"x.y":"ASC"}}}"#, 500, "SQLSTATE[42S22]: Column not found: 1054 Unknown column 'x.y' in 'ORDER BY'"),
        (r#"{"command":"Customers.listing","params":{"sql_search":["x"]}}"#, 500, "SQLSTATE[42S22]: Column not found: 1054 Unknown column '0' in 'WHERE'"),
        (r#"{"command":"Customers.get","params":{"id":"abc"}}"#, 404, "Customer with id #abc could not be found"),
        (r#"{"command":"Customers.get","params":{"id":[1,2]}}"#, 500, "Internal PHP error: #2 Array to string conversion"),
        (r#"{"command":"Customers.add","params":{"email":["a"],"name":"x","firstname":"y"}}"#, 500, ""),
        (r#"{"command":"Customers.add","params":{"email":"a@example.com","name":"x","firstname":"y","new_loginname":"bad name"}}"#, 400, "The value for the field \"loginname\" is not in the expected format."),
        (r#"{"command":"Customers.update","params":{"id":1,"email":"not-an-email","name":"Changed"}}"#, 400, "Email-address not-an-email contains invalid characters or is incomplete"),
        (r#"{"command":"Customers.delete","params":{"id":99}}"#, 404, "Customer with id #99 could not be found"),
        (r#"{"command":"CustomerBackups.add","params":{"path":"/","loginname":"customer1"}}"#, 400, "The folder for backups cannot be your homedir, please chose a folder within your homedir, e.g. /backups"),
        (r#"{"command":"Customers.move","params":{"id":1,"adminid":99}}"#, 404, "Admin with id #99 could not be found"),
    ];
    for (body, status, message) in cases {
        let r = t.froxlor(ADMIN_KEY, body).await;
        assert_eq!(r.status, *status, "{body}: {}", r.body);
        if message.is_empty() {
            assert_eq!(r.body, "", "{body}: a PHP fatal error has an empty body");
        } else {
            assert_eq!(r.message(), *message, "{body}");
        }
        assert_eq!(r.headers["content-type"], "application/json");
    }
    // A reseller asking for more than it has is refused before anything is written.
    let r = t
        .froxlor(RESELLER_KEY, r#"{"command":"Customers.add","params":{"email":"r@example.com","name":"R","firstname":"S","diskspace":99999999}}"#)
        .await;
    assert_eq!(
        (r.status, r.message().as_str()),
        (
            400,
            "You cannot allocate more resources than you own for yourself."
        )
    );
    assert_eq!(
        fingerprint(&t).await,
        before,
        "bad input changed the database"
    );
}

// Source: issue 2 ("10 MB body"); PHP ignores a body over post_max_size (8 MiB), so Froxlor
// sees an empty body.
#[tokio::test]
async fn ten_megabyte_body_is_not_read() {
    let t = TestApp::demo().await;
    let before = fingerprint(&t).await;
    let mut body = br#"{"command":"Customers.add","params":{"email":"big@example.com","name":"B","firstname":"C","custom_notes":""#.to_vec();
    body.resize(10 * 1024 * 1024, b'x');
    body.extend_from_slice(b"\"}}");
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ADMIN_KEY)
    );
    for declared in [true, false] {
        let mut req = http::Request::post("/api.php").header("authorization", &auth);
        if declared {
            req = req.header("content-length", body.len());
        }
        let req = req.body(Full::new(Bytes::from(body.clone()))).unwrap();
        let resp = t.app.handle_http(req, "127.0.0.1:9".parse().unwrap()).await;
        assert_eq!(resp.status(), 400);
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(
            &bytes[..],
            b"{\n    \"message\": \"Empty request body.\"\n}"
        );
    }
    assert_eq!(fingerprint(&t).await, before);
}
