//! The mail the service sends (issue 20), as data. A change that a person
//! should hear about writes its `Mail` into the mail outbox in the same
//! transaction (`db::mail::enqueue`): committed changes always have their
//! message, rolled-back ones never do, and nothing waits on an SMTP server.
//! The scheduler's mail sender (scheduler/src/mail) renders each message
//! from its templates (scheduler/templates/mail) and sends it, with retries.
//!
//! Stored as `template` (the variant's name) and `params` (its fields as a
//! JSON object). A message may carry a single-use token; the sender erases
//! `params` once the message is finished, and links are built from
//! `mail.public_url` at render time, so a message queued before a change of
//! address still points at the right place.

use serde::{Deserialize, Serialize};

/// One message, by what it says. Field names are the template's variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", content = "params", rename_all = "snake_case")]
pub enum Mail {
    /// After sign-up (and on request): confirm this address.
    VerifyEmail { token: String, ttl_hours: u64 },
    /// Once the address is verified.
    Welcome { tenant_name: String },
    /// Someone registered with an address that already has an account: the
    /// API answered as for a new one (no account oracle); this says so to
    /// the one person who can read it.
    AccountExists {},
    /// An invitation to join a tenant; the token also went to the admin.
    Invitation {
        tenant_name: String,
        role: String,
        invited_by: String,
        token: String,
        ttl_hours: u64,
    },
    /// An invitation to an address that already has an account (an email is
    /// one account platform-wide): it cannot be accepted.
    InvitationToExistingAccount {
        tenant_name: String,
        invited_by: String,
    },
    /// A password reset was asked for.
    PasswordReset { token: String, ttl_minutes: u64 },
    /// The password was changed (by the user, or through a reset link).
    PasswordChanged { through_reset: bool },
    /// A new API key of the tenant (to its owners and admins).
    ApiKeyCreated {
        name: String,
        prefix: String,
        created_by: String,
    },
    /// A webhook endpoint was disabled after failing (to owners and admins).
    EndpointDisabled { url: String, reason: String },
    /// An invoice payment failed (to owners).
    PaymentFailed { failures: i32, suspends_after: i32 },
    /// The tenant is suspended for failed payments (to owners).
    TenantSuspended { failures: i32 },
    /// An owner asked to delete the tenant (to owners): when, and how to
    /// cancel.
    DeletionScheduled {
        tenant_name: String,
        requested_by: String,
        erase_at: String,
    },
}

impl Mail {
    /// Every template's name, for the templates' completeness test.
    pub const TEMPLATES: [&'static str; 12] = [
        "verify_email",
        "welcome",
        "account_exists",
        "invitation",
        "invitation_to_existing_account",
        "password_reset",
        "password_changed",
        "api_key_created",
        "endpoint_disabled",
        "payment_failed",
        "tenant_suspended",
        "deletion_scheduled",
    ];

    /// The stored form: (template, params).
    pub fn to_stored(&self) -> Result<(String, serde_json::Value), serde_json::Error> {
        let mut tagged = serde_json::to_value(self)?;
        let template = tagged["template"].as_str().unwrap_or_default().to_owned();
        let params = tagged
            .get_mut("params")
            .map(serde_json::Value::take)
            .unwrap_or_else(|| serde_json::json!({}));
        Ok((template, params))
    }

    /// Back from the stored form.
    pub fn from_stored(
        template: &str,
        params: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({"template": template, "params": params}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<Mail> {
        vec![
            Mail::VerifyEmail {
                token: "cev_x".into(),
                ttl_hours: 48,
            },
            Mail::Welcome {
                tenant_name: "t".into(),
            },
            Mail::AccountExists {},
            Mail::Invitation {
                tenant_name: "t".into(),
                role: "member".into(),
                invited_by: "a@example.com".into(),
                token: "cli_x".into(),
                ttl_hours: 168,
            },
            Mail::InvitationToExistingAccount {
                tenant_name: "t".into(),
                invited_by: "a@example.com".into(),
            },
            Mail::PasswordReset {
                token: "cpr_x".into(),
                ttl_minutes: 60,
            },
            Mail::PasswordChanged {
                through_reset: true,
            },
            Mail::ApiKeyCreated {
                name: "ci".into(),
                prefix: "ck_live_ab".into(),
                created_by: "a@example.com".into(),
            },
            Mail::EndpointDisabled {
                url: "https://example.com/hook".into(),
                reason: "failing".into(),
            },
            Mail::PaymentFailed {
                failures: 1,
                suspends_after: 4,
            },
            Mail::TenantSuspended { failures: 4 },
            Mail::DeletionScheduled {
                tenant_name: "t".into(),
                requested_by: "a@example.com".into(),
                erase_at: "2026-12-13T00:00:00Z".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_through_its_stored_form() -> Result<(), serde_json::Error> {
        let all = one_of_each();
        assert_eq!(all.len(), Mail::TEMPLATES.len());
        for (mail, name) in all.into_iter().zip(Mail::TEMPLATES) {
            let (template, params) = mail.to_stored()?;
            assert_eq!(template, name);
            assert!(params.is_object(), "{template}: {params}");
            assert_eq!(Mail::from_stored(&template, params)?, mail);
        }
        Ok(())
    }

    #[test]
    fn an_unknown_template_or_missing_param_does_not_parse() {
        assert!(Mail::from_stored("nope", serde_json::json!({})).is_err());
        assert!(Mail::from_stored("password_reset", serde_json::json!({})).is_err());
    }
}
