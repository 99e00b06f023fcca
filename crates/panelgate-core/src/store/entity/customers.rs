//! `customers`: hosting customers (Froxlor customers, Plesk customers, BILLmanager accounts,
//! httpapi.com customers). The columns are the union of what the four panels show.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub loginname: String,
    /// Lower-cased login name; unique, so two concurrent adds of one login cannot both win.
    #[sea_orm(unique)]
    pub login_key: String,
    pub password_hash: String,
    pub admin_id: i64,
    pub name: String,
    pub firstname: String,
    pub gender: i64,
    pub company: String,
    pub street: String,
    pub zipcode: String,
    pub city: String,
    pub state: String,
    pub country: String,
    pub phone: String,
    pub fax: String,
    pub email: String,
    pub customernumber: String,
    pub def_language: String,
    pub diskspace: i64,
    pub diskspace_used: i64,
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
    pub traffic: i64,
    pub traffic_used: i64,
    pub documentroot: String,
    pub standardsubdomain: i64,
    pub guid: i64,
    pub deactivated: bool,
    pub phpenabled: bool,
    pub perlenabled: bool,
    pub dnsenabled: bool,
    pub logviewenabled: bool,
    pub pop3: bool,
    pub imap: bool,
    pub api_allowed: bool,
    pub shell_allowed: bool,
    pub gui_access: bool,
    pub lastlogin_succ: i64,
    pub lastlogin_fail: i64,
    pub loginfail_count: i64,
    pub theme: String,
    #[sea_orm(column_type = "Text")]
    pub custom_notes: String,
    pub custom_notes_show: bool,
    #[sea_orm(column_type = "Text")]
    pub allowed_phpconfigs: String,
    #[sea_orm(column_type = "Text")]
    pub allowed_mysqlserver: String,
    pub uuid: String,
    pub external_id: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub created_at: i64,
    /// The panel API the customer was created through (`froxlor`, `plesk`, `ispsystem`,
    /// `httpapi`), or empty (a data set, an import, the control API).
    #[sea_orm(default_value = "")]
    #[serde(default)]
    pub created_via: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::admins::Entity",
        from = "Column::AdminId",
        to = "super::admins::Column::Id",
        on_delete = "Restrict"
    )]
    Admin,
}

impl Related<super::admins::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Admin.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
