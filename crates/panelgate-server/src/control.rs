//! The control API under `/_panelgate/` (JSON): health and readiness, metrics, reset,
//! snapshots, the journal, faults, the clock, backup tasks and archives.
//!
//! It acts as the server itself, so it answers only to loopback clients, or to clients that
//! send `Authorization: Bearer <control_token>` when a token is configured.

use std::collections::HashMap;

use panelgate_core::backups::{
    BackupOptions, BackupScope, Content, ImportOptions, ItemRef, RestoreBehavior, Storage,
};
use panelgate_core::clock::ClockState;
use panelgate_core::journal::Entry;
use panelgate_core::snapshot::Manifest;
use panelgate_core::{Core, CoreError, SystemCap};
use panelgate_http::faults::{Active, Rule};
use panelgate_http::{response, Request, Response};
use serde_json::{json, Value};

/// Who may use the control API.
#[derive(Clone, Debug, Default)]
pub struct Access {
    pub token: Option<String>,
}

impl Access {
    pub fn allows(&self, headers: &http::HeaderMap, peer: Option<std::net::SocketAddr>) -> bool {
        match &self.token {
            Some(token) => {
                panelgate_http::auth::bearer(headers)
                    .is_some_and(|given| panelgate_core::policy::secret_matches(given, token))
                    // The dashboard's login keeps the token in a cookie.
                    || crate::ui::cookie_token(headers)
                        .is_some_and(|given| panelgate_core::policy::secret_matches(&given, token))
            }
            None => peer.is_some_and(|p| p.ip().is_loopback()),
        }
    }
}

/// A request's query parameters (the last of a repeated one).
pub(crate) fn query(req_uri: &http::Uri) -> HashMap<String, String> {
    panelgate_http::Params::from_query(req_uri.query())
        .merged()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

pub fn json_response(status: u16, body: &Value) -> Response {
    response(
        status,
        "application/json",
        serde_json::to_vec_pretty(body).unwrap_or_default(),
    )
}

/// The control API's error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ControlError {
    pub error: String,
}

fn error(status: u16, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

/// The control API's answer for a core error.
pub fn core_error(e: CoreError) -> Response {
    let (status, message) = core_error_parts(e);
    error(status, message)
}

/// The status and the text the control API (and the dashboard) answer a core error with.
pub fn core_error_parts(e: CoreError) -> (u16, String) {
    match e {
        CoreError::NotFound { entity, key } => (404, format!("{entity:?} {key} not found")),
        CoreError::AlreadyExists { entity, key } => {
            (409, format!("{entity:?} {key} already exists"))
        }
        CoreError::Invalid { field, reason } => (400, format!("{field}: {reason}")),
        CoreError::Forbidden(d) => (403, format!("forbidden: {d:?}")),
        CoreError::QuotaExceeded(q) => (409, format!("quota exceeded: {q:?}")),
        CoreError::Conflict(reason) => (409, reason),
        CoreError::Unavailable(reason) => {
            tracing::error!(error = %reason, "control API: unavailable");
            (503, "the database or the storage is unavailable".into())
        }
        CoreError::Internal(reason) => {
            tracing::error!(error = %reason, "control API: internal error");
            (500, "internal error (see the server log)".into())
        }
    }
}

/// Whether a request that changes something comes from another site's page (a browser sends
/// `Sec-Fetch-Site`, or at least `Origin`): such requests are refused, so that a page on the
/// web cannot drive a loopback-only control API through the browser of the person using it.
pub fn cross_site(method: &http::Method, headers: &http::HeaderMap) -> bool {
    if matches!(*method, http::Method::GET | http::Method::HEAD) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(http::header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let origin = origin.to_str().unwrap_or_default();
            let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
            host.is_empty() || !origin_host.eq_ignore_ascii_case(host)
        }
    }
}

/// Empty the store and load the seed data set again (one at a time, not during a snapshot's
/// save or restore); the milliseconds it took.
pub(crate) async fn reset_store(app: &crate::App) -> Result<f64, (u16, String)> {
    let _one = app.resetting.lock().await;
    let started = std::time::Instant::now();
    app.core
        .reset(&app.system)
        .await
        .map_err(core_error_parts)?;
    if let Err(e) = app.options.seed.load(&app.core, &app.system).await {
        tracing::error!(error = %e, "reset: loading the seed data set");
        return Err((
            500,
            format!("the store was emptied, but its seed did not load: {e}"),
        ));
    }
    let took_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(took_ms, seed = ?app.options.seed, "store reset");
    Ok(took_ms)
}

/// Save a snapshot (not while a reset or a restore runs: it would save half of one).
pub(crate) async fn save_snapshot_now(app: &crate::App, name: &str) -> Result<Manifest, CoreError> {
    let _one = app.resetting.lock().await;
    let started = std::time::Instant::now();
    let saved = app.core.snapshots().save(&app.system, name).await?;
    tracing::info!(
        name,
        took_ms = started.elapsed().as_millis() as u64,
        "snapshot saved"
    );
    Ok(saved)
}

/// Restore a snapshot (one at a time with resets and saves); the milliseconds it took.
pub(crate) async fn restore_snapshot_now(
    app: &crate::App,
    name: &str,
) -> Result<(Manifest, f64), CoreError> {
    let _one = app.resetting.lock().await;
    let started = std::time::Instant::now();
    let restored = app.core.snapshots().restore(&app.system, name).await?;
    let took_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(name, took_ms, "snapshot restored");
    Ok((restored, took_ms))
}

/// Delete a snapshot (not while one is saved or restored).
pub(crate) async fn delete_snapshot_now(
    app: &crate::App,
    name: &str,
) -> Result<Manifest, CoreError> {
    let _one = app.resetting.lock().await;
    app.core.snapshots().delete(&app.system, name).await
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(crate) fn backup_options(q: &HashMap<String, String>) -> BackupOptions {
    BackupOptions {
        description: q.get("description").cloned().unwrap_or_default(),
        prefix: q.get("prefix").cloned().unwrap_or_default(),
        storage: if q.get("storage").map(String::as_str) == Some("ftp") {
            Storage::Ftp
        } else {
            Storage::Local
        },
        split_size: q
            .get("split_size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        content: match q.get("content").map(String::as_str) {
            Some("hosting") => Content::Hosting,
            Some("mail") => Content::Mail,
            Some("configuration") => Content::Configuration,
            _ => Content::Full,
        },
    }
}

/// The control API's routes: what a request names, decoded before anything runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Health,
    Ready,
    Metrics,
    OpenApi,
    Clock,
    SetClock,
    Reset,
    Snapshots,
    SaveSnapshot,
    Snapshot(String),
    RestoreSnapshot(String),
    DeleteSnapshot(String),
    Journal,
    ClearJournal,
    Faults,
    AddFault,
    ClearFaults,
    RemoveFault(u64),
    Tasks,
    Task(i64),
    StopTask(i64),
    Archives,
    Archive(i64),
    DownloadArchive(i64),
    RestoreArchive(i64),
    DeleteArchive(i64),
    /// `POST /_panelgate/archives` (streamed, see [`upload`]).
    UploadArchive,
    StartBackup,
}

impl Route {
    /// The route of `method` + `path`, or `None` (a neutral 404).
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/_panelgate/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let id = |s: &str| s.parse::<i64>().ok();
        Some(match (method, segments.as_slice()) {
            ("GET", ["health"]) => Route::Health,
            ("GET", ["ready"]) => Route::Ready,
            ("GET", ["metrics"]) => Route::Metrics,
            ("GET", ["openapi.json"]) => Route::OpenApi,
            ("GET", ["clock"]) => Route::Clock,
            ("POST", ["clock"]) => Route::SetClock,
            ("POST", ["reset"]) => Route::Reset,
            ("GET", ["snapshots"]) => Route::Snapshots,
            ("POST", ["snapshots"]) => Route::SaveSnapshot,
            ("GET", ["snapshots", n]) => Route::Snapshot(n.to_string()),
            ("POST", ["snapshots", n, "restore"]) => Route::RestoreSnapshot(n.to_string()),
            ("DELETE", ["snapshots", n]) => Route::DeleteSnapshot(n.to_string()),
            ("GET", ["journal"]) => Route::Journal,
            ("DELETE", ["journal"]) => Route::ClearJournal,
            ("GET", ["faults"]) => Route::Faults,
            ("POST", ["faults"]) => Route::AddFault,
            ("DELETE", ["faults"]) => Route::ClearFaults,
            ("DELETE", ["faults", f]) => Route::RemoveFault(f.parse().ok()?),
            ("GET", ["tasks"]) => Route::Tasks,
            ("GET", ["tasks", t]) => Route::Task(id(t)?),
            ("POST", ["tasks", t, "stop"]) => Route::StopTask(id(t)?),
            ("GET", ["archives"]) => Route::Archives,
            ("POST", ["archives"]) => Route::UploadArchive,
            ("GET", ["archives", a]) => Route::Archive(id(a)?),
            ("GET", ["archives", a, "download"]) => Route::DownloadArchive(id(a)?),
            ("POST", ["archives", a, "restore"]) => Route::RestoreArchive(id(a)?),
            ("DELETE", ["archives", a]) => Route::DeleteArchive(id(a)?),
            ("POST", ["backups"]) => Route::StartBackup,
            _ => return None,
        })
    }
}

/// How long the backup worker may go without starting a round before `ready` says it stopped.
pub const WORKER_SILENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// `POST /_panelgate/clock`: one change of the core's clock.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ClockChange {
    /// Make this Unix time the current one.
    Set(i64),
    /// Move by this many seconds (negative: back).
    Advance(i64),
    /// Stop (`true`) or run on (`false`).
    Freeze(bool),
    /// Back to the system's time, running.
    Reset(bool),
}

#[utoipa::path(get, path = "/_panelgate/clock", tag = "clock",
    responses(
        (status = 200, description = "The core's clock", body = ClockState),
        (status = 409, description = "This core's clock cannot be steered", body = ControlError)))]
fn clock_state(core: &Core) -> Response {
    match core.steerable_clock() {
        Some(c) => json_response(200, &to_json(&c.state())),
        None => error(409, "this core's clock cannot be steered"),
    }
}

/// Set, advance, freeze or release the clock; everything that depends on time follows it.
#[utoipa::path(post, path = "/_panelgate/clock", tag = "clock", request_body = ClockChange,
    responses(
        (status = 200, description = "The clock after the change", body = ClockState),
        (status = 400, description = "A bad change", body = ControlError)))]
fn set_clock(core: &Core, body: &[u8]) -> Response {
    let Some(clock) = core.steerable_clock() else {
        return error(409, "this core's clock cannot be steered");
    };
    let moved = match serde_json::from_slice::<ClockChange>(body) {
        Ok(ClockChange::Set(at)) => clock.try_set(at),
        Ok(ClockChange::Advance(secs)) => clock.try_advance(secs),
        Ok(ClockChange::Freeze(on)) => {
            clock.freeze(on);
            Ok(())
        }
        Ok(ClockChange::Reset(true)) => {
            clock.reset();
            Ok(())
        }
        Ok(ClockChange::Reset(false)) => Ok(()),
        Err(_) => {
            return error(
                400,
                r#"body: one of {"set": <unix seconds>}, {"advance": <seconds>}, {"freeze": true|false}, {"reset": true}"#,
            )
        }
    };
    if let Err(reason) = moved {
        return error(400, reason);
    }
    tracing::info!(clock = ?clock.state(), "clock changed");
    clock_state(core)
}

/// `GET /_panelgate/ready`: the database answers and the backup worker runs.
#[utoipa::path(get, path = "/_panelgate/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "The database or the worker is missing", body = Object)))]
async fn ready(core: &Core) -> Response {
    let database = core.ping().await;
    if let Err(e) = &database {
        tracing::error!(error = %e, "readiness: database does not answer");
    }
    let worker = core.worker_alive(WORKER_SILENCE);
    let ok = database.is_ok() && worker;
    json_response(
        if ok { 200 } else { 503 },
        &json!({
            "status": if ok { "ready" } else { "unavailable" },
            "database": { "backend": core.backend_name(), "ok": database.is_ok() },
            "worker": { "running": worker },
        }),
    )
}

/// `POST /_panelgate/reset`: empty the store and load the seed data set again. One at a time.
#[utoipa::path(post, path = "/_panelgate/reset", tag = "snapshots",
    responses(
        (status = 200, description = "`{\"reset\": true, \"seed\": …, \"took_ms\": …}`", body = Object),
        (status = 500, description = "The store was emptied but the seed did not load", body = ControlError)))]
async fn reset(app: &crate::App) -> Result<Response, CoreError> {
    Ok(match reset_store(app).await {
        Ok(took_ms) => json_response(
            200,
            &json!({ "reset": true, "seed": seed_name(&app.options.seed), "took_ms": took_ms }),
        ),
        Err((status, message)) => error(status, message),
    })
}

pub(crate) fn seed_name(seed: &crate::Seed) -> String {
    match seed {
        crate::Seed::Demo => "demo".into(),
        crate::Seed::File(path) => path.display().to_string(),
        crate::Seed::Empty => "empty".into(),
    }
}

/// `GET /_panelgate/journal?protocol=&call=&entity=&status=&since=&after=&limit=`.
fn journal_filter(q: &HashMap<String, String>) -> Result<panelgate_core::journal::Filter, String> {
    let text = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    fn number<T: std::str::FromStr>(
        q: &HashMap<String, String>,
        k: &str,
    ) -> Result<Option<T>, String> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{k}: {v:?} is not a number")),
        }
    }
    Ok(panelgate_core::journal::Filter {
        protocol: text("protocol"),
        call: text("call"),
        entity: text("entity"),
        status: number(q, "status")?,
        since: number(q, "since")?,
        after_id: number(q, "after")?,
        limit: number(q, "limit")?,
        oldest_first: match q.get("order").map(String::as_str) {
            None | Some("" | "desc") => false,
            Some("asc") => true,
            Some(other) => return Err(format!("order: {other:?} is not asc or desc")),
        },
    })
}

/// What a handler answers: a response, or a core error answered by [`core_error`].
type Answer = Result<Response, CoreError>;

/// Everything but uploads (which stream, see [`upload`]).
pub async fn handle(app: &crate::App, req: &Request) -> Response {
    let Some(route) = Route::parse(req.method.as_str(), req.uri.path()) else {
        return not_found();
    };
    let q = query(&req.uri);
    let body = req.body.bytes();
    let answer = match route {
        Route::Health => Ok(health(app)),
        Route::Ready => Ok(ready(&app.core).await),
        Route::Metrics => metrics(app).await,
        Route::OpenApi => Ok(response(
            200,
            "application/json",
            crate::openapi::document(),
        )),
        Route::Clock => Ok(clock_state(&app.core)),
        Route::SetClock => Ok(set_clock(&app.core, body)),
        Route::Reset => reset(app).await,
        Route::Snapshots => list_snapshots(app).await,
        Route::SaveSnapshot => save_snapshot(app, body).await,
        Route::Snapshot(name) => get_snapshot(app, &name).await,
        Route::RestoreSnapshot(name) => restore_snapshot(app, &name).await,
        Route::DeleteSnapshot(name) => delete_snapshot(app, &name).await,
        Route::Journal => read_journal(app, &q).await,
        Route::ClearJournal => clear_journal(app).await,
        Route::Faults => Ok(list_faults(app)),
        Route::AddFault => Ok(add_fault(app, body)),
        Route::ClearFaults => Ok(remove_faults(app, None)),
        Route::RemoveFault(id) => Ok(remove_faults(app, Some(id))),
        Route::Tasks => tasks(app).await,
        Route::Task(id) => task(app, id).await,
        Route::StopTask(id) => stop_task(app, id).await,
        Route::Archives => archives(app).await,
        Route::Archive(id) => archive(app, id).await,
        Route::DownloadArchive(id) => download_archive(app, id).await,
        Route::RestoreArchive(id) => restore_archive(app, id, &q).await,
        Route::DeleteArchive(id) => delete_archive(app, id, &q).await,
        Route::StartBackup => start_backup(app, &q).await,
        // Uploads stream through `upload`; a collected one is not served here.
        Route::UploadArchive => Ok(not_found()),
    };
    answer.unwrap_or_else(core_error)
}

/// The process answers: nothing is asked of the database (see [`ready`]).
#[utoipa::path(get, path = "/_panelgate/health", tag = "health",
    responses((status = 200, description = "The process runs", body = Object)))]
fn health(app: &crate::App) -> Response {
    json_response(
        200,
        &json!({ "status": "ok", "database": app.core.backend_name() }),
    )
}

#[utoipa::path(get, path = "/_panelgate/metrics", tag = "health",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 404, description = "Metrics are off (`--no-metrics`)", body = ControlError)))]
async fn metrics(app: &crate::App) -> Answer {
    if !app.options.metrics {
        return Ok(error(404, "metrics are off (--no-metrics)"));
    }
    Ok(match crate::metrics::render(&app.core, &app.system).await {
        Some(text) => response(200, "text/plain; version=0.0.4; charset=utf-8", text),
        None => error(
            503,
            "metrics are recorded by another recorder in this process",
        ),
    })
}

/// `POST /_panelgate/snapshots`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSnapshot {
    /// 1–64 of `A-Z a-z 0-9 . _ -`, not starting with a dot.
    pub name: String,
}

#[utoipa::path(get, path = "/_panelgate/snapshots", tag = "snapshots",
    responses((status = 200, description = "Every snapshot, by name", body = [Manifest])))]
async fn list_snapshots(app: &crate::App) -> Answer {
    Ok(json_response(
        200,
        &to_json(&app.core.snapshots().list(&app.system).await?),
    ))
}

/// Save the whole state (every record but the journal, homes, local archives) under a name.
#[utoipa::path(post, path = "/_panelgate/snapshots", tag = "snapshots", request_body = SaveSnapshot,
    responses(
        (status = 201, description = "Saved", body = Manifest),
        (status = 400, description = "A bad name", body = ControlError),
        (status = 409, description = "The name is taken, or `max_snapshots` are kept", body = ControlError)))]
async fn save_snapshot(app: &crate::App, body: &[u8]) -> Answer {
    let Ok(SaveSnapshot { name }) = serde_json::from_slice::<SaveSnapshot>(body) else {
        return Ok(error(400, r#"body: {"name": "<snapshot name>"}"#));
    };
    let saved = save_snapshot_now(app, &name).await?;
    Ok(json_response(201, &to_json(&saved)))
}

#[utoipa::path(get, path = "/_panelgate/snapshots/{name}", tag = "snapshots",
    params(("name" = String, Path, description = "The snapshot's name")),
    responses(
        (status = 200, description = "Its manifest", body = Manifest),
        (status = 404, description = "No such snapshot", body = ControlError)))]
async fn get_snapshot(app: &crate::App, name: &str) -> Answer {
    Ok(json_response(
        200,
        &to_json(&app.core.snapshots().get(&app.system, name).await?),
    ))
}

/// Replace every record (one transaction), the homes and the archives by the snapshot's.
#[utoipa::path(post, path = "/_panelgate/snapshots/{name}/restore", tag = "snapshots",
    params(("name" = String, Path, description = "The snapshot's name")),
    responses(
        (status = 200, description = "`{\"restored\": <manifest>, \"took_ms\": …}`", body = Object),
        (status = 404, description = "No such snapshot", body = ControlError)))]
async fn restore_snapshot(app: &crate::App, name: &str) -> Answer {
    let (restored, took_ms) = restore_snapshot_now(app, name).await?;
    Ok(json_response(
        200,
        &json!({ "restored": restored, "took_ms": took_ms }),
    ))
}

#[utoipa::path(delete, path = "/_panelgate/snapshots/{name}", tag = "snapshots",
    params(("name" = String, Path, description = "The snapshot's name")),
    responses(
        (status = 200, description = "Removed; its manifest", body = Manifest),
        (status = 404, description = "No such snapshot", body = ControlError)))]
async fn delete_snapshot(app: &crate::App, name: &str) -> Answer {
    Ok(json_response(
        200,
        &to_json(&delete_snapshot_now(app, name).await?),
    ))
}

/// Every panel API request, newest first.
#[utoipa::path(get, path = "/_panelgate/journal", tag = "journal",
    params(
        ("protocol" = Option<String>, Query, description = "`froxlor`, `plesk`, `ispsystem` or `httpapi`"),
        ("call" = Option<String>, Query, description = "The call as the journal names it"),
        ("entity" = Option<String>, Query, description = "`kind:id`, e.g. `customer:42`"),
        ("status" = Option<i32>, Query, description = "HTTP status"),
        ("since" = Option<i64>, Query, description = "Entries at or after these Unix seconds"),
        ("after" = Option<i64>, Query, description = "Entries with a larger id (to follow)"),
        ("limit" = Option<u64>, Query, description = "At most this many (default 100, at most 1000)"),
        ("order" = Option<String>, Query, description = "`desc` (default: newest first) or `asc` (oldest first, to follow with `after`)")),
    responses(
        (status = 200, description = "The entries", body = [Entry]),
        (status = 400, description = "A bad filter", body = ControlError)))]
async fn read_journal(app: &crate::App, q: &HashMap<String, String>) -> Answer {
    let filter = match journal_filter(q) {
        Ok(f) => f,
        Err(e) => return Ok(error(400, e)),
    };
    Ok(json_response(
        200,
        &to_json(&app.core.journal().query(&app.system, &filter).await?),
    ))
}

#[utoipa::path(delete, path = "/_panelgate/journal", tag = "journal",
    responses((status = 200, description = "`{\"removed\": n}`", body = Object)))]
async fn clear_journal(app: &crate::App) -> Answer {
    Ok(json_response(
        200,
        &json!({ "removed": app.core.journal().clear(&app.system).await? }),
    ))
}

#[utoipa::path(get, path = "/_panelgate/faults", tag = "faults",
    responses((status = 200, description = "The rules, with how often each fired", body = [Active])))]
fn list_faults(app: &crate::App) -> Response {
    json_response(200, &to_json(&app.faults.list()))
}

#[utoipa::path(post, path = "/_panelgate/faults", tag = "faults", request_body = Rule,
    responses(
        (status = 201, description = "The rule in force", body = Active),
        (status = 400, description = "A bad rule", body = ControlError)))]
fn add_fault(app: &crate::App, body: &[u8]) -> Response {
    match serde_json::from_slice::<panelgate_http::faults::Rule>(body) {
        Ok(rule) => match app.faults.add(rule) {
            Ok(active) => json_response(201, &to_json(&active)),
            Err(e) => error(400, e),
        },
        Err(e) => error(400, format!("body: a fault rule ({e})")),
    }
}

/// Remove every rule (`None`) or one.
#[utoipa::path(delete, path = "/_panelgate/faults", tag = "faults",
    responses((status = 200, description = "`{\"removed\": n}`", body = Object)))]
fn remove_faults(app: &crate::App, id: Option<u64>) -> Response {
    match (id, app.faults.remove(id)) {
        (Some(id), 0) => error(404, format!("fault rule {id} not found")),
        (_, n) => json_response(200, &json!({ "removed": n })),
    }
}

/// (Documents `DELETE /_panelgate/faults/{id}`, served by [`remove_faults`].)
#[utoipa::path(delete, path = "/_panelgate/faults/{id}", tag = "faults",
    params(("id" = u64, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "`{\"removed\": 1}`", body = Object),
        (status = 404, description = "No such rule", body = ControlError)))]
#[allow(dead_code)]
fn remove_fault() {}

#[utoipa::path(get, path = "/_panelgate/tasks", tag = "backups",
    responses((status = 200, description = "Every backup task", body = [Object])))]
async fn tasks(app: &crate::App) -> Answer {
    let tasks = app.core.backups().tasks(&app.system.actor()).await?;
    Ok(json_response(200, &to_json(&tasks)))
}

#[utoipa::path(get, path = "/_panelgate/tasks/{id}", tag = "backups",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = Object),
        (status = 404, description = "No such task", body = ControlError)))]
async fn task(app: &crate::App, id: i64) -> Answer {
    let task = app.core.backups().task(&app.system.actor(), id).await?;
    Ok(json_response(200, &to_json(&task)))
}

#[utoipa::path(post, path = "/_panelgate/tasks/{id}/stop", tag = "backups",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task, asked to stop", body = Object),
        (status = 404, description = "No such task", body = ControlError)))]
async fn stop_task(app: &crate::App, id: i64) -> Answer {
    let task = app.core.backups().stop(&app.system.actor(), id).await?;
    Ok(json_response(200, &to_json(&task)))
}

#[utoipa::path(get, path = "/_panelgate/archives", tag = "backups",
    responses((status = 200, description = "Every archive", body = [Object])))]
async fn archives(app: &crate::App) -> Answer {
    let archives = app.core.backups().archives(&app.system.actor()).await?;
    Ok(json_response(200, &to_json(&archives)))
}

#[utoipa::path(get, path = "/_panelgate/archives/{id}", tag = "backups",
    params(("id" = i64, Path, description = "The archive's id")),
    responses(
        (status = 200, description = "The archive", body = Object),
        (status = 404, description = "No such archive", body = ControlError)))]
async fn archive(app: &crate::App, id: i64) -> Answer {
    let archive = app.core.backups().archive(&app.system.actor(), id).await?;
    Ok(json_response(200, &to_json(&archive)))
}

#[utoipa::path(get, path = "/_panelgate/archives/{id}/download", tag = "backups",
    params(("id" = i64, Path, description = "The archive's id")),
    responses(
        (status = 200, description = "The archive's bytes (its parts in order)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such archive", body = ControlError)))]
async fn download_archive(app: &crate::App, id: i64) -> Answer {
    let files = app.core.backups().files(&app.system.actor(), id).await?;
    Ok(panelgate_http::download(
        &files.file_name,
        files.paths,
        files.size,
    ))
}

#[utoipa::path(post, path = "/_panelgate/archives/{id}/restore", tag = "backups",
    params(
        ("id" = i64, Path, description = "The archive's id"),
        ("behavior" = Option<String>, Query, description = "`skip` (default) or `overwrite`"),
        ("items" = Option<String>, Query, description = "`kind:name,…` (default: everything)")),
    responses(
        (status = 200, description = "What was restored", body = Object),
        (status = 400, description = "A bad behavior", body = ControlError),
        (status = 404, description = "No such archive", body = ControlError)))]
async fn restore_archive(app: &crate::App, id: i64, q: &HashMap<String, String>) -> Answer {
    let behavior = match q.get("behavior").map(String::as_str) {
        None | Some("skip") => RestoreBehavior::Skip,
        Some("overwrite") => RestoreBehavior::Overwrite,
        Some(other) => {
            return Ok(error(
                400,
                format!("behavior: {other:?} is not skip or overwrite"),
            ))
        }
    };
    let items = q.get("items").filter(|v| !v.is_empty()).map(|v| {
        v.split(',')
            .filter_map(|i| i.split_once(':'))
            .map(|(kind, name)| ItemRef {
                kind: kind.into(),
                name: name.into(),
            })
            .collect::<Vec<_>>()
    });
    let report = app
        .core
        .backups()
        .restore(&app.system.actor(), id, items, behavior)
        .await?;
    Ok(json_response(200, &to_json(&report)))
}

#[utoipa::path(delete, path = "/_panelgate/archives/{id}", tag = "backups",
    params(
        ("id" = i64, Path, description = "The archive's id"),
        ("remove_files" = Option<String>, Query, description = "`0` keeps the files")),
    responses(
        (status = 200, description = "Removed", body = Object),
        (status = 404, description = "No such archive", body = ControlError)))]
async fn delete_archive(app: &crate::App, id: i64, q: &HashMap<String, String>) -> Answer {
    let remove_files = q.get("remove_files").is_none_or(|v| v != "0");
    let removed = app
        .core
        .backups()
        .remove(&app.system.actor(), id, remove_files)
        .await?;
    Ok(json_response(200, &to_json(&removed)))
}

#[utoipa::path(post, path = "/_panelgate/backups", tag = "backups",
    params(
        ("scope" = String, Query, description = "`server`, `reseller:<id>`, `customer:<id>` or `subscription:<id>`"),
        ("description" = Option<String>, Query, description = "The archive's description"),
        ("prefix" = Option<String>, Query, description = "The archive file name's prefix"),
        ("storage" = Option<String>, Query, description = "`local` (default) or `ftp`"),
        ("split_size" = Option<u64>, Query, description = "Bytes per part (0: one part)"),
        ("content" = Option<String>, Query, description = "`full` (default), `hosting`, `mail` or `configuration`")),
    responses(
        (status = 201, description = "The queued task", body = Object),
        (status = 400, description = "A bad scope", body = ControlError)))]
async fn start_backup(app: &crate::App, q: &HashMap<String, String>) -> Answer {
    let Some(scope) = q.get("scope").and_then(|s| BackupScope::parse(s)) else {
        return Ok(error(
            400,
            "scope: use server, reseller:<id>, customer:<id> or subscription:<id>",
        ));
    };
    let task = app
        .core
        .backups()
        .start(&app.system.actor(), scope, backup_options(q))
        .await?;
    Ok(json_response(201, &to_json(&task)))
}

/// `POST /_panelgate/archives`: import an archive from the request body, streamed to disk.
#[utoipa::path(post, path = "/_panelgate/archives", tag = "backups",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A panelgate archive"),
    params(
        ("sha256" = Option<String>, Query, description = "The archive's expected SHA-256 (hex)"),
        ("description" = Option<String>, Query, description = "The archive's description")),
    responses(
        (status = 201, description = "The imported archive", body = Object),
        (status = 400, description = "Not a valid archive", body = ControlError),
        (status = 413, description = "Over the upload limit", body = ControlError)))]
pub async fn upload<R: tokio::io::AsyncRead + Unpin>(
    core: &Core,
    system: &SystemCap,
    uri: &http::Uri,
    body: R,
    max_size: u64,
) -> Response {
    let q = query(uri);
    let opts = ImportOptions {
        max_size,
        expected_sha256: q.get("sha256").cloned(),
        description: q.get("description").cloned().unwrap_or_default(),
    };
    match core.backups().import(&system.actor(), body, opts).await {
        Ok(archive) => json_response(201, &to_json(&archive)),
        Err(e) => core_error(e),
    }
}

/// The neutral answer for a path no panel API serves.
pub fn not_found() -> Response {
    json_response(
        404,
        &json!({ "error": "not found", "hint": "panel APIs: /api.php (Froxlor); control API: /_panelgate/" }),
    )
}

pub fn forbidden() -> Response {
    error(
        403,
        "the control API answers loopback clients, or clients with the configured bearer token",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let rows = [
            ("GET", "/_panelgate/health", Some(Route::Health)),
            ("GET", "/_panelgate/ready", Some(Route::Ready)),
            ("GET", "/_panelgate/metrics", Some(Route::Metrics)),
            ("GET", "/_panelgate/openapi.json", Some(Route::OpenApi)),
            ("GET", "/_panelgate/clock", Some(Route::Clock)),
            ("POST", "/_panelgate/clock", Some(Route::SetClock)),
            ("POST", "/_panelgate/reset", Some(Route::Reset)),
            ("GET", "/_panelgate/journal", Some(Route::Journal)),
            ("DELETE", "/_panelgate/journal", Some(Route::ClearJournal)),
            ("GET", "/_panelgate/faults", Some(Route::Faults)),
            ("POST", "/_panelgate/faults", Some(Route::AddFault)),
            ("DELETE", "/_panelgate/faults", Some(Route::ClearFaults)),
            (
                "DELETE",
                "/_panelgate/faults/3",
                Some(Route::RemoveFault(3)),
            ),
            ("DELETE", "/_panelgate/faults/x", None),
            ("GET", "/_panelgate/reset", None),
            ("GET", "/_panelgate/snapshots", Some(Route::Snapshots)),
            ("POST", "/_panelgate/snapshots", Some(Route::SaveSnapshot)),
            (
                "GET",
                "/_panelgate/snapshots/a",
                Some(Route::Snapshot("a".into())),
            ),
            (
                "POST",
                "/_panelgate/snapshots/a/restore",
                Some(Route::RestoreSnapshot("a".into())),
            ),
            (
                "DELETE",
                "/_panelgate/snapshots/a",
                Some(Route::DeleteSnapshot("a".into())),
            ),
            ("GET", "/_panelgate/tasks", Some(Route::Tasks)),
            ("GET", "/_panelgate/tasks/7", Some(Route::Task(7))),
            ("POST", "/_panelgate/tasks/7/stop", Some(Route::StopTask(7))),
            ("GET", "/_panelgate/archives", Some(Route::Archives)),
            ("POST", "/_panelgate/archives", Some(Route::UploadArchive)),
            ("GET", "/_panelgate/archives/3", Some(Route::Archive(3))),
            (
                "GET",
                "/_panelgate/archives/3/download",
                Some(Route::DownloadArchive(3)),
            ),
            (
                "POST",
                "/_panelgate/archives/3/restore",
                Some(Route::RestoreArchive(3)),
            ),
            (
                "DELETE",
                "/_panelgate/archives/3",
                Some(Route::DeleteArchive(3)),
            ),
            ("POST", "/_panelgate/backups", Some(Route::StartBackup)),
            ("GET", "/_panelgate/tasks/x", None),
            ("GET", "/_panelgate/tasks/7/stop", None),
            ("PUT", "/_panelgate/tasks", None),
            ("GET", "/_panelgate/archives/3/download/more", None),
            ("GET", "/elsewhere", None),
        ];
        for (method, path, want) in rows {
            assert_eq!(Route::parse(method, path), want, "{method} {path}");
        }
    }
}
