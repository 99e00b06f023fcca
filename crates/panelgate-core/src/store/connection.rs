//! Connecting to the database and migrating it.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::error::{CoreError, CoreResult};
use crate::migration::Migrator;
use crate::store::reader::Reader;

/// The writer and the reader pool of a database.
pub(crate) struct Connections {
    /// Every write, and reads inside write transactions.
    pub writer: DatabaseConnection,
    /// Reads outside transactions (see [`Reader`]). SQLite: read-only connections beside the
    /// one writer (WAL lets them read while it writes; each read sees every committed write).
    pub reader: Reader,
    /// SQLite: this process is the database's only writer (a file locked for it, or a database
    /// in memory), so the core may cache reads. PostgreSQL and MariaDB: `false`.
    pub sole_writer: bool,
    /// The lock on a SQLite file, held as long as the core runs.
    pub lock: Option<std::fs::File>,
}

/// Read connections to a PostgreSQL or MariaDB server, beside the writer's pool.
const SERVER_READERS: usize = 8;

/// Read connections of a SQLite database: one per core, at least two (each is a thread; more of
/// them only add task switches).
fn sqlite_readers() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.max(2)
}

/// Connect to `url` (`sqlite://…`, `postgres://…`, `mysql://…`) and bring the schema up to date.
///
/// SQLite runs in WAL mode with foreign keys on. Writes go through one connection, so they are
/// serialised by the pool instead of failing with `database is locked`; reads go through a pool
/// of read-only connections and run in parallel.
pub(crate) async fn connect(url: &str) -> CoreResult<Connections> {
    let lock = if url.starts_with("sqlite:") {
        lock_sqlite(url)?
    } else {
        None
    };
    let writer = connect_writer(url).await?;
    let sole_writer = writer.get_database_backend() == DbBackend::Sqlite;
    let reader = if writer.get_database_backend() == DbBackend::Sqlite {
        // sea-orm's read pool: read transactions (snapshots); single reads go through the
        // core's own connections (see [`Reader`]).
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .max_connections(2)
            .min_connections(0)
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|o| {
                o.read_only(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("query_only", "ON")
            });
        let pool = Database::connect(opts)
            .await
            .map_err(|e| CoreError::Unavailable(format!("cannot open the read pool: {e}")))?;
        Reader::new(url, sqlite_readers(), pool)
    } else {
        Reader::new(url, SERVER_READERS, writer.clone())
    }
    .map_err(|e| CoreError::Unavailable(format!("cannot open the read pool: {e}")))?;
    Ok(Connections {
        writer,
        reader,
        sole_writer,
        lock,
    })
}

/// Lock the SQLite file `url` names for this process (`FILE.lock` beside it). A second
/// panelgate on the same file is refused: several instances share PostgreSQL or MariaDB, and
/// this process's read cache relies on being the file's only writer.
fn lock_sqlite(url: &str) -> CoreResult<Option<std::fs::File>> {
    use std::str::FromStr;
    let opts = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| CoreError::Unavailable(format!("bad SQLite URL: {e}")))?;
    let file = opts.get_filename();
    if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| CoreError::Unavailable(format!("cannot open {}: {e}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Err(CoreError::Unavailable(format!(
            "{} is in use by another panelgate process; several instances share one \
             PostgreSQL or MariaDB database, not a SQLite file",
            file.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(CoreError::Unavailable(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

async fn connect_writer(url: &str) -> CoreResult<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10));
    // A ping per checkout is one more round trip per query; a broken connection fails its
    // query instead, and the pool replaces it.
    opts.test_before_acquire(false);
    if url.starts_with("sqlite:") {
        opts.max_connections(1).min_connections(1);
    } else {
        opts.max_connections(16).min_connections(1);
    }
    let db = Database::connect(opts)
        .await
        .map_err(|e| CoreError::Unavailable(format!("cannot connect to the database: {e}")))?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        db.execute_unprepared("PRAGMA foreign_keys=ON").await?;
        db.execute_unprepared("PRAGMA busy_timeout=10000").await?;
    }
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// A human description of the database behind `url`, without its password.
pub fn describe_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = match rest.rsplit_once('@') {
                Some((_, host)) => host,
                None => rest,
            };
            format!("{scheme}://{rest}")
        }
        None => url.to_owned(),
    }
}

/// Create a fresh, uniquely named database next to the one `base_url` names and return its URL.
/// For tests that run against a shared PostgreSQL or MariaDB server: each test gets its own
/// database, so tests run in parallel without seeing each other (feature `test-support`).
#[cfg(feature = "test-support")]
pub async fn create_scratch_database(base_url: &str) -> CoreResult<String> {
    use rand::Rng;
    let name = format!("pgt_{:016x}", rand::thread_rng().gen::<u64>());
    let db = Database::connect(
        ConnectOptions::new(base_url.to_owned())
            .sqlx_logging(false)
            .to_owned(),
    )
    .await
    .map_err(|e| {
        CoreError::Unavailable(format!("cannot connect to {}: {e}", describe_url(base_url)))
    })?;
    // `name` is generated above from hex digits only; no request text reaches this statement.
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?
        }
        DbBackend::MySql => {
            db.execute_unprepared(&format!("CREATE DATABASE `{name}`"))
                .await?
        }
        DbBackend::Sqlite => {
            return Err(CoreError::Invalid {
                field: "database_url",
                reason: "scratch databases are for PostgreSQL and MariaDB".into(),
            })
        }
    };
    db.close().await?;
    let (head, _) = base_url
        .rsplit_once('/')
        .ok_or_else(|| CoreError::Invalid {
            field: "database_url",
            reason: "no database name in the URL".into(),
        })?;
    Ok(format!("{head}/{name}"))
}
