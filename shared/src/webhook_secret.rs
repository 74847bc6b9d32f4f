//! Webhook endpoint secrets (issue 6, docs/adr/0005-scheduler.md): minted as Standard
//! Webhooks `whsec_` + base64 of 32 random bytes, shown to the tenant once,
//! and stored sealed with AES-256-GCM. The api seals, the scheduler opens;
//! both build a [`SecretBox`] from `webhooks.encryption_key`. The key id is
//! stored beside each sealed secret so a later key rotation can tell which
//! key sealed what (only the current key opens secrets today).

use crate::config::WebhookSettings;
use crate::secret::Secret;
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use sha2::{Digest, Sha256};

const PREFIX: &str = "whsec_";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("sealed under key id {0:?}, which is not the configured webhooks.encryption_key_id")]
    UnknownKey(String),
    #[error("the sealed secret does not open (wrong key or corrupt)")]
    Corrupt,
}

/// A secret as the tenant sees it (`whsec_...`).
pub fn generate() -> Secret<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

/// The HMAC key of a `whsec_` secret: the base64-decoded part after the prefix.
pub fn signing_key(secret: &Secret<String>) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .expose()
        .strip_prefix(PREFIX)
        .ok_or(SecretError::Corrupt)?;
    STANDARD.decode(encoded).map_err(|_| SecretError::Corrupt)
}

/// Seals and opens secrets with the configured key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    key_id: String,
    /// Earlier keys by id (`webhooks.previous_encryption_keys`): open only.
    previous: std::collections::BTreeMap<String, Aes256Gcm>,
}

/// The AES key for a configured key string: SHA-256 of it, so any long
/// random string works.
fn cipher(key: &Secret<String>) -> Aes256Gcm {
    Aes256Gcm::new(&Sha256::digest(key.expose().as_bytes()))
}

/// A sealed secret and the id of the key that sealed it.
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

impl SecretBox {
    /// The AES key is SHA-256 of the configured string, so any long random
    /// string works as `webhooks.encryption_key`.
    pub fn new(settings: &WebhookSettings) -> Self {
        Self {
            cipher: cipher(&settings.encryption_key),
            key_id: settings.encryption_key_id.clone(),
            previous: settings
                .previous_encryption_keys
                .iter()
                .map(|(kid, key)| (kid.clone(), cipher(key)))
                .collect(),
        }
    }

    pub fn seal(&self, secret: &Secret<String>) -> Result<Sealed, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), secret.expose().as_bytes())
            .map_err(|_| SecretError::Corrupt)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: self.key_id.clone(),
            bytes,
        })
    }

    pub fn open(&self, key_id: &str, sealed: &[u8]) -> Result<Secret<String>, SecretError> {
        let cipher = match key_id == self.key_id {
            true => &self.cipher,
            false => self
                .previous
                .get(key_id)
                .ok_or_else(|| SecretError::UnknownKey(key_id.to_owned()))?,
        };
        if sealed.len() <= NONCE_LEN {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| SecretError::Corrupt)?;
        let plain = cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SecretError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn secret_box(key: &str) -> Result<SecretBox, crate::config::ConfigError> {
        let settings = Settings::load_from([("CATALYTIC_WEBHOOKS__ENCRYPTION_KEY", key)])?;
        Ok(SecretBox::new(&settings.webhooks))
    }

    /// Rotation: the new key seals, the old one (listed as previous) still
    /// opens what it sealed; without the listing that secret is unreadable.
    #[test]
    fn previous_keys_open_what_they_sealed() -> Result<(), Box<dyn std::error::Error>> {
        let old = secret_box("the-old-key-that-is-at-least-thirty-two-chars")?;
        let secret = generate();
        let sealed = old.seal(&secret)?;
        let rotated = Settings::load_from([
            (
                "CATALYTIC_WEBHOOKS__ENCRYPTION_KEY",
                "the-new-key-that-is-at-least-thirty-two-chars",
            ),
            ("CATALYTIC_WEBHOOKS__ENCRYPTION_KEY_ID", "k2"),
            (
                "CATALYTIC_WEBHOOKS__PREVIOUS_ENCRYPTION_KEYS__LOCAL",
                "the-old-key-that-is-at-least-thirty-two-chars",
            ),
        ])?;
        let rotated = SecretBox::new(&rotated.webhooks);
        assert_eq!(rotated.open(&sealed.key_id, &sealed.bytes)?, secret);
        let resealed = rotated.seal(&secret)?;
        assert_eq!(resealed.key_id, "k2");
        assert_eq!(rotated.open(&resealed.key_id, &resealed.bytes)?, secret);
        let new_only = secret_box("the-new-key-that-is-at-least-thirty-two-chars")?;
        // Same id as the old key, other key material: the secret does not open.
        assert!(new_only.open(&sealed.key_id, &sealed.bytes).is_err());
        let clash = Settings::load_from([(
            "CATALYTIC_WEBHOOKS__PREVIOUS_ENCRYPTION_KEYS__LOCAL",
            "the-old-key-that-is-at-least-thirty-two-chars",
        )]);
        assert!(
            clash.is_err(),
            "a previous key may not reuse the current id"
        );
        Ok(())
    }

    /// The layout at rest (12-byte nonce, then ciphertext and 16-byte tag;
    /// the AES key is SHA-256 of the configured string) is unchanged: this
    /// value was sealed independently (Python cryptography's AESGCM).
    #[test]
    fn a_secret_sealed_by_an_earlier_version_opens() -> Result<(), Box<dyn std::error::Error>> {
        let sealed = STANDARD.decode(
            "AAECAwQFBgcICQoLciOpZEpJgz+3/HxYlccH+Kg1+0GLNAglFJdye8wpf+Ocd+jKoeje9nPpDZx05INT/lVv1rCq",
        )?;
        let key = secret_box("the-old-key-that-is-at-least-thirty-two-chars")?;
        assert_eq!(
            key.open(&key.key_id, &sealed)?.expose(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        );
        Ok(())
    }

    #[test]
    fn a_sealed_secret_opens_only_under_its_key() -> Result<(), Box<dyn std::error::Error>> {
        let a = secret_box("a-key-that-is-at-least-thirty-two-characters")?;
        let b = secret_box("another-key-at-least-thirty-two-characters!")?;
        let secret = generate();
        let sealed = a.seal(&secret)?;
        assert!(!sealed.bytes.windows(6).any(|w| w == b"whsec_"));
        assert_eq!(a.open(&sealed.key_id, &sealed.bytes)?, secret);
        assert!(b.open(&sealed.key_id, &sealed.bytes).is_err());
        assert!(a.open("other", &sealed.bytes).is_err());
        assert_eq!(signing_key(&secret)?.len(), 32);
        Ok(())
    }
}
