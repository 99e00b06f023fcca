//! Orders: what a reseller sells its customers (httpapi.com's Acronis backup orders), with the
//! plans they are sold under, the actions that change them (each an `eaqid`), the invoices those
//! actions raise and the customer funds that pay them.
//!
//! # The rules
//! * An order belongs to a customer and to one of its subscriptions (the hosting order). Who may
//!   see or change it is the policy's [`sees_customer`](crate::policy::sees_customer), for
//!   [`Operation::OrdersManage`].
//! * Every change is an action. Its invoice follows the `invoice-option`: `NoInvoice` raises
//!   none; `KeepInvoice` raises one to be paid later and executes; `PayInvoice` pays it from the
//!   customer's funds and executes, or keeps the action pending when the funds do not cover it;
//!   `OnlyAdd` raises it and keeps the action pending. An order with a pending action takes no
//!   other change.
//! * Time is the core's clock. Past its expiry an order is suspended upon expiry, unless it renews
//!   itself (`auto-renew`): then the next read renews it, paying from the funds when they cover
//!   the price and keeping the invoice otherwise.
//! * The backup engine gives a customer with orders the storage of its active ones
//!   ([`storage_allowance`]); a customer without orders is not limited by this.

mod time_math;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;

use crate::entity::{funds, invoices, order_actions, orders, plans, subscriptions};
use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::model::CustomerRef;
use crate::policy::{sees_customer, Actor, Operation};
use crate::{sequences, Core};

pub use time_math::add_months;

/// The longest order term, in months (ten years).
pub const MAX_MONTHS: i64 = 120;
/// The largest backup order, in GB.
pub const MAX_STORAGE_GB: i64 = 1_000_000;
/// The largest amount of money handled, in thousandths (a billion units).
const MAX_MILLIS: i64 = 1_000_000_000_000;

/// How an action's invoice is handled (httpapi.com `invoice-option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceOption {
    NoInvoice,
    PayInvoice,
    KeepInvoice,
    OnlyAdd,
}

impl InvoiceOption {
    pub fn parse(s: &str) -> Option<InvoiceOption> {
        Some(match s {
            "NoInvoice" => InvoiceOption::NoInvoice,
            "PayInvoice" => InvoiceOption::PayInvoice,
            "KeepInvoice" => InvoiceOption::KeepInvoice,
            "OnlyAdd" => InvoiceOption::OnlyAdd,
            _ => return None,
        })
    }
}

/// A plan of the data set.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub id: i64,
    /// `acronisbackupus` or `acronisbackupasia`.
    pub product: String,
    pub name: String,
    #[serde(default = "active")]
    pub status: String,
    /// Price per GB and month, in thousandths (`100` = 0.100).
    pub price_millis: i64,
    #[serde(default = "usd")]
    pub currency: String,
}

fn active() -> String {
    "Active".into()
}
fn usd() -> String {
    "USD".into()
}

/// An order's state as its panel shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Active,
    /// Added, not executed (its invoice is unpaid).
    InActive,
    /// Suspended by the reseller, or upon expiry.
    Suspended,
    Deleted,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Active => "Active",
            OrderStatus::InActive => "InActive",
            OrderStatus::Suspended => "Suspended",
            OrderStatus::Deleted => "Deleted",
        }
    }
}

/// An order, as of the core's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub product: String,
    pub customer_id: i64,
    pub admin_id: i64,
    pub hosting_order_id: i64,
    pub plan_id: i64,
    pub storage_gb: i64,
    pub months: i64,
    pub auto_renew: bool,
    pub status: OrderStatus,
    /// Past its expiry (and so suspended).
    pub expired: bool,
    pub suspend_reason: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub description: String,
}

/// An action on an order (`eaqid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    pub action_type: String,
    pub description: String,
    /// `Success`, `InvoicePaid` or `PendingExecution`.
    pub status: String,
    pub status_description: String,
    pub created_at: i64,
}

/// An invoice raised by an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    pub id: i64,
    pub amount_millis: i64,
    pub currency: String,
    pub paid: bool,
}

/// What an action did: the order after it, the action, its invoice and the discount given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub order: Order,
    pub action: Action,
    pub invoice: Option<Invoice>,
    pub discount_millis: i64,
}

/// A new backup order (`backup/{us,asia}/add`).
#[derive(Clone, Debug)]
pub struct NewBackupOrder {
    /// `acronisbackupus` or `acronisbackupasia`: the plan must be of this product.
    pub product: String,
    pub customer: i64,
    pub hosting_order_id: i64,
    pub plan_id: i64,
    pub storage_gb: i64,
    pub months: i64,
    pub auto_renew: bool,
    pub invoice: InvoiceOption,
    pub discount_millis: i64,
}

/// A change to an order that is billed.
#[derive(Clone, Copy, Debug)]
pub enum Change {
    /// The order's new total storage.
    Storage { total_gb: i64 },
    Renew {
        months: i64,
        auto_renew: Option<bool>,
    },
}

/// What a search of orders keeps.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub product: Option<String>,
    pub order_ids: Vec<i64>,
    pub customer_ids: Vec<i64>,
    pub statuses: Vec<String>,
}

/// The storage a customer's orders give its archives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// No orders: not limited by orders.
    Unlimited,
    /// The active orders' storage in GB, and the orders that give none (id, why).
    Limited { gb: i64, idle: Vec<(i64, String)> },
}

const DESC_EXECUTED: &str =
    "Your Order will be processed by our automatic provisioning system in the next 5-10 minutes.";
const DESC_PENDING: &str = "The action is pending execution";
const DESC_DONE: &str = "Request will be processed in some time.";

pub struct Orders<'a> {
    pub(crate) core: &'a Core,
}

fn to_order(r: orders::Model, now: i64) -> Order {
    let expired = r.expires_at <= now;
    let status = match r.status.as_str() {
        "Deleted" => OrderStatus::Deleted,
        "InActive" => OrderStatus::InActive,
        _ if r.suspended || expired => OrderStatus::Suspended,
        _ => OrderStatus::Active,
    };
    Order {
        id: r.id,
        product: r.product_key,
        customer_id: r.customer_id,
        admin_id: r.admin_id,
        hosting_order_id: r.hosting_order_id,
        plan_id: r.plan_id,
        storage_gb: r.storage_gb,
        months: r.months,
        auto_renew: r.auto_renew,
        status,
        expired,
        suspend_reason: r.suspend_reason,
        created_at: r.created_at,
        expires_at: r.expires_at,
        description: r.description,
    }
}

fn to_action(r: order_actions::Model) -> Action {
    let status_description = match r.status.as_str() {
        "PendingExecution" => DESC_PENDING,
        _ if r.action_type == "Add" => DESC_EXECUTED,
        _ => DESC_DONE,
    }
    .to_owned();
    Action {
        id: r.id,
        order_id: r.order_id,
        customer_id: r.customer_id,
        action_type: r.action_type,
        description: r.description,
        status: r.status,
        status_description,
        created_at: r.created_at,
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_range(field: &'static str, value: i64, max: i64) -> CoreResult<()> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{field} must be between 1 and {max}"),
        ))
    }
}

/// The price of `gb` for `months` at `plan`'s rate, less the discount (which may not exceed it).
fn price(plan: &plans::Model, gb: i64, months: i64, discount: i64) -> CoreResult<i64> {
    let gross = plan
        .price_millis
        .checked_mul(gb)
        .and_then(|v| v.checked_mul(months))
        .filter(|v| *v <= MAX_MILLIS)
        .ok_or_else(|| invalid("storage-size-gb", "the order's price is too large"))?;
    if !(0..=gross).contains(&discount) {
        return Err(invalid(
            "discount-amount",
            "discount-amount must be between 0 and the order's price",
        ));
    }
    Ok(gross - discount)
}

/// Turn a money string (`12.5`, `0.00`) into thousandths; at most three decimals.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty()
        || whole.len() > 12
        || frac.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i64 = format!("{frac:0<3}").parse().ok()?;
    Some(w * 1000 + f)
}

/// Thousandths as a decimal string with three places (`-90.540`).
pub fn money(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let m = millis.unsigned_abs();
    format!("{sign}{}.{:03}", m / 1000, m % 1000)
}

impl Orders<'_> {
    /// The plans of the data set, by id.
    pub async fn plans(&self, actor: &Actor) -> CoreResult<Vec<Plan>> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let rows = plans::Entity::find()
            .order_by_asc(plans::Column::Id)
            .all(self.core.reader())
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| Plan {
                id: p.id,
                product: p.product_key,
                name: p.name,
                status: p.status,
                price_millis: p.price_millis,
                currency: p.currency,
            })
            .collect())
    }

    /// Add a plan (data sets).
    pub(crate) async fn add_plan(&self, plan: &Plan) -> CoreResult<()> {
        plans::ActiveModel {
            id: Set(plan.id),
            product_key: Set(plan.product.clone()),
            name: Set(plan.name.clone()),
            status: Set(plan.status.clone()),
            price_millis: Set(plan.price_millis),
            currency: Set(plan.currency.clone()),
        }
        .insert(&self.core.db())
        .await?;
        Ok(())
    }

    /// A customer's funds, in thousandths.
    pub async fn funds(&self, actor: &Actor, customer: &CustomerRef) -> CoreResult<i64> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let c = self.core.customers().get(actor, customer).await?;
        funds_of(self.core.reader(), c.id).await
    }

    /// Add to (or, negative, take from) a customer's funds; the balance never goes below zero.
    pub async fn add_funds(
        &self,
        actor: &Actor,
        customer: &CustomerRef,
        millis: i64,
    ) -> CoreResult<i64> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let c = self.core.customers().get(actor, customer).await?;
        let txn = self.core.begin().await?;
        let next = funds_of(&txn, c.id)
            .await?
            .checked_add(millis)
            .filter(|v| (0..=MAX_MILLIS).contains(v))
            .ok_or_else(|| invalid("amount", "the balance would leave its range"))?;
        set_funds(&txn, c.id, next).await?;
        txn.commit().await?;
        Ok(next)
    }

    /// Place a backup order for a customer the actor sees.
    pub async fn add_backup(&self, actor: &Actor, new: NewBackupOrder) -> CoreResult<Outcome> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        check_range("storage-size-gb", new.storage_gb, MAX_STORAGE_GB)?;
        check_range("months", new.months, MAX_MONTHS)?;
        let customer = self
            .core
            .customers()
            .get(actor, &CustomerRef::Id(new.customer))
            .await?;
        let txn = self.core.begin().await?;
        let plan = plans::Entity::find_by_id(new.plan_id)
            .one(&txn)
            .await?
            .filter(|p| p.product_key == new.product && p.status == "Active")
            .ok_or_else(|| invalid("plan-id", format!("Invalid plan-id: {}", new.plan_id)))?;
        let hosting = subscriptions::Entity::find_by_id(new.hosting_order_id)
            .one(&txn)
            .await?
            .filter(|s| s.customer_id == customer.id)
            .ok_or_else(|| {
                invalid(
                    "hosting-order-id",
                    format!("Invalid hosting-order-id: {}", new.hosting_order_id),
                )
            })?;
        let amount = price(&plan, new.storage_gb, new.months, new.discount_millis)?;
        let now = self.core.now();
        let id = sequences::next_id(&txn, sequences::ORDERS).await?;
        let description = format!(
            "{} {} GB backup for {}",
            plan.name, new.storage_gb, hosting.domain
        );
        let row = orders::ActiveModel {
            id: Set(id),
            product_key: Set(plan.product_key.clone()),
            customer_id: Set(customer.id),
            admin_id: Set(customer.admin_id),
            hosting_order_id: Set(hosting.id),
            plan_id: Set(plan.id),
            storage_gb: Set(new.storage_gb),
            months: Set(new.months),
            auto_renew: Set(new.auto_renew),
            status: Set("InActive".into()),
            suspended: Set(false),
            suspend_reason: Set(String::new()),
            created_at: Set(now),
            expires_at: Set(add_months(now, new.months)),
            description: Set(description.clone()),
        }
        .insert(&txn)
        .await?;
        let what = format!(
            "Addition of {} GB {} for {} for {} month{}",
            new.storage_gb,
            plan.name,
            hosting.domain,
            new.months,
            if new.months == 1 { "" } else { "s" }
        );
        let (action, invoice) = bill(
            &txn,
            &row,
            &plan.currency,
            "Add",
            &what,
            amount,
            new.discount_millis,
            new.invoice,
            now,
        )
        .await?;
        if action.status != "PendingExecution" {
            let mut am: orders::ActiveModel = row.clone().into();
            am.status = Set("Active".into());
            am.update(&txn).await?;
        }
        txn.commit().await?;
        self.outcome(id, action, invoice, new.discount_millis).await
    }

    /// Add storage to an order (`total_gb` is its new size) or renew it, billed as the invoice
    /// option says.
    pub async fn change(
        &self,
        actor: &Actor,
        id: i64,
        change: Change,
        invoice: InvoiceOption,
        discount: i64,
    ) -> CoreResult<Outcome> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        self.settle().await?;
        let txn = self.core.begin().await?;
        let row = visible_row(&txn, actor, id).await?;
        let order = to_order(row.clone(), self.core.now());
        match order.status {
            OrderStatus::Deleted => return Err(deleted(id)),
            OrderStatus::InActive => return Err(pending_action()),
            _ => {}
        }
        if has_pending(&txn, id).await? {
            return Err(pending_action());
        }
        let plan = plans::Entity::find_by_id(row.plan_id)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                CoreError::Internal(format!("plan {} of order {id} is gone", row.plan_id))
            })?;
        let now = self.core.now();
        let (kind, what, amount) = match change {
            Change::Storage { total_gb } => {
                check_range("storage-size-gb", total_gb, MAX_STORAGE_GB)?;
                if total_gb <= row.storage_gb {
                    return Err(invalid(
                        "storage-size-gb",
                        format!(
                            "storage-size-gb must be larger than the order's current {} GB",
                            row.storage_gb
                        ),
                    ));
                }
                if order.status == OrderStatus::Suspended {
                    return Err(CoreError::Conflict(format!("Order {id} is suspended")));
                }
                (
                    "AddStorage",
                    format!(
                        "Addition of {} GB storage to {} (total {total_gb} GB)",
                        total_gb - row.storage_gb,
                        row.description
                    ),
                    price(&plan, total_gb - row.storage_gb, row.months, discount)?,
                )
            }
            Change::Renew { months, .. } => {
                check_range("months", months, MAX_MONTHS)?;
                (
                    "Renew",
                    format!(
                        "Renewal of {} for {months} month{}",
                        row.description,
                        if months == 1 { "" } else { "s" }
                    ),
                    price(&plan, row.storage_gb, months, discount)?,
                )
            }
        };
        let (action, bill_invoice) = bill(
            &txn,
            &row,
            &plan.currency,
            kind,
            &what,
            amount,
            discount,
            invoice,
            now,
        )
        .await?;
        if action.status != "PendingExecution" {
            let mut am: orders::ActiveModel = row.clone().into();
            match change {
                Change::Storage { total_gb } => am.storage_gb = Set(total_gb),
                Change::Renew { months, auto_renew } => {
                    am.expires_at = Set(add_months(row.expires_at, months));
                    if let Some(a) = auto_renew {
                        am.auto_renew = Set(a);
                    }
                }
            }
            am.update(&txn).await?;
        }
        txn.commit().await?;
        self.outcome(id, action, bill_invoice, discount).await
    }

    /// Suspend or unsuspend an order (`orders/suspend`, `orders/unsuspend`).
    pub async fn set_suspended(
        &self,
        actor: &Actor,
        id: i64,
        suspended: bool,
        reason: &str,
    ) -> CoreResult<Outcome> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let txn = self.core.begin().await?;
        let row = visible_row(&txn, actor, id).await?;
        if row.status == "Deleted" {
            return Err(deleted(id));
        }
        if row.suspended == suspended {
            return Err(CoreError::Conflict(format!(
                "Order {id} is {}suspended",
                if suspended { "already " } else { "not " }
            )));
        }
        let mut am: orders::ActiveModel = row.clone().into();
        am.suspended = Set(suspended);
        am.suspend_reason = Set(if suspended {
            reason.chars().take(255).collect()
        } else {
            String::new()
        });
        am.update(&txn).await?;
        let (kind, what) = if suspended {
            ("Suspend", format!("Suspension of {}", row.description))
        } else {
            ("Unsuspend", format!("Unsuspension of {}", row.description))
        };
        let action = record_action(
            &txn,
            &row,
            kind,
            &what,
            "Success",
            None,
            0,
            0,
            self.core.now(),
        )
        .await?;
        txn.commit().await?;
        self.outcome(id, action, None, 0).await
    }

    /// Delete an order: it stays listed as `Deleted` and gives no storage.
    pub async fn delete(&self, actor: &Actor, id: i64) -> CoreResult<Outcome> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let txn = self.core.begin().await?;
        let row = visible_row(&txn, actor, id).await?;
        if row.status == "Deleted" {
            return Err(deleted(id));
        }
        let mut am: orders::ActiveModel = row.clone().into();
        am.status = Set("Deleted".into());
        am.update(&txn).await?;
        let what = format!("Deletion of {}", row.description);
        let action = record_action(
            &txn,
            &row,
            "Delete",
            &what,
            "Success",
            None,
            0,
            0,
            self.core.now(),
        )
        .await?;
        txn.commit().await?;
        self.outcome(id, action, None, 0).await
    }

    /// One order the actor sees.
    pub async fn get(&self, actor: &Actor, id: i64) -> CoreResult<Order> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        self.settle().await?;
        let row = visible_row(self.core.reader(), actor, id).await?;
        Ok(to_order(row, self.core.now()))
    }

    /// The orders the actor sees that the filter keeps, by id.
    pub async fn search(&self, actor: &Actor, filter: &OrderFilter) -> CoreResult<Vec<Order>> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        self.settle().await?;
        let mut q = orders::Entity::find().order_by_asc(orders::Column::Id);
        if let Some(owner) = crate::policy::customer_owner_filter(actor) {
            q = q.filter(orders::Column::AdminId.eq(owner));
        }
        if let Some(p) = &filter.product {
            q = q.filter(orders::Column::ProductKey.eq(p.clone()));
        }
        if !filter.order_ids.is_empty() {
            q = q.filter(orders::Column::Id.is_in(filter.order_ids.clone()));
        }
        if !filter.customer_ids.is_empty() {
            q = q.filter(orders::Column::CustomerId.is_in(filter.customer_ids.clone()));
        }
        let now = self.core.now();
        Ok(q.all(self.core.reader())
            .await?
            .into_iter()
            .filter(|r| sees_customer(actor, r.customer_id, r.admin_id))
            .map(|r| to_order(r, now))
            .filter(|o| {
                filter.statuses.is_empty() || filter.statuses.iter().any(|s| s == o.status.as_str())
            })
            .collect())
    }

    /// The pending actions (`actions/search-current`) on orders the actor sees, by eaqid.
    pub async fn current_actions(&self, actor: &Actor) -> CoreResult<Vec<Action>> {
        self.core.authorize(actor, Operation::OrdersManage)?;
        let mut q = order_actions::Entity::find()
            .filter(order_actions::Column::Status.eq("PendingExecution"))
            .order_by_asc(order_actions::Column::Id);
        if let Some(owner) = crate::policy::customer_owner_filter(actor) {
            q = q.filter(order_actions::Column::AdminId.eq(owner));
        }
        Ok(q.all(self.core.reader())
            .await?
            .into_iter()
            .filter(|a| sees_customer(actor, a.customer_id, a.admin_id))
            .map(to_action)
            .collect())
    }

    async fn outcome(
        &self,
        id: i64,
        action: Action,
        invoice: Option<Invoice>,
        discount_millis: i64,
    ) -> CoreResult<Outcome> {
        let row = orders::Entity::find_by_id(id)
            .one(self.core.reader())
            .await?
            .ok_or_else(|| CoreError::not_found(EntityKind::Order, Key::Id(id)))?;
        Ok(Outcome {
            order: to_order(row, self.core.now()),
            action,
            invoice,
            discount_millis,
        })
    }

    /// Renew the active auto-renewing orders the clock has passed the expiry of: one renewal per
    /// term until the expiry is ahead, each paid from the funds when they cover it (else kept).
    pub(crate) async fn settle(&self) -> CoreResult<()> {
        let now = self.core.now();
        let due = orders::Entity::find()
            .filter(orders::Column::Status.eq("Active"))
            .filter(orders::Column::AutoRenew.eq(true))
            .filter(orders::Column::Suspended.eq(false))
            .filter(orders::Column::ExpiresAt.lte(now))
            .all(&self.core.db())
            .await?;
        for order in due {
            let txn = self.core.begin().await?;
            // Another instance may have renewed it meanwhile.
            let Some(row) = orders::Entity::find_by_id(order.id)
                .one(&txn)
                .await?
                .filter(|r| r.expires_at <= now && r.status == "Active" && r.auto_renew)
            else {
                continue;
            };
            let Some(plan) = plans::Entity::find_by_id(row.plan_id).one(&txn).await? else {
                continue;
            };
            let amount = price(&plan, row.storage_gb, row.months, 0)?;
            let mut expires = row.expires_at;
            // Bounded: a term is at least a month, and the clock at most a few centuries away.
            for _ in 0..10_000 {
                if expires > now {
                    break;
                }
                let what = format!(
                    "Automatic renewal of {} for {} month{}",
                    row.description,
                    row.months,
                    if row.months == 1 { "" } else { "s" }
                );
                let balance = funds_of(&txn, row.customer_id).await?;
                let option = if balance >= amount {
                    InvoiceOption::PayInvoice
                } else {
                    InvoiceOption::KeepInvoice
                };
                bill(
                    &txn,
                    &row,
                    &plan.currency,
                    "Renew",
                    &what,
                    amount,
                    0,
                    option,
                    now,
                )
                .await?;
                expires = add_months(expires, row.months);
            }
            orders::Entity::update_many()
                .col_expr(orders::Column::ExpiresAt, Expr::value(expires))
                .filter(orders::Column::Id.eq(row.id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
        }
        Ok(())
    }
}

/// The storage the orders of `customer` give its archives, as of `now`.
pub(crate) async fn storage_allowance<C: ConnectionTrait>(
    db: &C,
    customer: i64,
    now: i64,
) -> CoreResult<Allowance> {
    let rows = orders::Entity::find()
        .filter(orders::Column::CustomerId.eq(customer))
        .filter(orders::Column::Status.ne("Deleted"))
        .order_by_asc(orders::Column::Id)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Allowance::Unlimited);
    }
    let mut gb = 0i64;
    let mut idle = Vec::new();
    for r in rows {
        let o = to_order(r, now);
        match o.status {
            OrderStatus::Active => gb = gb.saturating_add(o.storage_gb),
            OrderStatus::InActive => idle.push((o.id, "is not paid yet".to_owned())),
            OrderStatus::Suspended if o.expired => idle.push((o.id, "has expired".to_owned())),
            _ => idle.push((o.id, "is suspended".to_owned())),
        }
    }
    Ok(Allowance::Limited { gb, idle })
}

/// Remove a deleted customer's orders, actions, invoices and funds (inside its transaction).
pub(crate) async fn forget_customer<C: ConnectionTrait>(db: &C, customer: i64) -> CoreResult<()> {
    order_actions::Entity::delete_many()
        .filter(order_actions::Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    invoices::Entity::delete_many()
        .filter(invoices::Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    orders::Entity::delete_many()
        .filter(orders::Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    funds::Entity::delete_by_id(customer).exec(db).await?;
    Ok(())
}

fn deleted(id: i64) -> CoreError {
    CoreError::Conflict(format!("Order {id} has been deleted"))
}

fn pending_action() -> CoreError {
    CoreError::Conflict("There is already an action pending on this Order.".into())
}

async fn visible_row<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i64,
) -> CoreResult<orders::Model> {
    orders::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|r| sees_customer(actor, r.customer_id, r.admin_id))
        .ok_or_else(|| CoreError::not_found(EntityKind::Order, Key::Id(id)))
}

async fn has_pending<C: ConnectionTrait>(db: &C, order: i64) -> CoreResult<bool> {
    Ok(order_actions::Entity::find()
        .filter(order_actions::Column::OrderId.eq(order))
        .filter(order_actions::Column::Status.eq("PendingExecution"))
        .one(db)
        .await?
        .is_some())
}

async fn funds_of<C: ConnectionTrait>(db: &C, customer: i64) -> CoreResult<i64> {
    Ok(funds::Entity::find_by_id(customer)
        .one(db)
        .await?
        .map_or(0, |f| f.balance_millis))
}

async fn set_funds<C: ConnectionTrait>(db: &C, customer: i64, balance: i64) -> CoreResult<()> {
    let exists = funds::Entity::find_by_id(customer).one(db).await?.is_some();
    let am = funds::ActiveModel {
        customer_id: Set(customer),
        balance_millis: Set(balance),
    };
    if exists {
        am.update(db).await?;
    } else {
        am.insert(db).await?;
    }
    Ok(())
}

/// Raise the action and its invoice as `option` says; pay from the funds for `PayInvoice` when
/// they cover it. The caller executes the change unless the action is pending.
#[allow(clippy::too_many_arguments)]
async fn bill<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    currency: &str,
    kind: &str,
    what: &str,
    amount: i64,
    discount: i64,
    option: InvoiceOption,
    now: i64,
) -> CoreResult<(Action, Option<Invoice>)> {
    let (status, paid) = match option {
        InvoiceOption::NoInvoice => {
            let action =
                record_action(db, order, kind, what, "Success", None, 0, discount, now).await?;
            return Ok((action, None));
        }
        InvoiceOption::KeepInvoice => ("Success", false),
        InvoiceOption::OnlyAdd => ("PendingExecution", false),
        InvoiceOption::PayInvoice => {
            let balance = funds_of(db, order.customer_id).await?;
            if balance >= amount {
                set_funds(db, order.customer_id, balance - amount).await?;
                ("InvoicePaid", true)
            } else {
                ("PendingExecution", false)
            }
        }
    };
    let invoice_id = sequences::next_id(db, sequences::INVOICES).await?;
    let action = record_action(
        db,
        order,
        kind,
        what,
        status,
        Some(invoice_id),
        amount,
        discount,
        now,
    )
    .await?;
    invoices::ActiveModel {
        id: Set(invoice_id),
        customer_id: Set(order.customer_id),
        admin_id: Set(order.admin_id),
        order_id: Set(order.id),
        action_id: Set(action.id),
        amount_millis: Set(amount),
        currency: Set(currency.to_owned()),
        paid: Set(paid),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok((
        action,
        Some(Invoice {
            id: invoice_id,
            amount_millis: amount,
            currency: currency.to_owned(),
            paid,
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn record_action<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    kind: &str,
    what: &str,
    status: &str,
    invoice: Option<i64>,
    amount: i64,
    discount: i64,
    now: i64,
) -> CoreResult<Action> {
    let id = sequences::next_id(db, sequences::ORDER_ACTIONS).await?;
    let row = order_actions::ActiveModel {
        id: Set(id),
        order_id: Set(order.id),
        customer_id: Set(order.customer_id),
        admin_id: Set(order.admin_id),
        action_type: Set(kind.to_owned()),
        description: Set(what.chars().take(255).collect()),
        status: Set(status.to_owned()),
        invoice_id: Set(invoice),
        amount_millis: Set(amount),
        discount_millis: Set(discount),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(to_action(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips() {
        for (s, m) in [
            ("0.00", 0),
            ("12.5", 12_500),
            ("0.001", 1),
            ("7", 7_000),
            (".5", 500),
        ] {
            assert_eq!(parse_money(s), Some(m), "{s}");
        }
        for bad in [
            "",
            ".",
            "-1",
            "1.2345",
            "1e3",
            "abc",
            "1.-2",
            "9999999999999",
        ] {
            assert_eq!(parse_money(bad), None, "{bad}");
        }
        assert_eq!(money(-90_540), "-90.540");
        assert_eq!(money(1_250), "1.250");
        assert_eq!(money(0), "0.000");
    }
}
