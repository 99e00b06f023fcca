//! `cargo bench -p panelgate-server --bench httpapi`: requests per second and latency
//! percentiles of the httpapi.com API through the real router (one client, sequential):
//! `customers/details-by-id`, `customers/search` of 10 rows, `resellers/details`, a wrong
//! api-key, and `backup/us/add` (NoInvoice).

mod support;

const AUTH: &str = "auth-userid=2&api-key=demo-httpapi-key";
const FORM: &str = "application/x-www-form-urlencoded";

fn main() {
    support::run(async {
        let demo = support::demo().await;
        let sys = demo.system.actor();
        // reseller1 may have 10 customers: customer2 and nine more.
        demo.add_customers(2, 3..=11).await;
        let hosting = demo
            .core
            .subscriptions()
            .list(&sys)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.customer_id == 2)
            .unwrap()
            .id;
        let app = demo.app();
        // The first request verifies the key in full; later ones hit the cache.
        support::call(
            &app,
            "GET",
            &format!("/api/resellers/details.json?{AUTH}"),
            FORM,
            "",
        )
        .await;
        let get = |name: &'static str, target: String, n: usize, expect: &'static str| {
            let app = app.clone();
            async move { support::measure(&app, name, "GET", &target, FORM, "", n, expect).await }
        };
        get(
            "customers/details-by-id",
            format!("/api/customers/details-by-id.json?{AUTH}&customer-id=2"),
            5_000,
            "\"customerid\":\"2\"",
        )
        .await;
        get(
            "customers/search, 10 rows",
            format!("/api/customers/search.json?{AUTH}&no-of-records=10&page-no=1"),
            2_000,
            "\"recsonpage\":\"10\"",
        )
        .await;
        get(
            "customers/details-by-id, xml",
            format!("/api/customers/details-by-id.xml?{AUTH}&customer-id=2"),
            5_000,
            "<string>customer2</string>",
        )
        .await;
        get(
            "resellers/details",
            format!("/api/resellers/details.json?{AUTH}"),
            5_000,
            "\"resellerid\":\"2\"",
        )
        .await;
        support::measure(
            &app,
            "backup/us/add (NoInvoice)",
            "POST",
            "/api/backup/us/add.json",
            FORM,
            &format!("{AUTH}&storage-size-gb=5&customer-id=2&hosting-order-id={hosting}&months=12&plan-id=1001&invoice-option=NoInvoice"),
            1_000,
            "\"actiontype\":\"Add\"",
        )
        .await;
        // Each wrong key is a full secret verification until the failed-login limit of the
        // minute; after it the refusal is immediate (both are measured here).
        get(
            "wrong api-key (verification, then the limiter)",
            "/api/resellers/details.json?auth-userid=2&api-key=wrong".into(),
            300,
            "\"status\":\"ERROR\"",
        )
        .await;
    });
}
