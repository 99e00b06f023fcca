//! The manifest of a backup: the records in its scope and its data items (archive format v1).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::archive::{self, DataItem, Manifest, ManifestScope, Records};
use crate::backup_worker::TaskEnd;
use crate::backups::BackupScope;
use crate::entity::{admins, backup_jobs, backup_tasks, credentials, customers, subscriptions};
use crate::{settings, Core};

fn to_json<T: serde::Serialize>(rows: &[T]) -> Vec<serde_json::Value> {
    rows.iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect()
}

/// The manifest of a task's scope, and the logins whose home folders belong in it.
pub(crate) async fn build(
    core: &Core,
    task: &backup_tasks::Model,
    scope: BackupScope,
) -> Result<(Manifest, Vec<String>), TaskEnd> {
    let db = core.reader();
    let e = |e: sea_orm::DbErr| TaskEnd::Core(e.into());
    let all_admins: Vec<admins::Model> = admins::Entity::find()
        .order_by_asc(admins::Column::Id)
        .all(db)
        .await
        .map_err(e)?;
    let admin_login = |id: i64| {
        all_admins
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.loginname.clone())
            .unwrap_or_default()
    };
    let (name, admin_rows, customer_rows, sub_filter): (
        String,
        Vec<admins::Model>,
        Vec<customers::Model>,
        Option<i64>,
    ) = match scope {
        BackupScope::Server => (
            "server".into(),
            all_admins.clone(),
            customers::Entity::find()
                .order_by_asc(customers::Column::Id)
                .all(db)
                .await
                .map_err(e)?,
            None,
        ),
        BackupScope::Reseller(id) => {
            let admin = all_admins
                .iter()
                .find(|a| a.id == id)
                .cloned()
                .ok_or_else(|| TaskEnd::Failed(format!("reseller {id} no longer exists")))?;
            let rows = customers::Entity::find()
                .filter(customers::Column::AdminId.eq(id))
                .order_by_asc(customers::Column::Id)
                .all(db)
                .await
                .map_err(e)?;
            (admin.loginname.clone(), vec![admin], rows, None)
        }
        BackupScope::Customer(id) => {
            let c = customers::Entity::find_by_id(id)
                .one(db)
                .await
                .map_err(e)?
                .ok_or_else(|| TaskEnd::Failed(format!("customer {id} no longer exists")))?;
            (c.loginname.clone(), Vec::new(), vec![c], None)
        }
        BackupScope::Subscription(id) => {
            let sub = subscriptions::Entity::find_by_id(id)
                .one(db)
                .await
                .map_err(e)?
                .ok_or_else(|| TaskEnd::Failed(format!("subscription {id} no longer exists")))?;
            let c = customers::Entity::find_by_id(sub.customer_id)
                .one(db)
                .await
                .map_err(e)?
                .ok_or_else(|| {
                    TaskEnd::Failed("the subscription's customer no longer exists".into())
                })?;
            (sub.domain.clone(), Vec::new(), vec![c], Some(id))
        }
    };
    let ids: Vec<i64> = customer_rows.iter().map(|c| c.id).collect();
    let creds = credentials::Entity::find()
        .filter(credentials::Column::CustomerId.is_in(ids.clone()))
        .order_by_asc(credentials::Column::Id)
        .all(db)
        .await
        .map_err(e)?;
    let admin_ids: Vec<i64> = admin_rows.iter().map(|a| a.id).collect();
    let admin_creds = credentials::Entity::find()
        .filter(credentials::Column::AdminId.is_in(admin_ids))
        .filter(credentials::Column::CustomerId.is_null())
        .order_by_asc(credentials::Column::Id)
        .all(db)
        .await
        .map_err(e)?;
    let mut subs = subscriptions::Entity::find()
        .filter(subscriptions::Column::CustomerId.is_in(ids.clone()))
        .order_by_asc(subscriptions::Column::Id)
        .all(db)
        .await
        .map_err(e)?;
    if let Some(only) = sub_filter {
        subs.retain(|s| s.id == only);
    }
    let jobs = backup_jobs::Entity::find()
        .filter(backup_jobs::Column::CustomerId.is_in(ids))
        .order_by_asc(backup_jobs::Column::Id)
        .all(db)
        .await
        .map_err(e)?;
    let mut items = Vec::new();
    for a in &admin_rows {
        items.push(DataItem {
            kind: "reseller".into(),
            name: a.loginname.clone(),
            owner: String::new(),
        });
    }
    for c in &customer_rows {
        items.push(DataItem {
            kind: "customer".into(),
            name: c.loginname.clone(),
            owner: admin_login(c.admin_id),
        });
    }
    for s in &subs {
        let owner = customer_rows
            .iter()
            .find(|c| c.id == s.customer_id)
            .map(|c| c.loginname.clone())
            .unwrap_or_default();
        items.push(DataItem {
            kind: "subscription".into(),
            name: s.domain.clone(),
            owner,
        });
    }
    let mut logins = Vec::new();
    for c in &customer_rows {
        let home = core
            .home_dir(&c.loginname)
            .map_err(|e| TaskEnd::Failed(format!("the home folder of {:?}: {e}", c.loginname)))?;
        if home.is_dir() {
            items.push(DataItem {
                kind: "files".into(),
                name: c.loginname.clone(),
                owner: c.loginname.clone(),
            });
            logins.push(c.loginname.clone());
        }
    }
    if task.job_id.is_some() {
        logins = customer_rows.iter().map(|c| c.loginname.clone()).collect();
    }
    let settings_map = if scope == BackupScope::Server {
        items.push(DataItem {
            kind: "settings".into(),
            name: "server".into(),
            owner: String::new(),
        });
        settings::stored(db).await.map_err(TaskEnd::Core)?
    } else {
        Default::default()
    };
    let mut all_creds = admin_creds;
    all_creds.extend(creds);
    let manifest = Manifest {
        format: archive::FORMAT.into(),
        version: archive::MANIFEST_VERSION,
        created_at: core.now(),
        scope: ManifestScope {
            kind: scope.kind().into(),
            id: scope.id(),
            name,
        },
        description: task.description.clone(),
        items,
        records: Records {
            admins: to_json(&admin_rows),
            customers: to_json(&customer_rows),
            credentials: to_json(&all_creds),
            subscriptions: to_json(&subs),
            backup_jobs: to_json(&jobs),
            settings: settings_map,
        },
    };
    Ok((manifest, logins))
}
