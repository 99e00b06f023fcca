//! Password and secret hashing (argon2id), with a cache so a request that repeats known
//! credentials does not pay a full hash verification every time.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{CoreError, CoreResult};

const CACHE_CAPACITY: usize = 16_384;

/// How new passwords and secrets are hashed. Verification reads the parameters from each stored
/// hash, so hashes of both profiles verify whatever the profile in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashProfile {
    /// argon2id with the argon2 crate's defaults (19 MiB, 2 passes): for production.
    #[default]
    Standard,
    /// argon2id with 256 KiB and one pass: for CI and load tests, never for production.
    Fast,
}

impl HashProfile {
    fn argon2(self) -> Argon2<'static> {
        match self {
            HashProfile::Standard => Argon2::default(),
            HashProfile::Fast => Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                argon2::Params::new(256, 1, 1, None).expect("valid argon2 parameters"),
            ),
        }
    }

    /// A hash of a random secret nobody knows, made with this profile's parameters: what a
    /// missing account is checked against, so that it costs what a real one does.
    fn dummy_hash(self) -> &'static str {
        match self {
            HashProfile::Standard => "$argon2id$v=19$m=19456,t=2,p=1$pOttTvO7mrSttWYatL6/nw$aij4IR5Ci7dBIFuX70kPX+UtH1x9RXATcdcRYyOKcJM",
            HashProfile::Fast => "$argon2id$v=19$m=256,t=1,p=1$Sa/W+BarMLbXPn2t8xLw0w$WMtIoR4nujY5f42wFj2A2gSWC3O3X/69gqyAjUmJqjA",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HashProfile::Standard => "standard",
            HashProfile::Fast => "fast",
        }
    }
}

impl std::str::FromStr for HashProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(HashProfile::Standard),
            "fast" => Ok(HashProfile::Fast),
            other => Err(format!(
                "{other:?} is not a hashing profile (standard or fast)"
            )),
        }
    }
}

tokio::task_local! {
    /// Precomputed hashes of a data set's secrets, by secret, while the data set loads: the demo
    /// data ships them so that starting hashes nothing. Only the seed loader sets this.
    pub(crate) static PRECOMPUTED: std::sync::Arc<std::collections::BTreeMap<String, String>>;
}

/// Hash a password or secret for storage.
/// Refuse a stored hash that is not an argon2 PHC string (imported data sets).
pub(crate) fn check_stored_hash(hash: &str) -> CoreResult<()> {
    match PasswordHash::new(hash) {
        Ok(h) if h.algorithm.as_str().starts_with("argon2") => Ok(()),
        _ => Err(crate::error::CoreError::Invalid {
            field: "password_hash",
            reason: "not an argon2 hash in PHC form ($argon2id$v=19$…)".into(),
        }),
    }
}

pub fn hash_secret(secret: &str, profile: HashProfile) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    profile
        .argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

fn verify_slow(secret: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Remembers credentials that verified, keyed by an HMAC of (purpose, identity, secret) under a
/// per-process random key. An entry only counts while the stored hash it was verified against is
/// still the stored hash, so changing a password or secret invalidates it without bookkeeping.
pub struct VerifyCache {
    key: [u8; 32],
    pool: crate::limits::CpuPool,
    slow_checks: std::sync::atomic::AtomicU64,
    entries: Mutex<HashMap<[u8; 32], String>>,
    /// Verifications under way, by tag: a second request with the same credentials waits for
    /// the first instead of hashing too (64 clients starting at once cost one hash, not 64).
    inflight: Mutex<HashMap<[u8; 32], std::sync::Arc<tokio::sync::Mutex<()>>>>,
    profile: HashProfile,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache").finish_non_exhaustive()
    }
}

impl VerifyCache {
    pub(crate) fn new(pool: crate::limits::CpuPool, profile: HashProfile) -> CoreResult<Self> {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Ok(VerifyCache {
            key,
            pool,
            slow_checks: std::sync::atomic::AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            profile,
        })
    }

    fn tag(&self, purpose: &str, identity: &str, secret: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [purpose, identity, secret] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// How many full hash verifications were made (cache misses), for tests and metrics.
    pub fn slow_checks(&self) -> u64 {
        self.slow_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Check `secret` against `stored` (an argon2 PHC string); `stored = None` burns the same
    /// time as a real check so a missing account cannot be told from a wrong secret.
    pub async fn verify(
        &self,
        purpose: &str,
        identity: &str,
        secret: &str,
        stored: Option<&str>,
    ) -> bool {
        let Some(stored) = stored else {
            let dummy = self.profile.dummy_hash();
            let secret = secret.to_owned();
            let _ = self.pool.hash(move || verify_slow(&secret, dummy)).await;
            return false;
        };
        let tag = self.tag(purpose, identity, secret);
        if self.cached(&tag, stored) {
            return true;
        }
        let gate = Gate {
            cache: self,
            tag,
            lock: self
                .inflight
                .lock()
                .expect("inflight lock")
                .entry(tag)
                .or_default()
                .clone(),
        };
        let _held = gate.lock.lock().await;
        self.cached(&tag, stored) || self.verify_uncached(tag, secret, stored).await
    }

    fn cached(&self, tag: &[u8; 32], stored: &str) -> bool {
        self.entries
            .lock()
            .expect("cache lock")
            .get(tag)
            .is_some_and(|known| known.as_bytes().ct_eq(stored.as_bytes()).into())
    }

    async fn verify_uncached(&self, tag: [u8; 32], secret: &str, stored: &str) -> bool {
        self.slow_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (owned_secret, owned_stored) = (secret.to_owned(), stored.to_owned());
        let ok = self
            .pool
            .hash(move || verify_slow(&owned_secret, &owned_stored))
            .await
            .unwrap_or(false);
        if ok {
            let mut entries = self.entries.lock().expect("cache lock");
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
            entries.insert(tag, stored.to_owned());
        }
        ok
    }

    /// Hash a new password or secret on the bounded pool (or take the data set's precomputed
    /// hash of it while a data set loads).
    pub(crate) async fn hash_new(&self, secret: String) -> CoreResult<String> {
        let known = PRECOMPUTED
            .try_with(|m| m.get(&secret).cloned())
            .ok()
            .flatten()
            .filter(|h| PasswordHash::new(h).is_ok());
        if let Some(hash) = known {
            return Ok(hash);
        }
        let profile = self.profile;
        self.pool
            .hash(move || hash_secret(&secret, profile))
            .await?
    }

    pub fn profile(&self) -> HashProfile {
        self.profile
    }
}

/// A waiter on a verification under way; the last one out removes its entry (also when the
/// request is dropped while it waits).
struct Gate<'a> {
    cache: &'a VerifyCache,
    tag: [u8; 32],
    lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let mut inflight = self.cache.inflight.lock().expect("inflight lock");
        // The map's own reference and ours: nobody else waits on this gate.
        if std::sync::Arc::strong_count(&self.lock) <= 2 {
            inflight.remove(&self.tag);
        }
    }
}

/// A short, non-secret lookup tag for a high-entropy secret (Plesk secret keys have no public half).
pub fn lookup_tag(secret: &str) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(secret.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 2 item 7: a known credential is verified once, then served from the cache; a changed
    // credential is verified again, and a wrong secret never hits the cache.
    #[tokio::test]
    async fn cache_serves_repeats_and_forgets_changed_credentials() {
        let cache =
            VerifyCache::new(crate::limits::CpuPool::new(2), HashProfile::Standard).unwrap();
        let old = hash_secret("s3cret", HashProfile::Standard).unwrap();
        assert!(cache.verify("k", "id", "s3cret", Some(&old)).await);
        assert!(cache.verify("k", "id", "s3cret", Some(&old)).await);
        assert_eq!(cache.slow_checks(), 1);
        assert!(!cache.verify("k", "id", "wrong", Some(&old)).await);
        assert_eq!(cache.slow_checks(), 2);
        let new = hash_secret("n3w", HashProfile::Fast).unwrap();
        assert!(
            !cache.verify("k", "id", "s3cret", Some(&new)).await,
            "old secret after a change"
        );
        assert_eq!(cache.slow_checks(), 3);
        assert!(cache.verify("k", "id", "n3w", Some(&new)).await);
        assert!(cache.verify("k", "id", "n3w", Some(&new)).await);
        assert_eq!(cache.slow_checks(), 4);
        assert!(!cache.verify("k", "other-id", "n3w", None).await);
    }

    /// New hashes follow the profile; a data set's precomputed hash is taken only while it loads.
    #[tokio::test]
    async fn profiles_and_precomputed_hashes() {
        let fast = VerifyCache::new(crate::limits::CpuPool::new(1), HashProfile::Fast).unwrap();
        let made = fast.hash_new("pw".into()).await.unwrap();
        assert!(made.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{made}");
        assert!(fast.verify("k", "id", "pw", Some(&made)).await);
        let known = HashProfile::Standard.dummy_hash().to_owned();
        let map = std::sync::Arc::new(std::collections::BTreeMap::from([
            ("pw".to_owned(), known.clone()),
            ("bad".to_owned(), "not a hash".to_owned()),
        ]));
        let (taken, ignored) = PRECOMPUTED
            .scope(map, async {
                (
                    fast.hash_new("pw".into()).await.unwrap(),
                    fast.hash_new("bad".into()).await.unwrap(),
                )
            })
            .await;
        assert_eq!(taken, known);
        assert!(ignored.starts_with("$argon2id$v=19$m=256"), "{ignored}");
        assert_ne!(
            fast.hash_new("pw".into()).await.unwrap(),
            known,
            "outside the scope"
        );
    }

    /// Many requests with one unknown-to-the-cache credential at once cost one hash; the
    /// waiters' entries are gone afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_hash_once() {
        let cache = std::sync::Arc::new(
            VerifyCache::new(crate::limits::CpuPool::new(2), HashProfile::Standard).unwrap(),
        );
        let stored = std::sync::Arc::new(hash_secret("s3cret", HashProfile::Standard).unwrap());
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, stored) = (cache.clone(), stored.clone());
            tasks.push(tokio::spawn(async move {
                cache.verify("k", "id", "s3cret", Some(&stored)).await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(cache.slow_checks(), 1);
        assert!(cache.inflight.lock().unwrap().is_empty());
    }

    /// Both dummy hashes parse, with their profile's parameters.
    #[test]
    fn dummy_hashes_match_their_profiles() {
        for profile in [HashProfile::Standard, HashProfile::Fast] {
            let dummy = PasswordHash::new(profile.dummy_hash()).unwrap();
            let made = hash_secret("x", profile).unwrap();
            let made = PasswordHash::new(&made).unwrap();
            assert_eq!(dummy.params, made.params, "{profile:?}");
        }
    }
}
