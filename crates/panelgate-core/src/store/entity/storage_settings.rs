//! `storage_settings`: remote (FTP) backup storage per scope.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "storage_settings")]
pub struct Model {
    /// `server`, `reseller:<id>`, `customer:<id>` or `subscription:<id>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope_key: String,
    pub protocol: String,
    pub host: String,
    pub port: i64,
    #[sea_orm(column_type = "Text")]
    pub directory: String,
    pub login: String,
    /// Kept readable: panelgate must hand it to the FTP server (it is never shown by the APIs).
    pub password: String,
    pub passive_mode: bool,
    pub use_ftps: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
