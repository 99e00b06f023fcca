//! Real clients of the panels, unchanged, against the real `panelgate` binary.
//!
//! * `resellerclub-python` (PyPI): its `test_url` pointed at panelgate's `/api/`, a customer
//!   search parses into its `Customer` records and a failing call raises its
//!   `ResellerClubAPIException` with panelgate's message.
//!
//! The client runs with the Python named by `PANELGATE_RESELLERCLUB_PYTHON` (a virtualenv that
//! `.ci/run` makes and installs the package into), else `python3` if it can import the package.
//! Without one the test prints why and returns, unless `PANELGATE_REQUIRE_CLIENTS=1` (CI) makes
//! that a failure.

mod support;

use std::process::Command;

/// The Python that has `resellerclub` installed, if any.
fn resellerclub_python() -> Option<String> {
    let candidates = std::env::var("PANELGATE_RESELLERCLUB_PYTHON")
        .ok()
        .into_iter()
        .chain(["python3".to_owned()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import resellerclub"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    let why = "skipped: no Python with resellerclub-python (pip install resellerclub-python, or set PANELGATE_RESELLERCLUB_PYTHON; .ci/run does)";
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
