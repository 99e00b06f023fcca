//! Authentication for every API: a frontend hands over the credentials it extracted and gets a
//! [`Principal`] or a [`Refusal`]. The rules (expiry, IP allow-lists, `api_allowed`,
//! deactivation) are the policy's; failed logins are counted per source address and login and,
//! past the configured limit, refused without hashing anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::error::CoreResult;
use crate::model::{CredentialKind, Owner};
use crate::policy::{self, LoginMethod, Principal};
use crate::Core;

/// Why a login was refused. Each frontend answers these in its own auth error shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown account or key, wrong secret, expired key, key not allowed from this address, or
    /// a key whose owner is gone. Panels do not tell these apart.
    BadCredentials,
    /// The account is deactivated (`admin`: an admin or reseller account).
    Disabled { admin: bool },
    /// The account may not use the API (`api_allowed = false`).
    ApiNotAllowed { admin: bool },
    /// Too many failed logins from this address (for this login) in the last minute.
    Throttled,
}

/// The outcome of a login attempt.
pub type Login = Result<Principal, Refusal>;

pub struct Auth<'a> {
    pub(crate) core: &'a Core,
}

impl Auth<'_> {
    /// An API key: `public_key` + `secret` (Froxlor), or a secret alone (`public_key` empty:
    /// Plesk `KEY`).
    pub async fn key(
        &self,
        kind: CredentialKind,
        public_key: &str,
        secret: &str,
        peer: Option<IpAddr>,
    ) -> CoreResult<Login> {
        let limiter = &self.core.inner.failed_logins;
        if !limiter.may_try(peer, public_key) {
            return Ok(Err(Refusal::Throttled));
        }
        if secret.is_empty() {
            limiter.failed(peer, public_key);
            return Ok(Err(Refusal::BadCredentials));
        }
        let Some(key) = self
            .core
            .credentials()
            .verify(kind, public_key, secret)
            .await?
        else {
            limiter.failed(peer, public_key);
            return Ok(Err(Refusal::BadCredentials));
        };
        if !policy::key_usable(key.valid_until, &key.allowed_from, self.core.now(), peer) {
            return Ok(Err(Refusal::BadCredentials));
        }
        Ok(match key.owner {
            Owner::Admin(admin) => {
                admitted(admin.api_allowed, admin.deactivated, true, LoginMethod::Key)
                    .map(|()| Principal::admin(*admin))
            }
            Owner::Customer(c) => admitted(
                c.features.api_allowed,
                c.deactivated,
                false,
                LoginMethod::Key,
            )
            .map(|()| Principal::customer(*c)),
            Owner::Missing => Err(Refusal::BadCredentials),
        })
    }

    /// A panel login and password (an admin's or reseller's, else a customer's). Logins are
    /// unique across both, so one verification runs per attempt.
    pub async fn password(
        &self,
        login: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> CoreResult<Login> {
        let limiter = &self.core.inner.failed_logins;
        if !limiter.may_try(peer, login) {
            return Ok(Err(Refusal::Throttled));
        }
        let principal = if self.core.admins().login_exists(login).await? {
            self.core
                .admins()
                .verify_password(login, password)
                .await?
                .map(|a| {
                    admitted(a.api_allowed, a.deactivated, true, LoginMethod::Password)
                        .map(|()| Principal::admin(a))
                })
        } else {
            self.core
                .customers()
                .verify_password(login, password)
                .await?
                .map(|c| {
                    admitted(
                        c.features.api_allowed,
                        c.deactivated,
                        false,
                        LoginMethod::Password,
                    )
                    .map(|()| Principal::customer(c))
                })
        };
        Ok(principal.unwrap_or_else(|| {
            limiter.failed(peer, login);
            Err(Refusal::BadCredentials)
        }))
    }
}

fn admitted(
    api_allowed: bool,
    deactivated: bool,
    admin: bool,
    method: LoginMethod,
) -> Result<(), Refusal> {
    if policy::account_may_log_in(api_allowed, deactivated, method) {
        Ok(())
    } else if deactivated {
        Err(Refusal::Disabled { admin })
    } else {
        Err(Refusal::ApiNotAllowed { admin })
    }
}

/// The most distinct (address, login) pairs remembered; past it, only per-address counts hold.
const MAX_TRACKED: usize = 65_536;
/// Logins longer than this are counted under their first bytes.
const LOGIN_KEY_LEN: usize = 128;

/// Failed logins in the current minute, per (address, login) and per address.
pub(crate) struct FailedLogins {
    per_login: u32,
    per_address: u32,
    clock: std::sync::Arc<dyn crate::Clock>,
    state: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    by_login: HashMap<(Option<IpAddr>, String), (i64, u32)>,
    by_address: HashMap<Option<IpAddr>, (i64, u32)>,
}

fn login_key(login: &str) -> String {
    let mut end = login.len().min(LOGIN_KEY_LEN);
    while !login.is_char_boundary(end) {
        end -= 1;
    }
    login[..end].to_lowercase()
}

impl std::fmt::Debug for FailedLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedLogins")
            .field("per_login", &self.per_login)
            .field("per_address", &self.per_address)
            .finish_non_exhaustive()
    }
}

impl FailedLogins {
    pub(crate) fn new(
        per_login: u32,
        per_address: u32,
        clock: std::sync::Arc<dyn crate::Clock>,
    ) -> Self {
        FailedLogins {
            per_login,
            per_address,
            clock,
            state: Mutex::new(Windows::default()),
        }
    }

    /// May another attempt be made (is neither count at its limit)? A window starts with its
    /// first failure and lasts a minute.
    fn may_try(&self, peer: Option<IpAddr>, login: &str) -> bool {
        let now = self.clock.now();
        let state = self.state.lock().expect("failed-login lock");
        let count = |w: Option<&(i64, u32)>| match w {
            Some((start, n)) if now - *start < 60 => *n,
            _ => 0,
        };
        count(state.by_address.get(&peer)) < self.per_address
            && count(state.by_login.get(&(peer, login_key(login)))) < self.per_login
    }

    fn failed(&self, peer: Option<IpAddr>, login: &str) {
        let now = self.clock.now();
        let mut state = self.state.lock().expect("failed-login lock");
        if state.by_login.len() >= MAX_TRACKED {
            state.by_login.retain(|_, (start, _)| now - *start < 60);
            if state.by_login.len() >= MAX_TRACKED {
                state.by_login.clear();
            }
        }
        if state.by_address.len() >= MAX_TRACKED {
            state.by_address.retain(|_, (start, _)| now - *start < 60);
        }
        let bump = |w: &mut (i64, u32)| {
            if now - w.0 >= 60 {
                *w = (now, 0);
            }
            w.1 = w.1.saturating_add(1);
        };
        bump(
            state
                .by_login
                .entry((peer, login_key(login)))
                .or_insert((now, 0)),
        );
        bump(state.by_address.entry(peer).or_insert((now, 0)));
    }
}
