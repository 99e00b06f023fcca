//! `cargo bench -p panelgate-server --bench ispsystem`: requests per second and latency
//! percentiles of the ISPsystem API through the real router (one client, sequential): the
//! unauthenticated path, a wrong password, and an `account` list of 25 rows (by session and
//! by `authinfo`).

use panelgate_server::App;

mod support;

async fn get(app: &App, target: &str) -> (std::time::Duration, String) {
    support::call(app, "GET", target, "text/plain", "").await
}

async fn measure(app: &App, name: &str, target: &str, n: usize, expect: &str) {
    support::measure(app, name, "GET", target, "text/plain", "", n, expect).await;
}

fn main() {
    support::run(async {
        let demo = support::demo().await;
        demo.add_customers(1, 3..=25).await;
        let app = demo.app();
        let (_, login) = get(
            &app,
            "/billmgr?func=auth&username=admin&password=changeme1Q**&out=text",
        )
        .await;
        let session = login
            .lines()
            .find_map(|l| l.strip_prefix("auth="))
            .expect("a session")
            .to_owned();
        // The first authinfo request verifies the password in full; later ones hit the cache.
        get(&app, "/billmgr?func=account&authinfo=admin:changeme1Q**").await;
        measure(
            &app,
            "no credentials (auth error)",
            "/billmgr?func=account&out=xml",
            5_000,
            "badpassword",
        )
        .await;
        measure(
            &app,
            "account list, 25 rows, auth=SESSION, xml",
            &format!("/billmgr?func=account&auth={session}&out=xml"),
            2_000,
            "<p_elems>25</p_elems>",
        )
        .await;
        measure(
            &app,
            "account list, 25 rows, auth=SESSION, json",
            &format!("/billmgr?func=account&auth={session}&out=json"),
            2_000,
            "\"p_elems\":{\"$\":\"25\"}",
        )
        .await;
        measure(
            &app,
            "account list, 25 rows, authinfo (cached), xml",
            "/billmgr?func=account&authinfo=admin:changeme1Q**&out=xml",
            2_000,
            "<p_elems>25</p_elems>",
        )
        .await;
        // Each wrong password is one full argon2 verification until the failed-login limit of
        // the minute; after it the refusal is immediate (both are measured here).
        measure(
            &app,
            "wrong password (argon2, then the limiter)",
            "/billmgr?func=account&authinfo=admin:wrong&out=xml",
            100,
            "badpassword",
        )
        .await;
    });
}
