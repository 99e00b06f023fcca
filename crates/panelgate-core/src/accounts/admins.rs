//! Admins and resellers.

use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;

use crate::entity::admins;
use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::model::{Actor, Admin, Resources, UNLIMITED};
use crate::{sequences, Core, Operation};

pub struct Admins<'a> {
    pub(crate) core: &'a Core,
}

pub(crate) fn admin_limits(row: &admins::Model) -> Resources {
    Resources {
        diskspace: row.diskspace,
        traffic: row.traffic,
        mysqls: row.mysqls,
        emails: row.emails,
        email_accounts: row.email_accounts,
        email_forwarders: row.email_forwarders,
        email_quota: row.email_quota,
        ftps: row.ftps,
        subdomains: row.subdomains,
    }
}

pub(crate) fn admin_used(row: &admins::Model) -> Resources {
    Resources {
        diskspace: row.diskspace_used,
        traffic: row.traffic_used,
        mysqls: row.mysqls_used,
        emails: row.emails_used,
        email_accounts: row.email_accounts_used,
        email_forwarders: row.email_forwarders_used,
        email_quota: row.email_quota_used,
        ftps: row.ftps_used,
        subdomains: row.subdomains_used,
    }
}

pub(crate) fn row_to_admin(row: admins::Model) -> Admin {
    Admin {
        limits: admin_limits(&row),
        used: admin_used(&row),
        id: row.id,
        loginname: row.loginname,
        name: row.name,
        email: row.email,
        def_language: row.def_language,
        theme: row.theme,
        ip: row.ip,
        custom_notes: row.custom_notes,
        custom_notes_show: row.custom_notes_show,
        gui_access: row.gui_access,
        reportsent: row.reportsent,
        customers_see_all: row.customers_see_all,
        change_serversettings: row.change_serversettings,
        caneditphpsettings: row.caneditphpsettings,
        api_allowed: row.api_allowed,
        deactivated: row.deactivated,
        customers: row.customers,
        customers_used: row.customers_used,
        domains: row.domains,
        domains_used: row.domains_used,
        lastlogin_succ: row.lastlogin_succ,
        lastlogin_fail: row.lastlogin_fail,
        loginfail_count: row.loginfail_count,
        created_at: row.created_at,
    }
}

pub(crate) async fn find_row<C: ConnectionTrait>(db: &C, id: i64) -> CoreResult<admins::Model> {
    admins::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| CoreError::not_found(EntityKind::Admin, Key::Id(id)))
}

/// The admin row `id`, through the read cache (for checks before a write, which checks again).
pub(crate) async fn cached_row(core: &crate::Core, id: i64) -> CoreResult<Arc<admins::Model>> {
    let (caches, generation) = core.cache().await;
    caches
        .admins
        .get_or_load(generation, id, || async {
            find_row(core.reader(), id).await.map(Arc::new)
        })
        .await
}

/// [`find_row`], locking the row until the transaction ends (PostgreSQL and MariaDB: `FOR
/// UPDATE`; SQLite has one writer at a time anyway), so that two changes checked against one
/// owner's remaining resources cannot both pass.
pub(crate) async fn find_row_locked<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> CoreResult<admins::Model> {
    crate::store::for_update(admins::Entity::find_by_id(id), db)
        .one(db)
        .await?
        .ok_or_else(|| CoreError::not_found(EntityKind::Admin, Key::Id(id)))
}

/// How an admin is named by a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRef {
    Id(i64),
    Login(String),
}

/// A new admin or reseller (seed data, control API, Plesk `reseller.add`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NewAdmin {
    pub id: Option<i64>,
    pub loginname: String,
    pub password: String,
    pub name: String,
    pub email: String,
    pub def_language: String,
    pub customers_see_all: bool,
    pub change_serversettings: bool,
    pub caneditphpsettings: bool,
    pub api_allowed: bool,
    pub deactivated: bool,
    pub customers: i64,
    pub domains: i64,
    #[serde(flatten)]
    pub limits: Resources,
}

impl Default for NewAdmin {
    fn default() -> Self {
        NewAdmin {
            id: None,
            loginname: String::new(),
            password: String::new(),
            name: String::new(),
            email: String::new(),
            def_language: "en".into(),
            customers_see_all: false,
            change_serversettings: false,
            caneditphpsettings: false,
            api_allowed: true,
            deactivated: false,
            customers: 0,
            domains: 0,
            limits: Resources::default(),
        }
    }
}

impl NewAdmin {
    /// The server owner: everything unlimited, sees every customer.
    pub fn owner(loginname: &str, password: &str) -> NewAdmin {
        NewAdmin {
            loginname: loginname.into(),
            password: password.into(),
            customers_see_all: true,
            change_serversettings: true,
            caneditphpsettings: true,
            customers: UNLIMITED,
            domains: UNLIMITED,
            limits: Resources::unlimited(),
            ..NewAdmin::default()
        }
    }
}

/// Account switches that the control API and tests flip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdminSwitches {
    pub deactivated: Option<bool>,
    pub api_allowed: Option<bool>,
}

impl Admins<'_> {
    /// Read an admin. The server owner (`change_serversettings`) reads everyone, other admins
    /// only themselves; customers nobody.
    pub async fn get(&self, actor: &Actor, r: &AdminRef) -> CoreResult<Admin> {
        let db = self.core.reader();
        let is_self = match actor.admin_id() {
            Some(id) => {
                let own = find_row(db, id).await?;
                match r {
                    AdminRef::Id(x) => *x == own.id,
                    AdminRef::Login(l) => *l == own.loginname,
                }
            }
            None => false,
        };
        crate::policy::sees_admin(actor, is_self)?;
        let row = match r {
            AdminRef::Id(id) => admins::Entity::find_by_id(*id).one(db).await?,
            // No login has a NUL (and PostgreSQL refuses one in a query).
            AdminRef::Login(login) if login.contains('\0') => None,
            AdminRef::Login(login) => {
                admins::Entity::find()
                    .filter(admins::Column::LoginKey.eq(login.to_lowercase()))
                    .one(db)
                    .await?
            }
        };
        let key = match r {
            AdminRef::Id(id) => Key::Id(*id),
            AdminRef::Login(l) => Key::Login(l.clone()),
        };
        let row = row.ok_or_else(|| CoreError::not_found(EntityKind::Admin, key))?;
        Ok(row_to_admin(row))
    }

    pub async fn list(&self, actor: &Actor) -> CoreResult<Vec<Admin>> {
        self.core.authorize(actor, Operation::AdminsRead)?;
        let rows = admins::Entity::find()
            .order_by_asc(admins::Column::Id)
            .all(self.core.reader())
            .await?;
        Ok(rows.into_iter().map(row_to_admin).collect())
    }

    /// Is `email` the address of an admin (Froxlor 2.2.6+ refuses it for customers)? Asked by
    /// callers that may create customers.
    pub async fn email_in_use(&self, actor: &Actor, email: &str) -> CoreResult<bool> {
        self.core.authorize(actor, Operation::CustomersAdd)?;
        use sea_orm::QuerySelect;
        let emails: Vec<String> = admins::Entity::find()
            .select_only()
            .column(admins::Column::Email)
            .into_tuple()
            .all(self.core.reader())
            .await?;
        Ok(emails.iter().any(|e| e.eq_ignore_ascii_case(email)))
    }

    pub async fn create(&self, actor: &Actor, new: NewAdmin) -> CoreResult<Admin> {
        self.core.authorize(actor, Operation::AdminsManage)?;
        crate::types::Login::try_from(new.loginname.as_str())?;
        new.limits.validate()?;
        for (field, value) in [
            ("name", &new.name),
            ("email", &new.email),
            ("def_language", &new.def_language),
        ] {
            crate::model::check_text(field, value, crate::model::MAX_FIELD_CHARS)?;
        }
        crate::model::check_limit("customers", new.customers, UNLIMITED)?;
        crate::model::check_limit("domains", new.domains, UNLIMITED)?;
        let secret = new.password.clone();
        let hash = self.core.verifier().hash_new(secret).await?;
        let now = self.core.now();
        let txn = self.core.begin().await?;
        let id = match new.id {
            Some(id) => {
                sequences::ensure_at_least(&txn, sequences::ADMINS, id + 1).await?;
                id
            }
            None => sequences::next_id(&txn, sequences::ADMINS).await?,
        };
        let l = new.limits;
        let row = admins::ActiveModel {
            id: Set(id),
            login_key: Set(new.loginname.to_lowercase()),
            loginname: Set(new.loginname),
            password_hash: Set(hash),
            name: Set(new.name),
            email: Set(new.email),
            def_language: Set(new.def_language),
            theme: Set("Froxlor".into()),
            ip: Set("-1".into()),
            custom_notes: Set(None),
            custom_notes_show: Set(false),
            gui_access: Set(true),
            reportsent: Set(0),
            customers_see_all: Set(new.customers_see_all),
            change_serversettings: Set(new.change_serversettings),
            caneditphpsettings: Set(new.caneditphpsettings),
            api_allowed: Set(new.api_allowed),
            deactivated: Set(new.deactivated),
            customers: Set(new.customers),
            customers_used: Set(0),
            domains: Set(new.domains),
            domains_used: Set(0),
            diskspace: Set(l.diskspace),
            diskspace_used: Set(0),
            traffic: Set(l.traffic),
            traffic_used: Set(0),
            mysqls: Set(l.mysqls),
            mysqls_used: Set(0),
            emails: Set(l.emails),
            emails_used: Set(0),
            email_accounts: Set(l.email_accounts),
            email_accounts_used: Set(0),
            email_forwarders: Set(l.email_forwarders),
            email_forwarders_used: Set(0),
            email_quota: Set(l.email_quota),
            email_quota_used: Set(0),
            ftps: Set(l.ftps),
            ftps_used: Set(0),
            subdomains: Set(l.subdomains),
            subdomains_used: Set(0),
            lastlogin_succ: Set(0),
            lastlogin_fail: Set(0),
            loginfail_count: Set(0),
            created_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => CoreError::AlreadyExists {
                entity: EntityKind::Admin,
                key: Key::Id(id),
            },
            _ => e.into(),
        })?;
        txn.commit().await?;
        Ok(row_to_admin(row))
    }

    /// Flip account switches (server only: control API, test state changes).
    pub async fn set_switches(
        &self,
        actor: &Actor,
        id: i64,
        switches: AdminSwitches,
    ) -> CoreResult<Admin> {
        self.core.authorize(actor, Operation::SystemOnly)?;
        let row = find_row(&self.core.db(), id).await?;
        let mut am = row.into_active_model();
        if let Some(v) = switches.deactivated {
            am.deactivated = Set(v);
        }
        if let Some(v) = switches.api_allowed {
            am.api_allowed = Set(v);
        }
        Ok(row_to_admin(am.update(&self.core.db()).await?))
    }

    /// Is `login` an admin's or reseller's (case-insensitively)?
    pub(crate) async fn login_exists(&self, login: &str) -> CoreResult<bool> {
        Ok(admins::Entity::find()
            .filter(admins::Column::LoginKey.eq(login.to_lowercase()))
            .one(self.core.reader())
            .await?
            .is_some())
    }
}

/// A change to an admin or reseller: `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub deactivated: Option<bool>,
}

impl Admins<'_> {
    /// Change a reseller (or the caller itself). Only the server owner changes others.
    pub async fn update(&self, actor: &Actor, id: i64, patch: AdminPatch) -> CoreResult<Admin> {
        crate::policy::may_update_admin(actor, id)?;
        for (field, value) in [("name", &patch.name), ("email", &patch.email)] {
            crate::model::check_text(
                field,
                value.as_deref().unwrap_or(""),
                crate::model::MAX_FIELD_CHARS,
            )?;
        }
        let hash = match patch.password {
            Some(p) => Some(self.core.verifier().hash_new(p).await?),
            None => None,
        };
        let row = find_row(&self.core.db(), id).await?;
        let mut am = row.into_active_model();
        if let Some(v) = patch.name {
            am.name = Set(v);
        }
        if let Some(v) = patch.email {
            am.email = Set(v);
        }
        if let Some(v) = hash {
            am.password_hash = Set(v);
        }
        if let Some(v) = patch.deactivated {
            am.deactivated = Set(v);
        }
        Ok(row_to_admin(am.update(&self.core.db()).await?))
    }

    /// Delete a reseller. The server owner cannot be deleted, nor a reseller that still owns
    /// customers (move or delete them first).
    pub async fn delete(&self, actor: &Actor, id: i64) -> CoreResult<Admin> {
        self.core.authorize(actor, Operation::AdminsManage)?;
        let txn = self.core.begin().await?;
        let row = find_row(&txn, id).await?;
        if row.customers_see_all {
            return Err(CoreError::Conflict(
                "the server owner cannot be deleted".into(),
            ));
        }
        let owned = crate::entity::customers::Entity::find()
            .filter(crate::entity::customers::Column::AdminId.eq(id))
            .one(&txn)
            .await?;
        if owned.is_some() {
            return Err(CoreError::Conflict(
                "the reseller still owns customers".into(),
            ));
        }
        crate::entity::credentials::Entity::delete_many()
            .filter(crate::entity::credentials::Column::AdminId.eq(id))
            .exec(&txn)
            .await?;
        crate::auth::end_sessions(&txn, Some(id), None).await?;
        crate::entity::admins::Entity::delete_by_id(id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(row_to_admin(row))
    }
}
