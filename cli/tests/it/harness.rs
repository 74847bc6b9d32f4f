//! A fleet per test and a way to run the CLI against it: every run gets a
//! cleared environment, the test's own config file, and the API's URL.

use catalytic_e2e::{Binary, Env, Process, wait_ready};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const READY: Duration = Duration::from_secs(30);

/// The password `register_and_login` gives every account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Which processes a test needs besides the api.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fleet {
    /// The api alone: jobs stay queued (nothing relays or runs them).
    ApiOnly,
    /// api, worker and scheduler: jobs run, webhooks are delivered.
    Full,
}

pub struct Cli {
    pub env: Env,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
    processes: Vec<Process>,
}

/// One finished run of the CLI.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (after `--output json`), or a failure showing the run.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.stdout)
            .map_err(|e| anyhow::anyhow!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Fails unless the run exited 0.
    pub fn ok(self) -> anyhow::Result<Self> {
        anyhow::ensure!(self.code == Some(0), "the command failed: {self:?}");
        Ok(self)
    }
}

impl Cli {
    pub async fn start(fleet: Fleet) -> anyhow::Result<Self> {
        let env = Env::new().await?;
        let processes = spawn_fleet(&env, fleet).await?;
        let dir = tempfile::tempdir()?;
        Ok(Self {
            env,
            config: dir.path().join("config.toml"),
            _dir: dir,
            processes,
        })
    }

    /// `catalytic --config <this test's> ARGS`, the api in `CATALYTIC_SERVER`
    /// (so a test can override it with `--server`), and `envs`.
    pub fn run_with(
        &self,
        args: &[&str],
        envs: &[(&str, &str)],
        stdin: &str,
    ) -> anyhow::Result<Run> {
        use std::io::Write;
        let mut child = self.command(args, envs).stdin(Stdio::piped()).spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output()?;
        Ok(Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// The CLI with a cleared environment, this test's config file, the api
    /// in `CATALYTIC_SERVER`, `args` and `envs`; stdout and stderr piped.
    fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_catalytic"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .arg("--config")
            .arg(&self.config)
            .env("CATALYTIC_SERVER", self.env.api_url())
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs the words of `line` with `--output json` and `envs`; fails
    /// unless it exits 0; stdout as JSON.
    pub fn json(&self, line: &str, envs: &[(&str, &str)]) -> anyhow::Result<Value> {
        let mut args: Vec<&str> = line.split_whitespace().collect();
        args.extend(["--output", "json"]);
        self.run_with(&args, envs, "")?.ok()?.json()
    }

    pub fn run(&self, args: &[&str]) -> anyhow::Result<Run> {
        self.run_with(args, &[], "")
    }

    /// Registers a new owner, verifies the email with the mailed link (an
    /// unverified account may not add webhooks or invite) and logs in: the
    /// session is in the config file.
    pub async fn register_and_login(&self, email: &str) -> anyhow::Result<()> {
        self.run_with(
            &["register", "--email", email],
            &[("CATALYTIC_PASSWORD", PASSWORD)],
            "",
        )?
        .ok()?;
        let link = self.mailed_link("verify_email", email).await?;
        self.run(&["verify-email", &link])?.ok()?;
        self.login(email, PASSWORD)?.ok()?;
        Ok(())
    }

    /// `login` with the password on stdin, as a script would pass it.
    pub fn login(&self, email: &str, password: &str) -> anyhow::Result<Run> {
        self.run_with(
            &["login", "--email", email, "--password-stdin"],
            &[],
            &format!("{password}\n"),
        )
    }

    /// The token of the newest `template` mail (`verify_email`,
    /// `password_reset`, `invitation`) to `email`, read from the outbox: no
    /// SMTP server runs in these tests, so the message waits there with
    /// its params (the sender erases them once it is sent).
    pub async fn mailed_token(&self, template: &str, email: &str) -> anyhow::Result<String> {
        let token: Option<Option<String>> = sqlx::query_scalar(
            "SELECT params ->> 'token' FROM mail_messages
              WHERE template = $1 AND to_address = $2
              ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(template)
        .bind(email)
        .fetch_optional(&self.env.db.pool)
        .await?;
        token
            .flatten()
            .ok_or_else(|| anyhow::anyhow!("no {template} mail with a token to {email}"))
    }

    /// The link of that mail, as the templates write it (what a person pastes).
    pub async fn mailed_link(&self, template: &str, email: &str) -> anyhow::Result<String> {
        let token = self.mailed_token(template, email).await?;
        let page = match template {
            "verify_email" => "verify-email?token",
            "password_reset" => "reset-password?token",
            "invitation" => "join?invitation",
            other => anyhow::bail!("no link in a {other} mail"),
        };
        Ok(format!("{}/dashboard/{page}={token}", self.env.api_url()))
    }

    /// Kills the whole fleet (the api included) and waits for it to exit.
    pub fn stop_fleet(&mut self) {
        self.processes.clear();
    }

    /// Starts `fleet` again, the api on the same port.
    pub async fn restart_fleet(&mut self, fleet: Fleet) -> anyhow::Result<()> {
        self.processes = spawn_fleet(&self.env, fleet).await?;
        Ok(())
    }

    /// Starts the CLI in the background; its stderr is collected as it
    /// comes, for a test to wait on.
    pub fn spawn(&self, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Background> {
        use std::io::BufRead;
        let mut child = self.command(args, envs).stdin(Stdio::null()).spawn()?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = child.stderr.take().map(|pipe| {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            })
        });
        Ok(Background {
            child,
            stderr,
            reader,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        drop(self.processes);
        self.env.teardown().await
    }
}

/// The api, and with `Fleet::Full` a worker and the scheduler, ready.
async fn spawn_fleet(env: &Env, fleet: Fleet) -> anyhow::Result<Vec<Process>> {
    // Rate limits live in Redis: a prefix of this test's own keeps other
    // tests' logins out of this test's per-IP budget.
    let redis_prefix = ("CATALYTIC_REDIS__PREFIX", env.prefix.as_str());
    let mut processes = vec![env.spawn(Binary::Api, &[redis_prefix])?];
    if fleet == Fleet::Full {
        processes.push(env.spawn(Binary::Worker, &[redis_prefix])?);
        processes.push(env.spawn(Binary::Scheduler, &[redis_prefix])?);
    }
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    Ok(processes)
}

/// A CLI run in the background.
pub struct Background {
    child: std::process::Child,
    stderr: Arc<Mutex<String>>,
    /// The thread reading stderr: it ends when the pipe closes at exit.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Waits for the exit (the command's own timeout bounds it).
    pub fn finish(self) -> anyhow::Result<Run> {
        let stderr = Arc::clone(&self.stderr);
        let output = self.child.wait_with_output()?;
        // Every line read before it is looked at (a run once lost its last
        // line to this race).
        if let Some(reader) = self.reader {
            let _ = reader.join();
        }
        Ok(Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: stderr.lock().map(|t| t.clone()).unwrap_or_default(),
        })
    }
}
