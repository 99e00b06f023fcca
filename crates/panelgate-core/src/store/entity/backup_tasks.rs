//! `backup_tasks`: one run of a backup (Plesk task, BILLmanager `billmgr.backup.create`,
//! a Froxlor job when its time comes).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "backup_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// `server`, `reseller`, `customer` or `subscription`.
    pub scope: String,
    pub scope_id: i64,
    /// The admin or reseller that owns the scope (visibility), if any.
    pub owner_admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub prefix: String,
    /// `local` or `ftp`.
    pub storage: String,
    /// Bytes per part; 0 = one file.
    pub split_size: i64,
    /// `full`, `hosting`, `mail` or `configuration`.
    pub content: String,
    pub include_databases: bool,
    pub include_mail: bool,
    pub include_web: bool,
    /// The Froxlor job this task executes, if any.
    pub job_id: Option<i64>,
    /// For Froxlor jobs: the target directory inside the customer's home.
    #[sea_orm(column_type = "Text")]
    pub destdir: String,
    /// `queued`, `working`, `finished`, `failed`, `stopped`.
    pub state: String,
    pub progress: i64,
    #[sea_orm(column_type = "Text")]
    pub error: String,
    pub stop_requested: bool,
    /// How many times a worker claimed this task.
    pub attempts: i64,
    pub claimed_by: String,
    pub lease_until: i64,
    pub archive_id: Option<i64>,
    /// Fail at this progress (percent): set by a fault rule's `fail_task` (issue 12).
    #[serde(default)]
    pub fail_at: Option<i64>,
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
