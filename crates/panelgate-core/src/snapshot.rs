//! Snapshots of the whole store: every record, the customers' homes and the local archives,
//! saved under a name and restored later (for tests that save, change and go back).
//!
//! # Format (version 1)
//! `<data-dir>/snapshots/<name>/` holds
//! 1. `records.jsonl`: one line per row, `{"table": …, "row": {…}}`, tables parents first, rows
//!    in primary-key order. The request journal is not part of a snapshot.
//! 2. `files/homes/…` and `files/backups/…`: copies of `<data-dir>/homes` and
//!    `<data-dir>/backups` (regular files and folders; links are not followed or kept).
//! 3. `manifest.json` ([`Manifest`]), written last: a folder without it is not a snapshot.
//!
//! A snapshot is written under a temporary name and renamed into place once complete, so a
//! crash leaves no half snapshot under a real name. A restore replaces every record in one
//! transaction: it either lands whole or not at all. The backup archives' manifest does not fit
//! here: it describes one customer's items, while a snapshot is the server's whole state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sea_orm::{
    AccessMode, ConnectionTrait, DbBackend, EntityTrait, IsolationLevel, PaginatorTrait, QueryOrder,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::error::{CoreError, CoreResult, EntityKind, Key};
use crate::store::entity as e;
use crate::{Core, SystemCap};

const FORMAT: &str = "panelgate-snapshot";
const VERSION: u32 = 1;
/// Rows read from the database at a time while saving, and inserted at a time while restoring.
const PAGE: u64 = 500;
/// The longest line `records.jsonl` may hold (a row is a few KiB at most).
const MAX_LINE: usize = 4 * 1024 * 1024;

/// `manifest.json` of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub name: String,
    /// Unix time by the core's clock.
    pub created_at: i64,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Files copied and their bytes.
    pub files: u64,
    pub file_bytes: u64,
}

/// A line of `records.jsonl` as written…
#[derive(Serialize)]
struct LineOut<'a, T> {
    table: &'a str,
    row: &'a T,
}

/// …and as read back.
#[derive(Deserialize)]
struct Line {
    table: String,
    row: serde_json::Value,
}

/// A snapshot name: 1–64 of `A-Z a-z 0-9 . _ -`, not starting with a dot.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_name(name: &str) -> CoreResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(CoreError::Invalid {
            field: "name",
            reason: "1 to 64 of A-Z a-z 0-9 . _ -, not starting with a dot".into(),
        })
    }
}

pub(crate) fn io_error(what: &Path, e: std::io::Error) -> CoreError {
    CoreError::Unavailable(format!("{}: {e}", what.display()))
}

/// Every table of a snapshot, parents before children; `$m!(module)` once per table.
macro_rules! each_table {
    ($m:ident) => {
        $m!(sequences);
        $m!(settings);
        $m!(admins);
        $m!(customers);
        $m!(credentials);
        $m!(subscriptions);
        $m!(sessions);
        $m!(storage_settings);
        $m!(backup_jobs);
        $m!(backup_tasks);
        $m!(backup_archives);
        $m!(plans);
        $m!(funds);
        $m!(orders);
        $m!(invoices);
        $m!(order_actions);
    };
}

/// Delete every record but the journal's, children first.
pub(crate) async fn clear_tables<C: ConnectionTrait>(txn: &C) -> CoreResult<()> {
    e::order_actions::Entity::delete_many().exec(txn).await?;
    e::invoices::Entity::delete_many().exec(txn).await?;
    e::orders::Entity::delete_many().exec(txn).await?;
    e::funds::Entity::delete_many().exec(txn).await?;
    e::plans::Entity::delete_many().exec(txn).await?;
    e::backup_archives::Entity::delete_many().exec(txn).await?;
    e::backup_tasks::Entity::delete_many().exec(txn).await?;
    e::backup_jobs::Entity::delete_many().exec(txn).await?;
    e::storage_settings::Entity::delete_many().exec(txn).await?;
    e::sessions::Entity::delete_many().exec(txn).await?;
    e::subscriptions::Entity::delete_many().exec(txn).await?;
    e::credentials::Entity::delete_many().exec(txn).await?;
    e::customers::Entity::delete_many().exec(txn).await?;
    e::admins::Entity::delete_many().exec(txn).await?;
    e::settings::Entity::delete_many().exec(txn).await?;
    e::sequences::Entity::delete_many().exec(txn).await?;
    Ok(())
}

/// Every row of a table, in primary-key order.
fn by_primary_key<E: EntityTrait>() -> sea_orm::Select<E> {
    use sea_orm::{Iterable, PrimaryKeyToColumn};
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    query
}

/// Write every row of one table to `out`, in primary-key order, a page at a time.
async fn dump<E, C>(
    txn: &C,
    table: &str,
    out: &mut tokio::io::BufWriter<tokio::fs::File>,
    path: &Path,
) -> CoreResult<u64>
where
    E: EntityTrait,
    E::Model: Serialize + Sync,
    C: ConnectionTrait,
{
    let mut pages = by_primary_key::<E>().paginate(txn, PAGE);
    let mut rows = 0;
    let mut buf = Vec::new();
    while let Some(page) = pages.fetch_and_next().await? {
        buf.clear();
        for row in &page {
            serde_json::to_writer(&mut buf, &LineOut { table, row })
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            buf.push(b'\n');
        }
        out.write_all(&buf).await.map_err(|e| io_error(path, e))?;
        rows += page.len() as u64;
    }
    Ok(rows)
}

/// Feed every row of one table into `hasher`, in primary-key order, a page at a time.
async fn hash_rows<E, C>(txn: &C, table: &str, hasher: &mut sha2::Sha256) -> CoreResult<()>
where
    E: EntityTrait,
    E::Model: Serialize + Sync,
    C: ConnectionTrait,
{
    use sha2::Digest;
    let mut pages = by_primary_key::<E>().paginate(txn, PAGE);
    while let Some(page) = pages.fetch_and_next().await? {
        for row in &page {
            let line = serde_json::to_vec(&LineOut { table, row })
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            hasher.update(&line);
            hasher.update(b"\n");
        }
    }
    Ok(())
}

/// Feed the regular files under `root` (sorted paths, sizes, contents) into `hasher`.
fn hash_tree(label: &str, root: &Path, hasher: &mut sha2::Sha256) -> std::io::Result<()> {
    use sha2::Digest;
    if !root.exists() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
    {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(std::io::Error::other)?;
        hasher.update(format!("{label}/{}\0", rel.display()).as_bytes());
        if entry.file_type().is_file() {
            let mut file = std::fs::File::open(entry.path())?;
            let n = std::io::copy(&mut file, hasher)?;
            hasher.update(n.to_le_bytes());
        }
    }
    Ok(())
}

/// Copy the regular files and folders of `from` into `to` (which must not exist). Links and
/// anything else are skipped. Returns (files, bytes).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    std::fs::create_dir_all(to)?;
    if !from.exists() {
        return Ok((0, 0));
    }
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    for entry in walkdir::WalkDir::new(from).follow_links(false).min_depth(1) {
        let entry = match entry {
            Ok(entry) => entry,
            // Removed while the tree was walked (a finished task's temporary file).
            Err(e) if e.io_error().is_some_and(gone) => continue,
            Err(e) => return Err(std::io::Error::other(e)),
        };
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let target = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
        } else if kind.is_file() {
            // An archive still being written has no row yet: it is not part of the state.
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                continue;
            }
            match std::fs::copy(entry.path(), &target) {
                Ok(n) => bytes += n,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            }
            // On disk before the snapshot's directory takes its name.
            std::fs::File::open(&target)?.sync_all()?;
            files += 1;
        }
    }
    Ok((files, bytes))
}

/// Make a directory's entries (a rename into it) durable; where directories cannot be opened
/// for that (not on Linux), there is nothing to do.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::File::open(dir) {
        Ok(d) => d.sync_all().or(Ok(())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(e),
        Err(_) => Ok(()),
    }
}

/// Leftovers of a save or a delete that a crash cut short: `.saving-*` and `.deleting-*`
/// folders not touched for an hour (a save in progress touches its folder as it writes).
fn remove_leftovers(root: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(".saving-") || name.starts_with(".deleting-")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if old || name.starts_with(".deleting-") {
            remove_dir(&entry.path())?;
        }
    }
    Ok(())
}

/// Remove `dir` and everything in it; a missing one is already removed.
pub(crate) fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Run blocking file work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> CoreResult<T> + Send + 'static,
) -> CoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
}

/// The snapshots of a core (see the module documentation).
pub struct Snapshots<'a> {
    pub(crate) core: &'a Core,
}

impl Snapshots<'_> {
    /// `<data-dir>/snapshots`.
    pub fn dir(&self) -> PathBuf {
        self.core.data_dir().join("snapshots")
    }

    /// Every complete snapshot, by name.
    pub async fn list(&self, _system: &SystemCap) -> CoreResult<Vec<Manifest>> {
        let dir = self.dir();
        blocking(move || {
            let mut found = Vec::new();
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
                Err(e) => return Err(io_error(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !valid_name(&name) {
                    continue;
                }
                if let Ok(manifest) = read_manifest(&entry.path()) {
                    found.push(manifest);
                }
            }
            found.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(found)
        })
        .await
    }

    /// One snapshot's manifest.
    pub async fn get(&self, _system: &SystemCap, name: &str) -> CoreResult<Manifest> {
        check_name(name)?;
        let dir = self.dir().join(name);
        let name = name.to_owned();
        blocking(move || {
            read_manifest(&dir)
                .map_err(|_| CoreError::not_found(EntityKind::Snapshot, Key::Login(name)))
        })
        .await
    }

    /// Save the whole state under `name` (which must be new).
    pub async fn save(&self, system: &SystemCap, name: &str) -> CoreResult<Manifest> {
        check_name(name)?;
        let root = self.dir();
        let target = root.join(name);
        {
            let (root, target) = (root.clone(), target.clone());
            blocking(move || {
                remove_leftovers(&root).map_err(|e| io_error(&root, e))?;
                // A folder of the name without a manifest is no snapshot (a copy cut short
                // outside panelgate): it does not keep the name.
                if target.exists() && read_manifest(&target).is_err() {
                    remove_dir(&target).map_err(|e| io_error(&target, e))?;
                }
                Ok(())
            })
            .await?;
        }
        if target.exists() {
            return Err(CoreError::AlreadyExists {
                entity: EntityKind::Snapshot,
                key: Key::Login(name.into()),
            });
        }
        let max = self.core.limits().max_snapshots as usize;
        if self.list(system).await?.len() >= max {
            return Err(CoreError::Conflict(format!(
                "{max} snapshots are kept at most (max_snapshots); delete one first"
            )));
        }
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(|e| io_error(&root, e))?;
        let temp = root.join(format!(".saving-{name}-{}", uuid::Uuid::new_v4().simple()));
        let result = self.write(name, &temp).await;
        let manifest = match result {
            Ok(manifest) => manifest,
            Err(e) => {
                let temp = temp.clone();
                let _ = blocking(move || remove_dir(&temp).map_err(|e| io_error(&temp, e))).await;
                return Err(e);
            }
        };
        match tokio::fs::rename(&temp, &target).await {
            Ok(()) => {
                let root = root.clone();
                blocking(move || sync_dir(&root).map_err(|e| io_error(&root, e))).await?;
                Ok(manifest)
            }
            Err(e) => {
                let _ = tokio::fs::remove_dir_all(&temp).await;
                // Saved concurrently under the same name: the other one stays.
                if target.exists() {
                    Err(CoreError::AlreadyExists {
                        entity: EntityKind::Snapshot,
                        key: Key::Login(name.into()),
                    })
                } else {
                    Err(io_error(&target, e))
                }
            }
        }
    }

    async fn write(&self, name: &str, temp: &Path) -> CoreResult<Manifest> {
        tokio::fs::create_dir_all(temp)
            .await
            .map_err(|e| io_error(temp, e))?;
        let records = temp.join("records.jsonl");
        let file = tokio::fs::File::create(&records)
            .await
            .map_err(|e| io_error(&records, e))?;
        let mut out = tokio::io::BufWriter::new(file);
        let mut rows = BTreeMap::new();
        // One consistent view of every table: a repeatable-read transaction where the database
        // has isolation levels; on SQLite a transaction holds one view already.
        // It reads only, so it does not take the writer: writes go on meanwhile.
        let db = self.core.reader();
        let txn = match db.get_database_backend() {
            DbBackend::Sqlite => db.begin().await?,
            _ => {
                db.begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await?
            }
        };
        macro_rules! save_table {
            ($t:ident) => {
                let n = dump::<e::$t::Entity, _>(&txn, stringify!($t), &mut out, &records).await?;
                rows.insert(stringify!($t).to_owned(), n);
            };
        }
        each_table!(save_table);
        // The files are copied while the transaction still holds its view, so that no archive
        // row can be committed without its file being there.
        let (homes, storage) = (self.core.homes_dir(), self.core.storage_dir());
        let files = temp.join("files");
        let (n_files, file_bytes) = blocking(move || {
            let (a, ab) =
                copy_tree(&homes, &files.join("homes")).map_err(|e| io_error(&homes, e))?;
            let (b, bb) =
                copy_tree(&storage, &files.join("backups")).map_err(|e| io_error(&storage, e))?;
            Ok((a + b, ab + bb))
        })
        .await?;
        txn.commit().await?;
        out.flush().await.map_err(|e| io_error(&records, e))?;
        out.into_inner()
            .sync_all()
            .await
            .map_err(|e| io_error(&records, e))?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            name: name.into(),
            created_at: self.core.now(),
            rows,
            files: n_files,
            file_bytes,
        };
        let path = temp.join("manifest.json");
        let text =
            serde_json::to_vec_pretty(&manifest).map_err(|e| CoreError::Internal(e.to_string()))?;
        let temp = temp.to_owned();
        blocking(move || {
            use std::io::Write;
            let mut file = std::fs::File::create(&path).map_err(|e| io_error(&path, e))?;
            file.write_all(&text)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(&path, e))?;
            // Every entry of the folder on disk before it is renamed to its name.
            for dir in [
                temp.join("files/homes"),
                temp.join("files/backups"),
                temp.join("files"),
                temp.clone(),
            ] {
                sync_dir(&dir).map_err(|e| io_error(&dir, e))?;
            }
            Ok(())
        })
        .await?;
        Ok(manifest)
    }

    /// A SHA-256 over the whole state a snapshot would keep: every row of every table (in
    /// primary-key order) and every regular file under the homes and the archive storage (path,
    /// size and content). Two equal digests mean an equal store; the journal is not part of it.
    /// Used by the hostile-input and crash tests to show that a request changed nothing.
    pub async fn digest(&self, _system: &SystemCap) -> CoreResult<String> {
        use sha2::{Digest, Sha256};
        let db = self.core.reader();
        let txn = db.begin().await?;
        let mut hasher = Sha256::new();
        macro_rules! hash_table {
            ($t:ident) => {
                hash_rows::<e::$t::Entity, _>(&txn, stringify!($t), &mut hasher).await?;
            };
        }
        each_table!(hash_table);
        txn.commit().await?;
        let (homes, storage) = (self.core.homes_dir(), self.core.storage_dir());
        let files = blocking(move || {
            let mut hasher = Sha256::new();
            for (label, root) in [("homes", homes), ("backups", storage)] {
                hash_tree(label, &root, &mut hasher).map_err(|e| io_error(&root, e))?;
            }
            Ok(hasher.finalize())
        })
        .await?;
        hasher.update(files);
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// Replace the whole state by the snapshot `name`: every record (in one transaction), the
    /// homes and the local archives. The journal stays.
    pub async fn restore(&self, system: &SystemCap, name: &str) -> CoreResult<Manifest> {
        let manifest = self.get(system, name).await?;
        let dir = self.dir().join(name);
        let records = dir.join("records.jsonl");
        let file = tokio::fs::File::open(&records)
            .await
            .map_err(|e| io_error(&records, e))?;
        let mut lines = tokio::io::BufReader::new(file);
        let txn = self.core.begin().await?;
        clear_tables(&txn).await?;
        let mut table = String::new();
        let mut batch: Vec<serde_json::Value> = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut lines)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| io_error(&records, e))?;
            if n > MAX_LINE {
                return Err(CoreError::Invalid {
                    field: "snapshot",
                    reason: format!("{}: a line over {MAX_LINE} bytes", records.display()),
                });
            }
            let next = if n == 0 {
                None
            } else {
                let parsed: Line =
                    serde_json::from_slice(&line).map_err(|e| CoreError::Invalid {
                        field: "snapshot",
                        reason: format!("{}: {e}", records.display()),
                    })?;
                Some(parsed)
            };
            let switch = next.as_ref().is_none_or(|l| l.table != table);
            if !batch.is_empty() && (switch || batch.len() as u64 >= PAGE) {
                insert(&txn, &table, std::mem::take(&mut batch)).await?;
            }
            match next {
                None => break,
                Some(l) => {
                    table = l.table;
                    batch.push(l.row);
                }
            }
        }
        txn.commit().await?;
        let (homes, storage) = (self.core.homes_dir(), self.core.storage_dir());
        let files = dir.join("files");
        blocking(move || {
            for (live, saved) in [
                (homes, files.join("homes")),
                (storage, files.join("backups")),
            ] {
                remove_dir(&live).map_err(|e| io_error(&live, e))?;
                copy_tree(&saved, &live).map_err(|e| io_error(&saved, e))?;
            }
            Ok(())
        })
        .await?;
        self.core.inner.failed_logins.clear();
        Ok(manifest)
    }

    /// Delete the snapshot `name`.
    pub async fn delete(&self, system: &SystemCap, name: &str) -> CoreResult<Manifest> {
        let manifest = self.get(system, name).await?;
        let dir = self.dir().join(name);
        // Renamed away first, so that a delete cut short leaves no half snapshot under the
        // name (the next save removes the leftover).
        let away = self.dir().join(format!(
            ".deleting-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        blocking(move || {
            std::fs::rename(&dir, &away).map_err(|e| io_error(&dir, e))?;
            remove_dir(&away).map_err(|e| io_error(&away, e))
        })
        .await?;
        Ok(manifest)
    }
}

fn read_manifest(dir: &Path) -> std::io::Result<Manifest> {
    let text = std::fs::read(dir.join("manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(std::io::Error::other)?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(std::io::Error::other(
            "not a panelgate snapshot of version 1",
        ));
    }
    Ok(manifest)
}

/// Insert one batch of rows of `table`.
async fn insert<C: ConnectionTrait>(
    txn: &C,
    table: &str,
    rows: Vec<serde_json::Value>,
) -> CoreResult<()> {
    let bad = |e: serde_json::Error| CoreError::Invalid {
        field: "snapshot",
        reason: format!("a {table} row: {e}"),
    };
    macro_rules! insert_table {
        ($t:ident) => {
            if table == stringify!($t) {
                let models = rows
                    .into_iter()
                    .map(|v| {
                        serde_json::from_value::<e::$t::Model>(v).map(e::$t::ActiveModel::from)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?;
                e::$t::Entity::insert_many(models)
                    .exec_without_returning(txn)
                    .await?;
                return Ok(());
            }
        };
    }
    each_table!(insert_table);
    Err(CoreError::Invalid {
        field: "snapshot",
        reason: format!("unknown table {table:?}"),
    })
}
