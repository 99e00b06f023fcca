//! The BILLmanager backup functions over the backup engine: `billmgr.backup` (list),
//! `billmgr.backup.create`, `backups.download`, `backups.delete`, `backups.restore`
//! (protocols/ispsystem.md scope, §6 example 3).
//!
//! The archives are the engine's one set: whatever Froxlor, Plesk or this API made is listed
//! here when the caller may see it (the core decides).

use panelgate_core::backups::{
    datetime, FtpSettings, ImportOptions, ItemRef, RestoreBehavior, ServerSettings,
};
use panelgate_core::backups::{ArchiveFiles, BackupArchive, BackupOptions, BackupScope};
use panelgate_core::{Core, Principal};
use panelgate_http::Params;

use crate::doc::{Body, Cell, Error, Form, Row};
use crate::from_core;

/// What a backup function answers: a document, or an archive's bytes.
pub enum Reply {
    Doc(Body),
    File(ArchiveFiles),
}

impl From<Body> for Reply {
    fn from(b: Body) -> Reply {
        Reply::Doc(b)
    }
}

/// Bytes as MiB with one decimal (`12.5`), as the list's `size` column shows them.
fn mib(bytes: i64) -> String {
    let tenths = (bytes.max(0) as u128 * 10 + (1 << 19)) >> 20;
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn row(a: &BackupArchive) -> Row {
    vec![
        Cell::new("id", a.id.to_string()),
        Cell::new("date", datetime(a.created_at)),
        Cell::with_orig("size", mib(a.size), a.size.to_string()),
        Cell::new("name", a.file_name.clone()),
        Cell::new("scope", a.scope.kind()),
        Cell::new("owner", a.scope_name.clone()),
        Cell::new("description", a.description.clone()),
    ]
}

fn archive_id(elid: Option<&str>) -> Result<i64, Error> {
    let elid = elid.unwrap_or("");
    elid.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Error::value("elid", elid, "The value of 'elid' is invalid"))
}

/// `func=billmgr.backup`.
pub async fn list(core: &Core, principal: &Principal, p: &Params) -> Body {
    match core.backups().archives(&principal.actor()).await {
        Ok(all) => crate::accounts::page(
            all.iter().map(row).collect(),
            p,
            &[
                "id",
                "date",
                "size",
                "name",
                "scope",
                "owner",
                "description",
            ],
        )
        .into(),
        Err(e) => Body::Error(from_core(&e, "")),
    }
}

/// `func=billmgr.backup.create`: without `sok` the form; with it a server backup task (the
/// server owner only), whose id is answered.
pub async fn create(core: &Core, principal: &Principal, submit: bool, description: String) -> Body {
    if !submit {
        return Form::new([("description", "")]).into();
    }
    let opts = BackupOptions {
        description,
        ..BackupOptions::default()
    };
    match core
        .backups()
        .start(&principal.actor(), BackupScope::Server, opts)
        .await
    {
        Ok(task) => Body::created(task.id.to_string()),
        Err(e) => Body::Error(from_core(&e, "")),
    }
}

/// `func=backups.download`.
pub async fn download(core: &Core, principal: &Principal, elid: Option<&str>) -> Reply {
    let id = match archive_id(elid) {
        Ok(id) => id,
        Err(e) => return Body::Error(e).into(),
    };
    match core.backups().files(&principal.actor(), id).await {
        Ok(files) => Reply::File(files),
        Err(e) => Body::Error(from_core(&e, &id.to_string())).into(),
    }
}

/// `func=backups.delete`: every id is checked before any archive goes.
pub async fn delete(core: &Core, principal: &Principal, elids: &[String], clean: bool) -> Body {
    let actor = principal.actor();
    if elids.is_empty() || elids.len() > 1_000 {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    }
    let mut ids = Vec::with_capacity(elids.len());
    for elid in elids {
        let id = match archive_id(Some(elid)) {
            Ok(id) => id,
            Err(e) => return Body::Error(e),
        };
        if let Err(e) = core.backups().archive(&actor, id).await {
            return Body::Error(from_core(&e, elid));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in ids {
        if let Err(e) = core.backups().remove(&actor, id, clean).await {
            return Body::Error(from_core(&e, &id.to_string()));
        }
    }
    Body::ok()
}

/// `func=backups.restore`: without `sok` the form; with it everything in the archive is
/// restored, existing objects kept (`behavior=skip`, the default) or replaced (`overwrite`).
pub async fn restore(
    core: &Core,
    principal: &Principal,
    elid: Option<&str>,
    submit: bool,
    behavior: Option<&str>,
) -> Body {
    let id = match archive_id(elid) {
        Ok(id) => id,
        Err(e) => return Body::Error(e),
    };
    let actor = principal.actor();
    if !submit {
        return match core.backups().archive(&actor, id).await {
            Ok(_) => Form::new([("elid", id.to_string()), ("behavior", "skip".into())])
                .with_slist(
                    "behavior",
                    [("skip", "Skip existing"), ("overwrite", "Overwrite")],
                )
                .into(),
            Err(e) => Body::Error(from_core(&e, &id.to_string())),
        };
    }
    let behavior = match restore_behavior(behavior) {
        Ok(b) => b,
        Err(e) => return Body::Error(e),
    };
    match core.backups().restore(&actor, id, None, behavior).await {
        Ok(_) => Body::ok(),
        Err(e) => Body::Error(from_core(&e, &id.to_string())),
    }
}

/// Where `backups.upload` may take archives from, and how big they may be.
pub struct UploadLimits<'a> {
    pub url_hosts: &'a [String],
    pub max_size: u64,
}

/// `func=backups.upload`: without `sok` the form; with it the first file part of the multipart
/// body, or else the archive at `url` (an allowed host, see [`crate::fetch`]), is checked in
/// full and registered as an archive (the core decides whose it may be).
pub async fn upload(
    core: &Core,
    principal: &Principal,
    p: &Params,
    submit: bool,
    url: Option<&str>,
    description: String,
    limits: UploadLimits<'_>,
) -> Body {
    if !submit {
        return Form::new([("file", ""), ("url", ""), ("description", "")]).into();
    }
    let opts = ImportOptions {
        description,
        max_size: limits.max_size,
        ..ImportOptions::default()
    };
    let (reader, name): (crate::fetch::Reader, String) = match (p.files().first(), url) {
        (Some(part), _) => match tokio::fs::File::open(&part.path).await {
            Ok(f) => (Box::new(f), part.file_name.clone()),
            Err(e) => {
                tracing::error!(protocol = "ispsystem", error = %e, "opening an uploaded part");
                return Body::Error(Error::new("internal", "server", "", "Internal error"));
            }
        },
        (None, Some(u)) => match crate::fetch::open(u, limits.url_hosts).await {
            Ok(r) => (r, u.to_owned()),
            Err(e) => return Body::Error(e),
        },
        (None, None) => {
            return Body::Error(Error::new("empty", "file", "", "No file was uploaded"))
        }
    };
    match core
        .backups()
        .import(&principal.actor(), reader, opts)
        .await
    {
        Ok(archive) => Body::created(archive.id.to_string()),
        Err(e) => Body::Error(from_core(&e, &name)),
    }
}

/// The archives the caller sees, newest first.
async fn newest_first(core: &Core, principal: &Principal) -> Result<Vec<BackupArchive>, Error> {
    let mut all = core
        .backups()
        .archives(&principal.actor())
        .await
        .map_err(|e| from_core(&e, ""))?;
    all.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
    Ok(all)
}

/// `func=backupdata`: one row per kind of data (`customer`, `files`, `subscription`,
/// `reseller`, `settings`) found in the archives the caller sees.
pub async fn data_types(core: &Core, principal: &Principal, p: &Params) -> Body {
    let all = match newest_first(core, principal).await {
        Ok(a) => a,
        Err(e) => return Body::Error(e),
    };
    let kinds: std::collections::BTreeSet<&str> = all
        .iter()
        .flat_map(|a| a.items.iter().map(|i| i.kind.as_str()))
        .collect();
    let rows = kinds
        .into_iter()
        .map(|k| vec![Cell::new("id", k), Cell::new("type", k)])
        .collect();
    crate::accounts::page(rows, p, &["id", "type"]).into()
}

/// `func=backupdata.names&elid=TYPE`: every item of that kind, once, with its owner.
pub async fn data_names(
    core: &Core,
    principal: &Principal,
    p: &Params,
    kind: Option<&str>,
) -> Body {
    let Some(kind) = kind else {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    };
    let all = match newest_first(core, principal).await {
        Ok(a) => a,
        Err(e) => return Body::Error(e),
    };
    let mut seen = std::collections::BTreeMap::new();
    for item in all.iter().flat_map(|a| &a.items).filter(|i| i.kind == kind) {
        seen.entry(item.name.clone())
            .or_insert_with(|| item.owner.clone());
    }
    let rows = seen
        .into_iter()
        .map(|(name, owner)| {
            vec![
                Cell::new("id", name.clone()),
                Cell::new("name", name),
                Cell::new("owner", owner),
            ]
        })
        .collect();
    crate::accounts::page(rows, p, &["id", "name", "owner"])
        .with_parent(kind, None)
        .into()
}

/// `func=backupdata.restore&plid=TYPE&elid=NAME`: without `sok` the form (the archives holding
/// the item as `version`, newest first); with it the item is restored from `version`.
pub async fn data_restore(core: &Core, principal: &Principal, call: crate::call::Call) -> Body {
    let crate::call::Call::DataRestore {
        kind,
        name,
        submit,
        version,
        behavior,
    } = call
    else {
        return Body::Error(Error::new("internal", "server", "", "Internal error"));
    };
    let (Some(kind), Some(name)) = (kind, name) else {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    };
    // A view shows the newest archive; `version` is checked when the restore is submitted.
    let chosen = if submit { version.as_deref() } else { None };
    let (archive, holding) = match item_archive(core, principal, &kind, &name, chosen).await {
        Ok(found) => found,
        Err(e) => return Body::Error(e),
    };
    if !submit {
        return version_form(archive, &holding);
    }
    let behavior = match restore_behavior(behavior.as_deref()) {
        Ok(b) => b,
        Err(e) => return Body::Error(e),
    };
    let item = ItemRef { kind, name };
    match core
        .backups()
        .restore(&principal.actor(), archive, Some(vec![item]), behavior)
        .await
    {
        Ok(_) => Body::ok(),
        Err(e) => Body::Error(from_core(&e, &archive.to_string())),
    }
}

/// The archive to take the data item `kind`/`name` from: `version` when given (it must hold
/// the item), else the newest that does; with every archive holding it, newest first.
async fn item_archive(
    core: &Core,
    principal: &Principal,
    kind: &str,
    name: &str,
    version: Option<&str>,
) -> Result<(i64, Vec<BackupArchive>), Error> {
    let all = newest_first(core, principal).await?;
    let holding: Vec<BackupArchive> = all
        .into_iter()
        .filter(|a| a.items.iter().any(|i| i.kind == kind && i.name == name))
        .collect();
    let Some(newest) = holding.first() else {
        // Like every object the caller cannot reach: the same answer whether it exists or not.
        return Err(Error::access("elid", "Access denied"));
    };
    let id = match version {
        None => newest.id,
        Some(v) => match holding.iter().find(|a| a.id.to_string() == v) {
            Some(a) => a.id,
            None => {
                return Err(Error::value(
                    "version",
                    v,
                    format!("The value '{v}' of the field 'version' is invalid"),
                ))
            }
        },
    };
    Ok((id, holding))
}

/// The form of an item restore: `version` (the archives holding the item, newest first) set to
/// `chosen`, and `behavior`.
fn version_form(chosen: i64, holding: &[BackupArchive]) -> Body {
    Form::new([
        ("version", chosen.to_string()),
        ("behavior", "skip".to_owned()),
    ])
    .with_slist(
        "version",
        holding
            .iter()
            .map(|a| (a.id.to_string(), datetime(a.created_at))),
    )
    .with_slist(
        "behavior",
        [("skip", "Skip existing"), ("overwrite", "Overwrite")],
    )
    .into()
}

fn restore_behavior(behavior: Option<&str>) -> Result<RestoreBehavior, Error> {
    match behavior.unwrap_or("skip") {
        "" | "skip" => Ok(RestoreBehavior::Skip),
        "overwrite" => Ok(RestoreBehavior::Overwrite),
        other => Err(Error::value(
            "behavior",
            other,
            format!("The value '{other}' of the field 'behavior' is invalid"),
        )),
    }
}

/// `func=backupdata.files&elid=LOGIN`: `dname` (the path in the home) and size of every file.
pub async fn data_files(
    core: &Core,
    principal: &Principal,
    p: &Params,
    login: Option<&str>,
    version: Option<&str>,
) -> Body {
    let Some(login) = login else {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    };
    let (id, _) = match item_archive(core, principal, "files", login, version).await {
        Ok(found) => found,
        Err(e) => return Body::Error(e),
    };
    match core
        .backups()
        .home_files(&principal.actor(), id, login)
        .await
    {
        Ok(files) => {
            let rows = files
                .into_iter()
                .map(|(path, size)| {
                    vec![
                        Cell::new("id", path.clone()),
                        Cell::new("dname", path),
                        Cell::new("size", size.to_string()),
                    ]
                })
                .collect();
            crate::accounts::page(rows, p, &["id", "dname", "size"])
                .with_parent(login, None)
                .into()
        }
        Err(e) => Body::Error(from_core(&e, &id.to_string())),
    }
}

/// `func=backupdata.files.restore&plid=LOGIN&elid=PATH, PATH`: without `sok` the form
/// (`version`, `behavior`); with it those files are written back into the home.
pub async fn data_files_restore(
    core: &Core,
    principal: &Principal,
    call: crate::call::Call,
) -> Body {
    let crate::call::Call::DataFilesRestore {
        login,
        paths,
        submit,
        version,
        behavior,
    } = call
    else {
        return Body::Error(Error::new("internal", "server", "", "Internal error"));
    };
    let Some(login) = login else {
        return Body::Error(Error::value("plid", "", "The value of 'plid' is invalid"));
    };
    if paths.is_empty() || paths.len() > 1_000 {
        return Body::Error(Error::value("elid", "", "The value of 'elid' is invalid"));
    }
    let (id, holding) =
        match item_archive(core, principal, "files", &login, version.as_deref()).await {
            Ok(found) => found,
            Err(e) => return Body::Error(e),
        };
    if !submit {
        return version_form(id, &holding);
    }
    let behavior = match restore_behavior(behavior.as_deref()) {
        Ok(b) => b,
        Err(e) => return Body::Error(e),
    };
    match core
        .backups()
        .restore_paths(&principal.actor(), id, &login, &paths, behavior)
        .await
    {
        Ok(_) => Body::ok(),
        Err(e) => Body::Error(from_core(&e, &paths.join(", "))),
    }
}

fn flag(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// A non-negative whole number of a form field.
fn count(field: &'static str, v: &str) -> Result<i64, Error> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=1_000_000).contains(n))
        .ok_or_else(|| {
            Error::value(
                field,
                v,
                format!("The value '{v}' of the field '{field}' is invalid"),
            )
        })
}

fn settings_form(s: &ServerSettings) -> Body {
    Form::new([
        ("backup_count", s.max_backup_files.to_string()),
        ("processes", s.max_backup_processes.to_string()),
        ("compress", flag(!s.do_not_compress).to_owned()),
        ("low_priority", flag(s.low_priority).to_owned()),
    ])
    .into()
}

/// `func=billmgr.backup.settings` (the server owner's): `backup_count` (archives kept per
/// scope, 0 = all), `processes`, `compress`, `low_priority`; `dropsettings=on` resets them.
pub async fn settings(core: &Core, principal: &Principal, call: crate::call::Call) -> Body {
    let crate::call::Call::BackupSettings {
        submit,
        drop,
        backup_count,
        processes,
        compress,
        low_priority,
    } = call
    else {
        return Body::Error(Error::new("internal", "server", "", "Internal error"));
    };
    let actor = principal.actor();
    let mut current = match core.backups().server_settings(&actor).await {
        Ok(s) => s,
        Err(e) => return Body::Error(from_core(&e, "")),
    };
    if !submit {
        return settings_form(&current);
    }
    if drop {
        current = ServerSettings::default();
    } else {
        if let Some(v) = backup_count {
            match count("backup_count", &v) {
                Ok(n) => current.max_backup_files = n,
                Err(e) => return Body::Error(e),
            }
        }
        if let Some(v) = processes {
            match count("processes", &v) {
                Ok(n) => current.max_backup_processes = n,
                Err(e) => return Body::Error(e),
            }
        }
        if let Some(v) = compress {
            current.do_not_compress = !crate::call::on(&v);
        }
        if let Some(v) = low_priority {
            current.low_priority = crate::call::on(&v);
        }
    }
    match core.backups().set_server_settings(&actor, &current).await {
        Ok(()) => Body::ok(),
        Err(e) => Body::Error(from_core(&e, "")),
    }
}

/// `func=billmgr.backup.setup`: where server backups go. Local storage is always there; `ftp`
/// stores the FTP target (kept, not used: see the README's Backups section). The password is
/// never shown.
pub async fn setup(core: &Core, principal: &Principal, call: crate::call::Call) -> Body {
    let crate::call::Call::BackupSetup {
        submit,
        storage,
        ftp,
    } = call
    else {
        return Body::Error(Error::new("internal", "server", "", "Internal error"));
    };
    let actor = principal.actor();
    let current = match core
        .backups()
        .storage_settings(&actor, BackupScope::Server)
        .await
    {
        Ok(s) => s,
        Err(e) => return Body::Error(from_core(&e, "")),
    };
    if !submit {
        let f = current.unwrap_or_default();
        let storage = if f.host.is_empty() { "local" } else { "ftp" };
        return Form::new([
            ("enabled", "on".to_owned()),
            ("storage", storage.to_owned()),
            ("ftp_host", f.host),
            (
                "ftp_port",
                if f.port == 0 {
                    String::new()
                } else {
                    f.port.to_string()
                },
            ),
            ("ftp_dir", f.directory),
            ("ftp_user", f.login),
        ])
        .with_slist("storage", [("local", "Local"), ("ftp", "FTP")])
        .into();
    }
    match storage.as_deref().unwrap_or("local") {
        "local" => Body::ok(),
        "ftp" => {
            let [host, port, dir, user, password] = ftp;
            let port = match port.filter(|p| !p.is_empty()) {
                None => 21,
                Some(p) => match p.parse::<i64>().ok().filter(|n| (1..=65_535).contains(n)) {
                    Some(n) => n,
                    None => {
                        return Body::Error(Error::value(
                            "ftp_port",
                            p.clone(),
                            format!("The value '{p}' of the field 'ftp_port' is invalid"),
                        ))
                    }
                },
            };
            let old = current.unwrap_or_default();
            let ftp = FtpSettings {
                host: host.unwrap_or(old.host),
                port,
                directory: dir.unwrap_or(old.directory),
                login: user.unwrap_or(old.login),
                password: password.unwrap_or(old.password),
                passive_mode: true,
                use_ftps: false,
            };
            match core
                .backups()
                .set_storage_settings(&actor, BackupScope::Server, ftp)
                .await
            {
                Ok(()) => Body::ok(),
                Err(e) => Body::Error(from_core(&e, "")),
            }
        }
        other => Body::Error(Error::value(
            "storage",
            other,
            format!("The value '{other}' of the field 'storage' is invalid"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_in_mib() {
        assert_eq!(super::mib(0), "0.0");
        assert_eq!(super::mib(13_107_200), "12.5");
        assert_eq!(super::mib(1), "0.0");
        assert_eq!(super::mib(1_048_576), "1.0");
        assert_eq!(super::mib(-5), "0.0");
    }
}
