//! The backup engine: tasks, the worker that runs them, archives, upload, download, removal and
//! restore. Every panel shows these in its own way; this is the one implementation behind them.
//!
//! * A task is queued by a request and executed by a [`Worker`](worker::Worker), never on the request path.
//!   Workers claim a task with a conditional update in the database, so with several instances
//!   on one PostgreSQL/MariaDB each task runs once; a claim is a lease that the worker renews
//!   while it writes, and a task whose lease ran out is queued again (once) or failed.
//! * Archives are written under temporary names and renamed once registered (see the `archive` module).
//! * Restore brings records back in one transaction, then the files.

pub mod archive;
pub mod jobs;
pub(crate) mod manifest;
pub(crate) mod restore;
pub(crate) mod types;
pub mod worker;

use std::path::{Path, PathBuf};

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::entity::{
    backup_archives, backup_jobs, backup_tasks, customers, storage_settings, subscriptions,
};
use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::model::{Actor, CustomerRef};
use crate::{sequences, settings, Core};

pub use crate::backup_types::*;

pub struct Backups<'a> {
    pub(crate) core: &'a Core,
}

fn to_task(row: backup_tasks::Model) -> BackupTask {
    BackupTask {
        id: row.id,
        scope: BackupScope::from_parts(&row.scope, row.scope_id).unwrap_or(BackupScope::Server),
        owner_admin_id: row.owner_admin_id,
        customer_id: row.customer_id,
        options: BackupOptions {
            description: row.description,
            prefix: row.prefix,
            storage: if row.storage == "ftp" {
                Storage::Ftp
            } else {
                Storage::Local
            },
            split_size: row.split_size.max(0) as u64,
            content: Content::parse(&row.content),
        },
        job_id: row.job_id,
        state: TaskState::parse(&row.state),
        progress: row.progress,
        error: row.error,
        attempts: row.attempts,
        worker: row.claimed_by,
        archive_id: row.archive_id,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    }
}

pub(crate) fn to_archive(row: backup_archives::Model) -> BackupArchive {
    BackupArchive {
        id: row.id,
        task_id: row.task_id,
        scope: BackupScope::from_parts(&row.scope, row.scope_id).unwrap_or(BackupScope::Server),
        scope_name: row.scope_name,
        owner_admin_id: row.owner_admin_id,
        customer_id: row.customer_id,
        created_at: row.created_at,
        size: row.size,
        sha256: row.sha256,
        description: row.description,
        prefix: row.prefix,
        storage: row.storage,
        file_name: row.file_name,
        parts: serde_json::from_str(&row.parts).unwrap_or_default(),
        manifest_version: row.manifest_version,
        items: serde_json::from_str(&row.items).unwrap_or_default(),
    }
}

/// May `actor` see something owned by (`owner_admin_id`, `customer_id`)?
fn sees(actor: &Actor, owner: Option<i64>, customer: Option<i64>) -> bool {
    crate::policy::sees_owned(actor, owner, customer)
}

/// Who owns a customer now: a customer's tasks and archives belong to whoever owns the customer
/// today (after `Customers.move`, the new reseller, not the old one).
struct Owners(std::collections::HashMap<i64, i64>);

impl Owners {
    async fn load<C: sea_orm::ConnectionTrait>(db: &C, only: Option<i64>) -> CoreResult<Owners> {
        let mut q = customers::Entity::find();
        if let Some(id) = only {
            q = q.filter(customers::Column::Id.eq(id));
        }
        Ok(Owners(
            q.all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.admin_id))
                .collect(),
        ))
    }

    fn of(&self, recorded: Option<i64>, customer: Option<i64>) -> Option<i64> {
        customer.and_then(|c| self.0.get(&c).copied()).or(recorded)
    }

    fn sees(&self, actor: &Actor, recorded: Option<i64>, customer: Option<i64>) -> bool {
        sees(actor, self.of(recorded, customer), customer)
    }
}

/// `YYYYmmddHHMMSS` in UTC.
pub fn stamp(unix: i64) -> String {
    format_unix(
        unix,
        time::macros::format_description!("[year][month][day][hour][minute][second]"),
    )
}

/// `YYYY-mm-dd HH:MM:SS` in UTC.
pub fn datetime(unix: i64) -> String {
    format_unix(
        unix,
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
}

/// `YYYY-mm-dd` in UTC.
pub fn date(unix: i64) -> String {
    format_unix(
        unix,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
}

fn format_unix(unix: i64, format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(format)
        .unwrap_or_default()
}

pub(crate) fn safe_name(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "backup".into()
    } else {
        out
    }
}

pub(crate) struct ScopeInfo {
    pub(crate) owner_admin_id: Option<i64>,
    pub(crate) customer_id: Option<i64>,
}

impl Backups<'_> {
    /// Check that the actor may back up (or restore into) `scope`, and name it.
    async fn resolve_scope(&self, actor: &Actor, scope: BackupScope) -> CoreResult<ScopeInfo> {
        let db = self.core.reader();
        match scope {
            BackupScope::Server => {
                crate::policy::may_use_server_scope(actor)?;
                Ok(ScopeInfo {
                    owner_admin_id: None,
                    customer_id: None,
                })
            }
            BackupScope::Reseller(id) => {
                crate::policy::may_use_reseller_scope(actor, id)?;
                let admin = crate::admins::find_row(db, id).await?;
                Ok(ScopeInfo {
                    owner_admin_id: Some(admin.id),
                    customer_id: None,
                })
            }
            BackupScope::Customer(id) => {
                let c = self
                    .core
                    .customers()
                    .get(actor, &CustomerRef::Id(id))
                    .await?;
                Ok(ScopeInfo {
                    owner_admin_id: Some(c.admin_id),
                    customer_id: Some(c.id),
                })
            }
            BackupScope::Subscription(id) => {
                let sub = subscriptions::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .ok_or_else(|| CoreError::not_found(EntityKind::Subscription, Key::Id(id)))?;
                let c = self
                    .core
                    .customers()
                    .get(actor, &CustomerRef::Id(sub.customer_id))
                    .await?;
                Ok(ScopeInfo {
                    owner_admin_id: Some(c.admin_id),
                    customer_id: Some(c.id),
                })
            }
        }
    }

    /// May `actor` back up, list, restore or configure `scope`? (`NotFound` for what it cannot
    /// see, `Forbidden` for a role that may not use the scope at all.)
    pub async fn check_scope(&self, actor: &Actor, scope: BackupScope) -> CoreResult<()> {
        self.resolve_scope(actor, scope).await.map(|_| ())
    }

    /// Queue a backup of `scope`. The worker runs it.
    pub async fn start(
        &self,
        actor: &Actor,
        scope: BackupScope,
        opts: BackupOptions,
    ) -> CoreResult<BackupTask> {
        let info = self.resolve_scope(actor, scope).await?;
        self.insert_task(scope, &info, opts, None, String::new(), (true, true, true))
            .await
    }

    pub(crate) async fn insert_task(
        &self,
        scope: BackupScope,
        info: &ScopeInfo,
        opts: BackupOptions,
        job_id: Option<i64>,
        destdir: String,
        (dbs, mail, web): (bool, bool, bool),
    ) -> CoreResult<BackupTask> {
        use sea_orm::PaginatorTrait;
        crate::model::check_text(
            "description",
            &opts.description,
            crate::model::MAX_TEXT_CHARS,
        )?;
        crate::model::check_text("prefix", &opts.prefix, crate::model::MAX_FIELD_CHARS)?;
        let limits = self.core.limits();
        // A split size is at least `min_split_size` (one part file per few bytes is a way to
        // fill a directory); 0 stays "one file".
        let split_size = match opts.split_size {
            0 => 0,
            s => s.max(limits.min_split_size),
        };
        let txn = self.core.begin().await?;
        // Allocating the id first takes the sequence row's lock (PostgreSQL, MariaDB), so
        // concurrent requests count one after the other.
        let id = sequences::next_id(&txn, sequences::BACKUP_TASKS).await?;
        // Tasks queued or working for the same customer (whatever the scope: customer,
        // subscription, Froxlor job), or else for the same scope (reseller, server).
        let pending = backup_tasks::Entity::find().filter(
            backup_tasks::Column::State
                .is_in([TaskState::Queued.as_str(), TaskState::Working.as_str()]),
        );
        let (pending, what) = match info.customer_id {
            Some(customer) => (
                pending.filter(backup_tasks::Column::CustomerId.eq(customer)),
                "customer",
            ),
            None => (
                pending
                    .filter(backup_tasks::Column::Scope.eq(scope.kind()))
                    .filter(backup_tasks::Column::ScopeId.eq(scope.id())),
                scope.kind(),
            ),
        };
        let limit = limits.tasks_queued_per_scope;
        if pending.count(&txn).await? >= u64::from(limit) {
            return Err(CoreError::Conflict(format!(
                "too many backup tasks queued for this {what} (limit {limit})"
            )));
        }
        let row = backup_tasks::ActiveModel {
            id: Set(id),
            scope: Set(scope.kind().into()),
            scope_id: Set(scope.id()),
            owner_admin_id: Set(info.owner_admin_id),
            customer_id: Set(info.customer_id),
            description: Set(opts.description),
            prefix: Set(opts.prefix),
            storage: Set(match opts.storage {
                Storage::Local => "local".into(),
                Storage::Ftp => "ftp".into(),
            }),
            split_size: Set(split_size.min(i64::MAX as u64) as i64),
            content: Set(opts.content.as_str().into()),
            include_databases: Set(dbs),
            include_mail: Set(mail),
            include_web: Set(web),
            job_id: Set(job_id),
            destdir: Set(destdir),
            state: Set(TaskState::Queued.as_str().into()),
            progress: Set(0),
            error: Set(String::new()),
            stop_requested: Set(false),
            attempts: Set(0),
            claimed_by: Set(String::new()),
            lease_until: Set(0),
            archive_id: Set(None),
            fail_at: Set(crate::journal::task_fault()),
            created_at: Set(self.core.now()),
            started_at: Set(0),
            finished_at: Set(0),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        if let Some(customer) = row.customer_id {
            crate::journal::touched("customer", customer);
        }
        crate::journal::changed("task", row.id, None, Some(&to_task(row.clone())));
        Ok(to_task(row))
    }

    pub async fn tasks(&self, actor: &Actor) -> CoreResult<Vec<BackupTask>> {
        let rows = backup_tasks::Entity::find()
            .order_by_asc(backup_tasks::Column::Id)
            .all(self.core.reader())
            .await?;
        let owners = Owners::load(self.core.reader(), None).await?;
        Ok(rows
            .into_iter()
            .filter(|r| owners.sees(actor, r.owner_admin_id, r.customer_id))
            .map(to_task)
            .collect())
    }

    pub async fn task(&self, actor: &Actor, id: i64) -> CoreResult<BackupTask> {
        let row = backup_tasks::Entity::find_by_id(id)
            .one(self.core.reader())
            .await?;
        let owners = match &row {
            Some(r) => Owners::load(self.core.reader(), Some(r.customer_id.unwrap_or(0))).await?,
            None => Owners(Default::default()),
        };
        match row {
            Some(r) if owners.sees(actor, r.owner_admin_id, r.customer_id) => Ok(to_task(r)),
            _ => Err(CoreError::not_found(EntityKind::BackupJob, Key::Id(id))),
        }
    }

    /// Stop a queued or working task. A working one stops at its next check (within a second).
    pub async fn stop(&self, actor: &Actor, id: i64) -> CoreResult<BackupTask> {
        let task = self.task(actor, id).await?;
        let db = &self.core.db();
        use backup_tasks::Column as T;
        match task.state {
            TaskState::Queued => {
                backup_tasks::Entity::update_many()
                    .col_expr(T::State, Expr::value(TaskState::Stopped.as_str()))
                    .col_expr(T::FinishedAt, Expr::value(self.core.now()))
                    .filter(T::Id.eq(id))
                    .filter(T::State.eq(TaskState::Queued.as_str()))
                    .exec(db)
                    .await?;
            }
            TaskState::Working => {
                backup_tasks::Entity::update_many()
                    .col_expr(T::StopRequested, Expr::value(true))
                    .filter(T::Id.eq(id))
                    .exec(db)
                    .await?;
            }
            _ => {
                return Err(CoreError::Conflict(format!(
                    "task {id} is already {}",
                    task.state.as_str()
                )))
            }
        }
        self.task(actor, id).await
    }

    pub async fn archives(&self, actor: &Actor) -> CoreResult<Vec<BackupArchive>> {
        let rows = backup_archives::Entity::find()
            .order_by_asc(backup_archives::Column::Id)
            .all(self.core.reader())
            .await?;
        let owners = Owners::load(self.core.reader(), None).await?;
        Ok(rows
            .into_iter()
            .filter(|r| owners.sees(actor, r.owner_admin_id, r.customer_id))
            .map(to_archive)
            .collect())
    }

    async fn archive_row(&self, actor: &Actor, id: i64) -> CoreResult<backup_archives::Model> {
        let row = backup_archives::Entity::find_by_id(id)
            .one(self.core.reader())
            .await?;
        let owners = match &row {
            Some(r) => Owners::load(self.core.reader(), Some(r.customer_id.unwrap_or(0))).await?,
            None => Owners(Default::default()),
        };
        match row {
            Some(r) if owners.sees(actor, r.owner_admin_id, r.customer_id) => Ok(r),
            _ => Err(CoreError::not_found(EntityKind::BackupJob, Key::Id(id))),
        }
    }

    pub async fn archive(&self, actor: &Actor, id: i64) -> CoreResult<BackupArchive> {
        Ok(to_archive(self.archive_row(actor, id).await?))
    }

    /// The part files of an archive, for streaming it out.
    pub async fn files(&self, actor: &Actor, id: i64) -> CoreResult<ArchiveFiles> {
        let row = self.archive_row(actor, id).await?;
        let parts: Vec<String> = serde_json::from_str(&row.parts).unwrap_or_default();
        let dir = PathBuf::from(&row.directory);
        let paths: Vec<PathBuf> = parts.iter().map(|p| dir.join(p)).collect();
        let regular =
            |p: &PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file());
        if !paths.iter().all(regular) {
            // Its writer stopped between registering the archive and renaming the parts (killed,
            // or a peer instance that died). The row is committed, so the `.tmp` parts are whole:
            // finish the renames. `publish` counts a part already in place as done, so a writer
            // still about to rename is not disturbed.
            let (d, p) = (dir.clone(), parts.clone());
            let _ = tokio::task::spawn_blocking(move || archive::publish(&d, &p)).await;
        }
        // A part is a regular file (never a link) inside the data directory: a job archive lives
        // in a home folder that its customer may be able to change.
        let root = self
            .core
            .data_dir()
            .canonicalize()
            .map_err(|e| CoreError::Unavailable(format!("the data directory: {e}")))?;
        for p in &paths {
            let inside = p.canonicalize().is_ok_and(|real| real.starts_with(&root));
            if !regular(p) || !inside {
                return Err(CoreError::Unavailable(format!(
                    "archive file {} is missing",
                    p.display()
                )));
            }
        }
        Ok(ArchiveFiles {
            file_name: row.file_name,
            size: row.size.max(0) as u64,
            paths,
        })
    }

    /// Forget an archive, and delete its files when `remove_files`.
    pub async fn remove(
        &self,
        actor: &Actor,
        id: i64,
        remove_files: bool,
    ) -> CoreResult<BackupArchive> {
        self.archive_row(actor, id).await?;
        self.remove_unchecked(id, remove_files).await
    }

    /// [`Backups::remove`] without the visibility check, for the core itself (pruning). The
    /// files go before the row, so a crash in between leaves a row whose files are missing
    /// (listed, removable), never files that no row tracks; a file that cannot be removed keeps
    /// its row.
    pub(crate) async fn remove_unchecked(
        &self,
        id: i64,
        remove_files: bool,
    ) -> CoreResult<BackupArchive> {
        let row = backup_archives::Entity::find_by_id(id)
            .one(&self.core.db())
            .await?
            .ok_or_else(|| CoreError::not_found(EntityKind::BackupJob, Key::Id(id)))?;
        let archive = to_archive(row.clone());
        if remove_files {
            let dir = Path::new(&row.directory);
            for p in &archive.parts {
                // A part still under its `.tmp` name (a writer stopped before renaming it).
                for path in [dir.join(p), dir.join(crate::archive::tmp_name(p))] {
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(CoreError::Internal(format!(
                                "removing {}: {e}",
                                path.display()
                            )))
                        }
                    }
                }
            }
        }
        backup_archives::Entity::delete_by_id(id)
            .exec(&self.core.db())
            .await?;
        Ok(archive)
    }

    /// The server-wide backup settings (the server owner only).
    pub async fn server_settings(&self, actor: &Actor) -> CoreResult<ServerSettings> {
        self.core
            .authorize(actor, crate::Operation::ServerSettings)?;
        self.server_settings_unchecked().await
    }

    pub(crate) async fn server_settings_unchecked(&self) -> CoreResult<ServerSettings> {
        let s = settings::read_all(self.core.reader()).await?;
        Ok(ServerSettings {
            max_backup_files: s.int("backup.max_backup_files"),
            max_backup_processes: s.int("backup.max_backup_processes").max(1),
            low_priority: s.flag("backup.low_priority"),
            do_not_compress: s.flag("backup.do_not_compress"),
            allow_local_ftp_backup: s.flag("backup.allow_local_ftp_backup"),
            keep_local_backup: s.flag("backup.keep_local_backup"),
        })
    }

    pub async fn set_server_settings(&self, actor: &Actor, new: &ServerSettings) -> CoreResult<()> {
        self.core
            .authorize(actor, crate::Operation::ServerSettings)?;
        let db = &self.core.db();
        let b = |v: bool| if v { "1" } else { "0" };
        settings::write(
            db,
            "backup.max_backup_files",
            &new.max_backup_files.to_string(),
        )
        .await?;
        settings::write(
            db,
            "backup.max_backup_processes",
            &new.max_backup_processes.max(1).to_string(),
        )
        .await?;
        settings::write(db, "backup.low_priority", b(new.low_priority)).await?;
        settings::write(db, "backup.do_not_compress", b(new.do_not_compress)).await?;
        settings::write(
            db,
            "backup.allow_local_ftp_backup",
            b(new.allow_local_ftp_backup),
        )
        .await?;
        settings::write(db, "backup.keep_local_backup", b(new.keep_local_backup)).await?;
        Ok(())
    }

    pub async fn storage_settings(
        &self,
        actor: &Actor,
        scope: BackupScope,
    ) -> CoreResult<Option<FtpSettings>> {
        self.resolve_scope(actor, scope).await?;
        Ok(storage_settings::Entity::find_by_id(scope.key())
            .one(self.core.reader())
            .await?
            .map(|r| FtpSettings {
                host: r.host,
                port: r.port,
                directory: r.directory,
                login: r.login,
                password: r.password,
                passive_mode: r.passive_mode,
                use_ftps: r.use_ftps,
            }))
    }

    pub async fn set_storage_settings(
        &self,
        actor: &Actor,
        scope: BackupScope,
        ftp: FtpSettings,
    ) -> CoreResult<()> {
        self.resolve_scope(actor, scope).await?;
        for (field, value) in [
            ("host", &ftp.host),
            ("directory", &ftp.directory),
            ("login", &ftp.login),
            ("password", &ftp.password),
        ] {
            crate::model::check_text(field, value, crate::model::MAX_FIELD_CHARS)?;
        }
        let db = &self.core.db();
        let key = scope.key();
        let row = storage_settings::ActiveModel {
            scope_key: Set(key.clone()),
            protocol: Set("ftp".into()),
            host: Set(ftp.host),
            port: Set(if ftp.port == 0 { 21 } else { ftp.port }),
            directory: Set(ftp.directory),
            login: Set(ftp.login),
            password: Set(ftp.password),
            passive_mode: Set(ftp.passive_mode),
            use_ftps: Set(ftp.use_ftps),
        };
        if storage_settings::Entity::find_by_id(key)
            .one(db)
            .await?
            .is_some()
        {
            row.update(db).await?;
        } else {
            row.insert(db).await?;
        }
        Ok(())
    }
}

impl Backups<'_> {
    /// The task that executes a Froxlor job (scheduled by the worker when the job is due).
    pub(crate) async fn insert_job_task(
        &self,
        customer: &customers::Model,
        job: &backup_jobs::Model,
    ) -> CoreResult<BackupTask> {
        let info = ScopeInfo {
            owner_admin_id: Some(customer.admin_id),
            customer_id: Some(customer.id),
        };
        let opts = BackupOptions {
            description: format!("Froxlor backup job {}", job.id),
            ..BackupOptions::default()
        };
        self.insert_task(
            BackupScope::Customer(customer.id),
            &info,
            opts,
            Some(job.id),
            job.target_dir.clone(),
            (job.include_databases, job.include_mail, job.include_web),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_dates_are_utc() {
        assert_eq!(stamp(0), "19700101000000");
        assert_eq!(stamp(1_795_386_066), "20261122222106");
        assert_eq!(stamp(951_782_400), "20000229000000");
        assert_eq!(date(951_782_400), "2000-02-29");
    }
}
