//! The command line, as clap reads it. Values clap can check (ids,
//! numbers, enumerations) are checked here, so a typo is a usage error
//! (exit 2) before any request is made; the rest is the API's to judge.

use crate::output::OutputFormat;
use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "catalytic",
    version,
    about = "The command line of the Catalytic lattice job queue",
    after_help = "Server and credential: flags, then CATALYTIC_SERVER / CATALYTIC_API_KEY / CATALYTIC_OUTPUT, then the config file (see `catalytic config show`)."
)]
pub struct Cli {
    /// The config file (default: catalytic/config.toml in your config directory; env CATALYTIC_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The API's base URL, e.g. http://127.0.0.1:8080 (env CATALYTIC_SERVER).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// An API key (clc_…) to act with instead of the stored session (env CATALYTIC_API_KEY).
    #[arg(long, global = true, value_name = "KEY")]
    pub api_key: Option<String>,
    /// json: the API's answer as one JSON document; table: aligned text (env CATALYTIC_OUTPUT).
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account: a new tenant (plan free) owned by you, or with
    /// --invitation a place in the tenant that invited you.
    Register(RegisterArgs),
    /// Verify your email with the link mailed to it, or with --resend have
    /// a new link mailed.
    VerifyEmail(VerifyEmailArgs),
    /// Change your password, or reset a forgotten one through a mailed link.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Log in with email and password; the session is stored in the config file.
    Login(PasswordArgs),
    /// End the stored session (its tokens stop working) and forget it.
    Logout,
    /// Who the current credential acts as: user, tenant, role, plan.
    Whoami,
    /// The settings in force and where each came from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// API keys for programs (needs a logged-in admin).
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Stored lattice definitions that jobs can name with --lattice-id.
    #[command(subcommand)]
    Lattices(LatticesCommand),
    /// Submit, list, watch, read, cancel jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Cron schedules: a job submitted at each tick of a cron expression.
    #[command(subcommand)]
    Schedules(SchedulesCommand),
    /// Stored limits per concurrency key: each overrides the
    /// --max-concurrency of every job of its key, waiting ones included.
    #[command(subcommand, name = "concurrency-keys")]
    ConcurrencyKeys(ConcurrencyKeysCommand),
    /// Webhook endpoints, test messages and delivery attempts (needs a logged-in admin).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Your usage per hour, day or month.
    Usage(UsageArgs),
    /// Your monthly invoices.
    #[command(subcommand)]
    Invoices(InvoicesCommand),
    /// Who did what to the tenant's account (sign-ins, passwords, roles,
    /// keys, webhooks, plan), newest first (needs a logged-in admin).
    AuditLog(AuditLogArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secret").args(["password", "password_stdin"])))]
pub struct PasswordArgs {
    #[arg(long)]
    pub email: String,
    /// The password (visible to other local users in the process list: prefer --password-stdin or CATALYTIC_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub credentials: PasswordArgs,
    /// Your tenant's name (default: your email).
    #[arg(long, conflicts_with = "invitation")]
    pub tenant_name: Option<String>,
    /// Join the tenant that invited you instead: the invitation's token
    /// (cli_…) or the whole link mailed with it. The email must be the
    /// invited one.
    #[arg(long, value_name = "TOKEN|LINK")]
    pub invitation: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("how").required(true).args(["token", "resend"])))]
pub struct VerifyEmailArgs {
    /// The token (cev_…) or the whole link from the mail
    /// (…/dashboard/verify-email?token=cev_…).
    #[arg(value_name = "TOKEN|LINK")]
    pub token: Option<String>,
    /// Mail a new link to the logged-in user instead (earlier links stop working).
    #[arg(long)]
    pub resend: bool,
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Change the logged-in user's password, giving the current one; every
    /// other session of yours ends, this one goes on.
    Change(PasswordChangeArgs),
    /// A forgotten password: --email mails a reset link to the address;
    /// --token with that link sets a new password and ends every session.
    Reset(PasswordResetArgs),
}

#[derive(Debug, Args)]
pub struct PasswordChangeArgs {
    /// The current password (visible to other local users in the process
    /// list: prefer --password-stdin or CATALYTIC_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
    /// The new password (visible in the process list: prefer
    /// --password-stdin or CATALYTIC_NEW_PASSWORD).
    #[arg(long)]
    pub new_password: Option<String>,
    /// Read the current password from the first line of standard input and
    /// the new one from the second.
    #[arg(long, conflicts_with_all = ["password", "new_password"])]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("step").required(true).args(["email", "token"])))]
pub struct PasswordResetArgs {
    /// Mail a reset link to this address (the answer is the same whether
    /// or not it has an account).
    #[arg(long)]
    pub email: Option<String>,
    /// The token (cpr_…) or the whole link from the mail
    /// (…/dashboard/reset-password?token=cpr_…): sets the new password.
    #[arg(long, value_name = "TOKEN|LINK")]
    pub token: Option<String>,
    /// With --token: the new password (visible in the process list: prefer
    /// --password-stdin or CATALYTIC_NEW_PASSWORD).
    // `requires` alone lets --email through: clap excuses a missing
    // required arg when one it conflicts with (--email, by the group) is given.
    #[arg(long, requires = "token", conflicts_with = "email")]
    pub new_password: Option<String>,
    /// With --token: read the new password from the first line of standard input.
    #[arg(long, requires = "token", conflicts_with_all = ["email", "new_password"])]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only this action (auth.sign_in, user.role_changed, api_key.created,
    /// …) or family of actions (a prefix ending in a dot: user.).
    #[arg(long)]
    pub action: Option<String>,
    /// Only what this user did (their id, as `catalytic whoami -o json` shows it).
    #[arg(long, value_name = "USER_ID")]
    pub actor: Option<Uuid>,
    /// Only records at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The config file's path, the server, the credential and the output format in force.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Make a key; it is shown this once.
    Create {
        #[arg(long)]
        name: String,
        /// write acts as a member (submits jobs), read as a viewer.
        #[arg(long, default_value = "write", value_parser = ["write", "read"])]
        scope: String,
        /// Days until it stops working (1–3650); default: never.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// A page of keys, newest first: prefix, scope, dates, revoked or not
    /// (never the secret).
    List(PageArgs),
    /// Revoke a key: it stops working at once.
    Revoke { id: Uuid },
}

/// A lattice given by flags (`--size 10,10 --wrap`).
#[derive(Debug, Clone, Args)]
pub struct LatticeFlags {
    /// Points per axis, one number per axis (10,10), or one number for every axis with --dimensions.
    #[arg(long, value_delimiter = ',', value_name = "N[,N…]", group = "flags")]
    pub size: Vec<u64>,
    /// Number of axes (1–10), when --size gives one number.
    #[arg(long, group = "flags")]
    pub dimensions: Option<u32>,
    /// Every axis is a ring (axes of size ≥ 3).
    #[arg(long, group = "flags")]
    pub wrap: bool,
    /// Block this fraction of vertices by the seeded rule (with --blocked-seed).
    #[arg(long, group = "flags", requires = "blocked_seed")]
    pub blocked_fraction: Option<f64>,
    /// The seed of the blocked rule (with --blocked-fraction).
    #[arg(long, group = "flags", requires = "blocked_fraction")]
    pub blocked_seed: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum LatticesCommand {
    /// Store a lattice, from flags or a JSON file.
    #[command(group(ArgGroup::new("flags").multiple(true)))]
    Create {
        /// 1–200 characters (overrides the file's `name`).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        lattice: LatticeFlags,
        /// The body as JSON (`{"name", "size", …}`); `-` reads standard input.
        #[arg(long, conflicts_with = "flags")]
        file: Option<PathBuf>,
    },
    List(PageArgs),
    Get {
        id: Uuid,
    },
    /// New jobs naming it are refused; past jobs keep their copy.
    Delete {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Create a schedule: a cron expression in a time zone and the job each
    /// tick submits (a `jobs submit` body in a JSON file).
    Create {
        /// 1–100 characters, unique among your schedules.
        #[arg(long)]
        name: String,
        /// Five fields (`30 2 * * *`) or a macro (`@daily`).
        #[arg(long)]
        cron: String,
        /// IANA time zone (default UTC), e.g. Europe/Paris.
        #[arg(long)]
        timezone: Option<String>,
        /// The job each tick submits, as `POST /v1/jobs` takes it; `-` reads standard input.
        #[arg(long)]
        job_file: PathBuf,
        /// While the previous job is unfinished: skip (default), queue, cancel_previous.
        #[arg(long)]
        overlap: Option<String>,
        /// After a downtime: none, one (default), all.
        #[arg(long)]
        catch_up: Option<String>,
    },
    List,
    Get {
        id: Uuid,
    },
    /// No tick fires until it is resumed.
    Pause {
        id: Uuid,
    },
    /// The next tick after now fires; the ticks of the pause do not.
    Resume {
        id: Uuid,
    },
    /// Submit its job now (quotas apply), whatever the ticks.
    Trigger {
        id: Uuid,
    },
    /// Its history: each tick handled and each trigger, newest first.
    Runs {
        id: Uuid,
        /// At most this many (1–100, default 20).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Delete it and its history; its jobs stay.
    Delete {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConcurrencyKeysCommand {
    /// Your stored limits in key order, each with its waiting and active
    /// (queued or running) jobs.
    List {
        /// At most this many (1–100).
        #[arg(long)]
        limit: Option<u32>,
        /// The `next_cursor` of the previous page (a key).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One key's stored limit and its jobs now.
    Get { key: String },
    /// Store a key's limit (or change it): it applies at once to the key's
    /// jobs, waiting ones included. A lowered limit cancels nothing.
    Set {
        key: String,
        /// 1–1000 of the key's jobs queued or running at once.
        #[arg(long, value_name = "N")]
        max: u32,
    },
    /// Delete a key's limit: its jobs' own --max-concurrency applies again.
    Delete { key: String },
}

#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// At most this many (1–100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    pub cursor: Option<Uuid>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Submit a job from flags (--operation, --size, --start …) or a JSON file,
    /// or many from a JSON Lines file (--from-file).
    Submit(Box<SubmitArgs>),
    /// The newest jobs first, optionally filtered.
    List {
        #[command(flatten)]
        filter: JobFilterArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One job; --wait N long-polls up to N seconds (0–60) for it to end.
    Get {
        id: Uuid,
        #[arg(long)]
        wait: Option<u32>,
    },
    /// Follow a job with live state until it ends; exit 3 unless it succeeded.
    Watch(WatchArgs),
    /// A succeeded job's result (a table of its fields, or JSON).
    Result {
        id: Uuid,
        /// Long-poll up to N seconds (0–60) for the job to end first.
        #[arg(long)]
        wait: Option<u32>,
    },
    /// Download a stored part of a succeeded job's result (a full answer
    /// beyond the inline caps, e.g. a distance field as a .npy file).
    Download {
        id: Uuid,
        /// The part's name (its result's `parts`); by default its only one.
        #[arg(long)]
        part: Option<String>,
        /// Where to write it (`-`: standard output).
        #[arg(long, value_name = "FILE")]
        out: String,
    },
    /// Cancel a scheduled, queued or running job.
    Cancel { id: Uuid },
    /// Cancel every unfinished job that matches the filters (`--all`: every
    /// unfinished job); prints how many.
    CancelMany {
        #[command(flatten)]
        filter: JobFilterArgs,
        /// No filter: cancel every unfinished job of the tenant.
        #[arg(long)]
        all: bool,
    },
    /// Delete a finished job with its result (409 while it runs: cancel
    /// it first).
    Delete { id: Uuid },
    /// Delete every finished job that matches the filters (`--all`: every
    /// finished job); prints how many.
    DeleteMany {
        #[command(flatten)]
        filter: JobFilterArgs,
        /// No filter: delete every finished job of the tenant.
        #[arg(long)]
        all: bool,
    },
}

/// Which jobs `jobs list`, `jobs cancel-many` and `jobs delete-many` take;
/// each flag narrows.
#[derive(Debug, Clone, Default, Args)]
pub struct JobFilterArgs {
    /// Only these states, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = ["scheduled", "waiting", "queued", "running", "succeeded", "failed", "cancelled"])]
    pub status: Vec<String>,
    /// Only jobs of this operation.
    #[arg(long)]
    pub operation: Option<String>,
    /// Only jobs created at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub created_after: Option<String>,
    /// Only jobs created before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub created_before: Option<String>,
    /// Only jobs with this concurrency key.
    #[arg(long, value_name = "KEY")]
    pub concurrency_key: Option<String>,
    /// Only jobs this cron schedule submitted.
    #[arg(long, value_name = "ID")]
    pub schedule: Option<Uuid>,
}

impl JobFilterArgs {
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
            && self.operation.is_none()
            && self.created_after.is_none()
            && self.created_before.is_none()
            && self.concurrency_key.is_none()
            && self.schedule.is_none()
    }
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    pub id: Uuid,
    /// Give up (exit 1) after this many seconds; default: wait until it ends.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("flags").multiple(true)))]
pub struct SubmitArgs {
    /// The whole body as JSON (`{"lattice", "operation", "params"}`); `-` reads standard input.
    #[arg(long, conflicts_with = "flags")]
    pub file: Option<PathBuf>,
    /// Many jobs: one JSON job body per line (JSON Lines; `-` reads
    /// standard input), sent as bulk submits of up to 1,000; prints one
    /// line per job: its id, or why it was refused.
    #[arg(long, value_name = "JSONL", conflicts_with_all = ["flags", "file", "watch"])]
    pub from_file: Option<PathBuf>,
    /// shortest_path, distances, neighbors, components, analyze, batch or transform.
    #[arg(long, group = "flags")]
    pub operation: Option<String>,
    #[command(flatten)]
    pub lattice: LatticeFlags,
    /// A stored lattice instead of --size.
    #[arg(long, group = "flags")]
    pub lattice_id: Option<Uuid>,
    /// shortest_path: the start coordinates (0,0).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        group = "flags"
    )]
    pub start: Option<Vec<i64>>,
    /// shortest_path: the end coordinates.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        group = "flags"
    )]
    pub end: Option<Vec<i64>>,
    /// distances: the source coordinates.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        group = "flags"
    )]
    pub source: Option<Vec<i64>>,
    /// neighbors: the centre coordinates.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        group = "flags"
    )]
    pub center: Option<Vec<i64>>,
    /// neighbors: the radius.
    #[arg(long, group = "flags")]
    pub radius: Option<u64>,
    /// Further params as a JSON object (batch pairs, transform …); the flags above win.
    #[arg(long, value_name = "JSON", group = "flags")]
    pub params: Option<String>,
    /// Run no earlier than this many seconds from now (the job is
    /// `scheduled` until then).
    #[arg(long, value_name = "SECONDS", conflicts_with = "run_at")]
    pub delay: Option<f64>,
    /// Run no earlier than this time (RFC 3339, e.g. 2026-12-24T18:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub run_at: Option<String>,
    /// Parent jobs (ids, comma-separated): the job waits until every one
    /// has succeeded (`waiting`).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub depends_on: Option<Vec<Uuid>>,
    /// With --depends-on: when a parent fails or is cancelled, `cancel`
    /// this job (default) or `run` it once every parent has finished.
    #[arg(long, value_name = "POLICY", requires = "depends_on", value_parser = ["cancel", "run"])]
    pub on_parent_failure: Option<String>,
    /// Concurrency key: at most --max-concurrency of your jobs with this
    /// key are queued or running at once; the rest wait in order.
    #[arg(long, value_name = "KEY")]
    pub concurrency_key: Option<String>,
    /// With --concurrency-key: how many at once (1–1000, default 1).
    #[arg(long, value_name = "N", requires = "concurrency_key")]
    pub max_concurrency: Option<u32>,
    /// Keep the full result this many seconds after the job succeeds (60
    /// to the plan's bound); by default the fleet's 7 days.
    #[arg(long, value_name = "SECONDS")]
    pub result_ttl: Option<u64>,
    /// Unique job: for this many seconds a submit of the same unique key
    /// (--unique-key, or by default the same request) is answered this job
    /// instead of storing another (1–604800).
    #[arg(long, value_name = "SECONDS")]
    pub unique_for: Option<u64>,
    /// With --unique-for: the uniqueness key (1–255 characters).
    #[arg(long, value_name = "KEY", requires = "unique_for")]
    pub unique_key: Option<String>,
    /// Makes a retried submit safe: the same key and body give the same job.
    /// With --from-file, batch n (from 1) is sent with the key `KEY-n`.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Then watch it until it ends, as `jobs watch`.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: give up after this many seconds.
    #[arg(long, value_name = "SECONDS", requires = "watch")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Add an endpoint; its signing secret is shown this once.
    Create {
        #[arg(long)]
        url: String,
        /// job.succeeded, job.failed, job.cancelled, endpoint.disabled (repeat; default all).
        #[arg(long = "event-type", value_name = "TYPE")]
        event_types: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// At most this many sends per second (1–10000).
        #[arg(long)]
        rate_limit: Option<i32>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// The endpoints, newest first.
    List(PageArgs),
    /// Send a webhook.test message to one endpoint; prints the message id.
    Test { endpoint_id: Uuid },
    /// The webhook messages (one per event), newest first.
    Messages(PageArgs),
    /// Every delivery attempt of one message: time, status, latency, error.
    Attempts { message_id: Uuid },
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// RFC 3339 start (default: 30 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 end (default: now).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_parser = ["hour", "day", "month"])]
    pub granularity: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InvoicesCommand {
    List(PageArgs),
    /// One invoice with its lines.
    Get {
        id: Uuid,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_file_and_body_flags_conflict_but_watch_does_not() {
        let both = Cli::try_parse_from([
            "catalytic",
            "jobs",
            "submit",
            "--file",
            "j.json",
            "--size",
            "3,3",
        ]);
        assert!(both.is_err());
        let file_and_watch =
            Cli::try_parse_from(["catalytic", "jobs", "submit", "--file", "j.json", "--watch"]);
        assert!(file_and_watch.is_ok(), "{file_and_watch:?}");
    }

    #[test]
    fn account_commands_take_one_way_each() {
        let parse =
            |args: &[&str]| Cli::try_parse_from(std::iter::once("catalytic").chain(args.to_vec()));
        assert!(parse(&["verify-email", "cev_x"]).is_ok());
        assert!(parse(&["verify-email", "--resend"]).is_ok());
        assert!(parse(&["verify-email"]).is_err(), "a token or --resend");
        assert!(parse(&["verify-email", "cev_x", "--resend"]).is_err());
        assert!(parse(&["password", "reset", "--email", "a@example.com"]).is_ok());
        assert!(parse(&["password", "reset", "--token", "cpr_x", "--password-stdin"]).is_ok());
        assert!(parse(&["password", "reset"]).is_err(), "--email or --token");
        assert!(
            parse(&["password", "reset", "--password-stdin"]).is_err(),
            "a new password needs a token"
        );
        assert!(
            parse(&[
                "password",
                "reset",
                "--email",
                "a@example.com",
                "--new-password",
                "x"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "password",
                "reset",
                "--email",
                "a@example.com",
                "--password-stdin"
            ])
            .is_err(),
            "a new password only goes with a token"
        );
        assert!(
            parse(&[
                "password",
                "change",
                "--password-stdin",
                "--new-password",
                "x"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "register",
                "--email",
                "a@example.com",
                "--invitation",
                "cli_x",
                "--tenant-name",
                "t"
            ])
            .is_err(),
            "an invitation names the tenant"
        );
        assert!(parse(&["audit-log", "--actor", "not-a-uuid"]).is_err());
        assert!(parse(&["audit-log", "--action", "user.", "--limit", "5"]).is_ok());
    }

    #[test]
    fn a_bad_id_is_a_usage_error() {
        let parsed = Cli::try_parse_from(["catalytic", "jobs", "get", "not-a-uuid"]);
        assert!(matches!(parsed, Err(e) if e.exit_code() == 2));
    }
}
