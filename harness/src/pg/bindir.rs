//! Finds the PostgreSQL server binaries once; programs are then called by absolute path.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// A resolved PostgreSQL bindir and the server version found in it.
#[derive(Debug, Clone)]
pub struct PgBin {
    dir: PathBuf,
    version: String,
}

/// Environment variable that names the bindir.
pub(crate) const BIN_ENV: &str = "HABENCH_PG_BIN";

const REQUIRED: [&str; 4] = ["postgres", "initdb", "pg_basebackup", "pg_rewind"];

impl PgBin {
    /// Resolution order: `explicit` (--pg-bin), `HABENCH_PG_BIN`, `pg_config --bindir`, the
    /// newest `/usr/lib/postgresql/*/bin`.
    pub(crate) fn resolve(explicit: Option<&Path>) -> Result<PgBin> {
        if let Some(dir) = explicit {
            return Self::checked("--pg-bin", dir);
        }
        if let Some(dir) = std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
            return Self::checked(BIN_ENV, Path::new(&dir));
        }
        let mut tried = vec![format!("{BIN_ENV} (unset)")];
        if let Some(dir) = pg_config_bindir() {
            if let Ok(bin) = Self::checked("pg_config --bindir", &dir) {
                return Ok(bin);
            }
            tried.push(format!("pg_config --bindir ({})", dir.display()));
        } else {
            tried.push("pg_config (not on PATH)".into());
        }
        match newest_debian_bindir(Path::new("/usr/lib/postgresql")) {
            Some(dir) => Self::checked("/usr/lib/postgresql/*/bin", &dir),
            None => {
                tried.push("/usr/lib/postgresql/*/bin (none)".into());
                Err(Error::BinariesNotFound { tried: tried.join(", ") })
            }
        }
    }

    fn checked(source_name: &str, dir: &Path) -> Result<PgBin> {
        for prog in REQUIRED {
            if !dir.join(prog).is_file() {
                return Err(Error::BadBinDir {
                    source_name: source_name.to_string(),
                    dir: dir.to_path_buf(),
                    missing: prog.to_string(),
                });
            }
        }
        // Blocking on purpose: the bindir is resolved once, at start-up, before any runtime
        // drives a measurement.
        let out = Command::new(dir.join("postgres"))
            .arg("--version")
            .output()
            .map_err(|e| Error::io("running", dir.join("postgres"), e))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(PgBin { dir: dir.to_path_buf(), version })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Absolute path of one program of this bindir.
    pub(crate) fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `postgres --version` output, e.g. `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// Major version (15 for "15.18"), used to key the initdb template.
    pub(crate) fn major(&self) -> u32 {
        parse_major(&self.version).unwrap_or(0)
    }
}

/// Blocking on purpose: start-up only, as above.
fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

fn newest_debian_bindir(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let Some(major) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let bin = entry.path().join("bin");
        if bin.join("postgres").is_file() && best.as_ref().is_none_or(|(m, _)| major > *m) {
            best = Some((major, bin));
        }
    }
    best.map(|(_, p)| p)
}

fn parse_major(version: &str) -> Option<u32> {
    let num = version.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    num.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_version_is_read_from_postgres_version_output() {
        assert_eq!(parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"), Some(15));
        assert_eq!(parse_major("postgres (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("garbage"), None);
    }

    #[test]
    fn a_directory_without_postgres_is_rejected_with_the_flag_name() {
        let err = PgBin::resolve(Some(Path::new("/nonexistent/bin"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--pg-bin"), "{msg}");
        assert!(msg.contains("no `postgres`"), "{msg}");
    }

    #[test]
    fn newest_bindir_is_picked_by_numeric_major() {
        let tmp = std::env::temp_dir().join(format!("habench-bindir-test-{}", std::process::id()));
        for v in ["9", "15", "12"] {
            let bin = tmp.join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("postgres"), "").unwrap();
        }
        std::fs::create_dir_all(tmp.join("common")).unwrap();
        let found = newest_debian_bindir(&tmp);
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(found, Some(tmp.join("15").join("bin")));
    }
}
