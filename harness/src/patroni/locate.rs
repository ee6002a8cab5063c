//! Finds the engine's programs: a flag, an environment variable, PATH, then the virtual
//! environment that `scripts/install-ha-engines.sh` makes. A missing program is reported with
//! the command that installs it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Directory holding `patroni` (and optionally `etcd`), like `--ha-bin`.
pub(crate) const BIN_ENV: &str = "HABENCH_HA_BIN";
/// The install script's virtual environment (its default: /opt/habench-ha).
pub(crate) const VENV_ENV: &str = "HABENCH_HA_VENV";
const DEFAULT_VENV: &str = "/opt/habench-ha";
/// What installs both programs.
pub(crate) const INSTALL_COMMAND: &str =
    "scripts/install-ha-engines.sh (as root: etcd from Debian, Patroni into a venv)";

/// The engine's programs, by absolute path.
#[derive(Debug, Clone)]
pub struct EnginePrograms {
    pub patroni: PathBuf,
    pub etcd: PathBuf,
}

impl EnginePrograms {
    /// `explicit` (--ha-bin) first, then `HABENCH_HA_BIN`, PATH, the venv (`HABENCH_HA_VENV`
    /// or /opt/habench-ha) and, for etcd, /usr/bin.
    pub fn find(explicit: Option<&Path>) -> Result<EnginePrograms> {
        let mut dirs: Vec<(String, PathBuf)> = Vec::new();
        if let Some(d) = explicit {
            dirs.push(("--ha-bin".into(), d.to_path_buf()));
        }
        if let Some(d) = std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
            dirs.push((BIN_ENV.into(), PathBuf::from(d)));
        }
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path).map(|d| ("PATH".to_string(), d)));
        }
        let venv = std::env::var_os(VENV_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_VENV));
        dirs.push((format!("the venv {}", venv.display()), venv.join("bin")));
        dirs.push(("/usr/bin".into(), PathBuf::from("/usr/bin")));
        let find = |program: &str| -> Result<PathBuf> {
            dirs.iter().map(|(_, d)| d.join(program)).find(|p| is_executable(p)).ok_or_else(|| {
                let mut looked: Vec<String> = dirs.iter().map(|(s, _)| s.clone()).collect();
                looked.dedup();
                Error::config(
                    "--topology patroni",
                    format!("`{program}` was not found (looked in {}); install it with {INSTALL_COMMAND}, or name its directory with --ha-bin or {BIN_ENV}", looked.join(", ")),
                )
            })
        };
        Ok(EnginePrograms { patroni: find("patroni")?, etcd: find("etcd")? })
    }

    /// `patroni --version`'s answer, e.g. "patroni 4.1.5".
    pub(crate) fn patroni_version(&self) -> Option<String> {
        version_of(&self.patroni)
    }

    /// etcd's version line, e.g. "etcd Version: 3.4.23".
    pub(crate) fn etcd_version(&self) -> Option<String> {
        version_of(&self.etcd)
    }
}

/// Blocking on purpose: called while a topology is being set up, before any load runs and
/// before the stall detector starts (a `--version` answers in milliseconds).
fn version_of(program: &Path) -> Option<String> {
    let out = std::process::Command::new(program).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(|l| l.trim().to_string())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
