//! `plans`: what a reseller sells (httpapi.com `products/plan-details`): the Acronis backup plans
//! of the data set, with their price per GB and month.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// The product key (`acronisbackupus`, `acronisbackupasia`).
    pub product_key: String,
    pub name: String,
    /// `Active` or `Paused`.
    pub status: String,
    /// Selling price per GB and month, in thousandths of the currency unit.
    pub price_millis: i64,
    /// ISO currency code (`USD`).
    pub currency: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
