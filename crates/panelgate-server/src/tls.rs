//! HTTPS beside the plain listener (`--tls-listen`): rustls through tokio-rustls, HTTP/1.1.
//!
//! The certificate and key come from `--tls-cert`/`--tls-key` (PEM), or are a self-signed pair
//! made with rcgen for `localhost`, `127.0.0.1` and the `--tls-host` names, kept in
//! `<data-dir>/tls/` and made again when the names change. The start-up banner prints the
//! certificate's SHA-256 fingerprint, so a client can pin it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::Config;

/// What serving HTTPS needs, and what the banner says about it.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the certificate (the leaf), as `AB:CD:…`.
    pub fingerprint: String,
    /// Where the certificate is.
    pub cert_path: PathBuf,
    /// Made here (self-signed), rather than given.
    pub self_signed: bool,
}

/// The names a self-signed certificate is made for.
fn names(config: &Config) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    for host in &config.tls_hosts {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    names
}

/// The TLS setup `config` asks for: `None` without `--tls-listen`.
pub fn setup(config: &Config) -> Result<Option<Tls>, String> {
    if config.tls_listen.is_empty() {
        return Ok(None);
    }
    let (cert_path, key_path, self_signed) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
        (None, None) => {
            let dir = config.data_dir.join("tls");
            self_signed_pair(&dir, &names(config))?;
            (dir.join("cert.pem"), dir.join("key.pem"), true)
        }
        _ => return Err("--tls-cert and --tls-key go together: give both or neither".into()),
    };
    let named = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| named(&cert_path, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| named(&cert_path, &e))?;
    let Some(leaf) = certs.first() else {
        return Err(format!(
            "{}: no certificate in the file",
            cert_path.display()
        ));
    };
    let fingerprint = Sha256::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| named(&key_path, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        fingerprint,
        cert_path,
        self_signed,
    }))
}

/// Make `cert.pem` and `key.pem` in `dir` for `names`, unless they are there for those names.
fn self_signed_pair(dir: &Path, names: &[String]) -> Result<(), String> {
    let in_dir = |e: &dyn std::fmt::Display| format!("{}: {e}", dir.display());
    let (cert, key, list) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("names"));
    let wanted = names.join("\n");
    if cert.is_file()
        && key.is_file()
        && std::fs::read_to_string(&list).ok() == Some(wanted.clone())
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| in_dir(&e))?;
    let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| in_dir(&e))?;
    write_private(&key, made.key_pair.serialize_pem().as_bytes()).map_err(|e| in_dir(&e))?;
    std::fs::write(&cert, made.cert.pem()).map_err(|e| in_dir(&e))?;
    std::fs::write(&list, wanted).map_err(|e| in_dir(&e))?;
    Ok(())
}

/// Write a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
