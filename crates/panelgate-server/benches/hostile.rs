//! `cargo bench -p panelgate-server --bench hostile`: issue 7's figures, through the real
//! router in a release build.
//!
//! * A parameter, packet or search value of 8 MiB (just under the body cap) is answered in
//!   under 200 ms: Froxlor AntiXSS and `sql_search` LIKE values, Plesk packets (authenticated
//!   and not).
//! * Hashing work is bounded: a Plesk packet with 20,000 `<key>` elements, and 1,000 wrong
//!   passwords from one address; the benchmark prints how many hashes ran.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use panelgate_server::App;

type Headers = Vec<(&'static str, String)>;

/// Just under the 8 MiB body cap, with room for the JSON or XML around the value.
const VALUE: usize = 8 * 1024 * 1024 - 4096;

async fn send(
    app: &App,
    headers: &[(&str, String)],
    path: &str,
    body: Vec<u8>,
) -> (Duration, u16, String) {
    let mut req = http::Request::post(path);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let started = Instant::now();
    let resp = app
        .handle_http(
            req.body(Full::new(Bytes::from(body))).unwrap(),
            "127.0.0.1:9".parse().unwrap(),
        )
        .await;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(160)]).into_owned();
    (started.elapsed(), status, text)
}

fn froxlor_auth(key: &str) -> Headers {
    vec![(
        "authorization",
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(key)
        ),
    )]
}

fn json_string(len: usize, unit: &str) -> String {
    unit.repeat(len / unit.len())
}

mod support;

fn main() {
    support::run(async {
        let demo = support::demo().await;
        let core = demo.core.clone();
        let app = demo.app();
        let customer = froxlor_auth("demo-froxlor-customer1-key:demo-froxlor-customer1-secret");
        let admin = froxlor_auth("demo-froxlor-admin-key:demo-froxlor-admin-secret");
        // Warm the credential cache.
        send(
            &app,
            &customer,
            "/api.php",
            br#"{"command":"Customers.get"}"#.to_vec(),
        )
        .await;
        send(
            &app,
            &admin,
            "/api.php",
            br#"{"command":"Customers.listingCount"}"#.to_vec(),
        )
        .await;

        println!("8 MiB values (body cap 8 MiB), release build, one request each, median of 5:");
        let froxlor_cases: Vec<(&str, &Headers, String)> = vec![
            (
                "Froxlor AntiXSS: a customer's update with 8 MiB of '<'",
                &customer,
                format!(
                    r#"{{"command":"Customers.update","params":{{"loginname":"customer1","def_language":"{}"}}}}"#,
                    json_string(VALUE, "<")
                ),
            ),
            (
                "Froxlor AntiXSS: 8 MiB of '<script>' without a closing tag (admin, name field)",
                &admin,
                format!(
                    r#"{{"command":"Customers.update","params":{{"id":1,"name":"{}"}}}}"#,
                    json_string(VALUE, "<script>")
                ),
            ),
            (
                "Froxlor AntiXSS: 8 MiB of nested 'alalertert' (admin, name field)",
                &admin,
                format!(
                    r#"{{"command":"Customers.update","params":{{"id":1,"name":"{}"}}}}"#,
                    json_string(VALUE, "alalertert")
                ),
            ),
            (
                "Froxlor sql_search (LIKE %value%): 8 MiB of '%a'",
                &admin,
                format!(
                    r#"{{"command":"Customers.listing","params":{{"sql_search":{{"c.name":"{}"}}}}}}"#,
                    json_string(VALUE, "%a")
                ),
            ),
            (
                "Froxlor sql_search (LIKE %value%): 8 MiB of '_'",
                &admin,
                format!(
                    r#"{{"command":"Customers.listing","params":{{"sql_search":{{"c.name":"{}"}}}}}}"#,
                    json_string(VALUE, "_")
                ),
            ),
        ];
        for (name, auth, body) in froxlor_cases {
            report(&app, name, auth, "/api.php", body.into_bytes()).await;
        }
        let plesk_admin = vec![
            ("HTTP_AUTH_LOGIN", "admin".to_owned()),
            ("HTTP_AUTH_PASSWD", "changeme1Q**".to_owned()),
        ];
        let plesk_wrong = vec![
            ("HTTP_AUTH_LOGIN", "nobody".to_owned()),
            ("HTTP_AUTH_PASSWD", "wrong".to_owned()),
        ];
        // Under the element cap: 19,000 elements after 8 MiB of new lines (every start tag's
        // line number used to be counted from the start of the input).
        let many_lines = format!(
            "<packet>{}{}</packet>",
            "\n".repeat(VALUE - 400_000),
            "<customer><get/></customer>\n".repeat(9_500)
        );
        let long_text = format!(
            "<packet><customer><get><filter><login>{}</login></filter><dataset><gen_info/></dataset></get></customer></packet>",
            "x".repeat(VALUE)
        );
        report(
            &app,
            "Plesk: 8 MiB login filter (authenticated)",
            &plesk_admin,
            "/enterprise/control/agent.php",
            long_text.clone().into_bytes(),
        )
        .await;
        report(
            &app,
            "Plesk: 8 MiB of start tags on many lines (authenticated)",
            &plesk_admin,
            "/enterprise/control/agent.php",
            many_lines.clone().into_bytes(),
        )
        .await;
        report(
            &app,
            "Plesk: 8 MiB packet, unknown login (not parsed before auth)",
            &plesk_wrong,
            "/enterprise/control/agent.php",
            many_lines.into_bytes(),
        )
        .await;

        println!();
        println!("hashing work:");
        let keys =
            format!(
            "<packet><secret_key><get_info><filter>{}</filter></get_info></secret_key></packet>",
            // 19,990 keys: with the packet's other elements just under the 20,000-element cap.
            (0..19_990).map(|i| format!("<key>wrong-key-{i}</key>")).collect::<String>()
        );
        let before = core.hashes_run();
        let (took, status, text) = send(
            &app,
            &plesk_admin,
            "/enterprise/control/agent.php",
            keys.into_bytes(),
        )
        .await;
        let answered = if text.contains("<system>") {
            "a <system> error"
        } else {
            "answered per key"
        };
        println!(
            "  Plesk secret_key/get_info with 19,990 <key> elements: {} hashes ran, {:.1} ms, HTTP {status}, {}",
            core.hashes_run() - before,
            took.as_secs_f64() * 1000.0,
            answered
        );
        let before = core.hashes_run();
        let started = Instant::now();
        let mut refused = 0;
        for i in 0..1000 {
            let login = if i % 2 == 0 {
                "admin".to_owned()
            } else {
                format!("user{i}")
            };
            let headers = vec![
                ("HTTP_AUTH_LOGIN", login),
                ("HTTP_AUTH_PASSWD", "wrong".to_owned()),
            ];
            let (_, _, body) = send(
                &app,
                &headers,
                "/enterprise/control/agent.php",
                b"<packet><server><get_protos/></server></packet>".to_vec(),
            )
            .await;
            refused += usize::from(body.contains("1001"));
        }
        println!(
            "  1,000 wrong-password Plesk logins from one address (half for admin, half for other logins): {} hashes ran, {refused} refused with 1001, {:.1} s",
            core.hashes_run() - before,
            started.elapsed().as_secs_f64()
        );
        let limits = core.limits();
        println!(
            "  limits: {} failed logins per address and login per minute, {} per address per minute; {} hashes at once at most",
            limits.failed_logins_per_minute,
            limits.failed_logins_per_address_per_minute,
            std::thread::available_parallelism().map_or(2, |n| n.get())
        );
    });
}

async fn report(app: &App, name: &str, headers: &[(&str, String)], path: &str, body: Vec<u8>) {
    let mut times = Vec::new();
    let mut last = (0, String::new());
    for _ in 0..5 {
        let (took, status, text) = send(app, headers, path, body.clone()).await;
        times.push(took);
        last = (status, text);
    }
    times.sort();
    println!(
        "  {name}: median {:.1} ms, max {:.1} ms (HTTP {}, {} bytes sent) {}",
        times[2].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0,
        last.0,
        body.len(),
        last.1
            .chars()
            .take(80)
            .collect::<String>()
            .replace('\n', " ")
    );
}
