//! The one error type of the core. Every frontend maps every variant in one `match`.

use std::fmt;

/// What kind of record an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    Admin,
    Customer,
    BackupJob,
    Credential,
    Subscription,
    /// A product order (httpapi.com backup order).
    Order,
    /// A snapshot of the whole state (control API).
    Snapshot,
}

/// How the caller named the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Id(i64),
    Login(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Id(id) => write!(f, "{id}"),
            Key::Login(login) => f.write_str(login),
        }
    }
}

/// Why an authenticated actor was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The actor's role may not run this operation at all (a customer listing customers).
    RoleNotAllowed,
    /// A customer asked for another customer's data.
    OtherCustomer,
    /// The operation needs a permission the admin lacks (e.g. `change_serversettings`).
    MissingPermission,
}

/// Which quota a write would exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// The owner's number of customers is used up.
    Customers,
    /// The limits asked for exceed what the owner has left.
    Resources,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("{entity:?} {key} not found")]
    NotFound { entity: EntityKind, key: Key },
    #[error("{entity:?} {key} already exists")]
    AlreadyExists { entity: EntityKind, key: Key },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("forbidden: {0:?}")]
    Forbidden(Denied),
    #[error("quota exceeded: {0:?}")]
    QuotaExceeded(Quota),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn not_found(entity: EntityKind, key: Key) -> Self {
        CoreError::NotFound { entity, key }
    }
}

impl From<sea_orm::DbErr> for CoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr as E;
        match &err {
            // The database cannot be reached: a client may try again.
            E::ConnectionAcquire(_) | E::Conn(_) => CoreError::Unavailable(err.to_string()),
            // Everything else is a fault of this server (or of its database).
            E::TryIntoErr { .. }
            | E::ConvertFromU64(_)
            | E::Exec(_)
            | E::Query(_)
            | E::UnpackInsertId
            | E::UpdateGetPrimaryKey
            | E::RecordNotFound(_)
            | E::AttrNotSet(_)
            | E::Custom(_)
            | E::Type(_)
            | E::Json(_)
            | E::Migration(_)
            | E::RecordNotInserted
            | E::RecordNotUpdated => CoreError::Internal(err.to_string()),
        }
    }
}

impl<E> From<sea_orm::TransactionError<E>> for CoreError
where
    E: Into<CoreError> + std::error::Error,
{
    fn from(err: sea_orm::TransactionError<E>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(e) => e.into(),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
