//! Customers: create, read, change, delete, move; the owner's `*_used` counters are kept in
//! step in the same transaction.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, SqlErr,
};

use crate::counters::{add_counted, allocation_ok, recount, room_for, shift_counters};
pub(crate) use crate::customer_rows::{row_limits, row_to_customer};
use crate::customer_rows::{set_features, set_limits, set_profile};
use crate::entity::{admins, backup_archives, backup_jobs, credentials, customers, subscriptions};
use crate::error::{CoreError, CoreResult, EntityKind, Key, Quota};
use crate::model::{Actor, Customer, CustomerPatch, CustomerRef, NewCustomer, Resources};
use crate::{admins::row_to_admin, policy, sequences, settings, Core, Operation};

pub struct Customers<'a> {
    pub(crate) core: &'a Core,
}

fn key_of(r: &CustomerRef) -> Key {
    match r {
        CustomerRef::Id(id) => Key::Id(*id),
        CustomerRef::Login(l) => Key::Login(l.clone()),
    }
}

fn not_found(r: &CustomerRef) -> CoreError {
    CoreError::not_found(EntityKind::Customer, key_of(r))
}

fn map_unique(err: sea_orm::DbErr, login: &str) -> CoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => login_taken(login.to_owned()),
        _ => err.into(),
    }
}

/// The query for the customer `r` names (by id, or by login case-insensitively).
fn select_ref(r: &CustomerRef) -> sea_orm::Select<customers::Entity> {
    match r {
        CustomerRef::Id(id) => customers::Entity::find_by_id(*id),
        // No login has a NUL (and PostgreSQL refuses one in a query): it matches nothing.
        CustomerRef::Login(login) if login.contains('\0') => {
            customers::Entity::find().filter(customers::Column::Id.lt(0))
        }
        CustomerRef::Login(login) => {
            customers::Entity::find().filter(customers::Column::LoginKey.eq(login.to_lowercase()))
        }
    }
}

/// The customers `actor` may list, by id (before the role check, which callers make).
fn select_listable(actor: &Actor) -> sea_orm::Select<customers::Entity> {
    let q = customers::Entity::find().order_by_asc(customers::Column::Id);
    match policy::customer_owner_filter(actor) {
        Some(owner) => q.filter(customers::Column::AdminId.eq(owner)),
        None => q,
    }
}

/// The customer `r` names and its owner's login, in one query.
pub(crate) async fn find_with_owner_login<C: ConnectionTrait>(
    db: &C,
    r: &CustomerRef,
) -> CoreResult<Option<(customers::Model, String)>> {
    Ok(select_ref(r)
        .find_also_related(admins::Entity)
        .one(db)
        .await?
        .map(|(row, owner)| (row, owner.map(|a| a.loginname).unwrap_or_default())))
}

/// A customer read with its owner (`find_also_related`), as listings hand it out.
fn with_owner(
    (row, owner): (customers::Model, Option<admins::Model>),
) -> (Customer, Option<crate::model::Admin>) {
    let login = owner
        .as_ref()
        .map(|a| a.loginname.clone())
        .unwrap_or_default();
    (row_to_customer(row, login), owner.map(row_to_admin))
}

/// The customer row `r` named, if the actor may see it (else the policy's not-found answer).
fn visible_to(
    actor: &Actor,
    r: &CustomerRef,
    row: Option<customers::Model>,
) -> CoreResult<customers::Model> {
    match row {
        Some(row) if policy::sees_customer(actor, row.id, row.admin_id) => Ok(row),
        _ => Err(policy::hidden_customer(actor, not_found(r))),
    }
}

async fn find_row<C: ConnectionTrait>(
    db: &C,
    r: &CustomerRef,
) -> CoreResult<Option<customers::Model>> {
    Ok(select_ref(r).one(db).await?)
}

async fn admin_login<C: ConnectionTrait>(db: &C, admin_id: i64) -> CoreResult<String> {
    Ok(admins::Entity::find_by_id(admin_id)
        .one(db)
        .await?
        .map(|a| a.loginname)
        .unwrap_or_default())
}

async fn std_subdomain_name<C: ConnectionTrait>(db: &C, login: &str) -> CoreResult<String> {
    Ok(std_subdomain_of(&settings::read_all(db).await?, login))
}

fn std_subdomain_of(s: &settings::SettingsSnapshot, login: &str) -> String {
    let base = if s.get("system.stdsubdomain").is_empty() {
        s.get("system.hostname")
    } else {
        s.get("system.stdsubdomain")
    };
    format!("{}.{}", login.to_lowercase(), base)
}

async fn create_std_subdomain<C: ConnectionTrait>(
    db: &C,
    row: &customers::Model,
    now: i64,
) -> CoreResult<i64> {
    let id = sequences::next_id(db, sequences::SUBSCRIPTIONS).await?;
    let domain = std_subdomain_name(db, &row.loginname).await?;
    insert_std_subdomain(db, id, row, domain, now).await?;
    Ok(id)
}

async fn insert_std_subdomain<C: ConnectionTrait>(
    db: &C,
    id: i64,
    row: &customers::Model,
    domain: String,
    now: i64,
) -> CoreResult<()> {
    subscriptions::Entity::insert(std_subdomain_row(id, row.id, row.admin_id, domain, now))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The subscription row of a customer's standard subdomain.
fn std_subdomain_row(
    id: i64,
    customer_id: i64,
    admin_id: i64,
    domain: String,
    now: i64,
) -> subscriptions::ActiveModel {
    subscriptions::ActiveModel {
        id: Set(id),
        customer_id: Set(customer_id),
        admin_id: Set(admin_id),
        domain: Set(domain),
        is_std_subdomain: Set(true),
        created_at: Set(now),
    }
}

/// A text column of customers that a scan can narrow by (see [`Contains`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextColumn {
    Loginname,
    Name,
    Firstname,
    Company,
    Email,
    Customernumber,
}

impl TextColumn {
    fn column(self) -> customers::Column {
        match self {
            TextColumn::Loginname => customers::Column::Loginname,
            TextColumn::Name => customers::Column::Name,
            TextColumn::Firstname => customers::Column::Firstname,
            TextColumn::Company => customers::Column::Company,
            TextColumn::Email => customers::Column::Email,
            TextColumn::Customernumber => customers::Column::Customernumber,
        }
    }
}

/// Customers whose `column` contains `needle`, compared case-insensitively. A needle is ASCII
/// letters, digits, `@`, `.` and `-` only, so it means the same on every database.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Contains {
    pub column: TextColumn,
    pub needle: String,
}

impl Contains {
    /// May this byte be part of a needle?
    pub fn allowed(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-')
    }
}

/// The longest page of customers the read cache keeps (its maps hold a few thousand entries: a
/// bound on entries is a bound on memory only if each entry is small).
pub const PAGE_CACHE_MAX: u64 = 250;

/// The most customer rows the read cache keeps in pages, and again in scan chunks: a bound on
/// its memory (a row with its owner is a few KiB) whatever pages or searches a tenant asks for.
pub const CACHED_ROWS: usize = 10_000;

/// Customers with their owners, as the read cache keeps pages and scan chunks.
pub(crate) type Rows = Arc<Vec<(Customer, Option<crate::model::Admin>)>>;

/// How heavy a cached page or chunk is, in rows (see [`CACHED_ROWS`]).
fn rows_of(page: &Rows) -> usize {
    page.len().max(1)
}

/// The customers `select` reads, with their owners.
async fn read_with_owners(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<customers::Entity>,
) -> CoreResult<Rows> {
    let rows = select.find_also_related(admins::Entity).all(db).await?;
    Ok(Arc::new(rows.into_iter().map(with_owner).collect()))
}

/// Customers per chunk of [`Customers::scan_with_owners`].
pub const SCAN_CHUNK: u64 = 1000;
/// The first chunk of [`Customers::scan_with_owners`]; each next one is twice as long.
pub const FIRST_CHUNK: u64 = 64;

/// Rows per multi-row customer insert (about 60 columns each: under SQLite's limit of bound
/// values per statement).
const IMPORT_ROWS_PER_INSERT: usize = 200;

/// A customer of a data set or an import (see [`Customers::import_batch`]).
#[derive(Clone, Debug)]
pub struct Imported {
    /// When given, the id the customer must get (checked).
    pub id: Option<i64>,
    pub owner: i64,
    /// `loginname` is required.
    pub new: NewCustomer,
    /// A stored argon2 hash (PHC string) to keep instead of hashing `new.password`.
    pub password_hash: Option<String>,
}

/// What a new customer row is made of.
struct NewRow<'a> {
    id: i64,
    guid: i64,
    loginname: &'a str,
    hash: String,
    owner_id: i64,
    new: &'a NewCustomer,
    settings: &'a settings::SettingsSnapshot,
    now: i64,
    /// The panel API the create came through (`created_via`).
    origin: &'static str,
}

/// A new customer's row, as every way of creating one fills it.
fn new_row(r: NewRow<'_>) -> customers::ActiveModel {
    let NewRow {
        id,
        guid,
        loginname,
        hash,
        owner_id,
        new,
        settings: s,
        now,
        origin,
    } = r;
    let login_key = loginname.to_lowercase();
    let mut am = customers::ActiveModel {
        id: Set(id),
        loginname: Set(loginname.to_owned()),
        login_key: Set(login_key),
        password_hash: Set(hash),
        admin_id: Set(owner_id),
        documentroot: Set(format!(
            "{}{}/",
            s.get("system.documentroot_prefix"),
            loginname
        )),
        standardsubdomain: Set(0),
        guid: Set(guid),
        deactivated: Set(new.deactivated),
        lastlogin_succ: Set(0),
        lastlogin_fail: Set(0),
        loginfail_count: Set(0),
        theme: Set(new
            .theme
            .clone()
            .unwrap_or_else(|| s.get("panel.default_theme").to_owned())),
        custom_notes: Set(new.custom_notes.clone()),
        custom_notes_show: Set(new.custom_notes_show),
        allowed_phpconfigs: Set(new.allowed_phpconfigs.clone()),
        allowed_mysqlserver: Set(new.allowed_mysqlserver.clone()),
        uuid: Set(uuid_for(id, guid)),
        external_id: Set(new.external_id.clone()),
        description: Set(new.description.clone()),
        created_at: Set(now),
        created_via: Set(origin.to_owned()),
        diskspace_used: Set(0),
        mysqls_used: Set(0),
        emails_used: Set(0),
        email_accounts_used: Set(0),
        email_forwarders_used: Set(0),
        email_quota_used: Set(0),
        ftps_used: Set(0),
        subdomains_used: Set(0),
        traffic_used: Set(0),
        ..Default::default()
    };
    set_profile(&mut am, &new.profile);
    set_limits(&mut am, &new.limits);
    set_features(&mut am, &new.features);
    am
}

/// A create that passed every check that needs no database, waiting for the writer (see
/// [`crate::create_queue`]).
pub(crate) struct CreateRequest {
    pub owner_id: i64,
    /// Are the owner's remaining resources checked (`policy::allocation_checked`)?
    pub checked: bool,
    pub new: NewCustomer,
    pub hash: String,
    pub now: i64,
    /// The panel API it came through.
    pub origin: &'static str,
}

/// What a create gives back: the new row and its owner's login.
pub(crate) type Created = CoreResult<(customers::Model, String)>;

/// May `owner` take one more customer with the limits `request` asks for?
fn admit(owner: &admins::Model, request: &CreateRequest, mail_quota: bool) -> CoreResult<()> {
    if !room_for(owner, 1) {
        return Err(CoreError::QuotaExceeded(Quota::Customers));
    }
    if request.checked && !allocation_ok(owner, &request.new.limits, None, mail_quota) {
        return Err(CoreError::QuotaExceeded(Quota::Resources));
    }
    Ok(())
}

/// The login of the customer numbered `number` (`customer.accountprefix` and the number),
/// unchecked.
fn account_login(s: &settings::SettingsSnapshot, number: i64) -> String {
    format!("{}{}", s.get("customer.accountprefix"), number)
}

/// [`account_login`], checked as a login.
fn generated_login(s: &settings::SettingsSnapshot, number: i64) -> CoreResult<String> {
    let login = account_login(s, number);
    crate::types::Login::try_from(login.as_str())?;
    Ok(login)
}

fn login_taken(login: String) -> CoreError {
    CoreError::AlreadyExists {
        entity: EntityKind::Customer,
        key: Key::Login(login),
    }
}

/// Which of the lower-cased `keys` an admin or a customer already has: each with its login as
/// stored.
async fn taken_logins<C: ConnectionTrait>(
    db: &C,
    keys: &[String],
) -> CoreResult<HashMap<String, String>> {
    use sea_orm::QuerySelect;
    let mut taken = HashMap::new();
    // A few hundred keys per query: every backend takes that many bound values.
    for chunk in keys.chunks(500) {
        let admins: Vec<(String, String)> = admins::Entity::find()
            .select_only()
            .columns([admins::Column::LoginKey, admins::Column::Loginname])
            .filter(admins::Column::LoginKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        let customers: Vec<(String, String)> = customers::Entity::find()
            .select_only()
            .columns([customers::Column::LoginKey, customers::Column::Loginname])
            .filter(customers::Column::LoginKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(admins);
        taken.extend(customers);
    }
    Ok(taken)
}

/// Insert new customers (with the standard subdomains they ask for) with a few multi-row
/// statements.
async fn insert_rows<C: ConnectionTrait>(
    db: &C,
    s: &settings::SettingsSnapshot,
    rows: Vec<NewRow<'_>>,
) -> CoreResult<()> {
    let std_count = rows.iter().filter(|r| r.new.create_std_subdomain).count() as i64;
    let mut next_sub = if std_count > 0 {
        sequences::reserve(db, sequences::SUBSCRIPTIONS, std_count).await?
    } else {
        0
    };
    let mut models = Vec::with_capacity(rows.len());
    let mut subs = Vec::new();
    for row in rows {
        let (id, owner, now) = (row.id, row.owner_id, row.now);
        let std = row.new.create_std_subdomain;
        let domain = std_subdomain_of(s, row.loginname);
        let mut am = new_row(row);
        if std {
            am.standardsubdomain = Set(next_sub);
            subs.push(std_subdomain_row(next_sub, id, owner, domain, now));
            next_sub += 1;
        }
        models.push(am);
    }
    // A statement holds at most a few thousand bound values on every backend.
    for chunk in models.chunks(IMPORT_ROWS_PER_INSERT) {
        customers::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    for chunk in subs.chunks(IMPORT_ROWS_PER_INSERT * 4) {
        subscriptions::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

impl Customers<'_> {
    /// Resolve `r` to a customer the actor may see. A customer asking for someone else gets
    /// `Forbidden(OtherCustomer)`; an admin asking for a customer it cannot see gets `NotFound`.
    pub async fn get(&self, actor: &Actor, r: &CustomerRef) -> CoreResult<Customer> {
        let key = match r {
            CustomerRef::Id(id) => CustomerRef::Id(*id),
            CustomerRef::Login(login) => CustomerRef::Login(login.to_lowercase()),
        };
        let (caches, generation) = self.core.cache().await;
        let found = caches
            .customers
            .get_or_load(generation, key, || async {
                CoreResult::Ok(
                    find_with_owner_login(self.core.reader(), r)
                        .await?
                        .map(Arc::new),
                )
            })
            .await?;
        match found {
            Some(found) if policy::sees_customer(actor, found.0.id, found.0.admin_id) => {
                crate::journal::touched("customer", found.0.id);
                let (row, owner) = Arc::unwrap_or_clone(found);
                Ok(row_to_customer(row, owner))
            }
            _ => Err(policy::hidden_customer(actor, not_found(r))),
        }
    }

    /// [`Customers::visible_row`], locked for the rest of the transaction (PostgreSQL,
    /// MariaDB: `SELECT … FOR UPDATE`; SQLite's one writer holds every row already).
    async fn visible_row_locked<C: ConnectionTrait>(
        &self,
        db: &C,
        actor: &Actor,
        r: &CustomerRef,
    ) -> CoreResult<customers::Model> {
        let row = crate::store::for_update(select_ref(r), db).one(db).await?;
        visible_to(actor, r, row)
    }

    async fn visible_row<C: ConnectionTrait>(
        &self,
        db: &C,
        actor: &Actor,
        r: &CustomerRef,
    ) -> CoreResult<customers::Model> {
        visible_to(actor, r, find_row(db, r).await?)
    }

    /// Every customer the actor may list, by id.
    pub async fn list(&self, actor: &Actor) -> CoreResult<Vec<Customer>> {
        self.core.authorize(actor, Operation::CustomersList)?;
        let db = self.core.reader();
        let rows = select_listable(actor).all(db).await?;
        let admin_logins: HashMap<i64, String> = admins::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id, a.loginname))
            .collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let login = admin_logins.get(&row.admin_id).cloned().unwrap_or_default();
                row_to_customer(row, login)
            })
            .collect())
    }

    /// Every customer the actor may list, with its owner, in id order, handed to `visit` in
    /// chunks of at most [`SCAN_CHUNK`] (the first chunk even when there is none), so memory
    /// holds one chunk whatever the number of customers. `visit` returns `false` to stop: chunks
    /// start at [`FIRST_CHUNK`] and double, so a caller that stops early reads little. At most
    /// `cpu_workers` scans that read more than [`SCAN_CHUNK`] rows run at once; the others wait
    /// for one to end.
    ///
    /// `contains` narrows the scan in the database: only customers whose column contains each
    /// needle (case-insensitively) are read. It is a prefilter for a search the caller applies
    /// exactly to what it gets.
    pub async fn scan_with_owners(
        &self,
        actor: &Actor,
        contains: &[Contains],
        mut visit: impl FnMut(Vec<(Customer, Option<crate::model::Admin>)>) -> bool,
    ) -> CoreResult<()> {
        use sea_orm::sea_query::{Alias, BinOper, Func};
        use sea_orm::{IdenStatic, QuerySelect};
        self.core.authorize(actor, Operation::CustomersList)?;
        let mut narrowed = select_listable(actor);
        let sqlite = self.core.reader().get_database_backend() == sea_orm::DbBackend::Sqlite;
        for c in contains {
            let needle = c.needle.to_ascii_lowercase();
            if needle.is_empty() || !needle.bytes().all(Contains::allowed) {
                return Err(CoreError::Invalid {
                    field: "contains",
                    reason: format!("{:?} is not a plain needle", c.needle),
                });
            }
            // `%`, `_` and `\` are not allowed in a needle: the pattern is the needle itself.
            let pattern = format!("%{needle}%");
            narrowed = if sqlite && needle.len() >= 3 {
                // SQLite's trigram index answers it without reading every row. The needle is
                // one FTS5 phrase (a bound value; its characters need no escaping in a phrase),
                // which the trigram tokenizer matches as a case-insensitive substring. MATCH
                // rather than LIKE: with a bound pattern FTS5 cannot plan a LIKE well (0.39 ms
                // against 0.09 ms for a rare needle in 100,000 customers, 37 ms against 7.6 ms
                // for a common one).
                narrowed.filter(
                    Expr::col((customers::Entity, customers::Column::Id)).in_subquery(
                        sea_orm::sea_query::Query::select()
                            .expr(Expr::cust("rowid"))
                            .from(Alias::new("customers_search"))
                            // The index's columns have the names of the customers' own.
                            .and_where(
                                Expr::col(Alias::new(c.column.column().as_str()))
                                    .binary(BinOper::Custom("MATCH"), format!("\"{needle}\"")),
                            )
                            .to_owned(),
                    ),
                )
            } else {
                narrowed.filter(
                    Expr::expr(Func::lower(Expr::col((
                        customers::Entity,
                        c.column.column(),
                    ))))
                    .like(pattern),
                )
            };
        }
        // A scan that fits in one chunk holds no more than a page does; a longer one takes its
        // turn before its second chunk.
        let mut turn = None;
        let mut after = i64::MIN;
        let (mut chunk, mut read) = (FIRST_CHUNK, 0);
        loop {
            if read >= SCAN_CHUNK && turn.is_none() {
                turn = Some(self.core.scan_permit().await?);
            }
            let load = || {
                let select = narrowed
                    .clone()
                    .filter(customers::Column::Id.gt(after))
                    .limit(chunk);
                read_with_owners(self.core.reader(), select)
            };
            // A search's first chunks are kept like pages: a repeated search is answered from
            // memory until the next write. A scan of everything reads past them at once.
            let rows = if !contains.is_empty() && chunk <= PAGE_CACHE_MAX {
                let (caches, generation) = self.core.cache().await;
                let key = (
                    policy::customer_owner_filter(actor),
                    contains.to_vec(),
                    after,
                    chunk,
                );
                caches
                    .customer_chunks
                    .get_or_load_weighed(generation, key, (CACHED_ROWS, rows_of), load)
                    .await?
            } else {
                load().await?
            };
            let full = rows.len() as u64 == chunk;
            read += chunk;
            chunk = (chunk * 2).min(SCAN_CHUNK);
            if let Some((last, _)) = rows.last() {
                after = last.id;
            }
            if !visit(Arc::unwrap_or_clone(rows)) || !full {
                return Ok(());
            }
        }
    }

    /// How many customers [`Customers::list`] would answer, counted by the database.
    pub async fn count(&self, actor: &Actor) -> CoreResult<u64> {
        use sea_orm::PaginatorTrait;
        self.core.authorize(actor, Operation::CustomersList)?;
        // What the query reads depends on the owner filter alone.
        let owner = policy::customer_owner_filter(actor);
        let (caches, generation) = self.core.cache().await;
        caches
            .customer_counts
            .get_or_load(generation, owner, || async {
                Ok(select_listable(actor).count(self.core.reader()).await?)
            })
            .await
    }

    /// One page of the customers the actor may list, with their owners (by id), paged in the
    /// database: `limit` rows from `offset`.
    pub async fn list_page_with_owners(
        &self,
        actor: &Actor,
        offset: u64,
        limit: u64,
    ) -> CoreResult<Vec<(Customer, Option<crate::model::Admin>)>> {
        use sea_orm::QuerySelect;
        self.core.authorize(actor, Operation::CustomersList)?;
        // SQLite and the others take signed 64-bit numbers.
        let (offset, limit) = (offset.min(i64::MAX as u64), limit.min(i64::MAX as u64));
        let load = || {
            let select = select_listable(actor).offset(offset).limit(limit);
            read_with_owners(self.core.reader(), select)
        };
        if limit > PAGE_CACHE_MAX {
            // A long page is not kept (the cache holds small pages only), and it is read as a
            // scan is: as many at once as there are CPU workers.
            let _permit = self.core.scan_permit().await?;
            return Ok(Arc::unwrap_or_clone(load().await?));
        }
        let owner = policy::customer_owner_filter(actor);
        let (caches, generation) = self.core.cache().await;
        let page = caches
            .customer_pages
            .get_or_load_weighed(
                generation,
                (owner, offset, limit),
                (CACHED_ROWS, rows_of),
                load,
            )
            .await?;
        Ok(Arc::unwrap_or_clone(page))
    }

    /// The customers the actor may see: all of an admin's (see [`Customers::list`]), or a
    /// customer itself.
    pub async fn visible(&self, actor: &Actor) -> CoreResult<Vec<Customer>> {
        match actor.customer_id() {
            Some(id) => Ok(vec![self.get(actor, &CustomerRef::Id(id)).await?]),
            None => self.list(actor).await,
        }
    }

    /// Check the role and the owner's customer quota before anything else is read.
    pub async fn check_can_add(&self, actor: &Actor) -> CoreResult<()> {
        self.core.authorize(actor, Operation::CustomersAdd)?;
        if let Some(id) = actor.admin_id() {
            let owner = crate::admins::cached_row(self.core, id).await?;
            if !room_for(&owner, 1) {
                return Err(CoreError::QuotaExceeded(Quota::Customers));
            }
        }
        Ok(())
    }

    /// Check that the actor (an admin) can hand out `new` limits (replacing `old`).
    pub async fn check_allocation(
        &self,
        actor: &Actor,
        new: &Resources,
        old: Option<&Resources>,
    ) -> CoreResult<()> {
        let Some(id) = actor.admin_id() else {
            return Ok(());
        };
        let owner = crate::admins::cached_row(self.core, id).await?;
        let mail_quota = self
            .core
            .settings()
            .snapshot()
            .await?
            .flag("system.mail_quota_enabled");
        if allocation_ok(&owner, new, old, mail_quota) {
            Ok(())
        } else {
            Err(CoreError::QuotaExceeded(Quota::Resources))
        }
    }

    /// Is `login` used by a customer or an admin (case-insensitively)? Asked by callers that may
    /// create accounts.
    pub async fn login_taken(&self, actor: &Actor, login: &str) -> CoreResult<bool> {
        self.core.authorize(actor, Operation::CustomersAdd)?;
        let db = self.core.reader();
        let key = login.to_lowercase();
        let customer = customers::Entity::find()
            .filter(customers::Column::LoginKey.eq(key.clone()))
            .one(db)
            .await?;
        let admin = admins::Entity::find()
            .filter(admins::Column::LoginKey.eq(key))
            .one(db)
            .await?;
        Ok(customer.is_some() || admin.is_some())
    }

    /// Create a customer owned by the calling admin (or by `owner` when the server itself calls).
    pub async fn create(&self, actor: &Actor, new: NewCustomer) -> CoreResult<Customer> {
        self.create_owned(actor, None, new).await
    }

    pub async fn create_owned(
        &self,
        actor: &Actor,
        owner: Option<i64>,
        new: NewCustomer,
    ) -> CoreResult<Customer> {
        self.core.authorize(actor, Operation::CustomersAdd)?;
        let owner_id = policy::owner_of_new_customer(actor, owner)?;
        new.validate()?;
        let password = new.password.clone().unwrap_or_else(generate_password);
        let hash = self.core.verifier().hash_new(password).await?;
        let request = CreateRequest {
            owner_id,
            checked: policy::allocation_checked(actor),
            new,
            hash,
            now: self.core.now(),
            origin: crate::journal::origin(),
        };
        let (row, owner_login) = crate::create_queue::submit(self.core, request).await?;
        crate::journal::changed("customer", row.id, None, Some(&row));
        Ok(row_to_customer(row, owner_login))
    }

    /// Write the creates `requests` (taken from the create queue in the order they came): in
    /// one transaction when there are several, one by one when that transaction fails (say, a
    /// login taken on another instance meanwhile). Each gets the answer it would get alone.
    pub(crate) async fn write_batch(&self, requests: &[CreateRequest]) -> Vec<Created> {
        if let [one] = requests {
            return vec![self.write_one(one).await];
        }
        match self.write_many(requests).await {
            Ok(results) => results,
            Err(e) => {
                tracing::debug!(error = %e, creates = requests.len(), "batched create failed; writing one by one");
                let mut results = Vec::with_capacity(requests.len());
                for request in requests {
                    results.push(self.write_one(request).await);
                }
                results
            }
        }
    }

    /// Write one create in its own transaction.
    async fn write_one(&self, request: &CreateRequest) -> Created {
        let CreateRequest {
            owner_id,
            checked: _,
            ref new,
            ref hash,
            now,
            origin,
        } = *request;
        let txn = self.core.begin().await?;
        // Allocate the id first: the sequence row lock serialises concurrent creates, so the
        // owner's counters and the guid/account-number settings read below are current.
        let id = sequences::next_id(&txn, sequences::CUSTOMERS).await?;
        // The owner's row is locked before the customer row is written. On MariaDB the insert
        // takes a shared lock on the owner (the foreign key) that the counter update below must
        // upgrade; an update of another customer of the same owner, holding its customer and
        // waiting for the owner, then made a deadlock of the two (found by the crash harness).
        // Locked first, every writer takes the owner in the same way.
        let owner_row = crate::admins::find_row_locked(&txn, owner_id).await?;
        let s = settings::read_all(&txn).await?;
        admit(&owner_row, request, s.flag("system.mail_quota_enabled"))?;
        let loginname = match &new.loginname {
            Some(l) => l.as_str().to_owned(),
            None => {
                let number = s.int("system.lastaccountnumber") + 1;
                settings::write(&txn, "system.lastaccountnumber", &number.to_string()).await?;
                generated_login(&s, number)?
            }
        };
        let login_key = loginname.to_lowercase();
        let taken_by_admin = admins::Entity::find()
            .filter(admins::Column::LoginKey.eq(login_key.clone()))
            .one(&txn)
            .await?
            .is_some();
        let taken_by_customer = customers::Entity::find()
            .filter(customers::Column::LoginKey.eq(login_key.clone()))
            .one(&txn)
            .await?
            .is_some();
        if taken_by_admin || taken_by_customer {
            return Err(login_taken(loginname));
        }
        let guid = s.int("system.lastguid") + 1;
        settings::write(&txn, "system.lastguid", &guid.to_string()).await?;
        let mut am = new_row(NewRow {
            id,
            guid,
            loginname: &loginname,
            hash: hash.clone(),
            owner_id,
            new,
            settings: &s,
            now,
            origin,
        });
        // The standard subdomain's id is known before the customer is written, so the row goes
        // in once; the subdomain follows it (it refers to the customer).
        let sub = if new.create_std_subdomain {
            let id = sequences::next_id(&txn, sequences::SUBSCRIPTIONS).await?;
            am.standardsubdomain = Set(id);
            Some(id)
        } else {
            None
        };
        let row = am
            .insert(&txn)
            .await
            .map_err(|e| map_unique(e, &loginname))?;
        if let Some(id) = sub {
            let domain = std_subdomain_of(&s, &row.loginname);
            insert_std_subdomain(&txn, id, &row, domain, now).await?;
        }
        shift_counters(&txn, owner_id, &new.limits, 1, 1).await?;
        txn.commit().await.map_err(|e| map_unique(e, &loginname))?;
        Ok((row, owner_row.loginname))
    }

    /// Write several creates in one transaction: each is checked as it would be alone, in
    /// order, against the owners' counters as the creates before it left them; the ones that
    /// pass go in with a few multi-row statements. `Err`: the transaction failed as a whole
    /// (nothing was written).
    async fn write_many(&self, requests: &[CreateRequest]) -> CoreResult<Vec<Created>> {
        use std::collections::BTreeMap;
        let txn = self.core.begin().await?;
        // Taken first, as a single create takes it with its id (PostgreSQL and MariaDB; SQLite
        // has one writer).
        sequences::lock(&txn, sequences::CUSTOMERS).await?;
        let s = settings::read_all(&txn).await?;
        // Owners in id order, each locked (as a single create locks its owner).
        let mut owners: BTreeMap<i64, Option<admins::Model>> =
            requests.iter().map(|r| (r.owner_id, None)).collect();
        for (&id, slot) in owners.iter_mut() {
            *slot = match crate::admins::find_row_locked(&txn, id).await {
                Ok(row) => Some(row),
                Err(CoreError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
        }
        // Every login a create may take: the ones asked for, and the generated ones (account
        // numbers after the last, one per create without a login).
        let last_number = s.int("system.lastaccountnumber");
        let wanted: Vec<String> = requests
            .iter()
            .filter_map(|r| r.new.loginname.as_ref().map(|l| l.as_str().to_lowercase()))
            .chain(
                (1..=requests
                    .iter()
                    .filter(|r| r.new.loginname.is_none())
                    .count() as i64)
                    .map(|k| account_login(&s, last_number + k).to_lowercase()),
            )
            .collect();
        let mut taken = taken_logins(&txn, &wanted).await?;
        let mail_quota = s.flag("system.mail_quota_enabled");
        let mut results: Vec<Option<Created>> = Vec::with_capacity(requests.len());
        let mut accepted: Vec<(usize, String)> = Vec::new();
        let mut numbers_used = 0;
        let mut per_owner: BTreeMap<i64, (i64, Resources)> = BTreeMap::new();
        for (i, request) in requests.iter().enumerate() {
            let Some(Some(owner)) = owners.get_mut(&request.owner_id) else {
                results.push(Some(Err(CoreError::not_found(
                    EntityKind::Admin,
                    Key::Id(request.owner_id),
                ))));
                continue;
            };
            let login = admit(owner, request, mail_quota).and_then(|()| {
                let login = match &request.new.loginname {
                    Some(l) => l.as_str().to_owned(),
                    None => generated_login(&s, last_number + numbers_used + 1)?,
                };
                if taken.insert(login.to_lowercase(), login.clone()).is_none() {
                    Ok(login)
                } else {
                    Err(login_taken(login))
                }
            });
            match login {
                Ok(login) => {
                    if request.new.loginname.is_none() {
                        numbers_used += 1;
                    }
                    crate::counters::add_used(owner, &request.new.limits, 1);
                    let (count, used) = per_owner.entry(request.owner_id).or_default();
                    *count += 1;
                    add_counted(used, &request.new.limits);
                    accepted.push((i, login));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !accepted.is_empty() {
            let n = accepted.len() as i64;
            let first = sequences::reserve(&txn, sequences::CUSTOMERS, n).await?;
            let guid0 = s.int("system.lastguid");
            settings::write(&txn, "system.lastguid", &(guid0 + n).to_string()).await?;
            if numbers_used > 0 {
                let last = last_number + numbers_used;
                settings::write(&txn, "system.lastaccountnumber", &last.to_string()).await?;
            }
            let rows = accepted.iter().enumerate().map(|(k, (i, login))| {
                let r = &requests[*i];
                NewRow {
                    id: first + k as i64,
                    guid: guid0 + 1 + k as i64,
                    loginname: login,
                    hash: r.hash.clone(),
                    owner_id: r.owner_id,
                    new: &r.new,
                    settings: &s,
                    now: r.now,
                    origin: r.origin,
                }
            });
            insert_rows(&txn, &s, rows.collect()).await?;
            for (owner, (count, used)) in per_owner {
                shift_counters(&txn, owner, &used, 1, count).await?;
            }
            let mut written: HashMap<i64, customers::Model> = customers::Entity::find()
                .filter(customers::Column::Id.gte(first))
                .filter(customers::Column::Id.lt(first + n))
                .all(&txn)
                .await?
                .into_iter()
                .map(|row| (row.id, row))
                .collect();
            txn.commit().await?;
            for (k, (i, _)) in accepted.iter().enumerate() {
                let row = written.remove(&(first + k as i64)).ok_or_else(|| {
                    CoreError::Internal("a batched customer was not read back".into())
                })?;
                let owner = owners[&row.admin_id]
                    .as_ref()
                    .map(|o| o.loginname.clone())
                    .unwrap_or_default();
                results[*i] = Some(Ok((row, owner)));
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(CoreError::Internal("a create was not answered".into())))
            })
            .collect())
    }

    /// Create many customers in one transaction, as the server (data sets and `panelgate
    /// import`): ids, guids and standard subdomains are handed out as one by one, owners'
    /// counters move once per owner, and the rows go in with a few multi-row inserts. All or
    /// nothing: a taken login, an unknown owner or an owner's full customer quota fails the
    /// batch before anything is written.
    pub async fn import_batch(&self, actor: &Actor, batch: Vec<Imported>) -> CoreResult<usize> {
        use std::collections::{BTreeMap, HashSet};
        self.core.authorize(actor, Operation::SystemOnly)?;
        if batch.is_empty() {
            return Ok(0);
        }
        let mut keys = HashSet::new();
        let mut hashes = Vec::with_capacity(batch.len());
        let mut logins = Vec::with_capacity(batch.len());
        for item in &batch {
            item.new.validate()?;
            let login = item.new.loginname.clone().ok_or(CoreError::Invalid {
                field: "loginname",
                reason: "an imported customer needs a login".into(),
            })?;
            if !keys.insert(login.as_str().to_lowercase()) {
                return Err(login_taken(login.as_str().to_owned()));
            }
            logins.push(login);
            hashes.push(match &item.password_hash {
                Some(h) => {
                    crate::password::check_stored_hash(h)?;
                    h.clone()
                }
                None => {
                    let password = item.new.password.clone().unwrap_or_else(generate_password);
                    self.core.verifier().hash_new(password).await?
                }
            });
        }
        let now = self.core.now();
        let n = batch.len() as i64;
        let txn = self.core.begin().await?;
        let first = sequences::reserve(&txn, sequences::CUSTOMERS, n).await?;
        let s = settings::read_all(&txn).await?;
        // Logins already taken, by an admin or a customer.
        let keys: Vec<String> = keys.into_iter().collect();
        if let Some(login) = taken_logins(&txn, &keys).await?.into_values().next() {
            return Err(login_taken(login));
        }
        // Owners: each must exist and have room for its new customers.
        let mut per_owner: BTreeMap<i64, (i64, Resources)> = BTreeMap::new();
        for item in &batch {
            let (count, used) = per_owner.entry(item.owner).or_default();
            *count += 1;
            add_counted(used, &item.new.limits);
        }
        for (&owner, &(count, _)) in &per_owner {
            let row = crate::admins::find_row(&txn, owner).await?;
            if !room_for(&row, count) {
                return Err(CoreError::QuotaExceeded(Quota::Customers));
            }
        }
        let guid0 = s.int("system.lastguid");
        settings::write(&txn, "system.lastguid", &(guid0 + n).to_string()).await?;
        let origin = crate::journal::origin();
        let mut rows = Vec::with_capacity(batch.len());
        for (i, ((item, hash), login)) in batch.iter().zip(hashes).zip(&logins).enumerate() {
            let id = first + i as i64;
            if let Some(wanted) = item.id {
                if wanted != id {
                    return Err(CoreError::Invalid {
                        field: "customers.id",
                        reason: format!("{login} would get id {id} instead of {wanted}"),
                    });
                }
            }
            rows.push(NewRow {
                id,
                guid: guid0 + 1 + i as i64,
                loginname: login.as_str(),
                hash,
                owner_id: item.owner,
                new: &item.new,
                settings: &s,
                now,
                origin,
            });
        }
        insert_rows(&txn, &s, rows).await?;
        for (owner, (count, used)) in per_owner {
            shift_counters(&txn, owner, &used, 1, count).await?;
        }
        txn.commit().await?;
        Ok(batch.len())
    }

    /// Change a customer. A customer changing itself may only set its language, theme and
    /// password; everything else in the patch is ignored for it.
    pub async fn update(
        &self,
        actor: &Actor,
        r: &CustomerRef,
        patch: CustomerPatch,
    ) -> CoreResult<Customer> {
        let patch = policy::allowed_customer_patch(actor, patch);
        patch.validate()?;
        let hash = match patch.password.clone() {
            Some(p) => Some(self.core.verifier().hash_new(p).await?),
            None => None,
        };
        let now = self.core.now();
        let txn = self.core.begin().await?;
        // Locked until the change commits (SQLite has one writer anyway): the patch is applied
        // to the row as it is now, not as some other transaction is about to leave it.
        let row = self.visible_row_locked(&txn, actor, r).await?;
        let patch = patch.against_base(&row_to_customer(row.clone(), String::new()).profile);
        let before = row.clone();
        // A move is checked before anything is written: the whole change happens, or none.
        let move_to = patch.move_to.filter(|&t| t != row.admin_id);
        if move_to.is_some() {
            self.core.authorize(actor, Operation::CustomersMove)?;
        }
        let old_limits = row_limits(&row);
        if let Some(new_limits) = &patch.limits {
            if actor.admin_id().is_some() {
                let owner = crate::admins::find_row_locked(&txn, row.admin_id).await?;
                let mail_quota = settings::read_all(&txn)
                    .await?
                    .flag("system.mail_quota_enabled");
                if !allocation_ok(&owner, new_limits, Some(&old_limits), mail_quota) {
                    return Err(CoreError::QuotaExceeded(Quota::Resources));
                }
            }
        }
        let was_deactivated = row.deactivated;
        let had_subdomain = row.standardsubdomain;
        let admin_id = row.admin_id;
        let mut am = row.clone().into_active_model();
        if let Some(h) = hash {
            am.password_hash = Set(h);
            // A new password ends every session and one-time key of the old one.
            crate::auth::end_sessions(&txn, None, Some(row.id)).await?;
        }
        if let Some(p) = &patch.profile {
            set_profile(&mut am, p);
        }
        if let Some(lang) = &patch.def_language {
            am.def_language = Set(lang.clone());
        }
        if let Some(l) = &patch.limits {
            set_limits(&mut am, l);
        }
        if let Some(f) = &patch.features {
            set_features(&mut am, f);
        }
        if let Some(t) = &patch.theme {
            am.theme = Set(t.clone());
        }
        if let Some(n) = &patch.custom_notes {
            am.custom_notes = Set(n.clone());
        }
        if let Some(v) = patch.custom_notes_show {
            am.custom_notes_show = Set(v);
        }
        if let Some(v) = &patch.allowed_phpconfigs {
            am.allowed_phpconfigs = Set(v.clone());
        }
        if let Some(v) = &patch.allowed_mysqlserver {
            am.allowed_mysqlserver = Set(v.clone());
        }
        if let Some(v) = &patch.description {
            am.description = Set(v.clone());
        }
        let deactivated = patch.deactivated.unwrap_or(was_deactivated);
        if deactivated != was_deactivated {
            am.deactivated = Set(deactivated);
        }
        let want_subdomain =
            !deactivated && patch.create_std_subdomain.unwrap_or(had_subdomain != 0);
        if had_subdomain != 0 && !want_subdomain {
            subscriptions::Entity::delete_by_id(had_subdomain)
                .exec(&txn)
                .await?;
            am.standardsubdomain = Set(0);
        }
        let mut row = am.update(&txn).await?;
        if had_subdomain == 0 && want_subdomain {
            let sub = create_std_subdomain(&txn, &row, now).await?;
            let mut am = row.into_active_model();
            am.standardsubdomain = Set(sub);
            row = am.update(&txn).await?;
        }
        if patch.limits.is_some() {
            shift_counters(&txn, admin_id, &old_limits, -1, 0).await?;
            shift_counters(&txn, admin_id, &row_limits(&row), 1, 0).await?;
        }
        if let Some(target) = move_to {
            let (moved, login) = move_row(&txn, row, target).await?;
            txn.commit().await?;
            crate::journal::changed("customer", moved.id, Some(&before), Some(&moved));
            return Ok(row_to_customer(moved, login));
        }
        let login = admin_login(&txn, admin_id).await?;
        txn.commit().await?;
        crate::journal::changed("customer", row.id, Some(&before), Some(&row));
        Ok(row_to_customer(row, login))
    }

    /// Delete a customer with its subscriptions, credentials and backup jobs; returns it as it was.
    pub async fn delete(&self, actor: &Actor, r: &CustomerRef) -> CoreResult<Customer> {
        self.core.authorize(actor, Operation::CustomersDelete)?;
        let txn = self.core.begin().await?;
        let row = self.visible_row(&txn, actor, r).await?;
        let id = row.id;
        backup_jobs::Entity::delete_many()
            .filter(backup_jobs::Column::CustomerId.eq(id))
            .exec(&txn)
            .await?;
        // Its backups in progress stop: queued ones at once, working ones at their next check
        // (and they record nothing for a customer that is gone).
        use crate::backups::TaskState;
        use crate::entity::backup_tasks::{self, Column as T};
        backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(TaskState::Stopped.as_str()))
            .col_expr(T::FinishedAt, Expr::value(self.core.now()))
            .filter(T::CustomerId.eq(id))
            .filter(T::State.eq(TaskState::Queued.as_str()))
            .exec(&txn)
            .await?;
        backup_tasks::Entity::update_many()
            .col_expr(T::StopRequested, Expr::value(true))
            .filter(T::CustomerId.eq(id))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .exec(&txn)
            .await?;
        subscriptions::Entity::delete_many()
            .filter(subscriptions::Column::CustomerId.eq(id))
            .exec(&txn)
            .await?;
        credentials::Entity::delete_many()
            .filter(credentials::Column::CustomerId.eq(id))
            .exec(&txn)
            .await?;
        crate::orders::forget_customer(&txn, id).await?;
        // Its sessions go too: a restore may bring the id back for someone else.
        crate::auth::end_sessions(&txn, None, Some(id)).await?;
        // Archives written into the home (Froxlor jobs' destdir) go with it.
        let home = self.core.home_dir(&row.loginname)?;
        backup_archives::Entity::delete_many()
            .filter(backup_archives::Column::CustomerId.eq(id))
            .filter(backup_archives::Column::Directory.starts_with(home.to_string_lossy()))
            .exec(&txn)
            .await?;
        // Of two deletes at once (through two panels, or two clients), both may read the row;
        // the second one's delete waits for the first and then removes nothing. Only a delete
        // that removed the row shifts the counters: before, both did, and the owner's counters
        // went down twice (found by the crash harness, tests/crash.rs). The row is not locked
        // up front: on MariaDB that deadlocked with a restore of the same customer.
        let deleted = customers::Entity::delete_by_id(id).exec(&txn).await?;
        if deleted.rows_affected != 1 {
            return Err(policy::hidden_customer(actor, not_found(r)));
        }
        shift_counters(&txn, row.admin_id, &row_limits(&row), -1, -1).await?;
        let login = admin_login(&txn, row.admin_id).await?;
        txn.commit().await?;
        crate::journal::changed("customer", id, Some(&row), None);
        // The next customer with this login must not inherit these files.
        match tokio::fs::remove_dir_all(&home).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(home = %home.display(), error = %e, "removing a deleted customer's home")
            }
        }
        Ok(row_to_customer(row, login))
    }

    /// Suspend (`true`) or resume a customer: staff only; a suspended customer cannot log in.
    pub async fn set_suspended(
        &self,
        actor: &Actor,
        r: &CustomerRef,
        suspended: bool,
    ) -> CoreResult<Customer> {
        self.core.authorize(actor, Operation::CustomersSuspend)?;
        let patch = CustomerPatch {
            deactivated: Some(suspended),
            ..CustomerPatch::default()
        };
        self.update(actor, r, patch).await
    }

    /// Reset the failed-login counter.
    pub async fn unlock(&self, actor: &Actor, r: &CustomerRef) -> CoreResult<Customer> {
        self.core.authorize(actor, Operation::CustomersUnlock)?;
        let txn = self.core.begin().await?;
        let row = self.visible_row(&txn, actor, r).await?;
        let mut am = row.into_active_model();
        am.loginfail_count = Set(0);
        let row = am.update(&txn).await?;
        let login = admin_login(&txn, row.admin_id).await?;
        txn.commit().await?;
        Ok(row_to_customer(row, login))
    }

    /// Give a customer (and its subscriptions) to another admin; both owners' counters are recounted.
    pub async fn move_to(
        &self,
        actor: &Actor,
        r: &CustomerRef,
        target_admin: i64,
    ) -> CoreResult<Customer> {
        self.core.authorize(actor, Operation::CustomersMove)?;
        let txn = self.core.begin().await?;
        let row = self.visible_row(&txn, actor, r).await?;
        if row.admin_id == target_admin {
            return Err(CoreError::Conflict(
                "the customer already belongs to that admin".into(),
            ));
        }
        let (row, login) = move_row(&txn, row, target_admin).await?;
        txn.commit().await?;
        Ok(row_to_customer(row, login))
    }
}

/// Give `row` (and its subscriptions) to `target_admin` and recount both owners; returns the
/// moved row and the new owner's login.
async fn move_row<C: ConnectionTrait>(
    txn: &C,
    row: customers::Model,
    target_admin: i64,
) -> CoreResult<(customers::Model, String)> {
    let target = admins::Entity::find_by_id(target_admin)
        .one(txn)
        .await?
        .ok_or_else(|| CoreError::not_found(EntityKind::Admin, Key::Id(target_admin)))?;
    let previous = row.admin_id;
    let mut am = row.into_active_model();
    am.admin_id = Set(target_admin);
    let row = am.update(txn).await?;
    subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::AdminId, Expr::value(target_admin))
        .filter(subscriptions::Column::CustomerId.eq(row.id))
        .exec(txn)
        .await?;
    recount(txn, previous).await?;
    recount(txn, target_admin).await?;
    Ok((row, target.loginname))
}

/// A random password that satisfies Froxlor's default complexity (lower, upper, digit).
fn generate_password() -> String {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::thread_rng();
    let mut out = String::new();
    for set in [LOWER, UPPER, DIGIT] {
        out.push(set[rng.gen_range(0..set.len())] as char);
    }
    let all: Vec<u8> = [LOWER, UPPER, DIGIT].concat();
    while out.len() < 12 {
        out.push(all[rng.gen_range(0..all.len())] as char);
    }
    out
}

/// A stable GUID-shaped identifier for panels that show one (Plesk `guid`).
fn uuid_for(id: i64, guid: i64) -> String {
    use sha2::{Digest, Sha256};
    crate::types::format_guid(&Sha256::digest(
        format!("panelgate-customer-{id}-{guid}").as_bytes(),
    ))
}
