//! Plesk's error answers: one table of codes and texts ([`Fault::code`], [`Fault::text`]) and
//! the one mapping from the core's errors ([`Fault::from_core`], an exhaustive `match`).
//! Internal details never reach the wire; they go to the log.

use panelgate_core::{CoreError, Denied, Quota};

use crate::xml::Element;

/// An error answered in an operation's `<result>` (protocols/plesk.md §2, docs 33765).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 1006 `Permission denied`.
    PermissionDenied,
    /// 1007 `<Noun> with such login already exists`.
    AlreadyExists(&'static str),
    /// 1013: the object does not exist, in Plesk's own words (`client does not exist.`).
    Missing(&'static str),
    /// 1013 `<Noun> does not exist`.
    NotFound(&'static str),
    /// 1014: the request lacks something the operation needs.
    Incomplete(&'static str),
    /// 1015 `Owner not found`, with an optional explanation.
    OwnerNotFound(Option<&'static str>),
    /// 1017 `Feature is not supported by panelgate`.
    Unsupported,
    /// 1019 `Invalid value of <field>`.
    InvalidValue(&'static str),
    /// 1019 `Invalid value of <field>: <reason>` (a rule of the core).
    Invalid { field: &'static str, reason: String },
    /// 1023 with a sentence for the client.
    Refused(&'static str),
    /// 1023 `Operation failed[: <reason>]`.
    OperationFailed(Option<String>),
    /// 1024 `Limit reached`.
    LimitReached,
}

impl Fault {
    /// The code table.
    pub fn code(&self) -> u32 {
        match self {
            Fault::PermissionDenied => 1006,
            Fault::AlreadyExists(_) => 1007,
            Fault::Missing(_) | Fault::NotFound(_) => 1013,
            Fault::Incomplete(_) => 1014,
            Fault::OwnerNotFound(_) => 1015,
            Fault::Unsupported => 1017,
            Fault::InvalidValue(_) | Fault::Invalid { .. } => 1019,
            Fault::Refused(_) | Fault::OperationFailed(_) => 1023,
            Fault::LimitReached => 1024,
        }
    }

    /// The text table.
    pub fn text(&self) -> String {
        match self {
            Fault::PermissionDenied => "Permission denied".into(),
            Fault::AlreadyExists(noun) => format!("{noun} with such login already exists"),
            Fault::Missing(text) | Fault::Incomplete(text) | Fault::Refused(text) => {
                (*text).to_owned()
            }
            Fault::NotFound(noun) => format!("{noun} does not exist"),
            Fault::OwnerNotFound(None) => "Owner not found".into(),
            Fault::OwnerNotFound(Some(why)) => format!("Owner not found: {why}"),
            Fault::Unsupported => "Feature is not supported by panelgate".into(),
            Fault::InvalidValue(field) => format!("Invalid value of {field}"),
            Fault::Invalid { field, reason } => format!("Invalid value of {field}: {reason}"),
            Fault::OperationFailed(None) => "Operation failed".into(),
            Fault::OperationFailed(Some(reason)) => format!("Operation failed: {reason}"),
            Fault::LimitReached => "Limit reached".into(),
        }
    }

    /// The `<result>` element of this error.
    pub fn result(&self) -> Element {
        let mut r = Element::new("result");
        r.add_text("status", "error")
            .add_text("errcode", self.code().to_string())
            .add_text("errtext", self.text());
        r
    }

    /// The one mapping of a core error for an operation on a `noun` (`Client`, `Reseller` …).
    pub fn from_core(e: &CoreError, noun: &'static str) -> Fault {
        match e {
            CoreError::NotFound { .. } => Fault::NotFound(noun),
            CoreError::AlreadyExists { .. } => Fault::AlreadyExists(noun),
            CoreError::Invalid { field, reason } => Fault::Invalid {
                field,
                reason: reason.clone(),
            },
            CoreError::Forbidden(
                Denied::OtherCustomer | Denied::RoleNotAllowed | Denied::MissingPermission,
            ) => Fault::PermissionDenied,
            CoreError::QuotaExceeded(Quota::Customers | Quota::Resources) => Fault::LimitReached,
            CoreError::Conflict(reason) => Fault::OperationFailed(Some(reason.clone())),
            CoreError::Unavailable(detail) | CoreError::Internal(detail) => {
                tracing::error!(protocol = "plesk", error = %detail, "operation failed");
                Fault::OperationFailed(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: protocols/plesk.md §2 (codes) and the golden cases (texts).
    #[test]
    fn code_and_text_table() {
        let rows = [
            (Fault::PermissionDenied, 1006, "Permission denied"),
            (
                Fault::AlreadyExists("Client"),
                1007,
                "Client with such login already exists",
            ),
            (
                Fault::Missing("client does not exist."),
                1013,
                "client does not exist.",
            ),
            (Fault::NotFound("Webspace"), 1013, "Webspace does not exist"),
            (Fault::OwnerNotFound(None), 1015, "Owner not found"),
            (
                Fault::Unsupported,
                1017,
                "Feature is not supported by panelgate",
            ),
            (Fault::InvalidValue("login"), 1019, "Invalid value of login"),
            (Fault::OperationFailed(None), 1023, "Operation failed"),
            (Fault::LimitReached, 1024, "Limit reached"),
        ];
        for (fault, code, text) in rows {
            assert_eq!((fault.code(), fault.text().as_str()), (code, text));
        }
        let internal = Fault::from_core(&CoreError::Internal("secret detail".into()), "Client");
        assert!(!internal.text().contains("secret"));
    }
}
