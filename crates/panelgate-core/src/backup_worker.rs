//! The backup worker: claims queued tasks, writes archives, keeps its lease alive, and recovers
//! tasks whose worker vanished. Tests drive it synchronously with [`Worker::run_until_idle`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use crate::archive::{self, ArchiveError, Control, Manifest};
use crate::backups::{stamp, BackupScope, Content, TaskState};
use crate::entity::{backup_archives, backup_jobs, backup_tasks, customers, storage_settings};
use crate::error::{CoreError, CoreResult};
use crate::{sequences, Core};

/// Seconds a claim lasts without renewal.
pub const DEFAULT_LEASE_SECS: i64 = 60;

/// One worker (one per panelgate process).
#[derive(Clone)]
pub struct Worker {
    core: Core,
    id: String,
    lease_secs: i64,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Worker {
    pub fn new(core: Core) -> Worker {
        use rand::Rng;
        let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
        Worker {
            core,
            id,
            lease_secs: DEFAULT_LEASE_SECS,
        }
    }

    pub fn with_lease(mut self, secs: i64) -> Worker {
        self.lease_secs = secs.max(3);
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claim one queued task: a conditional update, so of several workers exactly one wins.
    pub async fn claim(&self) -> CoreResult<Option<backup_tasks::Model>> {
        use backup_tasks::Column as T;
        let db = self.core.db();
        let candidates = backup_tasks::Entity::find()
            .filter(T::State.eq(TaskState::Queued.as_str()))
            .order_by_asc(T::Id)
            .limit(16)
            .all(db)
            .await?;
        let now = self.core.now();
        for c in candidates {
            let res = backup_tasks::Entity::update_many()
                .col_expr(T::State, Expr::value(TaskState::Working.as_str()))
                .col_expr(T::ClaimedBy, Expr::value(self.id.clone()))
                .col_expr(T::LeaseUntil, Expr::value(now + self.lease_secs))
                .col_expr(T::StartedAt, Expr::value(now))
                .col_expr(T::Attempts, Expr::col(T::Attempts).add(1))
                .filter(T::Id.eq(c.id))
                .filter(T::State.eq(TaskState::Queued.as_str()))
                .exec(db)
                .await?;
            if res.rows_affected == 1 {
                return Ok(backup_tasks::Entity::find_by_id(c.id).one(db).await?);
            }
        }
        Ok(None)
    }

    /// Run queued tasks (and due Froxlor jobs) one after the other until none is left.
    /// Returns how many tasks ran.
    pub async fn run_until_idle(&self) -> CoreResult<usize> {
        let mut ran = 0;
        loop {
            self.recover_expired().await?;
            match self.claim().await? {
                Some(task) => {
                    self.execute(task).await?;
                    ran += 1;
                }
                None => return Ok(ran),
            }
        }
    }

    /// Tasks whose lease ran out: queued again once, then failed.
    pub async fn recover_expired(&self) -> CoreResult<u64> {
        use backup_tasks::Column as T;
        let db = self.core.db();
        let now = self.core.now();
        let requeued = backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(TaskState::Queued.as_str()))
            .col_expr(T::ClaimedBy, Expr::value(""))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .filter(T::LeaseUntil.lt(now))
            .filter(T::Attempts.lt(crate::backups::MAX_ATTEMPTS))
            .exec(db)
            .await?;
        let failed = backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(TaskState::Failed.as_str()))
            .col_expr(
                T::Error,
                Expr::value("the worker running this task stopped (its lease expired)"),
            )
            .col_expr(T::FinishedAt, Expr::value(now))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .filter(T::LeaseUntil.lt(now))
            .exec(db)
            .await?;
        Ok(requeued.rows_affected + failed.rows_affected)
    }

    /// At startup of a single-instance (SQLite) server: every `working` task was cut off by the
    /// previous process. They are failed, and unfinished archive files are removed.
    pub async fn recover_after_restart(&self) -> CoreResult<u64> {
        use backup_tasks::Column as T;
        let db = self.core.db();
        let res = backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(TaskState::Failed.as_str()))
            .col_expr(
                T::Error,
                Expr::value("interrupted: panelgate stopped while this task was running"),
            )
            .col_expr(T::FinishedAt, Expr::value(self.core.now()))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .exec(db)
            .await?;
        let dir = self.core.storage_dir();
        if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
        Ok(res.rows_affected)
    }

    /// Turn Froxlor jobs planned at least `delay` seconds ago into tasks (Froxlor's cron runs
    /// them the same way). A unique index on the job id keeps two instances from doing it twice.
    pub async fn schedule_due_jobs(&self, delay: i64) -> CoreResult<usize> {
        let db = self.core.db();
        let due = backup_jobs::Entity::find()
            .filter(backup_jobs::Column::CreatedAt.lte(self.core.now() - delay))
            .order_by_asc(backup_jobs::Column::Id)
            .all(db)
            .await?;
        let mut made = 0;
        for job in due {
            let exists = backup_tasks::Entity::find()
                .filter(backup_tasks::Column::JobId.eq(job.id))
                .one(db)
                .await?
                .is_some();
            if exists {
                continue;
            }
            let Some(customer) = customers::Entity::find_by_id(job.customer_id)
                .one(db)
                .await?
            else {
                continue;
            };
            let created = self.core.backups().insert_job_task(&customer, &job).await;
            match created {
                Ok(_) => made += 1,
                Err(e) => tracing::debug!(job = job.id, error = %e, "job already scheduled"),
            }
        }
        Ok(made)
    }

    /// Run the worker until `shutdown` fires: recover, schedule due jobs, claim and execute up to
    /// `max_backup_processes` tasks at once.
    pub async fn run(
        self,
        job_delay: i64,
        poll: Duration,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let running = Arc::new(tokio::sync::Semaphore::new(64));
        let mut shutdown = shutdown;
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.tick(job_delay, &running).await {
                tracing::warn!(error = %e, "backup worker round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn tick(&self, job_delay: i64, running: &Arc<tokio::sync::Semaphore>) -> CoreResult<()> {
        self.recover_expired().await?;
        self.schedule_due_jobs(job_delay).await?;
        let max = self
            .core
            .backups()
            .server_settings()
            .await?
            .max_backup_processes
            .max(1) as usize;
        while 64 - running.available_permits() < max {
            let Some(task) = self.claim().await? else {
                break;
            };
            let Ok(permit) = running.clone().acquire_owned().await else {
                break;
            };
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.execute(task).await {
                    tracing::error!(error = %e, "backup task failed to record its outcome");
                }
                drop(permit);
            });
        }
        Ok(())
    }

    async fn finish_state(&self, id: i64, state: TaskState, error: &str) -> CoreResult<()> {
        use backup_tasks::Column as T;
        backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(state.as_str()))
            .col_expr(T::Error, Expr::value(error))
            .col_expr(T::FinishedAt, Expr::value(self.core.now()))
            .filter(T::Id.eq(id))
            .filter(T::ClaimedBy.eq(self.id.clone()))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .exec(self.core.db())
            .await?;
        Ok(())
    }

    /// Execute a claimed task to its end state.
    pub async fn execute(&self, task: backup_tasks::Model) -> CoreResult<()> {
        let id = task.id;
        tracing::info!(task = id, scope = %task.scope, scope_id = task.scope_id, "backup task started");
        match self.execute_inner(&task).await {
            Ok(()) => Ok(()),
            Err(TaskEnd::Stopped) => {
                tracing::info!(task = id, "backup task stopped");
                self.finish_state(id, TaskState::Stopped, "stopped on request")
                    .await
            }
            Err(TaskEnd::Failed(why)) => {
                tracing::warn!(task = id, error = %why, "backup task failed");
                self.finish_state(id, TaskState::Failed, &why).await
            }
            Err(TaskEnd::Core(e)) => {
                let _ = self
                    .finish_state(id, TaskState::Failed, &e.to_string())
                    .await;
                Err(e)
            }
        }
    }

    async fn execute_inner(&self, task: &backup_tasks::Model) -> Result<(), TaskEnd> {
        let scope = BackupScope::parse(&if task.scope == "server" {
            "server".to_owned()
        } else {
            format!("{}:{}", task.scope, task.scope_id)
        })
        .ok_or_else(|| TaskEnd::Failed(format!("unknown scope {}", task.scope)))?;
        let (manifest, logins) = crate::backup_manifest::build(&self.core, task, scope).await?;
        if task.storage == "ftp" {
            let key = if scope == BackupScope::Server {
                "server".to_owned()
            } else {
                format!("{}:{}", task.scope, task.scope_id)
            };
            let ftp = storage_settings::Entity::find_by_id(key)
                .one(self.core.db())
                .await
                .map_err(|e| TaskEnd::Core(e.into()))?;
            return Err(TaskEnd::Failed(match ftp {
                Some(s) if !s.host.is_empty() => format!(
                    "remote storage ftp://{}:{}/ is configured, but panelgate does not upload to FTP; use local storage",
                    s.host, s.port
                ),
                _ => "remote storage (FTP) is not configured for this scope".to_owned(),
            }));
        }
        let with_files = match task.job_id {
            Some(_) => task.include_web,
            None => matches!(
                Content::parse(&task.content),
                Content::Full | Content::Hosting
            ),
        };
        let mut files = Vec::new();
        if with_files {
            for login in &logins {
                let home = self.core.home_dir(login);
                let login = login.clone();
                let listed =
                    tokio::task::spawn_blocking(move || archive::home_files(&home, &login))
                        .await
                        .map_err(|e| TaskEnd::Failed(e.to_string()))?
                        .map_err(|e| TaskEnd::Failed(format!("reading the home folder: {e}")))?;
                files.extend(listed);
            }
        }
        let total: u64 = files
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let compress = !self
            .core
            .backups()
            .server_settings()
            .await
            .map_err(TaskEnd::Core)?
            .do_not_compress;
        let ext = if compress { "tar.gz" } else { "tar" };
        let (dir, base) = match task.job_id {
            Some(_) => {
                let login = logins.first().cloned().unwrap_or_default();
                let customer = customers::Entity::find_by_id(task.customer_id.unwrap_or(0))
                    .one(self.core.db())
                    .await
                    .map_err(|e| TaskEnd::Core(e.into()))?
                    .ok_or_else(|| {
                        TaskEnd::Failed("the customer of this job no longer exists".into())
                    })?;
                let dir = crate::backups::job_target_dir(
                    &self.core.home_dir(&login),
                    &customer.documentroot,
                    &task.destdir,
                )
                .ok_or_else(|| {
                    TaskEnd::Failed(format!("{} is outside the customer's home", task.destdir))
                })?;
                (
                    dir,
                    format!("backup_{}_{}.{ext}", login, stamp(manifest.created_at)),
                )
            }
            None => {
                let prefix = if task.prefix.is_empty() {
                    "backup"
                } else {
                    task.prefix.as_str()
                };
                let base = format!(
                    "{}_{}_{}_{}_{}.{ext}",
                    crate::backups::safe_name(prefix),
                    task.scope,
                    crate::backups::safe_name(&manifest.scope.name),
                    stamp(manifest.created_at),
                    task.id
                );
                (self.core.storage_dir(), base)
            }
        };
        let control = Arc::new(Control::default());
        let heartbeat = self.spawn_heartbeat(task.id, control.clone(), total);
        let (d, b, m, c) = (dir.clone(), base.clone(), manifest.clone(), control.clone());
        let split = task.split_size.max(0) as u64;
        let written = tokio::task::spawn_blocking(move || {
            archive::write(&d, &b, &m, &files, split, compress, &c)
        })
        .await
        .map_err(|e| TaskEnd::Failed(e.to_string()));
        heartbeat.abort();
        let written = match written? {
            Ok(w) => w,
            Err(ArchiveError::Stopped) => return Err(TaskEnd::Stopped),
            Err(e) => return Err(TaskEnd::Failed(format!("writing the archive: {e}"))),
        };
        if let Err(e) = self
            .record(task, scope, &manifest, &dir, &base, &written)
            .await
        {
            for p in &written.parts {
                let _ = std::fs::remove_file(dir.join(p));
            }
            return Err(e);
        }
        tracing::info!(task = task.id, bytes = written.size, file = %base, "backup task finished");
        if task.job_id.is_none() {
            self.prune(scope).await.map_err(TaskEnd::Core)?;
        }
        Ok(())
    }

    /// Register the archive and finish the task in one transaction; a worker that lost its
    /// claim records nothing.
    async fn record(
        &self,
        task: &backup_tasks::Model,
        scope: BackupScope,
        manifest: &Manifest,
        dir: &std::path::Path,
        base: &str,
        written: &archive::Written,
    ) -> Result<(), TaskEnd> {
        use backup_tasks::Column as T;
        let core_err = |e: sea_orm::DbErr| TaskEnd::Core(e.into());
        let txn = self.core.db().begin().await.map_err(core_err)?;
        let archive_id = sequences::next_id(&txn, sequences::BACKUP_ARCHIVES)
            .await
            .map_err(TaskEnd::Core)?;
        let updated = backup_tasks::Entity::update_many()
            .col_expr(T::State, Expr::value(TaskState::Finished.as_str()))
            .col_expr(T::Progress, Expr::value(100))
            .col_expr(T::ArchiveId, Expr::value(archive_id))
            .col_expr(T::FinishedAt, Expr::value(self.core.now()))
            .filter(T::Id.eq(task.id))
            .filter(T::ClaimedBy.eq(self.id.clone()))
            .filter(T::State.eq(TaskState::Working.as_str()))
            .exec(&txn)
            .await
            .map_err(core_err)?;
        if updated.rows_affected != 1 {
            return Err(TaskEnd::Failed(
                "the task was taken over by another worker".into(),
            ));
        }
        backup_archives::ActiveModel {
            id: Set(archive_id),
            task_id: Set(Some(task.id)),
            scope: Set(scope.kind().into()),
            scope_id: Set(scope.id()),
            scope_name: Set(manifest.scope.name.clone()),
            owner_admin_id: Set(task.owner_admin_id),
            customer_id: Set(task.customer_id),
            created_at: Set(manifest.created_at),
            size: Set(written.size as i64),
            sha256: Set(written.sha256.clone()),
            description: Set(task.description.clone()),
            prefix: Set(task.prefix.clone()),
            storage: Set(if task.job_id.is_some() {
                "home".into()
            } else {
                "local".into()
            }),
            directory: Set(dir.to_string_lossy().into_owned()),
            file_name: Set(base.to_owned()),
            parts: Set(serde_json::to_string(&written.parts).unwrap_or_default()),
            manifest_version: Set(manifest.version),
            items: Set(serde_json::to_string(&manifest.items).unwrap_or_default()),
        }
        .insert(&txn)
        .await
        .map_err(core_err)?;
        if let Some(job) = task.job_id {
            backup_jobs::Entity::delete_by_id(job)
                .exec(&txn)
                .await
                .map_err(core_err)?;
        }
        txn.commit().await.map_err(core_err)?;
        Ok(())
    }

    /// Keep at most `max_backup_files` local archives per scope; the oldest go first.
    async fn prune(&self, scope: BackupScope) -> CoreResult<()> {
        let max = self
            .core
            .backups()
            .server_settings()
            .await?
            .max_backup_files;
        if max <= 0 {
            return Ok(());
        }
        let rows = backup_archives::Entity::find()
            .filter(backup_archives::Column::Scope.eq(scope.kind()))
            .filter(backup_archives::Column::ScopeId.eq(scope.id()))
            .filter(backup_archives::Column::Storage.eq("local"))
            .order_by_desc(backup_archives::Column::CreatedAt)
            .order_by_desc(backup_archives::Column::Id)
            .all(self.core.db())
            .await?;
        for old in rows.into_iter().skip(max as usize) {
            self.core
                .backups()
                .remove(&crate::model::Actor::System, old.id, true)
                .await?;
        }
        Ok(())
    }

    fn spawn_heartbeat(
        &self,
        task_id: i64,
        control: Arc<Control>,
        total: u64,
    ) -> tokio::task::JoinHandle<()> {
        let core = self.core.clone();
        let me = self.id.clone();
        let lease = self.lease_secs;
        tokio::spawn(async move {
            use backup_tasks::Column as T;
            let period = Duration::from_millis(((lease * 1000) / 3).clamp(200, 20_000) as u64);
            loop {
                tokio::time::sleep(period.min(Duration::from_millis(500))).await;
                let done = control.bytes_in.load(Ordering::Relaxed);
                let progress = done
                    .saturating_mul(99)
                    .checked_div(total)
                    .map_or(50, |p| p.min(99) as i64);
                let _ = backup_tasks::Entity::update_many()
                    .col_expr(T::LeaseUntil, Expr::value(core.now() + lease))
                    .col_expr(T::Progress, Expr::value(progress))
                    .filter(T::Id.eq(task_id))
                    .filter(T::ClaimedBy.eq(me.clone()))
                    .exec(core.db())
                    .await;
                if let Ok(Some(row)) = backup_tasks::Entity::find_by_id(task_id)
                    .one(core.db())
                    .await
                {
                    if row.stop_requested || row.claimed_by != me {
                        control.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        })
    }
}

pub(crate) enum TaskEnd {
    Stopped,
    Failed(String),
    Core(CoreError),
}
