//! `cargo bench -p panelgate-server --bench plesk`: how fast hostile or wrong Plesk packets are
//! answered with a `<system>` error (issue 4: each in under 100 ms), and the latency of a
//! normal customer listing, through the real router.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use panelgate_server::App;

type Headers<'a> = &'a [(&'a str, &'a str)];

async fn send(app: &App, auth: Headers<'_>, body: Vec<u8>) -> (Duration, String) {
    let mut req = http::Request::post("/enterprise/control/agent.php");
    for (k, v) in auth {
        req = req.header(*k, *v);
    }
    let started = Instant::now();
    let resp = app
        .handle_http(
            req.body(Full::new(Bytes::from(body))).unwrap(),
            "127.0.0.1:9".parse().unwrap(),
        )
        .await;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        started.elapsed(),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

mod support;

fn main() {
    support::run(async {
        let demo = support::demo().await;
        let app = demo.app();
        let admin: Headers = &[
            ("HTTP_AUTH_LOGIN", "admin"),
            ("HTTP_AUTH_PASSWD", "changeme1Q**"),
        ];
        let wrong: Headers = &[("HTTP_AUTH_LOGIN", "admin"), ("HTTP_AUTH_PASSWD", "wrong")];
        let listing = b"<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>".to_vec();
        send(&app, admin, listing.clone()).await; // the first request verifies the password in full
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]><packet>&lol9;</packet>",
            (1..10).map(|i| format!("<!ENTITY lol{i} \"{}\">", format!("&lol{};", i - 1).repeat(10))).collect::<String>()
        );
        let mut big = b"<packet><customer><add><gen_info><pname>".to_vec();
        big.resize(10 * 1024 * 1024, b'x');
        let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
            ("customer listing (valid, cached credentials)", admin, listing),
            ("truncated XML", admin, b"<packet><customer><add><gen_info><pname>x".to_vec()),
            ("10 MB packet", admin, big),
            ("10,000 nested elements", admin, format!("<packet>{}{}</packet>", "<customer>".repeat(10_000), "</customer>".repeat(10_000)).into_bytes()),
            ("XML bomb (entity expansion)", admin, bomb.into_bytes()),
            ("DOCTYPE with an external entity", admin, b"<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><packet>&x;</packet>".to_vec()),
            ("invalid UTF-8", admin, b"<packet><customer>\xff\xfe</customer></packet>".to_vec()),
            ("wrong password on a valid packet", wrong, b"<packet><server><get_protos/></server></packet>".to_vec()),
        ];
        for (name, auth, body) in cases {
            let mut times = Vec::new();
            let mut answer = String::new();
            for _ in 0..20 {
                let (t, a) = send(&app, auth, body.clone()).await;
                times.push(t);
                answer = a;
            }
            times.sort();
            let code = answer
                .split("<errcode>")
                .nth(1)
                .and_then(|r| r.split('<').next())
                .unwrap_or("-");
            println!(
                "{name:<48} errcode {code:>5}  median {:>7.2} ms  max {:>7.2} ms",
                times[times.len() / 2].as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3
            );
        }
    });
}
