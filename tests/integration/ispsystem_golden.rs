//! Golden cases in fixtures/ispsystem/cases/: the golden examples of protocols/ispsystem.md §6,
//! sent to panelgate and compared with the example. XML is compared element by element and
//! JSON key by key; values that differ by nature (session ids, dates, sizes) are listed per case
//! in `ignore`, what panelgate adds (`binary`, `tparams`, `saved_filters`, …) in `extra`, and
//! what the example has that panelgate cannot in `missing` with the reason in `why`.

use std::path::PathBuf;

use panelgate_plesk::xml;
use panelgate_testkit::TestApp;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    /// Requests (GET targets) run first; none may answer an error.
    #[serde(default)]
    before: Vec<String>,
    /// Run the backup worker after `before`.
    #[serde(default)]
    worker: bool,
    request: String,
    /// `xml`, `json` or `text`.
    format: String,
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

/// The case's XML rules: attributes compared by name.
fn xml_rules(case: &Case) -> crate::golden_xml::Rules<'_> {
    crate::golden_xml::Rules {
        ignore: &case.ignore,
        extra: &case.extra,
        missing: &case.missing,
        attrs: crate::golden_xml::Attrs::ByName,
    }
}

fn compare_json(want: &Value, got: &Value, case: &Case, path: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let here = format!("{path}.{k}");
                match g.get(k) {
                    Some(_) if case.ignore.contains(k) => {}
                    Some(gv) => compare_json(wv, gv, case, &here)?,
                    None if case.missing.contains(k) => {}
                    None => return Err(format!("{here} is missing")),
                }
            }
            if let Some(k) = g
                .keys()
                .find(|k| !w.contains_key(*k) && !case.extra.contains(*k))
            {
                return Err(format!("{path}: unexpected key {k}"));
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .try_for_each(|(i, (wv, gv))| compare_json(wv, gv, case, &format!("{path}[{i}]"))),
        (w, g) if w == g => Ok(()),
        (w, g) => Err(format!("{path}: {g}, expected {w}")),
    }
}

// The build script makes one test per case file (`ispsystem_case::<file>`).
const _: () = assert!(
    crate::golden::ispsystem_case::COUNT >= 10,
    "the golden examples"
);

#[test]
fn every_ispsystem_case_file_is_a_test() {
    assert_eq!(
        crate::case_files_in("../fixtures/ispsystem/cases"),
        crate::golden::ispsystem_case::COUNT
    );
}

/// Run one golden case (a file of fixtures/ispsystem/cases).
pub async fn run_case(name: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/ispsystem/cases")
        .join(name);
    let case: Case = toml::from_str(&std::fs::read_to_string(&file).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        !case.source.is_empty() && (case.missing.is_empty() || !case.why.is_empty()),
        "{name}: a source, and a reason for anything missing"
    );
    let t = TestApp::demo().await;
    for b in &case.before {
        let r = panelgate_testkit::send_with(&t.app, "GET", b, &[], "").await;
        assert!(
            r.status == 200 && !r.body.contains("<error") && !r.body.contains("\"error\""),
            "{name}: setup {b} failed: {}",
            r.body
        );
    }
    if case.worker {
        panelgate_core::backup_worker::Worker::new(t.core.clone())
            .run_until_idle()
            .await
            .unwrap();
    }
    let r = panelgate_testkit::send_with(&t.app, "GET", &case.request, &[], "").await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let outcome = match case.format.as_str() {
        "xml" => {
            let want = xml::parse(case.response.trim().as_bytes()).unwrap();
            let got = xml::parse(r.body.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: answer is not XML ({e:?}): {}", r.body));
            crate::golden_xml::compare(&want, &got, &xml_rules(&case), "")
        }
        "json" => {
            let want: Value = serde_json::from_str(case.response.trim()).unwrap();
            compare_json(&want, &r.json(), &case, "")
        }
        "text" => {
            let want = case.response.trim();
            match want.strip_suffix('…') {
                Some(prefix) if r.body.starts_with(prefix) => Ok(()),
                None if r.body.trim() == want => Ok(()),
                _ => Err(format!("text {:?}, expected {want:?}", r.body)),
            }
        }
        other => panic!("{name}: unknown format {other}"),
    };
    if let Err(why) = outcome {
        panic!("{name}: {why}\n{}  (source: {})", r.body, case.source);
    }
}
