//! A primary and its standbys: `sync` (Always On with synchronous commit), `async`, and
//! `log-shipping` (a DR standby that only restores WAL from an archive folder).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv, Role, Settings};
use crate::topology::build;
use crate::topology::{Topology, TopologyKind, TopologySpec};

const STREAMING_TIMEOUT: Duration = Duration::from_secs(60);
const PROMOTE_TIMEOUT: Duration = Duration::from_secs(60);
/// Re-send pg_promote() this often: a promote that lands just after the walreceiver died can
/// otherwise sit out a whole retry interval.
const PROMOTE_RESEND: Duration = Duration::from_millis(500);

/// How a standby came to follow a new primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepointMethod {
    /// Its WAL was a prefix of the new timeline: it just follows.
    Followed,
    /// It had WAL past the promotion point: pg_rewind took it back.
    Rewound,
    /// pg_rewind could not: a fresh pg_basebackup.
    Recloned,
    /// It could not be made to follow; it is left down, out of the synchronous list.
    Failed,
}

/// What a promotion did.
#[derive(Debug, Clone, Serialize)]
pub struct Promotion {
    pub promoted: String,
    /// pg_promote() sent -> the node left recovery.
    pub promote_ms: f64,
    /// Each other standby, how it was re-pointed and how long it took until it streamed again.
    pub followers: Vec<Follower>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Follower {
    pub name: String,
    pub method: RepointMethod,
    pub repoint_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct Replicated {
    nodes: Vec<Node>,
    primary: usize,
    spec: TopologySpec,
    /// Log-shipping only: where the primary archives and the standby restores from.
    archive: Option<PathBuf>,
    /// Standby name -> the link emulator its replication connection goes through.
    links: std::collections::BTreeMap<String, crate::link::LinkProxy>,
    /// Node name -> the link on its client path (with `client_link`).
    client_links: std::collections::BTreeMap<String, crate::link::LinkProxy>,
    /// `--net namespaces`: the network the nodes are hosts of (gone after them: fields drop in
    /// order).
    net: Option<Arc<crate::netns::Network>>,
    dir: TopologyDir,
}

impl Replicated {
    /// The running standby with the most WAL received (ties: the first in topology order, which
    /// is the synchronous priority order): the one to promote.
    pub(crate) async fn most_advanced_standby(&self) -> Result<String> {
        let mut best: Option<(crate::pg::Lsn, String)> = None;
        for s in self.standbys() {
            if s.role() != Role::Standby {
                continue;
            }
            if let Ok(lsn) = s.current_lsn().await {
                if best.as_ref().is_none_or(|(b, _)| lsn > *b) {
                    best = Some((lsn, s.name().to_string()));
                }
            }
        }
        best.map(|(_, n)| n).ok_or_else(|| Error::node("standbys", "no running standby to promote"))
    }

    /// Over 80 lines: the bring-up's steps in order (network, primary, links, standbys cloned,
    /// started, named, streaming, client links).
    pub(crate) async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<Replicated> {
        let dir = env.root.new_topology_dir(spec.kind.as_str())?;
        let archive = if spec.kind == TopologyKind::LogShipping {
            let a = dir.path().join("archive");
            env.user.create_private_dir(&a)?;
            Some(a)
        } else {
            None
        };
        let t0 = Instant::now();
        let names: Vec<String> = (1..=spec.standbys)
            .map(|i| if spec.kind == TopologyKind::LogShipping { "dr".to_string() } else { format!("s{i}") })
            .collect();
        let all: Vec<String> = std::iter::once("primary".to_string()).chain(names.iter().cloned()).collect();
        let net = build::network(&spec, &all).await?;
        let primary = build::new_primary(&env, dir.path(), "primary").await?;
        tracing::debug!(elapsed = ?t0.elapsed(), "primary data directory ready");
        let mut primary = primary;
        primary.set_cpus(spec.pin.get("primary").cloned());
        if let Some(net) = &net {
            primary.join_network(net.clone()).await?;
        }
        let mut links = std::collections::BTreeMap::new();
        for (i, (name, link)) in spec.links.iter().enumerate() {
            // On a network the link lives in the standby's host and dials the primary from there.
            let started = match (&net, primary.net_addr()) {
                (Some(n), Some(addr)) => {
                    crate::link::LinkProxy::start_in(n.clone(), name, (addr, primary.port()), *link, i as u64 + 1).await
                }
                _ => crate::link::LinkProxy::start(primary.port(), *link, i as u64 + 1).await,
            };
            let proxy = started.map_err(|e| Error::node(name, format!("starting its link emulator: {e}")))?;
            links.insert(name.clone(), proxy);
        }
        let mut topo = Replicated {
            nodes: vec![primary],
            primary: 0,
            spec,
            archive,
            links,
            client_links: std::collections::BTreeMap::new(),
            net,
            dir,
        };
        topo.configure_primary(0);
        topo.nodes[0].start().await?;
        tracing::debug!(elapsed = ?t0.elapsed(), "primary started");
        // Clone every standby at once, then start them all and wait for each.
        let mut paths = Vec::new();
        for name in &names {
            paths.push(build::node_paths(topo.dir.path(), name)?);
        }
        let clones = paths.iter().map(|(data, _)| build::base_backup(&env, &topo.nodes[0], data));
        futures_util::future::try_join_all(clones).await?;
        tracing::debug!(elapsed = ?t0.elapsed(), "standbys cloned");
        for (name, (data, log)) in names.iter().zip(paths) {
            let mut node = Node::new(env.clone(), name, data, log, Role::Standby)?;
            if let Some(net) = &topo.net {
                node.join_network(net.clone()).await?;
            }
            topo.nodes.push(node);
            let idx = topo.nodes.len() - 1;
            topo.nodes[idx].set_cpus(topo.spec.pin.get(name).cloned());
            topo.configure_standby(idx)?;
            topo.nodes[idx].spawn()?;
        }
        for node in &mut topo.nodes[1..] {
            node.wait_ready(crate::pg::node::START_TIMEOUT).await?;
        }
        tracing::debug!(elapsed = ?t0.elapsed(), "standbys started");
        // Only now are the standbys known: name them in the primary's synchronous list.
        topo.configure_primary(0);
        topo.nodes[0].write_conf()?;
        topo.nodes[0].execute("SELECT pg_reload_conf()").await?;
        topo.wait_standbys_streaming().await?;
        tracing::debug!(elapsed = ?t0.elapsed(), "standbys streaming");
        if let Some(link) = topo.spec.client_link {
            for (i, n) in topo.nodes.iter().enumerate() {
                // On a network the clients' line: from the clients' host to the node's address.
                let started = match (&topo.net, n.net_addr()) {
                    (Some(net), Some(addr)) => {
                        let dial =
                            crate::link::Dial::From { net: net.clone(), host: crate::netns::CLIENTS.into(), addr };
                        let at = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                        crate::link::LinkProxy::start_via(at, dial, n.port(), link, 100 + i as u64).await
                    }
                    _ => crate::link::LinkProxy::start(n.port(), link, 100 + i as u64).await,
                };
                let proxy = started.map_err(|e| Error::node(n.name(), format!("starting its client link: {e}")))?;
                topo.client_links.insert(n.name().to_string(), proxy);
            }
        }
        Ok(topo)
    }

    /// Standby names in topology order, excluding the primary and nodes that are down.
    fn standby_names(&self, except: &[usize]) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|i| *i != self.primary && !except.contains(i) && self.nodes[*i].role() == Role::Standby)
            .map(|i| self.nodes[i].name().to_string())
            .collect()
    }

    fn node_settings(&self, idx: usize) -> Settings {
        build::base_settings(&self.spec, self.nodes[idx].name())
    }

    /// Settings of the node at `idx` as the primary.
    fn configure_primary(&mut self, idx: usize) {
        let mut s = self.node_settings(idx);
        let names = self.standby_names(&[idx]);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        s.set("synchronous_standby_names", self.spec.standby_names(&refs));
        self.archive_settings(&mut s);
        s.extend(&self.spec.pg_settings);
        *self.nodes[idx].settings_mut() = s;
    }

    /// Log-shipping: every node archives when it is primary. Standbys carry the settings too
    /// (`on` does nothing in recovery), since `archive_mode` needs a restart: a promoted DR
    /// standby then ships its WAL, timeline history included, and the old primary can follow.
    fn archive_settings(&self, s: &mut Settings) {
        if let Some(archive) = &self.archive {
            let a = archive.display();
            s.set("archive_mode", "on")
                // Copy under a temporary name, then rename: a restore never sees half a segment.
                .set("archive_command", format!("test ! -f {a}/%f && cp %p {a}/%f.tmp && mv {a}/%f.tmp {a}/%f"))
                .set("archive_timeout", format!("{}s", self.spec.archive_timeout.as_secs()));
        }
    }

    /// Settings and signal file of the node at `idx` as a standby of the current primary.
    fn configure_standby(&mut self, idx: usize) -> Result<()> {
        let mut s = self.node_settings(idx);
        match &self.archive {
            Some(archive) => {
                s.set("restore_command", format!("cp {}/%f %p", archive.display()));
                self.archive_settings(&mut s);
            }
            None => {
                let primary_port = self.nodes[self.primary].port();
                let primary_addr = self.nodes[self.primary].net_addr();
                // Through the node's link when it has one (the link follows the primary): on a
                // network the link is on the standby's own loopback; without one, the primary's
                // address on a network.
                let (host, port) = match self.links.get(self.nodes[idx].name()) {
                    Some(link) => {
                        // A partition cut the link to the old primary; the new one is reachable.
                        if link.upstream() != primary_port {
                            link.set_state(crate::link::LinkState::Up);
                        }
                        link.set_upstream(primary_port);
                        if let Some(a) = primary_addr {
                            link.set_upstream_addr(a);
                        }
                        (None, link.port())
                    }
                    None => (primary_addr, primary_port),
                };
                let conninfo = build::primary_conninfo(host, port, self.nodes[idx].name());
                s.set("primary_conninfo", conninfo);
            }
        }
        s.extend(&self.spec.pg_settings);
        let node = &mut self.nodes[idx];
        *node.settings_mut() = s;
        node.set_role(Role::Standby);
        build::write_standby_signal(node.env(), node.data_dir())
    }

    async fn wait_standbys_streaming(&self) -> Result<()> {
        if self.archive.is_some() {
            return Ok(()); // restore-only: there is no stream to wait for
        }
        let names = self.standby_names(&[]);
        let expected: Vec<(String, Option<&'static str>)> =
            names.iter().enumerate().map(|(i, n)| (n.clone(), Some(self.spec.expected_sync_state(i)))).collect();
        build::wait_streaming(&self.nodes[self.primary], &expected, STREAMING_TIMEOUT).await
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.name() == name)
            .ok_or_else(|| Error::node(name, "no such node in this topology"))
    }

    /// The link emulators of the standbys' replication connections, by standby name.
    /// `--net namespaces`: the network the nodes are hosts of.
    pub(crate) fn network(&self) -> Option<&Arc<crate::netns::Network>> {
        self.net.as_ref()
    }

    pub(crate) fn links(&self) -> impl Iterator<Item = (&str, &crate::link::LinkProxy)> {
        self.links.iter().map(|(n, l)| (n.as_str(), l))
    }

    pub(crate) fn link(&self, name: &str) -> Option<&crate::link::LinkProxy> {
        self.links.get(name)
    }

    /// The replication links that lead to `node` now.
    pub(crate) fn links_to(&self, node: &str) -> impl Iterator<Item = (&str, &crate::link::LinkProxy)> {
        let port = self.node(node).map(|n| n.port());
        self.links().filter(move |(_, l)| Some(l.upstream()) == port)
    }

    /// The link on a node's client path, when the topology has client links.
    pub(crate) fn client_link(&self, name: &str) -> Option<&crate::link::LinkProxy> {
        self.client_links.get(name)
    }

    /// The standbys (every node but the primary).
    pub fn standbys(&self) -> impl Iterator<Item = &Node> {
        let p = self.primary;
        self.nodes.iter().enumerate().filter(move |(i, _)| *i != p).map(|(_, n)| n)
    }

    /// Promotes standby `name` to primary. With `fenced`, the old primary must be down already
    /// (killed, crashed or stopped): two writable primaries would split the brain. Without
    /// (`--no-fence`, the split-brain experiment), the old primary may still run: it is marked
    /// down and left as it is. The new primary gets its own `synchronous_standby_names` over
    /// the standbys left, and every other running standby is re-pointed at it (followed,
    /// rewound or re-cloned).
    pub async fn promote(&mut self, name: &str, fenced: bool) -> Result<Promotion> {
        let idx = self.index_of(name)?;
        let old = self.primary;
        if idx == old {
            return Err(Error::node(name, "is the primary already"));
        }
        if fenced && self.nodes[old].is_running() {
            return Err(Error::node(
                self.nodes[old].name(),
                "the primary still runs: kill, crash or stop it before promoting a standby (two primaries would both accept writes)",
            ));
        }
        let t0 = Instant::now();
        promote_node(&self.nodes[idx]).await?;
        let promote_ms = t0.elapsed().as_secs_f64() * 1e3;
        self.nodes[old].set_role(Role::Down);
        self.primary = idx;
        self.configure_primary(idx);
        self.nodes[idx].set_role(Role::Primary);
        self.nodes[idx].write_conf()?;
        self.nodes[idx].execute("SELECT pg_reload_conf()").await?;
        let mut followers = Vec::new();
        for j in 0..self.nodes.len() {
            if j == idx || j == old || self.nodes[j].role() != Role::Standby {
                continue;
            }
            let t = Instant::now();
            let (method, error) = match self.repoint_index(j).await {
                Ok(m) => (m, None),
                Err(e) => (RepointMethod::Failed, Some(e.to_string())),
            };
            followers.push(Follower {
                name: self.nodes[j].name().to_string(),
                method,
                repoint_ms: t.elapsed().as_secs_f64() * 1e3,
                error,
            });
        }
        if followers.iter().any(|f| f.method == RepointMethod::Failed) {
            // Name only the standbys that follow in the new primary's synchronous list.
            self.configure_primary(idx);
            self.nodes[idx].write_conf()?;
            self.nodes[idx].execute("SELECT pg_reload_conf()").await?;
        }
        Ok(Promotion { promoted: name.to_string(), promote_ms, followers })
    }

    /// Makes node `name` (a standby, or a former primary that is down) a standby of the current
    /// primary and waits until it streams (or, log-shipping, until it runs).
    pub async fn repoint(&mut self, name: &str) -> Result<RepointMethod> {
        let idx = self.index_of(name)?;
        if idx == self.primary {
            return Err(Error::node(name, "is the primary; promote another node first"));
        }
        let method = self.repoint_index(idx).await?;
        // The primary's sync list may now include this node again.
        self.configure_primary(self.primary);
        let p = &self.nodes[self.primary];
        p.write_conf()?;
        p.execute("SELECT pg_reload_conf()").await?;
        Ok(method)
    }

    async fn repoint_index(&mut self, idx: usize) -> Result<RepointMethod> {
        let env = self.nodes[idx].env().clone();
        if self.nodes[idx].is_running() {
            self.nodes[idx].stop().await?;
        }
        let source = self.nodes[self.primary].dsn();
        // pg_rewind reads the source's timeline from its control file, which a fresh promotion
        // updates only at its first checkpoint: without one, a node that diverged would be
        // judged a plain follower and loop on "new timeline forked off ... before current
        // recovery point".
        self.nodes[self.primary].execute("CHECKPOINT").await?;
        let data = self.nodes[idx].data_dir().to_string_lossy().into_owned();
        let method =
            match env.run_tool("pg_rewind", &["--target-pgdata", &data, "--source-server", &source, "--no-sync"]).await
            {
                Ok(out) if out.contains("no rewind required") => RepointMethod::Followed,
                Ok(_) => RepointMethod::Rewound,
                Err(e) => {
                    tracing::warn!("pg_rewind of {} failed, re-cloning: {e}", self.nodes[idx].name());
                    let data_dir = self.nodes[idx].data_dir().to_path_buf();
                    build::base_backup(&env, &self.nodes[self.primary], &data_dir).await?;
                    RepointMethod::Recloned
                }
            };
        self.configure_standby(idx)?;
        self.nodes[idx].start().await?;
        if self.archive.is_none() {
            // Any sync_state: the caller updates the primary's list afterwards.
            let expected = [(self.nodes[idx].name().to_string(), None)];
            let streaming = build::wait_streaming(&self.nodes[self.primary], &expected, STREAMING_TIMEOUT).await;
            if let Err(e) = streaming.and(self.wait_on_primary_timeline(idx).await) {
                // Never leave a node that cannot follow in the synchronous list.
                self.nodes[idx].crash().await;
                self.nodes[idx].set_role(Role::Down);
                return Err(e);
            }
        }
        Ok(method)
    }

    /// Polls until the standby at `idx` receives WAL on the primary's current timeline.
    async fn wait_on_primary_timeline(&self, idx: usize) -> Result<()> {
        let primary = &self.nodes[self.primary];
        let tli = primary.query_text("SELECT timeline_id FROM pg_control_checkpoint()").await?.unwrap_or_default();
        let standby = &self.nodes[idx];
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = None;
        while Instant::now() < deadline {
            seen = standby
                .query_text("SELECT received_tli FROM pg_stat_wal_receiver WHERE status = 'streaming'")
                .await
                .ok()
                .flatten();
            if seen.as_deref() == Some(tli.as_str()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(Error::node(
            standby.name(),
            format!("does not follow timeline {tli} of {} (receiving timeline {seen:?})", primary.name()),
        ))
    }

    /// Takes a dead or hung standby out of the synchronous list (like an availability group
    /// that stops waiting for a failed secondary): its processes are killed and the primary's
    /// `synchronous_standby_names` is rewritten without it, which releases waiting commits.
    pub(crate) async fn drop_standby(&mut self, name: &str) -> Result<()> {
        let idx = self.index_of(name)?;
        if idx == self.primary {
            return Err(Error::node(name, "is the primary, not a standby"));
        }
        self.nodes[idx].crash().await;
        self.nodes[idx].set_role(Role::Down);
        self.configure_primary(self.primary);
        let p = &self.nodes[self.primary];
        p.write_conf()?;
        p.execute("SELECT pg_reload_conf()").await
    }

    /// Starts a standby of the current primary again on its own data directory (it replays
    /// what it missed) and names it in the synchronous list again once it streams.
    pub(crate) async fn restart_standby(&mut self, name: &str) -> Result<()> {
        let idx = self.index_of(name)?;
        if idx == self.primary {
            return Err(Error::node(name, "is the primary, not a standby"));
        }
        if self.nodes[idx].is_running() {
            self.nodes[idx].crash().await;
        }
        self.configure_standby(idx)?;
        self.nodes[idx].start().await?;
        if self.archive.is_none() {
            let expected = [(name.to_string(), None)];
            build::wait_streaming(&self.nodes[self.primary], &expected, STREAMING_TIMEOUT).await?;
        }
        self.configure_primary(self.primary);
        let p = &self.nodes[self.primary];
        p.write_conf()?;
        p.execute("SELECT pg_reload_conf()").await
    }

    /// A forced failover's last resort: when no standby runs, the first stopped standby (in
    /// node order; with FIRST 1 of 1, the only one) is started on its own data directory as a
    /// standby of the lost primary, so that it replays all the WAL it has and can be promoted.
    /// None when there is no stopped standby.
    pub(crate) async fn start_stopped_standby(&mut self) -> Result<Option<String>> {
        let p = self.primary;
        let Some(idx) = (0..self.nodes.len()).find(|&i| i != p && self.nodes[i].role() == Role::Down) else {
            return Ok(None);
        };
        if self.nodes[idx].is_running() {
            return Ok(None);
        }
        self.configure_standby(idx)?;
        self.nodes[idx].start().await?;
        Ok(Some(self.nodes[idx].name().to_string()))
    }

    pub fn archive_dir(&self) -> Option<&Path> {
        self.archive.as_deref()
    }
}

/// Sends pg_promote() (again every 500 ms) until the node has left recovery.
async fn promote_node(node: &Node) -> Result<()> {
    let deadline = Instant::now() + PROMOTE_TIMEOUT;
    let mut last_sent: Option<Instant> = None;
    loop {
        if last_sent.is_none_or(|t| t.elapsed() >= PROMOTE_RESEND) {
            // wait => false: we poll ourselves, at a finer grain than pg_promote's 1 s default.
            let _ = node.execute("SELECT pg_promote(wait => false)").await;
            last_sent = Some(Instant::now());
        }
        if let Ok(false) = node.in_recovery().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("{} to leave recovery after pg_promote()", node.name()),
                waited: PROMOTE_TIMEOUT,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Topology for Replicated {
    fn kind(&self) -> TopologyKind {
        self.spec.kind
    }
    fn spec(&self) -> &TopologySpec {
        &self.spec
    }
    fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    fn nodes_mut(&mut self) -> &mut [Node] {
        &mut self.nodes
    }
    fn dir(&self) -> &Path {
        self.dir.path()
    }
    fn primary(&self) -> &Node {
        &self.nodes[self.primary]
    }
    fn client_port(&self, node: &Node) -> u16 {
        self.client_links.get(node.name()).map_or(node.clients_port(), |l| l.port())
    }

    fn read_nodes(&self) -> Vec<&Node> {
        self.standbys().collect()
    }
}
