//! What every node needs from its surroundings: binaries, OS user and work root.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::pg::bindir::PgBin;
use crate::pg::os_user::OsUser;
use crate::pg::workdir::WorkRoot;

/// Where the servers come from and where they live.
#[derive(Debug, Clone, Default)]
pub struct EnvOptions {
    pub pg_bin: Option<PathBuf>,
    pub pg_user: Option<String>,
    pub work_dir: Option<PathBuf>,
    /// Directory of the HA engine's programs (`--ha-bin`); see `patroni::locate`.
    pub ha_bin: Option<PathBuf>,
}

#[derive(Debug)]
pub struct PgEnv {
    pub bin: PgBin,
    pub user: OsUser,
    pub root: WorkRoot,
    pub ha_bin: Option<PathBuf>,
}

impl PgEnv {
    pub fn discover(opts: &EnvOptions) -> Result<Arc<PgEnv>> {
        Ok(Arc::new(PgEnv {
            bin: PgBin::resolve(opts.pg_bin.as_deref())?,
            user: OsUser::resolve(opts.pg_user.as_deref())?,
            root: WorkRoot::resolve(opts.work_dir.as_deref())?,
            ha_bin: opts.ha_bin.clone(),
        }))
    }

    /// A server program as the server user, with a clean environment: no PG* variables of the
    /// caller leak into primary_conninfo or connections. It dies with habench.
    pub fn command(&self, program: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(self.bin.tool(program));
        cmd.env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.dir().display()))
            .env("LC_ALL", "C")
            .env("HOME", &self.user.home)
            .env("PGPASSFILE", "/dev/null")
            // The caller's directory may be closed to the server user (e.g. /root).
            .current_dir(self.root.path())
            .stdin(Stdio::null());
        self.user.apply(&mut cmd);
        crate::pg::procs::die_with_parent(&mut cmd);
        cmd
    }

    /// Runs a server tool to completion; its output becomes the error text when it fails.
    pub(crate) async fn run_tool(&self, program: &str, args: &[&str]) -> Result<String> {
        let mut cmd = tokio::process::Command::from(self.command(program));
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let out = cmd.output().await.map_err(|e| Error::io("running", self.bin.tool(program), e))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(text)
        } else {
            Err(Error::Tool {
                tool: format!("{program} {}", args.join(" ")),
                status: out.status.to_string(),
                detail: tail(&text, 12),
            })
        }
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
