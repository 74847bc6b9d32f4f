//! Test isolation (feature `testkit`): a fresh, migrated database and a
//! fresh queue prefix per test, so tests run in parallel against the real
//! servers and never see each other's jobs.
//!
//! The servers are found through `TEST_POSTGRES_URL` (an admin connection,
//! default `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`), `TEST_AMQP_URL`
//! and `TEST_REDIS_URL`, and `TEST_TLS_CA_FILE` names the CA of servers
//! that speak TLS (scripts/tls-servers.sh prints all four). (Not
//! `CATALYTIC_*`: those configure the processes.)
//!
//! [`SmtpSink`] is an SMTP server of one test (aiosmtpd, from the venv
//! `scripts/smtp-sink.sh` installs; `TEST_SMTP_PYTHON` names another
//! Python that has it).

use crate::db;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

pub fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned()
    })
}

pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The CA (PEM file) that signed the test servers' certificates, when they
/// speak TLS.
pub fn tls_ca_file() -> Option<String> {
    std::env::var("TEST_TLS_CA_FILE")
        .ok()
        .filter(|f| !f.is_empty())
}

/// A unique name fragment: `t` + 32 hex characters.
pub fn unique_name() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// A database of one test: created and migrated by `create`, dropped by
/// `drop_database`, or, when a test fails (panics) or returns early before
/// that call, by `Drop`: a failing test leaks no database.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    /// Set once `drop_database` has dropped it, so `Drop` has nothing left to do.
    dropped: bool,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        let db = Self::create_empty().await?;
        db::migrate(&db.pool).await?;
        Ok(db)
    }

    /// A database with no schema at all (for the schema gate's tests).
    pub async fn create_empty() -> anyhow::Result<Self> {
        let admin = admin_url();
        let name = format!("catalytic_{}", unique_name());
        let mut conn = PgConnection::connect(&admin).await?;
        // The name is ours (a UUID), not input: safe to splice.
        conn.execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await?;
        conn.close().await?;
        let url = with_database(&admin, &name);
        let pool = PgPool::connect(&url).await?;
        Ok(Self {
            name,
            url,
            pool,
            dropped: false,
        })
    }

    /// Drops the database, disconnecting whoever is still connected. Return
    /// (drop) any connection taken from `pool` first: closing waits for them.
    pub async fn drop_database(mut self) -> anyhow::Result<()> {
        // Bounded: a connection still held by the test would block close forever.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.pool.close()).await;
        drop_named(&self.name).await?;
        self.dropped = true;
        Ok(())
    }
}

impl Drop for TestDatabase {
    /// The guard: a test that panicked (or returned early) still drops its
    /// database. `Drop` cannot await, and the test's runtime may be the one
    /// unwinding, so the DROP runs on a thread of its own with a runtime of
    /// its own; `WITH (FORCE)` ends the pool's connections.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_named(&name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("testkit: could not drop a test database: {e:#}"),
            Err(_) => eprintln!("testkit: the thread dropping a test database panicked"),
        }
    }
}

/// `n` queued jobs spread over `tenants` in turn, each with its unsent
/// outbox row (attempt 1, class `standard`), in one statement: a backlog
/// for tests of the relay's claims and of plans on grown tables. Their ids,
/// in insertion order.
pub async fn queue_jobs(
    pool: &PgPool,
    tenants: &[crate::ids::TenantId],
    n: i64,
) -> anyhow::Result<Vec<crate::ids::JobId>> {
    let tenants: Vec<uuid::Uuid> = tenants.iter().map(|t| t.as_uuid()).collect();
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "WITH j AS (
             INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts)
             SELECT gen_random_uuid(), ($1::uuid[])[1 + g % cardinality($1::uuid[])], 'shortest_path',
                    '{\"lattice\": {\"sizes\": [2]}, \"operation\": \"shortest_path\",
                      \"params\": {\"start\": [0], \"end\": [1]}}',
                    'standard', 3
             FROM generate_series(1, $2) g
             RETURNING id, tenant_id),
         o AS (
             INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
             SELECT gen_random_uuid(), id, tenant_id, 1, 'standard' FROM j)
         SELECT id FROM j",
    )
    .bind(&tenants)
    .bind(n)
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().map(crate::ids::JobId::from_uuid).collect())
}

/// `DROP DATABASE … WITH (FORCE)` over a fresh admin connection.
async fn drop_named(name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(&admin_url()).await?;
    conn.execute(AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .await?;
    conn.close().await?;
    Ok(())
}

/// The aiosmtpd handler of [`SmtpSink`], written next to its Maildir.
const SINK_HANDLER: &str = r#""""Catalytic's SMTP sink for tests (shared/src/testkit.rs, SmtpSink).

Every accepted message is filed in a Maildir, under an X-RcptTo header
naming its envelope recipients. A recipient whose local part starts with
"refuse" is refused with 550 (permanent), one starting with "busy" with 451
(transient), so tests can see both kinds of refusal.
"""
import mailbox


class Sink:
    def __init__(self, maildir):
        self.maildir = mailbox.Maildir(maildir, create=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink takes one argument: the Maildir")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("refuse"):
            return "550 5.1.1 no such user"
        if local.startswith("busy"):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        rcpt = ("X-RcptTo: " + ", ".join(envelope.rcpt_tos) + "\r\n").encode("utf-8")
        # Maildir.add writes to tmp/ and renames into new/: a reader never
        # sees half a message.
        self.maildir.add(rcpt + content)
        return "250 Message accepted for delivery"
"#;

/// An SMTP server of one test: aiosmtpd on a free port of 127.0.0.1,
/// filing what it accepts in a Maildir of its own (a temporary folder,
/// removed on drop with the process). Refuses recipients whose local part
/// starts with `refuse` (550) or `busy` (451).
pub struct SmtpSink {
    port: u16,
    dir: std::path::PathBuf,
    child: tokio::process::Child,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct SunkMessage {
    /// As received (CRLF line ends), behind the sink's `X-RcptTo` line.
    pub raw: String,
    /// The envelope's recipients.
    pub rcpt_to: Vec<String>,
    /// Every header, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// The decoded text/plain and text/html parts (quoted-printable and
    /// base64 undone), when there are.
    pub text: Option<String>,
    pub html: Option<String>,
}

impl SunkMessage {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_of(&self.headers, name)
    }

    pub fn subject(&self) -> Option<&str> {
        self.header("subject")
    }
}

impl SmtpSink {
    /// Starts a sink and waits (20 s at most) until its port answers.
    pub async fn start() -> anyhow::Result<Self> {
        use anyhow::Context;
        let python = sink_python()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("catalytic-smtp-{}", unique_name()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("catalytic_smtp_sink.py"), SINK_HANDLER)?;
        let log = std::fs::File::create(dir.join("aiosmtpd.log"))?;
        let child = tokio::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "catalytic_smtp_sink.Sink"])
            .arg(dir.join("Maildir"))
            .env("PYTHONPATH", &dir)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} -m aiosmtpd", python.display()))?;
        let mut sink = Self { port, dir, child };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(status) = sink.child.try_wait()? {
                anyhow::bail!("the SMTP sink exited ({status}): {}", sink.log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(sink);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("the SMTP sink did not listen within 20 s: {}", sink.log());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP, no credentials).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What aiosmtpd wrote, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("aiosmtpd.log")).unwrap_or_default()
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> anyhow::Result<Vec<SunkMessage>> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.dir.join("Maildir").join(sub);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            for entry in entries {
                files.push(entry?.path());
            }
        }
        // Maildir names start with the delivery time in seconds.
        files.sort();
        files
            .iter()
            .map(|f| Ok(parse_message(&String::from_utf8_lossy(&std::fs::read(f)?))))
            .collect()
    }

    /// The first message to `to` (envelope recipient, any case), waiting
    /// up to `within` for it.
    pub async fn wait_for(
        &self,
        to: &str,
        within: std::time::Duration,
    ) -> anyhow::Result<SunkMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let found = self
                .messages()?
                .into_iter()
                .find(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)));
            if let Some(message) = found {
                return Ok(message);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no message to {to} within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Python with aiosmtpd: `TEST_SMTP_PYTHON`, or `venv-smtp` in the
/// cargo target directory (`CARGO_TARGET_DIR`, or the one holding this
/// test binary), where scripts/smtp-sink.sh installs it.
fn sink_python() -> anyhow::Result<std::path::PathBuf> {
    if let Some(python) = std::env::var_os("TEST_SMTP_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(python.into());
    }
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .into_iter()
        .collect();
    if let Ok(exe) = std::env::current_exe() {
        dirs.extend(exe.ancestors().skip(1).map(std::path::Path::to_path_buf));
    }
    dirs.into_iter()
        .map(|dir| dir.join("venv-smtp").join("bin").join("python"))
        .find(|python| python.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no Python with aiosmtpd for the SMTP sink: run scripts/smtp-sink.sh (it installs one into <target>/venv-smtp)"
            )
        })
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A message's headers and its text and HTML parts: enough MIME for the
/// tests (multipart nesting, quoted-printable, base64), no more.
fn parse_message(raw: &str) -> SunkMessage {
    let unix = raw.replace("\r\n", "\n");
    let (head, body) = split_head(&unix);
    let headers = parse_headers(head);
    let rcpt_to = header_of(&headers, "x-rcptto")
        .map(|v| {
            v.split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (mut text, mut html) = (None, None);
    collect_parts(&headers, body, &mut text, &mut html);
    SunkMessage {
        raw: raw.to_owned(),
        rcpt_to,
        headers,
        text,
        html,
    }
}

fn split_head(s: &str) -> (&str, &str) {
    match s.find("\n\n") {
        Some(i) => (&s[..i], &s[i + 2..]),
        None => (s, ""),
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // A folded line continues the previous header.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn collect_parts(
    headers: &[(String, String)],
    body: &str,
    text: &mut Option<String>,
    html: &mut Option<String>,
) {
    let content_type = header_of(headers, "content-type").unwrap_or("text/plain");
    let kind = content_type.to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        let Some(boundary) = boundary(content_type) else {
            return;
        };
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix('\n').unwrap_or(part);
            // The line break before a delimiter belongs to the delimiter.
            let part = part.strip_suffix('\n').unwrap_or(part);
            let (head, body) = split_head(part);
            collect_parts(&parse_headers(head), body, text, html);
        }
        return;
    }
    let encoding = header_of(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            use base64::Engine;
            let compact: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_else(|_| body.to_owned())
        }
        _ => body.to_owned(),
    };
    if kind.starts_with("text/html") {
        html.get_or_insert(decoded);
    } else if kind.starts_with("text/plain") {
        text.get_or_insert(decoded);
    }
}

fn boundary(content_type: &str) -> Option<String> {
    let at = content_type.to_ascii_lowercase().find("boundary=")?;
    let value = &content_type[at + "boundary=".len()..];
    let value = value.split(';').next()?.trim();
    Some(value.trim_matches('"').to_owned())
}

fn decode_quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                // A soft line break.
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_part = match base.rsplit_once('/') {
        Some((h, _)) if h.contains("://") && h.len() > h.find("://").unwrap_or(0) + 3 => h,
        _ => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_message, with_database};

    #[test]
    fn a_multipart_message_is_decoded() {
        let raw = "X-RcptTo: ada@example.com\r\n\
            Subject: a long subject\r\n folded\r\n\
            Content-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\
            \r\n\
            --b1\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\
            \r\n\
            https://example.com/verify?token=3Dabc=\r\ndef caf=C3=A9\r\n\
            --b1\r\n\
            Content-Type: text/html; charset=utf-8\r\n\
            Content-Transfer-Encoding: base64\r\n\
            \r\n\
            PHA+aGk8L3A+\r\n\
            --b1--\r\n";
        let m = parse_message(raw);
        assert_eq!(m.rcpt_to, vec!["ada@example.com"]);
        assert_eq!(m.subject(), Some("a long subject folded"));
        assert_eq!(
            m.text.as_deref(),
            Some("https://example.com/verify?token=abcdef café")
        );
        assert_eq!(m.html.as_deref(), Some("<p>hi</p>"));
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
