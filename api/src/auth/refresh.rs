//! Opaque tokens: refresh tokens (`clr_`), invitation tokens (`cli_`), and
//! the single-use tokens mailed for email verification (`cev_`) and password
//! reset (`cpr_`), each the prefix + 64 hex characters (32 random bytes). Shown once; stored
//! as SHA-256 only. Unlike passwords they carry full entropy, so a fast
//! unkeyed hash is enough: the table alone cannot be turned back into tokens.
//! The rotation rules themselves (use once, reuse revokes the family) are in
//! `db::accounts::rotate_refresh_token`.

use catalytic_shared::Secret;
use rand::Rng;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Refresh,
    Invitation,
    VerifyEmail,
    PasswordReset,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Refresh => "clr_",
            TokenKind::Invitation => "cli_",
            TokenKind::VerifyEmail => "cev_",
            TokenKind::PasswordReset => "cpr_",
        }
    }
}

/// A fresh token and the hash to store.
pub struct NewToken {
    pub token: Secret<String>,
    pub hash: Vec<u8>,
}

pub fn generate(kind: TokenKind) -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{}{}", kind.prefix(), hex::encode(bytes));
    let hash = sha256(&token);
    NewToken {
        token: Secret::new(token),
        hash,
    }
}

/// The stored hash of a well-formed token of `kind`; None for anything else
/// (refused without touching the database).
pub fn hash_of(kind: TokenKind, token: &str) -> Option<Vec<u8>> {
    let hex_part = token.strip_prefix(kind.prefix())?;
    let well_formed = hex_part.len() == 64 && hex_part.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| sha256(token))
}

fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_hash_to_what_is_stored() {
        let t = generate(TokenKind::Refresh);
        assert!(t.token.expose().starts_with("clr_"));
        assert_eq!(hash_of(TokenKind::Refresh, t.token.expose()), Some(t.hash));
    }

    #[test]
    fn a_token_of_another_kind_or_shape_is_refused() {
        let t = generate(TokenKind::Invitation);
        assert_eq!(hash_of(TokenKind::Refresh, t.token.expose()), None);
        assert_eq!(hash_of(TokenKind::Invitation, "cli_abc"), None);
        assert_eq!(
            hash_of(TokenKind::Invitation, &format!("cli_{}", "z".repeat(64))),
            None
        );
    }
}
