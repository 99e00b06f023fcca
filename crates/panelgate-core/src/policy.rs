//! The one access policy: the opaque caller and every access decision, for every API.
//!
//! A frontend never builds an [`Actor`] or a [`Principal`]: it hands its credentials to
//! [`crate::auth`] and gets a `Principal` back (or nothing). The system role exists only through
//! [`SystemCap`], which [`crate::Core::open`] returns to whoever opened the core (the server
//! crate and tests), never to a frontend. Every question of the form "may this caller …" is
//! answered by a function of this module, so the four panel APIs cannot disagree.
//!
//! Rules where the panels differ, and what panelgate does:
//! * `api_allowed = false` refuses every API login of that account, by key or by password, on
//!   every protocol (Froxlor checks it for keys; Plesk has no such switch).
//! * A deactivated account cannot log in anywhere; its keys keep their own expiry, which
//!   reactivation does not change.
//! * A key's expiry (`valid_until`, -1 = never) and IP allow-list (`allowed_from`) hold for every
//!   protocol's keys (Froxlor API keys and Plesk secret keys alike).

use std::net::IpAddr;

use crate::error::{CoreError, CoreResult, Denied};
use crate::model::{Admin, Customer, CustomerPatch};

/// Who is asking: built only by the core (authentication or the system capability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor(Role);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The server itself (seeding, control API).
    System,
    Admin {
        id: i64,
        see_all: bool,
        change_serversettings: bool,
    },
    Customer {
        id: i64,
        admin_id: i64,
    },
}

/// What kind of caller an [`Actor`] is, for frontends that render differently per role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    System,
    /// An admin with `customers_see_all` (the server owner).
    Admin,
    /// An admin without `customers_see_all`.
    Reseller,
    Customer,
}

impl Actor {
    pub(crate) fn for_admin(admin: &Admin) -> Actor {
        Actor(Role::Admin {
            id: admin.id,
            see_all: admin.customers_see_all,
            change_serversettings: admin.change_serversettings,
        })
    }

    pub(crate) fn for_customer(customer: &Customer) -> Actor {
        Actor(Role::Customer {
            id: customer.id,
            admin_id: customer.admin_id,
        })
    }

    pub fn kind(&self) -> ActorKind {
        match self.0 {
            Role::System => ActorKind::System,
            Role::Admin { see_all: true, .. } => ActorKind::Admin,
            Role::Admin { .. } => ActorKind::Reseller,
            Role::Customer { .. } => ActorKind::Customer,
        }
    }

    /// The customer's id when the caller is a customer.
    pub fn customer_id(&self) -> Option<i64> {
        match self.0 {
            Role::Customer { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The admin's id when the caller is an admin or reseller.
    pub fn admin_id(&self) -> Option<i64> {
        match self.0 {
            Role::Admin { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn is_customer(&self) -> bool {
        matches!(self.0, Role::Customer { .. })
    }

    /// For log lines: `system`, `admin:1`, `reseller:2`, `customer:7`.
    pub fn label(&self) -> String {
        match self.0 {
            Role::System => "system".into(),
            Role::Admin {
                id, see_all: true, ..
            } => format!("admin:{id}"),
            Role::Admin { id, .. } => format!("reseller:{id}"),
            Role::Customer { id, .. } => format!("customer:{id}"),
        }
    }
}

/// The capability to act as the server itself. Only [`crate::Core::open`] makes one.
#[derive(Debug)]
pub struct SystemCap(());

impl SystemCap {
    pub(crate) fn new() -> SystemCap {
        SystemCap(())
    }

    pub fn actor(&self) -> Actor {
        Actor(Role::System)
    }

    /// Act as an admin or reseller (control API, tests).
    pub fn as_admin(&self, admin: &Admin) -> Principal {
        Principal::admin(admin.clone())
    }

    /// Act as a customer (control API, tests).
    pub fn as_customer(&self, customer: &Customer) -> Principal {
        Principal::customer(customer.clone())
    }
}

/// The account behind a [`Principal`], for rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Admin(Box<Admin>),
    Customer(Box<Customer>),
}

/// An authenticated caller of a panel API: the account and its [`Actor`]. Only the core makes
/// one (see [`crate::auth`]).
#[derive(Clone, Debug)]
pub struct Principal {
    actor: Actor,
    who: Who,
}

impl Principal {
    pub(crate) fn admin(admin: Admin) -> Principal {
        Principal {
            actor: Actor::for_admin(&admin),
            who: Who::Admin(Box::new(admin)),
        }
    }

    pub(crate) fn customer(customer: Customer) -> Principal {
        Principal {
            actor: Actor::for_customer(&customer),
            who: Who::Customer(Box::new(customer)),
        }
    }

    pub fn actor(&self) -> Actor {
        self.actor
    }

    pub fn who(&self) -> &Who {
        &self.who
    }

    pub fn as_admin(&self) -> Option<&Admin> {
        match &self.who {
            Who::Admin(a) => Some(a),
            Who::Customer(_) => None,
        }
    }

    pub fn as_customer(&self) -> Option<&Customer> {
        match &self.who {
            Who::Customer(c) => Some(c),
            Who::Admin(_) => None,
        }
    }
}

/// Operations whose permission can be checked before a frontend reads its parameters
/// (panels check roles first, so the error a client sees depends on this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CustomersList,
    CustomersAdd,
    CustomersDelete,
    /// Suspend or resume a customer (a customer cannot do this to itself).
    CustomersSuspend,
    CustomersUnlock,
    CustomersMove,
    AdminsRead,
    /// Create, delete or reconfigure resellers.
    AdminsManage,
    /// Server-wide settings (backup settings, storage of the server scope).
    ServerSettings,
    /// Add or remove domains/subscriptions.
    SubscriptionsManage,
    /// Issue one-time login keys (ISPsystem `session.newkey`) for accounts the caller manages.
    LoginKeysIssue,
    /// See and change product orders (backup orders), plans and funds.
    OrdersManage,
    /// Server-only operations: key validity, account switches, server-scope restores.
    SystemOnly,
}

fn refuse() -> CoreError {
    CoreError::Forbidden(Denied::RoleNotAllowed)
}

/// May `actor` run `op` at all? Visibility of the record itself is checked separately.
pub fn authorize(actor: &Actor, op: Operation) -> CoreResult<()> {
    let allowed = match (actor.0, op) {
        (Role::System, _) => true,
        (_, Operation::SystemOnly) => false,
        (Role::Customer { .. }, _) => false,
        (
            Role::Admin {
                change_serversettings,
                ..
            },
            Operation::CustomersMove | Operation::AdminsRead,
        ) => change_serversettings,
        (
            Role::Admin {
                see_all,
                change_serversettings,
                ..
            },
            Operation::AdminsManage,
        ) => see_all && change_serversettings,
        (Role::Admin { see_all, .. }, Operation::ServerSettings) => see_all,
        (Role::Admin { .. }, _) => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// May this actor see (and, role permitting, change) the customer `customer_id` owned by `owner`?
pub fn sees_customer(actor: &Actor, customer_id: i64, owner: i64) -> bool {
    match actor.0 {
        Role::System => true,
        Role::Admin { id, see_all, .. } => see_all || owner == id,
        Role::Customer { id, .. } => id == customer_id,
    }
}

/// The answer to a lookup of a customer the actor may not see: a customer asking for someone
/// else is told so (Froxlor's 401); an admin is told the customer does not exist.
pub fn hidden_customer(actor: &Actor, not_found: CoreError) -> CoreError {
    if actor.is_customer() {
        CoreError::Forbidden(Denied::OtherCustomer)
    } else {
        not_found
    }
}

/// Which admin ids a listing of customers is restricted to (`None`: all of them).
pub fn customer_owner_filter(actor: &Actor) -> Option<i64> {
    match actor.0 {
        Role::Admin {
            id, see_all: false, ..
        } => Some(id),
        _ => None,
    }
}

/// The part of a patch a caller may apply: a customer changing itself may only set its
/// language, theme and password.
pub fn allowed_customer_patch(actor: &Actor, patch: CustomerPatch) -> CustomerPatch {
    if actor.is_customer() {
        CustomerPatch {
            password: patch.password,
            def_language: patch.def_language,
            theme: patch.theme,
            ..Default::default()
        }
    } else {
        patch
    }
}

/// Must a change of limits fit in what the owner has left? (The server may over-allocate.)
pub fn allocation_checked(actor: &Actor) -> bool {
    !matches!(actor.0, Role::System)
}

/// The owner of a customer created by `actor` (optionally naming `owner`).
pub fn owner_of_new_customer(actor: &Actor, owner: Option<i64>) -> CoreResult<i64> {
    match (actor.0, owner) {
        (Role::Admin { id, .. }, None) => Ok(id),
        (
            Role::Admin {
                id, see_all: false, ..
            },
            Some(o),
        ) if o != id => Err(refuse()),
        (Role::Admin { .. } | Role::System, Some(o)) => Ok(o),
        (Role::System, None) => Err(CoreError::Invalid {
            field: "owner",
            reason: "the server must name the owner of a new customer".into(),
        }),
        (Role::Customer { .. }, _) => Err(refuse()),
    }
}

/// May `actor` read admin `target` (`target_is_self` when it names the actor)?
pub fn sees_admin(actor: &Actor, target_is_self: bool) -> CoreResult<()> {
    match actor.0 {
        Role::System
        | Role::Admin {
            change_serversettings: true,
            ..
        } => Ok(()),
        Role::Admin { .. } if target_is_self => Ok(()),
        _ => Err(refuse()),
    }
}

/// May `actor` change admin `id` (name, e-mail, password, deactivation)?
pub fn may_update_admin(actor: &Actor, id: i64) -> CoreResult<()> {
    match actor.0 {
        Role::System
        | Role::Admin {
            see_all: true,
            change_serversettings: true,
            ..
        } => Ok(()),
        Role::Admin { id: me, .. } if me == id => Ok(()),
        _ => Err(refuse()),
    }
}

/// May `actor` see something owned by reseller/admin `owner` and customer `customer` (tasks,
/// archives)? `owner` is the current owner of the customer where the customer still exists.
pub fn sees_owned(actor: &Actor, owner: Option<i64>, customer: Option<i64>) -> bool {
    match actor.0 {
        Role::System | Role::Admin { see_all: true, .. } => true,
        Role::Admin { id, .. } => owner == Some(id),
        Role::Customer { id, .. } => customer == Some(id),
    }
}

/// May `actor` back up or restore the whole server?
pub fn may_use_server_scope(actor: &Actor) -> CoreResult<()> {
    match actor.0 {
        Role::System | Role::Admin { see_all: true, .. } => Ok(()),
        _ => Err(refuse()),
    }
}

/// May `actor` back up or restore reseller `id` and its customers?
pub fn may_use_reseller_scope(actor: &Actor, id: i64) -> CoreResult<()> {
    match actor.0 {
        Role::System | Role::Admin { see_all: true, .. } => Ok(()),
        Role::Admin { id: me, .. } if me == id => Ok(()),
        _ => Err(refuse()),
    }
}

/// May `actor` bring back admin records (rows, rights, password hashes) from an archive? Only
/// the server owner and the server itself; a reseller's own row is never overwritten by a
/// restore it runs.
pub fn may_restore_admins(actor: &Actor) -> bool {
    matches!(actor.0, Role::System | Role::Admin { see_all: true, .. })
}

/// The owner that a customer restored or imported by `actor` gets: a reseller restores only into
/// itself, whatever the archive says.
pub fn owner_of_restored_customer(actor: &Actor, from_archive: i64) -> i64 {
    match actor.0 {
        Role::Admin {
            id, see_all: false, ..
        } => id,
        _ => from_archive,
    }
}

/// May `actor` create a credential for (`admin_id`, `customer_id`)? `sees` says whether the actor
/// sees the named customer (checked by the caller when a customer is named).
pub fn may_create_credential(
    actor: &Actor,
    kind: crate::model::CredentialKind,
    admin_id: Option<i64>,
    customer_id: Option<i64>,
) -> CoreResult<()> {
    // Plesk secret keys are the administrator's and resellers' (Plesk: 1006 for customers).
    if kind == crate::model::CredentialKind::Plesk && actor.is_customer() {
        return Err(refuse());
    }
    match (actor.0, admin_id, customer_id) {
        (Role::System, _, _) => Ok(()),
        (Role::Admin { id, .. }, Some(a), None) if a == id => Ok(()),
        // A customer named by an admin: visibility is checked by looking the customer up.
        (Role::Admin { .. }, None, Some(_)) => Ok(()),
        (Role::Customer { id, .. }, None, Some(c)) if c == id => Ok(()),
        _ => Err(refuse()),
    }
}

/// May `actor` see (list) a credential of (`admin_id`, `customer_id`)?
pub fn sees_credential(actor: &Actor, admin_id: Option<i64>, customer_id: Option<i64>) -> bool {
    match actor.0 {
        Role::System | Role::Admin { see_all: true, .. } => true,
        Role::Admin { id, .. } => admin_id == Some(id) && customer_id.is_none(),
        Role::Customer { id, .. } => customer_id == Some(id),
    }
}

/// May `actor` delete a credential of (`admin_id`, `customer_id`)?
pub fn may_delete_credential(
    actor: &Actor,
    admin_id: Option<i64>,
    customer_id: Option<i64>,
) -> CoreResult<()> {
    if sees_credential(actor, admin_id, customer_id) {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// How an account is logging in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    /// An API key (Froxlor key + secret, Plesk secret key).
    Key,
    /// A panel password.
    Password,
}

/// May this account log in to an API at all?
pub fn account_may_log_in(api_allowed: bool, deactivated: bool, _method: LoginMethod) -> bool {
    api_allowed && !deactivated
}

/// Does a secret the client sent equal the expected one (constant time)?
pub fn secret_matches(given: &str, expected: &str) -> bool {
    crate::password::ct_eq(given, expected)
}

/// Is a key usable now from `peer`? `valid_until = -1` never expires.
pub fn key_usable(valid_until: i64, allowed_from: &str, now: i64, peer: Option<IpAddr>) -> bool {
    (valid_until == -1 || valid_until >= now) && address_allowed(allowed_from, peer)
}

/// Is `peer` allowed by a comma-separated allow-list (exact addresses or CIDR networks)? An
/// empty list allows everyone; a list with no known peer allows no one.
pub fn address_allowed(list: &str, peer: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(peer) = peer else { return false };
    let peer = match peer {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    list.split(',').any(|entry| {
        if let Ok(net) = entry.parse::<ipnet::IpNet>() {
            return entry.contains('/') && net.contains(&peer);
        }
        entry.parse::<IpAddr>().is_ok_and(|ip| ip == peer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: captures k01/k03 and protocols/froxlor.md §1.3 rule 4.
    #[test]
    fn allow_list_rules() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(!address_allowed("10.0.0.0/8,192.0.2.5", Some(local)));
        assert!(address_allowed("127.0.0.1", Some(local)));
        assert!(address_allowed("127.0.0.0/8", Some(local)));
        assert!(!address_allowed(" 127.0.0.1", Some(local)));
        assert!(address_allowed("", None));
        assert!(!address_allowed("127.0.0.1", None));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(address_allowed("127.0.0.1", Some(mapped)));
    }

    #[test]
    fn key_expiry() {
        assert!(key_usable(-1, "", 100, None));
        assert!(key_usable(100, "", 100, None));
        assert!(!key_usable(99, "", 100, None));
        assert!(!key_usable(0, "", 100, None));
    }

    #[test]
    fn roles_and_operations() {
        let sys = Actor(Role::System);
        let owner = Actor(Role::Admin {
            id: 1,
            see_all: true,
            change_serversettings: true,
        });
        let reseller = Actor(Role::Admin {
            id: 2,
            see_all: false,
            change_serversettings: false,
        });
        let customer = Actor(Role::Customer { id: 5, admin_id: 2 });
        for op in [
            Operation::CustomersList,
            Operation::AdminsManage,
            Operation::LoginKeysIssue,
            Operation::CustomersSuspend,
            Operation::SystemOnly,
        ] {
            assert!(authorize(&sys, op).is_ok());
            assert!(authorize(&customer, op).is_err());
        }
        assert!(authorize(&owner, Operation::AdminsManage).is_ok());
        assert!(authorize(&owner, Operation::SystemOnly).is_err());
        assert!(authorize(&reseller, Operation::ServerSettings).is_err());
        assert!(authorize(&reseller, Operation::CustomersAdd).is_ok());
        assert!(authorize(&reseller, Operation::LoginKeysIssue).is_ok());
        assert!(sees_customer(&reseller, 5, 2));
        assert!(!sees_customer(&reseller, 6, 1));
        assert!(sees_customer(&customer, 5, 2));
        assert!(!sees_customer(&customer, 6, 2));
        assert_eq!(owner_of_restored_customer(&reseller, 1), 2);
        assert_eq!(owner_of_restored_customer(&owner, 7), 7);
        assert!(!may_restore_admins(&reseller));
    }
}
