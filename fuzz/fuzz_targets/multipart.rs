//! `multipart/form-data` bodies (ISPsystem `backups.upload`): text fields become parameters,
//! file parts are written to a scratch directory under a size cap and removed when dropped.
//!
//! Input: the boundary line (without `--`), a newline, the body.
//! Asserts: no file part is bigger than the cap; every file part is inside the scratch
//! directory and gone once the parameters are dropped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelgate_http::{Params, Request};

const CAP: u64 = 4096;

/// One runtime for the whole run (building one per input would dominate the work).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let (boundary, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => return,
    };
    let Ok(boundary) = std::str::from_utf8(boundary) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    let Ok(ct) = http::HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
    else {
        return;
    };
    headers.insert(http::header::CONTENT_TYPE, ct);
    let Some(req) = Request::new(
        http::Method::POST,
        "/billmgr?func=backups.upload",
        headers,
        bytes::Bytes::copy_from_slice(body),
    ) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("panelgate-fuzz-multipart-{}", std::process::id()));
    let files = runtime().block_on(async {
        match Params::from_request_with_files(&req, &dir, CAP).await {
            Ok(params) => {
                let mut kept = Vec::new();
                for part in params.files() {
                    assert!(part.size <= CAP);
                    assert!(part.path.starts_with(&dir));
                    assert_eq!(
                        std::fs::metadata(&part.path).map(|m| m.len()).ok(),
                        Some(part.size)
                    );
                    kept.push(part.path.clone());
                }
                let _ = params.merged();
                kept
            }
            Err(_) => Vec::new(),
        }
    });
    for path in files {
        assert!(!path.exists(), "a file part outlived its parameters");
    }
    // A refused body leaves nothing either.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        assert_eq!(entries.count(), 0, "a refused body left a file part behind");
    }
});
