//! One id type per entity, so a `JobId` can never be passed where a
//! `TenantId` is expected. All are UUIDs on the wire and in PostgreSQL;
//! new ids are UUIDv7 so they sort by creation time (index locality).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A job: one unit of lattice work submitted by a tenant.
    JobId
);
id_type!(
    /// A paying customer; every row is scoped by one.
    TenantId
);
id_type!(
    /// A stored lattice definition.
    LatticeId
);
id_type!(
    /// An API key (its id, not the secret).
    ApiKeyId
);
id_type!(
    /// A worker process in the fleet.
    WorkerId
);
id_type!(
    /// A person who logs in; belongs to one tenant with one role.
    UserId
);
id_type!(
    /// An invitation to join a tenant (its id, not the token).
    InvitationId
);
id_type!(
    /// A login session: one family of rotating refresh tokens, and the `sid`
    /// claim of every access token issued from it.
    SessionId
);
id_type!(
    /// An invoice: one tenant's bill for one UTC month.
    InvoiceId
);
id_type!(
    /// The stable AMQP message id of one outbox row: a republish carries the
    /// same id, which is how duplicates are recognised in logs and metrics.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings() {
        let id = JobId::new();
        let parsed: JobId = id.to_string().parse().unwrap_or_default();
        assert_eq!(parsed, id);
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let a = JobId::new();
        let b = JobId::new();
        assert!(a < b, "UUIDv7 ids must be time ordered");
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-a-uuid".parse::<JobId>().is_err());
    }
}
id_type!(
    /// A tenant's webhook endpoint.
    EndpointId
);
id_type!(
    /// A webhook message (the `webhook-id` of every attempt to deliver it).
    WebhookMessageId
);
