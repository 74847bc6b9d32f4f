//! One file per group of commands; `run` sends each command to its file.
//! Every command gets the same `Context`: the settings in force, the
//! config file's path, and a way to make the client.

mod account;
mod audit;
mod billing;
mod concurrency_keys;
mod download;
mod jobs;
mod lattices;
mod passwords;
mod schedules;
mod watch;
mod webhooks;

use crate::args::{Cli, Command};
use crate::config::{self, Layer, Resolved};
use crate::failure::Failure;
use crate::session::Api;
use std::path::PathBuf;

/// What `catalytic` reads from its environment, read once in `main`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub layer: Layer,
    /// `CATALYTIC_CONFIG`.
    pub config_path: Option<String>,
    /// `CATALYTIC_PASSWORD`, for login and register in scripts (and the
    /// current password of `password change`).
    pub password: Option<String>,
    /// `CATALYTIC_NEW_PASSWORD`: the new password of `password change` and
    /// `password reset --token`.
    pub new_password: Option<String>,
}

impl Environment {
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, Failure> {
        Ok(Self {
            layer: Layer::from_env(&get)?,
            config_path: get("CATALYTIC_CONFIG"),
            password: get("CATALYTIC_PASSWORD").filter(|p| !p.is_empty()),
            new_password: get("CATALYTIC_NEW_PASSWORD").filter(|p| !p.is_empty()),
        })
    }
}

pub struct Context {
    pub resolved: Resolved,
    pub config_path: PathBuf,
    pub env: Environment,
}

impl Context {
    pub fn new(cli: &Cli, env: Environment) -> Result<Self, Failure> {
        let config_path = config::path(cli.config.as_deref(), env.config_path.clone())?;
        let file = config::load(&config_path)?;
        let flags = Layer {
            server: cli.server.clone(),
            api_key: cli.api_key.clone(),
            output: cli.output,
        };
        Ok(Self {
            resolved: config::resolve(&flags, &env.layer, &file),
            config_path,
            env,
        })
    }

    /// A client with the credential in force (refused early if there is none).
    pub fn api(&self) -> Result<Api, Failure> {
        Api::new(&self.resolved, self.config_path.clone(), true)
    }

    /// A client without a credential, for register and login.
    pub fn anonymous(&self) -> Result<Api, Failure> {
        let resolved = Resolved {
            credential: config::Credential::None,
            ..self.resolved.clone()
        };
        Api::new(&resolved, self.config_path.clone(), false)
    }

    pub fn format(&self) -> crate::output::OutputFormat {
        self.resolved.output
    }
}

pub async fn run(command: Command, ctx: &Context) -> Result<(), Failure> {
    match command {
        Command::Register(args) => account::register(ctx, args).await,
        Command::VerifyEmail(args) => passwords::verify_email(ctx, args).await,
        Command::Password(command) => passwords::run(ctx, command).await,
        Command::Login(args) => account::login(ctx, args).await,
        Command::Logout => account::logout(ctx).await,
        Command::Whoami => account::whoami(ctx).await,
        Command::Config(_) => account::show_config(ctx),
        Command::ApiKeys(command) => account::api_keys(ctx, command).await,
        Command::Lattices(command) => lattices::run(ctx, command).await,
        Command::Jobs(command) => jobs::run(ctx, command).await,
        Command::Schedules(command) => schedules::run(ctx, command).await,
        Command::ConcurrencyKeys(command) => concurrency_keys::run(ctx, command).await,
        Command::Webhooks(command) => webhooks::run(ctx, command).await,
        Command::Usage(args) => billing::usage(ctx, args).await,
        Command::Invoices(command) => billing::invoices(ctx, command).await,
        Command::AuditLog(args) => audit::run(ctx, args).await,
    }
}
