//! The archive format: a tar stream, gzip-compressed unless compression is off, cut into parts
//! when a split size is set.
//!
//! # Format (manifest version 1)
//! 1. `manifest.json` — [`Manifest`]: format name, version, scope, the data items, and the
//!    database records in scope (admins, customers with their password hashes, credentials,
//!    subscriptions, backup jobs, settings for a server backup).
//! 2. `homes/<login>/…` — the customer's files from `<data-dir>/homes/<login>/`.
//! 3. `checksums.json` — size and SHA-256 of every file entry, written last because it is
//!    computed while the files stream through.
//!
//! Readers accept only this shape: regular files and directories, relative paths without `..`,
//! files under the home of a customer the manifest names, every checksum right — and only within
//! [`ReadLimits`]: the unpacked size, the number of entries, and the size of every piece that is
//! held in memory (a GNU long name, a PAX record set, `manifest.json`, `checksums.json`), each
//! checked before it is read.
//!
//! # Writing and crash safety
//! [`write`] produces the parts under `<part>.tmp` names only. The caller registers the archive
//! (with the final part names) in the database, commits, and only then calls [`publish`], which
//! renames the `.tmp` files to their final names. So a file with a final name always belongs to
//! a committed archive row; `.tmp` files of a crashed writer are swept up later (see
//! [`crate::backup_worker::Worker::remove_orphan_tmp_files`]).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::Limits;

pub const FORMAT: &str = "panelgate-backup";
pub const MANIFEST_VERSION: i64 = 1;

/// What a reader (and, so that it never makes an archive it could not read back, the writer)
/// accepts. Built from the core's [`Limits`]; `Copy`, so blocking closures can own one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Sum of the data sizes of all entries (decompression-bomb guard).
    pub max_unpacked: u64,
    /// Entries (files, directories, `manifest.json`, `checksums.json`, PAX global headers; a
    /// GNU long name or PAX header belongs to the entry it describes).
    pub max_entries: u64,
    /// Bytes of one GNU long name, one PAX record set, `manifest.json` or `checksums.json`.
    pub max_header: u64,
}

impl From<&Limits> for ReadLimits {
    fn from(l: &Limits) -> ReadLimits {
        ReadLimits {
            max_unpacked: l.max_unpacked_size,
            max_entries: l.max_archive_entries,
            max_header: l.max_archive_header,
        }
    }
}

impl Default for ReadLimits {
    /// The limits of [`Limits::default`].
    fn default() -> ReadLimits {
        ReadLimits::from(&Limits::default())
    }
}

/// One data item of an archive (BILLmanager's `backupdata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataItem {
    /// `customer`, `reseller`, `subscription`, `files`, `settings`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub owner: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestScope {
    pub kind: String,
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: i64,
    pub created_at: i64,
    pub scope: ManifestScope,
    pub description: String,
    pub items: Vec<DataItem>,
    pub records: Records,
}

/// Database rows in scope, as JSON objects of the entity columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Records {
    pub admins: Vec<serde_json::Value>,
    pub customers: Vec<serde_json::Value>,
    pub credentials: Vec<serde_json::Value>,
    pub subscriptions: Vec<serde_json::Value>,
    pub backup_jobs: Vec<serde_json::Value>,
    pub settings: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    pub size: u64,
    pub sha256: String,
}

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the archive is truncated or not a panelgate archive: {0}")]
    Corrupt(String),
    #[error("the archive contains a forbidden entry: {0}")]
    ForbiddenEntry(String),
    #[error("checksum mismatch: {0}")]
    Checksum(String),
    #[error("the archive is larger than allowed ({0} bytes)")]
    TooLarge(u64),
    /// An entry count or an in-memory piece (long name, PAX header, manifest, checksums) over
    /// its limit.
    #[error("the archive exceeds a limit: {0}")]
    Limit(String),
    #[error("stopped")]
    Stopped,
    /// A fault rule made this task fail ([`Control::fail_after`]).
    #[error("an injected fault")]
    Injected,
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Cooperation between a running writer and the task that watches it.
#[derive(Debug, Default)]
pub struct Control {
    pub stop: AtomicBool,
    pub bytes_in: AtomicU64,
    /// Fail with [`ArchiveError::Injected`] once this many bytes are read (a fault rule's
    /// `fail_task` effect).
    pub fail_after: Option<u64>,
}

impl Control {
    fn injected(&self) -> bool {
        self.fail_after
            .is_some_and(|at| self.bytes_in.load(Ordering::Relaxed) >= at)
    }
}

/// Writes the archive stream into part files, hashing the whole stream.
struct PartWriter {
    dir: PathBuf,
    base: String,
    split: u64,
    current: Option<BufWriter<File>>,
    in_part: u64,
    parts: Vec<String>,
    hasher: Sha256,
    total: u64,
}

impl PartWriter {
    fn part_name(&self, index: usize) -> String {
        if self.split == 0 {
            self.base.clone()
        } else {
            format!("{}.{:03}", self.base, index + 1)
        }
    }

    fn open_next(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.current.take() {
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        let name = self.part_name(self.parts.len());
        let path = self.dir.join(tmp_name(&name));
        // Never open through whatever sits at that name (a symbolic link planted in a
        // customer's folder would redirect the write): remove it, then create exclusively.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        self.parts.push(name);
        self.current = Some(BufWriter::with_capacity(1 << 20, file));
        self.in_part = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<(Vec<String>, u64, String)> {
        if self.current.is_none() {
            self.open_next()?;
        }
        if let Some(mut w) = self.current.take() {
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        Ok((self.parts, self.total, hex(&self.hasher.finalize())))
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.current.is_none() || (self.split > 0 && self.in_part >= self.split) {
            self.open_next()?;
        }
        let room = if self.split > 0 {
            (self.split - self.in_part) as usize
        } else {
            buf.len()
        };
        let n = buf.len().min(room);
        let w = self.current.as_mut().expect("a part is open");
        w.write_all(&buf[..n])?;
        self.hasher.update(&buf[..n]);
        self.in_part += n as u64;
        self.total += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// A reader that hashes what passes through and honours the stop flag.
struct HashingReader<'a, R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    control: &'a Control,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.control.stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("stopped"));
        }
        if self.control.injected() {
            return Err(io::Error::other("an injected fault"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.control.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The `.tmp` name a part is written under until [`publish`] renames it.
pub fn tmp_name(part: &str) -> String {
    format!("{part}.tmp")
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `upload_<16 hex>.tmp`: an upload streaming into local storage.
pub(crate) fn is_upload_tmp_name(name: &str) -> bool {
    name.strip_prefix("upload_")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|h| is_hex(h, 16))
}

/// `<stem>.pg-restore-<8 hex>.tmp`: a file being restored into a home folder.
pub(crate) fn is_restore_tmp_name(name: &str) -> bool {
    name.strip_suffix(".tmp")
        .and_then(|r| r.rsplit_once(".pg-restore-"))
        .is_some_and(|(stem, h)| !stem.is_empty() && is_hex(h, 8))
}

/// The archive name (`<…>.tar` or `<…>.tar.gz`) of a part being written
/// (`<base>.tmp` or `<base>.<NNN>.tmp`), if `name` is one.
pub(crate) fn archive_tmp_base(name: &str) -> Option<&str> {
    let s = name.strip_suffix(".tmp")?;
    let is_archive = |b: &str| b.len() > 4 && (b.ends_with(".tar") || b.ends_with(".tar.gz"));
    if is_archive(s) {
        return Some(s);
    }
    let (base, index) = s.rsplit_once('.')?;
    (index.len() >= 3 && index.bytes().all(|b| b.is_ascii_digit()) && is_archive(base))
        .then_some(base)
}

/// A Froxlor job archive name: `backup_<login>_<YYYYmmddHHMMSS>_<task id>.tar[.gz]` (what the
/// worker writes into a customer's folder; anything else there is the customer's own). The
/// form without a task id is the one earlier versions wrote.
pub(crate) fn is_job_archive_name(base: &str) -> bool {
    let Some(mut rest) = base
        .strip_suffix(".tar.gz")
        .or_else(|| base.strip_suffix(".tar"))
        .and_then(|r| r.strip_prefix("backup_"))
    else {
        return false;
    };
    if let Some((head, task)) = rest.rsplit_once('_') {
        let is_stamp = |s: &str| s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit());
        let stamped_head = head.rsplit_once('_').is_some_and(|(_, st)| is_stamp(st));
        if !task.is_empty() && task.bytes().all(|b| b.is_ascii_digit()) && stamped_head {
            rest = head;
        }
    }
    match rest.rsplit_once('_') {
        Some((login, stamp)) => {
            !login.is_empty() && stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Is `name` a temporary file panelgate makes inside a home folder (a job archive part being
/// written, a file being restored)? Such files never go into an archive.
pub(crate) fn is_home_tmp_name(name: &str) -> bool {
    is_restore_tmp_name(name) || archive_tmp_base(name).is_some_and(is_job_archive_name)
}

/// The files of one home folder, as (path inside the archive, path on disk), sorted. Symbolic
/// links are not followed. Paths in `exclude` (the parts of registered archives stored in this
/// home) and panelgate's own temporary files are left out, so an archive never contains
/// earlier archives.
pub fn home_files(
    home: &Path,
    login: &str,
    exclude: &HashSet<PathBuf>,
) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !home.is_dir() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(home).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        if exclude.contains(path) || entry.file_name().to_str().is_some_and(is_home_tmp_name) {
            continue;
        }
        let rel = path.strip_prefix(home).map_err(io::Error::other)?;
        let rel = rel
            .to_str()
            .ok_or_else(|| io::Error::other("non-UTF-8 file name"))?;
        out.push((format!("homes/{login}/{rel}"), path.to_path_buf()));
    }
    out.sort();
    Ok(out)
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Written {
    /// Final part file names (in `dir`). On disk they are still `<name>.tmp` ([`tmp_name`])
    /// until [`publish`] renames them.
    pub parts: Vec<String>,
    pub size: u64,
    pub sha256: String,
}

/// Write an archive named `base` into `dir`, under `.tmp` names only (files and directory
/// synced). Register it, commit, then [`publish`] it: a crash never leaves a final-named file
/// that no archive row names. On failure the `.tmp` files are removed. An archive that
/// [`read_checked`] with `limits` would refuse is not written.
#[allow(clippy::too_many_arguments)]
pub fn write(
    dir: &Path,
    base: &str,
    manifest: &Manifest,
    files: &[(String, PathBuf)],
    split: u64,
    compress: bool,
    limits: ReadLimits,
    control: &Control,
) -> Result<Written, ArchiveError> {
    // manifest.json, the files, checksums.json.
    let entries = (files.len() as u64).saturating_add(2);
    if entries > limits.max_entries {
        return Err(ArchiveError::Limit(format!(
            "{entries} entries, more than the limit of {}",
            limits.max_entries
        )));
    }
    std::fs::create_dir_all(dir)?;
    let new_parts = || PartWriter {
        dir: dir.to_path_buf(),
        base: base.to_owned(),
        split,
        current: None,
        in_part: 0,
        parts: Vec::new(),
        hasher: Sha256::new(),
        total: 0,
    };
    let outcome = if compress {
        let enc = flate2::write::GzEncoder::new(new_parts(), flate2::Compression::fast());
        build_tar(enc, manifest, files, limits, control).and_then(|enc| Ok(enc.finish()?))
    } else {
        build_tar(new_parts(), manifest, files, limits, control)
    };
    let parts = match outcome {
        Ok(p) => p,
        Err(e) => {
            remove_tmp(dir, base);
            return Err(e);
        }
    };
    let (names, size, sha256) = match parts.finish() {
        Ok(x) => x,
        Err(e) => {
            remove_tmp(dir, base);
            return Err(e.into());
        }
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    metrics::counter!("panelgate_archive_bytes_written_total").increment(size);
    Ok(Written {
        parts: names,
        size,
        sha256,
    })
}

/// Rename the `.tmp` files of a registered archive to their final names (and sync the directory,
/// best effort). A part that is already in place (renamed by a recovery sweep) counts as done.
pub fn publish(dir: &Path, parts: &[String]) -> io::Result<()> {
    for name in parts {
        let to = dir.join(name);
        match std::fs::rename(dir.join(tmp_name(name)), &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && to.is_file() => {}
            Err(e) => return Err(e),
        }
    }
    // Best effort, as after writing: not every file system syncs a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Remove the `.tmp` parts of an unfinished archive named `base` (`<base>.tmp`,
/// `<base>.<NNN>.tmp`).
pub fn remove_tmp(dir: &Path, base: &str) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = name == tmp_name(base)
                || name
                    .strip_prefix(base)
                    .and_then(|r| r.strip_prefix('.'))
                    .and_then(|r| r.strip_suffix(".tmp"))
                    .is_some_and(|i| i.len() >= 3 && i.bytes().all(|b| b.is_ascii_digit()));
            if ours {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn append_json<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
    mtime: i64,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(mtime.max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
}

fn build_tar<W: Write>(
    sink: W,
    manifest: &Manifest,
    files: &[(String, PathBuf)],
    limits: ReadLimits,
    control: &Control,
) -> Result<W, ArchiveError> {
    let over = |what: &str, size: u64, max: u64| {
        ArchiveError::Limit(format!(
            "{what} would be {size} bytes, more than the limit of {max} bytes"
        ))
    };
    let mut tar = tar::Builder::new(sink);
    let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    if manifest_bytes.len() as u64 > limits.max_header {
        return Err(over(
            "manifest.json",
            manifest_bytes.len() as u64,
            limits.max_header,
        ));
    }
    // What a reader adds up: every entry's data, long names included (counted generously).
    let mut unpacked = manifest_bytes.len() as u64;
    append_json(
        &mut tar,
        "manifest.json",
        &manifest_bytes,
        manifest.created_at,
    )?;
    let mut sums: BTreeMap<String, FileSum> = BTreeMap::new();
    for (name, path) in files {
        if control.stop.load(Ordering::Relaxed) {
            return Err(ArchiveError::Stopped);
        }
        if control.injected() {
            return Err(ArchiveError::Injected);
        }
        let long_name = name.len() as u64 + 1;
        if long_name > limits.max_header {
            return Err(over("the name of a file", long_name, limits.max_header));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        unpacked = unpacked
            .saturating_add(meta.len())
            .saturating_add(long_name);
        if unpacked > limits.max_unpacked {
            return Err(over("the content", unpacked, limits.max_unpacked));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(meta.len());
        header.set_mode(0o644);
        header.set_mtime(manifest.created_at.max(0) as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        // Exactly the size in the header: a file that shrinks while it is read is padded with
        // zeros (and its checksum covers them), so the stream stays a valid tar.
        let mut reader = HashingReader {
            inner: file.take(meta.len()).chain(io::repeat(0)).take(meta.len()),
            hasher: Sha256::new(),
            size: 0,
            control,
        };
        tar.append_data(&mut header, name, &mut reader)
            .map_err(|e| {
                if control.stop.load(Ordering::Relaxed) {
                    ArchiveError::Stopped
                } else if control.injected() {
                    ArchiveError::Injected
                } else {
                    ArchiveError::Io(e)
                }
            })?;
        sums.insert(
            name.clone(),
            FileSum {
                size: reader.size,
                sha256: hex(&reader.hasher.finalize()),
            },
        );
    }
    // A task with few or no file bytes reaches a fault's progress here at the latest.
    if control.injected() {
        return Err(ArchiveError::Injected);
    }
    let sums_bytes = serde_json::to_vec_pretty(&sums).map_err(io::Error::other)?;
    if sums_bytes.len() as u64 > limits.max_header {
        return Err(over(
            "checksums.json",
            sums_bytes.len() as u64,
            limits.max_header,
        ));
    }
    unpacked = unpacked.saturating_add(sums_bytes.len() as u64);
    if unpacked > limits.max_unpacked {
        return Err(over("the content", unpacked, limits.max_unpacked));
    }
    append_json(&mut tar, "checksums.json", &sums_bytes, manifest.created_at)?;
    Ok(tar.into_inner()?)
}

/// Reads several part files as one stream.
pub struct PartsReader {
    paths: Vec<PathBuf>,
    next: usize,
    current: Option<File>,
}

impl PartsReader {
    pub fn new(paths: Vec<PathBuf>) -> PartsReader {
        PartsReader {
            paths,
            next: 0,
            current: None,
        }
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.current.is_none() {
                if self.next >= self.paths.len() {
                    return Ok(0);
                }
                self.current = Some(File::open(&self.paths[self.next])?);
                self.next += 1;
            }
            let n = self.current.as_mut().expect("open").read(buf)?;
            if n > 0 {
                metrics::counter!("panelgate_archive_bytes_read_total", "via" => "read")
                    .increment(n as u64);
                return Ok(n);
            }
            self.current = None;
        }
    }
}

/// The most bytes that may follow the end-of-archive blocks (tar pads to 10 KiB records).
const MAX_TRAILER: u64 = 64 * 1024;

/// Gzip or plain tar, decided by the magic bytes.
fn decoder<R: Read + 'static>(mut r: R) -> io::Result<Box<dyn Read>> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        let n = r.read(&mut magic[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = io::Cursor::new(magic[..got].to_vec()).chain(r);
    if got == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::GzDecoder::new(head)))
    } else {
        Ok(Box::new(head))
    }
}

/// A checked, relative path inside an archive: `homes/<login>/<rest>`.
pub fn home_entry(path: &str) -> Option<(String, PathBuf)> {
    let p = Path::new(path);
    let mut comps = p.components();
    if comps.next()? != Component::Normal("homes".as_ref()) {
        return None;
    }
    let login = match comps.next()? {
        Component::Normal(l) => l.to_str()?.to_owned(),
        _ => return None,
    };
    let mut rest = PathBuf::new();
    for c in comps {
        match c {
            Component::Normal(x) => rest.push(x),
            _ => return None,
        }
    }
    (!rest.as_os_str().is_empty()).then_some((login, rest))
}

/// Receives each file entry of an archive as it streams by: (entry path, manifest, contents).
pub type ExtractFn<'a> = dyn FnMut(&str, &Manifest, &mut dyn Read) -> io::Result<()> + 'a;

/// What a full read of an archive found.
#[derive(Debug)]
pub struct Checked {
    pub manifest: Manifest,
    /// Every file entry with its verified size and checksum (listings, per-file restores).
    pub files: BTreeMap<String, FileSum>,
}

/// Read the data of an extension entry or a JSON member that is held in memory: refused when
/// its declared size is over `max` (before anything is read), and read through a
/// `max + 1`-byte window so that no more ever lands in memory.
fn read_capped(
    entry: &mut dyn Read,
    size: u64,
    max: u64,
    what: &str,
) -> Result<Vec<u8>, ArchiveError> {
    let over = || {
        ArchiveError::Limit(format!(
            "{what} of {size} bytes is larger than the limit of {max} bytes"
        ))
    };
    if size > max {
        return Err(over());
    }
    let mut buf = Vec::with_capacity(size.min(1 << 20) as usize);
    entry
        .take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ArchiveError::Corrupt(format!("{what}: {e}")))?;
    if buf.len() as u64 > max {
        return Err(over());
    }
    Ok(buf)
}

/// The `path` record of a PAX record set, refusing records that would change how the entry's
/// data is read (`size`, GNU sparse maps), which raw iteration does not apply.
fn pax_path(data: &[u8], global: bool) -> Result<Option<Vec<u8>>, ArchiveError> {
    let mut path = None;
    for record in tar::PaxExtensions::new(data) {
        let record = record.map_err(|e| ArchiveError::Corrupt(format!("PAX header: {e}")))?;
        let key = record.key_bytes();
        if key == b"size" || key.starts_with(b"GNU.sparse.") {
            return Err(ArchiveError::ForbiddenEntry(format!(
                "PAX record {} (not supported)",
                String::from_utf8_lossy(key)
            )));
        }
        if key == b"path" {
            if global {
                return Err(ArchiveError::ForbiddenEntry(
                    "a PAX global header with a path".into(),
                ));
            }
            if path.is_some() {
                return Err(ArchiveError::Corrupt("two PAX path records".into()));
            }
            path = Some(record.value_bytes().to_vec());
        }
    }
    Ok(path)
}

/// Read the whole archive and check it: the shape above, every checksum, and `limits` (at most
/// `max_unpacked` bytes of content, `max_entries` entries, `max_header` bytes for anything held
/// in memory). With `extract`, each file entry is handed over as it streams by.
///
/// Entries are read raw: GNU long names and PAX headers come through as entries of their own
/// and are applied here, after their size is checked, instead of being buffered whole by the
/// tar crate. GNU long link names are refused (links are).
pub fn read_checked<R: Read + 'static>(
    source: R,
    limits: ReadLimits,
    mut extract: Option<&mut ExtractFn<'_>>,
) -> Result<Checked, ArchiveError> {
    let corrupt = |e: io::Error| ArchiveError::Corrupt(e.to_string());
    let mut archive = tar::Archive::new(decoder(source).map_err(corrupt)?);
    let mut manifest: Option<Manifest> = None;
    // The logins of the manifest's customers, once (each file entry is checked against it).
    let mut logins: HashSet<String> = HashSet::new();
    let mut hashed: BTreeMap<String, FileSum> = BTreeMap::new();
    let mut claimed: Option<BTreeMap<String, FileSum>> = None;
    let mut unpacked = 0u64;
    let mut entries = 0u64;
    // Extension entries waiting for the entry they describe.
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax: Option<Option<Vec<u8>>> = None;
    for entry in archive.entries().map_err(corrupt)?.raw(true) {
        let mut entry = entry.map_err(corrupt)?;
        let size = entry.size();
        unpacked = unpacked.saturating_add(size);
        if unpacked > limits.max_unpacked {
            return Err(ArchiveError::TooLarge(limits.max_unpacked));
        }
        let kind = entry.header().entry_type();
        if kind.is_gnu_longlink() {
            return Err(ArchiveError::ForbiddenEntry(
                "a GNU long link name (links are not allowed)".into(),
            ));
        }
        if kind.is_gnu_longname() {
            if long_name.is_some() {
                return Err(ArchiveError::Corrupt(
                    "two GNU long names for one entry".into(),
                ));
            }
            let mut name = read_capped(&mut entry, size, limits.max_header, "a GNU long name")?;
            while name.last() == Some(&0) {
                name.pop();
            }
            long_name = Some(name);
            continue;
        }
        if kind.is_pax_local_extensions() {
            if pax.is_some() {
                return Err(ArchiveError::Corrupt(
                    "two PAX headers for one entry".into(),
                ));
            }
            let data = read_capped(&mut entry, size, limits.max_header, "a PAX header")?;
            pax = Some(pax_path(&data, false)?);
            continue;
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(ArchiveError::Limit(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        if kind.is_pax_global_extensions() {
            if long_name.is_some() || pax.is_some() {
                return Err(ArchiveError::Corrupt(
                    "an extension header before a PAX global header".into(),
                ));
            }
            let data = read_capped(&mut entry, size, limits.max_header, "a PAX global header")?;
            pax_path(&data, true)?;
            continue;
        }
        let raw_path = match (long_name.take(), pax.take().flatten()) {
            (Some(_), Some(_)) => {
                return Err(ArchiveError::Corrupt(
                    "an entry with both a GNU long name and a PAX path".into(),
                ))
            }
            (Some(name), None) => name,
            (None, Some(path)) => path,
            (None, None) => entry.header().path_bytes().into_owned(),
        };
        if raw_path.contains(&0) {
            return Err(ArchiveError::ForbiddenEntry(
                "a path with a NUL byte".into(),
            ));
        }
        let path = String::from_utf8(raw_path).map_err(|e| {
            ArchiveError::ForbiddenEntry(format!(
                "{} (not UTF-8)",
                String::from_utf8_lossy(e.as_bytes())
            ))
        })?;
        if claimed.is_some() {
            return Err(ArchiveError::ForbiddenEntry(format!(
                "{path} after checksums.json"
            )));
        }
        match (manifest.is_some(), path.as_str()) {
            (false, "manifest.json") if kind.is_file() => {
                let buf = read_capped(&mut entry, size, limits.max_header, "manifest.json")?;
                let m: Manifest = serde_json::from_slice(&buf)
                    .map_err(|e| ArchiveError::Corrupt(format!("manifest.json: {e}")))?;
                if m.format != FORMAT || m.version != MANIFEST_VERSION {
                    return Err(ArchiveError::Corrupt(format!(
                        "unsupported archive format {} version {}",
                        m.format, m.version
                    )));
                }
                logins = m
                    .records
                    .customers
                    .iter()
                    .filter_map(|c| c["loginname"].as_str().map(str::to_owned))
                    .collect();
                manifest = Some(m);
            }
            (false, _) => {
                return Err(ArchiveError::Corrupt(format!(
                    "{path} before manifest.json"
                )))
            }
            (true, "checksums.json") if kind.is_file() => {
                let buf = read_capped(&mut entry, size, limits.max_header, "checksums.json")?;
                claimed = Some(
                    serde_json::from_slice(&buf)
                        .map_err(|e| ArchiveError::Corrupt(format!("checksums.json: {e}")))?,
                );
            }
            (true, _) => {
                let Some((login, _)) = home_entry(&path) else {
                    return Err(ArchiveError::ForbiddenEntry(path));
                };
                if !logins.contains(&login) {
                    return Err(ArchiveError::ForbiddenEntry(format!(
                        "{path} (no such customer in the manifest)"
                    )));
                }
                if kind.is_dir() {
                    continue;
                }
                if !kind.is_file() {
                    return Err(ArchiveError::ForbiddenEntry(format!(
                        "{path} (not a regular file)"
                    )));
                }
                if hashed.contains_key(&path) {
                    return Err(ArchiveError::ForbiddenEntry(format!(
                        "{path} (twice in the archive)"
                    )));
                }
                let never = Control::default();
                let mut reader = HashingReader {
                    inner: &mut entry,
                    hasher: Sha256::new(),
                    size: 0,
                    control: &never,
                };
                match extract.as_mut() {
                    Some(f) => {
                        let m = manifest.as_ref().expect("manifest read");
                        f(&path, m, &mut reader).map_err(corrupt)?
                    }
                    None => {
                        io::copy(&mut reader, &mut io::sink()).map_err(corrupt)?;
                    }
                }
                let sum = FileSum {
                    size: reader.size,
                    sha256: hex(&reader.hasher.finalize()),
                };
                hashed.insert(path, sum);
            }
        }
    }
    if long_name.is_some() || pax.is_some() {
        return Err(ArchiveError::Corrupt(
            "an extension header with no entry after it (truncated?)".into(),
        ));
    }
    // The tar reader stops at the end-of-archive blocks; the rest of the stream is read too, so
    // that gzip's CRC and length are checked (a damaged tar header or padding is caught) and
    // nothing is hidden after the archive. Only the usual record padding may follow.
    let mut rest = archive.into_inner().take(MAX_TRAILER + 1);
    let trailing = io::copy(&mut rest, &mut io::sink()).map_err(corrupt)?;
    if trailing > MAX_TRAILER {
        return Err(ArchiveError::Corrupt(
            "data after the end of the archive".into(),
        ));
    }
    let manifest = manifest.ok_or_else(|| ArchiveError::Corrupt("no manifest.json".into()))?;
    let claimed =
        claimed.ok_or_else(|| ArchiveError::Corrupt("no checksums.json (truncated?)".into()))?;
    if claimed != hashed {
        let bad = claimed
            .iter()
            .find(|(k, v)| hashed.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .or_else(|| hashed.keys().find(|k| !claimed.contains_key(*k)).cloned())
            .unwrap_or_default();
        return Err(ArchiveError::Checksum(format!(
            "{bad} does not match checksums.json"
        )));
    }
    Ok(Checked {
        manifest,
        files: hashed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: MANIFEST_VERSION,
            created_at: 1_700_000_000,
            scope: ManifestScope {
                kind: "customer".into(),
                id: 1,
                name: "jdoe".into(),
            },
            description: String::new(),
            items: Vec::new(),
            records: Records {
                customers: vec![serde_json::json!({"id": 1, "loginname": "jdoe"})],
                ..Records::default()
            },
        }
    }

    fn limits() -> ReadLimits {
        ReadLimits {
            max_unpacked: 1 << 30,
            max_entries: 100,
            max_header: 4096,
        }
    }

    fn header(size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        h
    }

    /// A plain tar with `manifest.json` first.
    fn start() -> tar::Builder<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        let m = serde_json::to_vec(&manifest()).unwrap();
        tar.append_data(&mut header(m.len() as u64), "manifest.json", m.as_slice())
            .unwrap();
        tar
    }

    fn add(
        tar: &mut tar::Builder<Vec<u8>>,
        sums: &mut BTreeMap<String, FileSum>,
        name: &str,
        data: &[u8],
    ) {
        tar.append_data(&mut header(data.len() as u64), name, data)
            .unwrap();
        sums.insert(
            name.to_owned(),
            FileSum {
                size: data.len() as u64,
                sha256: hex(&Sha256::digest(data)),
            },
        );
    }

    /// `checksums.json` last (with `padding` bytes of trailing white space), and the end.
    fn finish(
        mut tar: tar::Builder<Vec<u8>>,
        sums: &BTreeMap<String, FileSum>,
        padding: usize,
    ) -> Vec<u8> {
        let mut s = serde_json::to_vec(sums).unwrap();
        s.extend(std::iter::repeat_n(b' ', padding));
        tar.append_data(&mut header(s.len() as u64), "checksums.json", s.as_slice())
            .unwrap();
        tar.into_inner().unwrap()
    }

    fn read(bytes: Vec<u8>, limits: ReadLimits) -> Result<Checked, ArchiveError> {
        read_checked(io::Cursor::new(bytes), limits, None)
    }

    fn limit_error(r: Result<Checked, ArchiveError>) -> String {
        match r {
            Err(ArchiveError::Limit(why)) => why,
            other => panic!("expected a limit error, got {other:?}"),
        }
    }

    #[test]
    fn regression_issue7_defect9_normal_archive_still_reads() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        let long = format!("homes/jdoe/{}/file.txt", "d".repeat(300));
        add(&mut tar, &mut sums, "homes/jdoe/a.txt", b"hello");
        add(&mut tar, &mut sums, &long, b"a long name under the limit");
        let checked = read(finish(tar, &sums, 0), limits()).unwrap();
        assert_eq!(checked.manifest, manifest());
        assert_eq!(checked.files, sums);
        assert!(checked.files.contains_key(&long));
    }

    #[test]
    fn regression_issue7_defect9_gnu_long_name_over_the_limit_is_refused() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        let long = format!("homes/jdoe/{}", "a".repeat(5000));
        add(&mut tar, &mut sums, &long, b"x");
        let why = limit_error(read(finish(tar, &sums, 0), limits()));
        assert!(why.contains("GNU long name"), "{why}");
    }

    #[test]
    fn regression_issue7_defect9_pax_header_over_the_limit_is_refused() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        let long = format!("homes/jdoe/{}", "p".repeat(5000));
        tar.append_pax_extensions([("path", long.as_bytes())])
            .unwrap();
        add(&mut tar, &mut sums, "homes/jdoe/short", b"x");
        let why = limit_error(read(finish(tar, &sums, 0), limits()));
        assert!(why.contains("PAX header"), "{why}");
    }

    #[test]
    fn regression_issue7_defect9_pax_path_under_the_limit_is_applied() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        tar.append_pax_extensions([("path", "homes/jdoe/from-pax.txt".as_bytes())])
            .unwrap();
        tar.append_data(&mut header(1), "homes/jdoe/ignored", &b"x"[..])
            .unwrap();
        sums.insert(
            "homes/jdoe/from-pax.txt".to_owned(),
            FileSum {
                size: 1,
                sha256: hex(&Sha256::digest(b"x")),
            },
        );
        let checked = read(finish(tar, &sums, 0), limits()).unwrap();
        assert_eq!(checked.files, sums);
    }

    #[test]
    fn regression_issue7_defect9_pax_size_record_is_refused() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        tar.append_pax_extensions([("size", "1".as_bytes())])
            .unwrap();
        add(&mut tar, &mut sums, "homes/jdoe/a", b"x");
        assert!(matches!(
            read(finish(tar, &sums, 0), limits()),
            Err(ArchiveError::ForbiddenEntry(_))
        ));
    }

    #[test]
    fn regression_issue7_defect9_more_entries_than_allowed_are_refused() {
        let build = || {
            let mut tar = start();
            let mut sums = BTreeMap::new();
            for i in 0..3 {
                add(&mut tar, &mut sums, &format!("homes/jdoe/f{i}"), b"x");
            }
            finish(tar, &sums, 0)
        };
        // manifest.json + 3 files + checksums.json = 5 entries.
        let five = ReadLimits {
            max_entries: 5,
            ..limits()
        };
        read(build(), five).unwrap();
        let four = ReadLimits {
            max_entries: 4,
            ..limits()
        };
        let why = limit_error(read(build(), four));
        assert!(why.contains("more than 4 entries"), "{why}");
    }

    #[test]
    fn regression_issue7_defect9_checksums_over_the_limit_are_refused() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        add(&mut tar, &mut sums, "homes/jdoe/a", b"x");
        let why = limit_error(read(finish(tar, &sums, 5000), limits()));
        assert!(why.contains("checksums.json"), "{why}");
    }

    #[test]
    fn regression_issue7_defect9_manifest_over_the_limit_is_refused() {
        let tar = start();
        let tiny = ReadLimits {
            max_header: 16,
            ..limits()
        };
        let why = limit_error(read(finish(tar, &BTreeMap::new(), 0), tiny));
        assert!(why.contains("manifest.json"), "{why}");
    }

    #[test]
    fn regression_issue7_defect9_unpacked_size_is_capped() {
        let mut tar = start();
        let mut sums = BTreeMap::new();
        add(&mut tar, &mut sums, "homes/jdoe/big", &[0u8; 10_000]);
        let small = ReadLimits {
            max_unpacked: 5_000,
            ..limits()
        };
        assert!(matches!(
            read(finish(tar, &sums, 0), small),
            Err(ArchiveError::TooLarge(5_000))
        ));
    }

    #[test]
    fn regression_issue7_defect8_panelgate_temporary_names() {
        assert!(is_upload_tmp_name("upload_0123456789abcdef.tmp"));
        assert!(!is_upload_tmp_name("upload_notes.tmp"));
        assert!(is_restore_tmp_name("index.pg-restore-0badf00d.tmp"));
        assert!(!is_restore_tmp_name("index.html.tmp"));
        assert_eq!(
            archive_tmp_base("backup_jdoe_20240101000000.tar.gz.tmp"),
            Some("backup_jdoe_20240101000000.tar.gz")
        );
        assert_eq!(
            archive_tmp_base("backup_jdoe_20240101000000.tar.0012.tmp"),
            Some("backup_jdoe_20240101000000.tar")
        );
        assert_eq!(archive_tmp_base("notes.tmp"), None);
        assert!(is_job_archive_name("backup_jdoe_20240101000000.tar.gz"));
        assert!(is_job_archive_name("backup_jdoe_20240101000000_17.tar.gz"));
        assert!(is_job_archive_name("backup_a_b_20240101000000_3.tar"));
        assert!(!is_job_archive_name("backup_jdoe_20240101000000_.tar.gz"));
        assert!(!is_job_archive_name("backup_jdoe_x_17.tar.gz"));
        assert!(!is_job_archive_name("backup_jdoe_2024.tar.gz"));
        assert!(is_home_tmp_name(
            "backup_jdoe_20240101000000.tar.gz.001.tmp"
        ));
        assert!(!is_home_tmp_name("my.tar.gz.tmp"));
    }

    #[test]
    fn regression_issue7_defect15_parts_keep_tmp_names_until_published() {
        let root = std::env::temp_dir().join(format!("pg-archive-{:016x}", rand::random::<u64>()));
        let home = root.join("homes").join("jdoe");
        std::fs::create_dir_all(home.join("sub")).unwrap();
        std::fs::write(home.join("a.txt"), b"hello").unwrap();
        std::fs::write(home.join("sub").join("b.txt"), vec![7u8; 3000]).unwrap();
        std::fs::write(home.join("old.pg-restore-0123abcd.tmp"), b"junk").unwrap();
        let earlier = home.join("backup_jdoe_20240101000000.tar.gz");
        std::fs::write(&earlier, b"an earlier archive").unwrap();
        let exclude: HashSet<PathBuf> = [earlier].into_iter().collect();
        let files = home_files(&home, "jdoe", &exclude).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["homes/jdoe/a.txt", "homes/jdoe/sub/b.txt"]);

        let out = root.join("out");
        let written = write(
            &out,
            "t.tar.gz",
            &manifest(),
            &files,
            1024,
            true,
            limits(),
            &Control::default(),
        )
        .unwrap();
        for p in &written.parts {
            assert!(!out.join(p).exists(), "{p} has its final name too early");
            assert!(out.join(tmp_name(p)).is_file(), "{p}.tmp is missing");
        }
        publish(&out, &written.parts).unwrap();
        // Publishing twice (a recovery sweep got there first) is fine.
        publish(&out, &written.parts).unwrap();
        let paths: Vec<PathBuf> = written.parts.iter().map(|p| out.join(p)).collect();
        let checked = read_checked(PartsReader::new(paths), limits(), None).unwrap();
        assert_eq!(checked.files.len(), 2);

        let too_many = ReadLimits {
            max_entries: 3,
            ..limits()
        };
        assert!(matches!(
            write(
                &out,
                "u.tar",
                &manifest(),
                &files,
                0,
                false,
                too_many,
                &Control::default()
            ),
            Err(ArchiveError::Limit(_))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
