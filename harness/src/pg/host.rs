//! An emulated host: one program (a cluster manager, an etcd member) and every process it
//! starts, in one cgroup, run as the servers' user, logging to one file. Crashing the host kills
//! all of it at once; pausing it freezes all of it.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Result};
use crate::pg::cgroup::Group;
use crate::pg::os_user::OsUser;

/// How to start the host's program (kept to start it again after a crash).
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub log: PathBuf,
}

#[derive(Debug)]
pub(crate) struct Host {
    name: String,
    group: Group,
    launch: Launch,
    user: OsUser,
    child: Option<Child>,
    /// `--net namespaces`: the network and the host whose namespace the program runs in.
    net: Option<(std::sync::Arc<crate::netns::Network>, String)>,
}

impl Host {
    /// A host whose program is not started yet.
    pub(crate) fn new(name: &str, group: Group, launch: Launch, user: OsUser) -> Host {
        Host { name: name.to_string(), group, launch, user, child: None, net: None }
    }

    /// The program runs in host `host`'s namespace of `net` (every start).
    pub(crate) fn on_network(mut self, net: std::sync::Arc<crate::netns::Network>, host: &str) -> Host {
        self.net = Some((net, host.to_string()));
        self
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.launch.log
    }

    pub(crate) fn group(&self) -> &Group {
        &self.group
    }

    /// Starts the program inside the host's cgroup (its log appended to).
    pub(crate) fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Err(Error::node(&self.name, "already running"));
        }
        let l = &self.launch;
        let log =
            OpenOptions::new().create(true).append(true).open(&l.log).map_err(|e| Error::io("opening", &l.log, e))?;
        let log_err = log.try_clone().map_err(|e| Error::io("opening", &l.log, e))?;
        let mut cmd = Command::new(&l.program);
        cmd.args(&l.args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", &self.user.home)
            .envs(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&l.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        self.group.spawn_inside(&mut cmd, &self.user);
        self.child = Some(match &self.net {
            Some((net, host)) => net.spawn(host, cmd)?,
            None => cmd.spawn().map_err(|e| Error::io("starting", &l.program, e))?,
        });
        Ok(())
    }

    /// The program's own pid while it runs.
    pub(crate) fn pid(&mut self) -> Option<u32> {
        self.is_running().then(|| self.child.as_ref().map(|c| c.id())).flatten()
    }

    /// True while the program lives (reaps it when it has exited).
    pub(crate) fn is_running(&mut self) -> bool {
        crate::pg::procs::child_alive(&mut self.child)
    }

    /// A signal to the program alone (e.g. SIGTERM: a graceful stop).
    pub(crate) fn signal(&mut self, sig: nix::sys::signal::Signal) -> bool {
        // The pid is our unreaped child: it cannot be another process's.
        self.pid().is_some_and(|pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).is_ok())
    }

    /// The program stopped gracefully (SIGTERM; killed with the host's every process after
    /// `grace`), what it left killed, then started again; returns how long the stop took.
    pub(crate) async fn restart(&mut self, grace: std::time::Duration) -> Result<std::time::Duration> {
        let t0 = std::time::Instant::now();
        self.signal(nix::sys::signal::Signal::SIGTERM);
        while self.is_running() && t0.elapsed() < grace {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let stopped = t0.elapsed();
        // What the program left (a server it could not stop) goes with the host.
        self.crash_async().await;
        self.start()?;
        Ok(stopped)
    }

    /// Every process of the host killed at once (a host crash), waiting without blocking the
    /// runtime until they are gone; returns how many.
    pub(crate) async fn crash_async(&mut self) -> usize {
        let n = self.group.kill_async().await;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            crate::pg::procs::reap(c).await;
        }
        n
    }

    /// The same, blocking (Drop and teardown only).
    pub(crate) fn crash(&mut self) -> usize {
        let n = self.group.kill();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        n
    }

    /// Freezes (a hung host) or thaws every process.
    pub(crate) fn freeze(&self, frozen: bool) -> Result<()> {
        self.group.freeze(frozen)
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.group.is_frozen()
    }

    /// The log's last `n` lines.
    pub(crate) fn log_tail(&self, n: usize) -> String {
        crate::pg::env::tail(&std::fs::read_to_string(&self.launch.log).unwrap_or_default(), n)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir(self.group.path());
    }
}
