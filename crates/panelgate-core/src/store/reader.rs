//! The read pool: connections of the core's own for reads outside write transactions.
//!
//! sqlx's pool tests a connection each time it comes back (a ping: a round trip to SQLite's
//! worker thread, or to the PostgreSQL or MariaDB server) before another read may have it; for a
//! read of one statement that is a second round trip, and on SQLite two more thread switches.
//! This pool hands a connection out and takes it back without one. A connection whose read was
//! abandoned halfway (its caller went away), or that failed other than with a database error, is
//! closed instead of reused; a new one is opened when needed.
//!
//! Statements run as sea-orm would run them (the same SQL and bound values); rows come back as
//! sea-orm's `QueryResult`, so every query builder of the core reads through [`Reader`] as
//! through a `DatabaseConnection`. What is more than one statement (a read transaction) goes
//! to sea-orm's pool on the same database.

use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::{
    self, mysql::MySqlConnectOptions, postgres::PgConnectOptions, sqlite::SqliteConnectOptions,
    ConnectOptions as _, Connection as _,
};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement, TransactionTrait,
};
use sea_query_binder::SqlxValues;
use tokio::sync::Semaphore;

/// How long a read waits for a free connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

enum Options {
    Sqlite(SqliteConnectOptions),
    Postgres(PgConnectOptions),
    MySql(MySqlConnectOptions),
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

/// The read connections of one database.
pub(crate) struct Reader {
    options: Options,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    size: usize,
    /// sea-orm's connection to the same database: read transactions, and statements that are
    /// not queries.
    pool: DatabaseConnection,
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e))
}

impl Reader {
    /// Up to `size` read connections to `url`; `pool` is sea-orm's connection to the same
    /// database. SQLite connections are read-only.
    pub(crate) fn new(url: &str, size: usize, pool: DatabaseConnection) -> Result<Reader, DbErr> {
        let bad = |e: sqlx::Error| DbErr::Conn(RuntimeErr::SqlxError(e));
        let options = match pool.get_database_backend() {
            DbBackend::Sqlite => Options::Sqlite(
                SqliteConnectOptions::from_str(url)
                    .map_err(bad)?
                    .read_only(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("query_only", "ON"),
            ),
            DbBackend::Postgres => Options::Postgres(PgConnectOptions::from_str(url).map_err(bad)?),
            DbBackend::MySql => Options::MySql(MySqlConnectOptions::from_str(url).map_err(bad)?),
        };
        Ok(Reader {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
            size,
            pool,
        })
    }

    /// Open connections and idle ones (for the metrics).
    pub(crate) fn usage(&self) -> (u32, usize) {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let busy = self.size - self.permits.available_permits();
        ((busy + idle) as u32, idle)
    }

    /// Close the idle connections and sea-orm's pool.
    pub(crate) async fn close(&self) -> Result<(), DbErr> {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for conn in idle {
            let _ = match conn {
                Conn::Sqlite(c) => c.close().await,
                Conn::Postgres(c) => c.close().await,
                Conn::MySql(c) => c.close().await,
            };
        }
        self.pool.clone().close().await
    }

    /// A read transaction (on sea-orm's pool).
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin().await
    }

    pub(crate) async fn begin_with_config(
        &self,
        isolation: Option<IsolationLevel>,
        access: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin_with_config(isolation, access).await
    }

    async fn open(&self) -> Result<Conn, DbErr> {
        let conn_err = |e| DbErr::Conn(RuntimeErr::SqlxError(e));
        Ok(match &self.options {
            Options::Sqlite(o) => Conn::Sqlite(o.connect().await.map_err(conn_err)?),
            Options::Postgres(o) => Conn::Postgres(o.connect().await.map_err(conn_err)?),
            Options::MySql(o) => Conn::MySql(o.connect().await.map_err(conn_err)?),
        })
    }

    /// Run `stmt` on a connection of the pool; `all`: every row, else the first.
    async fn fetch(&self, stmt: Statement, all: bool) -> Result<Vec<QueryResult>, DbErr> {
        let _permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))?
            .map_err(|_| DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open().await?,
        };
        // Back to the pool only when the read ended (not when its future was dropped halfway).
        let mut out = Checkout {
            reader: self,
            conn: Some(conn),
            reusable: false,
        };
        let values = SqlxValues(stmt.values.unwrap_or(sea_orm::Values(Vec::new())));
        // One arm per backend: the rows of each are their own type.
        macro_rules! run {
            ($c:expr) => {
                if all {
                    sqlx::query_with(&stmt.sql, values)
                        .fetch_all($c)
                        .await
                        .map(|rows| rows.into_iter().map(Into::into).collect())
                } else {
                    sqlx::query_with(&stmt.sql, values)
                        .fetch_optional($c)
                        .await
                        .map(|row| row.into_iter().map(Into::into).collect())
                }
            };
        }
        let rows: Result<Vec<QueryResult>, sqlx::Error> =
            match out.conn.as_mut().expect("checked out") {
                Conn::Sqlite(c) => run!(c),
                Conn::Postgres(c) => run!(c),
                Conn::MySql(c) => run!(c),
            };
        // A database error (a bad value, say) leaves the connection as good as it was.
        out.reusable = matches!(&rows, Ok(_) | Err(sqlx::Error::Database(_)));
        rows.map_err(query_err)
    }
}

/// A connection out of the pool; it goes back when dropped, if it may be reused.
struct Checkout<'a> {
    reader: &'a Reader,
    conn: Option<Conn>,
    reusable: bool,
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let (true, Some(conn)) = (self.reusable, self.conn.take()) {
            self.reader
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }
    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.pool.execute(stmt).await
    }
    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.pool.execute_unprepared(sql).await
    }
    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.fetch(stmt, false).await?.into_iter().next())
    }
    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.fetch(stmt, true).await
    }
    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count() -> Statement {
        Statement::from_string(DbBackend::Sqlite, "SELECT count(*) AS n FROM sequences")
    }

    #[tokio::test]
    async fn an_abandoned_read_closes_its_connection_and_the_pool_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let conns = crate::db::connect(&url).await.unwrap();
        let reader = &conns.reader;
        let mut abandoned = 0;
        for i in 0..200 {
            if i % 2 == 0 {
                // Polled once, then dropped: halfway through opening or querying.
                let mut read = std::pin::pin!(reader.query_one(count()));
                abandoned += usize::from(futures::poll!(read.as_mut()).is_pending());
            } else {
                let row = reader.query_one(count()).await.unwrap().unwrap();
                assert!(row.try_get::<i64>("", "n").unwrap() >= 0);
            }
        }
        assert!(abandoned > 0, "no read was cut off");
        // Nothing is left checked out, and no more connections are open than the pool's size.
        let (open, idle) = reader.usage();
        assert_eq!(open as usize, idle);
        assert!(idle <= reader.size, "{idle} idle connections");
        assert_eq!(reader.permits.available_permits(), reader.size);
        // A failed statement (a database error) keeps its connection.
        let bad = Statement::from_string(DbBackend::Sqlite, "SELECT nothing FROM nowhere");
        assert!(reader.query_all(bad).await.is_err());
        assert!(reader.query_one(count()).await.unwrap().is_some());
    }
}
