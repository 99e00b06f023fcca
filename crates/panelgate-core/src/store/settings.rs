//! Server-wide settings: a name/value table (the names are Froxlor's, which the other panels'
//! frontends map to their own). The core has defaults only for the settings the core itself
//! reads; each frontend brings the defaults of its own settings (see `SettingsSnapshot::get_or`).

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::entity::settings;
use crate::error::CoreResult;
use crate::Core;

/// Defaults of the settings the core reads (account naming, document roots, the standard
/// subdomain, guids, mail quota, the default theme).
pub const DEFAULTS: &[(&str, &str)] = &[
    ("system.hostname", "panel.example.org"),
    ("system.stdsubdomain", ""),
    ("system.documentroot_prefix", "/var/customers/webs/"),
    ("customer.accountprefix", "web"),
    ("system.lastaccountnumber", "0"),
    ("system.lastguid", "9999"),
    ("system.mail_quota_enabled", "0"),
    ("panel.default_theme", "Froxlor"),
];

/// A consistent read of every setting, defaults filled in.
#[derive(Clone, Debug, Default)]
pub struct SettingsSnapshot(BTreeMap<String, String>);

impl SettingsSnapshot {
    /// The stored value, or the core's default, or "".
    pub fn get(&self, name: &str) -> &str {
        self.get_or(name, "")
    }

    /// The stored value, or the core's default, or `default` (a frontend's own default).
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.0.get(name).map(String::as_str).unwrap_or(default)
    }
    pub fn int(&self, name: &str) -> i64 {
        self.get(name).trim().parse().unwrap_or(0)
    }
    pub fn flag(&self, name: &str) -> bool {
        self.int(name) == 1
    }
}

pub struct Settings<'a> {
    pub(crate) core: &'a Core,
}

impl Settings<'_> {
    pub async fn snapshot(&self) -> CoreResult<Arc<SettingsSnapshot>> {
        let (caches, generation) = self.core.cache().await;
        caches
            .settings
            .get_or_load(generation, (), || async {
                read_all(self.core.reader()).await.map(Arc::new)
            })
            .await
    }

    /// Set one setting (server-wide: the server itself only).
    pub async fn set(&self, actor: &crate::Actor, name: &str, value: &str) -> CoreResult<()> {
        self.core.authorize(actor, crate::Operation::SystemOnly)?;
        write(&self.core.db(), name, value).await
    }
}

pub(crate) async fn read_all<C: ConnectionTrait>(db: &C) -> CoreResult<SettingsSnapshot> {
    let mut map: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for row in settings::Entity::find().all(db).await? {
        map.insert(row.name, row.value);
    }
    Ok(SettingsSnapshot(map))
}

pub(crate) async fn write<C: ConnectionTrait>(db: &C, name: &str, value: &str) -> CoreResult<()> {
    settings::Entity::insert(settings::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value.to_owned()),
    })
    .on_conflict(
        OnConflict::column(settings::Column::Name)
            .update_column(settings::Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Only the settings stored in the database (no defaults), for server backups.
pub(crate) async fn stored<C: ConnectionTrait>(db: &C) -> CoreResult<BTreeMap<String, String>> {
    Ok(settings::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.name, r.value))
        .collect())
}
