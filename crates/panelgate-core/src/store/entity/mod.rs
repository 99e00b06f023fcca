//! sea-orm entities: the database rows. Only this crate sees them; services convert them
//! into the domain types of [`crate::model`].

pub mod admins;
pub mod backup_archives;
pub mod backup_jobs;
pub mod backup_tasks;
pub mod cache_version;
pub mod credentials;
pub mod customers;
pub mod funds;
pub mod invoices;
pub mod journal;
pub mod order_actions;
pub mod orders;
pub mod plans;
pub mod sequences;
pub mod sessions;
pub mod settings;
pub mod storage_settings;
pub mod subscriptions;
