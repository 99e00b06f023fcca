//! HTTP Basic authentication with Froxlor's rules (protocols/froxlor.md §1.3).

use std::net::IpAddr;

use base64::Engine;
use panelgate_core::{Core, CoreResult, CredentialKind, Owner};

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

/// Who a request authenticated as.
pub use panelgate_core::Principal;

/// Is `peer` allowed by a comma-separated `allowed_from` list (exact addresses or IPv4 CIDRs)?
pub fn allowed_from(list: &str, peer: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(peer) = peer else { return false };
    let peer = match peer {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    list.split(',').any(|entry| {
        if let Ok(net) = entry.parse::<ipnet::IpNet>() {
            return entry.contains('/') && net.contains(&peer);
        }
        entry.parse::<IpAddr>().is_ok_and(|ip| ip == peer)
    })
}

/// Check a key/secret pair. `Ok(None)`: Froxlor's 403 `Invalid authorization credentials`.
pub async fn authenticate(
    core: &Core,
    creds: &BasicCredentials,
    peer: Option<IpAddr>,
) -> CoreResult<Option<Principal>> {
    if creds.secret.is_empty() {
        return Ok(None);
    }
    let Some(key) = core
        .credentials()
        .verify(CredentialKind::Froxlor, &creds.key, &creds.secret)
        .await?
    else {
        return Ok(None);
    };
    let valid = key.valid_until == -1 || key.valid_until >= core.now();
    if !valid || !allowed_from(&key.allowed_from, peer) {
        return Ok(None);
    }
    Ok(match key.owner {
        Owner::Admin(admin) if admin.api_allowed => Some(Principal::Admin(admin)),
        Owner::Customer(c) if c.features.api_allowed && !c.deactivated => {
            Some(Principal::Customer(c))
        }
        _ => None,
    })
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

    // Source: captures k01/k03 and protocols/froxlor.md §1.3 rule 4.
    #[test]
    fn allowed_from_rules() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(!allowed_from("10.0.0.0/8,192.0.2.5", Some(local)));
        assert!(allowed_from("127.0.0.1", Some(local)));
        assert!(allowed_from("127.0.0.0/8", Some(local)));
        assert!(!allowed_from(" 127.0.0.1", Some(local)));
        assert!(allowed_from("", None));
    }
}
