//! The owner's `*_used` counters: what a customer's limits take from its admin or reseller.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use crate::customer_rows::row_limits;
use crate::entity::{admins, customers};
use crate::error::{CoreError, CoreResult};
use crate::model::{Resource, Resources};

/// Resources that count against an owner's `*_used` (Froxlor does not count traffic).
const COUNTED: [Resource; 8] = [
    Resource::Diskspace,
    Resource::Mysqls,
    Resource::Emails,
    Resource::EmailAccounts,
    Resource::EmailForwarders,
    Resource::EmailQuota,
    Resource::Ftps,
    Resource::Subdomains,
];

/// Would giving `new` (instead of `old`) exceed what `owner` has left?
pub(crate) fn allocation_ok(
    owner: &admins::Model,
    new: &Resources,
    old: Option<&Resources>,
    mail_quota: bool,
) -> bool {
    let owner_limits = crate::admins::admin_limits(owner);
    let owner_used = crate::admins::admin_used(owner);
    COUNTED.iter().all(|&r| {
        if r == Resource::EmailQuota && !mail_quota {
            return true;
        }
        let v = new.get(r);
        let have = owner_limits.get(r);
        let unlimited_owner = have == r.unlimited() || have == crate::model::UNLIMITED;
        if unlimited_owner {
            return true;
        }
        let is_unlimited = v == r.unlimited() || v == crate::model::UNLIMITED;
        if is_unlimited {
            return false;
        }
        let previous = old.map(|o| o.counted(r)).unwrap_or(0);
        // Wide arithmetic: stored counters are bounded, but never trust a sum to fit.
        let after = i128::from(owner_used.get(r)) + i128::from(v) - i128::from(previous);
        !(v != 0 && after > i128::from(have))
    })
}

/// Add what a customer with `limits` takes from its owner to `used` (the resources the owner's
/// `*_used` counters hold).
pub(crate) fn add_counted(used: &mut Resources, limits: &Resources) {
    for r in COUNTED {
        used.set(r, used.get(r) + limits.counted(r));
    }
}

/// Has `owner` room for `more` customers (its customer quota)?
pub(crate) fn room_for(owner: &admins::Model, more: i64) -> bool {
    owner.customers == crate::model::UNLIMITED
        || owner.customers_used.saturating_add(more) <= owner.customers
}

/// [`shift_counters`] on an owner's row as read (for checks of several creates in one
/// transaction).
pub(crate) fn add_used(owner: &mut admins::Model, limits: &Resources, sign: i64) {
    owner.customers_used += sign;
    owner.diskspace_used += sign * limits.counted(Resource::Diskspace);
    owner.mysqls_used += sign * limits.counted(Resource::Mysqls);
    owner.emails_used += sign * limits.counted(Resource::Emails);
    owner.email_accounts_used += sign * limits.counted(Resource::EmailAccounts);
    owner.email_forwarders_used += sign * limits.counted(Resource::EmailForwarders);
    owner.email_quota_used += sign * limits.counted(Resource::EmailQuota);
    owner.ftps_used += sign * limits.counted(Resource::Ftps);
    owner.subdomains_used += sign * limits.counted(Resource::Subdomains);
}

/// Add `sign` × the customer's counted limits to the owner's `*_used` counters.
pub(crate) async fn shift_counters<C: ConnectionTrait>(
    db: &C,
    admin_id: i64,
    limits: &Resources,
    sign: i64,
    customers_delta: i64,
) -> CoreResult<()> {
    use admins::Column as A;
    let mut q = admins::Entity::update_many().filter(A::Id.eq(admin_id));
    q = q.col_expr(
        A::CustomersUsed,
        Expr::col(A::CustomersUsed).add(customers_delta),
    );
    for (r, col) in [
        (Resource::Diskspace, A::DiskspaceUsed),
        (Resource::Mysqls, A::MysqlsUsed),
        (Resource::Emails, A::EmailsUsed),
        (Resource::EmailAccounts, A::EmailAccountsUsed),
        (Resource::EmailForwarders, A::EmailForwardersUsed),
        (Resource::EmailQuota, A::EmailQuotaUsed),
        (Resource::Ftps, A::FtpsUsed),
        (Resource::Subdomains, A::SubdomainsUsed),
    ] {
        q = q.col_expr(col, Expr::col(col).add(sign * limits.counted(r)));
    }
    q.exec(db).await?;
    Ok(())
}

/// Recount an owner's counters from its customers (after a move).
pub(crate) async fn recount<C: ConnectionTrait>(db: &C, admin_id: i64) -> CoreResult<()> {
    use sea_orm::{DbBackend, QuerySelect};
    // Counted from the customers as committed now, in the order a create, move or delete of
    // one of them takes its locks, so that each is either wholly counted or waits:
    // * PostgreSQL: the owner's row first (each of them changes the owner's counters, holding
    //   that row until it commits), then a plain read, which sees what committed before it;
    // * MariaDB: a locking read of the customers (a plain one would see the transaction's first
    //   snapshot under repeatable read); their row and gap locks come first there too;
    // * SQLite has one writer: nothing changes in between.
    let query = customers::Entity::find().filter(customers::Column::AdminId.eq(admin_id));
    let rows = match db.get_database_backend() {
        DbBackend::Sqlite => query.all(db).await?,
        DbBackend::Postgres => {
            match crate::admins::find_row_locked(db, admin_id).await {
                Err(CoreError::NotFound { .. }) => return Ok(()),
                other => other?,
            };
            query.all(db).await?
        }
        // `FOR UPDATE`: MariaDB does not know `FOR SHARE`.
        DbBackend::MySql => query.lock_exclusive().all(db).await?,
    };
    let mut used = Resources::default();
    for row in &rows {
        add_counted(&mut used, &row_limits(row));
    }
    let Some(admin) = admins::Entity::find_by_id(admin_id).one(db).await? else {
        return Ok(());
    };
    let mut am = admin.into_active_model();
    am.customers_used = Set(rows.len() as i64);
    am.diskspace_used = Set(used.diskspace);
    am.mysqls_used = Set(used.mysqls);
    am.emails_used = Set(used.emails);
    am.email_accounts_used = Set(used.email_accounts);
    am.email_forwarders_used = Set(used.email_forwarders);
    am.email_quota_used = Set(used.email_quota);
    am.ftps_used = Set(used.ftps);
    am.subdomains_used = Set(used.subdomains);
    am.update(db).await?;
    Ok(())
}

/// Refuse (with `QuotaExceeded`) when an owner's counted `*_used` or customer count is above its
/// limits (after a restore brought customers with their limits back).
pub(crate) async fn check_within_limits<C: ConnectionTrait>(
    db: &C,
    admin_id: i64,
) -> CoreResult<()> {
    let Some(admin) = admins::Entity::find_by_id(admin_id).one(db).await? else {
        return Ok(());
    };
    let limits = crate::admins::admin_limits(&admin);
    let used = crate::admins::admin_used(&admin);
    let over = COUNTED.iter().any(|&r| {
        let have = limits.get(r);
        let unlimited = have == r.unlimited() || have == crate::model::UNLIMITED;
        !unlimited && used.get(r) > have
    }) || (admin.customers != crate::model::UNLIMITED
        && admin.customers_used > admin.customers);
    if over {
        Err(crate::error::CoreError::QuotaExceeded(
            crate::error::Quota::Resources,
        ))
    } else {
        Ok(())
    }
}
