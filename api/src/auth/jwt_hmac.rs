//! The cryptography behind jsonwebtoken: the HMAC family only (HS256,
//! HS384, HS512). jsonwebtoken is built without a crypto backend (its
//! `rust_crypto` feature would bring RSA, ECDSA and Ed25519, and with them
//! the `rsa` crate, for algorithms we never accept), so this process-wide
//! `CryptoProvider` computes the HMACs with the RustCrypto `hmac` and `sha2`
//! the rest of the api uses. The api signs and accepts HS256 only
//! (`jwt::JwtKeys`: its `Validation` refuses any other algorithm before a
//! verifier is asked for); HS384 and HS512 are here so that the tests can
//! forge such tokens and see them refused. Anything else fails. The HMAC
//! is the one jsonwebtoken's own backend computes, so tokens signed before
//! the change still verify and the other way round.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::{Sha256, Sha384, Sha512};

static HMAC_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // No JWKs: we never build or read one.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Installs the HMAC provider for this process; idempotent. Fails only if
/// some other provider was installed first.
pub fn install() -> anyhow::Result<()> {
    match CryptoProvider::install_default(&HMAC_ONLY) {
        Ok(()) => Ok(()),
        Err(installed) if std::ptr::eq(installed, &HMAC_ONLY) => Ok(()),
        Err(_) => anyhow::bail!("another jsonwebtoken CryptoProvider is installed"),
    }
}

/// A keyed HMAC for `algorithm`, from a jsonwebtoken key of the HMAC family.
enum Keyed {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl Keyed {
    fn new(algorithm: &Algorithm, family: AlgorithmFamily, key: &[u8]) -> Result<Self> {
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let bad_key = |_| ErrorKind::InvalidKeyFormat;
        Ok(match algorithm {
            Algorithm::HS256 => Self::Hs256(Hmac::new_from_slice(key).map_err(bad_key)?),
            Algorithm::HS384 => Self::Hs384(Hmac::new_from_slice(key).map_err(bad_key)?),
            Algorithm::HS512 => Self::Hs512(Hmac::new_from_slice(key).map_err(bad_key)?),
            _ => return Err(ErrorKind::InvalidAlgorithm.into()),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Hs256(_) => Algorithm::HS256,
            Self::Hs384(_) => Algorithm::HS384,
            Self::Hs512(_) => Algorithm::HS512,
        }
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    Ok(Box::new(Keyed::new(
        algorithm,
        key.family(),
        key.as_bytes(),
    )?))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    Ok(Box::new(Keyed::new(
        algorithm,
        key.family(),
        key.try_get_as_bytes()?,
    )?))
}

fn tag<M: Mac + Clone>(keyed: &M, message: &[u8]) -> Vec<u8> {
    let mut mac = keyed.clone();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Constant time (hmac's verify_slice).
fn check<M: Mac + Clone>(keyed: &M, message: &[u8], tag: &[u8]) -> bool {
    let mut mac = keyed.clone();
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

impl Signer<Vec<u8>> for Keyed {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        Ok(match self {
            Self::Hs256(mac) => tag(mac, message),
            Self::Hs384(mac) => tag(mac, message),
            Self::Hs512(mac) => tag(mac, message),
        })
    }
}

impl Verifier<Vec<u8>> for Keyed {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        let valid = match self {
            Self::Hs256(mac) => check(mac, message, tag),
            Self::Hs384(mac) => check(mac, message, tag),
            Self::Hs512(mac) => check(mac, message, tag),
        };
        valid.then_some(()).ok_or_else(SignatureError::new)
    }
}

impl JwtSigner for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

impl JwtVerifier for Keyed {
    fn algorithm(&self) -> Algorithm {
        Keyed::algorithm(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515 appendix A.1: an HS256 JWS and its key (the JWK's `k`, here
    /// in hex), verified and re-signed byte for byte.
    #[test]
    fn the_rfc_7515_example_verifies_and_signs_the_same() -> anyhow::Result<()> {
        install()?;
        let secret = hex::decode(
            "0323354b2b0fa5bc837e0665777ba68f5ab328e6f054c928a90f84b2d2502ebf\
             d3fb5a92d20647ef968ab4c377623d223d2e2172052e4f08c0cd9af567d080a3",
        )?;
        let message = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
             eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let encoding = EncodingKey::from_secret(&secret)?;
        let decoding = DecodingKey::from_secret(&secret)?;
        let verify = |signature| {
            jsonwebtoken::crypto::verify(signature, message.as_bytes(), &decoding, Algorithm::HS256)
        };
        assert_eq!(
            jsonwebtoken::crypto::sign(message.as_bytes(), &encoding, Algorithm::HS256)?,
            signature
        );
        assert!(verify(signature)?);
        assert!(!verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXg")?);
        Ok(())
    }

    #[test]
    fn only_the_hmac_family_is_served() -> anyhow::Result<()> {
        install()?;
        let key = EncodingKey::from_secret(b"a key of some length")?;
        for algorithm in [Algorithm::HS384, Algorithm::HS512] {
            let signed = jsonwebtoken::crypto::sign(b"m", &key, algorithm)?;
            let decoding = DecodingKey::from_secret(b"a key of some length")?;
            assert!(jsonwebtoken::crypto::verify(
                &signed, b"m", &decoding, algorithm
            )?);
        }
        for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            assert!(jsonwebtoken::crypto::sign(b"m", &key, algorithm).is_err());
        }
        Ok(())
    }
}
