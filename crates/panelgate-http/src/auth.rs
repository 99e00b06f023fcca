//! Credentials as they arrive in headers: HTTP Basic, Bearer tokens and cookies. Checking them
//! is the core's business (`panelgate_core::auth`).

use base64::Engine;
use http::HeaderMap;

/// `Authorization: Basic base64(user:secret)` (scheme case-insensitive; the secret may contain
/// `:`).
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let (scheme, rest) = authorization(headers)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

/// `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, rest) = authorization(headers)?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The value of cookie `name` from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim()
        .split_once(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn basic_forms() {
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let auth = http::header::AUTHORIZATION;
        assert_eq!(
            basic(&with(auth.clone(), &format!("Basic {}", enc("a:b")))),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(
            basic(&with(auth.clone(), &format!("basic {}", enc("a:b:c")))).map(|c| c.1),
            Some("b:c".into())
        );
        assert_eq!(basic(&with(auth.clone(), "Bearer xyz")), None);
        assert_eq!(basic(&with(auth.clone(), "Basic !!!")), None);
        assert_eq!(
            basic(&with(auth.clone(), &format!("Basic {}", enc("nocolon")))),
            None
        );
        assert_eq!(basic(&HeaderMap::new()), None);
        assert_eq!(bearer(&with(auth.clone(), "Bearer t0k")), Some("t0k"));
        assert_eq!(bearer(&with(auth, "Basic t0k")), None);
    }

    #[test]
    fn cookies() {
        let h = with(http::header::COOKIE, "a=1; billmgrses5=abc; b=2");
        assert_eq!(cookie(&h, "billmgrses5"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
