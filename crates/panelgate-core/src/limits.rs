//! The limits a hostile tenant meets in the core, each a setting with a safe default (the server
//! reads them from flags, environment and the TOML file), and the bounded pool that CPU-heavy
//! work (hashing, archive building and checking) runs on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{CoreError, CoreResult};

/// Limits applied by the core. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Failed logins per source address and login per minute; past it, that pair is refused
    /// (with the panel's own auth error) without hashing until the minute is over.
    pub failed_logins_per_minute: u32,
    /// Failed logins per source address per minute, whatever the login.
    pub failed_logins_per_address_per_minute: u32,
    /// Backup tasks a customer (or reseller, or the server scope) may have queued or working.
    pub tasks_queued_per_scope: u32,
    /// Planned backup jobs (Froxlor `CustomerBackups`/`DataDump`) per customer.
    pub jobs_per_customer: u32,
    /// API keys (Froxlor keys, Plesk secret keys) per account.
    pub keys_per_account: u32,
    /// The smallest split size of an archive, in bytes (a smaller one is raised to it).
    pub min_split_size: u64,
    /// Archives kept per customer (and per reseller or server scope): the oldest go first.
    /// Applies when the server setting `max_backup_files` is unlimited (0) or larger.
    pub archives_per_scope: u32,
    /// Total unpacked size of an archive that import or restore accepts, in bytes.
    pub max_unpacked_size: u64,
    /// Entries in an archive that import or restore accepts.
    pub max_archive_entries: u64,
    /// Bytes of one tar header extension (long name, PAX record set) or of `checksums.json`
    /// and the manifest.
    pub max_archive_header: u64,
    /// Hashes and archive jobs that run at once (0: the number of cores).
    pub cpu_workers: usize,
    /// Bytes in one GB of a backup order's storage (the archives of a customer with backup
    /// orders may take `storage-size-gb` × this). Default 10^9, as the orders are sold.
    pub order_storage_unit_bytes: u64,
    /// Request journal entries kept (the oldest go first; 0 turns the journal off).
    pub journal_max_entries: u64,
    /// Bytes of request journal texts kept (the oldest entries go first; 0 turns it off).
    pub journal_max_bytes: u64,
    /// Snapshots kept in the data folder at most (`POST /_panelgate/snapshots` refuses more).
    pub max_snapshots: u32,
    /// Seconds a backup task's lease lasts (renewed while the task writes). A task whose worker
    /// stopped is taken up again (or failed) once its lease ran out, and the stopped worker's
    /// temporary files are removed a lease later. At least 3.
    pub task_lease_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            failed_logins_per_minute: 30,
            failed_logins_per_address_per_minute: 300,
            tasks_queued_per_scope: 10,
            jobs_per_customer: 10,
            keys_per_account: 100,
            min_split_size: 1024 * 1024,
            archives_per_scope: 20,
            max_unpacked_size: 16 * 1024 * 1024 * 1024,
            max_archive_entries: 1_000_000,
            max_archive_header: 16 * 1024 * 1024,
            cpu_workers: 0,
            order_storage_unit_bytes: 1_000_000_000,
            journal_max_entries: 10_000,
            journal_max_bytes: 64 * 1024 * 1024,
            max_snapshots: 32,
            task_lease_secs: 60,
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Runs CPU-heavy closures off the async workers, at most `permits` at a time. Password hashes
/// run on `permits` dedicated threads: argon2 allocates 19 MiB per hash, and memory a thread's
/// allocator arena got back stays with that arena, so a hash on any of the hundreds of blocking
/// threads would leave tens of MiB behind on each.
#[derive(Clone, Debug)]
pub(crate) struct CpuPool {
    permits: Arc<Semaphore>,
    hashes: Arc<AtomicU64>,
    hash_jobs: std::sync::mpsc::Sender<Job>,
}

impl CpuPool {
    pub(crate) fn new(workers: usize) -> CpuPool {
        let n = if workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            workers
        };
        let (hash_jobs, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for i in 0..n {
            let jobs = jobs.clone();
            // The threads end when the last clone of the pool (its sender) is gone.
            let spawned = std::thread::Builder::new()
                .name(format!("panelgate-hash-{i}"))
                .spawn(move || loop {
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job drops its answer channel: the caller gets an error.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a hashing thread");
            }
        }
        CpuPool {
            permits: Arc::new(Semaphore::new(n)),
            hashes: Arc::new(AtomicU64::new(0)),
            hash_jobs,
        }
    }

    /// Run `f` on the blocking pool once a permit is free.
    pub(crate) async fn run<R, F>(&self, f: F) -> CoreResult<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| CoreError::Internal(format!("worker thread failed: {e}")))
    }

    /// Run a password hash or verification (counted).
    pub(crate) async fn hash<R, F>(&self, f: F) -> CoreResult<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.hashes.fetch_add(1, Ordering::Relaxed);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.hash_jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| CoreError::Internal("the hashing threads are gone".into()))?;
        rx.await
            .map_err(|_| CoreError::Internal("a hashing job failed".into()))
    }

    pub(crate) fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }
}
