//! HTTP Basic authentication with Froxlor's rules (protocols/froxlor.md §1.3): the key and
//! secret come from the shared Basic parser, the decision from the core's authentication.

use std::net::IpAddr;

use panelgate_core::{Core, CoreResult, CredentialKind};

/// Credentials from the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub key: String,
    pub secret: String,
}

/// `Authorization: Basic base64(key:secret)`.
pub fn parse_basic(headers: &http::HeaderMap) -> Option<BasicCredentials> {
    panelgate_http::auth::basic(headers).map(|(key, secret)| BasicCredentials { key, secret })
}

/// Check a key/secret pair through the core (its policy applies expiry, the IP allow-list,
/// `api_allowed` and deactivation, and counts failed logins).
pub async fn authenticate(
    core: &Core,
    creds: &BasicCredentials,
    peer: Option<IpAddr>,
) -> CoreResult<panelgate_core::auth::Login> {
    core.auth()
        .key(CredentialKind::Froxlor, &creds.key, &creds.secret, peer)
        .await
}
