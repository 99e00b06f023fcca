//! Configuration: command-line flags, `PANELGATE_*` environment variables and a TOML file, in
//! that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use panelgate_core::Limits;
use panelgate_froxlor::FroxlorVersion;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "panelgate",
    version,
    about = "One server that speaks the Froxlor, ISPsystem, Plesk and httpapi.com panel APIs over one shared model."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Load a data set (TOML like fixtures/demo.toml, or JSON lines) into the database, in
    /// batches, then exit. The server must not be running on the same SQLite file.
    Import(ImportArgs),
    /// Reset a running server to its seed data set
    Reset(crate::cli::ControlArgs),
    /// Save, restore, list or delete snapshots of a running server's whole state
    Snapshot(crate::cli::SnapshotArgs),
    /// Print a running server's request journal (`--follow` to keep printing)
    Journal(crate::cli::JournalArgs),
    /// Add, list or clear a running server's fault rules
    Faults(crate::cli::FaultsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The data set: TOML, or JSON lines (`{"customer": {…}}` per line)
    pub file: PathBuf,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "PANELGATE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Database URL: sqlite://FILE, postgres://… or mysql://… [default: SQLite file in the data dir]
    #[arg(long, env = "PANELGATE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory for the SQLite database and archives [default: ./panelgate-data]
    #[arg(long, env = "PANELGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "PANELGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Do not load the demo data set into a fresh database
    #[arg(long, env = "PANELGATE_NO_DEMO")]
    pub no_demo: bool,
    /// Load this data set (TOML, the format of fixtures/demo.toml, or JSON lines) into a fresh
    /// database instead of the demo data
    #[arg(long, env = "PANELGATE_SEED")]
    pub seed: Option<PathBuf>,
    /// Froxlor release to answer as: 2.0 (2.0.24) or 2.3 (2.3.10) [default: 2.0]
    #[arg(long, env = "PANELGATE_FROXLOR_VERSION", value_enum)]
    pub froxlor_version: Option<FroxlorRelease>,
    /// Log format [default: text]
    #[arg(long, env = "PANELGATE_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Seconds after which a planned Froxlor backup job runs (Froxlor's cron) [default: 60]
    #[arg(long, env = "PANELGATE_BACKUP_JOB_DELAY")]
    pub backup_job_delay: Option<i64>,
    /// Plesk strict mode: `backup-manager` only in packets of version 1.6.9.0 or older, as Plesk
    /// Obsidian answers
    #[arg(long, env = "PANELGATE_PLESK_STRICT")]
    pub plesk_strict: bool,
    /// Restore this snapshot (of `<data-dir>/snapshots/`) at start, over whatever the database
    /// holds [default: none]
    #[arg(long, env = "PANELGATE_RESTORE_SNAPSHOT")]
    pub restore_snapshot: Option<String>,
    /// Record no Prometheus metrics (`/_panelgate/metrics` answers 404) [default: recorded]
    #[arg(long, env = "PANELGATE_NO_METRICS")]
    pub no_metrics: bool,
    /// Bearer token the control API requires from every client, loopback included
    /// [default: no token; then only loopback clients are answered]
    #[arg(long, env = "PANELGATE_CONTROL_TOKEN")]
    pub control_token: Option<String>,
    /// Hosts that ISPsystem `backups.upload&url=` may fetch archives from (http:// only),
    /// comma-separated [default: none; every URL is refused]
    #[arg(long, env = "PANELGATE_UPLOAD_URL_HOSTS", value_delimiter = ',')]
    pub upload_url_hosts: Option<Vec<String>>,
    /// How new passwords and secrets are hashed: `standard` (argon2id, 19 MiB, 2 passes) or
    /// `fast` (256 KiB, 1 pass; for CI and load tests, NOT for production) [default: standard]
    #[arg(long, env = "PANELGATE_PASSWORD_HASHING")]
    pub password_hashing: Option<panelgate_core::HashProfile>,
    /// Largest request body in bytes; larger bodies are not read [default: 8388608]
    #[arg(long, env = "PANELGATE_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Seconds a client may take to send a request body [default: 30]
    #[arg(long, env = "PANELGATE_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<u64>,
    /// Seconds a client may take to send the request head [default: 30]
    #[arg(long, env = "PANELGATE_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Connections served at once; further clients wait in the listen queue [default: 1024]
    #[arg(long, env = "PANELGATE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Largest archive upload through the control API, in bytes [default: 4294967296]
    #[arg(long, env = "PANELGATE_UPLOAD_LIMIT")]
    pub upload_limit: Option<u64>,
    /// Failed logins per source address and login per minute [default: 30]
    #[arg(long, env = "PANELGATE_FAILED_LOGINS_PER_MINUTE")]
    pub failed_logins_per_minute: Option<u32>,
    /// Failed logins per source address per minute, whatever the login [default: 300]
    #[arg(long, env = "PANELGATE_FAILED_LOGINS_PER_ADDRESS_PER_MINUTE")]
    pub failed_logins_per_address_per_minute: Option<u32>,
    /// Backup tasks queued or running per customer, reseller or server scope [default: 10]
    #[arg(long, env = "PANELGATE_TASKS_QUEUED_PER_SCOPE")]
    pub tasks_queued_per_scope: Option<u32>,
    /// Planned backup jobs per customer [default: 10]
    #[arg(long, env = "PANELGATE_JOBS_PER_CUSTOMER")]
    pub jobs_per_customer: Option<u32>,
    /// API keys per account [default: 100]
    #[arg(long, env = "PANELGATE_KEYS_PER_ACCOUNT")]
    pub keys_per_account: Option<u32>,
    /// Smallest archive split size in bytes (smaller ones are raised to it) [default: 1048576]
    #[arg(long, env = "PANELGATE_MIN_SPLIT_SIZE")]
    pub min_split_size: Option<u64>,
    /// Archives kept per customer, reseller or server scope [default: 20]
    #[arg(long, env = "PANELGATE_ARCHIVES_PER_SCOPE")]
    pub archives_per_scope: Option<u32>,
    /// Largest unpacked size of an archive that import or restore accepts, in bytes
    /// [default: 17179869184]
    #[arg(long, env = "PANELGATE_MAX_UNPACKED_SIZE")]
    pub max_unpacked_size: Option<u64>,
    /// Most entries in an archive that import or restore accepts [default: 1000000]
    #[arg(long, env = "PANELGATE_MAX_ARCHIVE_ENTRIES")]
    pub max_archive_entries: Option<u64>,
    /// Largest tar header extension, manifest or checksum list in an archive, in bytes
    /// [default: 16777216]
    #[arg(long, env = "PANELGATE_MAX_ARCHIVE_HEADER")]
    pub max_archive_header: Option<u64>,
    /// Password hashes and archive jobs run at once [default: 0 = the number of cores]
    #[arg(long, env = "PANELGATE_CPU_WORKERS")]
    pub cpu_workers: Option<usize>,
    /// Bytes in one GB of a backup order's storage [default: 1000000000]
    #[arg(long, env = "PANELGATE_ORDER_STORAGE_UNIT_BYTES")]
    pub order_storage_unit_bytes: Option<u64>,
    /// Seconds a backup task's lease lasts; a task of a stopped process is taken up again once
    /// it ran out [default: 60, at least 3]
    #[arg(long, env = "PANELGATE_TASK_LEASE_SECS")]
    pub task_lease_secs: Option<u64>,
    /// Request journal entries kept; 0 turns the journal off [default: 10000]
    #[arg(long, env = "PANELGATE_JOURNAL_MAX_ENTRIES")]
    pub journal_max_entries: Option<u64>,
    /// Bytes of request journal texts kept; 0 turns the journal off [default: 67108864]
    #[arg(long, env = "PANELGATE_JOURNAL_MAX_BYTES")]
    pub journal_max_bytes: Option<u64>,
    /// Snapshots kept in the data folder at most [default: 32]
    #[arg(long, env = "PANELGATE_MAX_SNAPSHOTS")]
    pub max_snapshots: Option<u32>,
    /// Start the core's clock at this Unix time (the control API moves it further)
    /// [default: the system's time]
    #[arg(long, env = "PANELGATE_CLOCK_AT")]
    pub clock_at: Option<i64>,
    /// Start with the core's clock stopped: it moves only when the control API advances it
    #[arg(long, env = "PANELGATE_CLOCK_FROZEN")]
    pub clock_frozen: bool,
    /// Also serve HTTPS on these addresses, comma-separated or repeated (e.g. 127.0.0.1:8443
    /// as Plesk, 127.0.0.1:1500 as ISPmanager) [default: no HTTPS]
    #[arg(long, env = "PANELGATE_TLS_LISTEN", value_delimiter = ',')]
    pub tls_listen: Option<Vec<SocketAddr>>,
    /// The HTTPS certificate chain, PEM [default: a self-signed one kept in <data-dir>/tls]
    #[arg(long, env = "PANELGATE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The HTTPS private key, PEM (with --tls-cert)
    #[arg(long, env = "PANELGATE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Host names the self-signed certificate is also made for, beside localhost and
    /// 127.0.0.1, comma-separated
    #[arg(long, env = "PANELGATE_TLS_HOSTS", value_delimiter = ',')]
    pub tls_hosts: Option<Vec<String>>,
}

/// The TOML file (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub demo: Option<bool>,
    pub seed: Option<PathBuf>,
    pub metrics: Option<bool>,
    pub restore_snapshot: Option<String>,
    pub body_limit: Option<usize>,
    pub log_format: Option<LogFormat>,
    pub upload_limit: Option<u64>,
    pub backup_job_delay: Option<i64>,
    pub control_token: Option<String>,
    pub body_read_timeout: Option<u64>,
    pub header_read_timeout: Option<u64>,
    pub max_connections: Option<usize>,
    pub upload_url_hosts: Option<Vec<String>>,
    pub password_hashing: Option<panelgate_core::HashProfile>,
    pub froxlor: FroxlorFileConfig,
    pub plesk: PleskFileConfig,
    pub clock: ClockFileConfig,
    pub tls: TlsFileConfig,
    /// `[[faults]]`: fault rules in force from the start.
    pub faults: Vec<panelgate_http::faults::Rule>,
    /// The core's limits (`[limits]`, the fields of [`Limits`]).
    pub limits: Limits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FroxlorFileConfig {
    pub version: Option<FroxlorRelease>,
}

/// The Froxlor release the Froxlor API answers as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
pub enum FroxlorRelease {
    /// Froxlor 2.0.24
    #[value(name = "2.0")]
    #[serde(rename = "2.0")]
    V2_0,
    /// Froxlor 2.3.10
    #[value(name = "2.3")]
    #[serde(rename = "2.3")]
    V2_3,
}

impl From<FroxlorRelease> for FroxlorVersion {
    fn from(r: FroxlorRelease) -> FroxlorVersion {
        match r {
            FroxlorRelease::V2_0 => FroxlorVersion::V2_0,
            FroxlorRelease::V2_3 => FroxlorVersion::V2_3,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[tls]`: HTTPS beside the plain listener.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFileConfig {
    pub listen: Option<Vec<SocketAddr>>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
}

/// `[clock]`: where the core's clock starts.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockFileConfig {
    /// Unix seconds.
    pub at: Option<i64>,
    pub frozen: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PleskFileConfig {
    pub strict: Option<bool>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub demo: bool,
    /// A data set to load into a fresh database instead of the demo data.
    pub seed: Option<PathBuf>,
    pub body_limit: usize,
    pub json_logs: bool,
    pub froxlor_version: FroxlorVersion,
    pub plesk_strict: bool,
    /// Prometheus metrics are recorded.
    pub metrics: bool,
    /// A snapshot restored at start.
    pub restore_snapshot: Option<String>,
    pub upload_limit: u64,
    pub backup_job_delay: i64,
    pub control_token: Option<String>,
    pub body_read_timeout: Duration,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// Hosts `backups.upload&url=` may fetch from (empty: none).
    pub upload_url_hosts: Vec<String>,
    pub password_hashing: panelgate_core::HashProfile,
    pub limits: Limits,
    /// Where the core's clock starts (Unix seconds; `None`: the system's time).
    pub clock_at: Option<i64>,
    pub clock_frozen: bool,
    /// HTTPS listeners (none: plain HTTP only), certificate and key (`None`: self-signed).
    pub tls_listen: Vec<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Extra names of a self-signed certificate.
    pub tls_hosts: Vec<String>,
    /// Fault rules in force from the start.
    pub faults: Vec<panelgate_http::faults::Rule>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid fault rule in {path}: {reason}")]
    Fault { path: PathBuf, reason: String },
}

impl Config {
    pub fn resolve(args: &ServeArgs) -> Result<Config, ConfigError> {
        let mut file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        for rule in &file.faults {
            rule.check().map_err(|reason| ConfigError::Fault {
                path: args.config.clone().unwrap_or_default(),
                reason,
            })?;
        }
        let faults = std::mem::take(&mut file.faults);
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("panelgate-data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir.join("panelgate.db")));
        let froxlor_version = FroxlorVersion::from(
            args.froxlor_version
                .or(file.froxlor.version)
                .unwrap_or(FroxlorRelease::V2_0),
        );
        let json_logs = args
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text)
            == LogFormat::Json;
        let mut limits = file.limits;
        macro_rules! flag_over_file {
            ($($field:ident),*) => {$(
                if let Some(v) = args.$field {
                    limits.$field = v;
                }
            )*};
        }
        flag_over_file!(
            failed_logins_per_minute,
            failed_logins_per_address_per_minute,
            tasks_queued_per_scope,
            jobs_per_customer,
            keys_per_account,
            min_split_size,
            archives_per_scope,
            max_unpacked_size,
            max_archive_entries,
            max_archive_header,
            cpu_workers,
            order_storage_unit_bytes,
            journal_max_entries,
            journal_max_bytes,
            max_snapshots,
            task_lease_secs
        );
        Ok(Config {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            database_url,
            data_dir,
            demo: !args.no_demo && file.demo.unwrap_or(true),
            seed: args.seed.clone().or(file.seed),
            body_limit: args
                .body_limit
                .or(file.body_limit)
                .unwrap_or(panelgate_http::DEFAULT_BODY_LIMIT),
            json_logs,
            froxlor_version,
            plesk_strict: args.plesk_strict || file.plesk.strict.unwrap_or(false),
            metrics: !args.no_metrics && file.metrics.unwrap_or(true),
            restore_snapshot: args.restore_snapshot.clone().or(file.restore_snapshot),
            upload_limit: args
                .upload_limit
                .or(file.upload_limit)
                .unwrap_or(crate::DEFAULT_UPLOAD_LIMIT),
            backup_job_delay: args
                .backup_job_delay
                .or(file.backup_job_delay)
                .unwrap_or(60),
            control_token: args
                .control_token
                .clone()
                .or(file.control_token)
                .filter(|t| !t.is_empty()),
            password_hashing: args
                .password_hashing
                .or(file.password_hashing)
                .unwrap_or_default(),
            upload_url_hosts: args
                .upload_url_hosts
                .clone()
                .or(file.upload_url_hosts)
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            body_read_timeout: Duration::from_secs(
                args.body_read_timeout
                    .or(file.body_read_timeout)
                    .unwrap_or(30)
                    .max(1),
            ),
            header_read_timeout: Duration::from_secs(
                args.header_read_timeout
                    .or(file.header_read_timeout)
                    .unwrap_or(30)
                    .max(1),
            ),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(1024)
                .max(1),
            limits,
            clock_at: args.clock_at.or(file.clock.at),
            clock_frozen: args.clock_frozen || file.clock.frozen.unwrap_or(false),
            tls_listen: args
                .tls_listen
                .clone()
                .or(file.tls.listen)
                .unwrap_or_default(),
            tls_cert: args.tls_cert.clone().or(file.tls.cert),
            tls_key: args.tls_key.clone().or(file.tls.key),
            tls_hosts: args
                .tls_hosts
                .clone()
                .or(file.tls.hosts)
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            faults,
        })
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })
}

/// `sqlite://` URL for a file, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every limit, by flag and by TOML key, reaches the running app through the path `main`
    /// takes (`Cli` → `Config::resolve` → `build`).
    #[tokio::test]
    async fn every_limit_reaches_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let toml_path = dir.path().join("panelgate.toml");
        std::fs::write(
            &toml_path,
            r#"
demo = false
body_limit = 1234
body_read_timeout = 7
header_read_timeout = 8
max_connections = 9
upload_limit = 10
control_token = "from-file"
upload_url_hosts = ["Files.Example"]
password_hashing = "fast"
metrics = false

[clock]
at = 1000000000
frozen = true

[[faults]]
protocol = "plesk"
call = "customer/*"
effect = "error"
code = 1013
message = "from the file"

[tls]
listen = ["127.0.0.1:8443", "127.0.0.1:1500"]
hosts = ["Panel.Example"]

[limits]
failed_logins_per_minute = 11
failed_logins_per_address_per_minute = 12
tasks_queued_per_scope = 13
jobs_per_customer = 19
keys_per_account = 20
min_split_size = 14
archives_per_scope = 15
max_unpacked_size = 16
max_archive_entries = 17
max_archive_header = 18
cpu_workers = 1
order_storage_unit_bytes = 36
journal_max_entries = 38
journal_max_bytes = 39
max_snapshots = 42
task_lease_secs = 44
"#,
        )
        .unwrap();
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "panelgate",
                "--data-dir",
                data.to_str().unwrap(),
                "--config",
                toml_path.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            Config::resolve(&Cli::try_parse_from(args).unwrap().serve).unwrap()
        };
        let from_file = parse(&[]);
        let (app, _) = crate::build(&from_file).await.unwrap();
        let o = app.options();
        assert_eq!(o.body.limit, 1234);
        assert_eq!(o.body.timeout, Duration::from_secs(7));
        assert_eq!(o.header_read_timeout, Duration::from_secs(8));
        assert_eq!(o.max_connections, 9);
        assert_eq!(o.upload_limit, 10);
        assert_eq!(o.control_token.as_deref(), Some("from-file"));
        assert_eq!(o.upload_url_hosts, ["files.example"]);
        assert!(!o.metrics, "metrics = false in the file");
        // Fault rules from the file are in force.
        assert_eq!(o.faults.len(), 1);
        assert_eq!(o.faults[0].code, Some(1013));
        // HTTPS: a self-signed certificate made for the file's host name too.
        assert_eq!(
            from_file.tls_listen,
            [
                SocketAddr::from(([127, 0, 0, 1], 8443)),
                SocketAddr::from(([127, 0, 0, 1], 1500))
            ]
        );
        let tls = crate::tls::setup(&from_file).unwrap().expect("TLS is on");
        assert!(tls.self_signed);
        assert_eq!(
            std::fs::read_to_string(data.join("tls").join("names")).unwrap(),
            "localhost\n127.0.0.1\npanel.example"
        );
        // The clock starts where the file says, stopped.
        let clock = app.core().steerable_clock().unwrap().state();
        assert_eq!((clock.now, clock.frozen), (1_000_000_000, true));
        assert_eq!(
            app.core().password_hashing(),
            panelgate_core::HashProfile::Fast
        );
        assert_eq!(
            app.core().limits(),
            &Limits {
                failed_logins_per_minute: 11,
                failed_logins_per_address_per_minute: 12,
                tasks_queued_per_scope: 13,
                jobs_per_customer: 19,
                keys_per_account: 20,
                min_split_size: 14,
                archives_per_scope: 15,
                max_unpacked_size: 16,
                max_archive_entries: 17,
                max_archive_header: 18,
                cpu_workers: 1,
                order_storage_unit_bytes: 36,
                journal_max_entries: 38,
                journal_max_bytes: 39,
                max_snapshots: 42,
                task_lease_secs: 44,
            }
        );
        drop(app);
        // Flags win over the file.
        let flags = parse(&[
            "--body-limit",
            "21",
            "--body-read-timeout",
            "22",
            "--header-read-timeout",
            "23",
            "--max-connections",
            "24",
            "--upload-limit",
            "25",
            "--control-token",
            "from-flag",
            "--failed-logins-per-minute",
            "26",
            "--failed-logins-per-address-per-minute",
            "27",
            "--tasks-queued-per-scope",
            "28",
            "--jobs-per-customer",
            "34",
            "--keys-per-account",
            "35",
            "--min-split-size",
            "29",
            "--archives-per-scope",
            "30",
            "--max-unpacked-size",
            "31",
            "--max-archive-entries",
            "32",
            "--max-archive-header",
            "33",
            "--cpu-workers",
            "2",
            "--order-storage-unit-bytes",
            "37",
            "--journal-max-entries",
            "40",
            "--journal-max-bytes",
            "41",
            "--max-snapshots",
            "43",
            "--task-lease-secs",
            "45",
            "--password-hashing",
            "standard",
            "--plesk-strict",
            "--upload-url-hosts",
            "a.example, B.example",
            "--clock-at",
            "2000000000",
            "--tls-cert",
            "given.pem",
        ]);
        // A certificate without its key is refused.
        assert!(crate::tls::setup(&flags)
            .err()
            .unwrap()
            .contains("--tls-key"));
        let (app, _) = crate::build(&flags).await.unwrap();
        let o = app.options();
        assert_eq!(
            (
                o.body.limit,
                o.body.timeout.as_secs(),
                o.header_read_timeout.as_secs(),
                o.max_connections,
                o.upload_limit,
                o.plesk_strict
            ),
            (21, 22, 23, 24, 25, true)
        );
        assert_eq!(o.control_token.as_deref(), Some("from-flag"));
        assert_eq!(o.upload_url_hosts, ["a.example", "b.example"]);
        // The flag's start, frozen by the file.
        assert_eq!(app.core().now(), 2_000_000_000);
        assert_eq!(
            app.core().password_hashing(),
            panelgate_core::HashProfile::Standard
        );
        assert_eq!(
            app.core().limits(),
            &Limits {
                failed_logins_per_minute: 26,
                failed_logins_per_address_per_minute: 27,
                tasks_queued_per_scope: 28,
                jobs_per_customer: 34,
                keys_per_account: 35,
                min_split_size: 29,
                archives_per_scope: 30,
                max_unpacked_size: 31,
                max_archive_entries: 32,
                max_archive_header: 33,
                cpu_workers: 2,
                order_storage_unit_bytes: 37,
                journal_max_entries: 40,
                journal_max_bytes: 41,
                max_snapshots: 43,
                task_lease_secs: 45,
            }
        );
    }

    /// The snapshot restored at start, from the file, and a flag over it (restoring itself is
    /// tested through the binary).
    #[test]
    fn restore_snapshot_from_file_and_flag() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("panelgate.toml");
        std::fs::write(&toml_path, "restore_snapshot = \"from-the-file\"\n").unwrap();
        let resolve = |extra: &[&str]| {
            let mut args = vec!["panelgate", "--config", toml_path.to_str().unwrap()];
            args.extend_from_slice(extra);
            Config::resolve(&Cli::try_parse_from(args).unwrap().serve).unwrap()
        };
        assert_eq!(
            resolve(&[]).restore_snapshot.as_deref(),
            Some("from-the-file")
        );
        assert_eq!(
            resolve(&["--restore-snapshot", "flag"])
                .restore_snapshot
                .as_deref(),
            Some("flag")
        );
        assert_eq!(
            Config::resolve(&ServeArgs::default())
                .unwrap()
                .restore_snapshot,
            None
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(config.body_limit, 8 * 1024 * 1024);
        assert_eq!(config.body_read_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, 1024);
        assert_eq!(config.upload_limit, 4 * 1024 * 1024 * 1024);
        assert_eq!(config.control_token, None);
        assert_eq!(
            config.password_hashing,
            panelgate_core::HashProfile::Standard
        );
        assert_eq!(config.limits, Limits::default());
        assert!(config.metrics);
        let off = Config::resolve(&ServeArgs {
            no_metrics: true,
            ..ServeArgs::default()
        })
        .unwrap();
        assert!(!off.metrics);
        assert_eq!(Limits::default().failed_logins_per_minute, 30);
        assert_eq!(Limits::default().tasks_queued_per_scope, 10);
    }
}
