//! The Plesk XML API (issue 4, first part): auth and system errors, customers shared with
//! Froxlor, resellers, secret keys, bad input. Every answer is checked with xmllint against
//! Plesk's 1.6.9.1 output schema in ../shared/plesk-xsd (CI installs xmllint; elsewhere the
//! schema check is skipped with a printed reason).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use panelgate_testkit::{TestApp, ADMIN_KEY};

use crate::captures;

const AGENT: &str = "/enterprise/control/agent.php";

type Headers<'a> = &'a [(&'a str, &'a str)];

struct Answer {
    status: u16,
    body: String,
}

async fn plesk(t: &TestApp, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
    let mut req = http::Request::post(AGENT)
        .header("content-type", "text/xml")
        .header("HTTP_PRETTY_PRINT", "TRUE");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = t
        .app
        .handle_http(
            req.body(Full::new(body.into())).unwrap(),
            "127.0.0.1:9".parse().unwrap(),
        )
        .await;
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()["content-type"],
        "text/xml;charset=UTF-8",
        "not an XML answer"
    );
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    validate(&body);
    Answer { status, body }
}

async fn plesk_raw(
    app: &panelgate_server::App,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, Vec<u8>) {
    let mut req = http::Request::post(AGENT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .handle_http(
            req.body(Full::new(Bytes::from(body.to_owned()))).unwrap(),
            "127.0.0.1:9".parse().unwrap(),
        )
        .await;
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    (
        ct,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

const ADMIN: &[(&str, &str)] = &[
    ("HTTP_AUTH_LOGIN", "admin"),
    ("HTTP_AUTH_PASSWD", "changeme1Q**"),
];

/// xmllint against agent_output.xsd: 1.6.9.1, or for `backup-manager` the 2014 set (the newest
/// with backup.xsd). The two server-wide-settings operations are newer than any XSD available
/// (1.6.8/1.6.9), and a download answers with the archive itself: those are not checked.
pub(crate) fn validate(body: &str) {
    if !body.starts_with("<?xml") || body.contains("server-wide-settings>") {
        return;
    }
    let set = if body.contains("<backup-manager>") {
        "legacy-2014-with-backup"
    } else {
        "1.6.9.1"
    };
    let Some(shared) = captures::shared_dir() else {
        return;
    };
    let which = std::process::Command::new("xmllint")
        .arg("--version")
        .output();
    if which.is_err() {
        if std::env::var_os("PANELGATE_REQUIRE_SHARED").is_some() {
            panic!("xmllint is missing (apt-get install libxml2-utils)");
        }
        eprintln!("skipped schema check: xmllint is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("answer.xml");
    std::fs::write(&file, body).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(shared.join(format!("plesk-xsd/{set}/agent_output.xsd")))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "answer does not validate:\n{}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text_of<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    body.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &body[i + open.len()..];
            rest.find(&close).map(|end| &rest[..end])
        })
        .collect()
}

// Source: protocols/plesk.md §1 (system error catalogue, golden example 7).
#[tokio::test]
async fn system_errors_have_plesks_codes_and_texts() {
    let t = TestApp::demo().await;
    let protos = "<packet><server><get_protos/></server></packet>";
    type Case<'a> = (Vec<(&'a str, &'a str)>, String, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], protos.into(), "1029", "Authentication method is not specified"),
        (vec![("HTTP_AUTH_LOGIN", "admin")], protos.into(), "1029", "Authentication method is not specified"),
        (vec![("HTTP_AUTH_LOGIN", "admin"), ("HTTP_AUTH_PASSWD", "wrong")], protos.into(), "1001", "Authentication failed - wrong password."),
        (vec![("KEY", "bad-key")], protos.into(), "11003", "PleskAPIInvalidSecretKeyException : Invalid secret key usage. Please check logs for details."),
        (ADMIN.to_vec(), "<packet version=\"100.0.0\"><server><get_protos/></server></packet>".into(), "1005", "XML API protocol version not supported."),
        (ADMIN.to_vec(), "<?xml version=\"1.0\"?>\n<packet>\n<client><get/></client></packet>".into(), "1014", "Parser error: Request is invalid. Error in line 3: Element 'client': This element is not expected. Expected is one of ( request-settings, server, customer, webspace, subdomain, dns, db_server, mail, certificate, site-alias )."),
        (ADMIN.to_vec(), "<packet><wrongly formatted xml</packet>".into(), "1014", "Parser error: Request is invalid. Error in line 1"),
    ];
    for (headers, body, code, text) in cases {
        let a = plesk(&t, &headers, body.clone()).await;
        assert_eq!(a.status, 200);
        assert_eq!(text_of(&a.body, "errcode"), [code], "{body}: {}", a.body);
        assert!(
            text_of(&a.body, "errtext")[0].starts_with(text),
            "{body}: {}",
            a.body
        );
        assert!(a.body.contains("<system>"), "{}", a.body);
    }
    // Header names are matched case-insensitively (Go and Python 2 clients reshape them).
    let a = plesk(
        &t,
        &[
            ("Http_auth_login", "admin"),
            ("Http_auth_passwd", "changeme1Q**"),
        ],
        protos,
    )
    .await;
    assert_eq!(text_of(&a.body, "status"), ["ok"]);
    for (v, echoed) in [("1.6", "1.6"), ("1.6.5", "1.6.5"), ("1.6.7.0", "1.6.7.0")] {
        let a = plesk(
            &t,
            ADMIN,
            format!("<packet version=\"{v}\"><server><get_protos/></server></packet>"),
        )
        .await;
        assert!(
            a.body.contains(&format!("<packet version=\"{echoed}\">")),
            "{}",
            a.body
        );
        assert_eq!(text_of(&a.body, "status"), ["ok"]);
    }
}

// Issue 4 acceptance: a customer added through Plesk is returned by Froxlor's Customers.get
// with the same login, names, email and status, and the reverse.
#[tokio::test]
async fn customers_are_shared_with_froxlor() {
    let t = TestApp::demo().await;
    let add = plesk(&t, ADMIN, "<packet><customer><add><gen_info><cname>Plesk</cname><pname>John Smith</pname><login>john-unit-test</login><passwd>test-&amp;PWD*1@42!13#</passwd><email>john@smith.com</email><external-id>link:12345</external-id><description>Good guy</description></gen_info></add></customer></packet>").await;
    let id: i64 = text_of(&add.body, "id")[0].parse().unwrap();
    assert_eq!(text_of(&add.body, "guid")[0].len(), 36);
    let f = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"john-unit-test"}}"#,
        )
        .await
        .json();
    assert_eq!(f["data"]["customerid"], id);
    assert_eq!(f["data"]["loginname"], "john-unit-test");
    assert_eq!(
        (f["data"]["firstname"].as_str(), f["data"]["name"].as_str()),
        (Some("John"), Some("Smith"))
    );
    assert_eq!(f["data"]["company"], "Plesk");
    assert_eq!(f["data"]["email"], "john@smith.com");
    assert_eq!(f["data"]["deactivated"], 0);
    assert!(t
        .core
        .auth()
        .password("john-unit-test", "test-&PWD*1@42!13#", None)
        .await
        .unwrap()
        .is_ok());

    plesk(&t, ADMIN, format!("<packet><customer><set><filter><id>{id}</id></filter><values><gen_info><status>16</status></gen_info></values></set></customer></packet>")).await;
    let f = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"john-unit-test"}}"#,
        )
        .await
        .json();
    assert_eq!(f["data"]["deactivated"], 1);

    let r = t.froxlor(ADMIN_KEY, r#"{"command":"Customers.add","params":{"email":"jane@example.com","name":"Doe","firstname":"Jane","new_loginname":"jdoe"}}"#).await;
    assert_eq!(r.status, 200);
    let g = plesk(&t, ADMIN, "<packet><customer><get><filter><login>jdoe</login><login>nobody</login></filter><dataset><gen_info/><stat/></dataset></get></customer></packet>").await;
    assert_eq!(text_of(&g.body, "pname"), ["Jane Doe"]);
    assert_eq!(text_of(&g.body, "email"), ["jane@example.com"]);
    assert_eq!(text_of(&g.body, "status"), ["ok", "0", "error"]);
    assert_eq!(text_of(&g.body, "filter-id"), ["jdoe", "nobody"]);
    assert_eq!(text_of(&g.body, "errcode"), ["1013"]);

    let d = plesk(
        &t,
        ADMIN,
        "<packet><customer><del><filter><login>jdoe</login></filter></del></customer></packet>",
    )
    .await;
    assert_eq!(text_of(&d.body, "status"), ["ok"]);
    let gone = t
        .froxlor(
            ADMIN_KEY,
            r#"{"command":"Customers.get","params":{"loginname":"jdoe"}}"#,
        )
        .await;
    assert_eq!(gone.status, 404);
}

// Source: protocols/plesk.md §2 (one operator element per request operator, in order) and §3.
#[tokio::test]
async fn resellers_secret_keys_and_mirrored_packets() {
    let t = TestApp::demo().await;
    let a = plesk(&t, ADMIN, "<packet><server><get_protos/></server><server><get><gen_info/><key/></get></server><reseller><get><filter/><dataset><gen-info/><permissions/><limits/></dataset></get></reseller></packet>").await;
    assert_eq!(a.body.matches("<server>").count(), 2);
    assert_eq!(text_of(&a.body, "server_guid")[0].len(), 36);
    assert_eq!(
        text_of(&a.body, "login"),
        ["reseller1"],
        "only resellers, not the server owner"
    );
    let add = plesk(&t, ADMIN, "<packet><reseller><add><gen-info><pname>John Reseller</pname><login>reseller-a</login><passwd>Secret123x</passwd></gen-info></add></reseller></packet>").await;
    let id = text_of(&add.body, "id")[0].to_owned();
    let f = t
        .froxlor(
            ADMIN_KEY,
            &format!(r#"{{"command":"Admins.get","params":{{"id":{id}}}}}"#),
        )
        .await
        .json();
    assert_eq!(f["data"]["loginname"], "reseller-a");
    assert_eq!(f["data"]["customers_see_all"], 0);
    let del = plesk(&t, ADMIN, "<packet><reseller><del><filter><login>reseller-a</login></filter></del></reseller></packet>").await;
    assert_eq!(text_of(&del.body, "status"), ["ok"]);
    let busy = plesk(&t, ADMIN, "<packet><reseller><del><filter><login>reseller1</login></filter></del></reseller></packet>").await;
    assert_eq!(
        text_of(&busy.body, "errcode"),
        ["1023"],
        "a reseller with customers is kept"
    );

    let key = plesk(
        &t,
        ADMIN,
        "<packet><secret_key><create><description>ci</description></create></secret_key></packet>",
    )
    .await;
    let secret = text_of(&key.body, "key")[0].to_owned();
    let with_key = plesk(
        &t,
        &[("KEY", &secret)],
        "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>",
    )
    .await;
    assert_eq!(text_of(&with_key.body, "login"), ["customer1", "customer2"]);
    let info = plesk(&t, ADMIN, format!("<packet><secret_key><get_info><filter><key>{secret}</key></filter></get_info></secret_key></packet>")).await;
    assert_eq!(text_of(&info.body, "description"), ["ci"]);
    let all = plesk(
        &t,
        ADMIN,
        "<packet><secret_key><get_info><filter/></get_info></secret_key></packet>",
    )
    .await;
    assert_eq!(
        all.body.matches("<key_info>").count(),
        2,
        "the demo key and the new one: {}",
        all.body
    );
    assert!(!all.body.contains(&secret), "a listing never shows a key");
    let del = plesk(&t, ADMIN, format!("<packet><secret_key><delete><filter><key>{secret}</key></filter></delete></secret_key></packet>")).await;
    assert_eq!(text_of(&del.body, "status"), ["ok"]);
    let refused = plesk(
        &t,
        &[("KEY", &secret)],
        "<packet><server><get_protos/></server></packet>",
    )
    .await;
    assert_eq!(text_of(&refused.body, "errcode"), ["11003"]);
    let demo = plesk(
        &t,
        &[("KEY", "demo-plesk-secret-key")],
        "<packet><server><get_protos/></server></packet>",
    )
    .await;
    assert_eq!(
        text_of(&demo.body, "status"),
        ["ok"],
        "the demo secret key works"
    );

    // A reseller sees its own customers; a customer itself only, and may not add customers.
    let reseller = [
        ("HTTP_AUTH_LOGIN", "reseller1"),
        ("HTTP_AUTH_PASSWD", "changeme1Q**"),
    ];
    let r = plesk(
        &t,
        &reseller,
        "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>",
    )
    .await;
    assert_eq!(text_of(&r.body, "login"), ["customer2"]);
    let r = plesk(&t, &reseller, "<packet><customer><get><filter><login>customer1</login></filter><dataset><gen_info/></dataset></get></customer></packet>").await;
    assert_eq!(text_of(&r.body, "errcode"), ["1013"]);
    let customer = [
        ("HTTP_AUTH_LOGIN", "customer1"),
        ("HTTP_AUTH_PASSWD", "changeme1Q**"),
    ];
    let r = plesk(
        &t,
        &customer,
        "<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>",
    )
    .await;
    assert_eq!(text_of(&r.body, "login"), ["customer1"]);
    let r = plesk(&t, &customer, "<packet><customer><add><gen_info><pname>X</pname><login>xx</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>").await;
    assert_eq!(text_of(&r.body, "errcode"), ["1006"]);
}

async fn fingerprint(t: &TestApp) -> String {
    let customers = t.core.customers().list(&t.sys()).await.unwrap();
    let admins = t.core.admins().list(&t.sys()).await.unwrap();
    format!("{customers:?}{admins:?}")
}

// Issue 4 acceptance, bad input: each answers a `<system>` error quickly and changes nothing.
#[tokio::test]
async fn hostile_packets_get_system_errors_and_change_nothing() {
    let t = TestApp::demo().await;
    plesk(&t, ADMIN, "<packet><server><get_protos/></server></packet>").await; // warm the credential cache
    let before = fingerprint(&t).await;
    let add = "<packet><customer><add><gen_info><pname>Evil</pname><login>evil</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>";
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]><packet><customer><add><gen_info><pname>&lol9;</pname></gen_info></add></customer></packet>",
        (1..10).map(|i| format!("<!ENTITY lol{i} \"{}\">", format!("&lol{};", i - 1).repeat(10))).collect::<String>()
    );
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE packet [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><packet><customer><add><gen_info><pname>&xxe;</pname><login>xxe</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>";
    let nested = format!(
        "<packet>{}{}</packet>",
        "<customer>".repeat(10_000),
        "</customer>".repeat(10_000)
    );
    let mut big = b"<packet><customer><add><gen_info><pname>".to_vec();
    big.resize(10 * 1024 * 1024, b'x');
    big.extend_from_slice(b"</pname></gen_info></add></customer></packet>");
    let mut bad_utf8 = b"<packet><customer><add><gen_info><pname>".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bad_utf8.extend_from_slice(
        b"</pname><login>u</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>",
    );
    let cases: Vec<(Headers, Vec<u8>, &str)> = vec![
        (ADMIN, add.as_bytes()[..add.len() / 2].to_vec(), "1014"),
        (ADMIN, big, "1014"),
        (ADMIN, nested.into_bytes(), "1014"),
        (ADMIN, bomb.into_bytes(), "1014"),
        (ADMIN, xxe.as_bytes().to_vec(), "1014"),
        (ADMIN, bad_utf8, "1014"),
        (
            &[("HTTP_AUTH_LOGIN", "admin"), ("HTTP_AUTH_PASSWD", "wrong")],
            add.as_bytes().to_vec(),
            "1001",
        ),
    ];
    for (headers, body, code) in cases {
        let started = Instant::now();
        let a = plesk(&t, headers, body).await;
        let took = started.elapsed();
        assert!(a.body.contains("<system>"), "{}", a.body);
        assert_eq!(text_of(&a.body, "errcode"), [code], "{}", a.body);
        println!("{code} answered in {:.1} ms", took.as_secs_f64() * 1000.0);
    }
    assert_eq!(fingerprint(&t).await, before);
}

// Issue 4 acceptance: a `backup-customer` task started through Plesk reaches `finished` in
// `get-tasks-info`, its file shows in `get-local-backup-list`, `download-file` returns bytes whose
// SHA-256 matches the archive, and `remove-file` deletes it. Golden example 8 shapes.
#[tokio::test]
async fn backup_manager_runs_real_backups() {
    use panelgate_core::backup_worker::Worker;
    use sha2::{Digest, Sha256};
    let t = TestApp::demo().await;
    let home = t.core.home_dir("customer1").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("index.html"), b"<h1>plesk</h1>").unwrap();
    let bm = |inner: &str| format!("<packet><backup-manager>{inner}</backup-manager></packet>");

    let started = plesk(&t, ADMIN, bm("<backup-customer><customer-id>1</customer-id><local/><prefix>weekly</prefix><description>Standard weekly backup</description></backup-customer>")).await;
    let task = text_of(&started.body, "task-id")[0].to_owned();
    let info = plesk(
        &t,
        ADMIN,
        bm(&format!(
            "<get-tasks-info><task-id>{task}</task-id></get-tasks-info>"
        )),
    )
    .await;
    assert_eq!(
        text_of(&info.body, "status"),
        ["ok", "working"],
        "queued shows as working: {}",
        info.body
    );
    assert_eq!(
        Worker::new(t.core.clone()).run_until_idle().await.unwrap(),
        1
    );
    let info = plesk(
        &t,
        ADMIN,
        bm("<get-tasks-info><customer-id>1</customer-id></get-tasks-info>"),
    )
    .await;
    assert_eq!(
        text_of(&info.body, "status"),
        ["ok", "finished"],
        "{}",
        info.body
    );
    let filename = text_of(&info.body, "filename")[0].to_owned();
    assert!(
        filename.starts_with("weekly_customer_customer1_"),
        "{filename}"
    );
    assert_eq!(text_of(&info.body, "protocol"), ["local"]);

    let list = plesk(&t, ADMIN, bm("<get-local-backup-list><customer-login>customer1</customer-login></get-local-backup-list>")).await;
    assert_eq!(text_of(&list.body, "name"), [filename.as_str()]);
    assert_eq!(
        text_of(&list.body, "description"),
        ["Standard weekly backup"]
    );

    let archive = t.core.backups().archives(&t.sys()).await.unwrap().remove(0);
    let (ct, bytes) = plesk_raw(&t.app, ADMIN, &bm(&format!("<download-file><customer-id>1</customer-id><filename>{filename}</filename></download-file>"))).await;
    assert_eq!(ct, "application/octet-stream");
    assert_eq!(bytes.len() as i64, archive.size);
    let sum: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sum, archive.sha256);

    let removed = plesk(&t, ADMIN, bm(&format!("<remove-file><customer-id>1</customer-id><filename>{filename}</filename></remove-file>"))).await;
    assert_eq!(text_of(&removed.body, "status"), ["ok"]);
    assert!(t
        .core
        .backups()
        .archives(&t.sys())
        .await
        .unwrap()
        .is_empty());
    assert!(!t.core.storage_dir().join(&filename).exists());
    let again = plesk(&t, ADMIN, bm(&format!("<remove-file><customer-id>1</customer-id><filename>{filename}</filename></remove-file>"))).await;
    assert_eq!(text_of(&again.body, "errcode"), ["1013"]);
    let (ct, body) = plesk_raw(&t.app, ADMIN, &bm(&format!("<download-file><customer-id>1</customer-id><filename>{filename}</filename></download-file>"))).await;
    assert_eq!(ct, "text/xml;charset=UTF-8");
    validate(std::str::from_utf8(&body).unwrap());
}

// Golden example 8 (docs samples) and the other backup-manager operations.
#[tokio::test]
async fn backup_manager_operations_and_errors() {
    let t = TestApp::demo().await;
    let bm = |inner: &str| {
        format!("<packet version=\"1.6.7.0\"><backup-manager>{inner}</backup-manager></packet>")
    };
    let r = plesk(&t, ADMIN, bm("<backup-customer><customer-id>77</customer-id><local/><description>x</description></backup-customer>")).await;
    assert_eq!(
        (text_of(&r.body, "errcode"), text_of(&r.body, "errtext")),
        (vec!["1013"], vec!["client does not exist."])
    );
    let r = plesk(&t, ADMIN, bm("<backup-reseller><reseller-id>2</reseller-id><local/><description>Standard weekly backup</description></backup-reseller>")).await;
    assert!(r.body.contains("<packet version=\"1.6.7.0\">"));
    let task = text_of(&r.body, "task-id")[0].to_owned();
    let r = plesk(
        &t,
        ADMIN,
        bm(&format!(
            "<stop-backup><task-id>{task}</task-id></stop-backup>"
        )),
    )
    .await;
    assert_eq!(text_of(&r.body, "status"), ["ok"]);
    let r = plesk(
        &t,
        ADMIN,
        bm(&format!(
            "<get-tasks-info><task-id>{task}</task-id></get-tasks-info>"
        )),
    )
    .await;
    assert_eq!(text_of(&r.body, "status"), ["ok", "stopped"]);
    let r = plesk(&t, ADMIN, bm("<get-supported-protocols/>")).await;
    assert_eq!(text_of(&r.body, "protocol"), ["local", "ftp"]);
    let r = plesk(&t, ADMIN, bm("<set-remote-storage-settings><customer-id>1</customer-id><settings><protocol>ftp</protocol><host>backup.example</host><port>2121</port><directory>/b</directory><login>u</login><password>p</password><passive-mode>true</passive-mode></settings></set-remote-storage-settings><get-remote-storage-settings><customer-id>1</customer-id><protocol>ftp</protocol></get-remote-storage-settings>")).await;
    assert_eq!(text_of(&r.body, "host"), ["backup.example"]);
    assert!(
        !r.body.contains("<password>"),
        "the FTP password is not echoed"
    );
    let r = plesk(&t, ADMIN, bm("<set-server-wide-settings><settings><max-backup-files>3</max-backup-files><do-not-compress>true</do-not-compress></settings></set-server-wide-settings><get-server-wide-settings/>")).await;
    assert_eq!(text_of(&r.body, "max-backup-files"), ["3"]);
    assert_eq!(text_of(&r.body, "do-not-compress"), ["true"]);
    // A customer may back itself up, nobody else.
    let customer = [
        ("HTTP_AUTH_LOGIN", "customer1"),
        ("HTTP_AUTH_PASSWD", "changeme1Q**"),
    ];
    let r = plesk(&t, &customer, bm("<backup-customer><customer-id>1</customer-id><local/><description>mine</description></backup-customer>")).await;
    assert_eq!(text_of(&r.body, "status"), ["ok"]);
    let r = plesk(&t, &customer, bm("<backup-customer><customer-id>2</customer-id><local/><description>theirs</description></backup-customer>")).await;
    assert_eq!(text_of(&r.body, "errcode"), ["1006"]);
    let r = plesk(
        &t,
        &customer,
        bm("<backup-server><local/><description>all</description></backup-server>"),
    )
    .await;
    assert_eq!(text_of(&r.body, "errcode"), ["1006"]);
}

// Issue 4 §6: strict mode answers `backup-manager` in 1.6.9.1 and version-less packets as
// Obsidian does; the default accepts it in every version.
#[tokio::test]
async fn strict_mode_limits_backup_manager_to_old_versions() {
    let t = TestApp::demo().await;
    let strict = t.app_with(panelgate_server::AppOptions {
        plesk_strict: true,
        ..Default::default()
    });
    let inner = "<backup-manager><get-supported-protocols/></backup-manager>";
    for (version, refused) in [
        ("", true),
        (" version=\"1.6.9.1\"", true),
        (" version=\"1.6.9.0\"", false),
        (" version=\"1.6.7.0\"", false),
    ] {
        let (_, body) = plesk_raw(
            &strict,
            ADMIN,
            &format!("<packet{version}>\n{inner}</packet>"),
        )
        .await;
        let body = String::from_utf8(body).unwrap();
        if refused {
            assert!(body.contains("<errcode>1014</errcode>"), "{body}");
            assert!(body.contains("Error in line 2: Element 'backup-manager': This element is not expected. Expected is one of ( request-settings, server, customer, webspace, subdomain, dns, db_server, mail, certificate, site-alias )."), "{body}");
        } else {
            assert!(body.contains("<protocol>local</protocol>"), "{body}");
        }
    }
    let r = plesk(&t, ADMIN, format!("<packet>{inner}</packet>")).await;
    assert!(
        r.body.contains("<protocol>local</protocol>"),
        "default mode accepts it"
    );
}

// Webspaces: the subscriptions backup-webspace targets.
#[tokio::test]
async fn webspaces_add_get_del() {
    let t = TestApp::demo().await;
    let r = plesk(&t, ADMIN, "<packet><webspace><add><gen_setup><name>example.com</name><owner-login>customer1</owner-login></gen_setup></add></webspace></packet>").await;
    let id = text_of(&r.body, "id")[0].to_owned();
    let r = plesk(&t, ADMIN, "<packet><webspace><get><filter><name>example.com</name></filter><dataset><gen_info/></dataset></get></webspace></packet>").await;
    assert_eq!(text_of(&r.body, "owner-login"), ["customer1"]);
    let r = plesk(&t, ADMIN, format!("<packet version=\"1.6.7.0\"><backup-manager><backup-webspace><webspace-id>{id}</webspace-id><local/><description>site</description></backup-webspace></backup-manager></packet>")).await;
    assert_eq!(text_of(&r.body, "status"), ["ok"]);
    let r = plesk(&t, ADMIN, "<packet><webspace><del><filter><name>example.com</name></filter></del></webspace></packet>").await;
    assert_eq!(text_of(&r.body, "status"), ["ok"]);
    let r = plesk(&t, ADMIN, "<packet><webspace><get><filter><name>example.com</name></filter><dataset><gen_info/></dataset></get></webspace></packet>").await;
    assert_eq!(text_of(&r.body, "errcode"), ["1013"]);
}

// Issue 4 §3: schema violations answer 1014 with libxml2's wording (each expectation is what
// xmllint printed for the same packet against 1.6.9.1/agent_input.xsd).
#[tokio::test]
async fn schema_violations_answer_1014_with_libxml2_texts() {
    let t = TestApp::demo().await;
    let before = fingerprint(&t).await;
    let cases = [
        ("<packet>\n<customer><nope/></customer></packet>", "Error in line 2: Element 'nope': This element is not expected. Expected is one of ( add, get, del, set, convert-to-reseller, change-owner, get-domain-list )."),
        ("<packet><customer><get><dataset><gen_info/></dataset><filter/></get></customer></packet>", "Error in line 1: Element 'dataset': This element is not expected. Expected is ( filter )."),
        ("<packet><customer><get><filter><id>abc</id></filter><dataset><gen_info/></dataset></get></customer></packet>", "Error in line 1: Element 'id': 'abc' is not a valid value of the atomic type 'id_type'."),
        ("<packet><customer><add><gen_info><login>x</login><pname>p</pname><passwd>Secret123x</passwd></gen_info></add></customer><customer><add><gen_info><pname>ok</pname><login>ok</login><passwd>Secret123x</passwd></gen_info></add></customer></packet>", "Error in line 1: Element 'login': This element is not expected. Expected is one of ( cname, pname )."),
    ];
    for (packet, text) in cases {
        let a = plesk(&t, ADMIN, packet).await;
        assert_eq!(text_of(&a.body, "errcode"), ["1014"], "{}", a.body);
        assert_eq!(
            text_of(&a.body, "errtext"),
            [format!("Parser error: Request is invalid. {text}").as_str()]
        );
    }
    assert_eq!(
        fingerprint(&t).await,
        before,
        "a packet that fails validation runs none of its operations"
    );
    // A schema-valid operation panelgate does not serve fails alone, with 1017.
    let a = plesk(&t, ADMIN, "<packet><customer><get-domain-list><filter/></get-domain-list></customer><server><get_protos/></server></packet>").await;
    assert_eq!(text_of(&a.body, "errcode"), ["1017"]);
    assert!(a.body.contains("<proto>1.6.9.1</proto>"));
}

// The README's Plesk table names every served call (`Call::all()`, the one list of them).
#[test]
fn readme_names_every_served_plesk_call() {
    use panelgate_plesk::call::{BackupOp, Call};
    let section = crate::readme_section("Plesk compatibility");
    for call in Call::all() {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", call.operator())))
            .unwrap_or_else(|| panic!("no README row for {}", call.operator()));
        let named = match call {
            Call::Backup(_) => row.contains(&format!("all {} operations", BackupOp::ALL.len())),
            _ => row.contains(&format!("`{}`", call.operation())),
        };
        assert!(
            named,
            "{}/{} missing in {row}",
            call.operator(),
            call.operation()
        );
    }
}

/// Issue 11: filters of ids and logins are answered by lookups, with the matching rules of the
/// full scan: exact decimal ids, case-sensitive logins, hidden customers match nothing.
#[tokio::test]
async fn id_and_login_filters_match_exactly() {
    let t = TestApp::demo().await;
    let get = |filter: &str| {
        format!("<packet><customer><get><filter>{filter}</filter><dataset><gen_info/></dataset></get></customer></packet>")
    };
    let one = plesk(
        &t,
        ADMIN,
        get("<id>2</id><login>customer1</login><id>02</id><login>Customer1</login><id>999</id>"),
    )
    .await;
    let results: Vec<&str> = one.body.split("<result>").skip(1).collect();
    assert_eq!(results.len(), 5, "{}", one.body);
    assert!(
        results[0].contains("<login>customer2</login>"),
        "{}",
        results[0]
    );
    assert!(
        results[1].contains("<login>customer1</login>"),
        "{}",
        results[1]
    );
    for miss in &results[2..] {
        assert!(
            miss.contains("<status>error</status>") && miss.contains("<errcode>1013</errcode>"),
            "{miss}"
        );
    }
    // A customer sees only itself.
    let own = plesk(
        &t,
        &panelgate_testkit::plesk_login("customer1"),
        get("<id>1</id><id>2</id>"),
    )
    .await;
    let results: Vec<&str> = own.body.split("<result>").skip(1).collect();
    assert!(
        results[0].contains("<login>customer1</login>"),
        "{}",
        own.body
    );
    assert!(!own.body.contains("customer2"), "{}", own.body);
}
