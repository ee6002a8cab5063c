//! Patroni as the manager: faults act on what it runs (the node, its postmaster, Patroni
//! itself, the DCS) or are requests to its REST API; the target is whoever Patroni says leads
//! now. Its decisions are watched through the same API (`patroni_watch.rs`).

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::fault::net_shape::{self, Hosts, Reach};
use crate::fault::{FaultKind, Injected, NetFault};
use crate::manager::{lay, patroni_watch, Manager, Pending};
use crate::netns::Shape;
use crate::topology::{AnyTopology, Patroni, SharedTopology, Topology};

/// A Patroni cluster habench started.
#[derive(Debug)]
pub(crate) struct PatroniEngine {
    topo: SharedTopology,
}

impl PatroniEngine {
    pub(crate) fn new(topo: SharedTopology) -> PatroniEngine {
        PatroniEngine { topo }
    }
}

/// The Patroni topology behind the shared one (it always is one: `of_target` chose by it).
fn patroni_of(t: &mut AnyTopology) -> Result<&mut Patroni> {
    match t {
        AnyTopology::Patroni(p) => Ok(p),
        _ => Err(Error::node("patroni", "the topology is not run by Patroni")),
    }
}

impl Manager for PatroniEngine {
    fn engine(&self) -> &'static str {
        "patroni"
    }

    fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>> {
        Box::pin(async move { inject(kind, patroni_of(&mut *self.topo.lock().await)?).await })
    }

    fn inject_net<'a>(&'a self, fault: &'a NetFault) -> Pending<'a, Result<(Injected, Reach)>> {
        Box::pin(async move {
            let (net, hosts) = {
                let mut guard = self.topo.lock().await;
                let p = patroni_of(&mut guard)?;
                let net = p.network().cloned().ok_or_else(|| {
                    Error::config("--fault", format!("`{fault}` needs --net namespaces (every node a host of its own)"))
                })?;
                let view = p.cluster().await.ok_or_else(|| Error::node("patroni", "no Patroni REST API answers"))?;
                p.follow(&view);
                let leader = p.primary().name().to_string();
                let others = p.nodes().iter().map(|n| n.name().to_string()).filter(|n| *n != leader);
                (net, Hosts { nodes: std::iter::once(leader.clone()).chain(others).collect(), dcs: p.dcs_names() })
            };
            let (shape, target) = net_shape::resolve(fault, &hosts).map_err(|e| Error::config("--fault", e))?;
            let detail = net_shape::describe(&shape);
            let reach = Reach::of(&shape, &hosts);
            lay(net, shape).await?;
            Ok((Injected { target, detail }, reach))
        })
    }

    fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>> {
        Box::pin(async move {
            let net = patroni_of(&mut *self.topo.lock().await)?.network().cloned();
            if let (Some(net), true) = (&net, kind.on_network() || kind == FaultKind::PartitionPrimary) {
                lay(net.clone(), Shape::Whole).await?;
                return Ok(true);
            }
            Ok(resume(patroni_of(&mut *self.topo.lock().await)?, kind, target))
        })
    }

    fn watch(&self, log: EventLog, stop: watch::Receiver<bool>) -> Option<Pending<'static, ()>> {
        let topo = self.topo.clone();
        Some(Box::pin(async move {
            let api = match &*topo.lock().await {
                AnyTopology::Patroni(p) => (p.rest_urls(), p.rest_client()),
                _ => return,
            };
            patroni_watch::run(api, Some(topo.clone()), log, stop).await;
        }))
    }
}

/// How long a planned switchover or failover may take to be answered.
const PLANNED_TIMEOUT: Duration = Duration::from_secs(90);

/// Over 80 lines: one arm per fault the engine is asked for, each a REST call and the wait for
/// its answer, read top to bottom against Patroni's API.
async fn inject(kind: FaultKind, p: &mut Patroni) -> Result<Injected> {
    let view = p.cluster().await.ok_or_else(|| Error::node("patroni", "no Patroni REST API answers"))?;
    p.follow(&view);
    let leader = view
        .leader()
        .map(|m| m.name.clone())
        .ok_or_else(|| Error::node("patroni", format!("no running leader to break ({})", view.brief())))?;
    match kind {
        FaultKind::KillPrimary => {
            let pid = p.kill_postmaster(&leader)?;
            Ok(Injected { target: leader, detail: format!("SIGKILL to postmaster {pid}; Patroni keeps running") })
        }
        FaultKind::CrashPrimary => {
            let n = p.crash_node(&leader).await?;
            Ok(Injected { target: leader, detail: format!("{n} processes (Patroni, postgres) killed at once") })
        }
        FaultKind::PausePrimary => {
            p.freeze_node(&leader, true)?;
            Ok(Injected { target: leader, detail: "every process frozen (cgroup freezer)".into() })
        }
        FaultKind::KillSyncStandby => {
            let standby = view.sync_standbys().first().map(|m| m.name.clone()).ok_or_else(|| {
                Error::config(
                    "--fault",
                    "kill-sync-standby needs a synchronous standby: --sync-mode on, strict or quorum",
                )
            })?;
            let n = p.crash_node(&standby).await?;
            Ok(Injected { target: standby, detail: format!("{n} processes (Patroni, postgres) killed at once") })
        }
        FaultKind::Switchover | FaultKind::Failover => {
            let (path, body, candidate) = planned_move(kind, &leader, &view)?;
            let t0 = Instant::now();
            let r = p.rest_call(&leader, "POST", path, Some(&body), PLANNED_TIMEOUT).await?;
            let took = t0.elapsed().as_millis();
            if r.status != 200 {
                return Err(Error::node(
                    &leader,
                    format!("Patroni refused POST {path} ({}): {}", r.status, r.body.trim()),
                ));
            }
            Ok(Injected {
                target: leader,
                detail: format!("POST {path} to {candidate} answered in {took} ms: {}", r.body.trim()),
            })
        }
        FaultKind::RestartEngine => {
            let stopped = p.restart_engine(&leader).await?;
            Ok(Injected {
                target: leader,
                detail: format!("SIGTERM to Patroni: it stopped in {} ms, then started again", stopped.as_millis()),
            })
        }
        FaultKind::DcsOutage => {
            p.freeze_dcs(true)?;
            let failsafe = p.engine_spec().timing().failsafe_mode;
            Ok(Injected {
                target: "dcs".into(),
                detail: format!("every etcd member frozen (failsafe_mode {})", if failsafe { "on" } else { "off" }),
            })
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
        FaultKind::PartitionPrimary if p.network().is_some() => {
            let net = p.network().cloned().expect("a network");
            lay(net, Shape::Isolate(leader.clone())).await?;
            Ok(Injected {
                target: leader,
                detail: "isolated: nftables drops every packet to and from it (clients, replicas, REST, etcd)".into(),
            })
        }
        FaultKind::PartitionPrimary => {
            if !p.partition_node(&leader, true)? {
                return Err(Error::config("--fault", "this patroni topology was started without links to cut"));
            }
            Ok(Injected {
                target: leader,
                detail: "cut from its clients, its replicas, the other members' REST calls and the DCS".into(),
            })
        }
        FaultKind::PartitionStandby | FaultKind::SlowLink => Err(Error::config(
            "--fault",
            kind.applies_to(p.kind()).err().unwrap_or_else(|| format!("{kind} is not built for patroni")),
        )),
    }
}

/// A switchover (from `leader`) or a failover asked of Patroni's REST API, to its sync standby
/// (else the first streaming replica): the path, the body and the candidate.
pub(super) fn planned_move(
    kind: FaultKind,
    leader: &str,
    view: &crate::patroni::ClusterView,
) -> Result<(&'static str, serde_json::Value, String)> {
    let candidate = view
        .sync_standbys()
        .first()
        .map(|m| m.name.clone())
        .or_else(|| view.streaming().first().map(|m| m.name.clone()))
        .ok_or_else(|| Error::node("patroni", format!("no replica to switch to ({})", view.brief())))?;
    Ok(if kind == FaultKind::Switchover {
        ("/switchover", serde_json::json!({ "leader": leader, "candidate": candidate }), candidate)
    } else {
        ("/failover", serde_json::json!({ "candidate": candidate }), candidate)
    })
}

/// Ends a lasting fault: thaws the node or the DCS. Returns whether there was something to undo.
fn resume(p: &mut Patroni, kind: FaultKind, target: &str) -> bool {
    match kind {
        FaultKind::PausePrimary if p.is_frozen(target) => p.freeze_node(target, false).is_ok(),
        FaultKind::DcsOutage if p.dcs_frozen() => p.freeze_dcs(false).is_ok(),
        FaultKind::PartitionPrimary if p.is_partitioned(target) => p.partition_node(target, false).unwrap_or(false),
        _ => false,
    }
}
