//! Passwords of `serve` users: Argon2id at OWASP's parameters (19 MiB, two
//! passes, one lane), a minimum length, and a dummy verification so that an
//! unknown user costs a login the same time as a known one.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret as _, SecretString};
use std::sync::LazyLock;

/// The shortest password accepted (OWASP ASVS asks for at least 12).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest: Argon2 takes any length, but a megabyte "password" is a
/// denial of service, not a secret.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// OWASP's Argon2id parameters: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password too short or too long to be stored.
pub fn check_strength(password: &SecretString) -> Result<(), PasswordError> {
    let chars = password.expose_secret().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(PasswordError::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) to store.
/// CPU-bound (tens of milliseconds): call it off the async executor.
pub fn hash_password(password: &SecretString) -> Result<String, PasswordError> {
    check_strength(password)?;
    hash_unchecked(password)
}

fn hash_unchecked(password: &SecretString) -> Result<String, PasswordError> {
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// The password matches the stored PHC string. A stored string that does
/// not parse matches nothing. CPU-bound: call it off the async executor.
pub fn verify_password(password: &SecretString, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // The parameters come from the stored string, so a hash made with
    // older parameters still verifies.
    Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password nobody knows, made once per process.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let password = SecretString::from(format!("{bytes:02x?}"));
    hash_unchecked(&password).expect("hashing a random password")
});

/// Spends the time of a verification and fails: the answer to a login for
/// an unknown user must not come sooner than for a wrong password.
pub fn verify_dummy(password: &SecretString) -> bool {
    verify_password(password, &DUMMY_HASH);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let right = SecretString::from("correct horse battery".to_string());
        let wrong = SecretString::from("correct horse battery!".to_string());
        let hash = hash_password(&right).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&right, &hash));
        assert!(!verify_password(&wrong, &hash));
        assert!(!verify_password(&right, "not a phc string"));
        assert!(!verify_dummy(&right));
    }

    #[test]
    fn short_passwords_are_refused() {
        let short = SecretString::from("elevenchars".to_string());
        assert_eq!(hash_password(&short), Err(PasswordError::TooShort));
        let ok = SecretString::from("twelve chars".to_string());
        assert_eq!(check_strength(&ok), Ok(()));
    }
}
