//! `admins`: the server owner and the resellers (Froxlor admins, Plesk resellers).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub loginname: String,
    /// Lower-cased login name; unique, so a duplicate is refused by the database itself.
    #[sea_orm(unique)]
    pub login_key: String,
    pub password_hash: String,
    pub name: String,
    pub email: String,
    pub def_language: String,
    pub theme: String,
    /// Froxlor's `ip` column: `-1` (all IPs) or a JSON list of ids.
    pub ip: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub custom_notes: Option<String>,
    pub custom_notes_show: bool,
    pub gui_access: bool,
    pub reportsent: i64,
    pub customers_see_all: bool,
    pub change_serversettings: bool,
    pub caneditphpsettings: bool,
    pub api_allowed: bool,
    pub deactivated: bool,
    pub customers: i64,
    pub customers_used: i64,
    pub domains: i64,
    pub domains_used: i64,
    pub diskspace: i64,
    pub diskspace_used: i64,
    pub traffic: i64,
    pub traffic_used: i64,
    pub mysqls: i64,
    pub mysqls_used: i64,
    pub emails: i64,
    pub emails_used: i64,
    pub email_accounts: i64,
    pub email_accounts_used: i64,
    pub email_forwarders: i64,
    pub email_forwarders_used: i64,
    pub email_quota: i64,
    pub email_quota_used: i64,
    pub ftps: i64,
    pub ftps_used: i64,
    pub subdomains: i64,
    pub subdomains_used: i64,
    pub lastlogin_succ: i64,
    pub lastlogin_fail: i64,
    pub loginfail_count: i64,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::customers::Entity")]
    Customers,
}

impl Related<super::customers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customers.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
