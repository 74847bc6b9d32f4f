//! API keys: `clc_` + 64 hex characters (32 random bytes). Stored as
//! HMAC-SHA256 under a server-side secret (docs/adr/0004-api.md): fast enough to check
//! on every request, useless to whoever reads the table without the secret.
//! Looked up by the first `PREFIX_LEN` characters, which are not secret.

use catalytic_shared::Secret;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;

pub const KEY_PREFIX: &str = "clc_";
/// Operator keys (platform staff, `/v1/admin/*`): same shape, another prefix.
pub const OPERATOR_KEY_PREFIX: &str = "clo_";
/// `clc_` + 12 hex characters: 48 bits of lookup id, so prefix collisions
/// stay unlikely into millions of keys (and are retried when they happen).
pub const PREFIX_LEN: usize = 16;
const KEY_LEN: usize = KEY_PREFIX.len() + 64;

#[derive(Clone)]
pub struct ApiKeyHasher {
    secret: Secret<String>,
}

/// A freshly generated key: shown once, then only its HMAC is kept.
pub struct NewApiKey {
    pub key: Secret<String>,
    pub prefix: String,
    pub hmac: Vec<u8>,
}

impl ApiKeyHasher {
    pub fn new(secret: Secret<String>) -> Self {
        Self { secret }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"))
    }

    pub fn generate(&self) -> NewApiKey {
        self.generate_with(KEY_PREFIX)
    }

    /// A key with another kind prefix (`OPERATOR_KEY_PREFIX`).
    pub fn generate_with(&self, kind: &str) -> NewApiKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let key = format!("{kind}{}", hex::encode(bytes));
        let prefix = key[..PREFIX_LEN].to_owned();
        let hmac = self.hmac(&key);
        NewApiKey {
            key: Secret::new(key),
            prefix,
            hmac,
        }
    }

    pub fn hmac(&self, key: &str) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Constant-time comparison of `key` against a stored HMAC.
    pub fn verify(&self, key: &str, stored: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(key.as_bytes());
        mac.verify_slice(stored).is_ok()
    }
}

/// The lookup prefix of a well-formed key, or None for anything else (which
/// is refused without touching the database).
pub fn prefix_of(key: &str) -> Option<&str> {
    prefix_of_kind(key, KEY_PREFIX)
}

/// `prefix_of` for operator keys.
pub fn operator_prefix_of(key: &str) -> Option<&str> {
    prefix_of_kind(key, OPERATOR_KEY_PREFIX)
}

fn prefix_of_kind<'k>(key: &'k str, kind: &str) -> Option<&'k str> {
    let well_formed = key.len() == KEY_LEN
        && key.starts_with(kind)
        && key[kind.len()..].bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| &key[..PREFIX_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(secret: &str) -> ApiKeyHasher {
        ApiKeyHasher::new(Secret::new(secret.to_owned()))
    }

    #[test]
    fn generated_keys_verify_and_have_their_prefix() {
        let h = hasher("a-secret-of-at-least-thirty-two-chars");
        let k = h.generate();
        assert_eq!(prefix_of(k.key.expose()), Some(k.prefix.as_str()));
        assert!(h.verify(k.key.expose(), &k.hmac));
    }

    #[test]
    fn a_key_fails_under_another_secret_or_when_altered() {
        let k = hasher("secret-one-secret-one-secret-one!").generate();
        assert!(!hasher("secret-two-secret-two-secret-two!").verify(k.key.expose(), &k.hmac));
        let mut altered = k.key.expose().clone();
        altered.pop();
        altered.push('x');
        assert!(!hasher("secret-one-secret-one-secret-one!").verify(&altered, &k.hmac));
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        assert_eq!(prefix_of("clc_"), None);
        assert_eq!(
            prefix_of("clc_anything-goes"),
            None,
            "the original accepted any clc_ string"
        );
        assert_eq!(prefix_of(&format!("xyz_{}", "a".repeat(64))), None);
        assert_eq!(prefix_of(&format!("clc_{}", "g".repeat(64))), None);
        let operator = format!("clo_{}", "a".repeat(64));
        assert_eq!(
            prefix_of(&operator),
            None,
            "an operator key is no tenant key"
        );
        assert_eq!(operator_prefix_of(&operator), Some(&operator[..PREFIX_LEN]));
    }
}
