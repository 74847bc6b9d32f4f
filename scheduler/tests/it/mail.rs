//! The mail sender end to end (issue 20): messages queued as the api
//! queues them, the real sender, a real SMTP server per test
//! (`testkit::SmtpSink`, aiosmtpd: refuses `refuse…@` with 550 and
//! `busy…@` with 451), and the rows it leaves.

use crate::harness::{eventually, tenant};
use catalytic_scheduler::db::mail as store;
use catalytic_scheduler::mail::Mailer;
use catalytic_scheduler::retention::Retention;
use catalytic_shared::Settings;
use catalytic_shared::config::MailSettings;
use catalytic_shared::ids::TenantId;
use catalytic_shared::mail::Mail;
use catalytic_shared::secret::Secret;
use catalytic_shared::testkit::{SmtpSink, TestDatabase};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const PUBLIC: &str = "https://catalytic.example";
const WITHIN: Duration = Duration::from_secs(20);

/// The shipped defaults, with the server at `smtp_url`, retries 50 ms
/// apart (doubling) and a 20 ms poll.
fn settings(smtp_url: &str) -> anyhow::Result<MailSettings> {
    let mut settings = Settings::load_from([])?.mail;
    settings.smtp_url = Secret::new(smtp_url.to_owned());
    settings.public_url = PUBLIC.to_owned();
    settings.retry_base_secs = 0.05;
    settings.poll_ms = 20;
    settings.timeout_secs = 10;
    Ok(settings)
}

/// A URL where nothing listens: connections are refused.
async fn nothing_listening() -> anyhow::Result<String> {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?
        .port();
    Ok(format!("smtp://127.0.0.1:{port}"))
}

/// Queues `mail` to `to` as the api does (in a transaction of its own
/// here); returns the message's id.
async fn queue(
    db: &TestDatabase,
    tenant: Option<TenantId>,
    to: &str,
    mail: &Mail,
) -> anyhow::Result<Uuid> {
    let mut tx = db.pool.begin().await?;
    catalytic_shared::db::mail::enqueue(&mut tx, tenant, to, mail).await?;
    let id = sqlx::query_scalar(
        "SELECT id FROM mail_messages WHERE to_address = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn reset(token: &str) -> Mail {
    Mail::PasswordReset {
        token: token.to_owned(),
        ttl_minutes: 60,
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    status: String,
    attempts: i32,
    params: Option<serde_json::Value>,
    last_error: Option<String>,
    /// next_attempt_at − now(), in seconds.
    due_in: f64,
    finished: bool,
}

async fn row(db: &TestDatabase, id: Uuid) -> anyhow::Result<Row> {
    Ok(sqlx::query_as(
        "SELECT status, attempts, params, last_error,
                EXTRACT(EPOCH FROM next_attempt_at - now())::float8 AS due_in,
                finished_at IS NOT NULL AS finished
         FROM mail_messages WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?)
}

/// (attempt, smtp_code, error) of every attempt of the message, in order.
async fn attempts(
    db: &TestDatabase,
    id: Uuid,
) -> anyhow::Result<Vec<(i32, Option<i32>, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT attempt, smtp_code, error FROM mail_attempts WHERE message_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?)
}

/// Seconds between the starts of consecutive attempts.
async fn gaps(db: &TestDatabase, id: Uuid) -> anyhow::Result<Vec<f64>> {
    Ok(sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM started_at - lag(started_at) OVER (ORDER BY attempt))::float8
         FROM mail_attempts WHERE message_id = $1 ORDER BY attempt OFFSET 1",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?)
}

/// Runs rounds until the message is no longer pending.
async fn until_finished(mailer: &Mailer, db: &TestDatabase, id: Uuid) -> anyhow::Result<Row> {
    eventually(WITHIN, || async {
        mailer.run_once().await?;
        let row = row(db, id).await?;
        Ok((row.status != "pending").then_some(row))
    })
    .await
}

#[tokio::test]
async fn a_queued_message_is_sent_with_its_text_and_html() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let tenant = tenant(&db.pool).await?;
    let token = format!("cev_{}", "ab".repeat(32));
    let id = queue(
        &db,
        Some(tenant),
        "ada@example.com",
        &Mail::VerifyEmail {
            token: token.clone(),
            ttl_hours: 48,
        },
    )
    .await?;
    let mailer = Mailer::new(db.pool.clone(), &settings(&sink.url())?)?;
    let round = mailer.run_once().await?;
    assert_eq!((round.claimed, round.sent), (1, 1), "{round:?}");

    let got = sink.wait_for("ada@example.com", WITHIN).await?;
    assert_eq!(
        got.subject(),
        Some("Confirm your email address for Catalytic")
    );
    assert_eq!(
        got.header("from"),
        Some("Catalytic <no-reply@catalytic.invalid>")
    );
    assert_eq!(got.header("to"), Some("ada@example.com"));
    assert_eq!(
        got.header("message-id").map(str::to_owned),
        Some(format!("<{id}@catalytic.invalid>"))
    );
    assert_eq!(got.header("auto-submitted"), Some("auto-generated"));
    assert!(got.header("date").is_some());
    let link = format!("{PUBLIC}/dashboard/verify-email?token={token}");
    let text = got.text.clone().unwrap_or_default();
    let html = got.html.clone().unwrap_or_default();
    assert!(text.contains(&link), "text lacks {link}:\n{text}");
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "HTML lacks {link}:\n{html}"
    );
    assert!(text.contains("expires in 48 hours"), "{text}");

    let row = row(&db, id).await?;
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.params, None, "the token is erased once sent");
    assert_eq!(row.last_error, None);
    assert!(row.finished);
    assert_eq!(attempts(&db, id).await?, vec![(1, Some(250), None)]);
    // Nothing is due any more: the next round sends nothing twice.
    assert_eq!(mailer.run_once().await?.claimed, 0);
    assert_eq!(sink.messages()?.len(), 1);
    db.drop_database().await
}

#[tokio::test]
async fn a_committed_message_wakes_the_running_sender() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let mut settings = settings(&sink.url())?;
    // Only the NOTIFY can wake it in time.
    settings.poll_ms = 60_000;
    let mailer = Mailer::new(db.pool.clone(), &settings)?;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(mailer.run(shutdown.clone()));
    // The first round (empty) runs before the loop waits; a message queued
    // during that round is still caught by the LISTEN, or by that round.
    let id = queue(&db, None, "grace@example.com", &Mail::AccountExists {}).await?;
    let got = sink.wait_for("grace@example.com", WITHIN).await?;
    assert_eq!(
        got.subject(),
        Some("Someone tried to sign up to Catalytic with your address")
    );
    eventually(WITHIN, || async {
        Ok((row(&db, id).await?.status == "sent").then_some(()))
    })
    .await?;
    shutdown.cancel();
    running.await?;
    db.drop_database().await
}

#[tokio::test]
async fn nothing_is_lost_while_the_smtp_server_is_down() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut down = settings(&nothing_listening().await?)?;
    // Half a second before the retry: long enough to see it wait.
    down.retry_base_secs = 0.5;
    let id = queue(&db, None, "ada@example.com", &reset("cpr_1")).await?;
    let mailer = Mailer::new(db.pool.clone(), &down)?;
    let round = mailer.run_once().await?;
    assert_eq!((round.claimed, round.retried), (1, 1), "{round:?}");
    let r = row(&db, id).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    assert!(r.due_in > 0.3, "retried in {} s", r.due_in);
    assert!(r.last_error.as_deref().is_some_and(|e| !e.is_empty()));
    assert!(r.params.is_some(), "kept for the retry");
    assert!(!r.finished);
    let logged = attempts(&db, id).await?;
    assert_eq!(logged.len(), 1);
    assert_eq!((logged[0].0, logged[0].1), (1, None), "no SMTP reply");
    assert!(logged[0].2.is_some());
    // Not due yet: a round now leaves it alone.
    assert_eq!(mailer.run_once().await?.claimed, 0);

    // The server is back (here: another one, and a sender pointed at it).
    let sink = SmtpSink::start().await?;
    let mut up = down.clone();
    up.smtp_url = Secret::new(sink.url());
    let mailer = Mailer::new(db.pool.clone(), &up)?;
    let r = until_finished(&mailer, &db, id).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("sent", 2));
    assert_eq!(r.last_error, None);
    let got = sink.wait_for("ada@example.com", WITHIN).await?;
    assert!(
        got.text
            .as_deref()
            .is_some_and(|t| t.contains(&format!("{PUBLIC}/dashboard/reset-password?token=cpr_1"))),
        "{got:?}"
    );
    let codes: Vec<_> = attempts(&db, id).await?.into_iter().map(|a| a.1).collect();
    assert_eq!(codes, vec![None, Some(250)]);
    let gaps = gaps(&db, id).await?;
    assert!(
        gaps[0] >= 0.45,
        "retried after {} s, before its time",
        gaps[0]
    );
    assert_eq!(sink.messages()?.len(), 1);
    db.drop_database().await
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_and_a_transient_one_is_retried() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let refused = queue(&db, None, "refuse-me@example.com", &reset("cpr_r")).await?;
    let busy = queue(&db, None, "busy-box@example.com", &reset("cpr_b")).await?;
    let fine = queue(&db, None, "fine@example.com", &reset("cpr_f")).await?;
    let mut settings = settings(&sink.url())?;
    // Far off: the 451 is still pending when we look.
    settings.retry_base_secs = 60.0;
    let mailer = Mailer::new(db.pool.clone(), &settings)?;
    let round = mailer.run_once().await?;
    assert_eq!(
        (round.claimed, round.sent, round.retried, round.failed),
        (3, 1, 1, 1),
        "{round:?}"
    );

    let r = row(&db, refused).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("failed", 1));
    assert!(r.finished);
    assert_eq!(r.params, None, "erased when failed too");
    let error = r.last_error.unwrap_or_default();
    assert!(
        error.contains("550") && error.contains("no such user"),
        "{error}"
    );
    let logged = attempts(&db, refused).await?;
    assert_eq!((logged.len(), logged[0].1), (1, Some(550)));

    let r = row(&db, busy).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 1));
    assert!(r.due_in > 50.0, "retried in {} s", r.due_in);
    assert!(r.params.is_some());
    assert!(r.last_error.is_some_and(|e| e.contains("451")));
    assert_eq!(attempts(&db, busy).await?[0].1, Some(451));

    assert_eq!(row(&db, fine).await?.status, "sent");
    // Only the accepted one reached a mailbox.
    let delivered: Vec<_> = sink
        .messages()?
        .into_iter()
        .flat_map(|m| m.rcpt_to)
        .collect();
    assert_eq!(delivered, vec!["fine@example.com"]);
    // The refused message is not tried again, even when it would be due.
    sqlx::query("UPDATE mail_messages SET next_attempt_at = now() - interval '1 hour'")
        .execute(&db.pool)
        .await?;
    let round = mailer.run_once().await?;
    assert_eq!(round.claimed, 1, "only the 451 is pending: {round:?}");
    assert_eq!(attempts(&db, refused).await?.len(), 1);
    assert_eq!(row(&db, busy).await?.attempts, 2);
    db.drop_database().await
}

#[tokio::test]
async fn a_message_failing_every_attempt_fails_after_max_attempts() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let mut settings = settings(&sink.url())?;
    settings.max_attempts = 4;
    let id = queue(&db, None, "busy@example.com", &reset("cpr_x")).await?;
    let mailer = Mailer::new(db.pool.clone(), &settings)?;
    let r = until_finished(&mailer, &db, id).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("failed", 4));
    assert_eq!(r.params, None);
    assert!(r.last_error.is_some_and(|e| e.contains("451")));
    let codes: Vec<_> = attempts(&db, id)
        .await?
        .into_iter()
        .map(|a| (a.0, a.1))
        .collect();
    assert_eq!(
        codes,
        vec![
            (1, Some(451)),
            (2, Some(451)),
            (3, Some(451)),
            (4, Some(451))
        ]
    );
    // 50 ms, 100 ms, 200 ms apart (±10 %), at least.
    let gaps = gaps(&db, id).await?;
    for (gap, nominal) in gaps.iter().zip([0.05, 0.1, 0.2]) {
        assert!(*gap >= nominal * 0.9, "{gaps:?}");
    }
    // Finished: no more rounds take it.
    assert_eq!(mailer.run_once().await?.claimed, 0);
    assert!(sink.messages()?.is_empty());
    db.drop_database().await
}

#[tokio::test]
async fn a_message_that_cannot_be_composed_fails_at_once() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let bad_address = queue(&db, None, "not-an-address", &reset("cpr_a")).await?;
    // Params of an older release that no longer parse.
    let bad_params = queue(&db, None, "ada@example.com", &reset("cpr_p")).await?;
    sqlx::query("UPDATE mail_messages SET params = '{\"tok\": 1}' WHERE id = $1")
        .bind(bad_params)
        .execute(&db.pool)
        .await?;
    let mailer = Mailer::new(db.pool.clone(), &settings(&sink.url())?)?;
    let round = mailer.run_once().await?;
    assert_eq!((round.claimed, round.failed), (2, 2), "{round:?}");
    for (id, wanted) in [
        (bad_address, "not an address"),
        (bad_params, "password_reset"),
    ] {
        let r = row(&db, id).await?;
        assert_eq!((r.status.as_str(), r.attempts), ("failed", 1));
        assert_eq!(r.params, None);
        let error = r.last_error.unwrap_or_default();
        assert!(error.contains(wanted), "{error}");
        assert_eq!(attempts(&db, id).await?[0].1, None, "no SMTP was spoken");
    }
    assert!(sink.messages()?.is_empty());
    db.drop_database().await
}

#[tokio::test]
async fn with_no_smtp_url_messages_wait_in_the_outbox() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let id = queue(&db, None, "ada@example.com", &Mail::AccountExists {}).await?;
    let mailer = Mailer::new(db.pool.clone(), &settings("")?)?;
    assert_eq!(mailer.run_once().await?, Default::default());
    let r = row(&db, id).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("pending", 0));
    assert!(r.params.is_some());
    // The duty ends with the scheduler, having sent nothing.
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(mailer.run(shutdown.clone()));
    shutdown.cancel();
    tokio::time::timeout(WITHIN, running).await??;
    assert_eq!(row(&db, id).await?.attempts, 0);
    db.drop_database().await
}

#[tokio::test]
async fn a_sender_whose_claim_expired_changes_nothing() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let id = queue(&db, None, "ada@example.com", &reset("cpr_s")).await?;
    // A replica claims it, then stalls past its (here: no) lease.
    let stale = store::claim_due(&db.pool, 10, Duration::ZERO).await?;
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].attempt, 1);
    // Another takes it over and sends it.
    let mailer = Mailer::new(db.pool.clone(), &settings(&sink.url())?)?;
    assert_eq!(mailer.run_once().await?.sent, 1);
    // The first one's late outcome, and its give-back, are refused.
    let late = store::Attempt {
        id,
        attempt: 1,
        started_at: chrono::Utc::now(),
        latency: Duration::from_millis(5),
        smtp_code: Some(451),
    };
    assert!(!store::record_failure(&db.pool, &late, "late", Some(chrono::Utc::now())).await?);
    assert!(!store::record_sent(&db.pool, &late).await?);
    assert!(!store::release(&db.pool, id, 1).await?);
    let r = row(&db, id).await?;
    assert_eq!((r.status.as_str(), r.attempts), ("sent", 2));
    assert_eq!(r.last_error, None);
    assert_eq!(attempts(&db, id).await?, vec![(2, Some(250), None)]);
    db.drop_database().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_message_once() -> anyhow::Result<()> {
    const N: usize = 40;
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let mut settings = settings(&sink.url())?;
    // Small batches, so both replicas claim often and race for rows.
    settings.batch = 3;
    settings.concurrency = 2;
    let shutdown = CancellationToken::new();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        // Each replica has its own pool, as two processes would.
        let pool = sqlx::PgPool::connect(&db.url).await?;
        let mailer = Mailer::new(pool, &settings)?;
        replicas.push(tokio::spawn(mailer.run(shutdown.clone())));
    }
    for i in 0..N {
        queue(
            &db,
            None,
            &format!("user{i}@example.com"),
            &reset(&format!("cpr_{i}")),
        )
        .await?;
    }
    eventually(WITHIN, || async {
        let unsent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM mail_messages WHERE status <> 'sent'")
                .fetch_one(&db.pool)
                .await?;
        Ok((unsent == 0).then_some(()))
    })
    .await?;
    // Both stop (each finishes its round first): every send has ended.
    shutdown.cancel();
    for replica in replicas {
        replica.await?;
    }
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for message in sink.messages()? {
        for to in message.rcpt_to {
            *per_recipient.entry(to).or_default() += 1;
        }
    }
    assert_eq!(per_recipient.len(), N);
    assert!(
        per_recipient.values().all(|&n| n == 1),
        "sent twice: {per_recipient:?}"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_attempts")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(attempts, N as i64, "one attempt per message");
    db.drop_database().await
}

#[tokio::test]
async fn finished_mail_is_pruned_after_its_retention_and_pending_mail_never() -> anyhow::Result<()>
{
    let db = TestDatabase::create().await?;
    let sink = SmtpSink::start().await?;
    let old_sent = queue(&db, None, "a@example.com", &reset("cpr_1")).await?;
    let old_failed = queue(&db, None, "refuse@example.com", &reset("cpr_2")).await?;
    let new_sent = queue(&db, None, "b@example.com", &reset("cpr_3")).await?;
    let mailer = Mailer::new(db.pool.clone(), &settings(&sink.url())?)?;
    mailer.run_once().await?;
    let old_pending = queue(&db, None, "c@example.com", &reset("cpr_4")).await?;
    sqlx::query(
        "UPDATE mail_messages SET finished_at = now() - interval '31 days', created_at = now() - interval '31 days'
         WHERE id = ANY($1)",
    )
    .bind(vec![old_sent, old_failed])
    .execute(&db.pool)
    .await?;
    sqlx::query("UPDATE mail_messages SET created_at = now() - interval '90 days', next_attempt_at = now() + interval '1 day' WHERE id = $1")
        .bind(old_pending)
        .execute(&db.pool)
        .await?;
    let retention = Retention {
        pool: db.pool.clone(),
        interval: Duration::from_secs(3600),
        results: Duration::from_secs(7 * 86_400),
        sent_outbox: Duration::from_secs(86_400),
        jobs: Duration::from_secs(90 * 86_400),
        lockout_window: Duration::from_secs(300),
        webhook_attempts: Duration::from_secs(30 * 86_400),
        mail_messages: Duration::from_secs(Settings::load_from([])?.mail.retention_secs),
    };
    assert_eq!(retention.run_once().await.mail_messages, 2);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM mail_messages ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut wanted = vec![new_sent, old_pending];
    wanted.sort();
    assert_eq!(left, wanted);
    // Their attempts went with them.
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_attempts WHERE message_id = ANY($1)")
            .bind(vec![old_sent, old_failed])
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(orphans, 0);
    assert_eq!(retention.run_once().await.mail_messages, 0);
    db.drop_database().await
}
