//! JWT access tokens (docs/adr/0004-api.md): HS256, 15 minutes, header `kid`; claims
//! `sub` (user), `tenant_id`, `role`, `jti`, `sid` (the session: the refresh
//! family it came from), `iat`, `exp`, `iss`, `aud`. New tokens are signed
//! with `auth.signing_key`; verification accepts that key and every key in
//! `auth.verification_keys`, chosen by `kid`, so keys rotate without logging
//! anyone out. Anything else is refused: no or unknown `kid`, another
//! algorithm (`none` included), a bad signature, another issuer or audience,
//! an expired token.
//!
//! The role in the token is informative: the extractor reads the user's
//! current role from PostgreSQL on each request, so a demotion or a deletion
//! takes effect at once.

use crate::error::ApiError;
use catalytic_shared::Secret;
use catalytic_shared::config::AuthSettings;
use catalytic_shared::ids::{SessionId, TenantId, UserId};
use catalytic_shared::tenant::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Seconds of clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub tenant_id: TenantId,
    pub role: Role,
    pub jti: uuid::Uuid,
    pub sid: SessionId,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// A signed access token and what the client is told about it.
pub struct AccessToken {
    pub token: Secret<String>,
    pub expires_in: u64,
}

/// The signing key and every verification key, by kid.
pub struct JwtKeys {
    issuer: String,
    audience: String,
    ttl_secs: u64,
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl JwtKeys {
    /// Fails on an empty key (the settings' validation refuses keys under
    /// 32 characters first) or if another jsonwebtoken crypto provider was
    /// installed (`jwt_hmac`).
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        super::jwt_hmac::install()?;
        let mut verifying = settings
            .verification_keys
            .iter()
            .map(|(kid, key)| {
                Ok((
                    kid.clone(),
                    DecodingKey::from_secret(key.expose().as_bytes())?,
                ))
            })
            .collect::<anyhow::Result<HashMap<String, DecodingKey>>>()?;
        verifying.insert(
            settings.signing_key_id.clone(),
            DecodingKey::from_secret(settings.signing_key.expose().as_bytes())?,
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[&settings.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            ttl_secs: settings.access_ttl_secs,
            signing_kid: settings.signing_key_id.clone(),
            signing: EncodingKey::from_secret(settings.signing_key.expose().as_bytes())?,
            verifying,
            validation,
        })
    }

    /// A new access token for `user` in `session`, with a fresh `jti`.
    pub fn issue(
        &self,
        user: UserId,
        tenant: TenantId,
        role: Role,
        session: SessionId,
    ) -> Result<AccessToken, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            tenant_id: tenant,
            role,
            jti: uuid::Uuid::new_v4(),
            sid: session,
            iat: now,
            exp: now + self.ttl_secs as i64,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing an access token: {e}")))?;
        Ok(AccessToken {
            token: Secret::new(token),
            expires_in: self.ttl_secs,
        })
    }

    /// The claims of a valid token; 401 for anything else. The reason is
    /// logged at debug level, never the token.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = ApiError::Unauthorized("invalid or expired access token");
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            tracing::debug!(error = %e, "access token header refused");
            ApiError::Unauthorized("invalid or expired access token")
        })?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(ApiError::Unauthorized("invalid or expired access token"))?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "access token refused");
                invalid
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(kid: &str, key: &str) -> AuthSettings {
        AuthSettings {
            jwt_issuer: "catalytic".into(),
            jwt_audience: "catalytic-api".into(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 86_400,
            invitation_ttl_secs: 3_600,
            verify_email_ttl_secs: 3_600,
            password_reset_ttl_secs: 3_600,
            signing_key_id: kid.into(),
            signing_key: Secret::new(key.into()),
            verification_keys: BTreeMap::new(),
            lockout_failures: 5,
            lockout_window_secs: 300,
            lockout_secs: 900,
            lockout_max_secs: 3_600,
            lockout_failures_per_email: 50,
            cache_timeout_ms: 100,
            principal_cache_entries: 10,
            principal_cache_ttl_secs: 60,
        }
    }

    fn issue(keys: &JwtKeys) -> Result<String, ApiError> {
        let t = keys.issue(
            UserId::new(),
            TenantId::new(),
            Role::Member,
            SessionId::new(),
        )?;
        Ok(t.token.expose().clone())
    }

    #[test]
    fn a_token_verifies_under_its_key_and_after_rotation() -> anyhow::Result<()> {
        let old = JwtKeys::new(&settings("k1", &"a".repeat(32)))?;
        let token = issue(&old)?;
        assert_eq!(old.verify(&token)?.role, Role::Member);

        let mut rotated = settings("k2", &"b".repeat(32));
        rotated
            .verification_keys
            .insert("k1".into(), Secret::new("a".repeat(32)));
        assert!(
            JwtKeys::new(&rotated)?.verify(&token).is_ok(),
            "old kid still accepted"
        );
        assert!(
            JwtKeys::new(&settings("k2", &"b".repeat(32)))?
                .verify(&token)
                .is_err(),
            "after the old key is dropped"
        );
        Ok(())
    }

    #[test]
    fn another_key_under_the_same_kid_is_refused() -> anyhow::Result<()> {
        let token = issue(&JwtKeys::new(&settings("k1", &"a".repeat(32)))?)?;
        assert!(
            JwtKeys::new(&settings("k1", &"c".repeat(32)))?
                .verify(&token)
                .is_err()
        );
        Ok(())
    }
}
