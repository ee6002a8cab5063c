//! Parallel groups in a run: every group's topology up, its MessageBox installed, what it is in
//! the manifest, and what survived in each group's database read back for the checker.

use std::sync::Arc;

use anyhow::{bail, Context};
use habench_workloads::checker::DbState;
use tokio::sync::watch;

use crate::balancer::{Balancer, Group};
use crate::cli::RunArgs;
use crate::commands::options;
use crate::config::{RunConfig, Target};
use crate::export::manifest::Manifest;
use crate::failover::SharedTopology;
use crate::pg::{Endpoint, PgEnv};
use crate::topology::{describe, AnyTopology, TopologyKind};

/// The groups of a run: each one's servers (dropping them stops them) and the balancer.
pub(super) struct Groups {
    pub topologies: Vec<SharedTopology>,
    pub balancer: Arc<Balancer>,
}

impl Groups {
    /// Each group's name and what its topology is now (`--keep` prints them).
    pub(crate) async fn describe(&self) -> Vec<crate::export::manifest::GroupInfo> {
        let mut out = Vec::new();
        for (g, t) in self.handles() {
            let mut t = t.lock().await;
            out.push(crate::export::manifest::GroupInfo {
                name: g.name.clone(),
                topology: describe(t.as_topology_mut()).await,
            });
        }
        out
    }

    /// Each group with its servers (the nemesis breaks them).
    pub(crate) fn handles(&self) -> Vec<(Arc<Group>, SharedTopology)> {
        self.balancer.groups().iter().cloned().zip(self.topologies.iter().cloned()).collect()
    }
}

/// The groups up, one after another (None when the run has no parallel groups). A group that
/// fails to come up stops the ones before it (their guards are dropped).
pub(super) async fn start(
    cfg: &RunConfig,
    args: &RunArgs,
    abort: watch::Receiver<bool>,
) -> anyhow::Result<Option<Groups>> {
    let Target::Topology(spec) = &cfg.target else { return Ok(None) };
    let Some(p) = spec.parallel.as_ref().filter(|_| spec.kind == TopologyKind::Parallel) else { return Ok(None) };
    let env = PgEnv::discover(&options::env_options(&args.env))?;
    let (mut topologies, mut groups) = (Vec::new(), Vec::new());
    for name in p.names() {
        let mut abort = abort.clone();
        let topo = tokio::select! {
            t = AnyTopology::up(env.clone(), (*p.group).clone()) => t.with_context(|| format!("bringing group {name} up"))?,
            _ = abort.changed() => bail!("interrupted while bringing group {name} up"),
        };
        let dsn = topo.as_topology().write_dsn();
        groups.push(Arc::new(Group::new(name, Endpoint::new(dsn.parse::<tokio_postgres::Config>()?))));
        topologies.push(Arc::new(tokio::sync::Mutex::new(topo)));
    }
    let balancer = Arc::new(Balancer::new(groups, p.probe_interval, p.probe_threshold));
    Ok(Some(Groups { topologies, balancer }))
}

/// Every group's MessageBox installed from a checkpoint; the groups and their servers'
/// settings in the manifest (`groups`; settings under `g1/primary`...).
pub(super) async fn inspect(cfg: &RunConfig, groups: &Groups, manifest: &mut Manifest<'_>) -> anyhow::Result<()> {
    for (g, t) in groups.handles() {
        let client = g.endpoint.connect_once().await.with_context(|| format!("connecting to group {}", g.name))?;
        if manifest.postgres_version.is_none() {
            manifest.postgres_version = client.query_one("SELECT version()", &[]).await.ok().map(|r| r.get(0));
        }
        habench_workloads::messagebox::install(&client, &cfg.workload.messagebox)
            .await
            .with_context(|| format!("installing the MessageBox schema in group {}", g.name))?;
        client.batch_execute("CHECKPOINT").await.with_context(|| format!("checkpoint of group {}", g.name))?;
        let mut t = t.lock().await;
        let t = t.as_topology_mut();
        manifest.groups.push(crate::export::manifest::GroupInfo { name: g.name.clone(), topology: describe(t).await });
        for node in t.nodes() {
            if let Ok(c) = node.connect().await {
                let settings = crate::pg::settings::non_default(&c).await;
                manifest.server_settings.insert(format!("{}/{}", g.name, node.name()), settings);
            }
        }
    }
    Ok(())
}

/// What survived in every group's database, in one state (message ids are global), and each
/// group's own count of the messages it holds a trace of (spool or tracking; None: gone for good,
/// not waited for, its messages absent).
pub(super) async fn read_db_state(
    cfg: &RunConfig,
    groups: &Groups,
) -> Result<(DbState, crate::analysis::parallel::Holds), String> {
    let (_stop_tx, mut stop) = watch::channel(false);
    let mut db = DbState::new(cfg.workload.messagebox.hosts.len());
    let mut holds = Vec::new();
    for g in groups.balancer.groups() {
        if g.is_gone() {
            holds.push((g.name.clone(), None));
            continue;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let client = g.endpoint.connect(deadline, &mut stop).await.map_err(|e| format!("group {}: {e}", g.name))?;
        crate::check::add_db_state(&mut db, &client, &cfg.workload.messagebox)
            .await
            .map_err(|e| format!("group {}: {e}", g.name))?;
        let sql = format!(
            "SELECT count(*) FROM (SELECT id FROM {s}.spool UNION SELECT msg_id FROM {s}.tracking) m",
            s = habench_workloads::messagebox::schema::SCHEMA
        );
        let n: i64 = client.query_one(&sql, &[]).await.map_err(|e| format!("group {}: {e}", g.name))?.get(0);
        holds.push((g.name.clone(), Some(n)));
    }
    Ok((db, holds))
}
