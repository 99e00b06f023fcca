//! The control API under `/_panelgate/`: health for now.

use panelgate_core::Core;
use panelgate_http::{response, Request, Response};
use serde_json::json;

pub async fn handle(core: &Core, req: &Request) -> Response {
    match (req.method.as_str(), req.uri.path()) {
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
        _ => not_found(),
    }
}

/// The neutral answer for a path no panel API serves.
pub fn not_found() -> Response {
    json_response(
        404,
        &json!({ "error": "not found", "hint": "panel APIs: /api.php (Froxlor)" }),
    )
}

fn json_response(status: u16, body: &serde_json::Value) -> Response {
    response(
        status,
        "application/json",
        serde_json::to_vec(body).unwrap_or_default(),
    )
}
