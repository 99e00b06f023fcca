//! The types of the backup engine: scopes, options, tasks, archives, settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::archive::DataItem;

/// What a backup covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum BackupScope {
    Server,
    Reseller(i64),
    Customer(i64),
    Subscription(i64),
}

impl BackupScope {
    pub fn kind(&self) -> &'static str {
        match self {
            BackupScope::Server => "server",
            BackupScope::Reseller(_) => "reseller",
            BackupScope::Customer(_) => "customer",
            BackupScope::Subscription(_) => "subscription",
        }
    }
    pub fn id(&self) -> i64 {
        match *self {
            BackupScope::Server => 0,
            BackupScope::Reseller(i) | BackupScope::Customer(i) | BackupScope::Subscription(i) => i,
        }
    }
    pub(crate) fn from_parts(kind: &str, id: i64) -> Option<BackupScope> {
        Some(match kind {
            "server" => BackupScope::Server,
            "reseller" => BackupScope::Reseller(id),
            "customer" => BackupScope::Customer(id),
            "subscription" => BackupScope::Subscription(id),
            _ => return None,
        })
    }
    /// Parse `server`, `reseller:2`, `customer:5`, `subscription:7`.
    pub fn parse(s: &str) -> Option<BackupScope> {
        match s.split_once(':') {
            None => BackupScope::from_parts(s, 0).filter(|s| *s == BackupScope::Server),
            Some((kind, id)) => BackupScope::from_parts(kind, id.parse().ok()?)
                .filter(|s| *s != BackupScope::Server),
        }
    }
    /// `server`, or `kind:id` (as [`BackupScope::parse`] reads it).
    pub fn key(&self) -> String {
        match self {
            BackupScope::Server => "server".into(),
            other => format!("{}:{}", other.kind(), other.id()),
        }
    }
}

/// Which part of the data a backup takes (Plesk `only-hosting`, `only-mail`, `only-configuration`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    #[default]
    Full,
    Hosting,
    Mail,
    Configuration,
}

impl Content {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Content::Full => "full",
            Content::Hosting => "hosting",
            Content::Mail => "mail",
            Content::Configuration => "configuration",
        }
    }
    pub(crate) fn parse(s: &str) -> Content {
        match s {
            "hosting" => Content::Hosting,
            "mail" => Content::Mail,
            "configuration" => Content::Configuration,
            _ => Content::Full,
        }
    }
}

/// Where an archive goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    #[default]
    Local,
    Ftp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupOptions {
    pub description: String,
    pub prefix: String,
    pub storage: Storage,
    /// Bytes per part file; 0 = a single file.
    pub split_size: u64,
    pub content: Content,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Queued,
    Working,
    Finished,
    Failed,
    Stopped,
}

impl TaskState {
    pub const ALL: [TaskState; 5] = [
        TaskState::Queued,
        TaskState::Working,
        TaskState::Finished,
        TaskState::Failed,
        TaskState::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Working => "working",
            TaskState::Finished => "finished",
            TaskState::Failed => "failed",
            TaskState::Stopped => "stopped",
        }
    }
    pub(crate) fn parse(s: &str) -> TaskState {
        match s {
            "queued" => TaskState::Queued,
            "working" => TaskState::Working,
            "finished" => TaskState::Finished,
            "stopped" => TaskState::Stopped,
            _ => TaskState::Failed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupTask {
    pub id: i64,
    pub scope: BackupScope,
    pub owner_admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub options: BackupOptions,
    pub job_id: Option<i64>,
    pub state: TaskState,
    pub progress: i64,
    pub error: String,
    pub attempts: i64,
    /// The worker (process) that ran or runs the task.
    pub worker: String,
    pub archive_id: Option<i64>,
    pub created_at: i64,
    pub started_at: i64,
    pub finished_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupArchive {
    pub id: i64,
    pub task_id: Option<i64>,
    pub scope: BackupScope,
    pub scope_name: String,
    pub owner_admin_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub created_at: i64,
    pub size: i64,
    pub sha256: String,
    pub description: String,
    pub prefix: String,
    pub storage: String,
    pub file_name: String,
    pub parts: Vec<String>,
    pub manifest_version: i64,
    pub items: Vec<DataItem>,
}

/// The files of an archive, for streaming it out.
#[derive(Clone, Debug)]
pub struct ArchiveFiles {
    pub file_name: String,
    pub size: u64,
    pub paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreBehavior {
    /// Keep what exists (BILLmanager "skip existing").
    #[default]
    Skip,
    /// Replace what exists with the archive's version.
    Overwrite,
}

/// A data item to restore: (`customer`|`files`|`subscription`|`reseller`|`settings`, name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub restored: Vec<DataItem>,
    pub skipped: Vec<DataItem>,
    pub files_restored: u64,
    pub files_skipped: u64,
}

/// Server-wide backup settings (Plesk `get-server-wide-settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Archives kept per scope in local storage; the oldest are pruned. 0 = no limit.
    pub max_backup_files: i64,
    /// Tasks one instance runs at once.
    pub max_backup_processes: i64,
    pub low_priority: bool,
    pub do_not_compress: bool,
    pub allow_local_ftp_backup: bool,
    pub keep_local_backup: bool,
}

/// Remote storage settings of a scope (FTP).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FtpSettings {
    pub host: String,
    pub port: i64,
    pub directory: String,
    pub login: String,
    pub password: String,
    pub passive_mode: bool,
    pub use_ftps: bool,
}

/// Limits for uploads.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub max_size: u64,
    pub expected_sha256: Option<String>,
    pub description: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_size: 4 * 1024 * 1024 * 1024,
            expected_sha256: None,
            description: String::new(),
        }
    }
}

/// How many times a task whose worker vanished is queued again before it fails.
pub(crate) const MAX_ATTEMPTS: i64 = 2;
