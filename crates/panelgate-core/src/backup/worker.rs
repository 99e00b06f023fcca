//! The backup worker: claims queued tasks, writes archives, keeps its lease alive, and recovers
//! tasks whose worker vanished. Tests drive it synchronously with [`Worker::run_until_idle`].
//!
//! # Archive files and crashes
//! A final-named archive file exists only while a committed `backup_archives` row names it:
//! 1. the parts are written under `<part>.tmp` names (`archive::write`);
//! 2. the archive row (with the final part names) is inserted and the task finished in one
//!    transaction, which commits;
//! 3. only then are the `.tmp` files renamed to their final names (`archive::publish`). If that
//!    fails, the files are removed first and then the row, and the task is failed.
//!
//! Removing an archive (pruning, [`crate::backups::Backups::remove`]) deletes its files before its
//! row. So a crash leaves either `.tmp` files nobody registered (step 1 or 2: removed by
//! [`Worker::remove_orphan_tmp_files`] once older than the lease, or at once by
//! [`Worker::recover_after_restart`]), or a registered archive whose parts are still `.tmp`
//! (step 3: the same sweep renames them), or a row whose files are gone (visible, removable) —
//! never a final-named file that no row tracks.
//!
//! CPU-heavy work (listing home folders, building and compressing archives, sweeping) runs on
//! the core's bounded CPU pool, not on tokio's unbounded blocking threads.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
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
    /// When this worker last took over tasks whose worker had stopped: that worker's temporary
    /// files are removed once they are a lease old (see [`Worker::recover_expired`]).
    dead_writer_seen: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A task this worker holds the lease on ([`Worker::claim`]); [`Worker::execute`] runs it.
#[derive(Debug)]
pub struct Claim(backup_tasks::Model);

impl Claim {
    pub fn task_id(&self) -> i64 {
        self.0.id
    }
}

impl Worker {
    pub fn new(core: Core) -> Worker {
        use rand::Rng;
        let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
        let lease_secs = i64::try_from(core.limits().task_lease_secs)
            .unwrap_or(DEFAULT_LEASE_SECS)
            .max(3);
        Worker {
            core,
            id,
            lease_secs,
            dead_writer_seen: Arc::default(),
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
    pub async fn claim(&self) -> CoreResult<Option<Claim>> {
        use backup_tasks::Column as T;
        // Looking is a read: an idle poll does not count as a write (which would empty the read
        // cache several times a second).
        let candidates = backup_tasks::Entity::find()
            .filter(T::State.eq(TaskState::Queued.as_str()))
            .order_by_asc(T::Id)
            .limit(16)
            .all(self.core.reader())
            .await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let db = &self.core.db();
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
                return Ok(backup_tasks::Entity::find_by_id(c.id)
                    .one(db)
                    .await?
                    .map(Claim));
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
        let now = self.core.now();
        let expired = backup_tasks::Entity::find()
            .filter(T::State.eq(TaskState::Working.as_str()))
            .filter(T::LeaseUntil.lt(now))
            .one(self.core.reader())
            .await?;
        if expired.is_none() {
            return Ok(0);
        }
        let db = &self.core.db();
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

    /// At startup of a single-instance (SQLite) server, before it serves requests or runs the
    /// worker: every `working` task was cut off by the previous process. They are failed, and
    /// panelgate's `.tmp` files are swept whatever their age (nothing else can be writing them):
    /// see [`Worker::remove_orphan_tmp_files`].
    pub async fn recover_after_restart(&self) -> CoreResult<u64> {
        use backup_tasks::Column as T;
        let db = &self.core.db();
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
        self.sweep_tmp(Duration::ZERO).await?;
        Ok(res.rows_affected)
    }

    /// A lease after tasks of a stopped worker were taken over, remove the temporary files that
    /// worker left (they have not been written to for a lease: live writers renew their lease
    /// as they write). Without this, with several instances on one database, the files of an
    /// instance that was killed would stay until an instance starts again.
    async fn sweep_after_dead_writer(&self) -> CoreResult<()> {
        let lease = Duration::from_secs(self.lease_secs.max(0) as u64);
        let due = {
            let seen = self
                .dead_writer_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            seen.is_some_and(|at| at.elapsed() >= lease)
        };
        if due {
            let removed = self.sweep_tmp(lease).await?;
            if removed > 0 {
                tracing::warn!(
                    files = removed,
                    "removed temporary files of a stopped worker"
                );
            }
            *self
                .dead_writer_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
        }
        Ok(())
    }

    /// Remove panelgate's leftover temporary files, on every backend: archive parts being
    /// written (`<archive>.tar[.gz][.NNN].tmp` in local storage, `backup_<login>_<stamp>…tmp` in
    /// Froxlor job folders), uploads (`upload_<hex>.tmp` in local storage) and files being
    /// restored (`<name>.pg-restore-<hex>.tmp` in home folders). Looks in local storage and in the
    /// whole `homes/` tree (symbolic links are not followed).
    ///
    /// Only files older than the lease time go, so a running peer instance's files stay (the
    /// parts of one archive are judged by the newest of them). The `.tmp` parts of a registered
    /// archive (a writer that stopped between commit and rename) are renamed to their final
    /// names instead of removed. Returns how many files were removed.
    pub async fn remove_orphan_tmp_files(&self) -> CoreResult<u64> {
        self.sweep_tmp(Duration::from_secs(self.lease_secs.max(0) as u64))
            .await
    }

    async fn sweep_tmp(&self, min_age: Duration) -> CoreResult<u64> {
        // Read the rows before looking at the files: a row committed later belongs to a writer
        // whose files are younger than `min_age` (or, with zero, to no writer at all).
        let mut registered: HashMap<PathBuf, PathBuf> = HashMap::new();
        for (dir, parts) in self.registered_archives().await? {
            for p in parts {
                registered.insert(dir.join(archive::tmp_name(&p)), dir.join(p));
            }
        }
        let storage = self.core.storage_dir();
        let homes = self.core.homes_dir();
        let (removed, renamed) = self
            .core
            .cpu()
            .run(move || sweep_tmp_files(&storage, &homes, &registered, min_age))
            .await?;
        if removed + renamed > 0 {
            tracing::info!(
                removed,
                renamed,
                "swept temporary backup files left by an interrupted run"
            );
        }
        Ok(removed)
    }

    /// Every archive row: its directory and part names.
    async fn registered_archives(&self) -> CoreResult<Vec<(PathBuf, Vec<String>)>> {
        let rows = backup_archives::Entity::find().all(&self.core.db()).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let parts: Vec<String> = serde_json::from_str(&r.parts).unwrap_or_default();
                (PathBuf::from(r.directory), parts)
            })
            .collect())
    }

    /// The files of every registered archive, under their final and their `.tmp` names (left out
    /// when a home folder is archived).
    async fn registered_part_paths(&self) -> CoreResult<HashSet<PathBuf>> {
        let mut out = HashSet::new();
        for (dir, parts) in self.registered_archives().await? {
            for p in parts {
                out.insert(dir.join(archive::tmp_name(&p)));
                out.insert(dir.join(p));
            }
        }
        Ok(out)
    }

    /// Turn Froxlor jobs planned at least `delay` seconds ago into tasks (Froxlor's cron runs
    /// them the same way). A unique index on the job id keeps two instances from doing it twice.
    pub async fn schedule_due_jobs(&self, delay: i64) -> CoreResult<usize> {
        // Reads; `insert_job_task` writes.
        let db = self.core.reader();
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
                // Too many tasks queued for this customer: the job waits for a later round.
                Err(CoreError::Conflict(why)) => {
                    tracing::info!(job = job.id, reason = %why, "job not scheduled yet")
                }
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
        // This process may follow one killed a moment ago, whose temporary files were younger
        // than a lease when the start-up sweep ran: sweep again once they are a lease old.
        self.dead_writer_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(std::time::Instant::now);
        let mut shutdown = shutdown;
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.core.worker_beat();
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
        if self.recover_expired().await? > 0 {
            let mut seen = self
                .dead_writer_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            seen.get_or_insert_with(std::time::Instant::now);
        }
        self.sweep_after_dead_writer().await?;
        self.schedule_due_jobs(job_delay).await?;
        let max = self
            .core
            .backups()
            .server_settings_unchecked()
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
            .exec(&self.core.db())
            .await?;
        Ok(())
    }

    /// Execute a claimed task to its end state.
    pub async fn execute(&self, claim: Claim) -> CoreResult<()> {
        let task = claim.0;
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
                .one(&self.core.db())
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
        let mut total = 0u64;
        if with_files {
            // Earlier archives kept in a home folder (Froxlor jobs) are not archived again.
            let registered = Arc::new(self.registered_part_paths().await.map_err(TaskEnd::Core)?);
            for login in &logins {
                let home = home_of(&self.core, login)?;
                let login = login.clone();
                let exclude = registered.clone();
                let (listed, size) = self
                    .core
                    .cpu()
                    .run(move || {
                        let listed = archive::home_files(&home, &login, &exclude)?;
                        let size: u64 = listed
                            .iter()
                            .filter_map(|(_, p)| std::fs::symlink_metadata(p).ok())
                            .map(|m| m.len())
                            .sum();
                        Ok::<_, std::io::Error>((listed, size))
                    })
                    .await
                    .map_err(|e| TaskEnd::Failed(e.to_string()))?
                    .map_err(|e| TaskEnd::Failed(format!("reading the home folder: {e}")))?;
                files.extend(listed);
                total = total.saturating_add(size);
            }
        }
        let compress = !self
            .core
            .backups()
            .server_settings_unchecked()
            .await
            .map_err(TaskEnd::Core)?
            .do_not_compress;
        let ext = if compress { "tar.gz" } else { "tar" };
        let (dir, base) = match task.job_id {
            Some(_) => {
                let login = logins.first().cloned().unwrap_or_default();
                let exists = customers::Entity::find_by_id(task.customer_id.unwrap_or(0))
                    .one(&self.core.db())
                    .await
                    .map_err(|e| TaskEnd::Core(e.into()))?
                    .is_some();
                if !exists {
                    return Err(TaskEnd::Failed(
                        "the customer of this job no longer exists".into(),
                    ));
                }
                let home = home_of(&self.core, &login)?;
                // The job's folder inside the home (the task keeps the job's `target_dir`). A job
                // planned before target folders existed has none: its archive goes to the home.
                let dir = if task.destdir.is_empty() {
                    home.clone()
                } else if crate::backup_jobs::is_relative_folder(&task.destdir) {
                    home.join(&task.destdir)
                } else {
                    return Err(TaskEnd::Failed(format!(
                        "{} is outside the customer's home",
                        task.destdir
                    )));
                };
                ensure_inside(&home, &dir, &task.destdir).await?;
                (
                    dir,
                    // The task id keeps two jobs of one second apart.
                    format!(
                        "backup_{}_{}_{}.{ext}",
                        login,
                        stamp(manifest.created_at),
                        task.id
                    ),
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

        // 1. Write the parts under `.tmp` names.
        // A fault rule's `fail_task`: fail once the progress (bytes read of `total`, as the
        // heartbeat counts it) reaches the rule's percentage.
        let fail_at = task.fail_at.map(|p| p.clamp(0, 99) as u64);
        let control = Arc::new(Control {
            fail_after: fail_at.map(|p| (total.saturating_mul(p)).div_ceil(99)),
            ..Control::default()
        });
        let heartbeat = self.spawn_heartbeat(task.id, control.clone(), total);
        let (d, b, m, c) = (dir.clone(), base.clone(), manifest.clone(), control.clone());
        let split = task.split_size.max(0) as u64;
        let limits = archive::ReadLimits::from(self.core.limits());
        let written = self
            .core
            .cpu()
            .run(move || archive::write(&d, &b, &m, &files, split, compress, limits, &c))
            .await;
        heartbeat.abort();
        let written = match written {
            Ok(Ok(w)) => w,
            Ok(Err(ArchiveError::Stopped)) => return Err(TaskEnd::Stopped),
            Ok(Err(ArchiveError::Injected)) => {
                let at = fail_at.unwrap_or_default() as i64;
                backup_tasks::Entity::update_many()
                    .col_expr(backup_tasks::Column::Progress, Expr::value(at))
                    .filter(backup_tasks::Column::Id.eq(task.id))
                    .exec(&self.core.db())
                    .await
                    .map_err(|e| TaskEnd::Core(e.into()))?;
                return Err(TaskEnd::Failed(format!(
                    "an injected fault (fault rule) at {at}%"
                )));
            }
            Ok(Err(e)) => return Err(TaskEnd::Failed(format!("writing the archive: {e}"))),
            Err(e) => {
                // The writing thread died: whatever it left is unregistered.
                let (d, b) = (dir.clone(), base.clone());
                let _ = self
                    .core
                    .cpu()
                    .run(move || archive::remove_tmp(&d, &b))
                    .await;
                return Err(TaskEnd::Failed(format!("writing the archive: {e}")));
            }
        };

        // 2. Register the archive and finish the task (one transaction).
        let archive_id = match self
            .record(task, scope, &manifest, &dir, &base, &written)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                for p in &written.parts {
                    let _ = tokio::fs::remove_file(dir.join(archive::tmp_name(p))).await;
                }
                return Err(e);
            }
        };

        // 3. Give the parts their final names. Renames, not CPU work: this must not wait behind
        // archive builds for a pool permit while the row already names the final files.
        let (d, parts) = (dir.clone(), written.parts.clone());
        let published = tokio::task::spawn_blocking(move || archive::publish(&d, &parts))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        if let Err(why) = published {
            return Err(self
                .unpublish(task.id, archive_id, &dir, &written.parts, &why)
                .await);
        }
        tracing::info!(task = task.id, bytes = written.size, file = %base, "backup task finished");
        if let Err(e) = self.prune(scope, archive_id).await {
            tracing::warn!(task = task.id, error = %e, "pruning old archives failed");
        }
        Ok(())
    }

    /// Register the archive (with its final part names) and finish the task in one
    /// transaction; a worker that lost its claim records nothing. Returns the archive id.
    async fn record(
        &self,
        task: &backup_tasks::Model,
        scope: BackupScope,
        manifest: &Manifest,
        dir: &Path,
        base: &str,
        written: &archive::Written,
    ) -> Result<i64, TaskEnd> {
        use backup_tasks::Column as T;
        let core_err = |e: sea_orm::DbErr| TaskEnd::Core(e.into());
        let txn = self.core.begin().await.map_err(core_err)?;
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
            .filter(T::StopRequested.eq(false))
            .exec(&txn)
            .await
            .map_err(core_err)?;
        if updated.rows_affected != 1 {
            return Err(TaskEnd::Failed(
                "the task was stopped, or taken over by another worker".into(),
            ));
        }
        // A customer deleted while its backup was written gets no archive (its files and
        // records must not outlive it).
        if let Some(customer) = task.customer_id {
            let alive = customers::Entity::find_by_id(customer)
                .one(&txn)
                .await
                .map_err(core_err)?
                .is_some();
            if !alive {
                return Err(TaskEnd::Failed(
                    "the customer was deleted while the backup was written".into(),
                ));
            }
            self.check_order_storage(&txn, customer, written.size)
                .await?;
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
        Ok(archive_id)
    }

    /// A customer with backup orders keeps its archives within their storage: the new archive
    /// is refused when the customer's archives would take more than its active orders give.
    async fn check_order_storage(
        &self,
        txn: &crate::cache::Txn,
        customer: i64,
        new_size: u64,
    ) -> Result<(), TaskEnd> {
        use crate::orders::Allowance;
        let allowance = crate::orders::storage_allowance(txn, customer, self.core.now())
            .await
            .map_err(TaskEnd::Core)?;
        let Allowance::Limited { gb, idle } = allowance else {
            return Ok(());
        };
        let unit = self.core.limits().order_storage_unit_bytes.max(1);
        let limit = (gb.max(0) as u64).saturating_mul(unit);
        let used: u64 = backup_archives::Entity::find()
            .filter(backup_archives::Column::CustomerId.eq(customer))
            .all(txn)
            .await
            .map_err(|e| TaskEnd::Core(e.into()))?
            .iter()
            .map(|a| a.size.max(0) as u64)
            .sum();
        let total = used.saturating_add(new_size);
        if total <= limit {
            return Ok(());
        }
        let why = if gb == 0 {
            let reasons: Vec<String> = idle
                .iter()
                .map(|(id, why)| format!("backup order {id} {why}"))
                .collect();
            format!(
                "no active backup order gives this customer storage ({})",
                reasons.join(", ")
            )
        } else {
            format!(
                "the customer's backup orders give {gb} GB ({limit} bytes); its archives would take {total} bytes ({used} stored + {new_size} new)"
            )
        };
        Err(TaskEnd::Failed(format!("backup storage exceeded: {why}")))
    }

    /// The archive row is committed but its parts could not be given their final names: remove
    /// the files first (so no final-named file outlives its row), then the row, and fail the
    /// task.
    async fn unpublish(
        &self,
        task_id: i64,
        archive_id: i64,
        dir: &Path,
        parts: &[String],
        why: &str,
    ) -> TaskEnd {
        use backup_tasks::Column as T;
        tracing::warn!(task = task_id, archive = archive_id, error = %why, "publishing the archive failed");
        for p in parts {
            let _ = tokio::fs::remove_file(dir.join(p)).await;
            let _ = tokio::fs::remove_file(dir.join(archive::tmp_name(p))).await;
        }
        let message = format!("publishing the archive: {why}");
        let error = message.clone();
        let undo = async move {
            let txn = self.core.begin().await?;
            backup_archives::Entity::delete_by_id(archive_id)
                .exec(&txn)
                .await?;
            backup_tasks::Entity::update_many()
                .col_expr(T::State, Expr::value(TaskState::Failed.as_str()))
                .col_expr(T::Error, Expr::value(error))
                .col_expr(T::ArchiveId, Expr::value(None::<i64>))
                .col_expr(T::FinishedAt, Expr::value(self.core.now()))
                .filter(T::Id.eq(task_id))
                .filter(T::ArchiveId.eq(archive_id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            Ok::<(), sea_orm::DbErr>(())
        };
        match undo.await {
            Ok(()) => TaskEnd::Failed(message),
            Err(e) => TaskEnd::Core(e.into()),
        }
    }

    /// Keep at most `limits.archives_per_scope` archives per scope (any storage: local or a
    /// Froxlor job folder), and of the local ones at most `max_backup_files` when that is set;
    /// the oldest go first, files and all. The archive just made (`made`) is always kept and
    /// counted first.
    async fn prune(&self, scope: BackupScope, made: i64) -> CoreResult<()> {
        let max_files = self
            .core
            .backups()
            .server_settings_unchecked()
            .await?
            .max_backup_files;
        let cap = (self.core.limits().archives_per_scope as usize).max(1);
        let local_cap = if max_files > 0 {
            (max_files as usize).min(cap)
        } else {
            cap
        };
        let rows = backup_archives::Entity::find()
            .filter(backup_archives::Column::Scope.eq(scope.kind()))
            .filter(backup_archives::Column::ScopeId.eq(scope.id()))
            // Only archives this engine made: an upload is never pruned, so no import (with
            // whatever date its manifest claims) can push a tenant's own backups out.
            .filter(backup_archives::Column::TaskId.is_not_null())
            .order_by_desc(backup_archives::Column::CreatedAt)
            .order_by_desc(backup_archives::Column::Id)
            .all(&self.core.db())
            .await?;
        let made_local = rows.iter().any(|r| r.id == made && r.storage == "local");
        let (mut kept, mut kept_local) = (1usize, usize::from(made_local));
        for row in rows.into_iter().filter(|r| r.id != made) {
            let local = row.storage == "local";
            if kept >= cap || (local && kept_local >= local_cap) {
                if let Err(e) = self.core.backups().remove_unchecked(row.id, true).await {
                    tracing::warn!(archive = row.id, error = %e, "removing an old archive failed");
                }
                continue;
            }
            kept += 1;
            if local {
                kept_local += 1;
            }
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
                    .exec(&core.db())
                    .await;
                if let Ok(Some(row)) = backup_tasks::Entity::find_by_id(task_id)
                    .one(&core.db())
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

/// A customer's home folder, or the task fails (a login that cannot name a folder).
fn home_of(core: &Core, login: &str) -> Result<PathBuf, TaskEnd> {
    core.home_dir(login)
        .map_err(|e| TaskEnd::Failed(format!("the home folder of {login:?}: {e}")))
}

/// A Froxlor job folder must really be inside the customer's home: create it, then compare the
/// resolved paths, so a symbolic link placed by the customer cannot send the archive elsewhere.
async fn ensure_inside(home: &Path, dir: &Path, destdir: &str) -> Result<(), TaskEnd> {
    let fail = |e: std::io::Error| TaskEnd::Failed(format!("preparing {destdir}: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    let real_home = tokio::fs::canonicalize(home).await.map_err(fail)?;
    let real_dir = tokio::fs::canonicalize(dir).await.map_err(fail)?;
    if real_dir.starts_with(&real_home) {
        Ok(())
    } else {
        Err(TaskEnd::Failed(format!(
            "{destdir} leads outside the customer's home"
        )))
    }
}

/// A `.tmp` file a sweep found, and the group it is judged with: the parts of one archive go
/// together (an archive being written has finished, untouched parts next to the current one).
struct TmpFile {
    path: PathBuf,
    group: PathBuf,
    modified: SystemTime,
}

/// Is `name` (in `dir`) one of panelgate's temporary files? Returns its group.
fn tmp_group(dir: &Path, name: &str, in_storage: bool) -> Option<PathBuf> {
    if in_storage && archive::is_upload_tmp_name(name) {
        return Some(dir.join(name));
    }
    if !in_storage && archive::is_restore_tmp_name(name) {
        return Some(dir.join(name));
    }
    let base = archive::archive_tmp_base(name)?;
    // Local storage is panelgate's own; in a home folder only the job archive names are ours.
    (in_storage || archive::is_job_archive_name(base)).then(|| dir.join(base))
}

fn io_error(e: walkdir::Error) -> std::io::Error {
    std::io::Error::other(e)
}

fn collect_tmp(root: &Path, in_storage: bool, out: &mut Vec<TmpFile>) {
    // Local storage is flat; home folders are walked whole. Links are never followed, and
    // unreadable folders are passed over.
    let depth = if in_storage { 1 } else { usize::MAX };
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .max_depth(depth);
    for entry in walk.into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(dir) = entry.path().parent() else {
            continue;
        };
        let name = entry.file_name();
        let Some(group) = name.to_str().and_then(|n| tmp_group(dir, n, in_storage)) else {
            continue;
        };
        let Ok(modified) = entry
            .metadata()
            .map_err(io_error)
            .and_then(|m| m.modified())
        else {
            continue;
        };
        out.push(TmpFile {
            path: entry.path().to_path_buf(),
            group,
            modified,
        });
    }
}

/// Remove (or, when registered, rename into place) the temporary files in local storage and
/// under `homes` whose group was last written at least `min_age` ago. Returns (removed, renamed).
fn sweep_tmp_files(
    storage: &Path,
    homes: &Path,
    registered: &HashMap<PathBuf, PathBuf>,
    min_age: Duration,
) -> (u64, u64) {
    let mut found = Vec::new();
    collect_tmp(storage, true, &mut found);
    collect_tmp(homes, false, &mut found);
    let mut newest: HashMap<PathBuf, SystemTime> = HashMap::new();
    for f in &found {
        let t = newest.entry(f.group.clone()).or_insert(f.modified);
        if f.modified > *t {
            *t = f.modified;
        }
    }
    let now = SystemTime::now();
    let (mut removed, mut renamed) = (0u64, 0u64);
    for f in found {
        let last = newest.get(&f.group).copied().unwrap_or(f.modified);
        if now.duration_since(last).unwrap_or(Duration::ZERO) < min_age {
            continue;
        }
        if let Some(target) = registered.get(&f.path) {
            match std::fs::rename(&f.path, target) {
                Ok(()) => {
                    renamed += 1;
                    if let Some(parent) = target.parent() {
                        if let Ok(d) = std::fs::File::open(parent) {
                            let _ = d.sync_all();
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %f.path.display(), error = %e, "renaming a registered archive part failed")
                }
            }
            continue;
        }
        match std::fs::remove_file(&f.path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %f.path.display(), error = %e, "removing a temporary file failed")
            }
        }
    }
    (removed, renamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, age: Duration) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn regression_issue7_defect15_sweep_removes_only_panelgate_tmp_files() {
        let root = std::env::temp_dir().join(format!("pg-sweep-{:016x}", rand::random::<u64>()));
        let storage = root.join("backups");
        let homes = root.join("homes");
        let hour = Duration::from_secs(3600);
        let old = 2 * hour;

        let upload = storage.join("upload_0123456789abcdef.tmp");
        let part = storage.join("backup_customer_jdoe_20240101000000_7.tar.gz.001.tmp");
        let imported = storage.join("imported_customer_jdoe_3.tar.gz");
        // An archive being written: its first part is old, its current part fresh.
        let busy_old = storage.join("backup_server_server_20240101000000_8.tar.002.tmp");
        let busy_new = storage.join("backup_server_server_20240101000000_8.tar.003.tmp");
        let restore = homes
            .join("jdoe")
            .join("www")
            .join(".index.html.pg-restore-0badf00d.tmp");
        let own = homes.join("jdoe").join("notes.tmp");
        let own_archive = homes.join("jdoe").join("site.tar.gz.tmp");
        let job_dir = homes.join("jdoe").join("my backups");
        let registered_tmp = job_dir.join("backup_jdoe_20240101000000.tar.gz.tmp");
        let registered_final = job_dir.join("backup_jdoe_20240101000000.tar.gz");
        let orphan_job = job_dir.join("backup_jdoe_20240202000000.tar.gz.tmp");
        for p in [
            &upload,
            &part,
            &imported,
            &busy_old,
            &restore,
            &own,
            &own_archive,
            &registered_tmp,
            &orphan_job,
        ] {
            touch(p, old);
        }
        touch(&busy_new, Duration::ZERO);
        // A symbolic link out of a home is not followed.
        let outside = root.join("outside");
        let outside_tmp = outside.join("x.pg-restore-0badf00d.tmp");
        touch(&outside_tmp, old);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, homes.join("jdoe").join("link")).unwrap();

        let registered: HashMap<PathBuf, PathBuf> =
            [(registered_tmp.clone(), registered_final.clone())]
                .into_iter()
                .collect();

        // Everything is younger than a day: nothing happens.
        assert_eq!(
            sweep_tmp_files(&storage, &homes, &registered, 24 * hour),
            (0, 0)
        );
        assert!(upload.exists() && registered_tmp.exists());

        assert_eq!(sweep_tmp_files(&storage, &homes, &registered, hour), (4, 1));
        for gone in [&upload, &part, &restore, &orphan_job, &registered_tmp] {
            assert!(!gone.exists(), "{} is still there", gone.display());
        }
        for kept in [
            &imported,
            &busy_old,
            &busy_new,
            &own,
            &own_archive,
            &registered_final,
            &outside_tmp,
        ] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
