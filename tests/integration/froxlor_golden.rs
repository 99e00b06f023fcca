//! Golden cases in fixtures/froxlor/cases/: one request (after optional setup requests) against
//! the demo data set, with the status and message the real Froxlor answers. Each case names the
//! source of its expectation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use panelgate_testkit::panelgate_froxlor::FroxlorVersion;
use panelgate_testkit::TestApp;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default)]
    before: Vec<Before>,
    request: CaseRequest,
    response: CaseResponse,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Before {
    auth: String,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    #[serde(default = "post")]
    method: String,
    #[serde(default = "api_php")]
    target: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseResponse {
    status: u16,
    message: String,
}

fn post() -> String {
    "POST".into()
}
fn api_php() -> String {
    "/api.php".into()
}

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/froxlor/cases")
}

// The build script makes one test per case file (`froxlor_case::<file>`).
const _: () = assert!(
    crate::golden::froxlor_case::COUNT >= 40,
    "the golden error cases"
);

#[test]
fn every_froxlor_case_file_is_a_test() {
    assert_eq!(
        crate::case_files_in("../fixtures/froxlor/cases"),
        crate::golden::froxlor_case::COUNT
    );
}

/// Run one golden case (a file of fixtures/froxlor/cases).
pub async fn run_case(name: &str) {
    let file = cases_dir().join(name);
    let case: Case = toml::from_str(&std::fs::read_to_string(&file).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!case.source.trim().is_empty(), "{name} names no source");
    let version = match case.version.as_deref() {
        None | Some("2.0") => FroxlorVersion::V2_0,
        Some("2.3") => FroxlorVersion::V2_3,
        Some(other) => panic!("{name}: unknown version {other}"),
    };
    let t = TestApp::demo().await;
    let app = t.app_with_version(version);
    for (k, v) in &case.settings {
        t.core.settings().set(&t.sys(), k, v).await.unwrap();
    }
    for b in &case.before {
        let r =
            panelgate_testkit::send(&app, "POST", "/api.php", Some(&b.auth), b.body.clone()).await;
        assert_eq!(
            r.status, 200,
            "{name}: setup request {} answered {}",
            b.body, r.body
        );
    }
    let r = panelgate_testkit::send(
        &app,
        &case.request.method,
        &case.request.target,
        case.request.auth.as_deref(),
        case.request.body.clone(),
    )
    .await;
    let message = serde_json::from_str::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(
        r.status == case.response.status && message == case.response.message,
        "{name}: got {} {message:?}, expected {} {:?} (source: {})",
        r.status,
        case.response.status,
        case.response.message,
        case.source
    );
}
