//! Authentication for every API: a frontend hands over the credentials it extracted and gets a
//! [`Principal`] or a [`Refusal`]. The rules (expiry, IP allow-lists, `api_allowed`,
//! deactivation) are the policy's; failed logins are counted per source address and login and,
//! past the configured limit, refused without hashing anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::entity::sessions;
use crate::error::CoreResult;
use crate::model::{CredentialKind, Owner};
use crate::policy::Actor;
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
        let Some(attempt) = limiter.begin(peer, public_key) else {
            return Ok(Err(Refusal::Throttled));
        };
        if secret.is_empty() {
            limiter.failed(peer, public_key, attempt);
            return Ok(Err(Refusal::BadCredentials));
        }
        let Some(key) = self
            .core
            .credentials()
            .verify(kind, public_key, secret)
            .await?
        else {
            limiter.failed(peer, public_key, attempt);
            return Ok(Err(Refusal::BadCredentials));
        };
        limiter.succeeded(peer, public_key, attempt);
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
        let Some(attempt) = limiter.begin(peer, login) else {
            return Ok(Err(Refusal::Throttled));
        };
        let account = self.account(login).await?;
        let verifier = self.core.verifier();
        let principal = match &*account {
            Account::Admin(row) => {
                let ok = verifier
                    .verify("admin-password", login, password, Some(&row.password_hash))
                    .await;
                (ok && row.loginname == login).then(|| {
                    admitted(
                        row.api_allowed,
                        row.deactivated,
                        true,
                        LoginMethod::Password,
                    )
                    .map(|()| Principal::admin(crate::admins::row_to_admin((**row).clone())))
                })
            }
            Account::Customer(row, owner) => {
                let ok = verifier
                    .verify(
                        "customer-password",
                        login,
                        password,
                        Some(&row.password_hash),
                    )
                    .await;
                (ok && row.loginname == login).then(|| {
                    let c = crate::customers::row_to_customer((**row).clone(), owner.clone());
                    admitted(
                        c.features.api_allowed,
                        c.deactivated,
                        false,
                        LoginMethod::Password,
                    )
                    .map(|()| Principal::customer(c))
                })
            }
            Account::Unknown => {
                // What a wrong password costs, so a missing login does not answer faster.
                verifier
                    .verify("customer-password", login, password, None)
                    .await;
                None
            }
        };
        match principal {
            Some(outcome) => {
                limiter.succeeded(peer, login, attempt);
                Ok(outcome)
            }
            None => {
                limiter.failed(peer, login, attempt);
                Ok(Err(Refusal::BadCredentials))
            }
        }
    }
}

/// The account a panel login names (logins are unique across admins and customers, compared
/// case-insensitively), as the read cache keeps it.
pub(crate) enum Account {
    Admin(Box<crate::entity::admins::Model>),
    /// A customer and its owner's login.
    Customer(Box<crate::entity::customers::Model>, String),
    Unknown,
}

impl Auth<'_> {
    /// The account `login` names: an admin's or reseller's, else a customer's.
    async fn account(&self, login: &str) -> CoreResult<std::sync::Arc<Account>> {
        use crate::entity::admins;
        use crate::model::CustomerRef;
        if login.contains('\0') {
            // No account has such a login (and PostgreSQL refuses a NUL in a query).
            return Ok(std::sync::Arc::new(Account::Unknown));
        }
        let key = login.to_lowercase();
        let (caches, generation) = self.core.cache().await;
        caches
            .logins
            .get_or_load(generation, key.clone(), || async {
                let db = self.core.reader();
                if let Some(admin) = admins::Entity::find()
                    .filter(admins::Column::LoginKey.eq(key.as_str()))
                    .one(db)
                    .await?
                {
                    return Ok(std::sync::Arc::new(Account::Admin(Box::new(admin))));
                }
                let found =
                    crate::customers::find_with_owner_login(db, &CustomerRef::Login(key.clone()))
                        .await?;
                Ok(std::sync::Arc::new(match found {
                    Some((row, owner)) => Account::Customer(Box::new(row), owner),
                    None => Account::Unknown,
                }))
            })
            .await
    }

    /// An admin's or reseller's password, the account named by its id (httpapi.com's legacy
    /// `auth-userid` + `auth-password`). Customers cannot log in this way.
    pub async fn admin_password(
        &self,
        admin_id: i64,
        password: &str,
        peer: Option<IpAddr>,
    ) -> CoreResult<Login> {
        let login = match crate::admins::find_row(self.core.reader(), admin_id).await {
            Ok(row) => row.loginname,
            // An unknown id costs what a wrong password costs, and counts as a failure.
            Err(crate::CoreError::NotFound { .. }) => format!("#{admin_id}"),
            Err(e) => return Err(e),
        };
        self.password(&login, password, peer).await
    }
}

/// How long a session lives after its last use (ISPsystem: one hour).
pub const SESSION_IDLE_SECS: i64 = 3600;
/// How stale a session's `last_used` may get before a use writes it again.
pub const SESSION_TOUCH_SECS: i64 = 30;
/// How long an unused one-time login key lives (ISPsystem `OneTimeExpire`: one hour).
pub const KEY_TTL_SECS: i64 = 3600;
/// The shortest one-time login key accepted (ISPsystem: at least 16 characters).
pub const KEY_MIN_CHARS: usize = 16;

const KIND_SESSION: &str = "session";
const KIND_KEY: &str = "key";

fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::archive::hex(&Sha256::digest(secret.as_bytes()))
}

/// The most sessions one account keeps open; the oldest go first.
pub const MAX_SESSIONS_PER_ACCOUNT: u64 = 64;

/// Delete every session and one-time key of an account (in the caller's transaction).
pub(crate) async fn end_sessions<C: sea_orm::ConnectionTrait>(
    db: &C,
    admin_id: Option<i64>,
    customer_id: Option<i64>,
) -> CoreResult<()> {
    sessions::Entity::delete_many()
        .filter(owned_by(admin_id, customer_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The rows of one account: a customer's, or an admin's own (not its customers').
fn owned_by(admin_id: Option<i64>, customer_id: Option<i64>) -> sea_orm::Condition {
    match customer_id {
        Some(c) => sea_orm::Condition::all().add(sessions::Column::CustomerId.eq(c)),
        None => sea_orm::Condition::all()
            .add(sessions::Column::AdminId.eq(admin_id.unwrap_or(0)))
            .add(sessions::Column::CustomerId.is_null()),
    }
}

impl Auth<'_> {
    /// Remove expired sessions and keys (indexed on `kind`, `last_used`, `created_at`).
    async fn prune(&self, now: i64) -> CoreResult<()> {
        sessions::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(
                        sessions::Column::Kind
                            .eq(KIND_SESSION)
                            .and(sessions::Column::LastUsed.lte(now - SESSION_IDLE_SECS)),
                    )
                    .add(
                        sessions::Column::Kind
                            .eq(KIND_KEY)
                            .and(sessions::Column::CreatedAt.lte(now - KEY_TTL_SECS)),
                    ),
            )
            .exec(&self.core.db())
            .await?;
        Ok(())
    }

    /// Open a session for an authenticated caller; returns its id (24 hex characters). The
    /// database keeps only a digest of it.
    pub async fn open_session(&self, principal: &Principal) -> CoreResult<String> {
        use rand::RngCore;
        let mut bytes = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = crate::archive::hex(&bytes);
        let actor = principal.actor();
        let now = self.core.now();
        // Expired sessions and keys go as new ones come, so the table stays as small as the
        // number of live logins; an account keeps at most MAX_SESSIONS_PER_ACCOUNT.
        self.prune(now).await?;
        let (admin_id, customer_id) = (actor.admin_id(), actor.customer_id());
        let mine = sessions::Entity::find()
            .filter(sessions::Column::Kind.eq(KIND_SESSION))
            .filter(owned_by(admin_id, customer_id));
        let open = mine.clone().count(&self.core.db()).await?;
        if open >= MAX_SESSIONS_PER_ACCOUNT {
            let oldest: Vec<String> = mine
                .order_by_asc(sessions::Column::LastUsed)
                .limit(open + 1 - MAX_SESSIONS_PER_ACCOUNT)
                .all(&self.core.db())
                .await?
                .into_iter()
                .map(|r| r.digest)
                .collect();
            sessions::Entity::delete_many()
                .filter(sessions::Column::Digest.is_in(oldest))
                .exec(&self.core.db())
                .await?;
        }
        sessions::ActiveModel {
            digest: Set(digest(&id)),
            kind: Set(KIND_SESSION.into()),
            admin_id: Set(actor.admin_id()),
            customer_id: Set(actor.customer_id()),
            created_at: Set(now),
            last_used: Set(now),
        }
        .insert(&self.core.db())
        .await?;
        Ok(id)
    }

    /// The caller of a live session, which is then kept alive for another
    /// [`SESSION_IDLE_SECS`]. An unknown or expired session (or one whose account may no longer
    /// log in) is refused.
    pub async fn session(&self, id: &str) -> CoreResult<Login> {
        let now = self.core.now();
        let Some(row) = sessions::Entity::find_by_id(digest(id))
            .filter(sessions::Column::Kind.eq(KIND_SESSION))
            .one(&self.core.db())
            .await?
        else {
            return Ok(Err(Refusal::BadCredentials));
        };
        if now - row.last_used >= SESSION_IDLE_SECS {
            sessions::Entity::delete_by_id(row.digest)
                .exec(&self.core.db())
                .await?;
            return Ok(Err(Refusal::BadCredentials));
        }
        let login = self.principal_of(row.admin_id, row.customer_id).await?;
        // The idle clock is moved at most once per SESSION_TOUCH_SECS: a busy session costs a
        // read per request, not a write (it may end up to that much before the full hour).
        if login.is_ok() && now - row.last_used >= SESSION_TOUCH_SECS {
            sessions::Entity::update_many()
                .col_expr(sessions::Column::LastUsed, Expr::value(now))
                .filter(sessions::Column::Digest.eq(row.digest))
                .exec(&self.core.db())
                .await?;
        }
        Ok(login)
    }

    /// End a session of an account `actor` manages (its own, its customers'). Returns whether
    /// it existed; another account's session is refused like one that does not exist.
    pub async fn close_session(&self, actor: &Actor, id: &str) -> CoreResult<bool> {
        let Some(row) = sessions::Entity::find_by_id(digest(id))
            .filter(sessions::Column::Kind.eq(KIND_SESSION))
            .one(&self.core.db())
            .await?
        else {
            return Ok(false);
        };
        let allowed = match (row.admin_id, row.customer_id) {
            (_, Some(c)) => self
                .core
                .customers()
                .get(actor, &crate::model::CustomerRef::Id(c))
                .await
                .is_ok(),
            (Some(a), None) => crate::policy::may_update_admin(actor, a).is_ok(),
            (None, None) => false,
        };
        if !allowed {
            return Ok(false);
        }
        let res = sessions::Entity::delete_by_id(row.digest)
            .exec(&self.core.db())
            .await?;
        Ok(res.rows_affected > 0)
    }

    /// Make a one-time login `key` for the account `login` (ISPsystem `session.newkey`): the
    /// server, the server owner, or a reseller for its own customers.
    pub async fn new_login_key(
        &self,
        actor: &Actor,
        login: &str,
        key: &str,
        peer: Option<IpAddr>,
    ) -> CoreResult<()> {
        if key.chars().count() < KEY_MIN_CHARS {
            return Err(crate::CoreError::Invalid {
                field: "key",
                reason: format!("a key has at least {KEY_MIN_CHARS} characters"),
            });
        }
        crate::model::check_text("key", key, crate::model::MAX_FIELD_CHARS)?;
        self.core
            .authorize(actor, crate::Operation::LoginKeysIssue)?;
        let (admin_id, customer_id) = if self.core.admins().login_exists(login).await? {
            let admin = self
                .core
                .admins()
                .get(actor, &crate::admins::AdminRef::Login(login.to_owned()))
                .await?;
            crate::policy::may_update_admin(actor, admin.id)?;
            (Some(admin.id), None)
        } else {
            let customer = self
                .core
                .customers()
                .get(actor, &crate::model::CustomerRef::Login(login.to_owned()))
                .await?;
            (None, Some(customer.id))
        };
        let now = self.core.now();
        self.prune(now).await?;
        // A value already in use (another account's key, any session) is refused like an
        // account the caller may not manage, and counts as a failed login of the caller: the
        // answer must not be a free oracle for guessing live keys.
        let existing = sessions::Entity::find_by_id(digest(key))
            .one(&self.core.db())
            .await?;
        if let Some(row) = existing {
            if row.kind != KIND_KEY || row.admin_id != admin_id || row.customer_id != customer_id {
                let limiter = &self.core.inner.failed_logins;
                let who = actor.label();
                if let Some(attempt) = limiter.begin(peer, &who) {
                    limiter.failed(peer, &who, attempt);
                }
                return Err(crate::CoreError::Forbidden(crate::Denied::RoleNotAllowed));
            }
        }
        // One unused key per account: a new key replaces the previous one.
        sessions::Entity::delete_many()
            .filter(sessions::Column::Kind.eq(KIND_KEY))
            .filter(owned_by(admin_id, customer_id))
            .exec(&self.core.db())
            .await?;
        sessions::ActiveModel {
            digest: Set(digest(key)),
            kind: Set(KIND_KEY.into()),
            admin_id: Set(admin_id),
            customer_id: Set(customer_id),
            created_at: Set(now),
            last_used: Set(now),
        }
        .insert(&self.core.db())
        .await?;
        Ok(())
    }

    /// Log in with a one-time key (ISPsystem `func=auth&key=…`): the key is used up whatever
    /// the outcome; `login`, when given, must name the key's account.
    pub async fn key_login(
        &self,
        login: Option<&str>,
        key: &str,
        peer: Option<IpAddr>,
    ) -> CoreResult<Login> {
        let limiter = &self.core.inner.failed_logins;
        let Some(attempt) = limiter.begin(peer, login.unwrap_or("")) else {
            return Ok(Err(Refusal::Throttled));
        };
        let row = sessions::Entity::find_by_id(digest(key))
            .filter(sessions::Column::Kind.eq(KIND_KEY))
            .one(&self.core.db())
            .await?;
        let Some(row) = row else {
            limiter.failed(peer, login.unwrap_or(""), attempt);
            return Ok(Err(Refusal::BadCredentials));
        };
        // Used up (deleted) before anything else, so that it cannot be used twice.
        let deleted = sessions::Entity::delete_by_id(row.digest.clone())
            .exec(&self.core.db())
            .await?;
        let fresh = self.core.now() - row.created_at < KEY_TTL_SECS;
        let login_ok = match login {
            None => true,
            Some(l) => {
                let owner = match (row.admin_id, row.customer_id) {
                    (_, Some(c)) => crate::entity::customers::Entity::find_by_id(c)
                        .one(&self.core.db())
                        .await?
                        .map(|c| c.login_key),
                    (Some(a), None) => crate::entity::admins::Entity::find_by_id(a)
                        .one(&self.core.db())
                        .await?
                        .map(|a| a.login_key),
                    (None, None) => None,
                };
                owner.is_some_and(|o| o == l.to_lowercase())
            }
        };
        if deleted.rows_affected != 1 || !fresh || !login_ok {
            limiter.failed(peer, login.unwrap_or(""), attempt);
            return Ok(Err(Refusal::BadCredentials));
        }
        let outcome = self.principal_of(row.admin_id, row.customer_id).await?;
        limiter.succeeded(peer, login.unwrap_or(""), attempt);
        Ok(outcome)
    }

    /// The principal of an account by id, if it may log in.
    async fn principal_of(
        &self,
        admin_id: Option<i64>,
        customer_id: Option<i64>,
    ) -> CoreResult<Login> {
        let db = self.core.reader();
        if let Some(c) = customer_id {
            let Some(row) = crate::entity::customers::Entity::find_by_id(c)
                .one(db)
                .await?
            else {
                return Ok(Err(Refusal::BadCredentials));
            };
            let owner = crate::entity::admins::Entity::find_by_id(row.admin_id)
                .one(db)
                .await?
                .map(|a| a.loginname)
                .unwrap_or_default();
            let c = crate::customers::row_to_customer(row, owner);
            return Ok(admitted(
                c.features.api_allowed,
                c.deactivated,
                false,
                LoginMethod::Password,
            )
            .map(|()| Principal::customer(c)));
        }
        let Some(a) = admin_id else {
            return Ok(Err(Refusal::BadCredentials));
        };
        let Some(row) = crate::entity::admins::Entity::find_by_id(a).one(db).await? else {
            return Ok(Err(Refusal::BadCredentials));
        };
        let a = crate::admins::row_to_admin(row);
        Ok(
            admitted(a.api_allowed, a.deactivated, true, LoginMethod::Password)
                .map(|()| Principal::admin(a)),
        )
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

/// The most distinct (address, login) pairs and addresses remembered; past it, entries older
/// than a minute are dropped, and if that is not enough the table starts afresh (memory stays
/// bounded; an attacker who fills it has already made that many failed attempts).
const MAX_TRACKED: usize = 65_536;
/// Logins longer than this are counted under their first bytes.
const LOGIN_KEY_LEN: usize = 128;

/// Failed logins in the current minute, per (address, login) and per address. IPv6 addresses
/// count per /64 (one host usually has the whole prefix).
pub(crate) struct FailedLogins {
    per_login: u32,
    per_address: u32,
    clock: std::sync::Arc<dyn crate::Clock>,
    state: Mutex<Windows>,
}

impl std::fmt::Debug for FailedLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedLogins")
            .field("per_login", &self.per_login)
            .field("per_address", &self.per_address)
            .finish_non_exhaustive()
    }
}

/// (window start, count) per key.
type Window = (i64, u32);

#[derive(Debug, Default)]
struct Windows {
    by_login: HashMap<(Option<IpAddr>, String), Window>,
    by_address: HashMap<Option<IpAddr>, Window>,
}

fn login_key(login: &str) -> String {
    let mut end = login.len().min(LOGIN_KEY_LEN);
    while !login.is_char_boundary(end) {
        end -= 1;
    }
    login[..end].to_lowercase()
}

/// The address an attempt is counted under: IPv4 as it is, IPv6 by its /64 prefix.
fn source(peer: Option<IpAddr>) -> Option<IpAddr> {
    peer.map(|ip| match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    })
}

fn trim<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Window>, now: i64) {
    if map.len() >= MAX_TRACKED {
        map.retain(|_, (start, _)| now - *start < 60);
        if map.len() >= MAX_TRACKED {
            map.clear();
        }
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

    /// Start an attempt: `None` when the address or the (address, login) pair is at its limit.
    /// Where a failure was already counted in the window, the attempt is counted as failed from
    /// now on until it succeeds ([`Attempt::Reserved`]): a burst of concurrent attempts after a
    /// failure cannot all slip under the limit. A client that has not failed is never slowed
    /// by its own concurrency ([`Attempt::Free`]). A window starts with its first failure and
    /// lasts a minute.
    fn begin(&self, peer: Option<IpAddr>, login: &str) -> Option<Attempt> {
        let now = self.clock.now();
        let peer = source(peer);
        let mut state = self.state.lock().expect("failed-login lock");
        trim(&mut state.by_login, now);
        trim(&mut state.by_address, now);
        let current = |w: Option<&Window>| match w {
            Some((start, n)) if now - *start < 60 => *n,
            _ => 0,
        };
        let key = (peer, login_key(login));
        let pair = current(state.by_login.get(&key));
        let address = current(state.by_address.get(&peer));
        if pair >= self.per_login || address >= self.per_address {
            return None;
        }
        if pair == 0 && address == 0 {
            return Some(Attempt::Free);
        }
        Self::count(&mut state, key, peer, now);
        Some(Attempt::Reserved)
    }

    fn count(state: &mut Windows, key: (Option<IpAddr>, String), peer: Option<IpAddr>, now: i64) {
        let bump = |w: &mut Window| {
            if now - w.0 >= 60 {
                *w = (now, 0);
            }
            w.1 = w.1.saturating_add(1);
        };
        bump(state.by_login.entry(key).or_insert((now, 0)));
        bump(state.by_address.entry(peer).or_insert((now, 0)));
    }

    /// Forget every window (a reset of the store).
    pub(crate) fn clear(&self) {
        let mut state = self.state.lock().expect("failed-login lock");
        state.by_login.clear();
        state.by_address.clear();
    }

    /// The attempt failed: count it (a reserved one already is).
    fn failed(&self, peer: Option<IpAddr>, login: &str, attempt: Attempt) {
        if attempt == Attempt::Free {
            let now = self.clock.now();
            let peer = source(peer);
            let mut state = self.state.lock().expect("failed-login lock");
            Self::count(&mut state, (peer, login_key(login)), peer, now);
        }
    }

    /// The attempt succeeded: a reserved one is taken back.
    fn succeeded(&self, peer: Option<IpAddr>, login: &str, attempt: Attempt) {
        if attempt == Attempt::Free {
            return;
        }
        let peer = source(peer);
        let mut state = self.state.lock().expect("failed-login lock");
        if let Some(w) = state.by_login.get_mut(&(peer, login_key(login))) {
            w.1 = w.1.saturating_sub(1);
        }
        if let Some(w) = state.by_address.get_mut(&peer) {
            w.1 = w.1.saturating_sub(1);
        }
    }
}

/// How an attempt was started (see [`FailedLogins::begin`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// Not counted yet: counted if it fails.
    Free,
    /// Counted already: taken back if it succeeds.
    Reserved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_after_a_failure_are_counted_when_they_begin() {
        let clock = std::sync::Arc::new(crate::ManualClock::new(1_000));
        let limiter = FailedLogins::new(3, 4, clock.clone());
        let a: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        // A clean client's concurrent attempts are free.
        let free: Vec<_> = (0..10).map(|_| limiter.begin(a, "admin")).collect();
        assert!(free.iter().all(|x| *x == Some(Attempt::Free)));
        for x in free {
            limiter.succeeded(a, "admin", x.unwrap());
        }
        // One failure; from then on attempts are reserved when they begin.
        let first = limiter.begin(a, "admin").unwrap();
        limiter.failed(a, "Admin", first);
        assert_eq!(limiter.begin(a, "admin"), Some(Attempt::Reserved));
        assert_eq!(limiter.begin(a, "admin"), Some(Attempt::Reserved));
        // Three counted (one failure, two in flight): the pair is at its limit.
        assert_eq!(limiter.begin(a, "admin"), None);
        // A success gives its attempt back.
        limiter.succeeded(a, "admin", Attempt::Reserved);
        assert_eq!(limiter.begin(a, "admin"), Some(Attempt::Reserved));
        // The address limit (4) covers every login.
        assert_eq!(limiter.begin(a, "other"), Some(Attempt::Reserved));
        assert_eq!(limiter.begin(a, "third"), None);
        // IPv6 hosts count per /64.
        let v6a: Option<IpAddr> = Some("2001:db8:1:2::1".parse().unwrap());
        let v6b: Option<IpAddr> = Some("2001:db8:1:2:ffff::9".parse().unwrap());
        for login in ["x", "y", "z", "w"] {
            let at = limiter.begin(v6a, login).unwrap();
            limiter.failed(v6a, login, at);
        }
        assert_eq!(limiter.begin(v6b, "v"), None, "same /64");
        // A minute later everything is allowed again.
        clock.advance(60);
        assert!(limiter.begin(a, "admin").is_some() && limiter.begin(v6b, "w").is_some());
    }
}
