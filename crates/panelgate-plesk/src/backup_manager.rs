//! `backup-manager` (protocol 1.5.2.0–1.6.9.0, protocols/plesk.md §3) on the shared backup
//! engine: tasks, their states, local backup files, download, import, removal, remote-storage
//! and server-wide settings. Answers follow backup.xsd (validated in tests against the 2014
//! schema set, the newest one with backup.xsd).

use panelgate_core::admins::AdminRef;
use panelgate_core::backups::{
    ArchiveFiles, BackupArchive, BackupOptions, BackupScope, BackupTask, Content, FtpSettings,
    ImportOptions, ServerSettings, Storage, TaskState,
};
use panelgate_core::{CoreError, CustomerRef};

use crate::call::BackupOp;
use crate::xml::Element;
use crate::{ok_result, Ctx, Fault, OperatorResult};

/// A failed lookup of a backup target: Plesk's "does not exist" text for a missing object (the
/// core answers `NotFound` for what an admin cannot see); anything else, a customer's
/// `Forbidden` included, through the one error table.
fn lookup_error(e: &CoreError, missing: &'static str) -> Element {
    match e {
        CoreError::NotFound { .. } => Fault::Missing(missing).result(),
        other => Fault::from_core(other, "Object").result(),
    }
}

/// An id from a target element; a value that is not one names nothing.
fn id_or(v: &str, missing: &'static str) -> Result<i64, Element> {
    v.parse().map_err(|_| Fault::Missing(missing).result())
}

/// The backup target named inside an operation, resolved to a scope.
async fn target(ctx: &Ctx<'_>, op: &Element) -> Result<Option<BackupScope>, Element> {
    let actor = ctx.principal.actor();
    for child in &op.children {
        let v = child.text.trim();
        let scope = match child.name.as_str() {
            "server" => BackupScope::Server,
            "customer-id" => BackupScope::Customer(id_or(v, "client does not exist.")?),
            "customer-login" => match ctx
                .core
                .customers()
                .get(&actor, &CustomerRef::Login(v.to_owned()))
                .await
            {
                Ok(c) => BackupScope::Customer(c.id),
                Err(e) => return Err(lookup_error(&e, "client does not exist.")),
            },
            "reseller-id" => BackupScope::Reseller(id_or(v, "reseller does not exist.")?),
            "reseller-login" => match ctx
                .core
                .admins()
                .get(&actor, &AdminRef::Login(v.to_owned()))
                .await
            {
                Ok(a) if a.is_reseller() => BackupScope::Reseller(a.id),
                Ok(_) => return Err(Fault::Missing("reseller does not exist.").result()),
                Err(e) => return Err(lookup_error(&e, "reseller does not exist.")),
            },
            "webspace-id" => BackupScope::Subscription(id_or(v, "webspace does not exist.")?),
            "webspace-name" => {
                let subs = match ctx.core.subscriptions().list(&actor).await {
                    Ok(subs) => subs,
                    Err(e) => return Err(lookup_error(&e, "webspace does not exist.")),
                };
                match subs.iter().find(|s| s.domain.eq_ignore_ascii_case(v)) {
                    Some(s) => BackupScope::Subscription(s.id),
                    None => return Err(Fault::Missing("webspace does not exist.").result()),
                }
            }
            _ => continue,
        };
        // The core decides whether the caller may use this target at all.
        return match ctx.core.backups().check_scope(&actor, scope).await {
            Ok(()) => Ok(Some(scope)),
            Err(e) => Err(lookup_error(&e, not_found_text(scope))),
        };
    }
    Ok(None)
}

fn not_found_text(scope: BackupScope) -> &'static str {
    match scope {
        BackupScope::Server => "server does not exist.",
        BackupScope::Reseller(_) => "reseller does not exist.",
        BackupScope::Customer(_) => "client does not exist.",
        BackupScope::Subscription(_) => "webspace does not exist.",
    }
}

fn scope_error(e: &CoreError, scope: BackupScope) -> Element {
    match e {
        CoreError::NotFound { .. } => Fault::Missing(not_found_text(scope)).result(),
        other => Fault::from_core(other, "Backup").result(),
    }
}

fn bool_text(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

fn flag(op: &Element, name: &str) -> Option<bool> {
    op.child_text(name)
        .map(|v| matches!(v.trim(), "true" | "1"))
}

pub async fn run(ctx: &Ctx<'_>, op: &Element) -> OperatorResult {
    let mut out = Element::new("backup-manager");
    let actor = ctx.principal.actor();
    for operation in &op.children {
        let mut answered = Element::new(operation.name.clone());
        let Some(call) = BackupOp::parse(&operation.name) else {
            answered.push(crate::unsupported());
            out.push(answered);
            continue;
        };
        let result = match call {
            BackupOp::BackupServer
            | BackupOp::BackupReseller
            | BackupOp::BackupCustomer
            | BackupOp::BackupWebspace => start(ctx, operation).await,
            BackupOp::GetTasksInfo => tasks_info(ctx, operation).await,
            BackupOp::GetLocalBackupList => local_list(ctx, operation).await,
            BackupOp::RemoveFile => remove_file(ctx, operation).await,
            BackupOp::ImportFile => import_file(ctx, operation).await,
            BackupOp::DownloadFile => {
                Fault::Refused("download-file must be the only operation of its packet").result()
            }
            BackupOp::StopBackup => match operation
                .child_text("task-id")
                .and_then(|v| v.trim().parse().ok())
            {
                Some(id) => match ctx.core.backups().stop(&actor, id).await {
                    Ok(_) => ok_result(),
                    Err(CoreError::NotFound { .. }) => {
                        Fault::Missing("task does not exist.").result()
                    }
                    Err(e) => Fault::from_core(&e, "Task").result(),
                },
                None => Fault::InvalidValue("task-id").result(),
            },
            BackupOp::GetSupportedProtocols => {
                let mut r = ok_result();
                r.add_text("protocol", "local").add_text("protocol", "ftp");
                r
            }
            BackupOp::GetRemoteStorageSettings => remote_settings(ctx, operation).await,
            BackupOp::SetRemoteStorageSettings => set_remote_settings(ctx, operation).await,
            BackupOp::GetServerWideSettings => {
                match ctx.core.backups().server_settings(&actor).await {
                    Ok(s) => {
                        let mut r = ok_result();
                        let mut settings = Element::new("settings");
                        settings
                            .add_text("max-backup-files", s.max_backup_files.to_string())
                            .add_text("max-backup-processes", s.max_backup_processes.to_string())
                            .add_text("low-priority", bool_text(s.low_priority))
                            .add_text("do-not-compress", bool_text(s.do_not_compress))
                            .add_text(
                                "allow-local-ftp-backup",
                                bool_text(s.allow_local_ftp_backup),
                            )
                            .add_text("keep-local-backup", bool_text(s.keep_local_backup));
                        r.push(settings);
                        r
                    }
                    Err(e) => scope_error(&e, BackupScope::Server),
                }
            }
            BackupOp::SetServerWideSettings => set_server_settings(ctx, operation).await,
        };
        answered.push(result);
        out.push(answered);
    }
    Ok(out)
}

async fn start(ctx: &Ctx<'_>, op: &Element) -> Element {
    let scope = match target(ctx, op).await {
        Ok(Some(s)) => s,
        Ok(None) if op.name == "backup-server" => BackupScope::Server,
        Ok(None) => return Fault::Incomplete("the backup target is missing").result(),
        Err(e) => return e,
    };
    let split_kb: u64 = op
        .child_text("split-size")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let content = if op.child("only-configuration").is_some() {
        Content::Configuration
    } else if op.child("only-mail").is_some() {
        Content::Mail
    } else if op.child("only-hosting").is_some() {
        Content::Hosting
    } else {
        Content::Full
    };
    let opts = BackupOptions {
        description: op.child_text("description").unwrap_or("").to_owned(),
        prefix: op.child_text("prefix").unwrap_or("").trim().to_owned(),
        storage: if op.child("remote").is_some() {
            Storage::Ftp
        } else {
            Storage::Local
        },
        split_size: split_kb.saturating_mul(1024),
        content,
    };
    match ctx
        .core
        .backups()
        .start(&ctx.principal.actor(), scope, opts)
        .await
    {
        Ok(task) => {
            let mut r = ok_result();
            r.add_text("task-id", task.id.to_string());
            r
        }
        Err(e) => scope_error(&e, scope),
    }
}

fn task_element(t: &BackupTask, archives: &[BackupArchive]) -> Element {
    let mut task = Element::new("task");
    let (name, value) = match t.scope {
        BackupScope::Server => ("server", String::new()),
        BackupScope::Reseller(id) => ("reseller-id", id.to_string()),
        BackupScope::Customer(id) => ("customer-id", id.to_string()),
        BackupScope::Subscription(id) => ("webspace-id", id.to_string()),
    };
    let status = match t.state {
        TaskState::Queued | TaskState::Working => "working",
        TaskState::Finished => "finished",
        TaskState::Failed => "failed",
        TaskState::Stopped => "stopped",
    };
    let filename = t
        .archive_id
        .and_then(|id| archives.iter().find(|a| a.id == id))
        .map(|a| a.file_name.clone())
        .unwrap_or_default();
    task.add_text(name, value)
        .add_text("id", t.id.to_string())
        .add_text("status", status)
        .add_text("started", t.started_at.max(t.created_at).to_string())
        .add_text("prefix", t.options.prefix.clone())
        .add_text("filename", filename)
        .add_text(
            "protocol",
            if t.options.storage == Storage::Ftp {
                "ftp"
            } else {
                "local"
            },
        );
    task
}

async fn tasks_info(ctx: &Ctx<'_>, op: &Element) -> Element {
    let actor = ctx.principal.actor();
    let only_task: Option<i64> = op.child_text("task-id").and_then(|v| v.trim().parse().ok());
    let scope = match target(ctx, op).await {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (tasks, archives) = match (
        ctx.core.backups().tasks(&actor).await,
        ctx.core.backups().archives(&actor).await,
    ) {
        (Ok(t), Ok(a)) => (t, a),
        (Err(e), _) | (_, Err(e)) => return scope_error(&e, scope.unwrap_or(BackupScope::Server)),
    };
    let picked: Vec<&BackupTask> = tasks
        .iter()
        .filter(|t| only_task.is_none_or(|id| t.id == id))
        .filter(|t| scope.is_none_or(|s| t.scope == s))
        .collect();
    if only_task.is_some() && picked.is_empty() {
        return Fault::Missing("task does not exist.").result();
    }
    let mut r = ok_result();
    for t in picked {
        r.push(task_element(t, &archives));
    }
    r
}

/// The archives of a scope, as `backup`/`file` elements.
async fn local_list(ctx: &Ctx<'_>, op: &Element) -> Element {
    let scope = match target(ctx, op).await {
        Ok(Some(s)) => s,
        Ok(None) => return Fault::Incomplete("the backup target is missing").result(),
        Err(e) => return e,
    };
    let archives = match ctx.core.backups().archives(&ctx.principal.actor()).await {
        Ok(a) => a,
        Err(e) => return scope_error(&e, scope),
    };
    let mut r = ok_result();
    for a in archives
        .iter()
        // Local archives: the repository's and those Froxlor jobs wrote into the home.
        .filter(|a| a.scope == scope && matches!(a.storage.as_str(), "local" | "home"))
    {
        let mut backup = Element::new("backup");
        let mut file = Element::new("file");
        file.add_text("name", a.file_name.clone())
            .add_text("creation-date", a.created_at.to_string())
            .add_text("description", a.description.clone())
            .add_text("size", a.size.to_string());
        backup.push(file);
        r.push(backup);
    }
    r
}

async fn find_file(ctx: &Ctx<'_>, op: &Element) -> Result<BackupArchive, Element> {
    let scope = match target(ctx, op).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(Fault::Incomplete("the backup target is missing").result()),
        Err(e) => return Err(e),
    };
    let name = op.child_text("filename").unwrap_or("").trim();
    let archives = ctx
        .core
        .backups()
        .archives(&ctx.principal.actor())
        .await
        .map_err(|e| scope_error(&e, scope))?;
    archives
        .into_iter()
        .find(|a| a.scope == scope && a.file_name == name)
        .ok_or_else(|| Fault::Missing("backup file does not exist.").result())
}

async fn remove_file(ctx: &Ctx<'_>, op: &Element) -> Element {
    match find_file(ctx, op).await {
        Ok(a) => match ctx
            .core
            .backups()
            .remove(&ctx.principal.actor(), a.id, true)
            .await
        {
            Ok(_) => ok_result(),
            Err(e) => scope_error(&e, a.scope),
        },
        Err(e) => e,
    }
}

/// `download-file` alone in its packet: the archive's part files, or the error result.
pub async fn download(ctx: &Ctx<'_>, op: &Element) -> Result<ArchiveFiles, Element> {
    let archive = find_file(ctx, op).await?;
    ctx.core
        .backups()
        .files(&ctx.principal.actor(), archive.id)
        .await
        .map_err(|e| scope_error(&e, archive.scope))
}

/// `import-file`: `tmp-filename` names a file in `<data-dir>/uploads/` (where an upload put it).
async fn import_file(ctx: &Ctx<'_>, op: &Element) -> Element {
    let name = op.child_text("tmp-filename").unwrap_or("").trim();
    match ctx
        .core
        .backups()
        .import_staged(
            &ctx.principal.actor(),
            name,
            ImportOptions::default().max_size,
        )
        .await
    {
        Ok(_) => ok_result(),
        Err(CoreError::Invalid { .. }) => Fault::InvalidValue("tmp-filename").result(),
        Err(CoreError::NotFound { .. }) => Fault::Missing("uploaded file does not exist.").result(),
        Err(e) => Fault::from_core(&e, "Backup").result(),
    }
}

async fn remote_settings(ctx: &Ctx<'_>, op: &Element) -> Element {
    let scope = match target(ctx, op).await {
        Ok(s) => s.unwrap_or(BackupScope::Server),
        Err(e) => return e,
    };
    match ctx
        .core
        .backups()
        .storage_settings(&ctx.principal.actor(), scope)
        .await
    {
        Ok(settings) => {
            let mut r = ok_result();
            if let Some(s) = settings {
                let mut el = Element::new("settings");
                el.add_text("protocol", "ftp")
                    .add_text("host", s.host)
                    .add_text("port", s.port.to_string())
                    .add_text("directory", s.directory)
                    .add_text("login", s.login)
                    .add_text("passive-mode", bool_text(s.passive_mode));
                r.push(el);
            }
            r
        }
        Err(e) => scope_error(&e, scope),
    }
}

async fn set_remote_settings(ctx: &Ctx<'_>, op: &Element) -> Element {
    let scope = match target(ctx, op).await {
        Ok(s) => s.unwrap_or(BackupScope::Server),
        Err(e) => return e,
    };
    let Some(s) = op.child("settings") else {
        return Fault::Incomplete("settings are missing").result();
    };
    let ftp = FtpSettings {
        host: s.child_text("host").unwrap_or("").trim().to_owned(),
        port: s
            .child_text("port")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(21),
        directory: s.child_text("directory").unwrap_or("").to_owned(),
        login: s.child_text("login").unwrap_or("").to_owned(),
        password: s.child_text("password").unwrap_or("").to_owned(),
        passive_mode: flag(s, "passive-mode").unwrap_or(false),
        use_ftps: flag(s, "use-ftps").unwrap_or(false),
    };
    match ctx
        .core
        .backups()
        .set_storage_settings(&ctx.principal.actor(), scope, ftp)
        .await
    {
        Ok(()) => ok_result(),
        Err(e) => scope_error(&e, scope),
    }
}

async fn set_server_settings(ctx: &Ctx<'_>, op: &Element) -> Element {
    let Some(s) = op.child("settings") else {
        return Fault::Incomplete("settings are missing").result();
    };
    let current = match ctx
        .core
        .backups()
        .server_settings(&ctx.principal.actor())
        .await
    {
        Ok(c) => c,
        Err(e) => return scope_error(&e, BackupScope::Server),
    };
    let int = |n: &str, d: i64| {
        s.child_text(n)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(d)
    };
    let new = ServerSettings {
        max_backup_files: int("max-backup-files", current.max_backup_files),
        max_backup_processes: int("max-backup-processes", current.max_backup_processes),
        low_priority: flag(s, "low-priority").unwrap_or(current.low_priority),
        do_not_compress: flag(s, "do-not-compress").unwrap_or(current.do_not_compress),
        allow_local_ftp_backup: flag(s, "allow-local-ftp-backup")
            .unwrap_or(current.allow_local_ftp_backup),
        keep_local_backup: flag(s, "keep-local-backup").unwrap_or(current.keep_local_backup),
    };
    match ctx
        .core
        .backups()
        .set_server_settings(&ctx.principal.actor(), &new)
        .await
    {
        Ok(()) => ok_result(),
        Err(e) => scope_error(&e, BackupScope::Server),
    }
}
