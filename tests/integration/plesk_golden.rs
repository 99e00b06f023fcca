//! Golden cases in fixtures/plesk/cases/: every golden example of protocols/plesk.md, sent to
//! panelgate and compared element by element with the example. Values that differ by nature
//! (ids, GUIDs, dates) are listed per case in `ignore`; elements panelgate adds in `extra`;
//! elements of the example panelgate cannot have in `missing`, with the reason in `why`.

use std::path::PathBuf;

use panelgate_plesk::xml;
use panelgate_testkit::panelgate_froxlor::FroxlorVersion;
use panelgate_testkit::TestApp;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    before: Vec<String>,
    #[serde(default)]
    worker: bool,
    request: String,
    response: String,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    missing: Vec<String>,
    #[serde(default)]
    why: String,
}

async fn send(app: &panelgate_server::App, auth: Option<&str>, body: &str) -> String {
    let login = panelgate_testkit::plesk_login("admin");
    let headers: Vec<(&str, &str)> = match auth {
        Some("none") => vec![],
        Some(key) => vec![("KEY", key)],
        None => login.to_vec(),
    };
    let mut all = vec![("HTTP_PRETTY_PRINT", "TRUE"), ("content-type", "text/xml")];
    all.extend(headers);
    panelgate_testkit::send_with(
        app,
        "POST",
        "/enterprise/control/agent.php",
        &all,
        body.to_owned(),
    )
    .await
    .body
}

// The build script makes one test per case file (`plesk_case::<file>`).
const _: () = assert!(
    crate::golden::plesk_case::COUNT >= 15,
    "the golden examples"
);

#[test]
fn every_plesk_case_file_is_a_test() {
    assert_eq!(
        crate::case_files_in("../fixtures/plesk/cases"),
        crate::golden::plesk_case::COUNT
    );
}

/// Run one golden case (a file of fixtures/plesk/cases).
pub async fn run_case(name: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/plesk/cases")
        .join(name);
    let case: Case = toml::from_str(&std::fs::read_to_string(&file).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        !case.source.is_empty() && (case.missing.is_empty() || !case.why.is_empty()),
        "{name}"
    );
    let t = match case.dataset.as_deref() {
        None => TestApp::demo().await,
        Some(set) => {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../fixtures/plesk/{set}.toml"));
            let data = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            TestApp::with(&data, FroxlorVersion::V2_0).await
        }
    };
    for b in &case.before {
        let answer = send(&t.app, None, b).await;
        assert!(
            !answer.contains("<system>") && !answer.contains("<status>error"),
            "{name}: setup failed: {answer}"
        );
    }
    if case.worker {
        panelgate_core::backup_worker::Worker::new(t.core.clone())
            .run_until_idle()
            .await
            .unwrap();
    }
    let answer = send(&t.app, case.auth.as_deref(), &case.request).await;
    crate::plesk::validate(&answer);
    let want = xml::parse(case.response.as_bytes()).unwrap();
    let got = xml::parse(answer.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: answer is not XML ({e:?}): {answer}"));
    if let Err(why) = crate::golden_xml::compare(
        &want,
        &got,
        &crate::golden_xml::Rules {
            ignore: &case.ignore,
            extra: &case.extra,
            missing: &case.missing,
            attrs: crate::golden_xml::Attrs::Exact,
        },
        "",
    ) {
        panic!("{name}: {why}\n{answer}  (source: {})", case.source);
    }
}
