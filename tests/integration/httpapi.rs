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

/// customer2's hosting order (its standard subdomain subscription) in the demo data.
async fn hosting_order_of(t: &TestApp, customer: i64) -> i64 {
    t.core
        .subscriptions()
        .list(&t.sys())
        .await
        .unwrap()
        .iter()
        .find(|s| s.customer_id == customer)
        .expect("the demo customer has a subscription")
        .id
}

async fn funds(t: &TestApp, customer: i64) -> i64 {
    t.core
        .orders()
        .funds(&t.sys(), &panelgate_core::CustomerRef::Id(customer))
        .await
        .unwrap()
}

async fn post_ok(t: &TestApp, path: &str, params: &str) -> Value {
    let r = call(
        t,
        "POST",
        &format!("/api/{path}.json"),
        &format!("{AUTH}&{params}"),
    )
    .await;
    assert_eq!(r.status, 200, "{path}?{params}: {}", r.body);
    r.json()
}

async fn get_ok(t: &TestApp, path: &str, params: &str) -> Value {
    let r = call(t, "GET", &format!("/api/{path}.json?{AUTH}&{params}"), "").await;
    assert_eq!(r.status, 200, "{path}?{params}: {}", r.body);
    r.json()
}

/// Issue 10: `backup/us/add` with each invoice option, then `details`, `add-storage`, `renew`,
/// `search`, `delete`, `actions/search-current`, `orders/suspend|unsuspend`, with the funds and
/// invoices the options describe (protocols/httpapi.md §3, §5).
#[tokio::test]
async fn backup_orders_with_each_invoice_option() {
    let t = TestApp::demo().await;
    let hosting = hosting_order_of(&t, 2).await;
    let add = |option: &str, gb: u32| {
        format!("storage-size-gb={gb}&customer-id=2&hosting-order-id={hosting}&months=12&plan-id=1001&auto-renew=false&invoice-option={option}&discount-amount=0.00")
    };
    assert_eq!(funds(&t, 2).await, 100_000, "the demo data's 100.00");

    // NoInvoice: executed, no invoice fields (§3.1).
    let no = post_ok(&t, "backup/us/add", &add("NoInvoice", 5)).await;
    assert_eq!(no["actiontype"], "Add");
    assert_eq!(no["actionstatus"], "Success");
    assert_eq!(no["status"], "Success");
    for key in [
        "entityid",
        "eaqid",
        "description",
        "actiontypedesc",
        "actionstatusdesc",
    ] {
        assert!(
            no[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {no}"
        );
    }
    for key in [
        "invoiceid",
        "sellingcurrencysymbol",
        "sellingamount",
        "unutilisedsellingamount",
        "customerid",
    ] {
        assert!(no.get(key).is_none(), "NoInvoice has no {key}: {no}");
    }
    let order = no["entityid"].as_str().unwrap().to_owned();

    // KeepInvoice: executed, invoice raised, funds untouched. 5 GB × 12 months × 0.100.
    let keep = post_ok(&t, "backup/us/add", &add("KeepInvoice", 5)).await;
    assert_eq!(keep["actionstatus"], "Success");
    assert_eq!(keep["sellingamount"], "-6.000");
    assert_eq!(keep["sellingcurrencysymbol"], "USD");
    assert_eq!(keep["customerid"], "2");
    assert!(keep["invoiceid"]
        .as_str()
        .is_some_and(|v| v.parse::<i64>().is_ok()));
    assert_eq!(funds(&t, 2).await, 100_000);

    // PayInvoice with funds: paid from them.
    let pay = post_ok(&t, "backup/us/add", &add("PayInvoice", 5)).await;
    assert_eq!(pay["actionstatus"], "InvoicePaid", "{pay}");
    assert_eq!(funds(&t, 2).await, 94_000);

    // PayInvoice without enough funds (1000 GB: 1200.00), and OnlyAdd: pending, not executed.
    let short = post_ok(&t, "backup/us/add", &add("PayInvoice", 1000)).await;
    assert_eq!(short["actionstatus"], "PendingExecution", "{short}");
    assert_eq!(funds(&t, 2).await, 94_000);
    let only = post_ok(&t, "backup/us/add", &add("OnlyAdd", 5)).await;
    assert_eq!(only["actionstatus"], "PendingExecution");
    assert!(only["invoiceid"].is_string());
    let pending_order = only["entityid"].as_str().unwrap();
    let d = get_ok(
        &t,
        "backup/us/details",
        &format!("backup-order-id={pending_order}"),
    )
    .await;
    assert_eq!(d["currentstatus"], "InActive");
    let current = get_ok(&t, "actions/search-current", "no-of-records=10&page-no=1").await;
    assert_eq!(current["recsindb"], "2", "{current}");
    let eaqids: Vec<&str> = ["1", "2"]
        .iter()
        .map(|k| current[k]["eaqid"].as_str().unwrap())
        .collect();
    assert_eq!(
        eaqids,
        [
            short["eaqid"].as_str().unwrap(),
            only["eaqid"].as_str().unwrap()
        ]
    );
    let one = get_ok(
        &t,
        "actions/search-current",
        &format!(
            "no-of-records=10&page-no=1&eaq-id={}",
            only["eaqid"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(one["recsindb"], "1");
    assert_eq!(one["1"]["entityid"], pending_order);
    let busy = call(
        &t,
        "POST",
        "/api/backup/us/add-storage.json",
        &format!(
            "{AUTH}&backup-order-id={pending_order}&storage-size-gb=10&invoice-option=NoInvoice"
        ),
    )
    .await;
    assert_eq!(
        error(&busy),
        "There is already an action pending on this Order."
    );

    // details of the NoInvoice order.
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(d["currentstatus"], "Active");
    assert_eq!(d["storagesize"], "5");
    assert_eq!(d["customerid"], "2");
    assert_eq!(d["hostingorderid"], hosting.to_string());
    assert_eq!(d["productkey"], "acronisbackupus");
    let created: i64 = d["creationtime"].as_str().unwrap().parse().unwrap();
    let end: i64 = d["endtime"].as_str().unwrap().parse().unwrap();
    assert_eq!(end, panelgate_core::orders::add_months(created, 12));

    // add-storage: the final total; not smaller than now; KeepInvoice nests by invoice id.
    let grown = post_ok(
        &t,
        "backup/us/add-storage",
        &format!("backup-order-id={order}&storage-size-gb=15&invoice-option=NoInvoice"),
    )
    .await;
    assert_eq!(grown["actiontype"], "AddStorage");
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(d["storagesize"], "15");
    let smaller = call(
        &t,
        "POST",
        "/api/backup/us/add-storage.json",
        &format!("{AUTH}&backup-order-id={order}&storage-size-gb=10&invoice-option=NoInvoice"),
    )
    .await;
    assert!(error(&smaller).contains("larger than the order's current 15 GB"));
    let nested = post_ok(
        &t,
        "backup/us/add-storage",
        &format!("backup-order-id={order}&storage-size-gb=20&invoice-option=KeepInvoice"),
    )
    .await;
    let obj = nested.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{nested}");
    let (invoice, inner) = obj.iter().next().unwrap();
    assert_eq!(inner["invoiceid"], invoice.as_str());
    // 5 more GB × 12 months × 0.100.
    assert_eq!(inner["sellingamount"], "-6.000");

    // renew: the expiry moves on by the months.
    let renewed = post_ok(
        &t,
        "backup/us/renew",
        &format!("backup-order-id={order}&months=6&invoice-option=NoInvoice&auto-renew=true"),
    )
    .await;
    assert_eq!(renewed["actiontype"], "Renew");
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(
        d["endtime"],
        panelgate_core::orders::add_months(end, 6).to_string()
    );
    assert_eq!(d["recurring"], "true");

    // search: records "1", "2"… with the reseller's orders; filters.
    let all = get_ok(&t, "backup/us/search", "no-of-records=10&page-no=1").await;
    assert_eq!(all["recsindb"], "5", "{all}");
    assert_eq!(all["1"]["orders.orderid"], order);
    let inactive = get_ok(
        &t,
        "backup/us/search",
        "no-of-records=10&page-no=1&status=InActive",
    )
    .await;
    assert_eq!(inactive["recsindb"], "2");
    let asia = get_ok(&t, "backup/asia/search", "no-of-records=10&page-no=1").await;
    assert_eq!(asia["recsindb"], "0");
    // A US order is not an Asia order.
    let wrong_region = call(
        &t,
        "GET",
        &format!("/api/backup/asia/details.json?{AUTH}&backup-order-id={order}"),
        "",
    )
    .await;
    assert_eq!(
        error(&wrong_region),
        format!("No Entity found for Entityid {order}")
    );
    let wrong_plan = call(
        &t,
        "POST",
        "/api/backup/asia/add.json",
        &format!("{AUTH}&{}", add("NoInvoice", 5)),
    )
    .await;
    assert_eq!(error(&wrong_plan), "{plan-id=Invalid plan-id: 1001}");

    // orders/suspend and unsuspend.
    let s = post_ok(
        &t,
        "orders/suspend",
        &format!("order-id={order}&reason=unpaid"),
    )
    .await;
    assert_eq!(s["status"], "Success");
    assert_eq!(s["actiontype"], "Suspend");
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(d["currentstatus"], "Suspended");
    assert_eq!(d["suspendreason"], "unpaid");
    post_ok(&t, "orders/unsuspend", &format!("order-id={order}")).await;
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(d["currentstatus"], "Active");

    // auto-login-details: a URL with a one-time token.
    let login = get_ok(
        &t,
        "backup/us/auto-login-details",
        &format!("backup-order-id={order}"),
    )
    .await;
    assert_eq!(login["status"], "Success");
    assert_eq!(login["orderid"], order);
    assert!(
        login["autoLoginUrl"].as_str().unwrap().contains("token="),
        "{login}"
    );

    // delete: listed as Deleted, takes no more changes.
    let del = post_ok(&t, "backup/us/delete", &format!("backup-order-id={order}")).await;
    assert_eq!(del["actiontype"], "Delete");
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={order}")).await;
    assert_eq!(d["currentstatus"], "Deleted");
    let again = call(
        &t,
        "POST",
        "/api/backup/us/renew.json",
        &format!("{AUTH}&backup-order-id={order}&months=1&invoice-option=NoInvoice"),
    )
    .await;
    assert_eq!(error(&again), format!("Order {order} has been deleted"));

    // plan-details lists the two backup plans of the data set with their prices.
    let plans = get_ok(&t, "products/plan-details", "").await;
    assert_eq!(
        plans["acronisbackupus"]["1001"]["plan_name"],
        "Acronis Backup US"
    );
    assert_eq!(
        plans["acronisbackupus"]["1001"]["pricing"]["price_per_gb_month"],
        "0.100"
    );
    assert_eq!(plans["acronisbackupasia"]["1002"]["plan_status"], "Active");

    // The XML form of an action map.
    let x = call(
        &t,
        "POST",
        "/api/backup/us/add.xml",
        &format!("{AUTH}&{}", add("NoInvoice", 1)),
    )
    .await;
    assert_eq!(x.status, 200, "{}", x.body);
    assert!(
        x.body.starts_with("<hashtable>\n  <entry>\n    <string>"),
        "{}",
        x.body
    );
    assert!(
        x.body
            .contains("    <string>actiontype</string>\n    <string>Add</string>\n"),
        "{}",
        x.body
    );
}

/// Issue 10: a write by GET is refused and changes nothing; reads may be POSTed.
#[tokio::test]
async fn writes_need_post() {
    let t = TestApp::demo().await;
    let hosting = hosting_order_of(&t, 2).await;
    let r = call(&t, "GET", &format!("/api/backup/us/add.json?{AUTH}&storage-size-gb=5&customer-id=2&hosting-order-id={hosting}&months=1&plan-id=1001&invoice-option=NoInvoice"), "").await;
    assert_eq!(
        error(&r),
        "backup/us/add must be called with the POST method"
    );
    let r = call(
        &t,
        "GET",
        &format!("/api/customers/delete.json?{AUTH}&customer-id=2"),
        "",
    )
    .await;
    assert!(error(&r).contains("POST"));
    assert!(t
        .core
        .orders()
        .search(&t.sys(), &Default::default())
        .await
        .unwrap()
        .is_empty());
    let post_read = post_ok(&t, "customers/details-by-id", "customer-id=2").await;
    assert_eq!(post_read["username"], "customer2");
}

/// Issues 10 and 12: order expiry and auto-renew follow the core's clock, moved through the
/// control API; nothing sleeps.
#[tokio::test]
async fn orders_expire_or_renew_on_the_clock() {
    let t = TestApp::demo().await;
    let hosting = hosting_order_of(&t, 2).await;
    let add = |auto: bool| {
        format!("storage-size-gb=10&customer-id=2&hosting-order-id={hosting}&months=1&plan-id=1001&auto-renew={auto}&invoice-option=NoInvoice")
    };
    let plain = post_ok(&t, "backup/us/add", &add(false)).await["entityid"]
        .as_str()
        .unwrap()
        .to_owned();
    let auto = post_ok(&t, "backup/us/add", &add(true)).await["entityid"]
        .as_str()
        .unwrap()
        .to_owned();
    let end_auto: i64 = get_ok(&t, "backup/us/details", &format!("backup-order-id={auto}")).await
        ["endtime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Five weeks on: the plain order is suspended upon expiry, the other renewed (paid from
    // the funds: 10 GB × 1 month × 0.100 = 1.00).
    // Moved as a test client moves it: through the control API.
    let moved = t
        .control(
            "POST",
            "/_panelgate/clock",
            r#"{"advance": 3024000}"#.to_owned(),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={plain}")).await;
    assert_eq!(d["currentstatus"], "Suspended");
    assert_eq!(d["isOrderSuspendedUponExpiry"], "true");
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={auto}")).await;
    assert_eq!(d["currentstatus"], "Active");
    assert_eq!(
        d["endtime"],
        panelgate_core::orders::add_months(end_auto, 1).to_string()
    );
    assert_eq!(funds(&t, 2).await, 99_000);
    // Renewing the expired order brings it back.
    post_ok(
        &t,
        "backup/us/renew",
        &format!("backup-order-id={plain}&months=3&invoice-option=NoInvoice"),
    )
    .await;
    let d = get_ok(&t, "backup/us/details", &format!("backup-order-id={plain}")).await;
    assert_eq!(d["currentstatus"], "Active", "{d}");
}

/// Issue 10: the order's customer backs up through Plesk within the order's storage; a backup
/// that would exceed it fails with a clear error, and a suspended order gives no storage.
#[tokio::test]
async fn order_storage_limits_backups_through_plesk() {
    use panelgate_core::backup_worker::Worker;
    let t = TestApp::demo_with(
        Default::default(),
        panelgate_core::Limits {
            // One "GB" of an order is 100 KB here, so that the test writes little.
            order_storage_unit_bytes: 100_000,
            ..Default::default()
        },
    )
    .await;
    let hosting = hosting_order_of(&t, 2).await;
    let order = post_ok(&t, "backup/us/add", &format!("storage-size-gb=1&customer-id=2&hosting-order-id={hosting}&months=12&plan-id=1001&invoice-option=NoInvoice")).await["entityid"].as_str().unwrap().to_owned();
    let home = t.core.home_dir("customer2").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("index.html"), b"<h1>small</h1>").unwrap();
    let login = panelgate_testkit::plesk_login("admin");
    let backup = || async {
        let r = t
            .plesk(&login, "<packet><backup-manager><backup-customer><customer-id>2</customer-id><local/><description>b</description></backup-customer></backup-manager></packet>")
            .await;
        assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
        Worker::new(t.core.clone()).run_until_idle().await.unwrap();
        t.plesk(&login, "<packet><backup-manager><get-tasks-info><customer-id>2</customer-id></get-tasks-info></backup-manager></packet>")
            .await
            .body
    };
    let first = backup().await;
    assert!(first.contains("<status>finished</status>"), "{first}");
    // 150 KB that do not compress: more than the order's 100 KB.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..150_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    std::fs::write(home.join("big.bin"), noise).unwrap();
    let last_error = || async {
        let tasks = t.core.backups().tasks(&t.sys()).await.unwrap();
        let last = tasks.iter().max_by_key(|task| task.id).unwrap().clone();
        (last.state, last.error)
    };
    let second = backup().await;
    assert!(second.contains("<status>failed</status>"), "{second}");
    let (state, error) = last_error().await;
    assert_eq!(state, panelgate_core::backups::TaskState::Failed);
    assert!(
        error.starts_with(
            "backup storage exceeded: the customer's backup orders give 1 GB (100000 bytes)"
        ),
        "{error}"
    );
    let archives = t.core.backups().archives(&t.sys()).await.unwrap();
    assert_eq!(
        archives.iter().filter(|a| a.customer_id == Some(2)).count(),
        1
    );
    // More storage, and the backup fits.
    post_ok(
        &t,
        "backup/us/add-storage",
        &format!("backup-order-id={order}&storage-size-gb=5&invoice-option=NoInvoice"),
    )
    .await;
    let third = backup().await;
    assert!(
        third.matches("<status>finished</status>").count() >= 2,
        "{third}"
    );
    // A suspended order gives none.
    post_ok(&t, "orders/suspend", &format!("order-id={order}")).await;
    let fourth = backup().await;
    assert!(fourth.contains("<status>failed</status>"), "{fourth}");
    let (_, error) = last_error().await;
    assert!(
        error.contains(&format!("backup order {order} is suspended")),
        "{error}"
    );
}

/// The text of the first `<tag>` in `xml`.
fn tag<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    &xml[start..end]
}

/// Issue 10: a customer signed up through httpapi.com is the same customer (login, name,
/// company, email, status) in Froxlor's `Customers.get`, Plesk's `customer/get` and
/// BILLmanager's `account` list; suspended through `customers/suspend`, it is suspended in all
/// three.
#[tokio::test]
async fn signup_and_suspend_are_seen_by_every_panel() {
    let t = TestApp::demo().await;
    let id = call(&t, "POST", "/api/customers/signup.json", &format!("{AUTH}&username=shared%40example.com&passwd=Secret%21234x&name=Shared+Person&company=Shared+Co&address-line-1=Street+1&city=Town&state=Not+Applicable&country=DE&zipcode=10115&phone-cc=49&phone=301234&lang-pref=en")).await;
    assert_eq!(id.status, 200, "{}", id.body);
    let id: i64 = id.body.trim().parse().unwrap();
    let plesk_login = panelgate_testkit::plesk_login("admin");

    for suspended in [false, true] {
        if suspended {
            let r = call(
                &t,
                "POST",
                "/api/customers/suspend.json",
                &format!("{AUTH}&customer-id={id}&reason=test"),
            )
            .await;
            assert_eq!(r.body.trim(), "true", "{}", r.body);
        }
        let d = call(
            &t,
            "GET",
            &format!("/api/customers/details-by-id.json?{AUTH}&customer-id={id}"),
            "",
        )
        .await
        .json();
        assert_eq!(
            d["customerstatus"],
            if suspended { "Suspended" } else { "Active" }
        );
        assert_eq!(
            (d["name"].as_str(), d["company"].as_str()),
            (Some("Shared Person"), Some("Shared Co"))
        );

        let f = t
            .froxlor(
                ADMIN_KEY,
                &format!(r#"{{"command":"Customers.get","params":{{"id":{id}}}}}"#),
            )
            .await
            .json();
        let f = &f["data"];
        assert_eq!(f["loginname"], "shared@example.com");
        assert_eq!(f["name"], "Shared Person");
        assert_eq!(f["company"], "Shared Co");
        assert_eq!(f["email"], "shared@example.com");
        assert_eq!(f["deactivated"], i64::from(suspended), "{f}");

        let p = t.plesk(&plesk_login, &format!("<packet><customer><get><filter><id>{id}</id></filter><dataset><gen_info/></dataset></get></customer></packet>")).await.body;
        assert_eq!(tag(&p, "login"), "shared@example.com", "{p}");
        assert_eq!(tag(&p, "pname"), "Shared Person");
        assert_eq!(tag(&p, "cname"), "Shared Co");
        assert_eq!(tag(&p, "email"), "shared@example.com");
        assert_eq!(tag(&p, "status"), "ok");
        let status = p
            .rsplit("<status>")
            .next()
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        assert_eq!(status, if suspended { "16" } else { "0" }, "{p}");

        let b = send_with(
            &t.app,
            "GET",
            "/billmgr?func=account&authinfo=admin:changeme1Q**&out=json",
            &[],
            String::new(),
        )
        .await
        .json();
        let rows = b["doc"]["elem"].as_array().unwrap().clone();
        let row = rows
            .iter()
            .find(|r| r["id"]["$"].as_str() == Some(id.to_string().as_str()))
            .unwrap_or_else(|| panic!("{b}"));
        assert_eq!(row["login"]["$"], "shared@example.com");
        assert_eq!(row["name"]["$"], "Shared Person");
        assert_eq!(row["email"]["$"], "shared@example.com");
        assert_eq!(
            row["status"]["$"],
            if suspended { "Suspended" } else { "Active" }
        );
    }
}

/// Issue 10 bad input: each answers HTTP 500 with the ERROR envelope and the right message,
/// and changes nothing.
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let t = TestApp::demo().await;
    // customer2's key is limited to one address: the reseller's httpapi.com credential with an
    // allow-list.
    t.core
        .credentials()
        .create(
            &t.sys(),
            panelgate_core::NewCredential {
                kind: panelgate_core::CredentialKind::Httpapi,
                public_key: "3".into(),
                secret: "listed-only-key".into(),
                admin_id: Some(2),
                customer_id: None,
                allowed_from: "192.0.2.10".into(),
                valid_until: -1,
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let fingerprint = || async {
        format!(
            "{:?}{:?}",
            t.core.customers().list(&t.sys()).await.unwrap(),
            t.core
                .orders()
                .search(&t.sys(), &Default::default())
                .await
                .unwrap()
        )
    };
    let before = fingerprint().await;
    let hosting = hosting_order_of(&t, 2).await;
    let order = format!("storage-size-gb=5&customer-id=2&hosting-order-id={hosting}&months=1&plan-id=1001&invoice-option=NoInvoice");
    let cases: Vec<(String, String, &str)> = vec![
        (
            "/api/customers/delete.json".into(),
            "api-key=demo-httpapi-key&customer-id=2".into(),
            "Required parameter missing: auth-userid",
        ),
        (
            "/api/customers/delete.json".into(),
            "auth-userid=2&api-key=wrong&customer-id=2".into(),
            "Authentication failed. Invalid auth-userid or api-key.",
        ),
        (
            "/api/customers/delete.json".into(),
            "auth-userid=2&customer-id=2".into(),
            "Required parameter missing: api-key",
        ),
        (
            "/api/customers/delete.json".into(),
            "auth-userid=abc&api-key=demo-httpapi-key&customer-id=2".into(),
            "Invalid auth-userid: abc",
        ),
        // The allow-listed key from another address (the test router's peer is 127.0.0.1).
        (
            "/api/customers/delete.json".into(),
            "auth-userid=3&api-key=listed-only-key&customer-id=2".into(),
            "Authentication failed. Invalid auth-userid or api-key.",
        ),
        (
            "/api/customers/delete.json".into(),
            format!("{AUTH}&customer-id=1"),
            "Invalid customer-id: 1",
        ),
        (
            "/api/customers/delete.json".into(),
            format!("{AUTH}&customer-id=two"),
            "Invalid customer-id: two",
        ),
        (
            "/api/customers/search.json".into(),
            format!("{AUTH}&no-of-records=0&page-no=1"),
            "{no-of-records=no-of-records should be between 10 and 500, not 0}",
        ),
        (
            "/api/backup/us/add.json".into(),
            format!("{AUTH}&{order}").replace("customer-id=2", "customer-id=1"),
            "Invalid customer-id: 1",
        ),
        (
            "/api/backup/us/add.json".into(),
            format!("{AUTH}&{order}").replace("months=1", "months=x"),
            "Invalid months: x",
        ),
        (
            "/api/backup/us/add.json".into(),
            format!("{AUTH}&{order}").replace("months=1", "months=121"),
            "{months=months must be between 1 and 120}",
        ),
        (
            "/api/backup/us/add.json".into(),
            format!("{AUTH}&{order}").replace("storage-size-gb=5", "storage-size-gb=0"),
            "{storage-size-gb=storage-size-gb must be between 1 and 1000000}",
        ),
        (
            "/api/backup/us/add.json".into(),
            format!("{AUTH}&{order}&discount-amount=99"),
            "{discount-amount=discount-amount must be between 0 and the order's price}",
        ),
        (
            "/api/backup/us/details.json".into(),
            format!("{AUTH}&backup-order-id=424242"),
            "No Entity found for Entityid 424242",
        ),
        (
            "/api/customers/delete.json".into(),
            format!("{AUTH}&customer-id=%zz"),
            "Invalid parameter encoding",
        ),
    ];
    for (path, body, message) in &cases {
        let r = call(&t, "POST", path, body).await;
        assert_eq!(error(&r), *message, "{path} {body}");
    }
    // Invalid percent-encoding in the query string too.
    let r = call(
        &t,
        "GET",
        &format!("/api/customers/details.json?{AUTH}&username=%E"),
        "",
    )
    .await;
    assert_eq!(error(&r), "Invalid parameter encoding");
    // A 10 MB body (over the 8 MiB default body limit).
    let huge = format!("{AUTH}&customer-id=2&pad={}", "a".repeat(10 * 1024 * 1024));
    let r = call(&t, "POST", "/api/customers/delete.json", &huge).await;
    assert_eq!(error(&r), "Request body too large");
    // The XML form of an error.
    let r = call(
        &t,
        "GET",
        "/api/customers/details.xml?auth-userid=2&api-key=wrong&username=x",
        "",
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(
        r.body
            .contains("<string>status</string>\n    <string>ERROR</string>"),
        "{}",
        r.body
    );
    assert_eq!(before, fingerprint().await, "nothing changed");
}

/// The legacy `auth-password` (the reseller's panel password) is accepted; failed logins are
/// limited like the other panels' (30 per address and login per minute by default).
#[tokio::test]
async fn legacy_password_and_failed_login_limit() {
    let t = TestApp::demo().await;
    let ok = call(
        &t,
        "GET",
        "/api/resellers/details.json?auth-userid=2&auth-password=changeme1Q**",
        "",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["resellerid"], "2");
    let wrong = call(
        &t,
        "GET",
        "/api/resellers/details.json?auth-userid=2&auth-password=wrong",
        "",
    )
    .await;
    assert!(error(&wrong).starts_with("Authentication failed"));
    let unknown = call(
        &t,
        "GET",
        "/api/resellers/details.json?auth-userid=99&auth-password=changeme1Q**",
        "",
    )
    .await;
    assert!(error(&unknown).starts_with("Authentication failed"));
    for _ in 0..30 {
        let r = call(
            &t,
            "GET",
            "/api/resellers/details.json?auth-userid=2&api-key=wrong",
            "",
        )
        .await;
        assert!(error(&r).starts_with("Authentication failed"));
    }
    let limited = call(
        &t,
        "GET",
        "/api/resellers/details.json?auth-userid=2&api-key=demo-httpapi-key",
        "",
    )
    .await;
    assert_eq!(
        error(&limited),
        "Too many failed login attempts. Please try again later."
    );
}

/// Arbitrary paths and parameters through the decoder and the router: an answer, never a panic.
#[tokio::test]
async fn arbitrary_requests_get_an_httpapi_answer() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        "(customers|backup/(us|asia|xx)|orders|actions|products|resellers)/[a-z2/-]{0,20}",
        "[a-z=&%0-9A-F.,+-]{0,80}",
    );
    for _ in 0..2000 {
        let (path, query) = strategy.new_tree(&mut runner).unwrap().current();
        let params = panelgate_http::Params::from_query(Some(&query));
        if let Ok(call) = panelgate_httpapi::call::Call::decode(&path, &params) {
            let _ = call.is_write();
        }
    }
    let t = TestApp::demo().await;
    for _ in 0..300 {
        let (path, query) = strategy.new_tree(&mut runner).unwrap().current();
        let r = call(
            &t,
            "POST",
            &format!("/api/{path}.json"),
            &format!("{AUTH}&{query}"),
        )
        .await;
        assert!(
            r.status == 200 || r.status == 500,
            "{path}?{query}: {}",
            r.status
        );
        let _: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{path}?{query}: {e}: {}", r.body));
    }
}
