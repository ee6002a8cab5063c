//! A Patroni cluster started by habench: an etcd cluster, then one Patroni per node, each node
//! an emulated host (Patroni, its postgres and every child in one cgroup, as the servers' user).
//! Patroni bootstraps the cluster itself (initdb on the winner of the race, base backups on the
//! others) and decides everything after: habench only watches and breaks things.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::link::{LinkProxy, LinkSpec, LinkState};
use crate::patroni::config::NodeConfig;
use crate::patroni::etcd::{self, EtcdMember};
use crate::patroni::{http, ClusterView, EnginePrograms, PatroniSpec, Timing};
use crate::pg::cgroup::TopologyGroup;
use crate::pg::host::{Host, Launch};
use crate::pg::ports::PortLease;
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv};
use crate::topology::build;
use crate::topology::info::{EngineInfo, PatroniInfo, Phases};
use crate::topology::{Topology, TopologyKind, TopologySpec};

/// How long bootstrap (etcd, initdb, base backups, sync standby assigned) may take.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(180);
/// A REST call that takes longer counts as no answer.
const REST_TIMEOUT: Duration = Duration::from_millis(500);

/// One node's Patroni: its host, its REST port and, when the topology has them, the links
/// in front of it.
#[derive(Debug)]
struct NodeHost {
    host: Host,
    rest: PortLease,
    links: Option<NodeLinks>,
    /// `--net namespaces`: habench's door to the REST API (from the clients' host).
    _rest_door: Option<LinkProxy>,
}

/// Emulated links around one node: what reaches its postgres (clients, replicas) and its REST
/// API (the other members), and what it sends to each etcd member. Cutting all three is a
/// network partition of the node.
#[derive(Debug)]
struct NodeLinks {
    pg: LinkProxy,
    rest: LinkProxy,
    dcs: Vec<LinkProxy>,
}

impl NodeLinks {
    async fn start(pg_port: u16, rest_port: u16, etcd_ports: &[u16], seed: u64) -> Result<NodeLinks> {
        let link = |port: u16, k: u64| LinkProxy::start(port, LinkSpec::default(), seed * 100 + k);
        let io = |e: std::io::Error| Error::node("link", format!("starting a link emulator: {e}"));
        let pg = link(pg_port, 1).await.map_err(io)?;
        let rest = link(rest_port, 2).await.map_err(io)?;
        let mut dcs = Vec::new();
        for (i, p) in etcd_ports.iter().enumerate() {
            dcs.push(link(*p, 3 + i as u64).await.map_err(io)?);
        }
        Ok(NodeLinks { pg, rest, dcs })
    }

    fn all(&self) -> impl Iterator<Item = &LinkProxy> {
        [&self.pg, &self.rest].into_iter().chain(self.dcs.iter())
    }
}

#[derive(Debug)]
pub struct Patroni {
    // Fields drop in order: the hosts die before the DCS, the cgroups go, then the directory.
    nodes: Vec<Node>,
    hosts: Vec<NodeHost>,
    dcs: Vec<EtcdMember>,
    /// `--net namespaces`: the network every node and etcd member is a host of (it goes once
    /// their processes are gone).
    net: Option<Arc<crate::netns::Network>>,
    groups: TopologyGroup,
    spec: TopologySpec,
    info: PatroniInfo,
    primary: usize,
    /// `--rest-tls`: the CA, certificate and password of the REST API.
    tls: Option<crate::patroni::tls::RestTls>,
    /// habench's client for the REST API (trusting that CA, with the basic auth).
    rest: http::RestClient,
    dir: TopologyDir,
}

impl Patroni {
    /// Over 80 lines: the bring-up's steps in their order (etcd, certificates, configurations, the
    /// members, the leader, the replicas), each undone by the guard if a later one fails.
    pub(crate) async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<Patroni> {
        let engine = spec.engine.clone().unwrap_or_default();
        let programs = EnginePrograms::find(env.ha_bin.as_deref())?;
        let dir = env.root.new_topology_dir(spec.kind.as_str())?;
        let dir_name = dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let groups = TopologyGroup::create(&dir_name)?;
        let scope = dir_name.clone();
        let t0 = Instant::now();
        let names: Vec<String> = spec.node_names().into_iter().chain(etcd::member_names(engine.dcs_members)).collect();
        let net = build::network(&spec, &names).await?;
        let mut dcs =
            etcd::launch(&env, &programs.etcd, engine.dcs_members, (dir.path(), &groups), &scope, net.as_ref()).await?;
        let etcd_hosts: Vec<String> = dcs.iter().map(EtcdMember::node_endpoint).collect();
        let dynamic = engine.dynamic_config(spec.sync_count, postgres_section(&spec));
        let tls = match engine.rest_tls {
            true => Some(crate::patroni::tls::RestTls::create(dir.path(), &env.user)?),
            false => None,
        };
        let rest = match &tls {
            Some(t) => http::RestClient::new(&t.access()).map_err(|e| Error::config("--rest-tls", e))?,
            None => http::RestClient::plain(),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut nodes = Vec::new();
        let mut hosts = Vec::new();
        for (i, name) in spec.node_names().into_iter().enumerate() {
            let home = dir.path().join("nodes").join(&name);
            std::fs::create_dir_all(&home).map_err(|e| Error::io("creating", &home, e))?;
            env.user.own(&home, 0o700)?;
            let (data, _) = build::node_paths(dir.path(), &name)?;
            let log = home.join("patroni.log");
            let mut node = Node::managed(env.clone(), &name, data.clone(), log.clone())?;
            let rest = crate::pg::ports::lease(&env.root.ports_dir())?;
            // On a network: habench's doors (postgres: the node's own; REST: from the clients).
            let (addr, rest_door) = match &net {
                Some(n) => {
                    node.join_network(n.clone()).await?;
                    let a = n.host(&name)?.addr;
                    let door = crate::pg::node_net::door(n, crate::netns::CLIENTS, a, rest.port(), rest.port()).await?;
                    (a.to_string(), Some(door))
                }
                None => (crate::pg::conn::HOST.to_string(), None),
            };
            let links = match engine.links {
                true => {
                    let etcd_ports: Vec<u16> = dcs.iter().map(|m| m.client_port()).collect();
                    Some(NodeLinks::start(node.port(), rest.port(), &etcd_ports, i as u64 + 1).await?)
                }
                false => None,
            };
            let node_etcd: Vec<String> = match &links {
                Some(l) => l.dcs.iter().map(|p| format!("127.0.0.1:{}", p.port())).collect(),
                None => etcd_hosts.clone(),
            };
            let config = NodeConfig {
                scope: &scope,
                name: &name,
                host: &addr,
                rest_port: rest.port(),
                pg_port: node.port(),
                rest_connect_port: links.as_ref().map_or(rest.port(), |l| l.rest.port()),
                pg_connect_port: links.as_ref().map_or(node.port(), |l| l.pg.port()),
                data_dir: &data,
                pg_bin: env.bin.dir(),
                etcd_hosts: &node_etcd,
                dcs: &dynamic,
                parameters: &serde_json::Map::new(),
                pgpass: &home.join("pgpass"),
                rest_tls: tls.as_ref(),
            };
            let path = home.join("patroni.yml");
            let text = serde_json::to_string_pretty(&config.to_json()).expect("json");
            std::fs::write(&path, text).map_err(|e| Error::io("writing", &path, e))?;
            env.user.own(&path, 0o600)?;
            let launch = Launch {
                program: programs.patroni.clone(),
                args: vec![path.display().to_string()],
                env: vec![("PATH".into(), format!("{}:/usr/bin:/bin", env.bin.dir().display()))],
                cwd: home.clone(),
                log,
            };
            let mut host = Host::new(&name, groups.host(&name)?, launch, env.user.clone());
            if let Some(n) = &net {
                host = host.on_network(n.clone(), &name);
            }
            hosts.push(NodeHost { host, rest, links, _rest_door: rest_door });
            nodes.push(node);
        }
        // Patroni's own check of the configuration while etcd starts (both take ~0.7 s).
        let timing = engine.timing();
        let (refused, healthy) = tokio::join!(
            refuse_what_patroni_refuses(&programs, &hosts[0].host, &timing, net.is_some()),
            etcd::wait_healthy(&mut dcs)
        );
        refused?;
        healthy?;
        let dcs_ready_ms = t0.elapsed().as_secs_f64() * 1e3;
        let info = PatroniInfo {
            engine: "patroni+etcd".into(),
            patroni_version: programs.patroni_version(),
            etcd_version: programs.etcd_version(),
            scope,
            rest_urls: nodes.iter().zip(&hosts).map(|(n, h)| (n.name().to_string(), rest_url(scheme, h))).collect(),
            dcs_urls: dcs.iter().map(|m| m.client_url()).collect(),
            timing: engine.timing(),
            dynamic_config: serde_json::Value::Null,
            engine_notes: Vec::new(),
            bootstrap_ms: 0.0,
            phases_ms: Phases { dcs_ready: dcs_ready_ms, ..Phases::default() },
        };
        let mut topo = Patroni { nodes, hosts, dcs, net, groups, spec, info, primary: 0, tls, rest, dir };
        for h in &mut topo.hosts {
            h.host.start()?;
        }
        let view = topo.wait_healthy(BOOTSTRAP_TIMEOUT, Some(t0)).await?;
        topo.info.bootstrap_ms = t0.elapsed().as_secs_f64() * 1e3;
        topo.follow(&view);
        topo.info.dynamic_config = topo.rest_get("/config").await.and_then(|r| r.json()).unwrap_or_default();
        topo.info.engine_notes = topo.engine_notes();
        Ok(topo)
    }

    /// `--net namespaces`: the network its nodes and etcd members are hosts of.
    pub(crate) fn network(&self) -> Option<&Arc<crate::netns::Network>> {
        self.net.as_ref()
    }

    /// The etcd members' names (their hosts on a network).
    pub(crate) fn dcs_names(&self) -> Vec<String> {
        self.dcs.iter().map(|m| m.name().to_string()).collect()
    }

    pub(crate) fn engine_spec(&self) -> PatroniSpec {
        self.spec.engine.clone().unwrap_or_default()
    }

    /// The cluster as the first node that answers sees it.
    pub(crate) async fn cluster(&self) -> Option<ClusterView> {
        self.rest_get("/cluster").await.and_then(|r| ClusterView::parse(&r.body))
    }

    /// Polls until a leader runs, every replica streams on its timeline and the synchronous
    /// standbys the mode asks for are assigned.
    /// With `bring_up` (its start), the first sight of each step is recorded in the phases.
    pub(crate) async fn wait_healthy(&mut self, timeout: Duration, bring_up: Option<Instant>) -> Result<ClusterView> {
        let deadline = Instant::now() + timeout;
        let replicas = self.nodes.len() - 1;
        let sync = match self.engine_spec().sync_mode {
            crate::patroni::SyncMode::Off => 0,
            _ => usize::from(self.spec.sync_count),
        };
        let mut last = ClusterView::default();
        loop {
            if let Some(view) = self.cluster().await {
                if let Some(t0) = bring_up {
                    let now = t0.elapsed().as_secs_f64() * 1e3;
                    let p = &mut self.info.phases_ms;
                    if p.leader == 0.0 && view.leader().is_some() {
                        p.leader = now;
                    }
                    if p.streaming == 0.0 && view.is_healthy(replicas, 0) {
                        p.streaming = now;
                    }
                }
                if view.is_healthy(replicas, sync) {
                    if let Some(t0) = bring_up {
                        self.info.phases_ms.sync_assigned = t0.elapsed().as_secs_f64() * 1e3;
                    }
                    return Ok(view);
                }
                last = view;
            }
            if let Some(h) = self.hosts.iter_mut().find_map(|h| (!h.host.is_running()).then_some(h)) {
                return Err(Error::node(
                    h.host.name(),
                    format!("Patroni exited; its log {}:\n{}", h.host.log_path().display(), h.host.log_tail(20)),
                ));
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "Patroni cluster: a leader, {replicas} replica(s) streaming, {sync} sync standby(s); last seen: {}",
                        last.brief()
                    ),
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Makes the leader of `view` the topology's primary (it changes behind habench's back).
    pub(crate) fn follow(&mut self, view: &ClusterView) {
        if let Some(leader) = view.leader() {
            if let Some(i) = self.nodes.iter().position(|n| n.name() == leader.name) {
                self.primary = i;
            }
        }
    }

    /// `GET path` on the first node whose Patroni answers.
    pub(crate) async fn rest_get(&self, path: &str) -> Option<http::Response> {
        for (_, url) in &self.info.rest_urls {
            if let Ok(r) = self.rest.request(url, "GET", path, None, REST_TIMEOUT).await {
                return Some(r);
            }
        }
        None
    }

    /// `method path` on the named node's Patroni.
    pub(crate) async fn rest_call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<http::Response> {
        let url = self
            .info
            .rest_urls
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, u)| u.clone())
            .ok_or_else(|| Error::node(node, "no such node"))?;
        self.rest
            .request(&url, method, path, body, timeout)
            .await
            .map_err(|e| Error::node(node, format!("Patroni REST {method} {path}: {e}")))
    }

    pub(crate) fn rest_urls(&self) -> Vec<(String, String)> {
        self.info.rest_urls.clone()
    }

    /// habench's client for the REST API (with `--rest-tls`: trusting its CA, with its auth).
    pub(crate) fn rest_client(&self) -> http::RestClient {
        self.rest.clone()
    }

    fn host_of(&self, node: &str) -> Result<&NodeHost> {
        let i = self.nodes.iter().position(|n| n.name() == node).ok_or_else(|| Error::node(node, "no such node"))?;
        Ok(&self.hosts[i])
    }

    fn host_of_mut(&mut self, node: &str) -> Result<&mut Host> {
        let i = self.nodes.iter().position(|n| n.name() == node).ok_or_else(|| Error::node(node, "no such node"))?;
        Ok(&mut self.hosts[i].host)
    }

    /// Every process of the node (Patroni, postgres, children) killed at once.
    pub(crate) async fn crash_node(&mut self, node: &str) -> Result<usize> {
        Ok(self.host_of_mut(node)?.crash_async().await)
    }

    /// SIGKILL to the node's postmaster alone; Patroni keeps running.
    pub(crate) fn kill_postmaster(&mut self, node: &str) -> Result<u32> {
        let n = self.node(node).ok_or_else(|| Error::node(node, "no such node"))?;
        let pm = crate::pg::workdir::running_postmaster(n.data_dir())
            .ok_or_else(|| Error::node(node, "no postmaster running"))?;
        crate::pg::procs::signal(pm, nix::sys::signal::Signal::SIGKILL);
        Ok(pm.pid)
    }

    /// Freezes (true) or thaws every process of the node.
    pub(crate) fn freeze_node(&mut self, node: &str, frozen: bool) -> Result<()> {
        self.host_of_mut(node)?.freeze(frozen)
    }

    pub(crate) fn is_frozen(&self, node: &str) -> bool {
        self.host_of(node).is_ok_and(|h| h.host.is_frozen())
    }

    /// SIGTERM to the node's Patroni (it stops its postgres and releases the leader key), then,
    /// once it has exited, Patroni started again. Returns how long the stop took.
    pub(crate) async fn restart_engine(&mut self, node: &str) -> Result<Duration> {
        self.host_of_mut(node)?.restart(Duration::from_secs(120)).await
    }

    /// Cuts (true) or heals every link of the node: clients and replicas cannot reach its
    /// postgres, the other members its REST API, and it cannot reach the DCS. Returns false when
    /// the topology has no links.
    pub(crate) fn partition_node(&mut self, node: &str, cut: bool) -> Result<bool> {
        let Some(links) = &self.host_of(node)?.links else { return Ok(false) };
        for l in links.all() {
            l.set_state(if cut { LinkState::Blackhole } else { LinkState::Up });
        }
        Ok(true)
    }

    pub(crate) fn is_partitioned(&self, node: &str) -> bool {
        self.host_of(node).ok().and_then(|h| h.links.as_ref()).is_some_and(|l| l.pg.state() == LinkState::Blackhole)
    }

    /// Freezes (true) or thaws every etcd member: the DCS is gone, no error, no answer.
    pub(crate) fn freeze_dcs(&mut self, frozen: bool) -> Result<()> {
        for m in &self.dcs {
            m.host.freeze(frozen)?;
        }
        Ok(())
    }

    pub(crate) fn dcs_frozen(&self) -> bool {
        self.dcs.iter().any(|m| m.host.is_frozen())
    }

    /// Patroni's own words where it adjusted or refused a setting.
    fn engine_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for h in &self.hosts {
            let text = std::fs::read_to_string(h.host.log_path()).unwrap_or_default();
            for line in text.lines() {
                let interesting = line.contains("can't be smaller")
                    || line.contains("Violated the rule")
                    || line.contains("didn't pass validation");
                if interesting {
                    let msg = line.split_once(": ").map(|(_, m)| m).unwrap_or(line).trim().to_string();
                    if !notes.contains(&msg) {
                        notes.push(msg);
                    }
                }
            }
        }
        notes
    }

    /// A `--cluster` file that drives this cluster from another habench process: each node's
    /// DSN and REST URL, and commands that act on its cgroup (crash, pause, resume), its
    /// postmaster (kill) and the DCS members' cgroups (pause, resume).
    pub(crate) fn cluster_file(&self) -> String {
        use crate::topology::cluster_file::{node_commands, q};
        let mut out = format!(
            "# Patroni cluster {} started by `habench topology up patroni` (pid {}).\n\
             # Use it with `habench run --cluster FILE` while that process runs.\n",
            self.info.scope,
            std::process::id()
        );
        for n in &self.nodes {
            let group = self.groups.path().join(n.name());
            let rest = self.info.rest_urls.iter().find(|(name, _)| name == n.name()).map(|(_, u)| u.clone());
            out.push_str(&format!("\n[[nodes]]\nname = {}\ndsn = {}\n", q(n.name()), q(&n.dsn())));
            if let Some(url) = rest {
                out.push_str(&format!("patroni = {}\n", q(&url)));
            }
            out.push_str(&node_commands(&group, n.data_dir()));
        }
        let freeze = |v: u8| {
            self.dcs
                .iter()
                .map(|m| format!("echo {v} > {}", m.host.group().path().join("cgroup.freeze").display()))
                .collect::<Vec<_>>()
                .join(" && ")
        };
        out.push_str(&format!("\n[dcs]\npause = {}\nresume = {}\n", q(&freeze(1)), q(&freeze(0))));
        if let Some(t) = &self.tls {
            // The REST API's CA and basic auth (this file holds the password: keep it private).
            out.push_str(&format!(
                "\n[rest]\nca_file = {}\nusername = {}\npassword = {}\n",
                q(&t.ca_file.display().to_string()),
                q(crate::patroni::tls::REST_USER),
                q(t.password.expose())
            ));
        }
        out
    }
}

fn rest_url(scheme: &str, h: &NodeHost) -> String {
    format!("{scheme}://{}:{}", crate::pg::conn::HOST, h.rest.port())
}

/// `bootstrap.dcs.postgresql`: habench's settings for every node (the ones Patroni does not own),
/// then the user's `--pg-set`.
fn postgres_section(spec: &TopologySpec) -> serde_json::Value {
    let mut params = serde_json::Map::new();
    let ours = build::base_settings(spec, "patroni");
    for (k, v) in ours.iter().chain(spec.pg_settings.iter()) {
        // Patroni sets these from its own configuration (listen, scope).
        if matches!(k, "listen_addresses" | "cluster_name" | "port") {
            continue;
        }
        params.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    serde_json::json!({ "use_pg_rewind": true, "use_slots": true, "parameters": params })
}

/// `patroni --validate-config` on a node's file: what it refuses is refused here, in its words
/// (its complaints about loopback addresses, which it rejects at validation but accepts at run
/// time, and about the DCS not yet reachable, are not refusals).
/// Patroni's own check of the configuration. On a network the addresses are the nodes' own,
/// which this machine's namespace has not: the validator's "already in use" for them says
/// nothing and is left out.
async fn refuse_what_patroni_refuses(
    programs: &EnginePrograms,
    host: &Host,
    timing: &Timing,
    on_network: bool,
) -> Result<()> {
    let Some(config) = host_config_path(host) else { return Ok(()) };
    let out = tokio::process::Command::new(&programs.patroni)
        .arg("--validate-config")
        .arg(&config)
        .output()
        .await
        .map_err(|e| Error::io("running", &programs.patroni, e))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let refusals: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("didn't pass validation"))
        .filter(|l| !l.contains("must not contain") && !l.contains("is not reachable"))
        .filter(|l| !(on_network && l.contains("is already in use")))
        .collect();
    if refusals.is_empty() {
        return Ok(());
    }
    // Its validator says "Wrong value"; its rules say why.
    let rules = if timing.adjusted.is_empty() {
        String::new()
    } else {
        format!(" (Patroni's rules: {})", timing.adjusted.join("; "))
    };
    Err(Error::config("--engine-set", format!("Patroni refuses the configuration: {}{rules}", refusals.join("; "))))
}

fn host_config_path(host: &Host) -> Option<std::path::PathBuf> {
    Some(host.log_path().parent()?.join("patroni.yml"))
}

impl Topology for Patroni {
    fn kind(&self) -> TopologyKind {
        TopologyKind::Patroni
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
    fn engine(&self) -> Option<EngineInfo> {
        Some(EngineInfo::Patroni(Box::new(self.info.clone())))
    }
    fn read_nodes(&self) -> Vec<&Node> {
        self.nodes.iter().enumerate().filter(|(i, _)| *i != self.primary).map(|(_, n)| n).collect()
    }
    fn client_port(&self, node: &Node) -> u16 {
        let i = self.nodes.iter().position(|n| n.name() == node.name());
        i.and_then(|i| self.hosts[i].links.as_ref()).map_or(node.clients_port(), |l| l.pg.port())
    }
}
