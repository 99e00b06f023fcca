//! Real clients of the panels, unchanged, against the real `panelgate` binary.
//!
//! * `resellerclub-python` (PyPI): its `test_url` pointed at panelgate's `/api/`, a customer
//!   search parses into its `Customer` records and a failing call raises its
//!   `ResellerClubAPIException` with panelgate's message.
//!
//! * `pypleski` (PyPI), which always opens HTTPS and verifies the certificate: over
//!   `--tls-listen` with panelgate's self-signed certificate trusted (`SSL_CERT_FILE`), it lists
//!   the customers and reads Plesk's error for a missing one; and `curl --cacert` the same way.
//!
//! The clients run with the Python named by `PANELGATE_RESELLERCLUB_PYTHON` (a virtualenv that
//! `.ci/run` makes and installs the packages into), else `python3` if it can import them.
//! Without one the test prints why and returns, unless `PANELGATE_REQUIRE_CLIENTS=1` (CI) makes
//! that a failure.

mod support;

use std::process::Command;

/// The Python that has `resellerclub` installed, if any.
fn resellerclub_python() -> Option<String> {
    python_with("resellerclub", "resellerclub-python")
}

/// The Python that can import `module` (from the PyPI package `package`), if any.
fn python_with(module: &str, package: &str) -> Option<String> {
    let candidates = std::env::var("PANELGATE_RESELLERCLUB_PYTHON")
        .ok()
        .into_iter()
        .chain(["python3".to_owned()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    let why = format!("skipped: no Python with {package} (pip install {package}, or set PANELGATE_RESELLERCLUB_PYTHON; .ci/run does)");
    assert!(
        std::env::var("PANELGATE_REQUIRE_CLIENTS").as_deref() != Ok("1"),
        "{why}"
    );
    eprintln!("{why}");
    None
}

const SCRIPT: &str = r#"
import json, sys
from resellerclub.client.urls.urls import URLs
from resellerclub.exceptions import ResellerClubAPIException
URLs.test_url = sys.argv[1]
from resellerclub import ResellerClub
rc = ResellerClub("2", "demo-httpapi-key", test_mode=True)
found = rc.customers.search(10, 1)
out = {
    "page": found.page_records,
    "db": found.db_records,
    "customers": [c._asdict() for c in found],
}
try:
    rc.customers.search(5, 1)
    out["error"] = None
except ResellerClubAPIException as e:
    out["error"] = str(e)
try:
    ResellerClub("2", "wrong-key").customers.search(10, 1)
    out["auth"] = None
except ResellerClubAPIException as e:
    out["auth"] = str(e)
print(json.dumps(out))
"#;

#[test]
fn resellerclub_python_searches_and_raises() {
    let Some(python) = resellerclub_python() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = support::start(data.path());
    let url = format!("http://{}/api/", server.addr);
    let out = Command::new(&python)
        .args(["-c", SCRIPT, &url])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("resellerclub-python against panelgate: {v}");
    // reseller1 (auth-userid 2) has one customer in the demo data: customer2.
    assert_eq!(v["page"], 1);
    assert_eq!(v["db"], 1);
    let c = &v["customers"][0];
    assert_eq!(c["id"], "2");
    assert_eq!(c["username"], "customer2");
    assert_eq!(c["reseller_id"], "2");
    assert_eq!(c["name"], "Customer Two");
    assert_eq!(c["company"], "Example Two GmbH");
    assert_eq!(c["status"], "Active");
    assert_eq!(c["total_receipts"], 0.0);
    assert_eq!(c["website_count"], 0);
    assert_eq!(
        v["error"],
        "{no-of-records=no-of-records should be between 10 and 500, not 5}"
    );
    assert_eq!(
        v["auth"],
        "Authentication failed. Invalid auth-userid or api-key."
    );
}

const PYPLESKI: &str = r#"
import json, sys
from pypleski.core import PleskApiClient
from pypleski import customer
client = PleskApiClient("localhost", int(sys.argv[1]))
client.set_credentials("admin", "changeme1Q**")
listed = client.request(customer.get_customers())
missing = client.request(customer.get_customer_by_login("nobody"))
print(json.dumps({
    "error": listed.is_error(),
    "customers": listed.to_dict(),
    "missing": missing.to_dict(),
}))
"#;

/// pypleski opens HTTPS with certificate checks on: it works against `--tls-listen` once the
/// self-signed certificate panelgate made is trusted, and so does `curl --cacert`.
#[test]
fn pypleski_and_curl_over_https_with_the_printed_certificate() {
    let Some(python) = python_with("pypleski", "pypleski") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = support::start_with(data.path(), &["--tls-listen", "127.0.0.1:0"]);
    let https = server
        .banner
        .split("HTTPS on https://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no HTTPS listener in\n{}", server.banner))
        .to_owned();
    let port = https.rsplit(':').next().unwrap().to_owned();
    let cert = data.path().join("tls").join("cert.pem");
    assert!(
        server.banner.contains(&cert.display().to_string()),
        "{}",
        server.banner
    );

    let out = Command::new(&python)
        .args(["-c", PYPLESKI, &port])
        .env("SSL_CERT_FILE", &cert)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    println!("pypleski over HTTPS against panelgate: {v}");
    assert_eq!(v["error"], false, "{v}");
    let text = v["customers"].to_string();
    assert!(
        text.contains("customer1") && text.contains("customer2"),
        "{v}"
    );
    // (pypleski's own is_error() tests an element's truth, which is false for a text-only
    // `<errcode>`, so it never reports an error, against real Plesk too: the packet is read.)
    let result = &v["missing"]["packet"]["customer"]["get"]["result"];
    assert_eq!(result["status"], "error", "{v}");
    assert_eq!(result["errcode"], "1013", "{v}");

    // Without the certificate trusted the client refuses the connection: the check is real.
    let untrusted = Command::new(&python)
        .args(["-c", PYPLESKI, &port])
        .env("SSL_CERT_FILE", data.path().join("none.pem"))
        .output()
        .expect("run python");
    assert!(
        !untrusted.status.success()
            || !String::from_utf8_lossy(&untrusted.stdout).contains("customer1"),
        "an untrusted certificate was accepted"
    );

    match Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .args([
            "-u",
            "demo-froxlor-admin-key:demo-froxlor-admin-secret",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"command":"Customers.listing"}"#,
        ])
        .arg(format!("https://localhost:{port}/api.php"))
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(body["data"]["count"], 2, "{body}");
        }
        Err(e) => eprintln!("curl check skipped: curl is not installed ({e})"),
    }
}
