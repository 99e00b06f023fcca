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
//! files under the home of a customer the manifest names, every checksum right.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const FORMAT: &str = "panelgate-backup";
pub const MANIFEST_VERSION: i64 = 1;
const MANIFEST_MAX: u64 = 256 * 1024 * 1024;

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
    #[error("stopped")]
    Stopped,
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
        let file = File::create(self.dir.join(format!("{name}.tmp")))?;
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
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.control.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The files of one home folder, as (path inside the archive, path on disk), sorted.
pub fn home_files(home: &Path, login: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if !home.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let ty = entry.file_type()?;
            let path = entry.path();
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                let rel = path.strip_prefix(home).map_err(io::Error::other)?;
                let rel = rel
                    .to_str()
                    .ok_or_else(|| io::Error::other("non-UTF-8 file name"))?;
                out.push((format!("homes/{login}/{rel}"), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Written {
    /// Part file names (in `dir`), already renamed to their final names.
    pub parts: Vec<String>,
    pub size: u64,
    pub sha256: String,
}

/// Write an archive named `base` into `dir`: to `.tmp` names first, renamed when complete, so a
/// crash never leaves a file with a final name behind.
pub fn write(
    dir: &Path,
    base: &str,
    manifest: &Manifest,
    files: &[(String, PathBuf)],
    split: u64,
    compress: bool,
    control: &Control,
) -> Result<Written, ArchiveError> {
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
        build_tar(enc, manifest, files, control).and_then(|enc| Ok(enc.finish()?))
    } else {
        build_tar(new_parts(), manifest, files, control)
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
    for name in &names {
        std::fs::rename(dir.join(format!("{name}.tmp")), dir.join(name))?;
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Written {
        parts: names,
        size,
        sha256,
    })
}

/// Remove the `.tmp` parts of an unfinished archive.
pub fn remove_tmp(dir: &Path, base: &str) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(base) && name.ends_with(".tmp") {
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
    control: &Control,
) -> Result<W, ArchiveError> {
    let mut tar = tar::Builder::new(sink);
    let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
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
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let mut header = tar::Header::new_gnu();
        header.set_size(meta.len());
        header.set_mode(0o644);
        header.set_mtime(manifest.created_at.max(0) as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut reader = HashingReader {
            inner: file.take(meta.len()),
            hasher: Sha256::new(),
            size: 0,
            control,
        };
        tar.append_data(&mut header, name, &mut reader)
            .map_err(|e| {
                if control.stop.load(Ordering::Relaxed) {
                    ArchiveError::Stopped
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
    let sums_bytes = serde_json::to_vec_pretty(&sums).map_err(io::Error::other)?;
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
                return Ok(n);
            }
            self.current = None;
        }
    }
}

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
    pub files: BTreeMap<String, FileSum>,
}

/// Read the whole archive and check it: the shape above, every checksum, at most `max_unpacked`
/// bytes of content. With `extract`, each file entry is handed over as it streams by.
pub fn read_checked<R: Read + 'static>(
    source: R,
    max_unpacked: u64,
    mut extract: Option<&mut ExtractFn<'_>>,
) -> Result<Checked, ArchiveError> {
    let corrupt = |e: io::Error| ArchiveError::Corrupt(e.to_string());
    let mut archive = tar::Archive::new(decoder(source).map_err(corrupt)?);
    let mut manifest: Option<Manifest> = None;
    let mut hashed: BTreeMap<String, FileSum> = BTreeMap::new();
    let mut claimed: Option<BTreeMap<String, FileSum>> = None;
    let mut unpacked = 0u64;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let path = entry
            .path()
            .map_err(corrupt)?
            .to_string_lossy()
            .into_owned();
        let size = entry.header().size().map_err(corrupt)?;
        unpacked = unpacked.saturating_add(size);
        if unpacked > max_unpacked {
            return Err(ArchiveError::TooLarge(max_unpacked));
        }
        let kind = entry.header().entry_type();
        if claimed.is_some() {
            return Err(ArchiveError::ForbiddenEntry(format!(
                "{path} after checksums.json"
            )));
        }
        match (manifest.is_some(), path.as_str()) {
            (false, "manifest.json") if kind.is_file() => {
                if size > MANIFEST_MAX {
                    return Err(ArchiveError::TooLarge(MANIFEST_MAX));
                }
                let mut buf = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut buf).map_err(corrupt)?;
                let m: Manifest = serde_json::from_slice(&buf)
                    .map_err(|e| ArchiveError::Corrupt(format!("manifest.json: {e}")))?;
                if m.format != FORMAT || m.version != MANIFEST_VERSION {
                    return Err(ArchiveError::Corrupt(format!(
                        "unsupported archive format {} version {}",
                        m.format, m.version
                    )));
                }
                manifest = Some(m);
            }
            (false, _) => {
                return Err(ArchiveError::Corrupt(format!(
                    "{path} before manifest.json"
                )))
            }
            (true, "checksums.json") if kind.is_file() => {
                let mut buf = Vec::new();
                entry.read_to_end(&mut buf).map_err(corrupt)?;
                claimed = Some(
                    serde_json::from_slice(&buf)
                        .map_err(|e| ArchiveError::Corrupt(format!("checksums.json: {e}")))?,
                );
            }
            (true, _) => {
                let Some((login, _)) = home_entry(&path) else {
                    return Err(ArchiveError::ForbiddenEntry(path));
                };
                let m = manifest.as_ref().expect("manifest read");
                let known = m
                    .records
                    .customers
                    .iter()
                    .any(|c| c["loginname"].as_str() == Some(login.as_str()));
                if !known {
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
                let never = Control::default();
                let mut reader = HashingReader {
                    inner: &mut entry,
                    hasher: Sha256::new(),
                    size: 0,
                    control: &never,
                };
                match extract.as_mut() {
                    Some(f) => f(&path, m, &mut reader).map_err(corrupt)?,
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
