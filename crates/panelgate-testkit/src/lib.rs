//! Test helpers: a panelgate app on a fresh database (a temporary SQLite file by default, or a
//! scratch database on the PostgreSQL / MariaDB server named by `PANELGATE_TEST_POSTGRES_URL` /
//! `PANELGATE_TEST_MYSQL_URL`), a clock stopped at [`TEST_EPOCH`] (it moves when advanced), and an in-process client that goes through the
//! real router.
//!
//! On SQLite a test's database is a copy of a template made once per test process (migrated, and
//! with the demo data for [`TestApp::demo`]), so no test pays for migrations or for hashing the
//! demo passwords. [`TestApp::sys`], [`TestApp::as_admin`] and [`TestApp::as_customer`] give
//! core calls an actor; [`send`] and [`TestApp::froxlor`] speak to the router.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use panelgate_core::seed::DataSet;
use panelgate_core::{Actor, Core, CoreOptions, Limits, Principal, SystemCap, VirtualClock};
use panelgate_froxlor::FroxlorVersion;
use panelgate_server::{App, AppOptions};

pub use panelgate_froxlor;
pub use panelgate_server;

/// The clock tests start at (the time of the first Froxlor capture).
pub const TEST_EPOCH: i64 = 1_795_386_066;

/// Which database the tests run on, from the environment.
pub fn backend() -> &'static str {
    if std::env::var("PANELGATE_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        "postgres"
    } else if std::env::var("PANELGATE_TEST_MYSQL_URL").is_ok_and(|v| !v.is_empty()) {
        "mysql"
    } else {
        "sqlite"
    }
}

/// A database for one test; the SQLite file lives as long as this value.
pub struct TestDb {
    pub url: String,
    /// The data directory (home folders, archives), removed with this value.
    pub data_dir: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
}

/// Which prepared database a test starts from (SQLite only: a copy of a file made once per test
/// process, so no test pays for migrations or for hashing the demo data's passwords again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Template {
    /// Migrated, no data.
    Empty,
    /// Migrated, with `fixtures/demo.toml` loaded at [`TEST_EPOCH`].
    Demo,
}

struct Templates {
    _dir: tempfile::TempDir,
    empty: std::path::PathBuf,
    demo: std::path::PathBuf,
}

static TEMPLATES: tokio::sync::OnceCell<Templates> = tokio::sync::OnceCell::const_new();

async fn templates() -> &'static Templates {
    TEMPLATES
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("temp dir");
            let make = |name: &str| dir.path().join(name).join("panelgate.db");
            let (empty, demo) = (make("empty"), make("demo"));
            for (path, load) in [(&empty, false), (&demo, true)] {
                std::fs::create_dir_all(path.parent().unwrap()).expect("template dir");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let clock = VirtualClock::frozen_at(TEST_EPOCH);
                let (core, system) = Core::open_with(
                    &url,
                    path.parent().unwrap(),
                    CoreOptions {
                        clock: Arc::new(clock),
                        limits: Limits::default(),
                        ..CoreOptions::default()
                    },
                )
                .await
                .expect("template database");
                if load {
                    let data = panelgate_server::demo_data().expect("fixtures/demo.toml parses");
                    core.load(&system, &data).await.expect("demo data");
                }
                core.close().await.expect("closing the template");
            }
            Templates {
                _dir: dir,
                empty,
                demo,
            }
        })
        .await
}

pub async fn test_db() -> TestDb {
    test_db_from(Template::Empty).await
}

/// Copy a SQLite database file and its write-ahead log.
fn copy_sqlite(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).expect("copying the template database");
    let wal = |p: &std::path::Path| {
        let mut s = p.as_os_str().to_owned();
        s.push("-wal");
        std::path::PathBuf::from(s)
    };
    if wal(from).exists() {
        std::fs::copy(wal(from), wal(to)).expect("copying the template log");
    }
}

async fn test_db_from(template: Template) -> TestDb {
    for var in ["PANELGATE_TEST_POSTGRES_URL", "PANELGATE_TEST_MYSQL_URL"] {
        if let Ok(base) = std::env::var(var) {
            if !base.is_empty() {
                let url = panelgate_core::db::create_scratch_database(&base)
                    .await
                    .unwrap_or_else(|e| panic!("{var}: {e}"));
                return TestDb {
                    url,
                    data_dir: tempfile::tempdir().expect("temp dir"),
                    _dir: None,
                };
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("panelgate.db");
    let templates = templates().await;
    copy_sqlite(
        match template {
            Template::Empty => &templates.empty,
            Template::Demo => &templates.demo,
        },
        &file,
    );
    let url = format!("sqlite://{}?mode=rwc", file.display());
    TestDb {
        url,
        data_dir: tempfile::tempdir().expect("temp dir"),
        _dir: Some(dir),
    }
}

/// A running app (in process) on its own database.
pub struct TestApp {
    pub app: App,
    pub core: Core,
    /// The server's own capability (what the control API acts with).
    pub system: Arc<SystemCap>,
    pub clock: Arc<VirtualClock>,
    pub db: TestDb,
}

/// An answer, with the body as text.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as text (lossy for binary bodies: see `bytes`).
    pub body: String,
    pub bytes: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The Froxlor `message` of an error answer.
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// A fresh database without any data.
    pub async fn empty(version: FroxlorVersion) -> TestApp {
        TestApp::empty_with(AppOptions::with_version(version), Limits::default()).await
    }

    /// A fresh database without any data, with these router options and core limits (the
    /// settings a `Config` carries).
    pub async fn empty_with(options: AppOptions, limits: Limits) -> TestApp {
        TestApp::open(test_db_from(Template::Empty).await, options, limits).await
    }

    async fn open(db: TestDb, options: AppOptions, limits: Limits) -> TestApp {
        let clock = Arc::new(VirtualClock::frozen_at(TEST_EPOCH));
        let (core, system) = Core::open_with(
            &db.url,
            db.data_dir.path(),
            CoreOptions {
                clock: clock.clone(),
                limits,
                ..CoreOptions::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", db.url));
        let system = Arc::new(system);
        let app = App::new(core.clone(), system.clone(), options);
        TestApp {
            app,
            core,
            system,
            clock,
            db,
        }
    }

    /// A fresh database loaded with `data`.
    pub async fn with(data: &DataSet, version: FroxlorVersion) -> TestApp {
        let t = TestApp::empty(version).await;
        t.load(data).await;
        t
    }

    /// Load a data set into this app's database.
    pub async fn load(&self, data: &DataSet) {
        self.core
            .load(&self.system, data)
            .await
            .expect("loading the data set");
    }

    /// A fresh database with the demo data set.
    pub async fn demo() -> TestApp {
        TestApp::demo_with(AppOptions::default(), Limits::default()).await
    }

    /// The demo data set with these router options and core limits (on SQLite a copy of a
    /// database prepared once per test process).
    pub async fn demo_with(options: AppOptions, limits: Limits) -> TestApp {
        if backend() == "sqlite" {
            return TestApp::open(test_db_from(Template::Demo).await, options, limits).await;
        }
        let data = panelgate_server::demo_data().expect("fixtures/demo.toml parses");
        let t = TestApp::empty_with(options, limits).await;
        t.load(&data).await;
        t
    }

    /// The server itself, as an actor of core calls.
    pub fn sys(&self) -> Actor {
        self.system.actor()
    }

    /// Act as the customer `id` (core calls in tests).
    pub async fn as_customer(&self, id: i64) -> Principal {
        let c = self
            .core
            .customers()
            .get(&self.sys(), &panelgate_core::CustomerRef::Id(id))
            .await
            .expect("customer exists");
        self.system.as_customer(&c)
    }

    /// The admin or reseller `id`, as the server reads it.
    pub async fn admin(&self, id: i64) -> panelgate_core::Admin {
        self.core
            .admins()
            .get(&self.sys(), &panelgate_core::admins::AdminRef::Id(id))
            .await
            .expect("admin exists")
    }

    /// Act as the admin or reseller `id` (core calls in tests).
    pub async fn as_admin(&self, id: i64) -> Principal {
        let a = self.admin(id).await;
        self.system.as_admin(&a)
    }

    /// Another app (e.g. another Froxlor version) on the same database.
    pub fn app_with_version(&self, version: FroxlorVersion) -> App {
        self.app_with(AppOptions::with_version(version))
    }

    /// Another app with these options on the same database.
    pub fn app_with(&self, options: AppOptions) -> App {
        App::new(self.core.clone(), self.system.clone(), options)
    }

    /// Send a request through the router. `auth` is `key:secret` for HTTP Basic.
    pub async fn request(
        &self,
        method: &str,
        target: &str,
        auth: Option<&str>,
        body: impl Into<Bytes>,
    ) -> TestResponse {
        send(&self.app, method, target, auth, body).await
    }

    /// `POST /api.php` with Basic auth.
    pub async fn froxlor(&self, auth: &str, body: &str) -> TestResponse {
        self.request("POST", "/api.php", Some(auth), body.to_owned())
            .await
    }
}

/// Send a Froxlor-style request through `app`'s router: JSON content type, and HTTP Basic
/// `key:secret` when `auth` is given.
pub async fn send(
    app: &App,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: impl Into<Bytes>,
) -> TestResponse {
    let basic = auth.map(|auth| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(auth)
        )
    });
    let mut headers = vec![("content-type", "application/json")];
    if let Some(basic) = &basic {
        headers.push(("authorization", basic.as_str()));
    }
    send_with(app, method, target, &headers, body).await
}

/// Send a request with exactly these headers (any protocol) through the router, as a client on
/// loopback would: the body is collected by the same code the listener uses.
pub async fn send_with(
    app: &App,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> TestResponse {
    let mut req = http::Request::builder().method(method).uri(target);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(http_body_util::Full::new(body.into()))
        .expect("a valid request");
    let resp = app
        .handle_http(req, std::net::SocketAddr::from(([127, 0, 0, 1], 9)))
        .await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// Plesk login headers of a demo account (password `changeme1Q**`).
pub fn plesk_login(login: &str) -> [(&str, &str); 2] {
    [
        ("HTTP_AUTH_LOGIN", login),
        ("HTTP_AUTH_PASSWD", "changeme1Q**"),
    ]
}

impl TestApp {
    /// `POST /enterprise/control/agent.php` with these headers (`plesk_login(..)`, `KEY`).
    pub async fn plesk(&self, headers: &[(&str, &str)], packet: &str) -> TestResponse {
        let mut all = vec![("content-type", "text/xml")];
        all.extend_from_slice(headers);
        send_with(
            &self.app,
            "POST",
            "/enterprise/control/agent.php",
            &all,
            packet.to_owned(),
        )
        .await
    }

    /// A control API request from loopback, without credentials.
    pub async fn control(
        &self,
        method: &str,
        target: &str,
        body: impl Into<Bytes>,
    ) -> TestResponse {
        send_with(&self.app, method, target, &[], body).await
    }
}

pub const ADMIN_KEY: &str = "demo-froxlor-admin-key:demo-froxlor-admin-secret";
pub const RESELLER_KEY: &str = "demo-froxlor-reseller-key:demo-froxlor-reseller-secret";
pub const CUSTOMER1_KEY: &str = "demo-froxlor-customer1-key:demo-froxlor-customer1-secret";
