//! The httpapi.com (LogicBoxes) API through the real router: the first customer calls over the
//! shared core (issue 10, in progress).

use panelgate_testkit::{send_with, TestApp, TestResponse, ADMIN_KEY};
use serde_json::Value;

const AUTH: &str = "auth-userid=2&api-key=demo-httpapi-key";

async fn call(t: &TestApp, method: &str, target: &str, body: &str) -> TestResponse {
    send_with(
        &t.app,
        method,
        target,
        &[("content-type", "application/x-www-form-urlencoded")],
        body.to_owned(),
    )
    .await
}

fn error(r: &TestResponse) -> String {
    assert_eq!(r.status, 500, "{}", r.body);
    let v: Value = r.json();
    assert_eq!(v["status"], "ERROR", "{v}");
    v["message"].as_str().unwrap_or_default().to_owned()
}

/// protocols/httpapi.md G1–G3: signup answers a bare id; the customer is a Froxlor customer of
/// the calling reseller; details, details-by-id and search show it with string values.
#[tokio::test]
async fn signup_details_and_search() {
    let t = TestApp::demo().await;
    let r = call(
        &t,
        "POST",
        "/api/customers/signup.json",
        &format!("{AUTH}&username=email%40email.com&passwd=Secret%21234x&name=Customer+Name&company=Customer+Company&address-line-1=Customer+Address&city=City&state=State&country=US&zipcode=12345&phone-cc=1&phone=1234567890&lang-pref=en"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id: i64 = r.body.trim().parse().expect("a bare integer id");

    let froxlor = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
        )
        .await
        .json();
    assert_eq!(froxlor["data"]["loginname"], "email@email.com");
    assert_eq!(
        froxlor["data"]["adminid"], 2,
        "owned by the calling reseller"
    );

    let d = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.json?{AUTH}&customer-id={id}"),
        "",
    )
    .await
    .json();
    assert_eq!(d["customerid"], id.to_string());
    assert_eq!(d["username"], "email@email.com");
    assert_eq!(d["telnocc"], "1");
    assert_eq!(d["telno"], "1234567890");
    assert_eq!(d["zip"], "12345");
    assert_eq!(d["customerstatus"], "Active");
    assert_eq!(d["resellerid"], "2");
    let by_name = call(
        &t,
        "GET",
        &format!("/api/customers/details.json?{AUTH}&username=email%40email.com"),
        "",
    )
    .await
    .json();
    assert_eq!(by_name["customerid"], id.to_string());

    let s = call(
        &t,
        "GET",
        &format!("/api/customers/search.json?{AUTH}&no-of-records=10&page-no=1"),
        "",
    )
    .await
    .json();
    assert_eq!(s["recsindb"], "2", "customer2 and the new one: {s}");
    assert_eq!(s["recsonpage"], "2");
    assert_eq!(s["1"]["customer.username"], "customer2");
    assert_eq!(s["2"]["customer.customerid"], id.to_string());

    // The same in the XML form.
    let x = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.xml?{AUTH}&customer-id={id}"),
        "",
    )
    .await;
    assert!(
        x.body
            .contains("  <entry>\n    <string>username</string>\n    <string>email@email.com</string>\n  </entry>\n"),
        "{}",
        x.body
    );

    // v2 signup, and a duplicate.
    let r = call(
        &t,
        "POST",
        "/api/customers/v2/signup.json",
        &format!("{AUTH}&username=v2%40example.com&passwd=Secret%21234x&name=Two&company=C&address-line-1=A&city=C&state=Not+Applicable&other-state=O&country=DE&zipcode=1&phone-cc=49&phone=301234&lang-pref=de"),
    )
    .await;
    assert!(r.body.trim().parse::<i64>().is_ok(), "{}", r.body);
    let dup = call(
        &t,
        "POST",
        "/api/customers/v2/signup.json",
        &format!("{AUTH}&username=v2%40example.com&passwd=Secret%21234x&name=Two&company=C&address-line-1=A&city=C&state=Not+Applicable&other-state=O&country=DE&zipcode=1&phone-cc=49&phone=301234&lang-pref=de"),
    )
    .await;
    assert!(error(&dup).contains("already exists"));
}

/// Bad credentials, missing parameters, another reseller's customer and unknown calls answer
/// HTTP 500 with the ERROR envelope, and change nothing.
#[tokio::test]
async fn errors_and_isolation() {
    let t = TestApp::demo().await;
    let before = t.core.customers().list(&t.sys()).await.unwrap().len();
    let bad = call(
        &t,
        "GET",
        "/api/resellers/details.json?auth-userid=2&api-key=wrong",
        "",
    )
    .await;
    assert!(error(&bad).contains("Authentication failed"));
    let none = call(&t, "GET", "/api/resellers/details.json?auth-userid=2", "").await;
    assert!(error(&none).contains("api-key"));
    // customer1 belongs to the admin, not to reseller 2: not found, as if it did not exist.
    let foreign = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.json?{AUTH}&customer-id=1"),
        "",
    )
    .await;
    let missing = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.json?{AUTH}&customer-id=999"),
        "",
    )
    .await;
    assert_eq!(
        error(&foreign).replace(": 1", ": N"),
        error(&missing).replace(": 999", ": N")
    );
    assert!(!foreign.body.contains("customer1"));
    let s = call(
        &t,
        "GET",
        &format!("/api/customers/search.json?{AUTH}&no-of-records=10&page-no=1&customer-id=1"),
        "",
    )
    .await
    .json();
    assert_eq!(s["recsindb"], "0", "{s}");
    let r = call(
        &t,
        "GET",
        &format!("/api/customers/search.json?{AUTH}&no-of-records=5&page-no=1"),
        "",
    )
    .await;
    assert!(error(&r).contains("no-of-records"));
    let r = call(
        &t,
        "POST",
        "/api/customers/signup.json",
        &format!("{AUTH}&username=x%40example.com"),
    )
    .await;
    assert!(error(&r).contains("Required parameter missing"));
    let r = call(
        &t,
        "GET",
        &format!("/api/domains/available.json?{AUTH}"),
        "",
    )
    .await;
    assert!(error(&r).contains("Unsupported"));
    assert_eq!(
        t.core.customers().list(&t.sys()).await.unwrap().len(),
        before
    );

    let d = call(
        &t,
        "GET",
        &format!("/api/resellers/details.json?{AUTH}"),
        "",
    )
    .await
    .json();
    assert_eq!(d["resellerid"], "2", "{d}");
    assert_eq!(d["username"], "reseller1");
}

/// modify, change-password, suspend/unsuspend and delete answer `true` and act on the shared
/// customer (seen through Plesk and Froxlor); a foreign customer is "not found" and unchanged.
#[tokio::test]
async fn modify_password_suspend_delete() {
    let t = TestApp::demo().await;
    // customer2 belongs to reseller 2.
    let r = call(
        &t,
        "POST",
        "/api/customers/modify.json",
        &format!("{AUTH}&customer-id=2&name=Renamed&city=Paris&phone-cc=33&phone=123456"),
    )
    .await;
    assert_eq!(r.body.trim(), "true", "{}", r.body);
    let d = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.json?{AUTH}&customer-id=2"),
        "",
    )
    .await
    .json();
    assert_eq!(
        (
            d["name"].as_str(),
            d["city"].as_str(),
            d["telnocc"].as_str()
        ),
        (Some("Renamed"), Some("Paris"), Some("33")),
        "{d}"
    );

    let r = call(
        &t,
        "POST",
        "/api/customers/v2/change-password.json",
        &format!("{AUTH}&customer-id=2&new-passwd=Newpass123%21x"),
    )
    .await;
    assert_eq!(r.body.trim(), "true", "{}", r.body);
    let login = t
        .core
        .auth()
        .password("customer2", "Newpass123!x", None)
        .await
        .unwrap();
    assert!(login.is_ok(), "the new password logs in");

    let r = call(
        &t,
        "POST",
        "/api/customers/suspend.json",
        &format!("{AUTH}&customer-id=2&reason=unpaid"),
    )
    .await;
    assert_eq!(r.body.trim(), "true", "{}", r.body);
    let plesk = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><get><filter><id>2</id></filter><dataset><gen_info/></dataset></get></customer></packet>",
        )
        .await
        .body;
    assert!(plesk.contains("<status>16</status>"), "{plesk}");
    let r = call(
        &t,
        "POST",
        "/api/customers/unsuspend.json",
        &format!("{AUTH}&customer-id=2"),
    )
    .await;
    assert_eq!(r.body.trim(), "true");

    // customer1 is the admin's: every change is refused as "not found" and changes nothing.
    let before = format!("{:?}", t.core.customers().list(&t.sys()).await.unwrap());
    for (path, extra) in [
        ("customers/modify", "&name=Pwned"),
        ("customers/change-password", "&new-passwd=Pwned123%21x"),
        ("customers/suspend", ""),
        ("customers/delete", ""),
    ] {
        let r = call(
            &t,
            "POST",
            &format!("/api/{path}.json"),
            &format!("{AUTH}&customer-id=1{extra}"),
        )
        .await;
        assert_eq!(error(&r), "Invalid customer-id: 1", "{path}: {}", r.body);
    }
    assert_eq!(
        before,
        format!("{:?}", t.core.customers().list(&t.sys()).await.unwrap())
    );

    let r = call(
        &t,
        "POST",
        "/api/customers/delete.json",
        &format!("{AUTH}&customer-id=2"),
    )
    .await;
    assert_eq!(r.body.trim(), "true", "{}", r.body);
    let gone = call(
        &t,
        "GET",
        &format!("/api/customers/details-by-id.json?{AUTH}&customer-id=2"),
        "",
    )
    .await;
    assert_eq!(error(&gone), "Invalid customer-id: 2");
}

/// generate-token checks the customer's password and answers a token string; authenticate-token
/// answers the customer once, only to that customer's reseller.
#[tokio::test]
async fn tokens() {
    let t = TestApp::demo().await;
    let r = call(&t, "GET", &format!("/api/customers/generate-token.json?{AUTH}&username=customer2&passwd=changeme1Q**&ip=127.0.0.1"), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token: String = serde_json::from_str(&r.body).expect("a JSON string");
    assert_eq!(token.len(), 36, "{token}");
    let c = call(
        &t,
        "GET",
        &format!("/api/customers/authenticate-token.json?{AUTH}&token={token}"),
        "",
    )
    .await
    .json();
    assert_eq!(c["username"], "customer2", "{c}");
    let again = call(
        &t,
        "GET",
        &format!("/api/customers/authenticate-token.json?{AUTH}&token={token}"),
        "",
    )
    .await;
    assert!(error(&again).contains("token"), "a token works once");

    let wrong = call(
        &t,
        "GET",
        &format!(
            "/api/customers/generate-token.json?{AUTH}&username=customer2&passwd=nope&ip=127.0.0.1"
        ),
        "",
    )
    .await;
    assert!(error(&wrong).contains("password"));
    // customer1 is not reseller 2's: no token for it, even with its right password.
    let foreign = call(&t, "GET", &format!("/api/customers/generate-token.json?{AUTH}&username=customer1&passwd=changeme1Q**&ip=127.0.0.1"), "").await;
    assert!(error(&foreign).contains("not found"), "{}", foreign.body);
}
