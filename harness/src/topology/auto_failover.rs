//! A pg_auto_failover formation as a topology: the monitor and `--nodes` data nodes, started by
//! habench (`crate::autofailover::Formation`); the monitor decides everything after, habench only
//! watches and breaks things.

use std::path::Path;
use std::sync::Arc;

use crate::autofailover::{Formation, FormationView};
use crate::error::Result;
use crate::pg::{Node, PgEnv};
use crate::topology::info::{AutoFailoverInfo, EngineInfo};
use crate::topology::{Topology, TopologyKind, TopologySpec};

#[derive(Debug)]
pub struct AutoFailover {
    formation: Formation,
    spec: TopologySpec,
    primary: usize,
}

impl AutoFailover {
    pub(crate) async fn up(env: Arc<PgEnv>, spec: TopologySpec) -> Result<AutoFailover> {
        let names = spec.node_names();
        let hosts: Vec<String> = names.iter().cloned().chain([crate::autofailover::MONITOR.to_string()]).collect();
        let net = crate::topology::build::network(&spec, &hosts).await?;
        let formation = Formation::up(env, &names, &spec.auto_failover, net).await?;
        let mut topo = AutoFailover { formation, spec, primary: 0 };
        if let Some(view) = topo.formation.view().await {
            topo.follow(&view);
        }
        Ok(topo)
    }

    pub(crate) fn formation(&self) -> &Formation {
        &self.formation
    }

    pub(crate) fn formation_mut(&mut self) -> &mut Formation {
        &mut self.formation
    }

    /// A `--cluster` file that drives this formation from another habench process: the monitor
    /// (the manager), each node's DSN, and commands that act on its cgroup (crash, pause,
    /// resume) and its postmaster (kill); `[dcs]` freezes the monitor.
    pub(crate) fn cluster_file(&self) -> String {
        use crate::topology::cluster_file::{node_commands, q};
        let f = &self.formation;
        let mut out = format!(
            "# pg_auto_failover formation started by `habench topology up pg_auto_failover` (pid {}).\n\
             # Use it with `habench run --cluster FILE` while that process runs.\n\
             manager = \"pg_auto_failover\"\nmonitor = {}\n",
            std::process::id(),
            q(&f.monitor_uri())
        );
        for n in f.nodes() {
            out.push_str(&format!("\n[[nodes]]\nname = {}\ndsn = {}\n", q(n.name()), q(&n.dsn())));
            out.push_str(&node_commands(&f.group_path(n.name()), n.data_dir()));
        }
        let monitor = f.group_path("monitor").join("cgroup.freeze");
        out.push_str(&format!(
            "\n[dcs]\npause = {}\nresume = {}\n",
            q(&format!("echo 1 > {}", monitor.display())),
            q(&format!("echo 0 > {}", monitor.display()))
        ));
        out
    }

    /// Makes the monitor's primary the topology's (it changes behind habench's back).
    pub(crate) fn follow(&mut self, view: &FormationView) {
        self.formation.follow(view);
        if let Some(p) = view.primary() {
            if let Some(i) = self.formation.nodes().iter().position(|n| n.name() == p.name) {
                self.primary = i;
            }
        }
    }
}

impl Topology for AutoFailover {
    fn kind(&self) -> TopologyKind {
        TopologyKind::PgAutoFailover
    }
    fn spec(&self) -> &TopologySpec {
        &self.spec
    }
    fn nodes(&self) -> &[Node] {
        self.formation.nodes()
    }
    fn nodes_mut(&mut self) -> &mut [Node] {
        self.formation.nodes_mut()
    }
    fn dir(&self) -> &Path {
        self.formation.dir()
    }
    fn primary(&self) -> &Node {
        &self.formation.nodes()[self.primary]
    }
    fn engine(&self) -> Option<EngineInfo> {
        let f = &self.formation;
        Some(EngineInfo::AutoFailover(Box::new(AutoFailoverInfo {
            engine: "pg_auto_failover".into(),
            version: f.version().map(str::to_string),
            version_note: f.version().and_then(crate::autofailover::version_note),
            monitor_uri: f.monitor_uri(),
            monitor_settings: f.settings().to_vec(),
            formation: f.readback().clone(),
            formed_ms: Some(f.formed_ms()),
        })))
    }
    fn read_nodes(&self) -> Vec<&Node> {
        self.nodes().iter().enumerate().filter(|(i, _)| *i != self.primary).map(|(_, n)| n).collect()
    }
}
