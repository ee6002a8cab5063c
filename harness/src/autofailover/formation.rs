//! A pg_auto_failover formation habench starts: the monitor, then the data nodes (the first
//! becomes the primary, the others its secondaries). Each is a host of its own: its
//! `pg_autoctl` (monitor or keeper), the postgres it starts and every child, in one cgroup, as
//! the servers' user, with its configuration and state files inside the formation's directory.
//! Dropping the formation kills every host at once (a keeper's postgres outlives a killed
//! keeper: the cgroup does not).
//!
//! With `--net namespaces` the monitor and every data node are hosts of the formation's network:
//! each registers under its own address, the keepers reach the monitor at its address, and
//! `--pg-hba-lan` lets the network in. habench reaches the monitor through a door from the
//! monitor's own host (its loopback, as a local agent would), the nodes through theirs
//! (`pg/node_net.rs`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::autofailover::links::NodeLinks;
use crate::autofailover::monitor::Readback;
use crate::autofailover::{Autoctl, FormationSettings, FormationView, Monitor};
use crate::error::{Error, Result};
use crate::netns::Network;
use crate::pg::cgroup::TopologyGroup;
use crate::pg::host::{Host, Launch};
use crate::pg::ports::PortLease;
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv, Role};

/// How long the whole formation may take to form.
const FORM_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the monitor is asked while waiting.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Formation {
    // Fields drop in order: the keepers die before the monitor, the cgroups go, then the directory.
    keepers: Vec<Host>,
    /// Per data node, in the nodes' order, when the formation has links.
    links: Vec<NodeLinks>,
    nodes: Vec<Node>,
    monitor: Host,
    monitor_port: PortLease,
    /// `--net namespaces`: habench's door to the monitor, the network, and the node its rules
    /// cut from the others now (`partition-primary`).
    _monitor_door: Option<crate::link::LinkProxy>,
    net: Option<Arc<Network>>,
    cut_on_net: Option<String>,
    groups: TopologyGroup,
    version: Option<String>,
    /// Every `pgautofailover.*` setting of the monitor, read back after habench set its own.
    settings: Vec<(String, String)>,
    /// The formation's and the nodes' settings, read back once formed.
    readback: Readback,
    formed_ms: f64,
    dir: TopologyDir,
}

impl Formation {
    /// Starts the monitor, then one data node per name; returns once the monitor sees one
    /// primary and every other node a secondary of it. What was started is killed again if a
    /// step fails (the formation is dropped).
    /// `settings`: the monitor's (`pgautofailover.KEY`), set before the first node joins; each
    /// node's, given as it is created; `number_sync_standbys`, set once formed. `net`: the
    /// network whose hosts are the monitor (`monitor`) and the nodes (by name).
    /// Over 80 lines: the bring-up's steps in order, each failing with what it waited for.
    pub async fn up(
        env: Arc<PgEnv>,
        names: &[String],
        settings: &FormationSettings,
        net: Option<Arc<Network>>,
    ) -> Result<Formation> {
        if names.len() < 2 {
            return Err(Error::config(
                "--nodes",
                "pg_auto_failover takes 2 to 9 data nodes (one primary, 1-8 standbys)",
            ));
        }
        let autoctl = Autoctl::find(env.ha_bin.as_deref(), env.bin.dir())?;
        let dir = env.root.new_topology_dir("pg_auto_failover")?;
        let dir_name = dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let groups = TopologyGroup::create(&dir_name)?;
        let t0 = Instant::now();
        let monitor_port = crate::pg::ports::lease(&env.root.ports_dir())?;
        let home = dir.path().join("monitor");
        let addr_of = |name: &str| net.as_ref().map(|n| n.host(name).map(|h| h.addr)).transpose();
        let monitor_addr = addr_of(MONITOR)?;
        let hostname = |a: Option<std::net::Ipv4Addr>| a.map_or(crate::pg::conn::HOST.to_string(), |a| a.to_string());
        let args = monitor_args(&home.join("data"), monitor_port.port(), &hostname(monitor_addr));
        let mut monitor = host(&env, (&autoctl, &groups), MONITOR, &home, args)?;
        // The door dials the monitor's loopback inside its host, so its usual rules let it in.
        let monitor_door = match &net {
            Some(n) => {
                monitor = monitor.on_network(n.clone(), MONITOR);
                let p = monitor_port.port();
                Some(crate::pg::node_net::door(n, MONITOR, std::net::Ipv4Addr::LOCALHOST, p, p).await?)
            }
            None => None,
        };
        let keepers_monitor_uri = monitor_uri(&hostname(monitor_addr), monitor_port.port());
        let mut f = Formation {
            keepers: Vec::new(),
            links: Vec::new(),
            nodes: Vec::new(),
            monitor,
            monitor_port,
            _monitor_door: monitor_door,
            net: net.clone(),
            cut_on_net: None,
            groups,
            version: autoctl.version().await,
            settings: Vec::new(),
            readback: Readback::default(),
            formed_ms: 0.0,
            dir,
        };
        f.monitor.start()?;
        f.wait("the monitor answering", |_| true).await?;
        f.settings = f.monitor().configure(&settings.monitor).await?;
        for (i, name) in names.iter().enumerate() {
            let home = f.dir.path().join("nodes").join(name);
            let data = home.join("data");
            let mut node = Node::managed(env.clone(), name, data.clone(), home.join("pg_autoctl.log"))?;
            let mut args = if settings.links {
                let k = u8::try_from(i + 1).unwrap_or(u8::MAX);
                let l = NodeLinks::start(k, node.port(), f.monitor_port.port()).await?;
                let uri = monitor_uri(crate::pg::conn::HOST, l.monitor_port());
                let mut a = node_args(&data, node.port(), name, &uri, (&l.host().to_string(), false));
                a.extend(["--listen".into(), "127.0.0.1".into()]);
                f.links.push(l);
                a
            } else {
                if let Some(n) = &net {
                    node.join_network(n.clone()).await?;
                }
                node_args(&data, node.port(), name, &keepers_monitor_uri, (&hostname(addr_of(name)?), true))
            };
            args.extend(settings.node_args(name));
            let mut keeper = host(&env, (&autoctl, &f.groups), name, &home, args)?;
            if let Some(n) = &net {
                keeper = keeper.on_network(n.clone(), name);
            }
            keeper.start()?;
            f.keepers.push(keeper);
            f.nodes.push(node);
            // The first node initialises the primary; the standbys copy it, so it comes first.
            if i == 0 {
                f.wait("the first node running as a primary", |v| v.primary().is_some()).await?;
            }
        }
        let n = names.len();
        let formed = format!("{n} data nodes: one primary, the others secondaries");
        let mut view = f.wait(&formed, |v| v.is_formed(n)).await?;
        if let Some(k) = settings.number_sync_standbys {
            f.monitor().set_number_sync_standbys(k).await?;
            // The primary applies it (apply_settings), then the formation settles again.
            let applied = |v: &FormationView| v.is_formed(n) && v.nodes.iter().all(|x| x.goal != "apply_settings");
            view = f.wait(&format!("number_sync_standbys={k} applied"), applied).await?;
        }
        f.readback = f.monitor().formation_settings().await?;
        f.follow(&view);
        f.formed_ms = t0.elapsed().as_secs_f64() * 1e3;
        Ok(f)
    }

    /// The monitor's connection string, as habench reaches it (on a network: its door).
    pub fn monitor_uri(&self) -> String {
        monitor_uri(crate::pg::conn::HOST, self.monitor_port.port())
    }

    /// `--net namespaces`: the network the monitor and the nodes are hosts of.
    pub(crate) fn network(&self) -> Option<&Arc<Network>> {
        self.net.as_ref()
    }

    /// On a network: the node whose rules now cut it from the monitor and the other nodes
    /// (None once healed).
    pub(crate) fn mark_cut_on_net(&mut self, node: Option<String>) {
        self.cut_on_net = node;
    }

    /// Cuts (true) or heals the node's links (see `links.rs`); false when the formation has none.
    pub fn partition_node(&self, name: &str, cut: bool) -> Result<bool> {
        let i = self.nodes.iter().position(|n| n.name() == name).ok_or_else(|| Error::node(name, "no such node"))?;
        let Some(l) = self.links.get(i) else { return Ok(false) };
        l.cut(cut);
        Ok(true)
    }

    pub fn is_partitioned(&self, name: &str) -> bool {
        if self.cut_on_net.as_deref() == Some(name) {
            return true;
        }
        let i = self.nodes.iter().position(|n| n.name() == name);
        i.and_then(|i| self.links.get(i)).is_some_and(|l| l.is_cut())
    }

    /// The data nodes, in the order they joined.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn nodes_mut(&mut self) -> &mut [Node] {
        &mut self.nodes
    }

    /// The keeper host of data node `name`.
    pub(super) fn keeper_mut(&mut self, name: &str) -> Result<&mut Host> {
        self.keepers.iter_mut().find(|h| h.name() == name).ok_or_else(|| Error::node(name, "no such node"))
    }

    pub(super) fn keeper(&self, name: &str) -> Option<&Host> {
        self.keepers.iter().find(|h| h.name() == name)
    }

    pub(super) fn monitor_host(&self) -> &Host {
        &self.monitor
    }

    /// `pg_autoctl version` of the programs in use.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The monitor's `pgautofailover.*` settings in force.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The formation's and the nodes' settings as the monitor held them once formed.
    pub fn readback(&self) -> &Readback {
        &self.readback
    }

    /// From the monitor's start to the formation formed (ms).
    pub fn formed_ms(&self) -> f64 {
        self.formed_ms
    }

    /// The cgroup directory of host `name` (a data node, or "monitor").
    pub fn group_path(&self, name: &str) -> std::path::PathBuf {
        self.groups.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The monitor's view now (None: the monitor does not answer).
    pub async fn view(&self) -> Option<FormationView> {
        self.monitor().view().await
    }

    /// How to reach the monitor (without holding the formation).
    pub fn monitor(&self) -> Monitor {
        Monitor::local(self.monitor_port.port())
    }

    /// Gives each node the role the monitor assigned it.
    pub fn follow(&mut self, view: &FormationView) {
        let primary = view.primary().map(|p| p.name.clone());
        for n in &mut self.nodes {
            n.set_role(if primary.as_deref() == Some(n.name()) { Role::Primary } else { Role::Standby });
        }
    }

    /// Polls the monitor until `done` holds; fails when a host's program exits or after the
    /// formation's timeout, naming `what` and the last view.
    async fn wait(&mut self, what: &str, done: impl Fn(&FormationView) -> bool) -> Result<FormationView> {
        let deadline = Instant::now() + FORM_TIMEOUT;
        let mut last = None;
        loop {
            if let Some(v) = self.view().await {
                if done(&v) {
                    return Ok(v);
                }
                last = Some(v);
            }
            let hosts = std::iter::once(&mut self.monitor).chain(self.keepers.iter_mut());
            if let Some(h) = hosts.into_iter().find_map(|h| (!h.is_running()).then_some(h)) {
                let log = h.log_path().display().to_string();
                return Err(Error::node(h.name(), format!("pg_autoctl exited; its log {log}:\n{}", h.log_tail(20))));
            }
            if Instant::now() >= deadline {
                let seen = last.map_or("the monitor never answered".into(), |v| v.brief());
                return Err(Error::Timeout {
                    what: format!("pg_auto_failover: {what}; last seen: {seen}"),
                    waited: FORM_TIMEOUT,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The monitor's host name on a network.
pub(crate) const MONITOR: &str = "monitor";

/// `pg_autoctl create monitor ... --run`: initialises the monitor, then runs it.
fn monitor_args(data: &Path, port: u16, hostname: &str) -> Vec<String> {
    let mut a = vec!["create", "monitor", "--pgdata"].into_iter().map(String::from).collect::<Vec<_>>();
    a.push(data.display().to_string());
    a.extend(["--pgport".into(), port.to_string(), "--hostname".into(), hostname.into()]);
    a.extend(["--auth", "trust", "--no-ssl", "--run"].map(String::from));
    a
}

/// The monitor's connection string at `host:port`.
fn monitor_uri(host: &str, port: u16) -> String {
    format!("postgres://autoctl_node@{host}:{port}/pg_auto_failover?sslmode=disable")
}

/// `pg_autoctl create postgres ... --run`: registers the node under `hostname`, initialises it
/// (initdb on the first, a base backup of the primary on the others), then runs its keeper.
/// `lan`: the node's address is on one of its interfaces (loopback, or its host's on a network).
fn node_args(data: &Path, port: u16, name: &str, monitor: &str, (hostname, lan): (&str, bool)) -> Vec<String> {
    let mut a = vec!["create", "postgres", "--pgdata"].into_iter().map(String::from).collect::<Vec<_>>();
    a.push(data.display().to_string());
    a.extend(["--pgport".into(), port.to_string(), "--name".into(), name.into(), "--monitor".into(), monitor.into()]);
    a.extend(["--hostname".into(), hostname.into()]);
    // `--pg-hba-lan`: the clients (habench's, on 127.0.0.1 or the network's clients' address)
    // are let in with the same method. Behind links the node's address is on no interface,
    // which `--pg-hba-lan` looks for: the minimal rules (the monitor, the other nodes) are
    // kept, and the links connect from 127.0.0.1.
    if lan {
        a.push("--pg-hba-lan".into());
    }
    a.extend(["--auth", "trust", "--no-ssl", "--run"].map(String::from));
    a
}

/// A host whose program is `pg_autoctl` with `args`; its configuration, state and runtime
/// files stay under `home` (XDG directories), its log is `home/pg_autoctl.log`.
fn host(
    env: &PgEnv,
    (autoctl, groups): (&Autoctl, &TopologyGroup),
    name: &str,
    home: &Path,
    args: Vec<String>,
) -> Result<Host> {
    let mut dirs = Vec::new();
    for d in ["", "xdg", "xdg/config", "xdg/data", "xdg/run"] {
        let p = home.join(d);
        std::fs::create_dir_all(&p).map_err(|e| Error::io("creating", &p, e))?;
        env.user.own(&p, 0o700)?;
        dirs.push(p.display().to_string());
    }
    let launch = Launch {
        program: autoctl.path.clone(),
        args,
        env: vec![
            ("PATH".into(), format!("{}:/usr/bin:/bin", env.bin.dir().display())),
            ("XDG_CONFIG_HOME".into(), dirs[2].clone()),
            ("XDG_DATA_HOME".into(), dirs[3].clone()),
            ("XDG_RUNTIME_DIR".into(), dirs[4].clone()),
        ],
        cwd: home.to_path_buf(),
        log: home.join("pg_autoctl.log"),
    };
    Ok(Host::new(name, groups.host(name)?, launch, env.user.clone()))
}
