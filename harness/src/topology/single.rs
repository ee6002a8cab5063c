//! One server: the baseline with no high availability at all.

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv};
use crate::topology::build;
use crate::topology::{Topology, TopologyKind, TopologySpec};

#[derive(Debug)]
pub struct Single {
    // Fields drop in order: servers stop before their directory is removed.
    nodes: Vec<Node>,
    spec: TopologySpec,
    /// `--net namespaces`: the network the node is a host of.
    _net: Option<Arc<crate::netns::Network>>,
    dir: TopologyDir,
}

impl Single {
    pub(crate) async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<Single> {
        let dir = env.root.new_topology_dir(spec.kind.as_str())?;
        let net = build::network(&spec, &["primary".to_string()]).await?;
        let mut node = build::new_primary(&env, dir.path(), "primary").await?;
        node.settings_mut().extend(&build::base_settings(&spec, "primary")).extend(&spec.pg_settings);
        node.set_cpus(spec.pin.get("primary").cloned());
        if let Some(net) = &net {
            node.join_network(net.clone()).await?;
        }
        node.start().await?;
        Ok(Single { nodes: vec![node], spec, _net: net, dir })
    }
}

impl Topology for Single {
    fn kind(&self) -> TopologyKind {
        TopologyKind::Single
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
        &self.nodes[0]
    }
}
