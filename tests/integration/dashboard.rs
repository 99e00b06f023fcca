//! Issue 13: the dashboard under `/_panelgate/ui`, through the router as a browser on loopback
//! reaches it (the browser test in `crates/panelgate-server/tests/browser.rs` drives it in a
//! real Chromium).

use panelgate_server::AppOptions;
use panelgate_testkit::{send_with, TestApp, TestResponse};

/// Headers a browser sends with a same-origin form post.
const FORM: [(&str, &str); 2] = [
    ("content-type", "application/x-www-form-urlencoded"),
    ("sec-fetch-site", "same-origin"),
];

async fn page(t: &TestApp, target: &str) -> TestResponse {
    let r = send_with(&t.app, "GET", target, &[("sec-fetch-site", "none")], "").await;
    assert_eq!(r.status, 200, "{target}: {}", r.body);
    r
}

async fn post(t: &TestApp, action: &str, form: &str) -> String {
    let r = send_with(
        &t.app,
        "POST",
        &format!("/_panelgate/ui/do/{action}"),
        &FORM,
        form.to_owned(),
    )
    .await;
    assert_eq!(r.status, 303, "{action}: {}", r.body);
    r.headers["location"].to_str().unwrap().to_owned()
}

async fn plesk_add(t: &TestApp, login: &str, name: &str) -> i64 {
    let packet = format!(
        "<packet><customer><add><gen_info><pname>{name}</pname><login>{login}</login><passwd>Sup3r-S3cret!</passwd><email>{login}@example.com</email></gen_info></add></customer></packet>"
    );
    let r = t
        .plesk(&panelgate_testkit::plesk_login("admin"), &packet)
        .await;
    assert!(r.body.contains("<status>ok</status>"), "{}", r.body);
    let id = r
        .body
        .split("<id>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    id.parse().unwrap()
}

/// Every page renders as one HTML document with its navigation, landmarks and only
/// panelgate's own assets.
#[tokio::test]
async fn every_page_renders_with_its_own_assets() {
    let t = TestApp::demo().await;
    for path in [
        "",
        "/customers",
        "/backups",
        "/journal",
        "/faults",
        "/snapshots",
    ] {
        let r = page(&t, &format!("/_panelgate/ui{path}")).await;
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let body = &r.body;
        assert!(
            body.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{path}"
        );
        assert!(body.contains("<main id=\"main\">") && body.contains("<nav aria-label=\"Main\">"));
        assert!(body.contains("aria-current=\"page\""), "{path}");
        for src in body
            .split(" src=\"")
            .skip(1)
            .chain(body.split(" href=\"").skip(1))
        {
            let url = src.split('"').next().unwrap();
            assert!(
                url.starts_with('/') || url.starts_with('#') || url.starts_with("data:"),
                "{path}: {url} leaves panelgate"
            );
        }
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
    }
    let css = page(&t, "/_panelgate/ui/app.css").await;
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let js = page(&t, "/_panelgate/ui/app.js").await;
    assert!(js.body.contains("data-live"));
    let overview = page(&t, "/_panelgate/ui").await.body;
    // The demo data: two resellers' worth of customers, the curl line of each panel.
    assert!(overview.contains("<dt>Customers</dt>") || overview.contains(">Customers</a></dt>"));
    for panel in [
        "api.php",
        "agent.php",
        "/billmgr?",
        "/api/customers/search.json",
    ] {
        assert!(overview.contains(panel), "{panel} curl line");
    }
    let missing = send_with(&t.app, "GET", "/_panelgate/ui/nothing", &[], "").await;
    assert_eq!(missing.status, 404);
}

/// A customer created through Plesk is on the customers page (found by search, marked as
/// created through Plesk) and its page shows the four panels' renderings of it.
#[tokio::test]
async fn a_plesk_customer_shows_in_four_renderings() {
    let t = TestApp::demo().await;
    let id = plesk_add(&t, "uiplesk", "Ui Plesk").await;
    let list = page(&t, "/_panelgate/ui/customers?q=UIPLESK").await.body;
    assert!(
        list.contains(&format!("/_panelgate/ui/customers/{id}\">uiplesk</a>")),
        "{list}"
    );
    assert!(list.contains("<td>Plesk</td>"), "{list}");
    assert!(list.contains("1 customers match"), "{list}");
    let other = page(&t, "/_panelgate/ui/customers?q=nobody-has-this")
        .await
        .body;
    assert!(other.contains("0 customers match"));
    let detail = page(&t, &format!("/_panelgate/ui/customers/{id}"))
        .await
        .body;
    for panel in ["froxlor", "plesk", "ispsystem", "httpapi"] {
        assert!(
            detail.contains(&format!("data-panel=\"{panel}\"")),
            "{panel}"
        );
    }
    // Froxlor JSON, the Plesk packet, the ISPsystem document, the httpapi.com details.
    assert!(
        detail.contains("&quot;loginname&quot;: &quot;uiplesk&quot;"),
        "{detail}"
    );
    assert!(
        detail.contains("&lt;login&gt;uiplesk&lt;/login&gt;"),
        "{detail}"
    );
    assert!(
        detail.contains("func=&quot;account&quot; binary=&quot;/billmgr&quot;&gt;"),
        "{detail}"
    );
    assert!(
        detail.contains("&quot;useremail&quot;: &quot;uiplesk@example.com&quot;"),
        "{detail}"
    );
    // Its journal: the Plesk request, the password redacted.
    assert!(detail.contains("customer/add"), "{detail}");
    assert!(!detail.contains("Sup3r-S3cret!"), "a password on the page");
    let missing = send_with(&t.app, "GET", "/_panelgate/ui/customers/999999", &[], "").await;
    assert_eq!(missing.status, 404);
}

/// Text from requests is escaped wherever a page shows it.
#[tokio::test]
async fn request_text_is_escaped() {
    let t = TestApp::demo().await;
    let id = plesk_add(&t, "uixss", "&lt;script&gt;alert(1)&lt;/script&gt;").await;
    for path in [
        format!("/_panelgate/ui/customers/{id}"),
        "/_panelgate/ui/customers?q=uixss".into(),
        "/_panelgate/ui/journal".into(),
        "/_panelgate/ui?done=%3Cscript%3Ealert(2)%3C/script%3E".into(),
    ] {
        let body = page(&t, &path).await.body;
        assert!(!body.contains("<script>alert"), "{path}: {body}");
    }
}

/// The actions: a fault rule added from the page fails the next call in the panel's shape; a
/// backup starts; a reset brings the demo data back. Each answers 303 back to its page.
#[tokio::test]
async fn actions_change_the_server_and_come_back() {
    let t = TestApp::demo().await;
    let back = post(
        &t,
        "add-fault",
        "back=%2F_panelgate%2Fui%2Ffaults&protocol=plesk&call=customer%2Fadd&effect=error&times=1&code=1013&message=From+the+page",
    )
    .await;
    assert!(
        back.starts_with("/_panelgate/ui/faults?done=fault+rule+"),
        "{back}"
    );
    let faults = page(&t, "/_panelgate/ui/faults").await.body;
    assert!(faults.contains("<code>customer/add</code>"), "{faults}");
    let r = t
        .plesk(
            &panelgate_testkit::plesk_login("admin"),
            "<packet><customer><add><gen_info><pname>F</pname><login>uifault</login><passwd>Faulty-Pass1</passwd></gen_info></add></customer></packet>",
        )
        .await;
    assert!(
        r.body.contains("<errcode>1013</errcode>") && r.body.contains("From the page"),
        "{}",
        r.body
    );
    let id = plesk_add(&t, "uiafter", "After").await;

    let back = post(
        &t,
        "backup",
        &format!("back=%2F_panelgate%2Fui%2Fbackups&scope=customer%3A{id}"),
    )
    .await;
    assert!(back.contains("done=backup+task+"), "{back}");
    let rows = page(&t, "/_panelgate/ui/backups/tasks").await.body;
    assert!(rows.contains(&format!("<td>customer:{id}</td>")), "{rows}");
    let bad = post(&t, "backup", "scope=nowhere").await;
    assert!(bad.starts_with("/_panelgate/ui?failed=scope"), "{bad}");

    let back = post(&t, "clock", "back=%2F_panelgate%2Fui%2Ffaults&advance=3660").await;
    assert!(back.contains("done=clock+advanced"), "{back}");

    let back = post(&t, "reset", "back=%2F_panelgate%2Fui%2Fsnapshots").await;
    assert!(
        back.starts_with("/_panelgate/ui/snapshots?done=store+reset"),
        "{back}"
    );
    let list = page(&t, "/_panelgate/ui/customers?q=uiafter").await.body;
    assert!(list.contains("0 customers match"), "{list}");
    let demo = page(&t, "/_panelgate/ui/customers?q=customer1").await.body;
    assert!(demo.contains(">customer1</a>"), "{demo}");

    // An action never sends the browser outside the dashboard.
    let away = post(&t, "clear-faults", "back=https%3A%2F%2Fevil.example%2F").await;
    assert!(away.starts_with("/_panelgate/ui?done="), "{away}");
    let unknown = post(&t, "explode", "").await;
    assert!(unknown.contains("failed=no+such+action"), "{unknown}");
}

/// A page on another site cannot drive the control API or the dashboard through a browser:
/// cross-site writes are refused and change nothing; reads and same-origin writes work.
#[tokio::test]
async fn cross_site_writes_are_refused() {
    let t = TestApp::demo().await;
    let id = plesk_add(&t, "uicsrf", "Csrf").await;
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080"),
        ],
        vec![("origin", "null"), ("host", "127.0.0.1:8080")],
    ] {
        for target in ["/_panelgate/ui/do/reset", "/_panelgate/reset"] {
            let r = send_with(&t.app, "POST", target, &headers, "").await;
            assert_eq!(r.status, 403, "{target} {headers:?}");
        }
    }
    let detail = page(&t, &format!("/_panelgate/ui/customers/{id}")).await;
    assert!(detail.body.contains("uicsrf"));
    let same = send_with(
        &t.app,
        "POST",
        "/_panelgate/reset",
        &[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ],
        "",
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.body);
}

/// With a control token the dashboard sends a browser to its login page; the token given
/// there is kept in an HttpOnly cookie that opens the dashboard and the control API.
#[tokio::test]
async fn a_control_token_is_asked_for_once() {
    let t = TestApp::demo_with(
        AppOptions {
            control_token: Some("tok en/1".into()),
            ..AppOptions::default()
        },
        Default::default(),
    )
    .await;
    let r = send_with(&t.app, "GET", "/_panelgate/ui/customers", &[], "").await;
    assert_eq!(r.status, 303);
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/_panelgate/ui/login"));
    let login = send_with(&t.app, "GET", "/_panelgate/ui/login", &[], "").await;
    assert!(
        login.body.contains("<label for=\"token\">"),
        "{}",
        login.body
    );
    let wrong = send_with(&t.app, "POST", "/_panelgate/ui/login", &FORM, "token=nope").await;
    assert!(wrong.headers.get("set-cookie").is_none());
    assert!(wrong.headers["location"]
        .to_str()
        .unwrap()
        .contains("failed="));
    let right = send_with(
        &t.app,
        "POST",
        "/_panelgate/ui/login",
        &FORM,
        "token=tok+en%2F1",
    )
    .await;
    let cookie = right.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    for target in ["/_panelgate/ui/customers", "/_panelgate/tasks"] {
        let r = send_with(&t.app, "GET", target, &[("cookie", pair)], "").await;
        assert_eq!(r.status, 200, "{target}");
    }
    let forged = send_with(
        &t.app,
        "GET",
        "/_panelgate/tasks",
        &[("cookie", "panelgate_token=tok")],
        "",
    )
    .await;
    assert_eq!(forged.status, 403);
    // The JSON control API still refuses a client without the token.
    let r = send_with(&t.app, "GET", "/_panelgate/tasks", &[], "").await;
    assert_eq!(r.status, 403);
}
