//! One PostgreSQL server instance that habench started: the postmaster is habench's own child
//! (so it is reaped at once, with no zombie holding the data directory's lock file), runs as the
//! server user in its own process group, logs to its own file and listens on loopback TCP only.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::pg::conn::{self, ConnectError};
use crate::pg::env::{tail, PgEnv};
use crate::pg::lsn::Lsn;
use crate::pg::ports::PortLease;
use crate::pg::procs::{self, ProcId};
use crate::pg::settings::Settings;

/// How long a start or a shutdown may take before habench calls it failed.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const TEARDOWN_GRACE: Duration = Duration::from_secs(5);

/// The role habench gave the node: what it should be, whatever a fault did to it since
/// ([`Node::live_role`] asks the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    Standby,
    /// Shared-disk node waiting to take over (not running).
    Passive,
    /// Stopped, crashed or fenced.
    Down,
}

#[derive(Debug)]
pub struct Node {
    name: String,
    lease: PortLease,
    data_dir: PathBuf,
    log_path: PathBuf,
    settings: Settings,
    env: Arc<PgEnv>,
    role: Role,
    child: Option<Child>,
    postmaster: Option<ProcId>,
    paused: bool,
    /// Processes of an instance whose postmaster was killed alone; they exit by themselves
    /// shortly, and are killed at teardown if they have not.
    orphans: Vec<ProcId>,
    log_offset: u64,
    /// CPUs the server's processes may run on (None: any), to emulate separate hosts.
    cpus: Option<Vec<usize>>,
    /// Started and stopped by someone else (a cluster manager): habench only connects to it.
    managed: bool,
    /// `--net namespaces`: the node's host on the network (its server runs there).
    net: Option<crate::pg::node_net::NodeNet>,
}

impl Node {
    pub(crate) fn new(env: Arc<PgEnv>, name: &str, data_dir: PathBuf, log_path: PathBuf, role: Role) -> Result<Node> {
        let lease = crate::pg::ports::lease(&env.root.ports_dir())?;
        Ok(Node {
            name: name.to_string(),
            lease,
            data_dir,
            log_path,
            settings: Settings::new(),
            env,
            role,
            child: None,
            postmaster: None,
            paused: false,
            orphans: Vec::new(),
            log_offset: 0,
            cpus: None,
            managed: false,
            net: None,
        })
    }

    /// A node whose server a cluster manager starts and stops: habench leases its port and
    /// connects to it, nothing more.
    pub(crate) fn managed(env: Arc<PgEnv>, name: &str, data_dir: PathBuf, log_path: PathBuf) -> Result<Node> {
        let mut node = Node::new(env, name, data_dir, log_path, Role::Standby)?;
        node.managed = true;
        Ok(node)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn port(&self) -> u16 {
        self.lease.port()
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
    pub(crate) fn role(&self) -> Role {
        self.role
    }
    pub(crate) fn set_role(&mut self, role: Role) {
        self.role = role;
    }
    pub(crate) fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }
    pub(crate) fn env(&self) -> &Arc<PgEnv> {
        &self.env
    }
    /// Key-value connection string of this node.
    pub fn dsn(&self) -> String {
        conn::dsn(self.port())
    }
    /// Pid of the running postmaster.
    pub fn pid(&mut self) -> Option<u32> {
        if self.managed {
            return crate::pg::workdir::running_postmaster(&self.data_dir).map(|p| p.pid);
        }
        self.is_running().then(|| self.postmaster.map(|p| p.pid)).flatten()
    }
    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// True while the postmaster lives (reaps it when it has exited).
    pub fn is_running(&mut self) -> bool {
        crate::pg::procs::child_alive(&mut self.child)
    }

    /// Writes `habench.conf` into the data directory from this node's settings.
    pub(crate) fn write_conf(&self) -> Result<()> {
        // Small files in the node's own directory, written before each start or reload (never
        // on the measured path): blocking writes, as the rest of the node's setup.
        let path = self.data_dir.join("habench.conf");
        let mut text = self.settings.render();
        if let Some(net) = &self.net {
            let hba = self.data_dir.join("habench_hba.conf");
            std::fs::write(&hba, crate::pg::node_net::HBA).map_err(|e| Error::io("writing", &hba, e))?;
            self.env.user.own(&hba, 0o600)?;
            text.push_str(&net.conf_lines(&hba));
        }
        std::fs::write(&path, text).map_err(|e| Error::io("writing", &path, e))?;
        self.env.user.own(&path, 0o600)
    }

    /// Makes the node a host of `net` (its name is the host's): from its next start its server
    /// runs in the host's namespace on the host's address; habench reaches it through doors on
    /// loopback (`node_net.rs`): at its port from its own host, at `clients_port` from the
    /// clients'.
    pub(crate) async fn join_network(&mut self, net: std::sync::Arc<crate::netns::Network>) -> Result<()> {
        let clients_port = crate::pg::ports::lease(&self.env.root.ports_dir())?;
        self.net = Some(crate::pg::node_net::NodeNet::join(net, &self.name, self.port(), clients_port).await?);
        Ok(())
    }

    /// Where habench's clients reach the node: its port, or on a network the clients' door
    /// (`port()` is then the admin door, from the node's own host).
    pub fn clients_port(&self) -> u16 {
        self.net.as_ref().map_or(self.port(), |n| n.clients_port())
    }

    /// The node's address on its network, when it is on one (`--net namespaces`).
    pub fn net_addr(&self) -> Option<std::net::Ipv4Addr> {
        self.net.as_ref().map(|n| n.addr())
    }

    /// Writes the configuration, starts the server and waits until it accepts connections.
    /// Returns the time from spawn to ready.
    pub async fn start(&mut self) -> Result<Duration> {
        let t0 = Instant::now();
        self.spawn()?;
        self.wait_ready(START_TIMEOUT).await?;
        Ok(t0.elapsed())
    }

    /// Pins the server (the postmaster, and so every process it forks) to these CPUs from its
    /// next start.
    pub(crate) fn set_cpus(&mut self, cpus: Option<Vec<usize>>) {
        self.cpus = cpus;
    }

    /// Starts the postmaster without waiting for it.
    pub(crate) fn spawn(&mut self) -> Result<()> {
        if self.is_running() {
            return Err(Error::node(&self.name, "already running"));
        }
        self.write_conf()?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Error::io("opening", &self.log_path, e))?;
        self.log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_err = log.try_clone().map_err(|e| Error::io("opening", &self.log_path, e))?;
        let mut cmd = self.env.command("postgres");
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-p")
            .arg(self.port().to_string())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            // Ctrl-C in a terminal must reach habench only: it decides how servers go down.
            .process_group(0);
        if let Some(cpus) = self.cpus.clone() {
            crate::pg::procs::pin_on_exec(&mut cmd, cpus)
                .map_err(|e| Error::io("pinning to CPUs", &self.data_dir, e))?;
        }
        let child = match &self.net {
            Some(net) => net.spawn(cmd)?,
            None => cmd.spawn().map_err(|e| Error::io("starting", self.env.bin.tool("postgres"), e))?,
        };
        self.postmaster = ProcId::of(child.id());
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// Polls until the server accepts a connection and answers a query.
    pub(crate) async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.is_running() {
                return Err(Error::node(
                    &self.name,
                    format!(
                        "server exited during start; log {}:\n{}",
                        self.log_path.display(),
                        self.log_since_start(15)
                    ),
                ));
            }
            if let Ok(client) = conn::connect(self.port(), Duration::from_secs(1)).await {
                if client.simple_query("SELECT 1").await.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("node {} to accept connections", self.name),
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Text the server logged since its last start (last `lines` lines).
    pub(crate) fn log_since_start(&self, lines: usize) -> String {
        tail(&self.log_text_since_start(), lines)
    }

    /// Everything the server logged since its last start.
    pub fn log_text_since_start(&self) -> String {
        let bytes = std::fs::read(&self.log_path).unwrap_or_default();
        let from = (self.log_offset as usize).min(bytes.len());
        String::from_utf8_lossy(&bytes[from..]).into_owned()
    }

    /// Fast shutdown (SIGINT): clients are disconnected, a shutdown checkpoint is written.
    pub async fn stop(&mut self) -> Result<()> {
        let Some(pm) = self.postmaster.filter(|_| self.child.is_some()) else {
            return Ok(());
        };
        if self.paused {
            self.resume();
        }
        procs::signal(pm, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while self.is_running() {
            if Instant::now() >= deadline {
                self.crash().await;
                return Err(Error::Timeout { what: format!("node {} to shut down", self.name), waited: STOP_TIMEOUT });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// SIGKILL of the postmaster alone (a process crash). Its children notice and exit by
    /// themselves. Returns the killed pid.
    pub async fn kill_postmaster(&mut self) -> Option<u32> {
        let pm = self.postmaster.filter(|_| self.is_running())?;
        self.orphans = procs::descendants(pm.pid);
        procs::signal(pm, nix::sys::signal::Signal::SIGKILL);
        if let Some(c) = self.child.take() {
            procs::reap(c).await; // reap now: no zombie holds postmaster.pid's pid
        }
        self.paused = false;
        Some(pm.pid)
    }

    /// Kills every process of the instance (a node crash) and waits until all are gone.
    /// Returns how many processes were killed.
    pub async fn crash(&mut self) -> usize {
        let mut victims: Vec<ProcId> = self.orphans.drain(..).filter(|p| p.is_running()).collect();
        for p in &victims {
            procs::signal(*p, nix::sys::signal::Signal::SIGKILL);
        }
        if let Some(pm) = self.postmaster.filter(|_| self.is_running()) {
            victims.extend(procs::kill_instance(pm));
            if let Some(c) = self.child.take() {
                procs::reap(c).await;
            }
        }
        procs::wait_gone(&victims, Duration::from_secs(10)).await;
        self.paused = false;
        victims.len()
    }

    /// SIGSTOP of every process of the instance: a hung node (connections hang, nothing errors).
    pub fn pause(&mut self) {
        if let Some(pm) = self.postmaster.filter(|_| self.is_running()) {
            procs::pause_instance(pm);
            self.paused = true;
        }
    }

    pub fn resume(&mut self) {
        if let Some(pm) = self.postmaster.filter(|_| self.is_running()) {
            procs::resume_instance(pm);
        }
        self.paused = false;
    }

    /// A new connection to this node.
    pub async fn connect(&self) -> Result<Client> {
        conn::connect(self.port(), Duration::from_secs(5)).await.map_err(|e| match e {
            ConnectError::Db(source) => Error::Db { node: self.name.clone(), source },
            ConnectError::Timeout(waited) => {
                Error::Timeout { what: format!("connection to node {}", self.name), waited }
            }
        })
    }

    /// Runs one query and returns the first column of the first row as text.
    pub async fn query_text(&self, sql: &str) -> Result<Option<String>> {
        let client = self.connect().await?;
        let rows = client.simple_query(sql).await.map_err(|source| Error::Db { node: self.name.clone(), source })?;
        Ok(rows
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
                _ => None,
            })
            .flatten())
    }

    /// Runs statements without a result.
    pub(crate) async fn execute(&self, sql: &str) -> Result<()> {
        let client = self.connect().await?;
        client.batch_execute(sql).await.map_err(|source| Error::Db { node: self.name.clone(), source })
    }

    /// Whether the server is in recovery (a standby).
    pub async fn in_recovery(&self) -> Result<bool> {
        Ok(self.query_text("SELECT pg_is_in_recovery()").await?.as_deref() == Some("t"))
    }

    /// The role the server reports: primary, standby, or down/unreachable.
    pub async fn live_role(&mut self) -> &'static str {
        if !self.managed && !self.is_running() {
            return if self.role == Role::Passive { "passive" } else { "down" };
        }
        if self.paused {
            return "paused";
        }
        match self.in_recovery().await {
            Ok(true) => "standby",
            Ok(false) => "primary",
            Err(_) => "unreachable",
        }
    }

    /// Current WAL position: written (primary) or received (standby; replayed when it only
    /// restores from an archive).
    pub async fn current_lsn(&self) -> Result<Lsn> {
        let sql = "SELECT CASE WHEN pg_is_in_recovery() \
                   THEN coalesce(greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), '0/0') \
                   ELSE pg_current_wal_lsn() END";
        self.lsn(sql).await
    }

    /// WAL position replayed (a standby) or written (a primary).
    pub async fn replayed_lsn(&self) -> Result<Lsn> {
        let sql = "SELECT coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn())";
        self.lsn(sql).await
    }

    async fn lsn(&self, sql: &str) -> Result<Lsn> {
        let text = self.query_text(sql).await?.unwrap_or_default();
        Lsn::parse(&text).ok_or_else(|| Error::node(&self.name, format!("unexpected LSN `{text}`")))
    }

    /// Stops everything of this instance; used by Drop and when a topology is torn down
    /// (blocking on purpose: no measurement runs then).
    pub(crate) fn teardown_blocking(&mut self) {
        let t0 = Instant::now();
        let mut leftover: Vec<ProcId> = self.orphans.drain(..).filter(|p| p.is_running()).collect();
        if let Some(pm) = self.postmaster.filter(|_| self.is_running()) {
            if self.paused {
                procs::resume_instance(pm);
            }
            // Immediate shutdown: fast, and the server removes its shared memory itself.
            procs::signal(pm, nix::sys::signal::Signal::SIGQUIT);
            let deadline = Instant::now() + TEARDOWN_GRACE;
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if self.is_running() {
                leftover.extend(procs::kill_instance(pm));
                if let Some(mut c) = self.child.take() {
                    let _ = c.wait();
                }
            }
        }
        for p in &leftover {
            procs::signal(*p, nix::sys::signal::Signal::SIGKILL);
        }
        procs::wait_gone_blocking(&leftover, Duration::from_secs(10));
        self.child = None;
        self.paused = false;
        tracing::debug!(node = %self.name, elapsed = ?t0.elapsed(), "torn down");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.teardown_blocking();
    }
}
