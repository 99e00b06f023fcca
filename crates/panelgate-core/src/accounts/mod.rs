//! Accounts: admins and resellers, customers, credentials (API keys and secret keys), passwords,
//! subscriptions, and the owner's quotas. Authentication ([`auth`]) turns credentials into a
//! [`crate::Principal`]; every access question is asked of [`crate::policy`].

pub mod admins;
pub mod auth;
pub(crate) mod create_queue;
pub mod credentials;
pub(crate) mod customer_rows;
pub mod customers;
pub(crate) mod password;
pub(crate) mod quotas;
pub mod subscriptions;
