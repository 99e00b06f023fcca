//! Validated newtypes for identifiers the core stores.

use std::fmt;

use crate::error::CoreError;

/// The longest login the core stores (each panel applies its own, lower limit first).
pub const LOGIN_MAX_CHARS: usize = 128;

/// A login name of any panel: 1 to [`LOGIN_MAX_CHARS`] characters out of ASCII letters, digits
/// and `.`, `-`, `_`, `@`, `+` (what an e-mail-shaped httpapi.com username needs, and nothing a
/// file system treats specially), starting with a letter or digit, without `..`. So a login is
/// always safe as one path component: no `/`, `\`, NUL or other control characters, no leading
/// `.`, never `.` or `..`. Panel-specific rules (Froxlor's `^[a-z][a-z0-9]*$`, reserved names,
/// shorter length limits) are checked by frontends before this.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Login(String);

impl Login {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key under which logins are unique.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// Is `value` a valid login (see [`Login`])?
    pub fn is_valid(value: &str) -> bool {
        let mut chars = value.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        first_ok
            && value.len() <= LOGIN_MAX_CHARS
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+'))
            && !value.contains("..")
    }
}

impl TryFrom<&str> for Login {
    type Error = CoreError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        if Login::is_valid(value) {
            Ok(Login(value.to_owned()))
        } else {
            let shown: String = value.chars().take(LOGIN_MAX_CHARS).collect();
            Err(CoreError::Invalid {
                field: "loginname",
                reason: format!("{shown:?} is not a valid login name"),
            })
        }
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first 16 bytes of `bytes` as a GUID-shaped string (`8-4-4-4-12` lower-case hex).
pub fn format_guid(bytes: &[u8]) -> String {
    let mut first = [0u8; 16];
    for (slot, b) in first.iter_mut().zip(bytes) {
        *slot = *b;
    }
    uuid::Uuid::from_bytes(first).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_hyphenated_lower_case() {
        let bytes: Vec<u8> = (0u8..20).collect();
        assert_eq!(format_guid(&bytes), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }

    // Issue 7, defect 1: logins are safe as one path component.
    #[test]
    fn regression_issue7_defect1_login_rules() {
        for ok in [
            "customer1",
            "reseller-a",
            "jdoe",
            "a",
            "john.doe@example.com",
            "x_y+z",
        ] {
            assert!(Login::try_from(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(LOGIN_MAX_CHARS + 1);
        for bad in [
            "",
            "/",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            "/etc",
            ".hidden",
            "a..b",
            "a\0b",
            "a\nb",
            "a b",
            "-lead",
            "ümlaut",
            long.as_str(),
        ] {
            assert!(Login::try_from(bad).is_err(), "{bad:?}");
        }
    }
}
