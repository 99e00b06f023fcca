//! Importing (uploading) archives and restoring from them.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::archive::{self, DataItem, Manifest};
use crate::backups::{
    BackupArchive, BackupScope, Backups, ImportOptions, ItemRef, RestoreBehavior, RestoreReport,
};
use crate::entity::{admins, backup_archives, backup_jobs, credentials, customers, subscriptions};
use crate::error::{CoreError, CoreResult, Denied};
use crate::model::Actor;
use crate::{policy, sequences, settings};

fn invalid(reason: impl Into<String>) -> CoreError {
    CoreError::Invalid {
        field: "archive",
        reason: reason.into(),
    }
}

fn records<T: DeserializeOwned>(values: &[serde_json::Value]) -> CoreResult<Vec<T>> {
    values
        .iter()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| invalid(format!("manifest record: {e}")))
        })
        .collect()
}

/// Which records of a manifest a restore takes.
struct Selection {
    customers: BTreeSet<String>,
    files: BTreeSet<String>,
    subscriptions: BTreeSet<String>,
    resellers: BTreeSet<String>,
    settings: bool,
}

impl Selection {
    fn from(manifest: &Manifest, items: Option<&[ItemRef]>) -> CoreResult<Selection> {
        let chosen: Option<BTreeSet<(&str, &str)>> = items.map(|sel| {
            sel.iter()
                .map(|s| (s.kind.as_str(), s.name.as_str()))
                .collect()
        });
        let present: BTreeSet<(&str, &str)> = manifest
            .items
            .iter()
            .map(|i| (i.kind.as_str(), i.name.as_str()))
            .collect();
        let pick = |kind: &str| -> BTreeSet<String> {
            manifest
                .items
                .iter()
                .filter(|i| i.kind == kind)
                .filter(|i| {
                    chosen
                        .as_ref()
                        .is_none_or(|c| c.contains(&(kind, i.name.as_str())))
                })
                .map(|i| i.name.clone())
                .collect()
        };
        if let Some(sel) = items {
            if let Some(missing) = sel
                .iter()
                .find(|s| !present.contains(&(s.kind.as_str(), s.name.as_str())))
            {
                return Err(invalid(format!(
                    "the archive has no {} item named {}",
                    missing.kind, missing.name
                )));
            }
        }
        Ok(Selection {
            customers: pick("customer"),
            files: pick("files"),
            subscriptions: pick("subscription"),
            resellers: pick("reseller"),
            settings: !pick("settings").is_empty(),
        })
    }
}

impl Backups<'_> {
    /// May `actor` import or restore an archive with this manifest? Every login it carries must
    /// be a valid [`Login`](crate::types::Login); a reseller may only bring its own scope and
    /// customers, a customer only itself.
    fn check_manifest_access(&self, actor: &Actor, m: &Manifest) -> CoreResult<()> {
        for login in m
            .records
            .customers
            .iter()
            .chain(&m.records.admins)
            .map(|r| r["loginname"].as_str().unwrap_or_default())
            .chain(
                m.items
                    .iter()
                    .filter(|i| i.kind != "subscription" && i.kind != "settings")
                    .map(|i| i.name.as_str()),
            )
        {
            crate::types::Login::try_from(login)
                .map_err(|_| invalid(format!("the archive names an invalid login {login:?}")))?;
        }
        let customers_of = |owner: i64| {
            m.records
                .customers
                .iter()
                .all(|c| c["admin_id"].as_i64() == Some(owner))
        };
        let ok = match m.scope.kind.as_str() {
            "server" => policy::may_use_server_scope(actor).is_ok(),
            "reseller" => {
                policy::may_use_reseller_scope(actor, m.scope.id).is_ok()
                    && (policy::may_restore_admins(actor) || customers_of(m.scope.id))
            }
            "customer" | "subscription" => match (actor.customer_id(), actor.admin_id()) {
                (Some(me), _) => m
                    .records
                    .customers
                    .iter()
                    .all(|c| c["id"].as_i64() == Some(me)),
                (None, Some(me)) if !policy::may_restore_admins(actor) => customers_of(me),
                _ => true,
            },
            _ => false,
        };
        // Admin rows travel only in server and reseller archives, settings only in server ones.
        let admins_ok =
            m.records.admins.is_empty() || matches!(m.scope.kind.as_str(), "server" | "reseller");
        let settings_ok = m.records.settings.is_empty() || m.scope.kind == "server";
        if ok && admins_ok && settings_ok {
            Ok(())
        } else {
            Err(CoreError::Forbidden(Denied::RoleNotAllowed))
        }
    }

    /// Import a file staged in `<data-dir>/uploads/` (Plesk's `import-file` names one by
    /// `tmp-filename`): one plain file name, no path; the file is removed once imported.
    /// `NotFound` when there is no such file.
    pub async fn import_staged(
        &self,
        actor: &Actor,
        name: &str,
        max_size: u64,
    ) -> CoreResult<BackupArchive> {
        let plain =
            !name.is_empty() && !name.contains(['/', '\\', '\0']) && name != "." && name != "..";
        if !plain {
            return Err(CoreError::Invalid {
                field: "tmp-filename",
                reason: "not a file name".into(),
            });
        }
        let path = self.core.data_dir().join("uploads").join(name);
        let regular = tokio::fs::symlink_metadata(&path)
            .await
            .is_ok_and(|m| m.file_type().is_file());
        if !regular {
            return Err(CoreError::not_found(
                crate::EntityKind::BackupJob,
                crate::Key::Login(name.to_owned()),
            ));
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| CoreError::Unavailable(format!("opening the staged upload: {e}")))?;
        let options = ImportOptions {
            max_size,
            ..ImportOptions::default()
        };
        let archive = self.import(actor, file, options).await?;
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!(file = %path.display(), error = %e, "removing an imported upload");
        }
        Ok(archive)
    }

    /// Whose an imported archive is. The server takes the manifest's word; anyone else gets
    /// only what it may see: a customer named by the manifest must exist and be visible to the
    /// importer (else the archive is its own, with no customer), and a reseller's import is the
    /// reseller's.
    async fn import_owner(
        &self,
        actor: &Actor,
        scope: BackupScope,
        m: &Manifest,
    ) -> CoreResult<(Option<i64>, Option<i64>)> {
        let claimed = match scope {
            BackupScope::Customer(_) | BackupScope::Subscription(_) => m
                .records
                .customers
                .first()
                .and_then(|c| Some((c["id"].as_i64()?, c["admin_id"].as_i64()?))),
            _ => None,
        };
        let trusted = !policy::allocation_checked(actor);
        match (scope, claimed) {
            (BackupScope::Server, _) => Ok((None, None)),
            (BackupScope::Reseller(id), _) => Ok((None, Some(id))),
            (_, Some((id, admin))) if trusted => Ok((Some(id), Some(admin))),
            (_, claimed) => {
                let existing = match claimed {
                    Some((id, _)) => {
                        customers::Entity::find_by_id(id)
                            .one(&self.core.db())
                            .await?
                    }
                    None => None,
                };
                match existing {
                    Some(c) if policy::sees_customer(actor, c.id, c.admin_id) => {
                        Ok((Some(c.id), Some(c.admin_id)))
                    }
                    Some(_) => Err(CoreError::Forbidden(Denied::RoleNotAllowed)),
                    // No such customer (yet): the importer's own, with no customer, so that no
                    // later customer of that id inherits it.
                    None => Ok((None, actor.admin_id())),
                }
            }
        }
    }

    /// Take an uploaded archive: stored under a temporary name while it streams in (at most
    /// `max_size` bytes), checked in full (manifest, entry paths, checksums, optional SHA-256 of
    /// the whole upload), then registered. A refused upload leaves nothing behind.
    pub async fn import<R: AsyncRead + Unpin>(
        &self,
        actor: &Actor,
        mut body: R,
        opts: ImportOptions,
    ) -> CoreResult<BackupArchive> {
        let dir = self.core.storage_dir();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let tmp = dir.join(format!("upload_{:016x}.tmp", rand::random::<u64>()));
        let result = self.import_inner(actor, &mut body, &tmp, &opts).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn import_inner<R: AsyncRead + Unpin>(
        &self,
        actor: &Actor,
        body: &mut R,
        tmp: &Path,
        opts: &ImportOptions,
    ) -> CoreResult<BackupArchive> {
        let io = |e: std::io::Error| CoreError::Internal(format!("storing the upload: {e}"));
        let mut file = tokio::fs::File::create(tmp).await.map_err(io)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = body
                .read(&mut buf)
                .await
                .map_err(|e| invalid(format!("reading the upload: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > opts.max_size {
                return Err(invalid(format!(
                    "the upload is larger than {} bytes",
                    opts.max_size
                )));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).await.map_err(io)?;
        }
        file.sync_all().await.map_err(io)?;
        drop(file);
        let sha256 = archive::hex(&hasher.finalize());
        if let Some(expected) = &opts.expected_sha256 {
            if !expected.eq_ignore_ascii_case(&sha256) {
                return Err(invalid(format!(
                    "checksum mismatch: the upload has SHA-256 {sha256}, expected {expected}"
                )));
            }
        }
        let path = tmp.to_path_buf();
        let limits = archive::ReadLimits::from(self.core.limits());
        let checked = self
            .core
            .cpu()
            .run(move || {
                let f = std::fs::File::open(&path)?;
                Ok::<_, std::io::Error>(archive::read_checked(f, limits, None))
            })
            .await?
            .map_err(io)?
            .map_err(|e| invalid(e.to_string()))?;
        let m = checked.manifest;
        self.check_manifest_access(actor, &m)?;
        let scope = BackupScope::parse(&if m.scope.kind == "server" {
            "server".into()
        } else {
            format!("{}:{}", m.scope.kind, m.scope.id)
        })
        .ok_or_else(|| invalid(format!("unknown scope {}", m.scope.kind)))?;
        let (customer_id, owner) = self.import_owner(actor, scope, &m).await?;
        let gz = if size >= 2 { ".tar.gz" } else { ".tar" };
        let txn = self.core.begin().await?;
        let id = sequences::next_id(&txn, sequences::BACKUP_ARCHIVES).await?;
        let file_name = format!(
            "imported_{}_{}_{}{gz}",
            m.scope.kind,
            crate::backups::safe_name(&m.scope.name),
            id
        );
        let dir = self.core.storage_dir();
        let row = backup_archives::ActiveModel {
            id: Set(id),
            task_id: Set(None),
            scope: Set(scope.kind().into()),
            scope_id: Set(scope.id()),
            scope_name: Set(m.scope.name.clone()),
            owner_admin_id: Set(owner),
            customer_id: Set(customer_id),
            created_at: Set(m.created_at),
            size: Set(size as i64),
            sha256: Set(sha256),
            description: Set(if opts.description.is_empty() {
                m.description.clone()
            } else {
                opts.description.clone()
            }),
            prefix: Set("imported".into()),
            storage: Set("local".into()),
            directory: Set(dir.to_string_lossy().into_owned()),
            file_name: Set(file_name.clone()),
            parts: Set(serde_json::to_string(&[&file_name]).unwrap_or_default()),
            manifest_version: Set(m.version),
            items: Set(serde_json::to_string(&m.items).unwrap_or_default()),
        }
        .insert(&txn)
        .await;
        // The row is committed first and the upload renamed after: a crash in between leaves a
        // `.tmp` file (removed at the next start), never an untracked archive.
        let row = row?;
        txn.commit().await?;
        if let Err(e) = tokio::fs::rename(tmp, dir.join(&file_name)).await {
            let _ = self.remove_unchecked(id, false).await;
            return Err(io(e));
        }
        Ok(crate::backups::to_archive(row))
    }

    /// Restore records (one transaction) and then files from an archive: everything, or the
    /// chosen data items; existing records and files are kept (`Skip`) or replaced (`Overwrite`).
    pub async fn restore(
        &self,
        actor: &Actor,
        archive_id: i64,
        items: Option<Vec<ItemRef>>,
        behavior: RestoreBehavior,
    ) -> CoreResult<RestoreReport> {
        self.restore_selected(actor, archive_id, items, behavior, None)
            .await
    }

    /// Restore some files of one customer's home (paths relative to the home, as
    /// [`Backups::home_files`] lists them); every path must be in the archive.
    pub async fn restore_paths(
        &self,
        actor: &Actor,
        archive_id: i64,
        login: &str,
        paths: &[String],
        behavior: RestoreBehavior,
    ) -> CoreResult<RestoreReport> {
        let only = paths.iter().map(|p| format!("homes/{login}/{p}")).collect();
        let item = ItemRef {
            kind: "files".into(),
            name: login.to_owned(),
        };
        self.restore_selected(actor, archive_id, Some(vec![item]), behavior, Some(only))
            .await
    }

    /// The files of one customer's home in an archive the actor sees: (path relative to the
    /// home, size), read from the checked archive.
    pub async fn home_files(
        &self,
        actor: &Actor,
        archive_id: i64,
        login: &str,
    ) -> CoreResult<Vec<(String, u64)>> {
        let files = self.files(actor, archive_id).await?;
        let limits = archive::ReadLimits::from(self.core.limits());
        let checked = self
            .core
            .cpu()
            .run(move || {
                archive::read_checked(archive::PartsReader::new(files.paths), limits, None)
            })
            .await?
            .map_err(|e| invalid(e.to_string()))?;
        let prefix = format!("homes/{login}/");
        Ok(checked
            .files
            .iter()
            .filter_map(|(name, sum)| {
                name.strip_prefix(&prefix)
                    .map(|rest| (rest.to_owned(), sum.size))
            })
            .collect())
    }

    async fn restore_selected(
        &self,
        actor: &Actor,
        archive_id: i64,
        items: Option<Vec<ItemRef>>,
        behavior: RestoreBehavior,
        only: Option<BTreeSet<String>>,
    ) -> CoreResult<RestoreReport> {
        let files = self.files(actor, archive_id).await?;
        let recorded = self.archive(actor, archive_id).await?;
        // The parts must still be the bytes that were recorded (a job archive lives in a home
        // folder, and a home folder may be writable by its customer).
        let (paths, size, sha) = (files.paths.clone(), recorded.size, recorded.sha256.clone());
        let same = self
            .core
            .cpu()
            .run(move || -> std::io::Result<bool> {
                let mut hasher = Sha256::new();
                let n = std::io::copy(&mut archive::PartsReader::new(paths), &mut hasher)?;
                Ok(n as i64 == size && archive::hex(&hasher.finalize()).eq_ignore_ascii_case(&sha))
            })
            .await?
            .map_err(|e| invalid(format!("reading the archive: {e}")))?;
        if !same {
            return Err(invalid(
                "the archive's files are not the ones that were recorded",
            ));
        }
        let paths = files.paths.clone();
        let limits = archive::ReadLimits::from(self.core.limits());
        let checked = self
            .core
            .cpu()
            .run(move || archive::read_checked(archive::PartsReader::new(paths), limits, None))
            .await?
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(missing) = only
            .iter()
            .flatten()
            .find(|p| !checked.files.contains_key(*p))
        {
            return Err(invalid(format!("the archive has no file {missing}")));
        }
        let m = checked.manifest;
        self.check_manifest_access(actor, &m)?;
        let in_manifest = if m.scope.kind == "server" {
            Some(BackupScope::Server)
        } else {
            BackupScope::parse(&format!("{}:{}", m.scope.kind, m.scope.id))
        };
        if in_manifest != Some(recorded.scope) {
            return Err(invalid(
                "the archive's manifest names another scope than its record",
            ));
        }
        let sel = Selection::from(&m, items.as_deref())?;
        let mut report = RestoreReport::default();
        let restored_logins = self
            .restore_records(actor, &m, &sel, behavior, &mut report)
            .await?;
        // Files go only into the homes of customers that exist now and that the actor sees.
        let mut file_logins = BTreeSet::new();
        for login in sel
            .files
            .iter()
            .filter(|l| restored_logins.contains(*l) || items.is_some())
        {
            let row = customers::Entity::find()
                .filter(customers::Column::LoginKey.eq(login.to_lowercase()))
                .one(&self.core.db())
                .await?;
            match row {
                Some(c) if policy::sees_customer(actor, c.id, c.admin_id) => {
                    file_logins.insert(login.clone());
                }
                _ => {}
            }
        }
        if !file_logins.is_empty() {
            let homes = self.core.homes_dir();
            let paths = files.paths;
            let overwrite = behavior == RestoreBehavior::Overwrite;
            let (restored, skipped) = self
                .core
                .cpu()
                .run(move || {
                    restore_files(
                        paths,
                        &homes,
                        &file_logins,
                        only.as_ref(),
                        overwrite,
                        limits,
                    )
                })
                .await??;
            report.files_restored = restored;
            report.files_skipped = skipped;
            for item in m
                .items
                .iter()
                .filter(|i| i.kind == "files" && sel.files.contains(&i.name))
            {
                report.restored.push(item.clone());
            }
        }
        tracing::info!(
            archive = archive_id,
            restored = report.restored.len(),
            skipped = report.skipped.len(),
            files = report.files_restored,
            "restore finished"
        );
        Ok(report)
    }

    /// Returns the logins of the customers whose records were restored or already there.
    async fn restore_records(
        &self,
        actor: &Actor,
        m: &Manifest,
        sel: &Selection,
        behavior: RestoreBehavior,
        report: &mut RestoreReport,
    ) -> CoreResult<BTreeSet<String>> {
        let item = |kind: &str, name: &str| {
            m.items
                .iter()
                .find(|i| i.kind == kind && i.name == name)
                .cloned()
                .unwrap_or(DataItem {
                    kind: kind.into(),
                    name: name.into(),
                    owner: String::new(),
                })
        };
        let overwrite = behavior == RestoreBehavior::Overwrite;
        let txn = self.core.begin().await?;
        let mut touched_admins = BTreeSet::new();
        for a in records::<admins::Model>(&m.records.admins)? {
            if !sel.resellers.contains(&a.loginname) {
                continue;
            }
            let existing = admins::Entity::find()
                .filter(admins::Column::LoginKey.eq(a.loginname.to_lowercase()))
                .one(&txn)
                .await?;
            match existing {
                // An existing account's password hash and rights are never taken from an
                // archive, whatever the behaviour: a restore cannot change who may log in.
                Some(ex) => {
                    report.skipped.push(item("reseller", &a.loginname));
                    touched_admins.insert(ex.id);
                    continue;
                }
                None if !policy::may_restore_admins(actor) => {
                    report.skipped.push(item("reseller", &a.loginname));
                    continue;
                }
                None if admins::Entity::find_by_id(a.id).one(&txn).await?.is_some() => {
                    report.skipped.push(item("reseller", &a.loginname));
                    continue;
                }
                None => {
                    let mut a = a.clone();
                    a.login_key = a.loginname.to_lowercase();
                    sequences::ensure_at_least(&txn, sequences::ADMINS, a.id + 1).await?;
                    a.clone()
                        .into_active_model()
                        .reset_all()
                        .insert(&txn)
                        .await?;
                    report.restored.push(item("reseller", &a.loginname));
                }
            }
            touched_admins.insert(a.id);
        }
        let creds = records::<credentials::Model>(&m.records.credentials)?;
        let subs = records::<subscriptions::Model>(&m.records.subscriptions)?;
        let jobs = records::<backup_jobs::Model>(&m.records.backup_jobs)?;
        let mut present = BTreeSet::new();
        let mut id_map: HashMap<i64, i64> = HashMap::new();
        // Customers of the archive that exist and were kept (skip): archive id → current id.
        let mut existing_ids: HashMap<i64, i64> = HashMap::new();
        for c in records::<customers::Model>(&m.records.customers)? {
            if !sel.customers.contains(&c.loginname) {
                continue;
            }
            let archive_id = c.id;
            let mut c = c;
            c.login_key = c.loginname.to_lowercase();
            c.admin_id = policy::owner_of_restored_customer(actor, c.admin_id);
            if admins::Entity::find_by_id(c.admin_id)
                .one(&txn)
                .await?
                .is_none()
            {
                match actor.admin_id() {
                    Some(id) => c.admin_id = id,
                    None => {
                        return Err(invalid(format!(
                            "the owner (admin {}) of {} no longer exists",
                            c.admin_id, c.loginname
                        )))
                    }
                }
            }
            // The login names the customer; an id alone never does (another customer may hold it
            // now, and the archive may be anyone's upload).
            // Locked (PostgreSQL, MariaDB) until the restore commits: a customer kept here
            // cannot be deleted underneath its restored records, and one being deleted is
            // waited for and then seen gone (SQLite has one writer).
            let existing = crate::store::for_update(
                customers::Entity::find()
                    .filter(customers::Column::LoginKey.eq(c.login_key.clone())),
                &*txn,
            )
            .one(&txn)
            .await?;
            if let Some(ex) = &existing {
                if !policy::sees_customer(actor, ex.id, ex.admin_id) {
                    return Err(CoreError::Forbidden(Denied::RoleNotAllowed));
                }
            }
            present.insert(c.loginname.clone());
            // A customer restoring itself gets its files back; its record (limits, owner,
            // switches) stays as the server has it.
            let keep_record = actor.is_customer();
            let target_id = match existing {
                Some(ex) if !overwrite || keep_record => {
                    existing_ids.insert(c.id, ex.id);
                    report.skipped.push(item("customer", &c.loginname));
                    touched_admins.insert(ex.admin_id);
                    continue;
                }
                Some(ex) => {
                    touched_admins.insert(ex.admin_id);
                    let mut am = c.clone().into_active_model();
                    am.id = Set(ex.id);
                    // The account's credentials are the server's, not the archive's.
                    am.password_hash = Set(ex.password_hash.clone());
                    am.reset_all().update(&txn).await?;
                    credentials::Entity::delete_many()
                        .filter(credentials::Column::CustomerId.eq(ex.id))
                        .exec(&txn)
                        .await?;
                    subscriptions::Entity::delete_many()
                        .filter(subscriptions::Column::CustomerId.eq(ex.id))
                        .exec(&txn)
                        .await?;
                    ex.id
                }
                None if keep_record => continue,
                None => {
                    if customers::Entity::find_by_id(c.id)
                        .one(&txn)
                        .await?
                        .is_some()
                    {
                        c.id = sequences::next_id(&txn, sequences::CUSTOMERS).await?;
                    } else {
                        sequences::ensure_at_least(&txn, sequences::CUSTOMERS, c.id + 1).await?;
                    }
                    c.clone()
                        .into_active_model()
                        .reset_all()
                        .insert(&txn)
                        .await?;
                    c.id
                }
            };
            touched_admins.insert(c.admin_id);
            id_map.insert(archive_id, target_id);
            report.restored.push(item("customer", &c.loginname));
        }
        for cred in creds {
            let Some(&target) = cred.customer_id.and_then(|c| id_map.get(&c)) else {
                continue;
            };
            let mut cred = cred;
            cred.customer_id = Some(target);
            // A key restored with its customer belongs to that customer alone.
            cred.admin_id = None;
            if credentials::Entity::find_by_id(cred.id)
                .one(&txn)
                .await?
                .is_some()
            {
                cred.id = sequences::next_id(&txn, sequences::CREDENTIALS).await?;
            } else {
                sequences::ensure_at_least(&txn, sequences::CREDENTIALS, cred.id + 1).await?;
            }
            cred.into_active_model().reset_all().insert(&txn).await?;
        }
        for sub in subs {
            let wanted =
                id_map.contains_key(&sub.customer_id) || sel.subscriptions.contains(&sub.domain);
            if !wanted {
                continue;
            }
            let Some(&target) = id_map
                .get(&sub.customer_id)
                .or(existing_ids.get(&sub.customer_id))
            else {
                continue;
            };
            let exists = subscriptions::Entity::find()
                .filter(subscriptions::Column::Domain.eq(sub.domain.clone()))
                .one(&txn)
                .await?;
            if exists.is_some() {
                report.skipped.push(item("subscription", &sub.domain));
                continue;
            }
            let mut sub = sub;
            let old_id = sub.id;
            sub.customer_id = target;
            if subscriptions::Entity::find_by_id(sub.id)
                .one(&txn)
                .await?
                .is_some()
            {
                sub.id = sequences::next_id(&txn, sequences::SUBSCRIPTIONS).await?;
            } else {
                sequences::ensure_at_least(&txn, sequences::SUBSCRIPTIONS, sub.id + 1).await?;
            }
            let new_id = sub.id;
            let domain = sub.domain.clone();
            sub.into_active_model().reset_all().insert(&txn).await?;
            if new_id != old_id {
                customers::Entity::update_many()
                    .col_expr(
                        customers::Column::Standardsubdomain,
                        sea_orm::sea_query::Expr::value(new_id),
                    )
                    .filter(customers::Column::Id.eq(target))
                    .filter(customers::Column::Standardsubdomain.eq(old_id))
                    .exec(&txn)
                    .await?;
            }
            if sel.subscriptions.contains(&domain) {
                report.restored.push(item("subscription", &domain));
            }
        }
        for job in jobs {
            let Some(&target) = id_map.get(&job.customer_id) else {
                continue;
            };
            if backup_jobs::Entity::find_by_id(job.id)
                .one(&txn)
                .await?
                .is_some()
            {
                continue;
            }
            let mut job = job;
            job.customer_id = target;
            sequences::ensure_at_least(&txn, sequences::BACKUP_JOBS, job.id + 1).await?;
            job.into_active_model().reset_all().insert(&txn).await?;
        }
        if sel.settings && policy::may_restore_admins(actor) {
            for (k, v) in &m.records.settings {
                let exists = settings::stored(&txn).await?.contains_key(k);
                if overwrite || !exists {
                    settings::write(&txn, k, v).await?;
                }
            }
            report.restored.push(item("settings", "server"));
        }
        for admin in touched_admins {
            crate::counters::recount(&txn, admin).await?;
            if policy::allocation_checked(actor) {
                crate::counters::check_within_limits(&txn, admin).await?;
            }
        }
        txn.commit().await?;
        Ok(present)
    }
}

/// Second pass over a checked archive: write the chosen customers' files under `homes`.
fn restore_files(
    paths: Vec<PathBuf>,
    homes: &Path,
    logins: &BTreeSet<String>,
    only: Option<&BTreeSet<String>>,
    overwrite: bool,
    limits: archive::ReadLimits,
) -> CoreResult<(u64, u64)> {
    let mut restored = 0u64;
    let mut skipped = 0u64;
    let mut extract =
        |name: &str, _m: &Manifest, reader: &mut dyn std::io::Read| -> std::io::Result<()> {
            let Some((login, rest)) = archive::home_entry(name) else {
                return Err(std::io::Error::other(format!("unexpected entry {name}")));
            };
            let home = homes.join(&login);
            let target = home.join(&rest);
            let exists = std::fs::symlink_metadata(&target).is_ok();
            if only.is_some_and(|o| !o.contains(name)) {
                std::io::copy(reader, &mut std::io::sink())?;
                return Ok(());
            }
            if !logins.contains(&login) || (exists && !overwrite) {
                if logins.contains(&login) {
                    skipped += 1;
                }
                std::io::copy(reader, &mut std::io::sink())?;
                return Ok(());
            }
            let parent = contained_parent(homes, &home, &target)?;
            let tmp = parent.join(format!(
                ".{}.pg-restore-{:08x}.tmp",
                target
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                rand::random::<u32>()
            ));
            let written = (|| {
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)?;
                std::io::copy(reader, &mut out)?;
                out.flush()?;
                out.sync_all()?;
                std::fs::rename(&tmp, &target)
            })();
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            restored += 1;
            Ok(())
        };
    archive::read_checked(archive::PartsReader::new(paths), limits, Some(&mut extract))
        .map_err(|e| CoreError::Internal(format!("restoring files: {e}")))?;
    Ok((restored, skipped))
}

/// Create `target`'s parent folders inside `home` (itself inside `homes`) and check, after
/// canonicalisation, that the parent is still inside the home: a symbolic link anywhere on the
/// way (or at the target) is refused rather than followed.
fn contained_parent(homes: &Path, home: &Path, target: &Path) -> std::io::Result<PathBuf> {
    let parent = target
        .parent()
        .ok_or_else(|| std::io::Error::other("restore target without a parent"))?;
    std::fs::create_dir_all(homes)?;
    let homes_real = homes.canonicalize()?;
    // Walk down from `homes`, refusing links, creating what is missing.
    let mut at = homes.to_path_buf();
    for comp in parent
        .strip_prefix(homes)
        .map_err(std::io::Error::other)?
        .components()
    {
        at.push(comp);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(std::io::Error::other(format!(
                    "{} is a symbolic link",
                    at.display()
                )))
            }
            Ok(m) if !m.is_dir() => {
                return Err(std::io::Error::other(format!(
                    "{} is not a folder",
                    at.display()
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&at)?,
            Err(e) => return Err(e),
        }
    }
    if std::fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(format!(
            "{} is a symbolic link",
            target.display()
        )));
    }
    let real = parent.canonicalize()?;
    let home_real = home.canonicalize()?;
    if !real.starts_with(&home_real) || !home_real.starts_with(&homes_real) {
        return Err(std::io::Error::other(format!(
            "{} is outside its home",
            target.display()
        )));
    }
    Ok(real)
}
