//! Enterprise tenants for a run, made with the real `catalytic-api
//! bootstrap` (free-plan limits would throttle the load itself). The
//! bootstrap inherits this process's `CATALYTIC_*` settings.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `catalytic-api` beside this executable (`target/release/`).
pub fn api_binary_beside_me() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("locating the executable's directory")?
        .join("catalytic-api");
    if !path.exists() {
        bail!("{} not found: pass --api-bin", path.display());
    }
    Ok(path)
}

/// Creates `n` enterprise tenants and returns one API key each.
pub fn bootstrap(api_bin: &Path, n: usize, run_tag: &str) -> anyhow::Result<Vec<String>> {
    (0..n)
        .map(|i| {
            let output = Command::new(api_bin)
                .args(["bootstrap", "--tenant", &format!("load-{run_tag}-{i}")])
                .args(["--plan", "enterprise"])
                .output()
                .with_context(|| format!("running {}", api_bin.display()))?;
            if !output.status.success() {
                bail!(
                    "bootstrap failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let printed: serde_json::Value = serde_json::from_slice(&output.stdout)?;
            printed["api_key"]
                .as_str()
                .map(str::to_owned)
                .context("bootstrap printed no api_key")
        })
        .collect()
}
