//! `order_actions`: every state change of an order (httpapi.com `eaqid`), with its invoice.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "order_actions")]
pub struct Model {
    /// The `eaqid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub admin_id: i64,
    /// `Add`, `AddStorage`, `Renew`, `Suspend`, `Unsuspend`, `Delete`.
    pub action_type: String,
    pub description: String,
    /// `Success`, `InvoicePaid` or `PendingExecution`.
    pub status: String,
    pub invoice_id: Option<i64>,
    /// The invoice amount, in thousandths (0 without an invoice).
    pub amount_millis: i64,
    pub discount_millis: i64,
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
