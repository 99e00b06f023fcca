//! The read cache: what hot calls read on every request (a credential and its owner, a customer
//! by id or login, the account a panel login names, the settings, customer pages of up to
//! `PAGE_CACHE_MAX` rows and customer counts; see `Caches`), kept in memory while nothing was
//! written.
//!
//! A read must not go through the writer: it would count as a write, empty the cache and wait
//! behind writes (`Core::writes_ended` lets tests check it).
//!
//! # Why it stays correct
//! Every write goes through [`Writer`] (what `Core::db()` hands out) or a [`Txn`] (what
//! `Core::begin()` hands out). While a writer is alive, or a transaction commits, the cache is
//! not consulted; when the writer is dropped (after its statement ran) or the commit is done, the
//! *generation* moves on, which empties every map on its next use. A transaction that has not
//! committed yet leaves the cache on: no other connection sees what it wrote. A reader notes the
//! generation before it queries and stores its result only if the generation has not moved
//! since, so a value read before a write committed is never kept.
//!
//! # Several instances on one database
//! On PostgreSQL and MariaDB other instances write too. So every write also moves the
//! database's one `cache_version` row on: a transaction in its last statement before the commit,
//! a single statement right after it ran (before its caller answers). Before its first cached
//! read, a request waits for a read of that row that began after it asked: one read answers all
//! the requests waiting (see [`super::version_reads`]). [`Core::in_request`] marks a request;
//! outside one, nothing is cached. When the version differs from the one this process last
//! saw, the generation moves on, so the request reads from the database what another instance
//! wrote. A write acknowledged by another instance before the request began moved the
//! version before it was acknowledged, so the request sees it.
//!
//! On a SQLite file, which [`crate::db`] locks for one process, there is no other writer and no
//! version to read.
//!
//! [`Core::in_request`]: crate::Core::in_request

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};

/// Entries a map keeps before it starts over (a bound against a tenant who asks for many
/// different keys; the hot set refills in a few requests).
const MAX_ENTRIES: usize = 4096;

/// The shared version's row: read once per request, moved on by every write.
const READ_VERSION: &str = "SELECT version FROM cache_version WHERE id = 1";
const MOVE_VERSION: &str = "UPDATE cache_version SET version = version + 1 WHERE id = 1";

/// Move the shared version on (see the module documentation).
async fn move_version<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let stmt = Statement::from_string(conn.get_database_backend(), MOVE_VERSION);
    conn.execute(stmt).await.map(|_| ())
}

/// The shared version as it is now.
pub(crate) async fn read_version<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let stmt = Statement::from_string(conn.get_database_backend(), READ_VERSION);
    conn.query_one(stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("cache_version".into()))?
        .try_get("", "version")
}

/// The generation counter and the writers in flight.
#[derive(Debug, Default)]
pub(crate) struct Generation {
    enabled: bool,
    /// Other instances write to the database too: writes move the shared version on, and a
    /// request checks it before it reads from the cache.
    shared: bool,
    current: AtomicU64,
    /// Writes of this process that have ended (the generation also moves for other instances'
    /// writes).
    writes: AtomicU64,
    writers: AtomicUsize,
    /// The shared version this process last saw (`None`: none yet).
    seen: Mutex<Option<i64>>,
}

impl Generation {
    pub(crate) fn new(enabled: bool) -> Generation {
        Generation {
            enabled,
            ..Generation::default()
        }
    }

    /// The generation of a database that other instances share.
    pub(crate) fn shared() -> Generation {
        Generation {
            enabled: true,
            shared: true,
            ..Generation::default()
        }
    }

    pub(crate) fn is_shared(&self) -> bool {
        self.shared
    }

    /// A request read the shared version `version`: if it moved since this process last saw
    /// it, another instance wrote, and the generation moves on. (Under the lock: a request that
    /// finds the version it read already seen must find the generation moved as well.)
    pub(crate) fn saw_version(&self, version: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if *seen != Some(version) {
            *seen = Some(version);
            self.current.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The generation a read starts at, or `None` when the cache may not be used now (switched
    /// off, or a write in flight).
    fn stamp(&self) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let generation = self.current.load(Ordering::SeqCst);
        (self.writers.load(Ordering::SeqCst) == 0).then_some(generation)
    }

    /// Writes of this process that have ended.
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn begin_write(&self) {
        self.writers.fetch_add(1, Ordering::SeqCst);
    }

    fn end_write(&self) {
        // The generation moves before the writer count drops, so no reader sees "no writer"
        // together with the old generation once this write is done.
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.current.fetch_add(1, Ordering::SeqCst);
        self.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One cached map: values of one kind by key, all read at `generation`.
pub(crate) struct Map<K, V> {
    inner: Mutex<MapInner<K, V>>,
}

struct MapInner<K, V> {
    generation: u64,
    entries: HashMap<K, V>,
    /// The entries' weight (see [`Map::get_or_load_weighed`]).
    weight: usize,
    /// Keys being read now, each with the generation its reader started at: a second reader of
    /// the same key at the same generation waits for the first instead of reading it again
    /// (after each write, every request in flight would otherwise read the same rows at once).
    loading: HashMap<K, (u64, Arc<tokio::sync::Notify>)>,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            inner: Mutex::new(MapInner {
                generation: 0,
                entries: HashMap::new(),
                weight: 0,
                loading: HashMap::new(),
            }),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
    /// The cached value for `key`, or what `load` reads (cached when no write moved the
    /// generation in between).
    pub(crate) async fn get_or_load<E, F, Fut>(
        &self,
        generation: &Generation,
        key: K,
        load: F,
    ) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        self.get_or_load_weighed(generation, key, (usize::MAX, |_| 0), load)
            .await
    }

    /// [`Map::get_or_load`] for values of different sizes: `budget` is the most weight the map
    /// holds and `weigh` a value's weight (rows, say), so that memory is bounded by what the
    /// entries hold and not only by their number. A value heavier than the budget is not kept.
    pub(crate) async fn get_or_load_weighed<E, F, Fut>(
        &self,
        generation: &Generation,
        key: K,
        (budget, weigh): (usize, fn(&V) -> usize),
        load: F,
    ) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        // Found, or this task reads it (others reading it at this generation wait for that).
        let mut waited = false;
        let (stamp, _loading) = loop {
            let Some(stamp) = generation.stamp() else {
                return load().await;
            };
            // What to do, decided under the lock (released before any await).
            enum Next<'m, K: Hash + Eq, V> {
                Wait(Arc<tokio::sync::Notify>),
                Read(Loading<'m, K, V>),
                ReadAlone,
            }
            let next = {
                let mut inner = self.inner.lock().expect("cache lock");
                if inner.generation != stamp {
                    inner.entries.clear();
                    inner.weight = 0;
                    inner.generation = stamp;
                }
                if let Some(v) = inner.entries.get(&key) {
                    return Ok(v.clone());
                }
                match inner.loading.get(&key) {
                    // Waited once already (the value read was not kept, say): read it alone.
                    Some((at, _)) if *at == stamp && waited => Next::ReadAlone,
                    Some((at, notify)) if *at == stamp => Next::Wait(notify.clone()),
                    _ => {
                        let notify = Arc::new(tokio::sync::Notify::new());
                        inner.loading.insert(key.clone(), (stamp, notify.clone()));
                        Next::Read(Loading {
                            map: self,
                            key: key.clone(),
                            notify,
                        })
                    }
                }
            };
            let notify = match next {
                Next::Wait(notify) => notify,
                Next::Read(loading) => break (stamp, loading),
                Next::ReadAlone => return load().await,
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Still being read (else it ended before this task began waiting): wait for it.
            let reading = {
                let inner = self.inner.lock().expect("cache lock");
                inner
                    .loading
                    .get(&key)
                    .is_some_and(|(_, n)| Arc::ptr_eq(n, &notify))
            };
            if reading {
                notified.await;
                waited = true;
            }
        };
        let value = load().await?;
        let weight = weigh(&value);
        if weight <= budget && generation.stamp() == Some(stamp) {
            let mut inner = self.inner.lock().expect("cache lock");
            if inner.generation == stamp {
                if inner.entries.len() >= MAX_ENTRIES || inner.weight > budget - weight {
                    // Start over (the hot set refills in a few requests).
                    inner.entries.clear();
                    inner.weight = 0;
                }
                if let Some(old) = inner.entries.insert(key, value.clone()) {
                    inner.weight -= weigh(&old).min(inner.weight);
                }
                inner.weight += weight;
            }
        }
        Ok(value)
    }
}

/// A key this task is reading into a map: when the read ends (or is abandoned) the key is no
/// longer being read and the tasks waiting for it look again.
struct Loading<'a, K: Hash + Eq, V> {
    map: &'a Map<K, V>,
    key: K,
    notify: Arc<tokio::sync::Notify>,
}

impl<K: Hash + Eq, V> Drop for Loading<'_, K, V> {
    fn drop(&mut self) {
        let mut inner = self.map.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner
            .loading
            .get(&self.key)
            .is_some_and(|(_, n)| Arc::ptr_eq(n, &self.notify))
        {
            inner.loading.remove(&self.key);
        }
        drop(inner);
        self.notify.notify_waiters();
    }
}

/// The writer connection, held for one statement or one scope; dropping it ends the write.
pub(crate) struct Writer<'a> {
    db: &'a DatabaseConnection,
    generation: &'a Arc<Generation>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(db: &'a DatabaseConnection, generation: &'a Arc<Generation>) -> Self {
        generation.begin_write();
        Writer { db, generation }
    }
}

/// A write transaction on the writer `db`. It counts as a write from its commit on: until then
/// no other connection sees what it wrote, so what the cache holds is still what the database
/// holds, and reads outside it keep using the cache (a long transaction, such as a batch of
/// creates, does not switch the cache off while it runs).
pub(crate) async fn begin(
    db: &DatabaseConnection,
    generation: &Arc<Generation>,
) -> Result<Txn, DbErr> {
    Ok(Txn {
        inner: db.begin().await?,
        generation: generation.clone(),
    })
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.generation.end_write();
    }
}

impl Deref for Writer<'_> {
    type Target = DatabaseConnection;
    fn deref(&self) -> &DatabaseConnection {
        self.db
    }
}

struct WriteGuard(Arc<Generation>);

impl WriteGuard {
    fn new(generation: Arc<Generation>) -> Self {
        generation.begin_write();
        WriteGuard(generation)
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.end_write();
    }
}

/// A write transaction: sea-orm's, and the generation its commit moves.
pub(crate) struct Txn {
    inner: DatabaseTransaction,
    generation: Arc<Generation>,
}

impl Txn {
    /// Commit: a write while the commit runs (the cache is bypassed), and the generation moves
    /// when it is done (or has failed: what the database holds then is not known).
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        if self.generation.shared {
            // Its last statement: the row lock is held only while the commit runs.
            move_version(&self.inner).await?;
        }
        let _guard = WriteGuard::new(self.generation);
        self.inner.commit().await
    }
}

impl Deref for Txn {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.inner
    }
}

impl Writer<'_> {
    /// After a statement: move the shared version on, before the caller can answer.
    async fn written<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        let moved = if self.generation.shared {
            move_version(self.db).await
        } else {
            Ok(())
        };
        let value = result?;
        moved?;
        Ok(value)
    }

    /// [`Writer::written`] for a statement that reports the rows it changed: one that changed
    /// none (the backup worker's idle rounds, say) leaves the shared version alone.
    async fn executed(&self, result: Result<ExecResult, DbErr>) -> Result<ExecResult, DbErr> {
        match result {
            Ok(r) if r.rows_affected() == 0 => Ok(r),
            other => self.written(other).await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Writer<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.executed(self.db.execute(stmt).await).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.executed(self.db.execute_unprepared(sql).await).await
    }
    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.written(self.db.query_one(stmt).await).await
    }
    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.written(self.db.query_all(stmt).await).await
    }
    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }
    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.inner.execute(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }
    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.inner.query_one(stmt).await
    }
    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.inner.query_all(stmt).await
    }
    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn load(n: &AtomicU64) -> Result<u64, ()> {
        Ok(n.fetch_add(1, Ordering::SeqCst))
    }

    #[tokio::test]
    async fn readers_of_one_key_at_once_read_it_once() {
        let generation = Arc::new(Generation::new(true));
        let map: Map<&str, u64> = Map::default();
        let loads = AtomicU64::new(0);
        let read = || async {
            map.get_or_load(&generation, "k", || async {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok::<u64, ()>(7)
            })
            .await
        };
        let all = futures::future::join_all((0..5).map(|_| read())).await;
        assert!(all.iter().all(|v| *v == Ok(7)));
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        // A reader that goes away halfway does not leave the others waiting.
        generation.begin_write();
        generation.end_write();
        let abandoned = map.get_or_load(&generation, "k", || async {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok::<u64, ()>(0)
        });
        let mut abandoned = Box::pin(abandoned);
        let mut waiting =
            Box::pin(map.get_or_load(&generation, "k", || async { Ok::<u64, ()>(8) }));
        assert!(
            futures::poll!(abandoned.as_mut()).is_pending(),
            "the first reader reads"
        );
        assert!(
            futures::poll!(waiting.as_mut()).is_pending(),
            "the second waits for it"
        );
        drop(abandoned);
        let v = waiting.await;
        assert_eq!(v, Ok(8));
    }

    #[tokio::test]
    async fn a_weighed_map_holds_at_most_its_budget() {
        let generation = Arc::new(Generation::new(true));
        let map: Map<u64, Vec<u8>> = Map::default();
        let weigh: fn(&Vec<u8>) -> usize = Vec::len;
        let loads = AtomicU64::new(0);
        let get = |key: u64, len: usize| {
            let (map, generation, loads) = (&map, &generation, &loads);
            async move {
                map.get_or_load_weighed(generation, key, (10, weigh), || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ()>(vec![0; len])
                })
                .await
                .unwrap()
            }
        };
        get(1, 6).await;
        get(1, 6).await;
        assert_eq!(loads.load(Ordering::SeqCst), 1, "kept");
        get(2, 4).await;
        assert_eq!(map.inner.lock().unwrap().weight, 10);
        // Over the budget: the map starts over with the new entry.
        get(3, 5).await;
        let held = {
            let inner = map.inner.lock().unwrap();
            (inner.entries.len(), inner.weight)
        };
        assert_eq!(held, (1, 5));
        // Heavier than the whole budget: answered, never kept.
        get(4, 11).await;
        get(4, 11).await;
        assert_eq!(loads.load(Ordering::SeqCst), 5);
        assert_eq!(map.inner.lock().unwrap().weight, 5);
    }

    #[tokio::test]
    async fn a_write_empties_the_cache_and_a_write_in_flight_bypasses_it() {
        let generation = Arc::new(Generation::new(true));
        let map: Map<&str, u64> = Map::default();
        let reads = AtomicU64::new(0);
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(0)
        );
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(0)
        );
        generation.begin_write();
        // While a write is in flight every read goes to the loader and nothing is kept.
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(1)
        );
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(2)
        );
        generation.end_write();
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(3)
        );
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(3)
        );
    }

    #[tokio::test]
    async fn a_value_read_across_a_write_is_not_kept() {
        let generation = Arc::new(Generation::new(true));
        let map: Map<&str, u64> = Map::default();
        let g = generation.clone();
        let v = map
            .get_or_load(&generation, "k", || async move {
                // A write starts and ends while this read runs.
                g.begin_write();
                g.end_write();
                Ok::<u64, ()>(7)
            })
            .await;
        assert_eq!(v, Ok(7));
        let reads = AtomicU64::new(8);
        assert_eq!(
            map.get_or_load(&generation, "k", || load(&reads)).await,
            Ok(8)
        );
    }

    #[tokio::test]
    async fn switched_off_it_always_reads_and_it_stays_bounded() {
        let off = Generation::new(false);
        let map: Map<u64, u64> = Map::default();
        let reads = AtomicU64::new(0);
        map.get_or_load(&off, 1, || load(&reads)).await.unwrap();
        map.get_or_load(&off, 1, || load(&reads)).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);

        let on = Generation::new(true);
        for k in 0..(MAX_ENTRIES as u64 * 3) {
            map.get_or_load(&on, k, || async { Ok::<u64, ()>(k) })
                .await
                .unwrap();
        }
        assert!(map.inner.lock().unwrap().entries.len() <= MAX_ENTRIES);
    }
}
