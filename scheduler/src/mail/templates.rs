//! The mail templates (scheduler/templates/mail, issue 20), compiled into
//! the binary: no file is read at run time, and a template that does not
//! parse, or a `Mail` variant without its three templates, stops the
//! scheduler at start rather than failing messages later.
//!
//! Each message `NAME` (a `Mail::TEMPLATES` entry) has `NAME.subject.txt`,
//! `NAME.txt` (extends `layout.txt`) and `NAME.html` (extends `layout.html`,
//! buttons from `macros.html`). They see the variant's fields, `public_url`
//! (`mail.public_url` without its trailing slash) and, in the bodies, the
//! rendered `subject`. Jinja syntax (minijinja); a variable that is not
//! there is an error, not an empty string. HTML is escaped by the `.html`
//! extension; `urlencode` percent-encodes a value for a query string, and
//! `when` writes an RFC 3339 time for people (`13 December 2026, 21:00 UTC`).

use catalytic_shared::mail::Mail;
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;

/// `(file name, source)` of every template of the named messages, plus
/// the layouts and macros they extend and import.
macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        &[
            ("layout.txt", include_str!("../../templates/mail/layout.txt")),
            ("layout.html", include_str!("../../templates/mail/layout.html")),
            ("macros.html", include_str!("../../templates/mail/macros.html")),
            $(
                (concat!($name, ".subject.txt"), include_str!(concat!("../../templates/mail/", $name, ".subject.txt"))),
                (concat!($name, ".txt"), include_str!(concat!("../../templates/mail/", $name, ".txt"))),
                (concat!($name, ".html"), include_str!(concat!("../../templates/mail/", $name, ".html"))),
            )*
        ]
    };
}

const SOURCES: &[(&str, &str)] = sources!(
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
);

/// One message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, whitespace collapsed (a tenant name cannot add a header).
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("mail template {name}: {source:#}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("mail template {0} is missing")]
    Missing(String),
    #[error("a mail's params do not serialise: {0}")]
    Params(#[from] serde_json::Error),
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template and checks that each message has its three.
    pub fn new(public_url: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Block tags on lines of their own leave no blank lines behind.
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|source| TemplateError::Template {
                name: "(syntax)".to_owned(),
                source,
            })?;
        env.set_syntax(syntax);
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() {
                write!(out, "{}", escape_html(&value.to_string())).map_err(minijinja::Error::from)
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.add_filter("urlencode", |value: String| -> String {
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
        });
        env.add_filter("when", when);
        env.add_global("public_url", public_url.trim_end_matches('/'));
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .map_err(|source| TemplateError::Template {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        for message in Mail::TEMPLATES {
            for kind in KINDS {
                let name = format!("{message}{kind}");
                if env.get_template(&name).is_err() {
                    return Err(TemplateError::Missing(name));
                }
            }
        }
        Ok(Self { env })
    }

    /// The subject, text and HTML of `mail`.
    pub fn render(&self, mail: &Mail) -> Result<Rendered, TemplateError> {
        let (name, params) = mail.to_stored()?;
        let mut context = context(params);
        let subject = self.render_one(&format!("{name}.subject.txt"), &context)?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        context.insert("subject".to_owned(), Value::from(subject.as_str()));
        let text = tidy(&self.render_one(&format!("{name}.txt"), &context)?);
        let html = self.render_one(&format!("{name}.html"), &context)?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn render_one(
        &self,
        name: &str,
        context: &BTreeMap<String, Value>,
    ) -> Result<String, TemplateError> {
        let failed = |source| TemplateError::Template {
            name: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(failed)?
            .render(Value::from(context.clone()))
            .map_err(failed)
    }
}

/// The three templates of every message, by suffix.
const KINDS: [&str; 3] = [".subject.txt", ".txt", ".html"];

/// A message's params (a JSON object) as template variables. minijinja's
/// serde support is an optional feature; the conversion is this small.
fn context(params: serde_json::Value) -> BTreeMap<String, Value> {
    match params {
        serde_json::Value::Object(fields) => {
            fields.into_iter().map(|(k, v)| (k, to_value(v))).collect()
        }
        _ => BTreeMap::new(),
    }
}

fn to_value(json: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (_, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::from(f),
            _ => Value::from(n.to_string()),
        },
        J::String(s) => Value::from(s),
        J::Array(items) => Value::from(items.into_iter().map(to_value).collect::<Vec<_>>()),
        J::Object(fields) => Value::from(
            fields
                .into_iter()
                .map(|(k, v)| (k, to_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// An RFC 3339 time as people read it, in UTC; anything else as given.
fn when(value: String) -> String {
    match chrono::DateTime::parse_from_rfc3339(&value) {
        Ok(at) => at
            .with_timezone(&chrono::Utc)
            .format("%-d %B %Y, %H:%M UTC")
            .to_string(),
        Err(_) => value,
    }
}

/// HTML escaping for text and quoted attributes: `& < > " '`. (minijinja's
/// own also writes `/` as `&#x2f;`, which is safe but turns every link in
/// a message's source into entities.)
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The text body as a person reads it: no trailing spaces, at most one
/// blank line in a row, one newline at the end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = true;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    let mut out = out.trim_end().to_owned();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "https://catalytic.example";

    fn one_of_each() -> Vec<Mail> {
        vec![
            Mail::VerifyEmail {
                token: format!("cev_{}", "a1".repeat(32)),
                ttl_hours: 48,
            },
            Mail::Welcome {
                tenant_name: "Acme Research".into(),
            },
            Mail::AccountExists {},
            Mail::Invitation {
                tenant_name: "Acme Research".into(),
                role: "member".into(),
                invited_by: "ada@example.com".into(),
                token: format!("cli_{}", "b2".repeat(32)),
                ttl_hours: 168,
            },
            Mail::InvitationToExistingAccount {
                tenant_name: "Acme Research".into(),
                invited_by: "ada@example.com".into(),
            },
            Mail::PasswordReset {
                token: format!("cpr_{}", "c3".repeat(32)),
                ttl_minutes: 60,
            },
            Mail::PasswordChanged {
                through_reset: true,
            },
            Mail::ApiKeyCreated {
                name: "ci".into(),
                prefix: "ck_live_ab".into(),
                created_by: "ada@example.com".into(),
            },
            Mail::EndpointDisabled {
                url: "https://example.com/hook".into(),
                reason: "failing for 5 days".into(),
            },
            Mail::PaymentFailed {
                failures: 1,
                suspends_after: 4,
            },
            Mail::TenantSuspended { failures: 4 },
            Mail::DeletionScheduled {
                tenant_name: "Acme Research".into(),
                requested_by: "ada@example.com".into(),
                erase_at: "2026-12-13T21:00:00+00:00".into(),
            },
        ]
    }

    /// The link (or command) each message must carry, in text and HTML.
    fn must_carry(mail: &Mail) -> Vec<String> {
        match mail {
            Mail::VerifyEmail { token, .. } => {
                vec![format!("{PUBLIC}/dashboard/verify-email?token={token}")]
            }
            Mail::PasswordReset { token, .. } => {
                vec![format!("{PUBLIC}/dashboard/reset-password?token={token}")]
            }
            Mail::Invitation { token, .. } => vec![
                format!("{PUBLIC}/dashboard/join?invitation={token}"),
                format!("catalytic register --invitation {token}"),
            ],
            Mail::Welcome { .. } => vec![format!("{PUBLIC}/dashboard/login")],
            Mail::AccountExists {} => vec![
                format!("{PUBLIC}/dashboard/login"),
                format!("{PUBLIC}/dashboard/forgot-password"),
            ],
            Mail::PasswordChanged { .. } => vec![format!("{PUBLIC}/dashboard/forgot-password")],
            Mail::EndpointDisabled { url, .. } => vec![url.clone()],
            Mail::ApiKeyCreated { prefix, .. } => vec![prefix.clone()],
            Mail::PaymentFailed { .. } | Mail::TenantSuspended { .. } => {
                vec![format!("{PUBLIC}/dashboard/billing")]
            }
            Mail::InvitationToExistingAccount { tenant_name, .. } => vec![tenant_name.clone()],
            Mail::DeletionScheduled { .. } => {
                vec![
                    "13 December 2026, 21:00 UTC".into(),
                    "DELETE /v1/tenant/deletion".into(),
                ]
            }
        }
    }

    #[test]
    fn every_message_renders_with_its_links() -> Result<(), TemplateError> {
        // A trailing slash on the setting does not double the links' slash.
        let templates = Templates::new(&format!("{PUBLIC}/"))?;
        let all = one_of_each();
        assert_eq!(all.len(), Mail::TEMPLATES.len());
        for mail in &all {
            let r = templates.render(mail)?;
            let name = mail.to_stored()?.0;
            assert!(!r.subject.is_empty(), "{name}: empty subject");
            assert!(!r.subject.contains(['\n', '\r']), "{name}: {:?}", r.subject);
            assert_eq!(r.subject, r.subject.trim(), "{name}");
            for part in [&r.subject, &r.text, &r.html] {
                assert!(
                    !part.contains("{{") && !part.contains("{%"),
                    "{name}: {part}"
                );
                assert!(!part.contains("//dashboard"), "{name}: {part}");
            }
            assert!(r.text.starts_with("Hello,\n\n"), "{name}: {}", r.text);
            assert!(r.text.ends_with(&format!("{PUBLIC}/dashboard\n")), "{name}");
            assert!(!r.text.contains("\n\n\n"), "{name}: {}", r.text);
            assert!(r.html.starts_with("<!doctype html>"), "{name}");
            assert!(
                r.html
                    .contains(&format!("<title>{}</title>", escape_html(&r.subject))),
                "{name}: {}",
                r.html
            );
            for wanted in must_carry(mail) {
                assert!(
                    r.text.contains(&wanted),
                    "{name}: text lacks {wanted}:\n{}",
                    r.text
                );
                assert!(
                    r.html.contains(&wanted),
                    "{name}: HTML lacks {wanted}:\n{}",
                    r.html
                );
            }
            // Every message says why it came.
            assert!(r.text.contains("You received this because"), "{name}");
            assert!(r.html.contains("You received this because"), "{name}");
        }
        Ok(())
    }

    #[test]
    fn html_escapes_what_a_tenant_wrote_and_the_subject_stays_one_line() -> Result<(), TemplateError>
    {
        let templates = Templates::new(PUBLIC)?;
        let r = templates.render(&Mail::Invitation {
            tenant_name: "<script>alert(1)</script>\r\nBcc: x@evil.example".into(),
            role: "member".into(),
            invited_by: "a&b@example.com".into(),
            token: "cli_x".into(),
            ttl_hours: 1,
        })?;
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(
            r.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            r.html
        );
        assert!(r.html.contains("a&amp;b@example.com"), "{}", r.html);
        // The macros' own markup is not escaped.
        assert!(
            r.html
                .contains("<a href=\"https://catalytic.example/dashboard/join?invitation=cli_x\""),
            "{}",
            r.html
        );
        // Text is not HTML: written as given.
        assert!(r.text.contains("<script>alert(1)</script>"), "{}", r.text);
        assert_eq!(
            r.subject,
            "a&b@example.com invited you to <script>alert(1)</script> Bcc: x@evil.example on Catalytic"
        );
        Ok(())
    }

    #[test]
    fn a_query_value_is_percent_encoded() -> Result<(), TemplateError> {
        let templates = Templates::new(PUBLIC)?;
        let r = templates.render(&Mail::PasswordReset {
            token: "a b&c=d".into(),
            ttl_minutes: 60,
        })?;
        assert!(
            r.text.contains("reset-password?token=a+b%26c%3Dd\n"),
            "{}",
            r.text
        );
        Ok(())
    }

    #[test]
    fn the_password_change_says_how_it_happened() -> Result<(), TemplateError> {
        let templates = Templates::new(PUBLIC)?;
        let by_reset = templates.render(&Mail::PasswordChanged {
            through_reset: true,
        })?;
        let by_user = templates.render(&Mail::PasswordChanged {
            through_reset: false,
        })?;
        assert!(
            by_reset
                .text
                .contains("changed through a\npassword-reset link."),
            "{}",
            by_reset.text
        );
        assert!(
            by_user.text.contains("was just changed.\n"),
            "{}",
            by_user.text
        );
        assert!(!by_user.html.contains("password-reset link"));
        Ok(())
    }

    #[test]
    fn plural_follows_the_count() -> Result<(), TemplateError> {
        let templates = Templates::new(PUBLIC)?;
        let one = templates.render(&Mail::PaymentFailed {
            failures: 1,
            suspends_after: 4,
        })?;
        let two = templates.render(&Mail::PaymentFailed {
            failures: 2,
            suspends_after: 4,
        })?;
        assert!(
            one.text.contains("1 failed payment in a row"),
            "{}",
            one.text
        );
        assert!(
            two.text.contains("2 failed payments in a row"),
            "{}",
            two.text
        );
        Ok(())
    }

    #[test]
    fn times_are_written_for_people() {
        assert_eq!(
            when("2026-12-13T22:00:00.123456+01:00".into()),
            "13 December 2026, 21:00 UTC"
        );
        assert_eq!(when("soon".into()), "soon");
    }

    #[test]
    fn text_is_tidied() {
        assert_eq!(tidy("\n\nHello,  \n\n\n\nbye\n\n"), "Hello,\n\nbye\n");
    }
}
