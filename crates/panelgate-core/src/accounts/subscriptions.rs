//! Subscriptions (Plesk webspaces; Froxlor's standard subdomain is one too).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};

use crate::entity::{customers, subscriptions};
use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::model::{Actor, CustomerRef};
use crate::{sequences, Core};

/// A customer's domain / webspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub customer_id: i64,
    pub admin_id: i64,
    pub domain: String,
    pub is_std_subdomain: bool,
    pub created_at: i64,
}

fn to_sub(r: subscriptions::Model) -> Subscription {
    Subscription {
        id: r.id,
        customer_id: r.customer_id,
        admin_id: r.admin_id,
        domain: r.domain,
        is_std_subdomain: r.is_std_subdomain,
        created_at: r.created_at,
    }
}

pub struct Subscriptions<'a> {
    pub(crate) core: &'a Core,
}

impl Subscriptions<'_> {
    /// Every subscription of the customers the actor sees, by id.
    pub async fn list(&self, actor: &Actor) -> CoreResult<Vec<Subscription>> {
        let rows = subscriptions::Entity::find()
            .order_by_asc(subscriptions::Column::Id)
            .find_also_related(customers::Entity)
            .all(self.core.reader())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, c)| {
                c.as_ref()
                    .is_some_and(|c| crate::policy::sees_customer(actor, c.id, c.admin_id))
            })
            .map(|(s, _)| to_sub(s))
            .collect())
    }

    /// Add a domain to a customer the actor sees (customers may not add their own).
    pub async fn create(
        &self,
        actor: &Actor,
        customer: &CustomerRef,
        domain: &str,
    ) -> CoreResult<Subscription> {
        self.core
            .authorize(actor, crate::Operation::SubscriptionsManage)?;
        let domain = domain.trim().to_lowercase();
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(CoreError::Invalid {
                field: "domain",
                reason: format!("{domain:?} is not a domain name"),
            });
        }
        let owner = self.core.customers().get(actor, customer).await?;
        let txn = self.core.begin().await?;
        let id = sequences::next_id(&txn, sequences::SUBSCRIPTIONS).await?;
        let row = subscriptions::ActiveModel {
            id: Set(id),
            customer_id: Set(owner.id),
            admin_id: Set(owner.admin_id),
            domain: Set(domain.clone()),
            is_std_subdomain: Set(false),
            created_at: Set(self.core.now()),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => CoreError::AlreadyExists {
                entity: EntityKind::Subscription,
                key: Key::Login(domain.clone()),
            },
            _ => e.into(),
        })?;
        txn.commit().await?;
        Ok(to_sub(row))
    }

    /// Remove a subscription the actor sees.
    pub async fn delete(&self, actor: &Actor, id: i64) -> CoreResult<Subscription> {
        self.core
            .authorize(actor, crate::Operation::SubscriptionsManage)?;
        let sub = self
            .list(actor)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| CoreError::not_found(EntityKind::Subscription, Key::Id(id)))?;
        let txn = self.core.begin().await?;
        subscriptions::Entity::delete_by_id(id).exec(&txn).await?;
        if sub.is_std_subdomain {
            customers::Entity::update_many()
                .col_expr(
                    customers::Column::Standardsubdomain,
                    sea_orm::sea_query::Expr::value(0),
                )
                .filter(customers::Column::Id.eq(sub.customer_id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(sub)
    }
}
