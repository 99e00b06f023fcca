//! The Acronis backup family (`backup/{us,asia}/…`, §3), `products/plan-details`,
//! `orders/suspend|unsuspend` and `actions/search-current` (§5) over the core's orders.

use std::net::IpAddr;

use panelgate_core::orders::{
    money, Action, Change, InvoiceOption, NewBackupOrder, Order, OrderFilter, Outcome,
};
use panelgate_core::{Core, CustomerRef, Principal};
use serde_json::{json, Map, Value};

use crate::call::{Billing, Call, Region};
use crate::customers::{new_token, page_of, s, search_page};
use crate::{from_core, Failure, Subject};

/// The action map (§5.1): order, action and, unless the action raised no invoice, the invoice
/// fields (§3.1: omitted for `NoInvoice`).
fn action_map(o: &Outcome) -> Map<String, Value> {
    // The key order of the recorded G5 answer.
    let mut m = Map::new();
    m.insert("entityid".into(), s(o.order.id));
    m.insert("description".into(), s(&o.order.description));
    m.insert("actionstatus".into(), s(&o.action.status));
    m.insert("actionstatusdesc".into(), s(&o.action.status_description));
    m.insert("actiontypedesc".into(), s(&o.action.description));
    m.insert("status".into(), s("Success"));
    m.insert("eaqid".into(), s(o.action.id));
    m.insert("actiontype".into(), s(&o.action.action_type));
    if let Some(invoice) = &o.invoice {
        m.insert("invoiceid".into(), s(invoice.id));
        m.insert("sellingcurrencysymbol".into(), s(&invoice.currency));
        m.insert("sellingamount".into(), s(money(-invoice.amount_millis)));
        m.insert(
            "unutilisedsellingamount".into(),
            s(money(-invoice.amount_millis)),
        );
        m.insert("customerid".into(), s(o.order.customer_id));
        m.insert("discount-amount".into(), s(money(o.discount_millis)));
    }
    m
}

/// An action on an existing order with an invoice (§5.3): `PayInvoice`/`KeepInvoice` nested
/// under the invoice id, `OnlyAdd` the short `customercost` form.
fn change_map(o: &Outcome, invoice: InvoiceOption) -> Value {
    match (&o.invoice, invoice) {
        (Some(inv), InvoiceOption::OnlyAdd) => json!({
            "customercost": money(inv.amount_millis),
            "eaqid": o.action.id.to_string(),
            "customerid": o.order.customer_id.to_string(),
            "invoiceid": inv.id.to_string(),
        }),
        (Some(inv), _) => {
            let mut m = Map::new();
            m.insert(inv.id.to_string(), Value::Object(action_map(o)));
            Value::Object(m)
        }
        (None, _) => Value::Object(action_map(o)),
    }
}

/// An order as `details` answers it: every value a string.
fn order_map(o: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("orderid", s(o.id));
    put("entityid", s(o.id));
    put("description", s(&o.description));
    put("productkey", s(&o.product));
    put("productcategory", s("backup"));
    put("planid", s(o.plan_id));
    put("customerid", s(o.customer_id));
    put("resellerid", s(o.admin_id));
    put("hostingorderid", s(o.hosting_order_id));
    put("storagesize", s(o.storage_gb));
    put("noofmonths", s(o.months));
    put("currentstatus", s(o.status.as_str()));
    put("creationtime", s(o.created_at));
    put("endtime", s(o.expires_at));
    put("recurring", s(o.auto_renew));
    put("isOrderSuspendedUponExpiry", s(o.expired));
    put(
        "orderSuspendedByParent",
        s(!o.suspend_reason.is_empty() || (o.status.as_str() == "Suspended" && !o.expired)),
    );
    if !o.suspend_reason.is_empty() {
        put("suspendreason", s(&o.suspend_reason));
    }
    m
}

/// A search record (§3.5, by the `orders.`/`entity.` convention of X3).
fn search_row(o: &Order) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("orders.orderid", s(o.id)),
        ("entity.entityid", s(o.id)),
        ("entity.description", s(&o.description)),
        ("entity.currentstatus", s(o.status.as_str())),
        ("entity.customerid", s(o.customer_id)),
        ("orders.productkey", s(&o.product)),
        ("orders.planid", s(o.plan_id)),
        ("orders.storagesize", s(o.storage_gb)),
        ("orders.creationtime", s(o.created_at)),
        ("orders.endtime", s(o.expires_at)),
        ("orders.autorenew", s(o.auto_renew)),
    ] {
        m.insert(k.to_owned(), v);
    }
    m
}

fn action_row(a: &Action) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("eaqid", s(a.id)),
        ("entityid", s(a.order_id)),
        ("customerid", s(a.customer_id)),
        ("actiontype", s(&a.action_type)),
        ("actiontypedesc", s(&a.description)),
        ("actionstatus", s(&a.status)),
        ("actionstatusdesc", s(&a.status_description)),
        ("creationdt", s(a.created_at)),
    ] {
        m.insert(k.to_owned(), v);
    }
    m
}

/// The order of a `backup/<region>/…` call: one the caller sees, of that region's product.
async fn order_in(core: &Core, p: &Principal, region: Region, id: i64) -> Result<Order, Failure> {
    let order = core
        .orders()
        .get(&p.actor(), id)
        .await
        .map_err(|e| from_core(&e, Subject::Order(id)))?;
    if order.product != region.product() {
        return Err(Failure::new(format!("No Entity found for Entityid {id}")));
    }
    Ok(order)
}

pub(crate) async fn run(
    core: &Core,
    principal: &Principal,
    call: Call,
    host: &str,
    peer: Option<IpAddr>,
) -> Result<Value, Failure> {
    let actor = principal.actor();
    let orders = core.orders();
    match call {
        Call::BackupAdd {
            region,
            customer,
            hosting_order,
            plan,
            storage_gb,
            months,
            auto_renew,
            billing: Billing { invoice, discount },
        } => {
            let outcome = orders
                .add_backup(
                    &actor,
                    NewBackupOrder {
                        product: region.product().to_owned(),
                        customer,
                        hosting_order_id: hosting_order,
                        plan_id: plan,
                        storage_gb,
                        months,
                        auto_renew,
                        invoice,
                        discount_millis: discount,
                    },
                )
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(customer)))?;
            Ok(Value::Object(action_map(&outcome)))
        }
        Call::BackupAddStorage {
            region,
            order,
            total_gb,
            billing,
        } => {
            order_in(core, principal, region, order).await?;
            let outcome = orders
                .change(
                    &actor,
                    order,
                    Change::Storage { total_gb },
                    billing.invoice,
                    billing.discount,
                )
                .await
                .map_err(|e| from_core(&e, Subject::Order(order)))?;
            Ok(change_map(&outcome, billing.invoice))
        }
        Call::BackupRenew {
            region,
            order,
            months,
            auto_renew,
            billing,
        } => {
            order_in(core, principal, region, order).await?;
            let outcome = orders
                .change(
                    &actor,
                    order,
                    Change::Renew { months, auto_renew },
                    billing.invoice,
                    billing.discount,
                )
                .await
                .map_err(|e| from_core(&e, Subject::Order(order)))?;
            Ok(Value::Object(action_map(&outcome)))
        }
        Call::BackupAutoLogin { region, order } => {
            let o = order_in(core, principal, region, order).await?;
            if o.status.as_str() != "Active" {
                return Err(Failure::new(format!(
                    "Order {order} is {}",
                    o.status.as_str()
                )));
            }
            // A one-time login key of the order's customer (valid as the core's keys are).
            let c = core
                .customers()
                .get(&actor, &CustomerRef::Id(o.customer_id))
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(o.customer_id)))?;
            let token = new_token();
            core.auth()
                .new_login_key(&actor, &c.loginname, &token, peer)
                .await
                .map_err(|e| from_core(&e, Subject::CustomerId(o.customer_id)))?;
            let host: String = host
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
                .take(255)
                .collect();
            Ok(json!({
                "status": "Success",
                "autoLoginUrl": format!("http://{host}/backup/{}/login?order-id={order}&token={token}", region.product()),
                "orderid": order.to_string(),
            }))
        }
        Call::BackupSearch {
            region,
            page,
            order_ids,
            customer_ids,
            statuses,
        } => {
            let found = orders
                .search(
                    &actor,
                    &OrderFilter {
                        product: Some(region.product().to_owned()),
                        order_ids,
                        customer_ids,
                        statuses,
                    },
                )
                .await
                .map_err(|e| from_core(&e, Subject::Reseller))?;
            let (total, shown) = page_of(found, page);
            Ok(search_page(total, shown.iter().map(search_row).collect()))
        }
        Call::BackupDetails { region, order } => {
            let o = order_in(core, principal, region, order).await?;
            Ok(Value::Object(order_map(&o)))
        }
        Call::BackupDelete { region, order } => {
            order_in(core, principal, region, order).await?;
            let outcome = orders
                .delete(&actor, order)
                .await
                .map_err(|e| from_core(&e, Subject::Order(order)))?;
            Ok(Value::Object(action_map(&outcome)))
        }
        Call::OrderSuspend { order, reason } => {
            let outcome = orders
                .set_suspended(&actor, order, true, &reason)
                .await
                .map_err(|e| from_core(&e, Subject::Order(order)))?;
            Ok(Value::Object(action_map(&outcome)))
        }
        Call::OrderUnsuspend { order } => {
            let outcome = orders
                .set_suspended(&actor, order, false, "")
                .await
                .map_err(|e| from_core(&e, Subject::Order(order)))?;
            Ok(Value::Object(action_map(&outcome)))
        }
        Call::PlanDetails => {
            let plans = orders
                .plans(&actor)
                .await
                .map_err(|e| from_core(&e, Subject::Reseller))?;
            let mut out = Map::new();
            for plan in plans {
                let product = out
                    .entry(plan.product.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = product {
                    m.insert(
                        plan.id.to_string(),
                        json!({
                            "plan_name": plan.name,
                            "plan_status": plan.status,
                            "plan_feature": [format!("Backup storage, {} {} per GB per month", money(plan.price_millis), plan.currency)],
                            "pricing": {
                                "currency": plan.currency,
                                "price_per_gb_month": money(plan.price_millis),
                            },
                        }),
                    );
                }
            }
            Ok(Value::Object(out))
        }
        Call::ActionsSearchCurrent {
            page,
            eaqids,
            order_ids,
        } => {
            let actions: Vec<Action> = orders
                .current_actions(&actor)
                .await
                .map_err(|e| from_core(&e, Subject::Reseller))?
                .into_iter()
                .filter(|a| eaqids.is_empty() || eaqids.contains(&a.id))
                .filter(|a| order_ids.is_empty() || order_ids.contains(&a.order_id))
                .collect();
            let (total, shown) = page_of(actions, page);
            Ok(search_page(total, shown.iter().map(action_row).collect()))
        }
        other => Err(Failure::new(format!(
            "Unsupported API call: {other:?} is not an orders call"
        ))),
    }
}
