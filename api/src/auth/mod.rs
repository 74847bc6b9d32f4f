//! Who is calling. Until the accounts issue lands the only credential is an
//! API key made by `catalytic-api bootstrap`; `TenantScope` is the extractor
//! every tenant route takes, so no handler can forget to authenticate or to
//! scope its queries.

pub mod api_key;
pub mod extract;

pub use api_key::ApiKeyHasher;
pub use extract::TenantScope;
