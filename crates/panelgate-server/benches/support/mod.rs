//! What every benchmark starts from: a multi-threaded runtime and the demo data set in a fresh
//! SQLite database.

use std::future::Future;
use std::sync::Arc;

use panelgate_core::{Core, SystemCap};

/// A core on a temporary SQLite file with the demo data loaded (the file lives as long as this).
pub struct Demo {
    pub core: Core,
    pub system: Arc<SystemCap>,
    /// Kept for the database file's lifetime.
    pub _dir: tempfile::TempDir,
}

/// Run `body` on a multi-threaded runtime, as the server does.
pub fn run<F: Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body)
}

impl Demo {
    /// Customers `bench{i}` (password `changeme1Q**`) for every `i` of `numbers`, owned by the
    /// admin `owner`.
    #[allow(dead_code)]
    pub async fn add_customers(&self, owner: i64, numbers: std::ops::RangeInclusive<u32>) {
        let sys = self.system.actor();
        for i in numbers {
            let new = panelgate_core::NewCustomer {
                loginname: Some(format!("bench{i}").as_str().try_into().unwrap()),
                password: Some("changeme1Q**".into()),
                profile: panelgate_core::Profile {
                    name: format!("Bench {i}"),
                    email: format!("bench{i}@example.com"),
                    ..Default::default()
                },
                ..Default::default()
            };
            self.core
                .customers()
                .create_owned(&sys, Some(owner), new)
                .await
                .unwrap();
        }
    }

    /// The router over this core, with the default options.
    pub fn app(&self) -> panelgate_server::App {
        panelgate_server::App::new(
            self.core.clone(),
            self.system.clone(),
            panelgate_server::AppOptions::default(),
        )
    }
}

pub async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let (core, system) = Core::open(&url, dir.path()).await.unwrap();
    core.load(&system, &panelgate_server::demo_data().unwrap())
        .await
        .unwrap();
    Demo {
        core,
        system: Arc::new(system),
        _dir: dir,
    }
}

/// One request through the router: its time and its body.
#[allow(dead_code)]
pub async fn call(
    app: &panelgate_server::App,
    method: &str,
    target: &str,
    content_type: &str,
    body: &str,
) -> (std::time::Duration, String) {
    use http_body_util::BodyExt;
    let req = http::Request::builder()
        .method(method)
        .uri(target)
        .header("content-type", content_type)
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap();
    let started = std::time::Instant::now();
    let resp = app.handle_http(req, "127.0.0.1:9".parse().unwrap()).await;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        started.elapsed(),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// `n` sequential requests: prints requests per second and the p50/p99 latency; the last answer
/// must contain `expect`.
#[allow(dead_code, clippy::too_many_arguments)]
pub async fn measure(
    app: &panelgate_server::App,
    name: &str,
    method: &str,
    target: &str,
    content_type: &str,
    body: &str,
    n: usize,
    expect: &str,
) {
    let mut times = Vec::with_capacity(n);
    let started = std::time::Instant::now();
    let mut last = String::new();
    for _ in 0..n {
        let (t, answer) = call(app, method, target, content_type, body).await;
        times.push(t);
        last = answer;
    }
    let total = started.elapsed();
    assert!(last.contains(expect), "{name}: {last}");
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{name:<44} {n:>5} req  {:>8.0} req/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        n as f64 / total.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}
