//! Golden cases in fixtures/httpapi/cases/: the golden examples of protocols/httpapi.md §7, sent
//! to panelgate in both formats.
//!
//! * JSON is compared byte for byte with the example after masking the values of the keys in
//!   `ignore` (ids and times: the example's reseller is 1139807, ours 2) in both, and dropping
//!   the keys panelgate adds (`extra`, with the reason in `why`). Key order counts.
//! * The `.xml` twin of the same request is parsed (with the XML parser of `panelgate-http`,
//!   not our renderer) back into maps of strings and compared with the same masked example.
//! * `xml_response`, when given, is a recorded XML answer compared byte for byte (masked the
//!   same way).

use std::path::PathBuf;

use panelgate_http::xml::{self, Element};
use panelgate_testkit::{send_with, TestApp};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    method: String,
    target: String,
    #[serde(default)]
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    source: String,
    /// Requests run first; each must answer HTTP 200.
    #[serde(default)]
    before: Vec<Step>,
    /// The request, with a `.json` target; its `.xml` twin is sent too.
    request: Step,
    /// 200, or 500 for an error.
    status: u16,
    /// The example's JSON body.
    response: String,
    /// A recorded XML body, compared byte for byte.
    #[serde(default)]
    xml_response: Option<String>,
    /// Keys whose values differ by nature (ids, times); `$` for a bare scalar body.
    #[serde(default)]
    ignore: Vec<String>,
    /// Keys panelgate adds to the example.
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    why: String,
    /// Compare maps regardless of key order (examples that are fixtures, not recordings).
    #[serde(default = "yes")]
    ordered: bool,
}

fn yes() -> bool {
    true
}

/// The value with every map's keys sorted.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Mask ignored values (recursively) and drop extra keys.
fn mask(v: &Value, case: &Case, ours: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if ours && case.extra.contains(k) {
                    continue;
                }
                let masked = if case.ignore.contains(k) {
                    Value::String("*".into())
                } else {
                    mask(v, case, ours)
                };
                // An ignored key that is a number (an invoice id as a key) is masked too.
                let key = if case.ignore.iter().any(|i| i == "#") && k.parse::<i64>().is_ok() {
                    "#".to_owned()
                } else {
                    k.clone()
                };
                out.insert(key, masked);
            }
            Value::Object(out)
        }
        scalar if case.ignore.iter().any(|i| i == "$") => match scalar {
            Value::Number(_) => Value::String("<number>".into()),
            Value::String(_) => Value::String("<string>".into()),
            other => other.clone(),
        },
        other => other.clone(),
    }
}

/// The XStream XML of an answer as JSON: hashtables as maps, `<string>` as strings, `<int>` and
/// `<long>` as numbers, `<boolean>` as booleans, `<list>` as arrays.
fn from_xml(e: &Element) -> Value {
    match e.name.as_str() {
        "hashtable" => {
            let mut m = Map::new();
            for entry in e.children_named("entry") {
                let key = entry
                    .children
                    .first()
                    .map(|k| k.text.clone())
                    .unwrap_or_default();
                let value = entry.children.get(1).map(from_xml).unwrap_or(Value::Null);
                m.insert(key, value);
            }
            Value::Object(m)
        }
        "list" => Value::Array(e.children.iter().map(from_xml).collect()),
        "int" | "long" => e
            .text
            .trim()
            .parse::<i64>()
            .map_or(Value::Null, Value::from),
        "boolean" => Value::Bool(e.text.trim() == "true"),
        _ => Value::String(e.text.clone()),
    }
}

/// Mask, in recorded XML, the `<string>` after each ignored key.
fn mask_xml(body: &str, case: &Case) -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for line in body.lines() {
        let trimmed = line.trim();
        if hide_next {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(format!("{indent}<string>*</string>"));
            hide_next = false;
            continue;
        }
        if let Some(key) = trimmed
            .strip_prefix("<string>")
            .and_then(|k| k.strip_suffix("</string>"))
        {
            hide_next = case.ignore.iter().any(|i| i == key);
        }
        out.push(line.to_owned());
    }
    out.join("\n")
}

async fn send(t: &TestApp, step: &Step) -> panelgate_testkit::TestResponse {
    send_with(
        &t.app,
        &step.method,
        &step.target,
        &[("content-type", "application/x-www-form-urlencoded")],
        step.body.clone(),
    )
    .await
}

pub async fn run_case(file: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/httpapi/cases")
        .join(file);
    let case: Case = toml::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(
        !case.source.is_empty(),
        "{file}: every case names its source"
    );
    assert!(
        case.extra.is_empty() || !case.why.is_empty(),
        "{file}: extra keys need a reason in `why`"
    );
    // Once as JSON, once as XML, each on a fresh demo database.
    for format in ["json", "xml"] {
        let t = TestApp::demo().await;
        for step in &case.before {
            let r = send(&t, step).await;
            assert_eq!(r.status, 200, "{file}: before {}: {}", step.target, r.body);
        }
        let target = case
            .request
            .target
            .replacen(".json", &format!(".{format}"), 1);
        let r = send(
            &t,
            &Step {
                method: case.request.method.clone(),
                target,
                body: case.request.body.clone(),
            },
        )
        .await;
        assert_eq!(r.status, case.status, "{file} ({format}): {}", r.body);
        let want: Value = serde_json::from_str(&case.response)
            .unwrap_or_else(|e| panic!("{file}: the example is not JSON: {e}"));
        let want = mask(&want, &case, false);
        let got = if format == "json" {
            let got: Value = serde_json::from_str(&r.body)
                .unwrap_or_else(|e| panic!("{file}: not JSON: {e}: {}", r.body));
            got
        } else {
            let doc = xml::parse(r.body.as_bytes())
                .unwrap_or_else(|e| panic!("{file}: not XML: {e:?}: {}", r.body));
            from_xml(&doc)
        };
        let got = mask(&got, &case, true);
        let (got, want) = if case.ordered {
            (got, want)
        } else {
            (sorted(got), sorted(want))
        };
        // Byte for byte: the serialisations (key order included) are equal.
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&want).unwrap(),
            "{file} ({format}): {}",
            r.body
        );
        if format == "json" {
            assert!(
                r.headers
                    .get("content-type")
                    .and_then(|c| c.to_str().ok())
                    .is_some_and(|c| c.starts_with("application/json")),
                "{file}"
            );
        }
        if let (Some(recorded), "xml") = (&case.xml_response, format) {
            assert_eq!(
                mask_xml(r.body.trim_end(), &case),
                mask_xml(recorded.trim_end(), &case),
                "{file}: the recorded XML layout"
            );
        }
    }
}

#[test]
fn every_case_file_has_a_test() {
    assert_eq!(
        crate::golden::httpapi_case::COUNT,
        crate::case_files_in("../fixtures/httpapi/cases")
    );
    const { assert!(crate::golden::httpapi_case::COUNT >= 9) };
}
