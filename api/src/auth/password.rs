//! Passwords: the rules a new password must meet (8–128 characters, not one
//! of the most common passwords), and Argon2id hashing and verification on
//! the blocking pool (docs/adr/0004-api.md: argon2 is for low-entropy secrets only; API
//! keys and tokens use fast hashes). Parameters are the argon2 crate's
//! defaults, which are OWASP's recommendation for Argon2id (m = 19 MiB,
//! t = 2, p = 1); they are stored in each PHC string, so raising them later
//! needs no migration.

use crate::error::ApiError;
use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use catalytic_shared::Secret;
use std::sync::LazyLock;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The most common passwords of at least `MIN_CHARS` characters (from the
/// public breach-corpus top lists), compared case-insensitively. Short ones
/// are refused by length already.
const COMMON: &[&str] = &[
    "password",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "password1",
    "password12",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "sunshine1",
    "princess",
    "princess1",
    "football",
    "football1",
    "baseball",
    "baseball1",
    "welcome1",
    "welcome123",
    "abc12345",
    "abcd1234",
    "qwerty12",
    "qwerty123",
    "qwerty1234",
    "11111111",
    "00000000",
    "88888888",
    "12341234",
    "87654321",
    "123123123",
    "987654321",
    "11223344",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "qazwsxedc",
    "zaq12wsx",
    "zaq1zaq1",
    "q1w2e3r4",
    "1234qwer",
    "qwer1234",
    "123qweasd",
    "qweasdzxc",
    "asdfghjk",
    "asdfghjkl",
    "zxcvbnm1",
    "qwertyui",
    "aaaaaaaa",
    "trustno1",
    "superman",
    "starwars",
    "starwars1",
    "whatever",
    "computer",
    "michelle",
    "jennifer",
    "corvette",
    "mercedes",
    "letmein1",
    "letmein123",
    "admin123",
    "administrator",
    "changeme",
    "changeme1",
    "lovelove",
    "master12",
    "monkey123",
    "dragon123",
    "shadow12",
    "michael1",
    "charlie1",
    "jordan23",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "pokemon1",
    "blink182",
    "google123",
    "samsung1",
    "internet",
    "hello123",
    "freedom1",
    "jessica1",
    "batman12",
    "spiderman",
    "harrypotter",
    "secret123",
    "test1234",
    "testtest",
    "guest123",
    "user1234",
    "mustang1",
    "soccer12",
    "hockey12",
    "killer12",
    "dragon12",
    "football12",
    "catalytic",
    "catalytic1",
];

/// Checks a new password; the 422 names `field`.
pub fn check_new(field: &str, password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(ApiError::field(
            field,
            format!("must be at least {MIN_CHARS} characters"),
        ));
    }
    if chars > MAX_CHARS {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_CHARS} characters"),
        ));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(ApiError::field(
            field,
            "is one of the most common passwords; choose another",
        ));
    }
    Ok(())
}

/// Argon2id PHC string of `password`, computed on the blocking pool.
pub async fn hash(password: Secret<String>) -> Result<String, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| hash_now(password.expose())))
        .await
        .context("joining the password hash task")
        .map_err(ApiError::Internal)?
        .map_err(ApiError::Internal)
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    // A 16-byte salt from the OS (getrandom), as before.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// A hash of a random string, checked when the email is unknown so that a
/// login takes as long whether or not the account exists.
static DUMMY: LazyLock<Option<String>> = LazyLock::new(|| {
    let random = uuid::Uuid::new_v4().to_string();
    hash_now(&random).ok()
});

/// Whether `password` matches `stored` (None: no such user; always false,
/// after the same work). Runs on the blocking pool.
pub async fn verify(password: Secret<String>, stored: Option<String>) -> Result<bool, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            let (phc, real) = match &stored {
                Some(s) => (s.as_str(), true),
                None => (DUMMY.as_deref().unwrap_or_default(), false),
            };
            let parsed = PasswordHash::new(phc)
                .map_err(|e| anyhow::anyhow!("a stored password hash does not parse: {e}"));
            let parsed = match parsed {
                Ok(p) => p,
                Err(_) if !real => return Ok(false),
                Err(e) => return Err(e),
            };
            let ok = Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(ok && real)
        })
    })
    .await
    .context("joining the password check task")
    .map_err(ApiError::Internal)?
    .map_err(ApiError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(password: &str) -> Option<String> {
        match check_new("password", password) {
            Err(ApiError::Validation(errors)) => errors.first().map(|e| e.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn length_is_8_to_128_characters() {
        assert_eq!(field_of("Zq8#rT1"), Some("password".to_owned()));
        assert!(check_new("password", "Zq8#rT1x").is_ok());
        assert!(
            check_new("password", &"é".repeat(128)).is_ok(),
            "characters, not bytes"
        );
        assert!(field_of(&"x".repeat(129)).is_some());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(field_of("password123").is_some());
        assert!(field_of("PassWord123").is_some());
        assert!(field_of("Tr0ub4dor&3-horse").is_none());
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() -> anyhow::Result<()> {
        let stored = hash(Secret::new("correct horse battery".to_owned()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(stored.starts_with("$argon2id$"));
        let check = |p: &str, s: Option<String>| verify(Secret::new(p.to_owned()), s);
        assert!(
            check("correct horse battery", Some(stored.clone()))
                .await
                .unwrap_or(false)
        );
        assert!(
            !check("correct horse batter", Some(stored))
                .await
                .unwrap_or(true)
        );
        assert!(!check("anything", None).await.unwrap_or(true));
        Ok(())
    }

    /// A hash stored before the argon2 0.6 upgrade still verifies: this PHC
    /// string was computed independently (Python cryptography's Argon2id,
    /// the parameters the argon2 crate defaults to: m = 19456, t = 2, p = 1).
    #[tokio::test]
    async fn a_hash_stored_by_an_earlier_version_verifies() -> anyhow::Result<()> {
        let stored = "$argon2id$v=19$m=19456,t=2,p=1$Y2F0YWx5dGljLXNhbHQxNg\
                      $7IJJYO/BHFkHqWFSkaJKI2I+85mbyziW7Z/xxGjeT38";
        let check = |p: &str| verify(Secret::new(p.to_owned()), Some(stored.to_owned()));
        assert!(check("correct horse battery").await.unwrap_or(false));
        assert!(!check("correct horse batter").await.unwrap_or(true));
        let fresh = hash(Secret::new("x".repeat(12)))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert!(
            fresh.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "same algorithm and parameters as the stored hashes: {fresh}"
        );
        Ok(())
    }
}
