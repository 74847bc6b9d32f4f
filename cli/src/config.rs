//! Where the server and the credential come from: flags, then environment
//! variables, then the config file (TOML). `resolve` is the one place the
//! precedence is decided, a pure function so it is unit-tested; `main`
//! reads the environment once and hands it in.
//!
//! The file also keeps the session a `login` made (access and refresh
//! token) together with the server it was made on: a stored token is only
//! ever sent to that server, never to another one named by a flag.

use crate::failure::Failure;
use crate::output::OutputFormat;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Used when neither a flag, the environment nor the file names a server:
/// the api's own default listen address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// The settings one source gives; `None` means "this source is silent".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub server: Option<String>,
    pub api_key: Option<String>,
    pub output: Option<OutputFormat>,
}

impl Layer {
    /// `CATALYTIC_SERVER`, `CATALYTIC_API_KEY`, `CATALYTIC_OUTPUT`; empty
    /// values count as unset. An unknown output format is a usage error.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, Failure> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        let output = get("CATALYTIC_OUTPUT")
            .map(|v| {
                OutputFormat::parse(&v).ok_or_else(|| {
                    Failure::Usage(format!("CATALYTIC_OUTPUT must be json or table, not {v:?}"))
                })
            })
            .transpose()?;
        Ok(Self {
            server: get("CATALYTIC_SERVER"),
            api_key: get("CATALYTIC_API_KEY"),
            output,
        })
    }
}

/// The session a `login` stored.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    /// The server that issued the tokens; they are sent nowhere else.
    pub server: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("server", &self.server)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The config file as read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileConfig {
    pub server: Option<String>,
    pub api_key: Option<String>,
    pub output: Option<OutputFormat>,
    pub session: Option<StoredSession>,
}

/// Which credential a call carries, and where it came from (for `config show`).
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    ApiKey { key: String, source: &'static str },
    Session(StoredSession),
    None,
}

impl Credential {
    pub fn describe(&self) -> String {
        match self {
            Credential::ApiKey { key, source } => {
                let prefix: String = key.chars().take(12).collect();
                format!("API key {prefix}… (from {source})")
            }
            Credential::Session(s) => format!("session of {} (from login)", s.email),
            Credential::None => "none".to_owned(),
        }
    }
}

/// What a command runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub server: String,
    pub credential: Credential,
    pub output: OutputFormat,
}

/// Flags override the environment, which overrides the file. For the
/// credential: an API key from a flag, then from the environment, then the
/// file's session (when it was made on this server), then the file's
/// `api_key`. The session comes before the file's key because logging in is
/// the later, deliberate act, and admin calls (keys, webhooks) need it.
pub fn resolve(flags: &Layer, env: &Layer, file: &FileConfig) -> Resolved {
    let server = flags
        .server
        .clone()
        .or_else(|| env.server.clone())
        .or_else(|| file.server.clone())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
        .trim_end_matches('/')
        .to_owned();
    let session = file
        .session
        .clone()
        .filter(|s| s.server.trim_end_matches('/') == server);
    let credential = match (&flags.api_key, &env.api_key, session, &file.api_key) {
        (Some(key), _, _, _) => Credential::ApiKey {
            key: key.clone(),
            source: "--api-key",
        },
        (None, Some(key), _, _) => Credential::ApiKey {
            key: key.clone(),
            source: "CATALYTIC_API_KEY",
        },
        (None, None, Some(session), _) => Credential::Session(session),
        (None, None, None, Some(key)) => Credential::ApiKey {
            key: key.clone(),
            source: "the config file",
        },
        (None, None, None, None) => Credential::None,
    };
    let output = flags
        .output
        .or(env.output)
        .or(file.output)
        .unwrap_or(OutputFormat::Table);
    Resolved {
        server,
        credential,
        output,
    }
}

/// `--config`, else `CATALYTIC_CONFIG`, else `catalytic/config.toml` in the
/// user's config directory (`$XDG_CONFIG_HOME`, or `~/.config`).
pub fn path(flag: Option<&Path>, env: Option<String>) -> Result<PathBuf, Failure> {
    if let Some(path) = flag {
        return Ok(path.to_owned());
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().map_err(|e| {
        Failure::Usage(format!(
            "cannot find your config directory ({e}); pass --config PATH"
        ))
    })?;
    Ok(base.config_dir().join("catalytic").join("config.toml"))
}

/// Reads the file; a missing file is an empty config.
pub fn load(path: &Path) -> Result<FileConfig, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Failure::Usage(format!(
                "the config file {} is invalid: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(e) => Err(Failure::Local(anyhow::anyhow!(
            "reading the config file {}: {e}",
            path.display()
        ))),
    }
}

/// Stores (or with `None`, forgets) the session, keeping every other key of
/// the file as it was.
pub fn save_session(path: &Path, session: Option<&StoredSession>) -> Result<(), Failure> {
    let mut table = match std::fs::read_to_string(path) {
        Ok(text) => text.parse::<toml::Table>().map_err(|e| {
            Failure::Usage(format!(
                "the config file {} is invalid: {e}",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(write_error(path, e)),
    };
    match session {
        Some(session) => {
            let value = toml::Value::try_from(session)
                .map_err(|e| Failure::Local(anyhow::anyhow!("encoding the session: {e}")))?;
            table.insert("session".to_owned(), value);
        }
        None => {
            table.remove("session");
        }
    }
    let text = toml::to_string(&table)
        .map_err(|e| Failure::Local(anyhow::anyhow!("encoding the config file: {e}")))?;
    write_private(path, &text).map_err(|e| write_error(path, e))
}

fn write_error(path: &Path, e: std::io::Error) -> Failure {
    Failure::Local(anyhow::anyhow!(
        "writing the config file {}: {e}",
        path.display()
    ))
}

/// The file holds tokens: readable by its owner only, and replaced in one
/// rename so a crash never leaves half a file.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(server: &str) -> StoredSession {
        StoredSession {
            server: server.to_owned(),
            email: "a@example.com".to_owned(),
            access_token: "eyJ".to_owned(),
            refresh_token: "clr_".to_owned(),
        }
    }

    fn layer(server: Option<&str>, key: Option<&str>, output: Option<OutputFormat>) -> Layer {
        Layer {
            server: server.map(str::to_owned),
            api_key: key.map(str::to_owned),
            output,
        }
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        let file = FileConfig {
            server: Some("http://file:1".to_owned()),
            api_key: Some("clc_file".to_owned()),
            output: Some(OutputFormat::Table),
            session: None,
        };
        let env = layer(
            Some("http://env:2"),
            Some("clc_env"),
            Some(OutputFormat::Json),
        );
        let flags = layer(Some("http://flag:3/"), Some("clc_flag"), None);

        let all = resolve(&flags, &env, &file);
        assert_eq!(all.server, "http://flag:3");
        assert!(matches!(all.credential, Credential::ApiKey { ref key, .. } if key == "clc_flag"));
        assert_eq!(
            all.output,
            OutputFormat::Json,
            "the env's output, no flag given"
        );

        let no_flags = resolve(&Layer::default(), &env, &file);
        assert_eq!(no_flags.server, "http://env:2");
        assert!(
            matches!(no_flags.credential, Credential::ApiKey { ref key, .. } if key == "clc_env")
        );

        let file_only = resolve(&Layer::default(), &Layer::default(), &file);
        assert_eq!(file_only.server, "http://file:1");
        assert!(
            matches!(file_only.credential, Credential::ApiKey { ref key, source } if key == "clc_file" && source == "the config file")
        );
        assert_eq!(file_only.output, OutputFormat::Table);

        let nothing = resolve(&Layer::default(), &Layer::default(), &FileConfig::default());
        assert_eq!(nothing.server, DEFAULT_SERVER);
        assert_eq!(nothing.credential, Credential::None);
    }

    #[test]
    fn a_stored_session_is_used_only_on_the_server_that_issued_it() {
        let file = FileConfig {
            server: Some("http://a:1".to_owned()),
            api_key: Some("clc_file".to_owned()),
            session: Some(session("http://a:1")),
            ..FileConfig::default()
        };
        let here = resolve(&Layer::default(), &Layer::default(), &file);
        assert!(matches!(here.credential, Credential::Session(_)));

        let elsewhere = resolve(
            &layer(Some("http://b:2"), None, None),
            &Layer::default(),
            &file,
        );
        assert!(
            matches!(elsewhere.credential, Credential::ApiKey { ref key, .. } if key == "clc_file"),
            "the token of http://a:1 must not go to http://b:2"
        );

        let env_key = resolve(
            &Layer::default(),
            &layer(None, Some("clc_env"), None),
            &file,
        );
        assert!(
            matches!(env_key.credential, Credential::ApiKey { ref key, .. } if key == "clc_env")
        );
    }

    #[test]
    fn empty_or_bad_environment_values() {
        let vars = |name: &str| match name {
            "CATALYTIC_SERVER" => Some(String::new()),
            "CATALYTIC_OUTPUT" => Some("json".to_owned()),
            _ => None,
        };
        let env = Layer::from_env(vars).ok();
        assert_eq!(env, Some(layer(None, None, Some(OutputFormat::Json))));
        let bad = Layer::from_env(|n| (n == "CATALYTIC_OUTPUT").then(|| "yaml".to_owned()));
        assert!(matches!(bad, Err(Failure::Usage(m)) if m.contains("CATALYTIC_OUTPUT")));
    }

    #[test]
    fn saving_a_session_keeps_the_other_keys_and_forgetting_it_removes_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join("config.toml");
        assert_eq!(
            load(&path)?,
            FileConfig::default(),
            "a missing file is empty"
        );
        std::fs::create_dir_all(dir.path().join("nested"))?;
        std::fs::write(&path, "server = \"http://a:1\"\noutput = \"json\"\n")?;

        save_session(&path, Some(&session("http://a:1")))?;
        let saved = load(&path)?;
        assert_eq!(saved.server.as_deref(), Some("http://a:1"));
        assert_eq!(saved.output, Some(OutputFormat::Json));
        assert_eq!(saved.session, Some(session("http://a:1")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }

        save_session(&path, None)?;
        let forgotten = load(&path)?;
        assert_eq!(forgotten.session, None);
        assert_eq!(forgotten.server.as_deref(), Some("http://a:1"));

        std::fs::write(&path, "server = [")?;
        assert!(matches!(load(&path), Err(Failure::Usage(m)) if m.contains("invalid")));
        Ok(())
    }
}
