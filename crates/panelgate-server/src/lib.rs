//! The panelgate server: configuration, the router on one hyper listener, the control API,
//! demo data and graceful shutdown. `main.rs` is a thin wrapper around [`build`] and [`serve`].
//!
//! # A request's path
//! 1. [`serve`] accepts a connection (at most `max_connections` at once; header and body read
//!    timeouts apply) and hands each request to [`App::handle_http`];
//! 2. the body is collected under the body limit ([`panelgate_http::Request::collect`]), or an
//!    archive upload is streamed to the control API;
//! 3. [`App::handle`] makes the request's [`panelgate_http::Context`] (its id), asks the
//!    [`panelgate_http::Router`] for the frontend (Froxlor, Plesk, ISPsystem, httpapi.com) or serves the [`control`] API
//!    under `/_panelgate/`, echoes `X-Request-Id`, and writes the request's one log line.
//!
//! # Modules
//! * [`config`]: flags, environment and the TOML file, resolved into [`Config`];
//!   [`AppOptions::from_config`] and [`build`] apply every setting.
//! * [`control`]: the control API (acts as the server, with the core's [`panelgate_core::SystemCap`]).

pub mod cli;
pub mod config;
pub mod control;
mod journaling;
pub mod metrics;
pub mod openapi;
pub mod tls;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use panelgate_core::seed::DataSet;
use panelgate_core::{Core, CoreOptions, SystemCap};
use panelgate_froxlor::{Froxlor, FroxlorVersion};
use panelgate_http::{BodyLimits, Context, Request, Response, Router};
use panelgate_httpapi::HttpApi;
use panelgate_ispsystem::IspSystem;
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

/// What the router needs from the configuration (see [`AppOptions::from_config`]).
#[derive(Clone, Debug)]
pub struct AppOptions {
    pub froxlor_version: FroxlorVersion,
    pub body: BodyLimits,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub upload_limit: u64,
    pub control_token: Option<String>,
    pub plesk_strict: bool,
    /// Record Prometheus metrics (`--no-metrics` turns them off).
    pub metrics: bool,
    /// Hosts ISPsystem `backups.upload&url=` may fetch from.
    pub upload_url_hosts: Vec<String>,
    /// What `POST /_panelgate/reset` loads.
    pub seed: Seed,
    /// Fault rules in force from the start (`[[faults]]`).
    pub faults: Vec<panelgate_http::faults::Rule>,
    /// The listeners' base URLs, as the dashboard shows them.
    pub listeners: Vec<String>,
}

/// The data set a fresh database gets, and a reset brings back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// The demo data set built into the binary.
    Demo,
    /// A data set file (`--seed`): TOML or JSON lines.
    File(std::path::PathBuf),
    /// Nothing.
    Empty,
}

impl Seed {
    pub fn from_config(config: &Config) -> Seed {
        match (&config.seed, config.demo) {
            (Some(path), _) => Seed::File(path.clone()),
            (None, true) => Seed::Demo,
            (None, false) => Seed::Empty,
        }
    }

    /// Load this data set into `core`.
    pub async fn load(&self, core: &Core, system: &SystemCap) -> Result<(), String> {
        match self {
            Seed::File(path) => load_file(core, system, path, |_| {}).await.map(drop),
            Seed::Demo => {
                let data = demo_data().map_err(|e| format!("demo data: {e}"))?;
                core.load(system, &data)
                    .await
                    .map_err(|e| format!("loading demo data: {e}"))
            }
            Seed::Empty => Ok(()),
        }
    }
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            froxlor_version: FroxlorVersion::V2_0,
            body: BodyLimits::default(),
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            control_token: None,
            plesk_strict: false,
            metrics: true,
            upload_url_hosts: Vec::new(),
            seed: Seed::Demo,
            faults: Vec::new(),
            listeners: Vec::new(),
        }
    }
}

impl AppOptions {
    /// The options `main` runs with: every setting of the resolved configuration.
    pub fn from_config(config: &Config) -> AppOptions {
        AppOptions {
            froxlor_version: config.froxlor_version,
            body: BodyLimits {
                limit: config.body_limit,
                timeout: config.body_read_timeout,
            },
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
            upload_limit: config.upload_limit,
            control_token: config.control_token.clone(),
            plesk_strict: config.plesk_strict,
            metrics: config.metrics,
            upload_url_hosts: config.upload_url_hosts.clone(),
            seed: Seed::from_config(config),
            faults: config.faults.clone(),
            listeners: std::iter::once(format!("http://{}", config.listen))
                .chain(config.tls_listen.iter().map(|a| format!("https://{a}")))
                .collect(),
        }
    }

    pub fn with_version(froxlor_version: FroxlorVersion) -> AppOptions {
        AppOptions {
            froxlor_version,
            ..AppOptions::default()
        }
    }
}

/// Every frontend on one router.
#[derive(Clone)]
pub struct App {
    core: Core,
    system: Arc<SystemCap>,
    router: Router,
    options: AppOptions,
    access: control::Access,
    /// Held by a reset (one at a time).
    resetting: Arc<tokio::sync::Mutex<()>>,
    /// Fault rules (`/_panelgate/faults`).
    faults: Arc<panelgate_http::faults::Faults>,
}

impl App {
    /// The router over `core`; `system` is the capability the control API acts with.
    pub fn new(core: Core, system: Arc<SystemCap>, options: AppOptions) -> App {
        let faults = Arc::new(panelgate_http::faults::Faults::default());
        for rule in &options.faults {
            // Checked when the configuration was read.
            if let Err(e) = faults.add(rule.clone()) {
                tracing::warn!(error = %e, "fault rule left out");
            }
        }
        App {
            faults,
            router: Router::new(vec![
                Arc::new(Froxlor::new(core.clone(), options.froxlor_version)),
                Arc::new(Plesk::new(core.clone()).strict_backup_versions(options.plesk_strict)),
                Arc::new(
                    IspSystem::new(core.clone())
                        .with_uploads(options.upload_url_hosts.clone(), options.upload_limit),
                ),
                Arc::new(HttpApi::new(core.clone())),
            ]),
            access: control::Access {
                token: options.control_token.clone(),
            },
            core,
            system,
            options,
            resetting: Arc::default(),
        }
    }

    /// The listeners as they were bound (a port 0 in the configuration becomes the real one),
    /// for the dashboard.
    pub fn with_listeners(mut self, listeners: Vec<String>) -> App {
        self.options.listeners = listeners;
        self
    }

    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn body_limit(&self) -> usize {
        self.options.body.limit
    }

    /// Route a collected request to its frontend, echo the request id, and write the one log
    /// line of the request (`request.id`, `protocol`, `call`, `actor`, `status`, `elapsed_ms`).
    pub async fn handle(&self, req: Request) -> Response {
        let started = Instant::now();
        let frontend = self.router.route(&req.uri).cloned();
        let cx = match &frontend {
            Some(f) => Context::new(&req.headers).with_faults(self.faults.clone(), f.protocol()),
            None => Context::new(&req.headers),
        };
        let control = frontend.is_none() && req.uri.path().starts_with("/_panelgate/");
        let protocol = match (&frontend, control) {
            (Some(f), _) => f.protocol(),
            (None, true) => "control",
            (None, false) => "none",
        };
        let span = tracing::info_span!("request", request.id = %cx.id());
        // One request: its cached reads check once whether another instance wrote.
        let handled = async {
            match frontend {
                Some(f) if self.core.journal().enabled() => {
                    // Journaled: the request, what the core touched, the answer (redacted when
                    // the journal is read, or written to a shared database).
                    let request = journaling::KeptRequest::take(&req);
                    let (resp, touched) = panelgate_core::journal::request(
                        protocol,
                        panelgate_core::journal::scope(f.handle(req, &cx)),
                    )
                    .await;
                    let (resp, response) = journaling::KeptResponse::take(resp).await;
                    let fault = cx.fired().map_or_else(String::new, |f| {
                        format!("rule {}: {}", f.rule, f.effect.as_str())
                    });
                    let texts = journaling::Kept {
                        request: &request,
                        response: &response,
                        answer: &resp,
                    };
                    cx.with_noted(|call, actor| {
                        self.core
                            .journal()
                            .record(panelgate_core::journal::NewEntry {
                                request_id: cx.id(),
                                protocol,
                                call,
                                actor,
                                status: resp.status().as_u16(),
                                duration_ms: started.elapsed().as_secs_f64() * 1e3,
                                touched,
                                texts: &texts,
                                fault,
                            })
                    });
                    resp
                }
                Some(f) => panelgate_core::journal::request(protocol, f.handle(req, &cx)).await,
                None if control => {
                    cx.set_call(format!("{} {}", req.method, req.uri.path()));
                    let path = req.uri.path();
                    match ui::Route::parse(req.method.as_str(), path) {
                        _ if control::cross_site(&req.method, &req.headers) => control::forbidden(),
                        Some(route) if route.is_login() => ui::handle(self, &req, route).await,
                        _ if !self.access.allows(&req.headers, req.peer) => {
                            if ui::is_ui(path) {
                                ui::refused(self, &req)
                            } else {
                                control::forbidden()
                            }
                        }
                        route => {
                            cx.set_actor("system");
                            match route {
                                Some(route) => ui::handle(self, &req, route).await,
                                None if ui::is_ui(path) => control::not_found(),
                                None => control::handle(self, &req).await,
                            }
                        }
                    }
                }
                None => control::not_found(),
            }
        }
        .instrument(span);
        let resp = self.core.in_request(handled).await;
        let resp = match cx.fired() {
            Some(fired) => {
                if self.options.metrics {
                    metrics::record_fault(protocol, fired.effect.as_str());
                }
                faulted(resp, fired.effect).await
            }
            None => resp,
        };
        finish(&cx, protocol, started, resp, self.options.metrics)
    }

    /// Collect a request's body under the body limit and handle it.
    pub async fn handle_http<B>(&self, req: http::Request<B>, peer: SocketAddr) -> Response
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let route = control::Route::parse(req.method().as_str(), req.uri().path());
        if route == Some(control::Route::UploadArchive) {
            // Uploads stream to disk instead of being collected.
            let started = Instant::now();
            let cx = Context::new(req.headers());
            cx.set_call("POST /_panelgate/archives");
            let resp = if control::cross_site(req.method(), req.headers()) {
                control::forbidden()
            } else if self.access.allows(req.headers(), Some(peer)) {
                cx.set_actor("system");
                let uri = req.uri().clone();
                let body = panelgate_http::body_reader(req.into_body());
                control::upload(
                    &self.core,
                    &self.system,
                    &uri,
                    body,
                    self.options.upload_limit,
                )
                .await
            } else {
                control::forbidden()
            };
            return finish(&cx, "control", started, resp, self.options.metrics);
        }
        let req = Request::collect(req, Some(peer), self.options.body).await;
        self.handle(req).await
    }
}

/// Marks an answer whose connection is to be dropped instead of answered (a `drop` fault).
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// The connection ended by a `drop` fault (the error hyper closes the connection on).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub struct DroppedByFault;

/// Apply a transport fault to an answer: `drop` marks it, `truncate` sends the first half of
/// its body under the full `Content-Length`, then fails the body (hyper closes the
/// connection).
async fn faulted(resp: Response, effect: panelgate_http::faults::Effect) -> Response {
    use http_body_util::BodyExt;
    use panelgate_http::faults::Effect;
    match effect {
        Effect::Drop => {
            let mut resp = resp;
            resp.extensions_mut().insert(DropConnection);
            resp
        }
        Effect::Truncate => {
            let (mut parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, bytes.len().into());
            let half = bytes.slice(..bytes.len() / 2);
            use futures_util::StreamExt;
            let first: Result<hyper::body::Frame<bytes::Bytes>, std::io::Error> =
                Ok(hyper::body::Frame::data(half));
            // The half is flushed to the client before the body fails.
            let rest = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other("answer truncated by a fault rule"))
            });
            let body =
                http_body_util::StreamBody::new(futures_util::stream::iter([first]).chain(rest));
            Response::from_parts(parts, body.boxed_unsync())
        }
        Effect::Error | Effect::Delay | Effect::FailTask => resp,
    }
}

/// Echo the request id and write the request's one log line.
fn finish(
    cx: &Context,
    protocol: &'static str,
    started: Instant,
    mut resp: Response,
    record_metrics: bool,
) -> Response {
    if let Ok(v) = http::HeaderValue::from_str(cx.id()) {
        resp.headers_mut().insert(panelgate_http::REQUEST_ID, v);
    }
    let status = resp.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let elapsed_ms = elapsed * 1000.0;
    cx.with_noted(|call, actor| {
        if record_metrics {
            metrics::record_request(protocol, call, status, elapsed);
        }
        if status >= 500 {
            tracing::warn!(request.id = %cx.id(), protocol, call, actor, status, elapsed_ms, "request");
        } else {
            tracing::info!(request.id = %cx.id(), protocol, call, actor, status, elapsed_ms, "request");
        }
    });
    resp
}

/// A curl line per panel API (and the health check) against `base`, with the demo data's
/// credentials: the banner prints them, the dashboard shows them.
pub fn curl_examples(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Froxlor", format!("curl -s -u demo-froxlor-admin-key:demo-froxlor-admin-secret -d '{{\"command\":\"Customers.listing\"}}' {base}/api.php")),
        ("Plesk", format!("curl -s -H 'HTTP_AUTH_LOGIN: admin' -H 'HTTP_AUTH_PASSWD: changeme1Q**' -H 'HTTP_PRETTY_PRINT: TRUE' -d '<packet><customer><get><filter/><dataset><gen_info/></dataset></get></customer></packet>' {base}/enterprise/control/agent.php")),
        ("ISPsystem", format!("curl -s '{base}/billmgr?authinfo=admin:changeme1Q**&func=account&out=json'")),
        ("httpapi", format!("curl -s '{base}/api/customers/search.json?auth-userid=2&api-key=demo-httpapi-key&no-of-records=10&page-no=1'")),
        ("health", format!("curl -s {base}/_panelgate/health")),
    ]
}

/// Open the database with the configured limits, load the demo data into a fresh one, and build
/// the app with every setting of `config`. Returns the app and whether the demo data was loaded.
/// Load the data set at `path` into `core`: JSON lines when its first non-blank byte is `{`,
/// TOML otherwise. `progress` hears how many bytes were read so far.
pub async fn load_file(
    core: &Core,
    system: &SystemCap,
    path: &std::path::Path,
    progress: impl FnMut(u64),
) -> Result<panelgate_core::seed::LoadReport, String> {
    use std::io::BufRead;
    let named = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| named(&e))?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, file);
    let json_lines = input
        .fill_buf()
        .map_err(|e| named(&e))?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        == Some(&b'{');
    if json_lines {
        return core
            .load_lines(system, input, progress)
            .await
            .map_err(|e| named(&e));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut input, &mut text).map_err(|e| named(&e))?;
    let data: DataSet = toml::from_str(&text).map_err(|e| named(&e))?;
    core.load(system, &data).await.map_err(|e| named(&e))?;
    let mut progress = progress;
    progress(text.len() as u64);
    Ok(panelgate_core::seed::LoadReport {
        records: (data.settings.len()
            + data.sequences.len()
            + data.admins.len()
            + data.customers.len()
            + data.credentials.len()
            + data.plans.len()
            + data.funds.len()) as u64,
        customers: data.customers.len() as u64,
    })
}

/// Open the core `config` describes (its data directory made if missing), as `serve` and
/// `import` both do.
async fn open_core(config: &Config) -> Result<(Core, SystemCap), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let clock = panelgate_core::VirtualClock::default();
    if let Some(at) = config.clock_at {
        clock
            .try_set(at)
            .map_err(|e| format!("--clock-at {at}: {e}"))?;
    }
    clock.freeze(config.clock_frozen);
    let options = CoreOptions {
        limits: config.limits.clone(),
        password_hashing: config.password_hashing,
        clock: Arc::new(clock),
    };
    Core::open_with(&config.database_url, &config.data_dir, options)
        .await
        .map_err(|e| e.to_string())
}

/// `panelgate import FILE`: open the database `config` names and load the data set at `file`
/// into it (a progress bar on a terminal), then close it.
pub async fn import(config: &Config, file: &std::path::Path) -> Result<String, String> {
    let (core, system) = open_core(config).await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let report = load_file(&core, &system, file, |read| bar.set_position(read)).await;
    bar.finish_and_clear();
    let report = report?;
    core.close().await.map_err(|e| e.to_string())?;
    Ok(format!(
        "imported {} records ({} customers) from {} into {} in {:.1} s\n",
        report.records,
        report.customers,
        file.display(),
        panelgate_core::db::describe_url(&config.database_url),
        started.elapsed().as_secs_f64()
    ))
}

pub async fn build(config: &Config) -> Result<(App, bool), String> {
    let (core, system) = open_core(config).await?;
    let mut loaded_demo = false;
    let seed = Seed::from_config(config);
    if seed != Seed::Empty && core.is_empty().await.map_err(|e| e.to_string())? {
        seed.load(&core, &system).await?;
        loaded_demo = true;
    }
    if let Some(name) = &config.restore_snapshot {
        let restored = core
            .snapshots()
            .restore(&system, name)
            .await
            .map_err(|e| format!("restoring the snapshot {name:?} at start: {e}"))?;
        tracing::info!(
            name,
            created_at = restored.created_at,
            "snapshot restored at start"
        );
    }
    Ok((
        App::new(core, Arc::new(system), AppOptions::from_config(config)),
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
    serve_with(app, listener, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given (the handshake must end within the header read
/// timeout). Each listener admits up to `max_connections` connections of its own.
pub async fn serve_with(
    app: App,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(app.options.max_connections));
    let header_timeout = app.options.header_read_timeout;
    if app.options.metrics {
        metrics::start_upkeep();
    }
    tokio::pin!(shutdown);
    loop {
        // At the connection cap, stop accepting: further clients wait in the listen queue.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => {
                tracing::info!("shutting down: no new connections");
                break;
            }
        };
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
                let (app, watcher, tls) = (app.clone(), graceful.watcher(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve_connection(app, stream, peer, watcher).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => serve_connection(app, stream, peer, watcher).await,
                                Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                    }
                    drop(permit);
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

/// One HTTP/1.1 connection, plain or TLS, until it ends or the server shuts down.
async fn serve_connection<S>(
    app: App,
    stream: S,
    peer: SocketAddr,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = app.options.header_read_timeout;
    // Shared by the connection's requests (an `App` clone copies its options).
    let app = Arc::new(app);
    let service = service_fn(move |req: http::Request<Incoming>| {
        let app = app.clone();
        async move {
            let resp = app.handle_http(req, peer).await;
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(DroppedByFault);
            }
            Ok(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
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
/// The start-up lines of the HTTPS listener at `addr`.
pub fn tls_banner(addr: &str, tls: &tls::Tls) -> String {
    format!(
        "HTTPS on https://{addr} ({} certificate {})\n  SHA-256 fingerprint {}\n  e.g. curl -s --cacert {} https://localhost:{}/_panelgate/health\n",
        if tls.self_signed { "self-signed" } else { "given" },
        tls.cert_path.display(),
        tls.fingerprint,
        tls.cert_path.display(),
        addr.rsplit(':').next().unwrap_or("8443"),
    )
}

pub fn banner(config: &Config, addr: SocketAddr, backend: &str, loaded_demo: bool) -> String {
    let base = format!("http://{addr}");
    let mut out = String::new();
    out.push_str(&format!(
        "panelgate {} listening on {base}\n",
        env!("CARGO_PKG_VERSION")
    ));
    // `loaded_demo` says a fresh database was loaded: with the demo data, or with `--seed`.
    let loaded = match (&config.seed, loaded_demo) {
        (_, false) => String::new(),
        (Some(seed), true) => format!(", fresh: data set {} loaded", seed.display()),
        (None, true) => ", fresh: demo data loaded".to_owned(),
    };
    out.push_str(&format!(
        "database: {} ({backend}){loaded}\n",
        panelgate_core::db::describe_url(&config.database_url),
    ));
    out.push_str(&format!(
        "Froxlor API answers as Froxlor {}\n",
        config.froxlor_version.release()
    ));
    if config.password_hashing == panelgate_core::HashProfile::Fast {
        out.push_str("WARNING: password hashing profile `fast` (256 KiB, 1 pass) is for CI and load tests, NOT for production\n");
    }
    if loaded_demo && config.seed.is_none() {
        out.push_str("\ndemo credentials (fixtures/demo.toml):\n");
        out.push_str("  admin      admin / changeme1Q**      Froxlor key demo-froxlor-admin-key:demo-froxlor-admin-secret\n");
        out.push_str("  reseller   reseller1 / changeme1Q**  Froxlor key demo-froxlor-reseller-key:demo-froxlor-reseller-secret\n");
        out.push_str("  customers  customer1, customer2 / changeme1Q**  (customer1 key demo-froxlor-customer1-key:demo-froxlor-customer1-secret)\n");
    }
    out.push_str("\ntry:\n");
    for (panel, line) in curl_examples(&base) {
        if panel == "health" {
            out.push_str(&format!("  dashboard: {base}/_panelgate/ui\n"));
        }
        out.push_str(&format!("  {:<9} {line}\n", format!("{panel}:")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Found by the PHP client check: a `--seed` data set was announced as the demo data.
    #[test]
    fn the_banner_names_the_data_set_loaded() {
        let mut config = Config::resolve(&config::ServeArgs::default()).unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let demo = banner(&config, addr, "sqlite", true);
        assert!(demo.contains("fresh: demo data loaded") && demo.contains("demo credentials"));
        config.seed = Some("fixtures/plesk/admin-only.toml".into());
        let seeded = banner(&config, addr, "sqlite", true);
        assert!(
            seeded.contains("fresh: data set fixtures/plesk/admin-only.toml loaded"),
            "{seeded}"
        );
        assert!(!seeded.contains("demo credentials"), "{seeded}");
        assert!(!banner(&config, addr, "sqlite", false).contains("fresh"));
        assert!(!demo.contains("WARNING"));
        config.password_hashing = panelgate_core::HashProfile::Fast;
        assert!(banner(&config, addr, "sqlite", true).contains("`fast`"));
    }
}
