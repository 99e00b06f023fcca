//! The control API under `/_panelgate/` (JSON): health, backup tasks and archives.
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

fn id_segment(path: &str, prefix: &str, suffix: &str) -> Option<i64> {
    path.strip_prefix(prefix)?
        .strip_suffix(suffix)?
        .parse()
        .ok()
}

/// Everything but uploads (which stream, see [`upload`]).
pub async fn handle(core: &Core, system: &SystemCap, req: &Request) -> Response {
    let actor = system.actor();
    let path = req.uri.path();
    let q = query(&req.uri);
    let method = req.method.as_str();
    let result: Result<Response, CoreError> = async {
        Ok(match (method, path) {
            ("GET", "/_panelgate/health") => match core.ping().await {
                Ok(()) => json_response(
                    200,
                    &json!({ "status": "ok", "database": core.backend_name() }),
                ),
                Err(e) => {
                    tracing::error!(error = %e, "health check: database does not answer");
                    json_response(
                        503,
                        &json!({ "status": "unavailable", "database": core.backend_name() }),
                    )
                }
            },
            ("GET", "/_panelgate/tasks") => {
                json_response(200, &to_json(&core.backups().tasks(&actor).await?))
            }
            ("GET", "/_panelgate/archives") => {
                json_response(200, &to_json(&core.backups().archives(&actor).await?))
            }
            ("POST", "/_panelgate/backups") => {
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
            ("POST", p) if id_segment(p, "/_panelgate/tasks/", "/stop").is_some() => {
                let id = id_segment(p, "/_panelgate/tasks/", "/stop").unwrap_or_default();
                json_response(200, &to_json(&core.backups().stop(&actor, id).await?))
            }
            ("GET", p) if id_segment(p, "/_panelgate/tasks/", "").is_some() => {
                let id = id_segment(p, "/_panelgate/tasks/", "").unwrap_or_default();
                json_response(200, &to_json(&core.backups().task(&actor, id).await?))
            }
            ("GET", p) if id_segment(p, "/_panelgate/archives/", "/download").is_some() => {
                let id = id_segment(p, "/_panelgate/archives/", "/download").unwrap_or_default();
                let files = core.backups().files(&actor, id).await?;
                panelgate_http::download(&files.file_name, files.paths, files.size)
            }
            ("GET", p) if id_segment(p, "/_panelgate/archives/", "").is_some() => {
                let id = id_segment(p, "/_panelgate/archives/", "").unwrap_or_default();
                json_response(200, &to_json(&core.backups().archive(&actor, id).await?))
            }
            ("POST", p) if id_segment(p, "/_panelgate/archives/", "/restore").is_some() => {
                let id = id_segment(p, "/_panelgate/archives/", "/restore").unwrap_or_default();
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
            ("DELETE", p) if id_segment(p, "/_panelgate/archives/", "").is_some() => {
                let id = id_segment(p, "/_panelgate/archives/", "").unwrap_or_default();
                let remove_files = q.get("remove_files").is_none_or(|v| v != "0");
                json_response(
                    200,
                    &to_json(&core.backups().remove(&actor, id, remove_files).await?),
                )
            }
            _ => not_found(),
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
