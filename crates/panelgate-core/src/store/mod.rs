//! Persistence: the connection (SQLite, PostgreSQL, MariaDB), migrations, the sea-orm entities,
//! the id sequences and the settings table. No type of this module crosses the core's public
//! API except the settings facade and the connection helpers the server prints.

pub(crate) mod batches;
pub(crate) mod cache;
pub mod connection;
pub(crate) mod entity;
pub(crate) mod migrations;
pub(crate) mod reader;
pub(crate) mod sequences;
pub mod settings;
pub(crate) mod version_reads;

/// `query` locked (`SELECT … FOR UPDATE`) until the transaction on `db` ends, where the database
/// locks rows: PostgreSQL and MariaDB. SQLite has one writer, whose transaction holds every row
/// already.
pub(crate) fn for_update<E: sea_orm::EntityTrait>(
    query: sea_orm::Select<E>,
    db: &impl sea_orm::ConnectionTrait,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => query,
        _ => query.lock_exclusive(),
    }
}
