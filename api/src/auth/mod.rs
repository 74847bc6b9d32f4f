//! Who is calling. Two credentials: API keys (`api_key`, made by
//! `catalytic-api bootstrap` or the key endpoints) and user sessions (JWT
//! access tokens from `jwt`, renewed with rotating refresh tokens from
//! `refresh`; passwords in `password`; `lockout` and `revocation` keep
//! their state in PostgreSQL, cached in Redis; `principals` caches who a
//! credential is in each process, invalidated by PostgreSQL notifications;
//! `verified` gates what an account with an unverified email may not do).
//! `TenantScope` is the extractor every tenant route takes, so no handler
//! can forget to authenticate or to scope its queries.

pub mod api_key;
pub mod extract;
pub mod jwt;
pub mod jwt_hmac;
pub mod last_used;
pub mod lockout;
pub mod operator;
pub mod password;
pub mod principals;
pub mod refresh;
pub mod revocation;
pub mod verified;

pub use api_key::ApiKeyHasher;
pub use extract::{TenantScope, UserSession};
pub use jwt::JwtKeys;
pub use revocation::AuthCache;
