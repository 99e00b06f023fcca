//! Validated newtypes for identifiers the core stores.

use std::fmt;

use crate::error::CoreError;

/// A login name: 1 to 255 characters, no control characters or white space.
/// Panel-specific rules (Froxlor's `^[a-z][a-z0-9]*$`, reserved names) are checked by frontends.
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
}

impl TryFrom<&str> for Login {
    type Error = CoreError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        let ok = !value.is_empty()
            && value.chars().count() <= 255
            && !value.chars().any(|c| c.is_control() || c.is_whitespace());
        if ok {
            Ok(Login(value.to_owned()))
        } else {
            Err(CoreError::Invalid {
                field: "loginname",
                reason: format!("{value:?} is not a valid login name"),
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
    let h: String = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
