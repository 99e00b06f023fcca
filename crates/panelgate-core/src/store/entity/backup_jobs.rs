//! `backup_jobs`: planned backups (Froxlor `CustomerBackups` / `DataDump` jobs).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "backup_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub customer_id: i64,
    /// The customer's login and uid when the job was planned (Froxlor keeps them in the job).
    pub loginname: String,
    pub uid: i64,
    /// The destination as the planning panel shows it (Froxlor: a path under the document root).
    #[sea_orm(column_type = "Text")]
    pub destdir: String,
    /// Where the archive goes: a folder relative to the customer's home (`backups/daily`).
    #[sea_orm(column_type = "Text", default_value = "")]
    #[serde(default)]
    pub target_dir: String,
    pub include_databases: bool,
    pub include_mail: bool,
    pub include_web: bool,
    #[sea_orm(column_type = "Text")]
    pub pgp_public_key: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customers::Entity",
        from = "Column::CustomerId",
        to = "super::customers::Column::Id",
        on_delete = "Cascade"
    )]
    Customer,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::customers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}
