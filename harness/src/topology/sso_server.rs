//! A separate master secret server: one PostgreSQL server that habench starts beside the
//! topology (its own directory and port), which fails on its own (`sso-outage`).

use std::sync::Arc;

use crate::error::Result;
use crate::pg::workdir::TopologyDir;
use crate::pg::{Node, PgEnv};
use crate::topology::{build, TopologyKind, TopologySpec};

#[derive(Debug)]
pub struct SsoServer {
    // Fields drop in order: the server stops before its directory is removed.
    node: Node,
    _dir: TopologyDir,
}

impl SsoServer {
    pub(crate) async fn up(env: Arc<PgEnv>) -> Result<SsoServer> {
        let dir = env.root.new_topology_dir("sso")?;
        let mut node = build::new_primary(&env, dir.path(), "sso").await?;
        node.settings_mut().extend(&build::base_settings(&TopologySpec::new(TopologyKind::Single), "sso"));
        node.start().await?;
        Ok(SsoServer { node, _dir: dir })
    }

    pub(crate) fn dsn(&self) -> String {
        self.node.dsn()
    }

    pub(crate) fn node_mut(&mut self) -> &mut Node {
        &mut self.node
    }

    /// Every process of the server killed (an outage); returns how many.
    pub(crate) async fn crash(&mut self) -> usize {
        self.node.crash().await
    }

    /// Started again on its own data (crash recovery).
    pub(crate) async fn start(&mut self) -> Result<std::time::Duration> {
        self.node.start().await
    }
}
