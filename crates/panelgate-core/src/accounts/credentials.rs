//! Credentials: API keys and secret keys of every protocol, stored hashed, verified through the
//! core's cache so repeated requests do not pay a full hash each time.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::entity::credentials;
use crate::error::{CoreError, CoreResult};
use crate::model::{Actor, CredentialKind, CustomerRef, NewCredential, Owner, VerifiedKey};
use crate::{admins, password, policy, sequences, Core};

/// Credentials of one kind and public key (or lookup tag), each with its owner, as the read
/// cache keeps them.
pub(crate) type KeyRows = std::sync::Arc<Vec<(credentials::Model, Owner)>>;

pub struct Credentials<'a> {
    pub(crate) core: &'a Core,
}

/// A stored credential, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialInfo {
    pub id: i64,
    pub kind: CredentialKind,
    pub public_key: String,
    pub admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub allowed_from: String,
    pub valid_until: i64,
    pub description: String,
    /// A non-secret tag of a secret-only key (the first bytes of its SHA-256), for listings.
    pub fingerprint: String,
}

fn info(row: credentials::Model, kind: CredentialKind) -> CredentialInfo {
    CredentialInfo {
        id: row.id,
        kind,
        public_key: row.public_key,
        admin_id: row.admin_id,
        customer_id: row.customer_id,
        allowed_from: row.allowed_from,
        valid_until: row.valid_until,
        description: row.description,
        fingerprint: row.lookup,
    }
}

impl Credentials<'_> {
    /// Store a credential. Admins may create keys for themselves and the customers they see;
    /// the server for anyone.
    pub async fn create(&self, actor: &Actor, new: NewCredential) -> CoreResult<i64> {
        policy::may_create_credential(actor, new.kind, new.admin_id, new.customer_id)?;
        crate::model::check_text(
            "description",
            &new.description,
            crate::model::MAX_FIELD_CHARS,
        )?;
        crate::model::check_text(
            "allowed_from",
            &new.allowed_from,
            crate::model::MAX_TEXT_CHARS,
        )?;
        if let Some(c) = new.customer_id {
            self.core
                .customers()
                .get(actor, &crate::model::CustomerRef::Id(c))
                .await?;
        }
        let secret = new.secret.clone();
        let hash = self.core.verifier().hash_new(secret).await?;
        let txn = self.core.begin().await?;
        // The sequence row lock serialises concurrent creates, so the count below is current.
        let id = sequences::next_id(&txn, sequences::CREDENTIALS).await?;
        let limit = self.core.limits().keys_per_account;
        let owned = credentials::Entity::find()
            .filter(match new.customer_id {
                Some(c) => credentials::Column::CustomerId.eq(c),
                None => credentials::Column::AdminId.eq(new.admin_id.unwrap_or(0)),
            })
            .count(&txn)
            .await?;
        if owned >= u64::from(limit) && policy::allocation_checked(actor) {
            return Err(CoreError::Conflict(format!(
                "too many keys for this account (limit {limit})"
            )));
        }
        credentials::ActiveModel {
            id: Set(id),
            kind: Set(new.kind.as_str().to_owned()),
            lookup: Set(if new.public_key.is_empty() {
                password::lookup_tag(&new.secret)
            } else {
                String::new()
            }),
            public_key: Set(new.public_key),
            secret_hash: Set(hash),
            admin_id: Set(new.admin_id),
            customer_id: Set(new.customer_id),
            allowed_from: Set(new.allowed_from),
            valid_until: Set(new.valid_until),
            description: Set(new.description),
            created_at: Set(self.core.now()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Find the credential of `kind` named `public_key` (empty for secret-only keys) whose secret
    /// is `secret`. The public key is compared exactly (case-sensitively), the secret through the
    /// hash; a miss costs as much as a hit.
    pub(crate) async fn verify(
        &self,
        kind: CredentialKind,
        public_key: &str,
        secret: &str,
    ) -> CoreResult<Option<VerifiedKey>> {
        let lookup = if public_key.is_empty() {
            password::lookup_tag(secret)
        } else {
            public_key.to_owned()
        };
        let (caches, generation) = self.core.cache().await;
        let rows = caches
            .keys
            .get_or_load(generation, (kind, lookup.clone()), || {
                self.load_key_rows(kind, public_key.is_empty(), lookup)
            })
            .await?;
        let rows: Vec<_> = rows
            .iter()
            .filter(|(r, _)| password::ct_eq(&r.public_key, public_key))
            .collect();
        if rows.is_empty() {
            self.core
                .verifier()
                .verify(kind.as_str(), public_key, secret, None)
                .await;
            return Ok(None);
        }
        for (row, owner) in rows {
            let identity = format!("{}:{}", row.id, public_key);
            if !self
                .core
                .verifier()
                .verify(kind.as_str(), &identity, secret, Some(&row.secret_hash))
                .await
            {
                continue;
            }
            return Ok(Some(VerifiedKey {
                id: row.id,
                allowed_from: row.allowed_from.clone(),
                valid_until: row.valid_until,
                owner: owner.clone(),
            }));
        }
        Ok(None)
    }

    /// The credentials of `kind` with this public key (or, `by_tag`, this secret's lookup tag),
    /// each with its owner: the key with its owning admin in one query, a customer owner with
    /// its admin's login in another.
    async fn load_key_rows(
        &self,
        kind: CredentialKind,
        by_tag: bool,
        lookup: String,
    ) -> CoreResult<KeyRows> {
        if lookup.contains('\0') {
            // No key has a NUL (and PostgreSQL refuses one in a query).
            return Ok(KeyRows::default());
        }
        let db = self.core.reader();
        let q = credentials::Entity::find()
            .filter(credentials::Column::Kind.eq(kind.as_str()))
            .order_by_asc(credentials::Column::Id);
        let q = if by_tag {
            q.filter(credentials::Column::Lookup.eq(lookup))
        } else {
            q.filter(credentials::Column::PublicKey.eq(lookup))
        };
        let mut rows = Vec::new();
        for (row, owning_admin) in q
            .find_also_related(crate::entity::admins::Entity)
            .all(db)
            .await?
        {
            let owner = match (row.customer_id, row.admin_id) {
                (Some(c), _) if c > 0 => {
                    match crate::customers::find_with_owner_login(db, &CustomerRef::Id(c)).await? {
                        Some((cust, admin)) => Owner::Customer(Box::new(
                            crate::customers::row_to_customer(cust, admin),
                        )),
                        None => Owner::Missing,
                    }
                }
                (_, Some(a)) if a > 0 => match owning_admin {
                    Some(admin) => Owner::Admin(Box::new(admins::row_to_admin(admin))),
                    None => Owner::Missing,
                },
                _ => Owner::Missing,
            };
            rows.push((row, owner));
        }
        Ok(std::sync::Arc::new(rows))
    }

    /// Credentials of one kind, for the control API and Plesk `secret_key.get_info`.
    pub async fn list(
        &self,
        actor: &Actor,
        kind: CredentialKind,
    ) -> CoreResult<Vec<CredentialInfo>> {
        let rows = credentials::Entity::find()
            .filter(credentials::Column::Kind.eq(kind.as_str()))
            .order_by_asc(credentials::Column::Id)
            .all(self.core.reader())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| policy::sees_credential(actor, r.admin_id, r.customer_id))
            .map(|r| info(r, kind))
            .collect())
    }

    /// The secret-only keys (Plesk `KEY`s) among those `actor` sees whose secret is `secret`.
    /// Keys are found by their lookup tag first, so a secret that matches no visible key costs no
    /// hash at all; at most one verification runs per visible key, whatever the number of
    /// secrets asked about.
    pub async fn find_secret_key(
        &self,
        actor: &Actor,
        kind: CredentialKind,
        secret: &str,
    ) -> CoreResult<Option<CredentialInfo>> {
        let tag = password::lookup_tag(secret);
        let rows = credentials::Entity::find()
            .filter(credentials::Column::Kind.eq(kind.as_str()))
            .filter(credentials::Column::Lookup.eq(tag))
            .filter(credentials::Column::PublicKey.eq(""))
            .order_by_asc(credentials::Column::Id)
            .all(self.core.reader())
            .await?;
        for row in rows {
            if !policy::sees_credential(actor, row.admin_id, row.customer_id) {
                continue;
            }
            let identity = format!("{}:", row.id);
            if self
                .core
                .verifier()
                .verify(kind.as_str(), &identity, secret, Some(&row.secret_hash))
                .await
            {
                return Ok(Some(info(row, kind)));
            }
        }
        Ok(None)
    }

    /// Change a key's validity (server only: control API and state changes in tests).
    pub async fn set_valid_until(
        &self,
        actor: &Actor,
        id: i64,
        valid_until: i64,
    ) -> CoreResult<()> {
        self.core.authorize(actor, crate::Operation::SystemOnly)?;
        let row = self.row(id).await?;
        let mut am: credentials::ActiveModel = row.into();
        am.valid_until = Set(valid_until);
        am.update(&self.core.db()).await?;
        Ok(())
    }
}

impl Credentials<'_> {
    async fn row(&self, id: i64) -> CoreResult<credentials::Model> {
        credentials::Entity::find_by_id(id)
            .one(self.core.reader())
            .await?
            .ok_or_else(|| CoreError::not_found(crate::EntityKind::Credential, crate::Key::Id(id)))
    }

    /// Delete a credential: the server, the server owner, or the credential's own owner.
    pub async fn delete(&self, actor: &Actor, id: i64) -> CoreResult<()> {
        let row = self.row(id).await?;
        policy::may_delete_credential(actor, row.admin_id, row.customer_id)?;
        credentials::Entity::delete_by_id(id)
            .exec(&self.core.db())
            .await?;
        Ok(())
    }
}
