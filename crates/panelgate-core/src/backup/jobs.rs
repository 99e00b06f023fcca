//! Planned backup jobs (Froxlor `CustomerBackups` / `DataDump`).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::entity::{backup_jobs, customers};
use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::model::{Actor, BackupJob, CustomerRef, NewBackupJob};
use crate::{sequences, Core};

pub struct BackupJobs<'a> {
    pub(crate) core: &'a Core,
}

fn row_to_job(row: backup_jobs::Model) -> BackupJob {
    BackupJob {
        id: row.id,
        customer_id: row.customer_id,
        loginname: row.loginname,
        uid: row.uid,
        destdir: row.destdir,
        target_dir: row.target_dir,
        include_databases: row.include_databases,
        include_mail: row.include_mail,
        include_web: row.include_web,
        pgp_public_key: row.pgp_public_key,
        created_at: row.created_at,
    }
}

impl BackupJobs<'_> {
    /// Plan a backup of `customer` (which the actor must see).
    pub async fn plan(
        &self,
        actor: &Actor,
        customer: &CustomerRef,
        job: NewBackupJob,
    ) -> CoreResult<BackupJob> {
        crate::model::check_text("path", &job.destdir, crate::model::MAX_FIELD_CHARS)?;
        crate::model::check_text("path", &job.target_dir, crate::model::MAX_FIELD_CHARS)?;
        if !is_relative_folder(&job.target_dir) {
            return Err(CoreError::Invalid {
                field: "path",
                reason: format!("{:?} is not a folder inside the home", job.target_dir),
            });
        }
        crate::model::check_text(
            "pgp_public_key",
            &job.pgp_public_key,
            crate::model::MAX_TEXT_CHARS,
        )?;
        let customer = self.core.customers().get(actor, customer).await?;
        let txn = self.core.begin().await?;
        // The sequence row lock serialises concurrent plans, so the count below is current.
        let id = sequences::next_id(&txn, sequences::BACKUP_JOBS).await?;
        let limit = self.core.limits().jobs_per_customer;
        let planned = backup_jobs::Entity::find()
            .filter(backup_jobs::Column::CustomerId.eq(customer.id))
            .count(&txn)
            .await?;
        if planned >= u64::from(limit) {
            return Err(CoreError::Conflict(format!(
                "too many planned backups for this customer (limit {limit})"
            )));
        }
        let row = backup_jobs::ActiveModel {
            id: Set(id),
            customer_id: Set(customer.id),
            loginname: Set(customer.loginname.clone()),
            uid: Set(customer.guid),
            destdir: Set(job.destdir),
            target_dir: Set(job.target_dir),
            include_databases: Set(job.include_databases),
            include_mail: Set(job.include_mail),
            include_web: Set(job.include_web),
            pgp_public_key: Set(job.pgp_public_key),
            created_at: Set(self.core.now()),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(row_to_job(row))
    }

    /// The jobs of every customer the actor sees (or of `only` among them), by id.
    pub async fn list(&self, actor: &Actor, only: Option<i64>) -> CoreResult<Vec<BackupJob>> {
        let db = self.core.reader();
        let mut q = backup_jobs::Entity::find().order_by_asc(backup_jobs::Column::Id);
        if let Some(c) = only {
            q = q.filter(backup_jobs::Column::CustomerId.eq(c));
        }
        let rows = q.find_also_related(customers::Entity).all(db).await?;
        Ok(rows
            .into_iter()
            .filter(|(_, c)| {
                c.as_ref()
                    .is_some_and(|c| crate::policy::sees_customer(actor, c.id, c.admin_id))
            })
            .map(|(job, _)| row_to_job(job))
            .collect())
    }

    /// Delete a job the actor sees.
    pub async fn delete(&self, actor: &Actor, id: i64) -> CoreResult<BackupJob> {
        let visible = self.list(actor, None).await?;
        let job = visible
            .into_iter()
            .find(|j| j.id == id)
            .ok_or_else(|| CoreError::not_found(EntityKind::BackupJob, Key::Id(id)))?;
        backup_jobs::Entity::delete_by_id(id)
            .exec(&self.core.db())
            .await?;
        Ok(job)
    }
}

/// `a/b c/d`: folders relative to a home, every part a plain name (no `.`, `..`, empty part,
/// NUL or backslash), not the home itself.
pub(crate) fn is_relative_folder(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', '\0'])
        })
}
