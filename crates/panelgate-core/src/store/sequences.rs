//! Id allocation from the `sequences` table, inside the caller's transaction.
//!
//! The row is updated before it is read, so the update's row lock serialises concurrent
//! allocations on PostgreSQL and MariaDB; a rolled-back transaction gives its id back.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entity::sequences;
use crate::error::{CoreError, CoreResult};

pub const CUSTOMERS: &str = "customers";
pub const ADMINS: &str = "admins";
pub const CREDENTIALS: &str = "credentials";
pub const SUBSCRIPTIONS: &str = "subscriptions";
/// Froxlor's task table id: backup jobs share it with internal tasks.
pub const BACKUP_JOBS: &str = "backup_jobs";

pub const BACKUP_TASKS: &str = "backup_tasks";
pub const BACKUP_ARCHIVES: &str = "backup_archives";

pub const ORDERS: &str = "orders";
/// httpapi.com action ids (`eaqid`).
pub const ORDER_ACTIONS: &str = "order_actions";
pub const INVOICES: &str = "invoices";

pub const ALL: [&str; 10] = [
    CUSTOMERS,
    ADMINS,
    CREDENTIALS,
    SUBSCRIPTIONS,
    BACKUP_JOBS,
    BACKUP_TASKS,
    BACKUP_ARCHIVES,
    ORDERS,
    ORDER_ACTIONS,
    INVOICES,
];

/// Lock the sequence `name` until the transaction ends, as allocating from it does (PostgreSQL
/// and MariaDB; SQLite has one writer at a time anyway).
pub(crate) async fn lock<C: ConnectionTrait>(db: &C, name: &str) -> CoreResult<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        crate::store::for_update(sequences::Entity::find_by_id(name.to_owned()), db)
            .one(db)
            .await?;
    }
    Ok(())
}

pub(crate) async fn next_id<C: ConnectionTrait>(db: &C, name: &str) -> CoreResult<i64> {
    reserve(db, name, 1).await
}

/// Hand out `n` ids at once (`n` ≥ 1); returns the first (the others follow it).
pub(crate) async fn reserve<C: ConnectionTrait>(db: &C, name: &str, n: i64) -> CoreResult<i64> {
    // An i64 step on every path: PostgreSQL keeps one prepared statement per SQL text, typed by
    // its first use.
    let step = || {
        sequences::Entity::update_many()
            .col_expr(
                sequences::Column::NextValue,
                Expr::col(sequences::Column::NextValue).add(n),
            )
            .filter(sequences::Column::Name.eq(name))
    };
    if db.support_returning() && db.get_database_backend() != sea_orm::DbBackend::MySql {
        // One round trip: the step and its result (SQLite, PostgreSQL).
        if let Some(row) = step().exec_with_returning(db).await?.first() {
            return Ok(row.next_value - n);
        }
    } else if step().exec(db).await?.rows_affected > 0 {
        let row = sequences::Entity::find_by_id(name.to_owned())
            .one(db)
            .await?
            .ok_or_else(|| CoreError::Internal(format!("sequence {name} vanished")))?;
        return Ok(row.next_value - n);
    }
    // No row yet: this one is the first.
    sequences::Entity::insert(sequences::ActiveModel {
        name: Set(name.to_owned()),
        next_value: Set(1 + n),
    })
    .exec(db)
    .await?;
    Ok(1)
}

/// Make sure the next id handed out is at least `next`.
pub(crate) async fn ensure_at_least<C: ConnectionTrait>(
    db: &C,
    name: &str,
    next: i64,
) -> CoreResult<()> {
    match sequences::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
    {
        Some(row) if row.next_value >= next => Ok(()),
        Some(_) => {
            sequences::Entity::update(sequences::ActiveModel {
                name: Set(name.to_owned()),
                next_value: Set(next),
            })
            .exec(db)
            .await?;
            Ok(())
        }
        None => {
            sequences::Entity::insert(sequences::ActiveModel {
                name: Set(name.to_owned()),
                next_value: Set(next),
            })
            .exec(db)
            .await?;
            Ok(())
        }
    }
}
