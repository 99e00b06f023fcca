//! The panelgate server: configuration, the router on one hyper listener, the control API,
//! demo data and graceful shutdown. `main.rs` is a thin wrapper around [`run`].

pub mod config;
pub mod control;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use panelgate_core::seed::DataSet;
use panelgate_core::Core;
use panelgate_froxlor::{Froxlor, FroxlorVersion};
use panelgate_http::{Frontend, Request, Response};
use panelgate_plesk::Plesk;
use tokio::net::TcpListener;
use tracing::Instrument;

pub use config::Config;

/// The largest archive the control API accepts by default (4 GiB).
pub const DEFAULT_UPLOAD_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

/// The demo data set, `fixtures/demo.toml`, built into the binary.
pub const DEMO_TOML: &str = include_str!("../../../fixtures/demo.toml");

pub fn demo_data() -> Result<DataSet, toml::de::Error> {
    toml::from_str(DEMO_TOML)
}

/// Every frontend on one router.
#[derive(Clone)]
pub struct App {
    core: Core,
    froxlor: Froxlor,
    plesk: Plesk,
    body_limit: usize,
    upload_limit: u64,
    access: control::Access,
    requests: Arc<AtomicU64>,
}

impl App {
    pub fn new(core: Core, froxlor_version: FroxlorVersion, body_limit: usize) -> App {
        App {
            froxlor: Froxlor::new(core.clone(), froxlor_version),
            plesk: Plesk::new(core.clone()),
            core,
            body_limit,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            access: control::Access::default(),
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Plesk strict mode (see [`Plesk::strict_backup_versions`]).
    pub fn with_plesk_strict(mut self, strict: bool) -> App {
        self.plesk = Plesk::new(self.core.clone()).strict_backup_versions(strict);
        self
    }

    /// Set the largest archive upload and the control API's bearer token.
    pub fn with_control(mut self, upload_limit: u64, token: Option<String>) -> App {
        self.upload_limit = upload_limit;
        self.access = control::Access { token };
        self
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Route a collected request to its frontend.
    pub async fn handle(&self, req: Request) -> Response {
        let id = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let started = Instant::now();
        let protocol = if self.froxlor.matches(&req.uri) {
            self.froxlor.protocol()
        } else if self.plesk.matches(&req.uri) {
            self.plesk.protocol()
        } else if req.uri.path().starts_with("/_panelgate/") {
            "control"
        } else {
            "none"
        };
        let span = tracing::info_span!("request", request.id = id, protocol, method = %req.method, path = %req.uri.path());
        async move {
            let resp = match protocol {
                "froxlor" => self.froxlor.handle(req).await,
                "plesk" => self.plesk.handle(req).await,
                "control" if !self.access.allows(&req.headers, req.peer) => control::forbidden(),
                "control" => control::handle(&self.core, &req).await,
                _ => control::not_found(),
            };
            let status = resp.status().as_u16();
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            if status >= 500 {
                tracing::warn!(status, elapsed_ms, "answered");
            } else {
                tracing::debug!(status, elapsed_ms, "answered");
            }
            resp
        }
        .instrument(span)
        .await
    }

    /// Collect a request's body under the body limit and handle it.
    pub async fn handle_http<B>(&self, req: http::Request<B>, peer: SocketAddr) -> Response
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if req.method() == http::Method::POST && req.uri().path() == "/_panelgate/archives" {
            if !self.access.allows(req.headers(), Some(peer)) {
                return control::forbidden();
            }
            let uri = req.uri().clone();
            let body = panelgate_http::body_reader(req.into_body());
            return control::upload(&self.core, &uri, body, self.upload_limit).await;
        }
        let req = Request::collect(req, Some(peer), self.body_limit).await;
        self.handle(req).await
    }
}

/// Open the database, load the demo data into a fresh one, and build the app. Returns the app
/// and whether the demo data was loaded.
pub async fn build(config: &Config) -> Result<(App, bool), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let core = Core::open(&config.database_url, &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let mut loaded_demo = false;
    if (config.demo || config.seed.is_some()) && core.is_empty().await.map_err(|e| e.to_string())? {
        let data = match &config.seed {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => demo_data().map_err(|e| format!("demo data: {e}"))?,
        };
        core.load(&data)
            .await
            .map_err(|e| format!("loading demo data: {e}"))?;
        loaded_demo = true;
    }
    Ok((
        App::new(core, config.froxlor_version, config.body_limit),
        loaded_demo,
    ))
}

/// Serve `app` on `listener` until `shutdown` resolves, then let open connections finish
/// (for up to 10 seconds).
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let service = service_fn(move |req: http::Request<Incoming>| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(app.handle_http(req, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .title_case_headers(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => {
                tracing::info!("shutting down: no new connections");
                break;
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("connections still open after 10 s; stopping"),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The lines printed at startup: where to reach each API.
pub fn banner(config: &Config, addr: SocketAddr, backend: &str, loaded_demo: bool) -> String {
    let base = format!("http://{addr}");
    let mut out = String::new();
    out.push_str(&format!(
        "panelgate {} listening on {base}\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(&format!(
        "database: {} ({backend}){}\n",
        panelgate_core::db::describe_url(&config.database_url),
        if loaded_demo {
            ", fresh: demo data loaded"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "Froxlor API answers as Froxlor {}\n",
        config.froxlor_version.release()
    ));
    if loaded_demo {
        out.push_str("\ndemo credentials (fixtures/demo.toml):\n");
        out.push_str("  admin      admin / changeme1Q**      Froxlor key demo-froxlor-admin-key:demo-froxlor-admin-secret\n");
        out.push_str("  reseller   reseller1 / changeme1Q**  Froxlor key demo-froxlor-reseller-key:demo-froxlor-reseller-secret\n");
        out.push_str("  customers  customer1, customer2 / changeme1Q**  (customer1 key demo-froxlor-customer1-key:demo-froxlor-customer1-secret)\n");
    }
    out.push_str("\ntry:\n");
    out.push_str(&format!(
        "  Froxlor:  curl -s -u demo-froxlor-admin-key:demo-froxlor-admin-secret -d '{{\"command\":\"Customers.listing\"}}' {base}/api.php\n"
    ));
    out.push_str(&format!(
        "  Plesk:    curl -s -H 'HTTP_AUTH_LOGIN: admin' -H 'HTTP_AUTH_PASSWD: changeme1Q**' -H 'HTTP_PRETTY_PRINT: TRUE' -d '<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>' {base}/enterprise/control/agent.php\n"
    ));
    out.push_str(&format!("  health:   curl -s {base}/_panelgate/health\n"));
    out
}
