//! Finds `pg_autoctl` and the monitor's extension; a missing one is reported with what
//! installs it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What installs pg_auto_failover here.
pub(crate) const INSTALL_COMMAND: &str =
    "scripts/install-ha-engines.sh (as root: Debian's postgresql-15-auto-failover and pg-auto-failover-cli)";

/// Upstream's newest release as checked when this was written (its CHANGELOG), and what it adds.
pub(crate) const UPSTREAM_NEWEST: (&str, &str) =
    ("2.1", "November 2022: Postgres 16 support and bug fixes, no change to the failover logic listed");

/// Says how `version` ("pg_autoctl version 2.0") stands against upstream's newest release,
/// when it is older (None: as new, or unknown).
pub(crate) fn version_note(version: &str) -> Option<String> {
    let v = version.split_whitespace().last()?;
    let (newest, what) = UPSTREAM_NEWEST;
    let older =
        v.split('.').map(|p| p.parse::<u32>().unwrap_or(0)).lt(newest.split('.').map(|p| p.parse().unwrap_or(0)));
    older.then(|| format!("{v} measured here; upstream's newest is {newest} ({what})"))
}

/// The `pg_autoctl` program, by absolute path.
#[derive(Debug, Clone)]
pub struct Autoctl {
    pub path: PathBuf,
}

impl Autoctl {
    /// `--ha-bin` (`explicit`) first, then PATH and /usr/bin; the monitor's extension must be
    /// installed for the server binaries in use.
    pub fn find(explicit: Option<&Path>, pg_bin: &Path) -> Result<Autoctl> {
        let mut dirs: Vec<PathBuf> = explicit.map(Path::to_path_buf).into_iter().collect();
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.push(PathBuf::from("/usr/bin"));
        let path = dirs.iter().map(|d| d.join("pg_autoctl")).find(|p| p.is_file()).ok_or_else(|| {
            Error::config(
                "--topology pg_auto_failover",
                format!("`pg_autoctl` was not found; install it with {INSTALL_COMMAND}"),
            )
        })?;
        let control = extension_dir(pg_bin).join("pgautofailover.control");
        if !control.is_file() {
            return Err(Error::config(
                "--topology pg_auto_failover",
                format!(
                    "the monitor's extension ({}) is missing; install it with {INSTALL_COMMAND}",
                    control.display()
                ),
            ));
        }
        Ok(Autoctl { path })
    }

    /// `pg_autoctl version`'s first line, e.g. "pg_autoctl version 2.0" (None when it does not
    /// answer within 5 s).
    pub async fn version(&self) -> Option<String> {
        // Off the runtime's threads: tokio's process, bounded, killed if it does not answer.
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.arg("version").kill_on_drop(true);
        let out = tokio::time::timeout(std::time::Duration::from_secs(5), cmd.output()).await.ok()?.ok()?;
        String::from_utf8_lossy(&out.stdout).lines().next().map(|l| l.trim().to_string())
    }
}

/// Where the server binaries' extensions live (`pg_config --sharedir`/extension; Debian's
/// layout, /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15/extension).
fn extension_dir(pg_bin: &Path) -> PathBuf {
    let major = pg_bin.parent().and_then(Path::file_name).map(|m| m.to_string_lossy().into_owned());
    PathBuf::from("/usr/share/postgresql").join(major.unwrap_or_default()).join("extension")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_older_version_is_noted_against_upstream() {
        assert!(super::version_note("pg_autoctl version 2.0")
            .unwrap()
            .starts_with("2.0 measured here; upstream's newest is 2.1"));
        assert_eq!(super::version_note("pg_autoctl version 2.1"), None);
        assert_eq!(super::version_note("pg_autoctl version 2.10"), None);
        assert!(super::version_note("pg_autoctl version 1.6.4").is_some());
    }
}
