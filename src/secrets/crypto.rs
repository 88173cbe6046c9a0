//! Encryption at rest of captured credentials: XChaCha20-Poly1305 with a
//! 32-byte [`StoreKey`] that lives outside the store (a key file or the
//! environment).
//!
//! Why XChaCha20: its 24-byte nonce is large enough to draw at random for
//! every value without ever worrying about a repeat. The store binds each
//! ciphertext to its row through the associated data, so a ciphertext copied
//! onto another row does not decrypt.
//!
//! Nothing here ever puts key material or plaintext into an error or a
//! `Debug` output.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore as _;
use std::path::{Path, PathBuf};

/// Length of a key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of an XChaCha20-Poly1305 nonce in bytes.
pub const NONCE_LEN: usize = 24;
/// Environment variable holding the key itself (hex or base64).
pub const KEY_ENV: &str = "PANELWRIGHT_KEY";
/// Environment variable naming a key file.
pub const KEY_FILE_ENV: &str = "PANELWRIGHT_KEY_FILE";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot read key file {path}: {source}")]
    ReadKeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `origin` says where the key came from (a file path or an env var); the
    /// content is never shown.
    #[error(
        "store key from {origin} is malformed: expected 64 hex characters or base64 of 32 bytes"
    )]
    KeyFormat { origin: String },
    #[error("environment variable {var} is not valid UTF-8")]
    EnvNotUnicode { var: String },
    #[error("environment variable {var} is not set")]
    EnvMissing { var: String },
    #[error(
        "no store key: give a key file, or set {KEY_ENV} (hex or base64) or {KEY_FILE_ENV} (path)"
    )]
    NoKey,
    #[error("cannot decrypt: wrong key or tampered data")]
    Decrypt,
    #[error("the operating system random source failed: {0}")]
    Random(String),
}

/// The key that encrypts credentials in the store (32 bytes), loaded from a
/// key file or the environment; never stored in the store.
#[derive(Clone)]
pub struct StoreKey {
    bytes: [u8; KEY_LEN],
    /// Where it came from (`key file PATH`, `environment variable VAR`), for
    /// messages: which key was used, never the key.
    origin: String,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// Reads a key file holding 64 hex characters or base64 of 32 bytes
    /// (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read(path).map_err(|source| CryptoError::ReadKeyFile {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = format!("key file {}", path.display());
        let text = std::str::from_utf8(&text).map_err(|_| CryptoError::KeyFormat {
            origin: origin.clone(),
        })?;
        match parse_key(text) {
            Some(bytes) => Ok(Self { bytes, origin }),
            None => Err(CryptoError::KeyFormat { origin }),
        }
    }

    /// Reads the key from an environment variable (same formats as a file).
    pub fn from_env(var: &str) -> Result<Self, CryptoError> {
        match std::env::var(var) {
            Ok(text) => {
                let origin = format!("environment variable {var}");
                match parse_key(&text) {
                    Some(bytes) => Ok(Self { bytes, origin }),
                    None => Err(CryptoError::KeyFormat { origin }),
                }
            }
            Err(std::env::VarError::NotPresent) => Err(CryptoError::EnvMissing {
                var: var.to_string(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(CryptoError::EnvNotUnicode {
                var: var.to_string(),
            }),
        }
    }

    /// The key from `file` when given, else from `PANELWRIGHT_KEY`, else from
    /// the file named by `PANELWRIGHT_KEY_FILE`. An empty variable counts as unset.
    pub fn load(file: Option<&Path>) -> Result<Self, CryptoError> {
        if let Some(file) = file {
            return Self::from_file(file);
        }
        if env_is_set(KEY_ENV) {
            return Self::from_env(KEY_ENV);
        }
        if env_is_set(KEY_FILE_ENV) {
            let path = std::env::var_os(KEY_FILE_ENV).unwrap_or_default();
            return Self::from_file(Path::new(&path));
        }
        Err(CryptoError::NoKey)
    }

    /// A fresh random key and its hex form (to write into a key file).
    ///
    /// # Panics
    /// When the operating system's random source fails (nothing sensible can
    /// be done without one).
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system random source failed");
        let key = Self {
            bytes,
            origin: "a key generated now".to_string(),
        };
        let hex = to_hex(&key.bytes);
        (key, hex)
    }

    /// Encrypts with a fresh random nonce; `aad` is authenticated, not stored.
    ///
    /// # Panics
    /// When the operating system's random source fails.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> ([u8; NONCE_LEN], Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .expect("the operating system random source failed");
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only fails for messages beyond the cipher's limit (~256 GiB).
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory values");
        (nonce, ciphertext)
    }

    /// Decrypts and authenticates; `aad` must be what `encrypt` was given.
    pub fn decrypt(
        &self,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Where the key came from (`key file PATH`, `environment variable
    /// VAR`): what a message may say about a key.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.bytes))
    }
}

fn env_is_set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// 64 hex characters or (padded or unpadded) base64 of exactly 32 bytes.
fn parse_key(text: &str) -> Option<[u8; KEY_LEN]> {
    let text = text.trim();
    if text.len() == 2 * KEY_LEN
        && let Some(bytes) = from_hex(text)
    {
        return Some(bytes);
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().find_map(|engine| {
        let decoded = engine.decode(text).ok()?;
        decoded.try_into().ok()
    })
}

fn from_hex(text: &str) -> Option<[u8; KEY_LEN]> {
    let mut out = [0u8; KEY_LEN];
    let digits = text.as_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = (digits[2 * i] as char).to_digit(16)?;
        let lo = (digits[2 * i + 1] as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aad_binding() {
        let (key, hex) = StoreKey::generate();
        assert_eq!(hex.len(), 64);
        let (nonce, ct) = key.encrypt(b"hunter2", b"row:1");
        assert!(!ct.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.decrypt(&nonce, &ct, b"row:1").unwrap(), b"hunter2");
        assert!(matches!(
            key.decrypt(&nonce, &ct, b"row:2"),
            Err(CryptoError::Decrypt)
        ));
        let (other, _) = StoreKey::generate();
        assert!(other.decrypt(&nonce, &ct, b"row:1").is_err());
        // Fresh nonce every time.
        let (nonce2, ct2) = key.encrypt(b"hunter2", b"row:1");
        assert_ne!(nonce, nonce2);
        assert_ne!(ct, ct2);
    }

    #[test]
    fn parses_hex_and_base64_and_never_echoes() {
        let (key, hex) = StoreKey::generate();
        let from_hex = parse_key(&format!("  {hex}\n")).unwrap();
        assert_eq!(from_hex, key.bytes);
        let upper = parse_key(&hex.to_uppercase()).unwrap();
        assert_eq!(upper, key.bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.bytes);
        assert_eq!(parse_key(&b64).unwrap(), key.bytes);
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(key.bytes);
        assert_eq!(parse_key(&b64).unwrap(), key.bytes);
        assert!(parse_key(&hex[..62]).is_none());
        assert!(parse_key("zz".repeat(32).as_str()).is_none());
        assert!(parse_key("c2hvcnQ=").is_none());
        assert_eq!(format!("{key:?}"), "StoreKey(..)");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "not-a-key-SECRETISH").unwrap();
        let err = StoreKey::from_file(&path).unwrap_err().to_string();
        assert!(!err.contains("SECRETISH"), "{err}");
        assert!(err.contains("key file"), "{err}");
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        assert_eq!(StoreKey::from_file(&path).unwrap().bytes, key.bytes);
        assert_eq!(StoreKey::load(Some(&path)).unwrap().bytes, key.bytes);
        let missing = StoreKey::from_file(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, CryptoError::ReadKeyFile { .. }));
    }
}
