//! What an attempt produced, as the worker or the scheduler reports it.
//!
//! [`Failure`] is why an attempt did not succeed: the `error` object tenants
//! read on the job (`GET /v1/jobs/{id}`) and in `job.failed` webhooks. It is
//! carried by `db::jobs::Change::{Retry, Fail}` and serialised in one place,
//! `db::jobs::transition`; its wire shape is documented in docs/api.md
//! ("Job errors") and pinned by the tests below.

use serde::{Deserialize, Serialize};

/// Why an attempt did not succeed. Serialised as an object tagged by `kind`;
/// every variant carries a human-readable `message`, and those that name an
/// attempt call it `attempt` (one spelling for every kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The compute ran past the plan's time limit (worker; billed).
    TimeLimit { message: String },
    /// The job's memory estimate exceeds the worker's whole budget (worker).
    TooLargeForWorker { message: String },
    /// The stored spec cannot be computed (worker).
    Invalid { message: String },
    /// The engine failed (panicked) during this attempt (worker): retried
    /// while attempts remain, else the job fails with it.
    Engine { message: String, attempt: i32 },
    /// The worker stopped renewing its lease (scheduler's reaper).
    LeaseExpired { message: String, attempt: i32 },
    /// The broker dead-lettered the job's message (scheduler).
    DeadLetter { message: String, attempt: i32 },
    /// The reaper failed the job after its last attempt's lease expired:
    /// `attempt` is that last attempt, `errors` every attempt's error, oldest
    /// first.
    AttemptsExhausted {
        message: String,
        attempt: i32,
        errors: Vec<Failure>,
    },
}

impl Failure {
    /// The `kind` tag on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::TimeLimit { .. } => "time_limit",
            Failure::TooLargeForWorker { .. } => "too_large_for_worker",
            Failure::Invalid { .. } => "invalid",
            Failure::Engine { .. } => "engine",
            Failure::LeaseExpired { .. } => "lease_expired",
            Failure::DeadLetter { .. } => "dead_letter",
            Failure::AttemptsExhausted { .. } => "attempts_exhausted",
        }
    }

    /// A lost lease of `attempt`.
    pub fn lease_expired(attempt: i32) -> Failure {
        Failure::LeaseExpired {
            message: "the worker stopped renewing its lease (crashed, stuck or cut off)".to_owned(),
            attempt,
        }
    }

    /// The final error of a job whose last attempt, `attempt`, lost its
    /// lease: every attempt's error, oldest first, in one place.
    pub fn attempts_exhausted(attempt: i32, errors: Vec<Failure>) -> Failure {
        Failure::AttemptsExhausted {
            message: format!("all {attempt} attempts failed; the last lost its worker's lease"),
            attempt,
            errors,
        }
    }
}

/// What a terminal transition records for billing (docs/adr/0003-plans.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// A job failed by the platform (lease expiry, DLQ) is not billed.
    pub billable: bool,
    pub vertex_visits: i64,
    pub compute_ms: i64,
    pub device: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn wire(failure: &Failure) -> Result<Value, serde_json::Error> {
        serde_json::to_value(failure)
    }

    fn every_variant() -> Vec<(Failure, Value)> {
        let m = || "m".to_owned();
        vec![
            (
                Failure::TimeLimit { message: m() },
                json!({"kind": "time_limit", "message": "m"}),
            ),
            (
                Failure::TooLargeForWorker { message: m() },
                json!({"kind": "too_large_for_worker", "message": "m"}),
            ),
            (
                Failure::Invalid { message: m() },
                json!({"kind": "invalid", "message": "m"}),
            ),
            (
                Failure::Engine {
                    message: m(),
                    attempt: 2,
                },
                json!({"kind": "engine", "message": "m", "attempt": 2}),
            ),
            (
                Failure::LeaseExpired {
                    message: m(),
                    attempt: 1,
                },
                json!({"kind": "lease_expired", "message": "m", "attempt": 1}),
            ),
            (
                Failure::DeadLetter {
                    message: m(),
                    attempt: 3,
                },
                json!({"kind": "dead_letter", "message": "m", "attempt": 3}),
            ),
            (
                Failure::AttemptsExhausted {
                    message: m(),
                    attempt: 2,
                    errors: vec![
                        Failure::Engine {
                            message: m(),
                            attempt: 1,
                        },
                        Failure::lease_expired(2),
                    ],
                },
                json!({"kind": "attempts_exhausted", "message": "m", "attempt": 2, "errors": [
                    {"kind": "engine", "message": "m", "attempt": 1},
                    {"kind": "lease_expired",
                     "message": "the worker stopped renewing its lease (crashed, stuck or cut off)",
                     "attempt": 2},
                ]}),
            ),
        ]
    }

    #[test]
    fn each_variant_has_its_exact_wire_shape() -> Result<(), serde_json::Error> {
        for (failure, expected) in every_variant() {
            assert_eq!(wire(&failure)?, expected, "{failure:?}");
            assert_eq!(expected["kind"], failure.kind());
        }
        Ok(())
    }

    #[test]
    fn the_wire_shape_round_trips() -> Result<(), serde_json::Error> {
        for (failure, expected) in every_variant() {
            let text = serde_json::to_string(&failure)?;
            assert_eq!(serde_json::from_str::<Failure>(&text)?, failure);
            assert_eq!(serde_json::from_value::<Failure>(expected)?, failure);
        }
        Ok(())
    }

    #[test]
    fn the_attempt_count_has_one_spelling() -> Result<(), serde_json::Error> {
        for (failure, _) in every_variant() {
            let value = wire(&failure)?;
            assert!(value.get("attempts").is_none(), "{value}");
        }
        Ok(())
    }

    #[test]
    fn the_final_error_lists_every_attempt() -> Result<(), serde_json::Error> {
        let e = wire(&Failure::attempts_exhausted(
            2,
            vec![
                Failure::Engine {
                    message: "boom".into(),
                    attempt: 1,
                },
                Failure::lease_expired(2),
            ],
        ))?;
        assert_eq!(e["attempt"], 2);
        assert_eq!(
            e["message"],
            "all 2 attempts failed; the last lost its worker's lease"
        );
        assert_eq!(e["errors"].as_array().map(Vec::len), Some(2));
        assert_eq!(e["errors"][1]["kind"], "lease_expired");
        Ok(())
    }
}
