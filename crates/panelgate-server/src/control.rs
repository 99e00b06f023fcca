//! The control API under `/_panelgate/` (JSON): health and readiness, metrics, reset,
//! snapshots, the journal, faults, the clock, backup tasks and archives.
//!
//! It acts as the server itself, so it answers only to loopback clients, or to clients that
//! send `Authorization: Bearer <control_token>` when a token is configured.

use std::collections::HashMap;

use panelgate_core::backups::{
    BackupOptions, BackupScope, Content, ImportOptions, ItemRef, RestoreBehavior, Storage,
};
use panelgate_core::{Core, CoreError, SystemCap};
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
            Some(token) => panelgate_http::auth::bearer(headers)
                .is_some_and(|given| panelgate_core::policy::secret_matches(given, token)),
            None => peer.is_some_and(|p| p.ip().is_loopback()),
        }
    }
}

fn query(req_uri: &http::Uri) -> HashMap<String, String> {
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

fn error(status: u16, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

/// The control API's answer for a core error.
pub fn core_error(e: CoreError) -> Response {
    match e {
        CoreError::NotFound { entity, key } => error(404, format!("{entity:?} {key} not found")),
        CoreError::AlreadyExists { entity, key } => {
            error(409, format!("{entity:?} {key} already exists"))
        }
        CoreError::Invalid { field, reason } => error(400, format!("{field}: {reason}")),
        CoreError::Forbidden(d) => error(403, format!("forbidden: {d:?}")),
        CoreError::QuotaExceeded(q) => error(409, format!("quota exceeded: {q:?}")),
        CoreError::Conflict(reason) => error(409, reason),
        CoreError::Unavailable(reason) => {
            tracing::error!(error = %reason, "control API: unavailable");
            error(503, "the database or the storage is unavailable")
        }
        CoreError::Internal(reason) => {
            tracing::error!(error = %reason, "control API: internal error");
            error(500, "internal error (see the server log)")
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn backup_options(q: &HashMap<String, String>) -> BackupOptions {
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
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum ClockChange {
    /// Make this Unix time the current one.
    Set(i64),
    /// Move by this many seconds (negative: back).
    Advance(i64),
    /// Stop (`true`) or run on (`false`).
    Freeze(bool),
    /// Back to the system's time, running.
    Reset(bool),
}

fn clock_state(core: &Core) -> Response {
    match core.steerable_clock() {
        Some(c) => json_response(200, &to_json(&c.state())),
        None => error(409, "this core's clock cannot be steered"),
    }
}

fn set_clock(core: &Core, body: &[u8]) -> Response {
    let Some(clock) = core.steerable_clock() else {
        return error(409, "this core's clock cannot be steered");
    };
    match serde_json::from_slice::<ClockChange>(body) {
        Ok(ClockChange::Set(at)) => clock.set(at),
        Ok(ClockChange::Advance(secs)) => clock.advance(secs),
        Ok(ClockChange::Freeze(on)) => clock.freeze(on),
        Ok(ClockChange::Reset(true)) => clock.reset(),
        Ok(ClockChange::Reset(false)) => {}
        Err(_) => {
            return error(
                400,
                r#"body: one of {"set": <unix seconds>}, {"advance": <seconds>}, {"freeze": true|false}, {"reset": true}"#,
            )
        }
    }
    tracing::info!(clock = ?clock.state(), "clock changed");
    clock_state(core)
}

/// `GET /_panelgate/ready`: the database answers and the backup worker runs.
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
async fn reset(app: &crate::App) -> Result<Response, CoreError> {
    let _one = app.resetting.lock().await;
    let started = std::time::Instant::now();
    app.core.reset(&app.system).await?;
    if let Err(e) = app.options.seed.load(&app.core, &app.system).await {
        tracing::error!(error = %e, "reset: loading the seed data set");
        return Ok(error(
            500,
            format!("the store was emptied, but its seed did not load: {e}"),
        ));
    }
    let took_ms = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(took_ms, seed = ?app.options.seed, "store reset");
    Ok(json_response(
        200,
        &json!({ "reset": true, "seed": seed_name(&app.options.seed), "took_ms": took_ms }),
    ))
}

fn seed_name(seed: &crate::Seed) -> String {
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
    })
}

/// Everything but uploads (which stream, see [`upload`]).
pub async fn handle(app: &crate::App, req: &Request) -> Response {
    let (core, system) = (&app.core, &*app.system);
    let actor = system.actor();
    let path = req.uri.path();
    let q = query(&req.uri);
    let method = req.method.as_str();
    let Some(route) = Route::parse(method, path) else {
        return not_found();
    };
    let result: Result<Response, CoreError> = async {
        Ok(match route {
            // The process answers: nothing is asked of the database (see `ready`).
            Route::Health => json_response(
                200,
                &json!({ "status": "ok", "database": core.backend_name() }),
            ),
            Route::Ready => ready(core).await,
            Route::Metrics => match crate::metrics::render(core, system).await {
                Some(text) => response(200, "text/plain; version=0.0.4; charset=utf-8", text),
                None => error(
                    503,
                    "metrics are recorded by another recorder in this process",
                ),
            },
            Route::Clock => clock_state(core),
            Route::SetClock => set_clock(core, req.body.bytes()),
            Route::Reset => reset(app).await?,
            Route::Snapshots => json_response(200, &to_json(&core.snapshots().list(system).await?)),
            Route::SaveSnapshot => {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Save {
                    name: String,
                }
                let Ok(Save { name }) = serde_json::from_slice::<Save>(req.body.bytes()) else {
                    return Ok(error(400, r#"body: {"name": "<snapshot name>"}"#));
                };
                // Not while a reset or a restore runs: it would save half of one.
                let _one = app.resetting.lock().await;
                let started = std::time::Instant::now();
                let saved = core.snapshots().save(system, &name).await?;
                tracing::info!(
                    name,
                    took_ms = started.elapsed().as_millis() as u64,
                    "snapshot saved"
                );
                json_response(201, &to_json(&saved))
            }
            Route::Snapshot(name) => {
                json_response(200, &to_json(&core.snapshots().get(system, &name).await?))
            }
            Route::RestoreSnapshot(name) => {
                let _one = app.resetting.lock().await;
                let started = std::time::Instant::now();
                let restored = core.snapshots().restore(system, &name).await?;
                let took_ms = started.elapsed().as_secs_f64() * 1e3;
                tracing::info!(name, took_ms, "snapshot restored");
                json_response(200, &json!({ "restored": restored, "took_ms": took_ms }))
            }
            Route::DeleteSnapshot(name) => json_response(
                200,
                &to_json(&core.snapshots().delete(system, &name).await?),
            ),
            Route::Journal => {
                let filter = match journal_filter(&q) {
                    Ok(f) => f,
                    Err(e) => return Ok(error(400, e)),
                };
                json_response(200, &to_json(&core.journal().query(system, &filter).await?))
            }
            Route::Faults => json_response(200, &to_json(&app.faults.list())),
            Route::AddFault => {
                match serde_json::from_slice::<panelgate_http::faults::Rule>(req.body.bytes()) {
                    Ok(rule) => match app.faults.add(rule) {
                        Ok(active) => json_response(201, &to_json(&active)),
                        Err(e) => error(400, e),
                    },
                    Err(e) => error(400, format!("body: a fault rule ({e})")),
                }
            }
            Route::ClearFaults => {
                json_response(200, &json!({ "removed": app.faults.remove(None) }))
            }
            Route::RemoveFault(id) => match app.faults.remove(Some(id)) {
                0 => error(404, format!("fault rule {id} not found")),
                n => json_response(200, &json!({ "removed": n })),
            },
            Route::ClearJournal => json_response(
                200,
                &json!({ "removed": core.journal().clear(system).await? }),
            ),
            Route::Tasks => json_response(200, &to_json(&core.backups().tasks(&actor).await?)),
            Route::Archives => {
                json_response(200, &to_json(&core.backups().archives(&actor).await?))
            }
            Route::StartBackup => {
                let Some(scope) = q.get("scope").and_then(|s| BackupScope::parse(s)) else {
                    return Ok(error(
                        400,
                        "scope: use server, reseller:<id>, customer:<id> or subscription:<id>",
                    ));
                };
                json_response(
                    201,
                    &to_json(
                        &core
                            .backups()
                            .start(&actor, scope, backup_options(&q))
                            .await?,
                    ),
                )
            }
            Route::StopTask(id) => {
                json_response(200, &to_json(&core.backups().stop(&actor, id).await?))
            }
            Route::Task(id) => {
                json_response(200, &to_json(&core.backups().task(&actor, id).await?))
            }
            Route::DownloadArchive(id) => {
                let files = core.backups().files(&actor, id).await?;
                panelgate_http::download(&files.file_name, files.paths, files.size)
            }
            Route::Archive(id) => {
                json_response(200, &to_json(&core.backups().archive(&actor, id).await?))
            }
            Route::RestoreArchive(id) => {
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
                json_response(
                    200,
                    &to_json(&core.backups().restore(&actor, id, items, behavior).await?),
                )
            }
            Route::DeleteArchive(id) => {
                let remove_files = q.get("remove_files").is_none_or(|v| v != "0");
                json_response(
                    200,
                    &to_json(&core.backups().remove(&actor, id, remove_files).await?),
                )
            }
            // Uploads stream through `upload`; a collected one is not served here.
            Route::UploadArchive => not_found(),
        })
    }
    .await;
    result.unwrap_or_else(core_error)
}

/// `POST /_panelgate/archives`: import an archive from the request body, streamed to disk.
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
