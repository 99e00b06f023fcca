//! Server-wide settings (Froxlor's setting names), with panelgate's defaults.

use std::collections::BTreeMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::entity::settings;
use crate::error::CoreResult;
use crate::Core;

/// Defaults for settings that are not in the database. Where panelgate differs from a fresh
/// Froxlor install it says why.
pub const DEFAULTS: &[(&str, &str)] = &[
    // Froxlor ships 0; an emulator whose API is off by default would be useless.
    ("api.enabled", "1"),
    ("api.customer_default", "1"),
    ("system.backupenabled", "0"),
    ("system.exportenabled", "0"),
    ("system.hostname", "panel.example.org"),
    ("system.stdsubdomain", ""),
    ("system.createstdsubdom_default", "1"),
    ("system.documentroot_prefix", "/var/customers/webs/"),
    ("customer.accountprefix", "web"),
    ("system.lastaccountnumber", "0"),
    ("system.lastguid", "9999"),
    ("system.mail_quota_enabled", "0"),
    ("system.mail_quota", "100"),
    ("system.allow_customer_shell", "0"),
    ("panel.password_min_length", "0"),
    ("panel.password_regex", ""),
    ("panel.password_alpha_lower", "1"),
    ("panel.password_alpha_upper", "1"),
    ("panel.password_numeric", "0"),
    ("panel.password_special_char_required", "0"),
    ("panel.standardlanguage", "en"),
    ("panel.default_theme", "Froxlor"),
    ("panel.customer_hide_options", ""),
    ("panel.natsorting", "1"),
    ("panel.unix_names", "1"),
    ("system.req_limit_per_interval", "60"),
    ("system.req_limit_interval", "60"),
];

/// A consistent read of every setting, defaults filled in.
#[derive(Clone, Debug, Default)]
pub struct SettingsSnapshot(BTreeMap<String, String>);

impl SettingsSnapshot {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
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
    pub async fn snapshot(&self) -> CoreResult<SettingsSnapshot> {
        read_all(self.core.db()).await
    }

    /// Set one setting (server-wide: the server itself only).
    pub async fn set(&self, actor: &crate::Actor, name: &str, value: &str) -> CoreResult<()> {
        self.core.authorize(actor, crate::Operation::SystemOnly)?;
        write(self.core.db(), name, value).await
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
