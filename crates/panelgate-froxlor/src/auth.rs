//! HTTP Basic authentication with Froxlor's rules (protocols/froxlor.md §1.3).

use std::net::IpAddr;

use base64::Engine;
use panelgate_core::{Core, CoreResult, CredentialKind};

/// Credentials from the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub key: String,
    pub secret: String,
}

/// Parse `Authorization: Basic base64(key:secret)`; the scheme word is case-insensitive.
pub fn parse_basic(header: Option<&str>) -> Option<BasicCredentials> {
    let header = header?.trim();
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key, secret) = text.split_once(':')?;
    Some(BasicCredentials {
        key: key.to_owned(),
        secret: secret.to_owned(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_forms() {
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_basic(Some(&format!("Basic {}", enc("a:b")))).map(|c| c.key),
            Some("a".into())
        );
        assert!(parse_basic(Some(&format!("basic {}", enc("a:b:c"))))
            .is_some_and(|c| c.secret == "b:c"));
        assert!(parse_basic(Some("Bearer xyz")).is_none());
        assert!(parse_basic(Some("Basic !!!")).is_none());
        assert!(parse_basic(Some(&format!("Basic {}", enc("nocolon")))).is_none());
        assert!(parse_basic(None).is_none());
    }
}
