//! `cargo bench -p panelgate-server --bench froxlor`: prints Froxlor API throughput and latency
//! through the real router on a SQLite file, with the credential cache warm, and the cost of a
//! full secret verification (a cache miss).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method};
use panelgate_http::Request;
use panelgate_server::App;

fn request(body: &str, auth: &str) -> Request {
    let mut headers = HeaderMap::new();
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(auth)
    );
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&value).unwrap(),
    );
    Request::new(Method::POST, "/api.php", headers, body.to_owned()).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(app: &App, name: &str, body: &str, auth: &str, n: usize) {
    let mut times = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let resp = app.handle(request(body, auth)).await;
        times.push(t.elapsed());
        assert!(resp.status().is_success() || resp.status().as_u16() == 403);
    }
    let total = started.elapsed();
    times.sort();
    println!(
        "{name:<42} {n:>6} requests  {:>9.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms",
        n as f64 / total.as_secs_f64(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

mod support;

fn main() {
    support::run(async {
        let demo = support::demo().await;
        let core = demo.core.clone();
        let app = Arc::new(demo.app());
        let admin = "demo-froxlor-admin-key:demo-froxlor-admin-secret";
        measure(
            &app,
            "Customers.listingCount (cache warm)",
            r#"{"command":"Customers.listingCount"}"#,
            admin,
            2000,
        )
        .await;
        measure(
            &app,
            "Customers.listing (cache warm)",
            r#"{"command":"Customers.listing"}"#,
            admin,
            2000,
        )
        .await;
        measure(
            &app,
            "Customers.get show_usages (cache warm)",
            r#"{"command":"Customers.get","params":{"id":1,"show_usages":1}}"#,
            admin,
            2000,
        )
        .await;
        measure(
            &app,
            "wrong secret (full argon2 check)",
            r#"{"command":"Customers.listingCount"}"#,
            "demo-froxlor-admin-key:wrong",
            50,
        )
        .await;
        println!(
            "full secret verifications: {}",
            core.slow_credential_checks()
        );
    });
}
