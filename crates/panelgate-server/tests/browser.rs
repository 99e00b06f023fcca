//! The dashboard in a real browser: headless Chromium (Debian's `chromium`), driven through
//! the DevTools protocol by `tests/browser/dashboard.mjs` (playwright-core), against the real
//! `panelgate` binary. It creates a customer through the Plesk API and finds it with its four
//! renderings, starts a backup and watches it finish without a reload, downloads the archive
//! and checks its SHA-256, reads the redacted Plesk request in the journal, adds a fault from
//! the page and sees the next call fail, resets; then it writes screenshots of every page at
//! desktop and phone width under `target/browser/`, prints each page's weight (all assets
//! included, under 200 KB) and checks that no page made a request outside panelgate.
//!
//! Needs `node`, Chromium (`PANELGATE_CHROMIUM`, else `/usr/bin/chromium`) and playwright-core
//! in `tests/browser/node_modules` (`npm install --prefix tests/browser`). Without them the
//! test prints why and returns, unless `PANELGATE_REQUIRE_BROWSER=1` (CI) makes that a
//! failure; `.ci/run` installs all three.

mod support;

use std::path::PathBuf;
use std::process::Command;

fn skip(why: &str) {
    let why = format!("skipped: {why} (.ci/run installs it)");
    assert!(
        std::env::var("PANELGATE_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "{why}"
    );
    eprintln!("{why}");
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let script_dir = workspace().join("tests/browser");
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip("no node");
    }
    let chromium =
        std::env::var("PANELGATE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return skip(&format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    let has_playwright = Command::new("node")
        .current_dir(&script_dir)
        .args([
            "--input-type=module",
            "-e",
            "await import('playwright-core')",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_playwright {
        return skip(
            "no playwright-core in tests/browser/node_modules (npm install --prefix tests/browser)",
        );
    }

    let data = tempfile::tempdir().unwrap();
    let server = support::start(data.path());
    let base = format!("http://{}", server.addr);
    let shots = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"))
        .join("browser");
    let out = Command::new("node")
        .current_dir(&script_dir)
        .arg("dashboard.mjs")
        .arg(&base)
        .arg(&shots)
        .arg(&chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The figures (steps, page weights, the network log) for whoever reads the test output.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test failed (screenshot: {}/failure.png)\n{stdout}\n{stderr}",
        shots.display()
    );
    let weights: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("page").is_some())
        .collect();
    assert_eq!(weights.len(), 7, "a weight per page: {stdout}");
    for w in &weights {
        let bytes = w["bytes"].as_u64().unwrap();
        eprintln!(
            "page weight: {:<10} {bytes:>7} bytes",
            w["page"].as_str().unwrap()
        );
        assert!(bytes < 200 * 1024, "{w}");
        for shot in w["screenshots"].as_array().unwrap() {
            assert!(shots.join(shot.as_str().unwrap()).exists(), "{shot}");
        }
    }
}
