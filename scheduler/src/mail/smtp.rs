//! One message over SMTP (lettre's async transport on tokio, rustls):
//! composing it, sending it within a time limit, and telling a permanent
//! refusal from a failure worth retrying.
//!
//! - Composed as multipart/alternative (text, then HTML), with From, To,
//!   Subject, Date, MIME-Version, a Message-ID made from the message's id
//!   (the same on every attempt, so a receiver can tell a re-send after a
//!   crash from a new message) and `Auto-Submitted: auto-generated`
//!   (RFC 3834: no vacation replies to a no-reply address).
//! - A 5xx reply is permanent (the address does not exist, the message is
//!   refused): the message fails at once. Everything else (refused or
//!   timed-out connections, TLS, 4xx replies) is transient and retried.
//! - lettre bounds only the connect by its timeout, not the dialogue, so
//!   each attempt also runs under `tokio::time::timeout`. An attempt cut
//!   off mid-dialogue would leave its pooled connection out of step with
//!   the server, so the transport (and its pool) is then made anew.

use super::templates::Rendered;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// How an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, for `last_error` and the log (never the password).
    pub error: String,
    /// The server's reply code, when it answered one.
    pub code: Option<u16>,
    /// Trying again cannot help: fail the message now.
    pub permanent: bool,
}

impl Failure {
    /// A message that cannot be composed (bad params, bad address): no
    /// attempt will do better.
    pub fn unusable(error: impl std::fmt::Display) -> Self {
        Self {
            error: error.to_string(),
            code: None,
            permanent: true,
        }
    }
}

/// The SMTP server of `mail.smtp_url`, with pooled connections.
pub struct Smtp {
    url: String,
    limit: Duration,
    pool_size: u32,
    transport: Mutex<Transport>,
}

impl Smtp {
    /// `url`: `smtp://`, `smtp://…?tls=required` or `smtps://`, with
    /// credentials when the server wants them. `limit` bounds one attempt;
    /// `pool_size` connections are kept open between messages. Needs a
    /// tokio runtime (the pool's upkeep is a task).
    pub fn new(url: &str, limit: Duration, pool_size: u32) -> Result<Self, smtp::Error> {
        let transport = build(url, limit, pool_size)?;
        Ok(Self {
            url: url.to_owned(),
            limit,
            pool_size,
            transport: Mutex::new(transport),
        })
    }

    /// Sends `message`; the server's reply code when it took it.
    pub async fn send(&self, message: Message) -> Result<u16, Failure> {
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match tokio::time::timeout(self.limit, transport.send(message)).await {
            Ok(Ok(response)) => Ok(u16::from(response.code())),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => {
                self.renew();
                Err(Failure {
                    error: format!("no answer within {} s", self.limit.as_secs_f64()),
                    code: None,
                    permanent: false,
                })
            }
        }
    }

    /// A fresh transport: the old pool's connections are closed as it goes.
    fn renew(&self) {
        match build(&self.url, self.limit, self.pool_size) {
            Ok(fresh) => {
                *self
                    .transport
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
            }
            // It was built from the same URL at start: cannot happen.
            Err(e) => tracing::warn!(error = %e, "could not renew the SMTP transport"),
        }
    }
}

fn build(url: &str, limit: Duration, pool_size: u32) -> Result<Transport, smtp::Error> {
    Ok(Transport::from_url(url)?
        .timeout(Some(limit))
        .pool_config(PoolConfig::new().max_size(pool_size.max(1)))
        .build())
}

/// Permanent (5xx) or not, with the reply code and the whole error chain.
pub fn classify(e: &smtp::Error) -> Failure {
    let mut error = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // lettre's Display already ends with its direct source.
        if !error.ends_with(&cause_text) {
            error.push_str(": ");
            error.push_str(&cause_text);
        }
        source = cause.source();
    }
    Failure {
        error,
        code: e.status().map(u16::from),
        permanent: e.is_permanent(),
    }
}

/// The message as sent: `from` → `to`, text and HTML alternatives.
pub fn compose(
    from: &Mailbox,
    to: Mailbox,
    id: Uuid,
    rendered: Rendered,
) -> Result<Message, lettre::error::Error> {
    let auto_submitted = HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_owned(),
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .date_now()
        .message_id(Some(format!("<{id}@{}>", from.email.domain())))
        .raw_header(auto_submitted)
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
}

/// The domain of an address, for logs (the local part identifies a person).
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("?", |(_, domain)| domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_the_headers_a_receiver_expects() -> Result<(), Box<dyn std::error::Error>> {
        let from: Mailbox = "Catalytic <no-reply@catalytic.example>".parse()?;
        let to: Mailbox = "ada@example.com".parse()?;
        let id = Uuid::now_v7();
        let message = compose(
            &from,
            to,
            id,
            Rendered {
                subject: "Hello".into(),
                text: "text body\n".into(),
                html: "<p>html body</p>".into(),
            },
        )?;
        let raw = String::from_utf8(message.formatted())?;
        for header in [
            "From: Catalytic <no-reply@catalytic.example>\r\n",
            "To: ada@example.com\r\n",
            "Subject: Hello\r\n",
            "MIME-Version: 1.0\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "Content-Type: multipart/alternative;",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Type: text/html; charset=utf-8\r\n",
        ] {
            assert!(raw.contains(header), "{header:?} missing from\n{raw}");
        }
        assert!(
            raw.contains(&format!("Message-ID: <{id}@catalytic.example>\r\n")),
            "{raw}"
        );
        assert!(raw.contains("\r\nDate: "), "{raw}");
        let envelope = message.envelope();
        assert_eq!(envelope.to().len(), 1);
        assert_eq!(envelope.to()[0].to_string(), "ada@example.com");
        Ok(())
    }

    #[test]
    fn only_the_domain_is_logged() {
        assert_eq!(domain_of("ada@example.com"), "example.com");
        assert_eq!(domain_of("no-at-sign"), "?");
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() -> Result<(), Box<dyn std::error::Error>> {
        // A port with nothing listening.
        let port = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await?
            .local_addr()?
            .port();
        let smtp = Smtp::new(
            &format!("smtp://127.0.0.1:{port}"),
            Duration::from_secs(5),
            1,
        )?;
        let from: Mailbox = "a@example.com".parse()?;
        let message = compose(
            &from,
            "b@example.com".parse()?,
            Uuid::now_v7(),
            Rendered {
                subject: "s".into(),
                text: "t".into(),
                html: "h".into(),
            },
        )?;
        let failure = smtp.send(message).await.err().ok_or("sent to nobody")?;
        assert!(!failure.permanent, "{failure:?}");
        assert_eq!(failure.code, None);
        assert!(!failure.error.is_empty());
        Ok(())
    }
}
