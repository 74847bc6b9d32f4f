//! Passwords: the rules a new password must meet (8–128 characters, not
//! only whitespace, and not trivially guessable by the zxcvbn estimator,
//! which knows common passwords, words, names, keyboard patterns, sequences
//! and dates, and is told the account's email and tenant name), and Argon2id hashing and verification on
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

/// The lowest zxcvbn score a new password may have: 2 means "somewhat
/// guessable", at least 10^8 guesses by zxcvbn's estimate, which online
/// guessing under the per-IP limits and the lockout cannot reach. 0 and 1
/// (under 10^6 guesses: dictionary words, keyboard walks, sequences like
/// `abcdefgh`, dates, repeats) are refused with zxcvbn's own explanation.
pub const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Two;

/// Words that make a password guessable here whatever a dictionary says.
const SITE_WORDS: [&str; 3] = ["catalytic", "lattice", "password"];

/// Checks a new password; the 422 names `field`. `context` holds what an
/// attacker knows of the account (its email, the tenant's name): a password
/// built from them scores low.
pub fn check_new(field: &str, password: &str, context: &[&str]) -> Result<(), ApiError> {
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
    if password.trim().is_empty() {
        return Err(ApiError::field(field, "must not be only whitespace"));
    }
    let mut inputs: Vec<&str> = SITE_WORDS.to_vec();
    for item in context {
        inputs.push(item);
        // The parts of an email, which zxcvbn would not split itself.
        inputs.extend(
            item.split(['@', '.', '-', '_', '+', ' '])
                .filter(|p| p.len() >= 3),
        );
    }
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let why = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| w.to_string())
        .unwrap_or_else(|| "It would be guessed quickly.".to_owned());
    let hint = estimate
        .feedback()
        .and_then(|f| f.suggestions().first())
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    Err(ApiError::field(
        field,
        format!("is too easy to guess. {why}{hint}"),
    ))
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

    fn refusal(password: &str) -> Option<String> {
        match check_new("password", password, &["ada@example.com", "Acme Research"]) {
            Err(ApiError::Validation(errors)) => errors
                .first()
                .map(|e| format!("{}: {}", e.field, e.message)),
            _ => None,
        }
    }

    #[test]
    fn length_is_8_to_128_characters() {
        assert!(refusal("Zq8#rT1").is_some_and(|r| r.contains("at least 8")));
        assert_eq!(refusal("Zq8#rT1x-k"), None);
        let long = format!("{}ñ7Qz#kéL", "Tr0ub4dor&3-horse-éè".repeat(6));
        assert_eq!(long.chars().count(), 128);
        assert_eq!(refusal(&long), None, "characters, not bytes");
        assert!(refusal(&"é".repeat(128)).is_some(), "long is not enough");
        assert!(refusal(&"x".repeat(129)).is_some_and(|r| r.contains("at most 128")));
    }

    #[test]
    fn trivial_passwords_are_refused_with_the_reason() {
        for weak in [
            "abcdefgh",
            "password123",
            "PassWord123",
            "qwertyuiop",
            "12345678",
            "aaaaaaaaaaaa",
            "catalytic1",
            "ada@example.com",
            "acmeresearch",
        ] {
            let r = refusal(weak);
            assert!(
                r.as_deref()
                    .is_some_and(|r| r.starts_with("password: is too easy to guess. ")),
                "{weak}: {r:?}"
            );
        }
        assert!(refusal("        ").is_some_and(|r| r.contains("whitespace")));
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in [
            "Tr0ub4dor&3-horse",
            "correct horse battery staple",
            "q7#Lm2!vRx9p",
        ] {
            assert_eq!(refusal(strong), None, "{strong}");
        }
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
