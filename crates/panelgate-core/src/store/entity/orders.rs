//! `orders`: a customer's product orders (httpapi.com backup orders: `backup/{us,asia}/add`),
//! tied to the customer and to one of its hosting orders (subscriptions).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// The product key of the plan (`acronisbackupus`, `acronisbackupasia`).
    pub product_key: String,
    pub customer_id: i64,
    pub admin_id: i64,
    /// The subscription (hosting order) the order belongs to.
    pub hosting_order_id: i64,
    pub plan_id: i64,
    pub storage_gb: i64,
    pub months: i64,
    pub auto_renew: bool,
    /// `Active`, `InActive` (added, not executed: its invoice is unpaid) or `Deleted`.
    pub status: String,
    /// Suspended by the reseller (`orders/suspend`), with the reason given.
    pub suspended: bool,
    pub suspend_reason: String,
    pub created_at: i64,
    /// Unix seconds; past it the order is suspended upon expiry unless it renews itself.
    pub expires_at: i64,
    pub description: String,
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
