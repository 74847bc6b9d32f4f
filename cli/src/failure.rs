//! Why a command failed, how that is told on stderr, and the exit code:
//! 1 the API refused or could not be reached, 2 bad input or config (as
//! clap's own usage errors), 3 a watched job ended failed or cancelled.

use crate::output::OutputFormat;
use catalytic_client::Error as ApiError;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad flags, a bad job file, a bad config file, no credential.
    #[error("{0}")]
    Usage(String),
    /// The API refused, could not be reached, or answered something odd.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The stored session could not be refreshed.
    #[error("your session has expired: run `catalytic login` again")]
    SessionExpired,
    /// The job reached a terminal state other than `succeeded`.
    #[error("job {id} {status}{}", .reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    JobEnded {
        id: String,
        status: String,
        reason: Option<String>,
    },
    /// The job has not ended, so what was asked (its result) is not there yet.
    #[error("{0}")]
    NotFinished(String),
    /// Anything else on this machine (writing the config file, stdin).
    #[error("{0:#}")]
    Local(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::JobEnded { .. } => 3,
            Failure::Api(_)
            | Failure::SessionExpired
            | Failure::NotFinished(_)
            | Failure::Local(_) => 1,
        }
    }

    /// Worth asking again: no answer, a 5xx, or a 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::Api(ApiError::Transport(_)) => true,
            Failure::Api(ApiError::Api { status, .. }) => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The answer's `Retry-After`, when it had one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Failure::Api(ApiError::Api { retry_after, .. }) => {
                retry_after.map(std::time::Duration::from_secs)
            }
            _ => None,
        }
    }

    /// The lines for stderr: the problem's detail and every bad field, and a
    /// hint for the refusals a user can fix themself.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match self {
            Failure::Api(ApiError::Api {
                status, problem, ..
            }) => {
                let title = problem.title.as_deref().unwrap_or("refused");
                // With bad fields, the detail only joins them: list them instead.
                let detail = match problem.errors.len() {
                    0 => problem.detail.as_deref().unwrap_or(title),
                    1 => "a field is invalid",
                    _ => "some fields are invalid",
                };
                lines.push(format!("error: {detail} (HTTP {status} {title})"));
                for field in &problem.errors {
                    lines.push(format!(
                        "  {}: {}",
                        field["field"].as_str().unwrap_or("?"),
                        field["message"].as_str().unwrap_or("invalid")
                    ));
                }
                if let Some(hint) = hint(*status, problem.detail.as_deref()) {
                    lines.push(format!("hint: {hint}"));
                }
            }
            Failure::Api(ApiError::Transport(e)) if e.is_connect() => {
                lines.push(format!("error: cannot reach the server: {}", chain(e)));
                lines.push(
                    "hint: check --server, CATALYTIC_SERVER or `server` in the config file"
                        .to_owned(),
                );
            }
            Failure::Api(ApiError::Transport(e)) => {
                lines.push(format!("error: {}", chain(e)));
            }
            other => lines.push(format!("error: {other}")),
        }
        lines
    }

    /// The failure as one JSON object, for `--output json`.
    pub fn to_json(&self) -> Value {
        let lines = self.lines();
        let message = lines
            .first()
            .map(|l| l.trim_start_matches("error: ").to_owned());
        let mut out = json!({"error": message, "exit_code": self.exit_code()});
        if let Failure::Api(ApiError::Api {
            status, problem, ..
        }) = self
        {
            out["status"] = json!(status);
            out["problem"] = problem.body.clone();
        }
        out
    }

    /// Writes the failure to stderr in the chosen format.
    pub fn report(&self, format: OutputFormat) {
        match format {
            OutputFormat::Json => eprintln!("{}", self.to_json()),
            OutputFormat::Table => {
                for line in self.lines() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// An error and its causes, `a: b: c` (reqwest keeps "connection refused"
/// in a source, not in its own message).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn hint(status: u16, detail: Option<&str>) -> Option<&'static str> {
    match status {
        401 => Some(
            "log in with `catalytic login`, or pass an API key (--api-key or CATALYTIC_API_KEY)",
        ),
        // An unverified account may not invite, add webhooks or upgrade
        // (issue 20): the role is not the problem, so the hint says what is.
        403 if detail.is_some_and(|d| d.contains("verify") && d.contains("email address")) => Some(
            "verify the email with `catalytic verify-email LINK` (the link mailed to it), or have a new link sent with `catalytic verify-email --resend`",
        ),
        403 => Some(
            "your role may not do this; API keys act as members or viewers, and keys and webhooks need a logged-in admin",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_client::Problem;

    #[test]
    fn a_refusal_names_its_detail_and_every_field() {
        let body = json!({
            "title": "Unprocessable Entity", "status": 422,
            "detail": "params.end: out of range",
            "errors": [{"field": "params.end", "message": "out of range"}]
        });
        let failure = Failure::Api(ApiError::Api {
            status: 422,
            problem: Box::new(Problem::parse(body.to_string().as_bytes())),
            retry_after: None,
        });
        assert_eq!(failure.exit_code(), 1);
        assert_eq!(
            failure.lines(),
            vec![
                "error: a field is invalid (HTTP 422 Unprocessable Entity)".to_owned(),
                "  params.end: out of range".to_owned(),
            ]
        );
        let as_json = failure.to_json();
        assert_eq!(as_json["status"], 422);
        assert_eq!(as_json["problem"]["errors"][0]["field"], "params.end");
    }

    #[test]
    fn an_unverified_email_is_hinted_at_instead_of_the_role() {
        let forbidden = |detail: &str| {
            let body = json!({"title": "Forbidden", "status": 403, "detail": detail});
            Failure::Api(ApiError::Api {
                status: 403,
                problem: Box::new(Problem::parse(body.to_string().as_bytes())),
                retry_after: None,
            })
        };
        let unverified = forbidden("verify your email address before you add webhook endpoints: …");
        assert!(
            unverified
                .lines()
                .iter()
                .any(|l| l.starts_with("hint:") && l.contains("verify-email")),
            "{:?}",
            unverified.lines()
        );
        let role = forbidden("needs the admin role");
        assert!(
            role.lines()
                .iter()
                .any(|l| l.starts_with("hint:") && l.contains("role")),
            "{:?}",
            role.lines()
        );
    }

    #[test]
    fn only_no_answer_a_5xx_or_a_429_is_worth_asking_again() {
        let refusal = |status, retry_after| {
            Failure::Api(ApiError::Api {
                status,
                problem: Box::default(),
                retry_after,
            })
        };
        assert!(refusal(503, None).is_transient());
        assert!(refusal(429, Some(7)).is_transient());
        assert_eq!(
            refusal(429, Some(7)).retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
        assert!(!refusal(404, None).is_transient());
        assert!(!refusal(401, None).is_transient());
        assert!(!Failure::Usage("x".into()).is_transient());
    }

    #[test]
    fn exit_codes_tell_usage_refusal_and_failed_job_apart() {
        assert_eq!(Failure::Usage("x".into()).exit_code(), 2);
        assert_eq!(Failure::SessionExpired.exit_code(), 1);
        let ended = Failure::JobEnded {
            id: "j".into(),
            status: "failed".into(),
            reason: Some("time_limit".into()),
        };
        assert_eq!(ended.exit_code(), 3);
        assert_eq!(ended.to_string(), "job j failed: time_limit");
    }
}
