//! panelgate's shared core: the model of admins, resellers, customers, subscriptions,
//! credentials, backup jobs, tasks and archives, kept in a database through sea-orm, and the one
//! access policy.
//!
//! # A request's path through the core
//! 1. **Authenticate**: a frontend hands the credentials it read to [`auth`]
//!    (`core.auth().key(..)` / `.password(..)`) and gets a [`Principal`] or a [`Refusal`]. Only
//!    the core makes principals; the server role exists only through the [`SystemCap`] that
//!    [`Core::open`] returns.
//! 2. **Authorise and run**: the frontend calls a facade (`core.customers()`,
//!    `core.backups()`, …) with the principal's [`Actor`]; the facade asks [`policy`] every
//!    access question and runs multi-row writes in one transaction.
//! 3. **Answer**: the facade returns domain types ([`model`], [`backups`]) or a [`CoreError`],
//!    which each frontend maps to its wire format in one exhaustive `match`.
//!
//! # Rooms
//! * [`policy`]: the opaque caller and every access decision; [`limits`]: the limits and the
//!   bounded CPU pool.
//! * [`accounts`]: [`admins`], [`customers`], [`credentials`], [`subscriptions`], [`auth`],
//!   passwords and quotas.
//! * [`orders`]: product orders (backup orders), plans, actions, invoices and funds.
//! * [`backup`]: the facade ([`backups`]), planned jobs ([`backup_jobs`]), the
//!   [`backup_worker`], the archive format, manifests, import and restore.
//! * [`store`]: the connection ([`db`]), migrations, entities, id sequences and [`settings`].
//! * [`model`] and [`types`]: domain types and validated logins; [`error`], [`clock`],
//!   [`seed`] (data sets such as the demo data).

pub mod accounts;
pub mod backup;
pub mod clock;
pub mod error;
pub mod journal;
pub mod limits;
pub mod model;
pub mod orders;
pub mod policy;
pub mod seed;
pub mod snapshot;
pub mod store;
pub mod types;

// The rooms' public modules under the names frontends use.
pub use accounts::{admins, auth, credentials, customers, subscriptions};
/// The backup engine's facade (`core.backups()`), its types and its errors.
pub use backup as backups;
pub(crate) use backup::archive;
pub use backup::{jobs as backup_jobs, worker as backup_worker};
pub use store::{connection as db, settings};

// Short paths inside the core.
pub(crate) use accounts::{create_queue, customer_rows, password, quotas as counters};
pub(crate) use backup::{manifest as backup_manifest, types as backup_types};
pub(crate) use store::{cache, entity, migrations as migration, sequences};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait};

pub use auth::Refusal;
pub use clock::{Clock, ClockState, ManualClock, SystemClock, VirtualClock};
pub use error::{CoreError, CoreResult, Denied, EntityKind, Key, Quota};
pub use limits::Limits;
pub use model::*;
pub use password::HashProfile;
pub use policy::{Actor, ActorKind, Operation, Principal, SystemCap, Who};
pub use settings::SettingsSnapshot;

/// What the store holds (see [`Core::counts`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counts {
    pub resellers: u64,
    pub customers: u64,
    pub subscriptions: u64,
    pub archives: u64,
    /// Backup tasks by state.
    pub tasks: Vec<(String, i64)>,
}

tokio::task_local! {
    /// In a request on a shared database: `None` until its first cached read checks the cache
    /// version, then whether the cache may be used (see [`Core::cache`]).
    static REQUEST_CACHE: std::cell::Cell<Option<bool>>;
}

/// The core: cheap to clone, handed to every frontend.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    reader: store::reader::Reader,
    /// Moves on with every write; empties the read cache (see [`store::cache`]).
    generation: Arc<cache::Generation>,
    /// A generation with the cache off: for reads on a shared database outside a request.
    uncached: cache::Generation,
    /// Reads of the shared cache version, shared by the requests that ask at once.
    version_reads: store::version_reads::VersionReads,
    cache: Caches,
    /// Held while the core runs: a SQLite file's lock against a second process.
    _lock: Option<std::fs::File>,
    data_dir: PathBuf,
    clock: Arc<dyn Clock>,
    verify: password::VerifyCache,
    limits: Limits,
    cpu: limits::CpuPool,
    failed_logins: auth::FailedLogins,
    /// Whole-table scans running at once (see `Customers::scan_with_owners`).
    scans: tokio::sync::Semaphore,
    /// When the backup worker last began a round (see [`Core::worker_alive`]).
    worker_beat: std::sync::Mutex<Option<std::time::Instant>>,
    /// The request journal's queue (see [`journal`]).
    journal: journal::Queue,
    /// Customer creates waiting for the writer (see [`create_queue`]).
    creates: create_queue::CreateQueue,
}

/// What the read cache keeps (see [`store::cache`]).
#[derive(Default)]
pub(crate) struct Caches {
    /// Credentials of one kind by public key (or by lookup tag), each with its owner.
    pub keys: cache::Map<(CredentialKind, String), credentials::KeyRows>,
    /// A customer and its owner's login, by id or login; `None`: no such customer.
    pub customers: cache::Map<CustomerRef, Option<Arc<(entity::customers::Model, String)>>>,
    pub settings: cache::Map<(), Arc<SettingsSnapshot>>,
    /// Admin and reseller rows by id (for the checks before a write, which checks again).
    pub admins: cache::Map<i64, Arc<entity::admins::Model>>,
    /// How many customers an owner filter lets through (see `policy::customer_owner_filter`).
    pub customer_counts: cache::Map<Option<i64>, u64>,
    /// Pages of customers with their owners, by owner filter, offset and limit.
    pub customer_pages: cache::Map<(Option<i64>, u64, u64), customers::Rows>,
    /// Chunks of narrowed customer scans (see `Customers::scan_with_owners`), by owner filter,
    /// needles, the id the chunk starts after, and its length.
    pub customer_chunks:
        cache::Map<(Option<i64>, Vec<customers::Contains>, i64, u64), customers::Rows>,
    /// The account a panel login names, by lower-cased login.
    pub logins: cache::Map<String, Arc<auth::Account>>,
}

/// How to open a core: the clock and the limits (defaults: the system clock, [`Limits::default`]).
#[derive(Clone)]
pub struct CoreOptions {
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    /// How new passwords and secrets are hashed (`fast` is for CI and load tests only).
    pub password_hashing: HashProfile,
}

impl Default for CoreOptions {
    fn default() -> Self {
        CoreOptions {
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
            password_hashing: HashProfile::Standard,
        }
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("backend", &self.inner.db.get_database_backend())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Connect to `database_url`, migrate, and build a core on the system clock with the default
    /// limits. `data_dir` holds customers' home folders (`homes/`) and local backup storage
    /// (`backups/`). The [`SystemCap`] returned beside the core is the only way to act as the
    /// server itself; keep it away from frontends.
    pub async fn open(database_url: &str, data_dir: &Path) -> CoreResult<(Core, SystemCap)> {
        Self::open_with(database_url, data_dir, CoreOptions::default()).await
    }

    pub async fn open_with(
        database_url: &str,
        data_dir: &Path,
        options: CoreOptions,
    ) -> CoreResult<(Core, SystemCap)> {
        let db::Connections {
            writer: db,
            reader,
            sole_writer,
            lock,
        } = db::connect(database_url).await?;
        for name in sequences::ALL {
            // Two instances starting together may both try to create a row; the loser's
            // insert fails and the row exists, which is all that is needed.
            if let Err(e) = sequences::ensure_at_least(&db, name, 1).await {
                tracing::debug!(sequence = name, error = %e, "sequence row created concurrently");
            }
        }
        let cpu = limits::CpuPool::new(options.limits.cpu_workers);
        let scans = options.limits.cpu_workers.max(1);
        let failed_logins = auth::FailedLogins::new(
            options.limits.failed_logins_per_minute,
            options.limits.failed_logins_per_address_per_minute,
            options.clock.clone(),
        );
        let journal = journal::Queue::start(
            db.clone(),
            !sole_writer,
            options.limits.journal_max_entries,
            options.limits.journal_max_bytes,
        );
        let core = Core {
            inner: Arc::new(Inner {
                generation: Arc::new(if sole_writer {
                    cache::Generation::new(true)
                } else {
                    cache::Generation::shared()
                }),
                uncached: cache::Generation::new(false),
                version_reads: Default::default(),
                cache: Caches::default(),
                _lock: lock,
                db,
                reader,
                data_dir: data_dir.to_path_buf(),
                clock: options.clock,
                verify: password::VerifyCache::new(cpu.clone(), options.password_hashing)?,
                limits: options.limits,
                cpu,
                failed_logins,
                scans: tokio::sync::Semaphore::new(scans),
                worker_beat: std::sync::Mutex::new(None),
                journal,
                creates: create_queue::CreateQueue::default(),
            }),
        };
        Ok((core, SystemCap::new()))
    }

    /// Close the database connections once no other clone of this core is left (a SQLite file
    /// is then complete on disk and may be copied).
    pub async fn close(self) -> CoreResult<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                inner.reader.close().await?;
                Ok(inner.db.close().await?)
            }
            Err(_) => Ok(()),
        }
    }

    /// The writer. Every write goes through it (or a transaction begun on it): holding it
    /// keeps the read cache out of use, dropping it empties the cache.
    pub(crate) fn db(&self) -> cache::Writer<'_> {
        cache::Writer::new(&self.inner.db, &self.inner.generation)
    }

    /// A write transaction on the writer (see [`cache::begin`]).
    pub(crate) async fn begin(&self) -> Result<cache::Txn, sea_orm::DbErr> {
        cache::begin(&self.inner.db, &self.inner.generation).await
    }

    /// Customer creates waiting for the writer.
    pub(crate) fn create_queue(&self) -> &create_queue::CreateQueue {
        &self.inner.creates
    }

    /// How many writes have ended so far (each empties the read cache), for tests and metrics:
    /// a read must not move it.
    pub fn writes_ended(&self) -> u64 {
        self.inner.generation.writes()
    }

    /// Run `request` as one request: on a database that several instances share, its first
    /// cached read checks once whether another instance wrote (see [`store::cache`]). Outside
    /// a request, reads on such a database are not cached.
    pub async fn in_request<F: std::future::Future>(&self, request: F) -> F::Output {
        REQUEST_CACHE
            // On the heap: a request's future is large, and debug builds copy it on the stack.
            .scope(std::cell::Cell::new(None), Box::pin(request))
            .await
    }

    /// The read cache's maps and the generation they are checked against (one with the cache
    /// off when it may not be used: a shared database outside a request, or one whose version
    /// could not be read).
    pub(crate) async fn cache(&self) -> (&Caches, &cache::Generation) {
        let generation = &self.inner.generation;
        if !generation.is_shared() {
            return (&self.inner.cache, generation);
        }
        let usable = match REQUEST_CACHE.try_with(|s| s.get()) {
            // Outside a request.
            Err(_) => false,
            Ok(Some(usable)) => usable,
            Ok(None) => {
                let usable = store::version_reads::check(self).await;
                let _ = REQUEST_CACHE.try_with(|s| s.set(Some(usable)));
                usable
            }
        };
        let generation = if usable {
            generation
        } else {
            &self.inner.uncached
        };
        (&self.inner.cache, generation)
    }

    /// The read pool: for reads outside write transactions (see [`db::connect`]).
    pub(crate) fn reader(&self) -> &store::reader::Reader {
        &self.inner.reader
    }

    /// The data directory (home folders and local backup storage).
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub(crate) fn verifier(&self) -> &password::VerifyCache {
        &self.inner.verify
    }

    /// Full password/secret hash verifications made so far (credential-cache misses).
    pub fn slow_credential_checks(&self) -> u64 {
        self.inner.verify.slow_checks()
    }

    /// Every password hash or verification run so far (including the ones a missing account
    /// costs), for benchmarks and metrics.
    pub fn hashes_run(&self) -> u64 {
        self.inner.cpu.hashes()
    }

    /// The password hashing profile in force.
    pub fn password_hashing(&self) -> HashProfile {
        self.inner.verify.profile()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// A turn to scan a whole table (as many at once as there are CPU workers).
    pub(crate) async fn scan_permit(&self) -> CoreResult<tokio::sync::SemaphorePermit<'_>> {
        self.inner
            .scans
            .acquire()
            .await
            .map_err(|_| CoreError::Unavailable("shutting down".into()))
    }

    pub(crate) fn cpu(&self) -> &limits::CpuPool {
        &self.inner.cpu
    }

    /// Unix seconds from the core's clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub fn backend_name(&self) -> &'static str {
        match self.inner.db.get_database_backend() {
            DbBackend::Sqlite => "sqlite",
            DbBackend::Postgres => "postgres",
            DbBackend::MySql => "mysql",
        }
    }

    /// Does the database answer?
    pub async fn ping(&self) -> CoreResult<()> {
        self.inner
            .db
            .ping()
            .await
            .map_err(|e| CoreError::Unavailable(e.to_string()))
    }

    /// True when no admin exists yet (a fresh database, ready for the demo data).
    pub async fn is_empty(&self) -> CoreResult<bool> {
        Ok(entity::admins::Entity::find().count(&self.db()).await? == 0)
    }

    /// The request journal.
    pub fn journal(&self) -> journal::Journal<'_> {
        journal::Journal { core: self }
    }

    /// The clock the control API steers, when the core runs on one (the server's always does).
    pub fn steerable_clock(&self) -> Option<&VirtualClock> {
        self.inner.clock.steerable()
    }

    /// The backup worker is running a round now (it calls this at the start of each).
    pub fn worker_beat(&self) {
        *self.inner.worker_beat.lock().expect("worker beat lock") = Some(std::time::Instant::now());
    }

    /// Did the backup worker begin a round within `within`? (Real time, not the core's clock:
    /// it says whether the worker loop runs.)
    pub fn worker_alive(&self, within: std::time::Duration) -> bool {
        self.inner
            .worker_beat
            .lock()
            .expect("worker beat lock")
            .is_some_and(|at| at.elapsed() <= within)
    }

    /// Empty the store for a reset: every record in one transaction (then the sequences start
    /// again at 1), every customer's home folder and the local archive storage, and the
    /// failed-login windows. The caller loads its seed data set afterwards.
    pub async fn reset(&self, _system: &SystemCap) -> CoreResult<()> {
        let txn = self.begin().await?;
        snapshot::clear_tables(&txn).await?;
        for name in sequences::ALL {
            sequences::ensure_at_least(&txn, name, 1).await?;
        }
        txn.commit().await?;
        let dirs = [self.homes_dir(), self.storage_dir()];
        snapshot::blocking(move || {
            for dir in dirs {
                snapshot::remove_dir(&dir).map_err(|e| snapshot::io_error(&dir, e))?;
            }
            Ok(())
        })
        .await?;
        self.inner.failed_logins.clear();
        Ok(())
    }

    /// Backup tasks by state (for metrics), counted by the database.
    pub async fn task_counts(&self, _system: &SystemCap) -> CoreResult<Vec<(String, i64)>> {
        use sea_orm::sea_query::Expr;
        use sea_orm::QuerySelect;
        use store::entity::backup_tasks::{Column, Entity};
        Ok(Entity::find()
            .select_only()
            .column(Column::State)
            .column_as(Expr::col(Column::Id).count(), "n")
            .group_by(Column::State)
            .into_tuple::<(String, i64)>()
            .all(self.reader())
            .await?)
    }

    /// How many records the store holds, each counted by the database (for an overview).
    pub async fn counts(&self, system: &SystemCap) -> CoreResult<Counts> {
        use sea_orm::{ColumnTrait, QueryFilter};
        use store::entity::{admins, backup_archives, customers, subscriptions};
        let db = self.reader();
        Ok(Counts {
            resellers: admins::Entity::find()
                .filter(admins::Column::CustomersSeeAll.eq(false))
                .count(db)
                .await?,
            customers: customers::Entity::find().count(db).await?,
            subscriptions: subscriptions::Entity::find().count(db).await?,
            archives: backup_archives::Entity::find().count(db).await?,
            tasks: self.task_counts(system).await?,
        })
    }

    /// The database pools: (name, open connections, idle connections).
    pub fn pool_use(&self) -> Vec<(&'static str, u32, usize)> {
        let one = |name, c: &DatabaseConnection| -> Option<(&'static str, u32, usize)> {
            Some(match c.get_database_backend() {
                DbBackend::Sqlite => {
                    let p = c.get_sqlite_connection_pool();
                    (name, p.size(), p.num_idle())
                }
                DbBackend::Postgres => {
                    let p = c.get_postgres_connection_pool();
                    (name, p.size(), p.num_idle())
                }
                DbBackend::MySql => {
                    let p = c.get_mysql_connection_pool();
                    (name, p.size(), p.num_idle())
                }
            })
        };
        let mut pools: Vec<_> = one("writer", &self.inner.db).into_iter().collect();
        let (open, idle) = self.inner.reader.usage();
        pools.push(("reader", open, idle));
        pools
    }

    pub fn customers(&self) -> customers::Customers<'_> {
        customers::Customers { core: self }
    }
    pub fn admins(&self) -> admins::Admins<'_> {
        admins::Admins { core: self }
    }
    pub fn credentials(&self) -> credentials::Credentials<'_> {
        credentials::Credentials { core: self }
    }
    pub fn settings(&self) -> settings::Settings<'_> {
        settings::Settings { core: self }
    }
    pub fn backup_jobs(&self) -> backup_jobs::BackupJobs<'_> {
        backup_jobs::BackupJobs { core: self }
    }

    /// May `actor` run `op` at all? Visibility of the record itself is checked by the operation.
    pub fn authorize(&self, actor: &Actor, op: Operation) -> CoreResult<()> {
        policy::authorize(actor, op)
    }

    pub fn backups(&self) -> backups::Backups<'_> {
        backups::Backups { core: self }
    }
    /// Product orders (backup orders), plans, invoices and funds.
    pub fn orders(&self) -> orders::Orders<'_> {
        orders::Orders { core: self }
    }
    pub fn subscriptions(&self) -> subscriptions::Subscriptions<'_> {
        subscriptions::Subscriptions { core: self }
    }

    /// Load a data set (settings, sequences, admins, customers, credentials, in that order):
    /// the demo data, `--seed` files, test fixtures.
    pub async fn load(&self, system: &SystemCap, data: &seed::DataSet) -> CoreResult<()> {
        seed::load(self, system, data).await
    }

    /// Load a JSON-lines data set (see [`seed::Record`]) in file order, customers in batches;
    /// `progress` hears how many bytes were read so far.
    pub async fn load_lines<R: std::io::BufRead>(
        &self,
        system: &SystemCap,
        input: R,
        progress: impl FnMut(u64),
    ) -> CoreResult<seed::LoadReport> {
        let report = seed::load_lines(self, system, input, progress).await?;
        store::migrations::compact_search_index(&self.db()).await?;
        Ok(report)
    }

    /// `<data-dir>/homes/<login>`: a customer's files. The login is checked (a
    /// [`types::Login`] is one safe path component), so the folder is always directly inside
    /// `homes/`.
    pub fn home_dir(&self, login: &str) -> CoreResult<PathBuf> {
        let login = types::Login::try_from(login)?;
        Ok(self.homes_dir().join(login.as_str()))
    }

    /// `<data-dir>/homes`: the root of every customer's home folder.
    pub fn homes_dir(&self) -> PathBuf {
        self.data_dir().join("homes")
    }

    /// `<data-dir>/backups`: local archive storage.
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir().join("backups")
    }

    /// Log in with any protocol's credentials.
    /// Snapshots of the whole state (records, homes, archives).
    pub fn snapshots(&self) -> snapshot::Snapshots<'_> {
        snapshot::Snapshots { core: self }
    }

    pub fn auth(&self) -> auth::Auth<'_> {
        auth::Auth { core: self }
    }
}
