//! Persistence: the connection (SQLite, PostgreSQL, MariaDB), migrations, the sea-orm entities,
//! the id sequences and the settings table. No type of this module crosses the core's public
//! API except the settings facade and the connection helpers the server prints.

pub(crate) mod cache;
pub mod connection;
pub(crate) mod entity;
pub(crate) mod migrations;
pub(crate) mod sequences;
pub mod settings;
