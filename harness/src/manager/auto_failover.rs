//! pg_auto_failover as the manager: faults act on the hosts of the formation (a data node, its
//! postmaster, the monitor) or are planned moves asked of the monitor; the target is whoever the
//! monitor says is primary now. Its decisions are watched in the monitor's own table
//! (`auto_failover_watch.rs`).

use tokio::sync::watch;

use crate::autofailover::FormationView;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::fault::net_shape::{self, Hosts, Reach};
use crate::fault::{FaultKind, Injected, NetFault};
use crate::manager::{auto_failover_watch, lay, Manager, Pending};
use crate::netns::{Network, Shape};
use crate::topology::{AnyTopology, AutoFailover, SharedTopology, Topology};

/// A pg_auto_failover formation habench started.
#[derive(Debug)]
pub(crate) struct AutoFailoverEngine {
    topo: SharedTopology,
}

impl AutoFailoverEngine {
    pub(crate) fn new(topo: SharedTopology) -> AutoFailoverEngine {
        AutoFailoverEngine { topo }
    }
}

/// The formation behind the shared topology (it always is one: `of_target` chose by it).
fn formation_of(t: &mut AnyTopology) -> Result<&mut AutoFailover> {
    match t {
        AnyTopology::AutoFailover(a) => Ok(a),
        _ => Err(Error::node("pg_auto_failover", "the topology is not run by pg_auto_failover")),
    }
}

impl Manager for AutoFailoverEngine {
    fn engine(&self) -> &'static str {
        "pg_auto_failover"
    }

    fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>> {
        Box::pin(async move {
            let monitor = formation_of(&mut *self.topo.lock().await)?.formation().monitor();
            let view = monitor.current().await?;
            let primary = view
                .primary()
                .map(|p| p.name.clone())
                .ok_or_else(|| Error::node("pg_auto_failover", format!("no primary to break ({})", view.brief())))?;
            // A planned move waits for the monitor without holding the topology.
            if matches!(kind, FaultKind::Switchover | FaultKind::Failover) {
                let what = kind.as_str();
                let said = monitor.perform(what).await?;
                return Ok(Injected { target: primary, detail: format!("{what} asked of the monitor: {said}") });
            }
            let mut guard = self.topo.lock().await;
            let t = formation_of(&mut guard)?;
            t.follow(&view);
            // On a network the cut is the nodes' and the monitor's rules (clients still reach it).
            if let (FaultKind::PartitionPrimary, Some(net)) = (kind, t.formation().network().cloned()) {
                let shape = net_shape::primary_from_peers(&hosts_of(t));
                let detail = format!("{}; habench's clients still reach it", net_shape::describe(&shape));
                lay(net, shape).await?;
                t.formation_mut().mark_cut_on_net(Some(primary.clone()));
                return Ok(Injected { target: primary, detail });
            }
            inject(kind, t, &view, primary).await
        })
    }

    fn inject_net<'a>(&'a self, fault: &'a NetFault) -> Pending<'a, Result<(Injected, Reach)>> {
        Box::pin(async move {
            let monitor = formation_of(&mut *self.topo.lock().await)?.formation().monitor();
            // The primary the monitor names now comes first (the shapes' `primary`).
            let view = monitor.current().await?;
            let mut guard = self.topo.lock().await;
            let t = formation_of(&mut guard)?;
            t.follow(&view);
            let (net, hosts) = (network_of(t, fault)?, hosts_of(t));
            let (shape, target) = net_shape::resolve(fault, &hosts).map_err(|e| Error::config("--fault", e))?;
            let detail = net_shape::describe(&shape);
            let reach = Reach::of(&shape, &hosts);
            lay(net, shape).await?;
            // A partition aimed at the primary: habench watches whether it goes on answering
            // as a primary, and when it stops itself (the split-brain section).
            if matches!(fault, NetFault::Partition(_)) && target == hosts.nodes[0] {
                t.formation_mut().mark_cut_on_net(Some(target.clone()));
            }
            Ok((Injected { target, detail }, reach))
        })
    }

    fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>> {
        Box::pin(async move {
            let mut guard = self.topo.lock().await;
            let f = formation_of(&mut guard)?.formation_mut();
            let on_net = kind.on_network() || (kind == FaultKind::PartitionPrimary && f.is_partitioned(target));
            if let (Some(net), true) = (f.network().cloned(), on_net) {
                lay(net, Shape::Whole).await?;
                f.mark_cut_on_net(None);
                return Ok(true);
            }
            Ok(match kind {
                FaultKind::PausePrimary if f.is_frozen(target) => f.freeze_node(target, false).is_ok(),
                FaultKind::DcsOutage if f.monitor_frozen() => f.freeze_monitor(false).is_ok(),
                FaultKind::PartitionPrimary if f.is_partitioned(target) => f.partition_node(target, false)?,
                _ => false,
            })
        })
    }

    fn watch(&self, log: EventLog, stop: watch::Receiver<bool>) -> Option<Pending<'static, ()>> {
        let topo = self.topo.clone();
        Some(Box::pin(async move {
            let monitor = match &mut *topo.lock().await {
                AnyTopology::AutoFailover(a) => a.formation().monitor(),
                _ => return,
            };
            auto_failover_watch::run(monitor, auto_failover_watch::Formation::Started(topo.clone()), log, stop).await;
        }))
    }
}

/// The formation's network, or the refusal of a network fault without one.
fn network_of(t: &AutoFailover, fault: &NetFault) -> Result<std::sync::Arc<Network>> {
    t.formation().network().cloned().ok_or_else(|| {
        Error::config("--fault", format!("`{fault}` needs --net namespaces (every node a host of its own)"))
    })
}

/// The formation's hosts for a shape: the data nodes, the primary first; the monitor as the
/// coordination service.
fn hosts_of(t: &AutoFailover) -> Hosts {
    let primary = t.primary().name().to_string();
    let others = t.nodes().iter().map(|n| n.name().to_string()).filter(|n| *n != primary);
    Hosts {
        nodes: std::iter::once(primary.clone()).chain(others).collect(),
        dcs: vec![crate::autofailover::MONITOR.into()],
    }
}

/// The faults that act on a host of the formation.
async fn inject(kind: FaultKind, t: &mut AutoFailover, view: &FormationView, primary: String) -> Result<Injected> {
    let f = t.formation_mut();
    match kind {
        FaultKind::CrashPrimary => {
            let n = f.crash_node(&primary).await?;
            Ok(Injected { target: primary, detail: format!("{n} processes (keeper, postgres) killed at once") })
        }
        FaultKind::KillPrimary => {
            let pid = f.kill_postmaster(&primary)?;
            Ok(Injected { target: primary, detail: format!("SIGKILL to postmaster {pid}; its keeper keeps running") })
        }
        FaultKind::PausePrimary => {
            f.freeze_node(&primary, true)?;
            Ok(Injected { target: primary, detail: "every process frozen (cgroup freezer)".into() })
        }
        FaultKind::KillSyncStandby => {
            let standby = view
                .secondary()
                .map(|n| n.name.clone())
                .ok_or_else(|| Error::node("pg_auto_failover", format!("no secondary to kill ({})", view.brief())))?;
            let n = f.crash_node(&standby).await?;
            Ok(Injected { target: standby, detail: format!("{n} processes (keeper, postgres) killed at once") })
        }
        FaultKind::RestartEngine => {
            let stopped = f.restart_keeper(&primary).await?;
            Ok(Injected {
                target: primary,
                detail: format!(
                    "SIGTERM to pg_autoctl (it stops its postgres): stopped in {} ms, then started again",
                    stopped.as_millis()
                ),
            })
        }
        FaultKind::PartitionPrimary => {
            if !f.partition_node(&primary, true)? {
                return Err(Error::config(
                    "--fault",
                    "this pg_auto_failover formation was started without links to cut",
                ));
            }
            Ok(Injected {
                target: primary,
                detail: "cut from the monitor and the other nodes (health checks, replication, its keeper's reports); \
                         habench's clients still reach it"
                    .into(),
            })
        }
        FaultKind::DcsOutage => {
            f.freeze_monitor(true)?;
            Ok(Injected { target: "monitor".into(), detail: "the monitor frozen (cgroup freezer)".into() })
        }
        _ => Err(Error::config(
            "--fault",
            kind.applies_to(crate::topology::TopologyKind::PgAutoFailover)
                .err()
                .unwrap_or_else(|| format!("{kind} is not built for pg_auto_failover")),
        )),
    }
}
