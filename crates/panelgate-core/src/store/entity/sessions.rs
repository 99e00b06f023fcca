//! `sessions`: login sessions and one-time login keys (ISPsystem `func=auth`, `session.newkey`),
//! in the database so that several instances share them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// SHA-256 (hex) of the session id or key: the database never holds a usable secret.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    /// `session` or `key` (one-time login key).
    pub kind: String,
    pub admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub created_at: i64,
    /// Unix seconds of the last use: a session ends an hour after it.
    pub last_used: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
