//! `credentials`: API keys and secret keys of every protocol. Secrets are stored hashed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// `froxlor`, `plesk`, `httpapi`.
    pub kind: String,
    /// The public half (Froxlor apikey, httpapi auth-userid); empty for Plesk secret keys.
    pub public_key: String,
    /// A short, non-secret prefix of the secret, used to find the row without the secret itself.
    pub lookup: String,
    pub secret_hash: String,
    pub admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub allowed_from: String,
    /// Unix seconds; -1 = forever, 0 = disabled (Froxlor semantics).
    pub valid_until: i64,
    #[sea_orm(column_type = "Text")]
    pub description: String,
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
    #[sea_orm(
        belongs_to = "super::admins::Entity",
        from = "Column::AdminId",
        to = "super::admins::Column::Id",
        on_delete = "Cascade"
    )]
    Admin,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::admins::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Admin.def()
    }
}
