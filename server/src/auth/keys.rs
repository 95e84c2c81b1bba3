//! Causeway's own signing keys: Ed25519 key pairs in a directory (the data directory's `keys/`
//! by default, or a mounted secret), with a manifest naming which one signs and which were
//! rotated out. A rotated-out key keeps verifying for a grace period, so tokens signed just
//! before a rotation stay valid until they expire.
//!
//! Files: `<kid>.pem` (PKCS#8 `PRIVATE KEY`, mode 0600 on Unix) and `ring.json`
//! (`{"keys":[{"kid":…,"created":…,"retired":…}]}`, times in Unix seconds). The first process
//! to find the directory empty creates the first key; the manifest is written whole before it
//! appears (linked into place, replaced by rename), so concurrent processes agree on the current
//! key and never read half a manifest.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

/// How long a rotated-out key keeps verifying unless the rotation says otherwise: longer than
/// any token Causeway issues lives.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

const MANIFEST: &str = "ring.json";
const PEM_LABEL: &str = "PRIVATE KEY";

/// Why the keys could not be used. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The directory or a file in it could not be read or written.
    #[error("signing keys in {dir}: {reason}")]
    Io {
        /// The keys directory.
        dir: String,
        /// What failed.
        reason: String,
    },
    /// A file is not what Causeway writes there.
    #[error("signing keys in {dir}: {reason}")]
    Malformed {
        /// The keys directory.
        dir: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    keys: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    kid: String,
    created: u64,
    #[serde(default)]
    retired: Option<u64>,
    /// Until when a retired key keeps verifying (Unix seconds).
    #[serde(default)]
    verify_until: Option<u64>,
}

/// One public key: what verifies a token and what the JWKS publishes.
#[derive(Clone)]
pub struct PublicKey {
    /// Its key id.
    pub kid: String,
    /// The raw Ed25519 public key, base64url (the JWK's `x`).
    pub x: String,
    /// The key as the verifier takes it.
    pub decoding: DecodingKey,
}

/// The keys in force: the one that signs and every one that verifies (newest first).
#[derive(Clone)]
pub struct Keys {
    /// Key id of the signing key.
    pub signing_kid: String,
    /// The signing key.
    pub signing: EncodingKey,
    /// Keys that verify, the signing key first.
    pub verifying: Vec<PublicKey>,
}

impl Keys {
    /// The verifying key named `kid`.
    pub fn find(&self, kid: &str) -> Option<&PublicKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }
}

/// The keys directory.
#[derive(Debug, Clone)]
pub struct KeyRing {
    dir: PathBuf,
}

impl KeyRing {
    /// The ring in `dir` (not read yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keys in force, creating the first key when the directory has none.
    ///
    /// The first manifest is written whole to a file of its own and then hard-linked into
    /// place, which fails if another process got there first: nobody ever reads a manifest
    /// half written, and concurrent first starts agree on one key.
    pub fn load_or_create(&self) -> Result<Keys, KeyError> {
        fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        if !self.dir.join(MANIFEST).exists() {
            let entry = self.generate()?;
            let kid = entry.kid.clone();
            let manifest = Manifest { keys: vec![entry] };
            let temp = self.dir.join(format!("{MANIFEST}.{kid}.tmp"));
            let written = fs::File::create(&temp).and_then(|mut file| {
                file.write_all(&serde_json::to_vec_pretty(&manifest).unwrap_or_default())?;
                file.sync_all()
            });
            let linked = written.and_then(|()| fs::hard_link(&temp, self.dir.join(MANIFEST)));
            let _ = fs::remove_file(&temp);
            match linked {
                Ok(()) => {}
                // Another process created the ring first; its key is the one in force.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let _ = fs::remove_file(self.dir.join(format!("{kid}.pem")));
                }
                Err(e) => return Err(self.io(e)),
            }
        }
        self.load()
    }

    /// The keys in force, as the manifest says.
    pub fn load(&self) -> Result<Keys, KeyError> {
        let manifest = self.manifest()?;
        let now = unix_now();
        // The manifest lists keys oldest first; rotations append.
        let entries: Vec<&Entry> = manifest
            .keys
            .iter()
            .rev()
            .filter(|e| e.retired.is_none() || e.verify_until.is_some_and(|until| until > now))
            .collect();
        let current = manifest
            .keys
            .iter()
            .rev()
            .find(|e| e.retired.is_none())
            .ok_or_else(|| self.malformed("no key in ring.json signs (all retired)"))?;
        let mut verifying = Vec::new();
        let mut signing = None;
        for entry in entries {
            let (encoding, public) = self.read_key(&entry.kid)?;
            if entry.kid == current.kid {
                signing = Some(encoding);
            }
            verifying.push(public);
        }
        let signing = signing.ok_or_else(|| self.malformed("the signing key is missing"))?;
        Ok(Keys {
            signing_kid: current.kid.clone(),
            signing,
            verifying,
        })
    }

    /// Makes a new key the signing key; the previous one keeps verifying for `grace`. Returns
    /// the new key's id.
    pub fn rotate(&self, grace: Duration) -> Result<String, KeyError> {
        self.load_or_create()?;
        let mut manifest = self.manifest()?;
        let now = unix_now();
        for entry in manifest.keys.iter_mut().filter(|e| e.retired.is_none()) {
            entry.retired = Some(now);
            entry.verify_until = Some(now + grace.as_secs());
        }
        let entry = self.generate()?;
        let kid = entry.kid.clone();
        manifest.keys.push(entry);
        let temp = self.dir.join(format!("{MANIFEST}.{kid}.tmp"));
        fs::write(
            &temp,
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        )
        .and_then(|()| fs::rename(&temp, self.dir.join(MANIFEST)))
        .map_err(|e| self.io(e))?;
        Ok(kid)
    }

    /// Writes a new key pair's file and returns its manifest entry.
    fn generate(&self) -> Result<Entry, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| self.malformed("the system random source failed"))?;
        let kid = uuid::Uuid::now_v7().simple().to_string();
        let pem = format!(
            "-----BEGIN {PEM_LABEL}-----\n{}\n-----END {PEM_LABEL}-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let path = self.dir.join(format!("{kid}.pem"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| self.io(e))?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))?;
        Ok(Entry {
            kid,
            created: unix_now(),
            retired: None,
            verify_until: None,
        })
    }

    fn manifest(&self) -> Result<Manifest, KeyError> {
        let bytes = fs::read(self.dir.join(MANIFEST)).map_err(|e| self.io(e))?;
        serde_json::from_slice(&bytes).map_err(|e| self.malformed(format!("ring.json: {e}")))
    }

    fn read_key(&self, kid: &str) -> Result<(EncodingKey, PublicKey), KeyError> {
        let text =
            fs::read_to_string(self.dir.join(format!("{kid}.pem"))).map_err(|e| self.io(e))?;
        let body: String = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body.trim())
            .map_err(|_| self.malformed(format!("{kid}.pem is not PEM")))?;
        let pair = Ed25519KeyPair::from_pkcs8(&der)
            .map_err(|_| self.malformed(format!("{kid}.pem is not an Ed25519 PKCS#8 key")))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let decoding = DecodingKey::from_ed_components(&x)
            .map_err(|_| self.malformed(format!("{kid}.pem has no usable public key")))?;
        Ok((
            EncodingKey::from_ed_der(&der),
            PublicKey {
                kid: kid.to_owned(),
                x,
                decoding,
            },
        ))
    }

    fn io(&self, e: std::io::Error) -> KeyError {
        KeyError::Io {
            dir: self.dir.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> KeyError {
        KeyError::Malformed {
            dir: self.dir.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// The one signature algorithm Causeway signs with.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_load_creates_one_key_that_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::new(dir.path().join("keys"));
        let keys = ring.load_or_create().unwrap();
        assert_eq!(keys.verifying.len(), 1);
        assert_eq!(keys.verifying[0].kid, keys.signing_kid);
        let again = ring.load_or_create().unwrap();
        assert_eq!(again.signing_kid, keys.signing_kid, "created once");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir
                .path()
                .join("keys")
                .join(format!("{}.pem", keys.signing_kid));
            let mode = fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private keys are not readable by others");
        }
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_keeps_the_old_one_verifying_for_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::new(dir.path());
        let old = ring.load_or_create().unwrap().signing_kid;
        let new = ring.rotate(DEFAULT_GRACE).unwrap();
        let keys = ring.load().unwrap();
        assert_eq!(keys.signing_kid, new);
        assert!(keys.find(&old).is_some() && keys.find(&new).is_some());
        assert_eq!(keys.verifying[0].kid, new, "newest first");
        ring.rotate(Duration::ZERO).unwrap();
        let keys = ring.load().unwrap();
        assert!(keys.find(&new).is_none(), "no grace: gone at once");
        assert!(keys.find(&old).is_some(), "still within its own grace");
    }

    #[test]
    fn processes_creating_the_first_key_at_once_agree_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let ring = KeyRing::new(dir.path().join("keys"));
                std::thread::spawn(move || ring.load_or_create().map(|keys| keys.signing_kid))
            })
            .collect();
        let kids: Vec<String> = starts
            .into_iter()
            .map(|start| start.join().unwrap().expect("every start loads the ring"))
            .collect();
        assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
        let files = fs::read_dir(dir.path().join("keys")).unwrap().count();
        assert_eq!(
            files, 2,
            "one key and the manifest; the losers' keys are removed"
        );
    }

    #[test]
    fn a_broken_ring_is_an_error_naming_the_directory_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST), b"{").unwrap();
        let Err(err) = KeyRing::new(dir.path()).load() else {
            panic!("a broken ring loaded");
        };
        assert!(err.to_string().contains("ring.json"), "{err}");
    }
}
