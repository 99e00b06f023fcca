//! `backup_archives`: archive files a backup produced or an upload brought in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "backup_archives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub task_id: Option<i64>,
    pub scope: String,
    pub scope_id: i64,
    /// Login (or `server`) of the scope when the archive was made.
    pub scope_name: String,
    pub owner_admin_id: Option<i64>,
    /// Not a foreign key: the customer may be deleted and restored from this very archive.
    pub customer_id: Option<i64>,
    pub created_at: i64,
    pub size: i64,
    pub sha256: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub prefix: String,
    pub storage: String,
    /// The directory holding the part files.
    #[sea_orm(column_type = "Text")]
    pub directory: String,
    /// The archive's name (what panels show and download).
    pub file_name: String,
    /// JSON list of the part file names, in order.
    #[sea_orm(column_type = "Text")]
    pub parts: String,
    pub manifest_version: i64,
    /// JSON list of the data items (type, name, owner).
    #[sea_orm(column_type = "Text")]
    pub items: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
