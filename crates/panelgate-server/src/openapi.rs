//! The control API's OpenAPI document, served at `GET /_panelgate/openapi.json`. It is generated
//! by utoipa from the handlers' `#[utoipa::path]` attributes and the `ToSchema` derives of the
//! types they take and answer (in `control`, the core and the HTTP plumbing), so it changes with
//! the code; a test checks that every route the control API serves is in it.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::control;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "panelgate control API",
        description = "Steer a running panelgate from tests: health, metrics, reset and snapshots, the request journal, fault injection, the virtual clock, backup tasks and archives. It answers loopback clients, or clients with `Authorization: Bearer <control_token>` when a token is configured."
    ),
    paths(
        control::health,
        control::ready,
        control::metrics,
        control::clock_state,
        control::set_clock,
        control::reset,
        control::list_snapshots,
        control::save_snapshot,
        control::get_snapshot,
        control::restore_snapshot,
        control::delete_snapshot,
        control::read_journal,
        control::clear_journal,
        control::list_faults,
        control::add_fault,
        control::remove_faults,
        control::remove_fault,
        control::tasks,
        control::task,
        control::stop_task,
        control::archives,
        control::archive,
        control::download_archive,
        control::restore_archive,
        control::delete_archive,
        control::upload,
        control::start_backup,
    ),
    components(schemas(
        control::ControlError,
        control::ClockChange,
        control::SaveSnapshot,
        panelgate_core::clock::ClockState,
        panelgate_core::snapshot::Manifest,
        panelgate_core::journal::Entry,
        panelgate_http::faults::Rule,
        panelgate_http::faults::Effect,
        panelgate_http::faults::Active,
    )),
    modifiers(&Bearer),
    security((), ("bearer" = [])),
    tags(
        (name = "health", description = "Health, readiness and Prometheus metrics"),
        (name = "snapshots", description = "Reset to the seed; save and restore the whole state"),
        (name = "journal", description = "Every panel API request, redacted"),
        (name = "faults", description = "Errors, delays, dropped connections, truncated answers and failing backups, in each panel's own shape"),
        (name = "clock", description = "The core's clock: sessions, keys, jobs, leases and orders follow it"),
        (name = "backups", description = "Backup tasks and archives"),
    )
)]
struct ControlApi;

/// The optional bearer token (`--control-token`).
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON (built once).
pub fn document() -> Vec<u8> {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            ControlApi::openapi()
                .to_pretty_json()
                .map(String::into_bytes)
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Route;

    /// Every route the control API serves is in the document, under its method.
    #[test]
    fn every_route_is_documented() {
        let doc: serde_json::Value = serde_json::from_slice(&document()).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let served = [
            ("GET", "/_panelgate/health"),
            ("GET", "/_panelgate/ready"),
            ("GET", "/_panelgate/metrics"),
            ("GET", "/_panelgate/clock"),
            ("POST", "/_panelgate/clock"),
            ("POST", "/_panelgate/reset"),
            ("GET", "/_panelgate/snapshots"),
            ("POST", "/_panelgate/snapshots"),
            ("GET", "/_panelgate/snapshots/{name}"),
            ("POST", "/_panelgate/snapshots/{name}/restore"),
            ("DELETE", "/_panelgate/snapshots/{name}"),
            ("GET", "/_panelgate/journal"),
            ("DELETE", "/_panelgate/journal"),
            ("GET", "/_panelgate/faults"),
            ("POST", "/_panelgate/faults"),
            ("DELETE", "/_panelgate/faults"),
            ("DELETE", "/_panelgate/faults/{id}"),
            ("GET", "/_panelgate/tasks"),
            ("GET", "/_panelgate/tasks/{id}"),
            ("POST", "/_panelgate/tasks/{id}/stop"),
            ("GET", "/_panelgate/archives"),
            ("POST", "/_panelgate/archives"),
            ("GET", "/_panelgate/archives/{id}"),
            ("GET", "/_panelgate/archives/{id}/download"),
            ("POST", "/_panelgate/archives/{id}/restore"),
            ("DELETE", "/_panelgate/archives/{id}"),
            ("POST", "/_panelgate/backups"),
        ];
        let mut documented = 0;
        for (method, template) in served {
            // The router serves it (a template's parameters filled in)…
            let concrete = template.replace("{name}", "a").replace("{id}", "3");
            assert!(
                Route::parse(method, &concrete).is_some(),
                "{method} {concrete} is not served"
            );
            // …and the document has it.
            let op = &doc["paths"][template][method.to_ascii_lowercase()];
            assert!(op.is_object(), "{method} {template} is not documented");
            assert!(op["responses"].is_object(), "{method} {template}");
            documented += 1;
        }
        let paths: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(
            paths, documented,
            "the document has operations no route serves"
        );
        // The bodies' schemas are the code's types.
        let rule = &doc["components"]["schemas"]["Rule"]["properties"];
        assert!(
            rule["protocol"].is_object() && rule["progress"].is_object(),
            "{rule}"
        );
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
