//! habench's own manager: its orchestrator decides failovers (`orchestrator.rs`), and faults act
//! on the nodes and on habench's emulated links directly (or, with `--net namespaces`, on the
//! network as nftables rules).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::fault::net_shape::{self, Hosts, Reach};
use crate::fault::{FaultKind, Injected, NetFault};
use crate::link::LinkState;
use crate::manager::{lay, orchestrator, Manager, OrchestratorConfig, Pending};
use crate::netns::{Direction, Network, Shape};
use crate::pg::Endpoint;
use crate::topology::{AnyTopology, SharedTopology, Topology};

/// The built-in manager of one topology.
#[derive(Debug)]
pub(crate) struct Builtin {
    topo: SharedTopology,
    cfg: OrchestratorConfig,
    endpoint: Endpoint,
    /// `--net namespaces`: the topology's network, held apart so that a partition heals on
    /// time even while the orchestrator holds the topology (a rejoin waits for streaming).
    net: Option<Arc<Network>>,
}

impl Builtin {
    pub(crate) fn new(
        topo: SharedTopology,
        cfg: OrchestratorConfig,
        endpoint: Endpoint,
        net: Option<Arc<Network>>,
    ) -> Builtin {
        Builtin { topo, cfg, endpoint, net }
    }
}

impl Manager for Builtin {
    fn engine(&self) -> &'static str {
        "habench"
    }

    fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>> {
        Box::pin(async move {
            let mut topo = self.topo.lock().await;
            if let Some(injected) = kernel_partition(kind, &topo).await? {
                return Ok(injected);
            }
            inject(kind, &mut topo).await
        })
    }

    fn inject_net<'a>(&'a self, fault: &'a NetFault) -> Pending<'a, Result<(Injected, Reach)>> {
        Box::pin(async move {
            let Some(net) = &self.net else {
                return Err(Error::config(
                    "--fault",
                    format!("`{fault}` needs --net namespaces (every node a host of its own)"),
                ));
            };
            let hosts = {
                let topo = self.topo.lock().await;
                let t = topo.as_topology();
                let primary = t.primary().name().to_string();
                let standbys = match &*topo {
                    AnyTopology::Replicated(r) => r.standbys().map(|n| n.name().to_string()).collect(),
                    _ => Vec::new(),
                };
                Hosts { nodes: std::iter::once(primary).chain(standbys).collect(), dcs: Vec::new() }
            };
            let (shape, target) = net_shape::resolve(fault, &hosts).map_err(|e| Error::config("--fault", e))?;
            let detail = net_shape::describe(&shape);
            let reach = Reach::of(&shape, &hosts);
            lay(net.clone(), shape).await?;
            Ok((Injected { target, detail }, reach))
        })
    }

    fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>> {
        Box::pin(async move {
            if let (Some(net), true) = (&self.net, is_partition(kind) || kind.on_network()) {
                lay(net.clone(), Shape::Whole).await?;
                return Ok(true);
            }
            Ok(resume(&mut *self.topo.lock().await, kind, target))
        })
    }

    /// habench carries a planned switchover out itself: stop, promote, rejoin.
    fn completes(&self, kind: FaultKind) -> bool {
        kind == FaultKind::Switchover
    }

    fn watch(&self, log: EventLog, stop: watch::Receiver<bool>) -> Option<Pending<'static, ()>> {
        let (topo, cfg, endpoint) = (self.topo.clone(), self.cfg.clone(), self.endpoint.clone());
        Some(Box::pin(orchestrator::run(topo, cfg, endpoint, log, stop)))
    }
}

/// The topology's network, when its nodes are hosts of one (`--net namespaces`).
pub(super) fn network_of(topo: &AnyTopology) -> Option<Arc<Network>> {
    match topo {
        AnyTopology::Replicated(r) => r.network().cloned(),
        _ => None,
    }
}

fn is_partition(kind: FaultKind) -> bool {
    matches!(kind, FaultKind::PartitionPrimary | FaultKind::PartitionStandby)
}

/// With `--net namespaces` the partitions are nftables rules that drop packets silently in
/// the hosts' namespaces: the primary isolated from every host (clients and standbys), or the
/// first standby cut from the primary both ways. None: not a partition, or no network.
async fn kernel_partition(kind: FaultKind, topo: &AnyTopology) -> Result<Option<Injected>> {
    let (Some(net), AnyTopology::Replicated(r)) = (network_of(topo), topo) else { return Ok(None) };
    let primary = r.primary().name().to_string();
    match kind {
        FaultKind::PartitionPrimary => {
            lay(net, Shape::Isolate(primary.clone())).await?;
            let detail = "isolated: nftables drops every packet to and from it (clients and standbys)".to_string();
            Ok(Some(Injected { target: primary, detail }))
        }
        FaultKind::PartitionStandby => {
            let standby = r.standbys().next().map(|n| n.name().to_string()).ok_or_else(|| {
                Error::config("--fault", "partition-standby needs a standby: use sync, async or log-shipping")
            })?;
            let cut = Shape::Cut { from: standby.clone(), to: primary.clone(), direction: Direction::Both };
            lay(net, cut).await?;
            let detail = format!("cut from {primary} both ways: nftables drops their packets");
            Ok(Some(Injected { target: standby, detail }))
        }
        _ => Ok(None),
    }
}

/// Injects `kind` (not kill-host-instance, which the runner handles). pause-primary returns
/// once the node is paused; the caller resumes it after the duration.
async fn inject(kind: FaultKind, topo: &mut AnyTopology) -> Result<Injected> {
    if matches!(kind, FaultKind::KillPrimary | FaultKind::CrashPrimary) {
        cut_links_of_primary(topo);
    }
    let t = topo.as_topology_mut();
    let primary = t.primary().name().to_string();
    match kind {
        FaultKind::KillPrimary => {
            let node = t.node_mut(&primary).expect("primary");
            let pid = node.kill_postmaster().await.ok_or_else(|| Error::node(&primary, "not running"))?;
            Ok(Injected { target: primary, detail: format!("SIGKILL to postmaster {pid}") })
        }
        FaultKind::CrashPrimary => {
            let n = t.node_mut(&primary).expect("primary").crash().await;
            Ok(Injected { target: primary, detail: format!("{n} processes killed at once") })
        }
        FaultKind::PausePrimary => {
            t.node_mut(&primary).expect("primary").pause();
            Ok(Injected { target: primary, detail: "SIGSTOP to every process".into() })
        }
        FaultKind::KillSyncStandby => {
            let name = first_sync_standby(topo).await?;
            let n = topo.as_topology_mut().node_mut(&name).expect("standby").crash().await;
            Ok(Injected { target: name, detail: format!("{n} processes killed at once") })
        }
        FaultKind::Switchover => switchover(topo).await,
        FaultKind::PartitionStandby => {
            let AnyTopology::Replicated(r) = topo else { return Err(no_links()) };
            let (name, link) = r.links().next().ok_or_else(no_links)?;
            link.set_state(LinkState::Blackhole);
            Ok(Injected { target: name.to_string(), detail: "replication link blackholed".into() })
        }
        FaultKind::PartitionPrimary => {
            let AnyTopology::Replicated(r) = topo else { return Err(no_links()) };
            let client = r.client_link(&primary).ok_or_else(no_links)?;
            client.set_state(LinkState::Blackhole);
            let mut cut = Vec::new();
            for (name, link) in r.links_to(&primary) {
                link.set_state(LinkState::Blackhole);
                cut.push(name.to_string());
            }
            Ok(Injected {
                target: primary,
                detail: format!(
                    "cut from its clients and from {}",
                    if cut.is_empty() { "-".into() } else { cut.join(", ") }
                ),
            })
        }
        FaultKind::SlowLink => {
            let AnyTopology::Replicated(r) = topo else { return Err(no_links()) };
            let names = shift_delays(r, |d| d + SLOW_LINK_EXTRA);
            if names.is_empty() {
                return Err(no_links());
            }
            Ok(Injected { target: "links".into(), detail: format!("one-way delay now: {}", names.join("; ")) })
        }
        FaultKind::KillHostInstance | FaultKind::KillReceiveInstance | FaultKind::SsoOutage => {
            Err(Error::config("--fault", "injected by the runner on what habench runs itself"))
        }
        FaultKind::CrashGroup | FaultKind::DrainGroup => {
            Err(Error::config("--fault", format!("{kind} acts on parallel groups (--topology parallel)")))
        }
        FaultKind::Partition | FaultKind::PacketLoss | FaultKind::Bandwidth => {
            Err(Error::config("--fault", format!("{kind} needs --net namespaces and says what after `=`")))
        }
        FaultKind::Failover | FaultKind::RestartEngine | FaultKind::DcsOutage => {
            Err(Error::config("--fault", format!("{kind} needs a cluster manager (--topology patroni)")))
        }
    }
}

/// A primary that dies takes its site's network with it: what is still travelling on emulated
/// links from it is lost (the connections are reset), not delivered after its death.
fn cut_links_of_primary(topo: &AnyTopology) {
    let AnyTopology::Replicated(r) = topo else { return };
    for (_, link) in r.links_to(r.primary().name()) {
        link.reset();
    }
}

/// Changes every link's one-way delay (jitter kept no larger); returns each link's new spec.
fn shift_delays(r: &crate::topology::Replicated, shift: impl Fn(Duration) -> Duration) -> Vec<String> {
    r.links()
        .map(|(name, link)| {
            let mut spec = link.spec();
            spec.delay = shift(spec.delay);
            spec.jitter = spec.jitter.min(spec.delay);
            link.set_spec(spec);
            format!("{name} {spec}")
        })
        .collect()
}

/// The standby that confirms commits now (`sync` or `quorum` in pg_stat_replication).
async fn first_sync_standby(topo: &AnyTopology) -> Result<String> {
    let t = topo.as_topology();
    let client = t.primary().connect().await?;
    let rows = client
        .query(
            "SELECT application_name FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum') \
             ORDER BY sync_priority, application_name LIMIT 1",
            &[],
        )
        .await
        .map_err(|source| Error::Db { node: t.primary().name().to_string(), source })?;
    rows.first()
        .map(|r| r.get::<_, String>(0))
        .ok_or_else(|| Error::config("--fault", "kill-sync-standby needs a synchronous standby (topology sync)"))
}

/// A planned switchover: stop the primary cleanly, promote the most advanced standby, and bring
/// the old primary back as a standby of the new one.
async fn switchover(topo: &mut AnyTopology) -> Result<Injected> {
    let AnyTopology::Replicated(r) = topo else {
        return Err(Error::config("--fault", "switchover needs standbys (sync, async or log-shipping)"));
    };
    let t0 = Instant::now();
    let old = r.primary().name().to_string();
    r.node_mut(&old).expect("primary").stop().await?;
    let stopped = t0.elapsed();
    let target = r.most_advanced_standby().await?;
    let promotion = r.promote(&target, true).await?;
    let method = r.repoint(&old).await?;
    Ok(Injected {
        target: old.clone(),
        detail: format!(
            "stopped {old} in {} ms, promoted {target} in {:.0} ms, {old} rejoined ({method:?}) after {} ms",
            stopped.as_millis(),
            promotion.promote_ms,
            t0.elapsed().as_millis()
        ),
    })
}

/// Extra one-way delay of a slow link.
const SLOW_LINK_EXTRA: Duration = Duration::from_millis(50);

fn no_links() -> Error {
    Error::config("--fault", "this fault acts on standby links: use sync or async (links are added when missing)")
}

/// Ends a fault that lasts (pause-primary, partition-standby, partition-primary, slow-link).
/// Returns whether there was something to undo.
fn resume(topo: &mut AnyTopology, kind: FaultKind, target: &str) -> bool {
    match kind {
        FaultKind::PausePrimary => match topo.as_topology_mut().node_mut(target) {
            Some(n) if n.is_paused() => {
                n.resume();
                true
            }
            _ => false,
        },
        FaultKind::PartitionStandby => {
            let AnyTopology::Replicated(r) = topo else { return false };
            r.link(target).map(|l| l.set_state(LinkState::Up)).is_some()
        }
        FaultKind::PartitionPrimary => {
            let AnyTopology::Replicated(r) = topo else { return false };
            // Links to the old primary heal (links re-pointed to a new primary healed then).
            for (_, link) in r.links_to(target) {
                link.set_state(LinkState::Up);
            }
            r.client_link(target).map(|l| l.set_state(LinkState::Up)).is_some()
        }
        FaultKind::SlowLink => {
            let AnyTopology::Replicated(r) = topo else { return false };
            !shift_delays(r, |d| d.saturating_sub(SLOW_LINK_EXTRA)).is_empty()
        }
        _ => false,
    }
}
