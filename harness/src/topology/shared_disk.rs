//! Shared-disk failover (a SQL Server failover-cluster instance): two nodes over ONE data
//! directory. Only one runs at a time; a takeover fences the active node (every process of it
//! killed and gone), then starts postgres on the same directory as the passive node, which runs
//! real crash recovery.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv, Role};
use crate::topology::build;
use crate::topology::{Topology, TopologyKind, TopologySpec};

/// Timings of one takeover.
#[derive(Debug, Clone, Serialize)]
pub struct Takeover {
    pub from: String,
    pub to: String,
    /// Processes of the old active node that were killed while fencing.
    pub fenced_processes: usize,
    #[serde(rename = "fence_ms", serialize_with = "ms")]
    pub fence: Duration,
    /// Passive node spawned -> accepting connections (includes crash recovery).
    #[serde(rename = "start_ms", serialize_with = "ms")]
    pub start: Duration,
    /// `redo done ... elapsed` from the server log, when the server reports one.
    #[serde(rename = "recovery_ms", serialize_with = "opt_ms")]
    pub recovery: Option<Duration>,
    /// WAL replayed by that recovery.
    pub redo_bytes: Option<u64>,
    /// takeover() called -> new active node accepting connections.
    #[serde(rename = "ready_ms", serialize_with = "ms")]
    pub ready: Duration,
}

fn ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

fn opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ms(d, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug)]
pub struct SharedDisk {
    nodes: Vec<Node>,
    active: usize,
    spec: TopologySpec,
    dir: TopologyDir,
}

impl SharedDisk {
    pub(crate) async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<SharedDisk> {
        let dir = env.root.new_topology_dir(spec.kind.as_str())?;
        let data = dir.path().join("shared").join("data");
        build::init_data_dir(&env, &data).await?;
        let mut nodes = Vec::new();
        for (name, role) in [("node-a", Role::Primary), ("node-b", Role::Passive)] {
            let (_, log) = build::node_paths(dir.path(), name)?;
            let mut node = Node::new(env.clone(), name, data.clone(), log, role)?;
            node.settings_mut().extend(&build::base_settings(&spec, name)).extend(&spec.pg_settings);
            node.set_cpus(spec.pin.get(name).cloned());
            nodes.push(node);
        }
        nodes[0].start().await?;
        Ok(SharedDisk { nodes, active: 0, spec, dir })
    }

    /// The node that runs now.
    pub fn active(&self) -> &Node {
        &self.nodes[self.active]
    }

    pub fn active_mut(&mut self) -> &mut Node {
        &mut self.nodes[self.active]
    }

    /// Fences the active node and starts the passive one on the same data directory.
    pub async fn takeover(&mut self) -> Result<Takeover> {
        let t0 = Instant::now();
        let from = self.active;
        let to = 1 - from;
        let fenced_processes = self.nodes[from].crash().await;
        let fence = t0.elapsed();
        if let Some(pm) = crate::pg::workdir::running_postmaster(self.nodes[to].data_dir()) {
            return Err(Error::node(
                self.nodes[from].name(),
                format!("fencing left postmaster {} running on the shared data directory", pm.pid),
            ));
        }
        let start = self.nodes[to].start().await?;
        let ready = t0.elapsed();
        let log = self.nodes[to].log_text_since_start();
        let recovery = redo_elapsed(&log);
        let redo_bytes = redo_bytes(&log);
        self.nodes[from].set_role(Role::Passive);
        self.nodes[to].set_role(Role::Primary);
        self.active = to;
        Ok(Takeover {
            from: self.nodes[from].name().to_string(),
            to: self.nodes[to].name().to_string(),
            fenced_processes,
            fence,
            start,
            recovery,
            redo_bytes,
            ready,
        })
    }
}

/// WAL replayed by crash recovery: from `redo starts at X` to `redo done at Y` in the log.
pub fn redo_bytes(log: &str) -> Option<u64> {
    let lsn_after = |marker: &str| {
        let line = log.lines().find(|l| l.contains(marker))?;
        let text = line.split(marker).nth(1)?.split_whitespace().next()?;
        crate::pg::Lsn::parse(text)
    };
    Some(lsn_after("redo done at ")?.bytes_since(lsn_after("redo starts at ")?))
}

/// Parses `redo done at 0/... system usage: CPU: ... elapsed: 0.28 s`.
pub fn redo_elapsed(log: &str) -> Option<Duration> {
    let line = log.lines().find(|l| l.contains("redo done at"))?;
    let secs = line.split("elapsed:").nth(1)?.trim().trim_end_matches('s').trim();
    secs.parse::<f64>().ok().map(Duration::from_secs_f64)
}

impl Topology for SharedDisk {
    fn kind(&self) -> TopologyKind {
        TopologyKind::SharedDisk
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
        self.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redo_time_is_read_from_the_server_log() {
        let log = "2026-11-29 17:00:00.1 UTC [42] LOG:  redo starts at 0/1000028\n\
                   2026-11-29 17:00:00.4 UTC [42] LOG:  redo done at 0/3000060 system usage: CPU: user: 0.10 s, system: 0.02 s, elapsed: 0.28 s\n";
        assert_eq!(redo_elapsed(log), Some(Duration::from_millis(280)));
        assert_eq!(redo_bytes(log), Some(0x3000060 - 0x1000028));
        assert_eq!(redo_elapsed("LOG:  database system is ready to accept connections"), None);
    }
}
