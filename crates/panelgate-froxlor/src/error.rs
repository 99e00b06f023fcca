//! Froxlor's error answers, and the one mapping from [`CoreError`] to them.

use panelgate_core::{CoreError, Denied, EntityKind, Key, Quota};

use crate::call::DecodeError;
use crate::listing::SqlError;
use crate::params::ParamError;

/// An answer other than `{"data": …}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `{"message": …}` with this HTTP status.
    Message(u16, String),
    /// A PHP fatal error: HTTP 500 with an empty body.
    Fatal,
}

impl Failure {
    pub fn new(status: u16, message: impl Into<String>) -> Failure {
        Failure::Message(status, message.into())
    }

    /// A parameter error, labelled with the innermost command that read it (`Customers:get`).
    pub fn param(err: ParamError, label: &str) -> Failure {
        match err {
            ParamError::Missing(name) => Failure::new(
                404,
                format!("Requested parameter \"{name}\" could not be found for \"{label}\""),
            ),
            ParamError::Empty(name) => Failure::new(
                406,
                format!("Requested parameter \"{name}\" is empty where it should not be for \"{label}\""),
            ),
        }
    }

    pub fn not_allowed() -> Failure {
        Failure::new(403, "Not allowed to execute given command.")
    }

    /// `Response::standardError`: code 400.
    pub fn standard(message: impl Into<String>) -> Failure {
        Failure::new(400, message)
    }

    pub fn format(field: &str) -> Failure {
        Failure::standard(format!(
            "The value for the field \"{field}\" is not in the expected format."
        ))
    }
}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Failure {
        match e {
            DecodeError::EmptyBody => Failure::new(400, "Empty request body."),
            DecodeError::InvalidJson => Failure::new(400, "Invalid JSON Format."),
            DecodeError::NoCommand => Failure::new(400, "Please provide a command."),
            DecodeError::InvalidCommand => Failure::new(400, "The given command is invalid."),
            DecodeError::UnknownCommand => Failure::new(400, "Unknown command"),
            DecodeError::Fatal => Failure::Fatal,
        }
    }
}

impl From<SqlError> for Failure {
    fn from(e: SqlError) -> Failure {
        Failure::new(500, e.message())
    }
}

/// How the command that failed names backup jobs (`CustomerBackups` or `DataDump`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobNoun {
    Backup,
    DataExport,
}

/// Map a core error to Froxlor's answer. Internal details go to the log, not the wire.
pub fn from_core(err: CoreError, jobs: JobNoun) -> Failure {
    match err {
        CoreError::NotFound { entity, key } => {
            let what = match entity {
                EntityKind::Customer => "Customer",
                EntityKind::Admin => "Admin",
                EntityKind::BackupJob => match jobs {
                    JobNoun::Backup => "Backup job",
                    JobNoun::DataExport => "Data export job",
                },
                EntityKind::Credential => "API key",
                EntityKind::Subscription => "Domain",
                EntityKind::Order => "Order",
                EntityKind::Snapshot => "Snapshot",
            };
            match key {
                Key::Id(id) => {
                    Failure::new(404, format!("{what} with id #{id} could not be found"))
                }
                Key::Login(login) => Failure::new(
                    404,
                    format!("{what} with loginname '{login}' could not be found"),
                ),
            }
        }
        CoreError::AlreadyExists { key, .. } => {
            Failure::standard(format!("Loginname {key} already exists"))
        }
        CoreError::Invalid { reason, .. } => Failure::standard(reason),
        CoreError::Forbidden(Denied::OtherCustomer) => {
            Failure::new(401, "You cannot access data of other customers")
        }
        CoreError::Forbidden(Denied::RoleNotAllowed | Denied::MissingPermission) => {
            Failure::not_allowed()
        }
        CoreError::QuotaExceeded(Quota::Customers) => {
            Failure::new(406, "No more resources available")
        }
        CoreError::QuotaExceeded(Quota::Resources) => {
            Failure::standard("You cannot allocate more resources than you own for yourself.")
        }
        // A state conflict (a limit of this server, a task already finished): the core's
        // sentence is written for clients. Moves answer Froxlor's own text (see `Customers.move`).
        CoreError::Conflict(reason) => Failure::new(406, reason),
        CoreError::Unavailable(detail) => {
            tracing::error!(protocol = "froxlor", error = %detail, "database unavailable");
            Failure::new(500, "SQLSTATE[HY000] [2002] Connection refused")
        }
        CoreError::Internal(detail) => {
            tracing::error!(protocol = "froxlor", error = %detail, "internal error");
            Failure::new(
                500,
                "Internal PHP error: panelgate could not complete the request",
            )
        }
    }
}
