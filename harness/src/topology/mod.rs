//! Topologies: sets of local PostgreSQL nodes that model a high-availability design.
//!
//! Each kind is its own type implementing [`Topology`] (inspection); kind-specific operations
//! (shared-disk takeover, standby promotion) are inherent methods. [`AnyTopology`] holds any of
//! them when the kind is chosen at run time.

mod auto_failover;
pub(crate) mod build;
mod cluster_file;
mod describe;
pub(crate) mod info;
mod parallel;
mod patroni;
mod replicated;
mod shared_disk;
mod single;
pub(crate) mod spec;
mod sso_server;

use std::path::Path;
use std::sync::Arc;

pub use auto_failover::AutoFailover;
pub use describe::{describe, node_info};
pub(crate) use info::{EngineInfo, NodeInfo, TopologyInfo};
pub(crate) use parallel::ParallelSpec;
pub(crate) use patroni::Patroni;
pub use replicated::{Promotion, Replicated, RepointMethod};
pub use shared_disk::{redo_bytes, redo_elapsed, SharedDisk, Takeover};
pub(crate) use single::Single;
pub use spec::{NetMode, Quorum, SyncCommit, TopologyKind, TopologySpec};
pub(crate) use sso_server::SsoServer;

use crate::error::Result;
use crate::pg::{conn, Node, PgEnv};

/// What every topology can tell about itself.
pub trait Topology: Send + Sync {
    fn kind(&self) -> TopologyKind;
    fn spec(&self) -> &TopologySpec;
    fn nodes(&self) -> &[Node];
    fn nodes_mut(&mut self) -> &mut [Node];
    /// The topology's directory (data directories, logs, archive).
    fn dir(&self) -> &Path;

    /// The node that takes writes now.
    fn primary(&self) -> &Node;

    /// Nodes that can become primary; the write endpoint lists them all, the primary first.
    fn write_candidates(&self) -> Vec<&Node> {
        let primary = self.primary().name();
        let mut nodes: Vec<&Node> = self.nodes().iter().collect();
        nodes.sort_by_key(|n| n.name() != primary);
        nodes
    }

    /// Nodes that serve reads (readable secondaries).
    fn read_nodes(&self) -> Vec<&Node> {
        Vec::new()
    }

    /// Where clients reach `node`: its port, its client link's when it has one, or on a
    /// network the clients' door.
    fn client_port(&self, node: &Node) -> u16 {
        node.clients_port()
    }

    /// Like an availability-group listener: a multi-host connection string that lands on
    /// whichever candidate accepts writes.
    fn write_dsn(&self) -> String {
        let nodes = self.write_candidates();
        let hosts = vec![conn::HOST; nodes.len()].join(",");
        let ports: Vec<String> = nodes.iter().map(|n| self.client_port(n).to_string()).collect();
        format!(
            "host={hosts} port={} user={} dbname=postgres target_session_attrs=read-write connect_timeout=2",
            ports.join(","),
            conn::SUPERUSER
        )
    }

    /// One connection string per readable secondary.
    fn read_dsns(&self) -> Vec<String> {
        self.read_nodes().iter().map(|n| conn::dsn(self.client_port(n))).collect()
    }

    /// The cluster manager that runs this topology, when it is not habench's own orchestrator.
    fn engine(&self) -> Option<EngineInfo> {
        None
    }

    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes().iter().find(|n| n.name() == name)
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.nodes_mut().iter_mut().find(|n| n.name() == name)
    }
}

/// A topology shared by the tasks of a run (the nemesis, the manager, the commands).
pub(crate) type SharedTopology = Arc<tokio::sync::Mutex<AnyTopology>>;

/// Any topology, chosen at run time.
#[derive(Debug)]
pub enum AnyTopology {
    Single(Single),
    SharedDisk(SharedDisk),
    Replicated(Replicated),
    Patroni(Box<Patroni>),
    AutoFailover(Box<AutoFailover>),
}

impl AnyTopology {
    /// Validates `spec`, sweeps leftovers of crashed earlier runs, and brings the topology up.
    /// Whatever was started is torn down again if a later step fails.
    pub async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<AnyTopology> {
        spec.validate()?;
        for line in env.root.sweep_leftovers().await {
            tracing::warn!("{line}");
        }
        Ok(match spec.kind {
            TopologyKind::Single => AnyTopology::Single(Single::up(env, spec).await?),
            TopologyKind::SharedDisk => AnyTopology::SharedDisk(SharedDisk::up(env, spec).await?),
            TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping => {
                AnyTopology::Replicated(Replicated::up(env, spec).await?)
            }
            TopologyKind::Patroni => AnyTopology::Patroni(Box::new(Patroni::up(env, spec).await?)),
            TopologyKind::PgAutoFailover => AnyTopology::AutoFailover(Box::new(AutoFailover::up(env, spec).await?)),
            TopologyKind::Parallel => {
                return Err(crate::error::Error::config(
                    "--topology",
                    "parallel groups are brought up one topology per group (habench run starts them)",
                ))
            }
        })
    }

    pub fn as_topology(&self) -> &dyn Topology {
        match self {
            AnyTopology::Single(t) => t,
            AnyTopology::SharedDisk(t) => t,
            AnyTopology::Replicated(t) => t,
            AnyTopology::Patroni(t) => t.as_ref(),
            AnyTopology::AutoFailover(t) => t.as_ref(),
        }
    }

    pub fn as_topology_mut(&mut self) -> &mut dyn Topology {
        match self {
            AnyTopology::Single(t) => t,
            AnyTopology::SharedDisk(t) => t,
            AnyTopology::Replicated(t) => t,
            AnyTopology::Patroni(t) => t.as_mut(),
            AnyTopology::AutoFailover(t) => t.as_mut(),
        }
    }
}
