//! The cluster-manager role: what decides a topology's failovers, and how each of habench's
//! faults is carried out on it. One implementation per engine:
//! - [`Builtin`]: habench's own orchestrator (probes, fence, promote or restart) on the
//!   topologies habench starts without an engine (single, shared-disk, sync, async,
//!   log-shipping); faults act on the nodes and habench's links directly;
//! - [`PatroniEngine`]: a Patroni cluster habench started; faults act on what Patroni runs
//!   (node, postmaster, Patroni itself, etcd, its REST API), and its decisions are watched;
//! - [`AutoFailoverEngine`]: a pg_auto_failover formation habench started; faults act on its
//!   hosts (data nodes, the monitor) or are planned moves asked of the monitor, whose table of
//!   nodes is watched;
//! - [`ExternalEngine`]: a cluster habench did not start (`--cluster`), through the file's
//!   commands and the engine's REST API.
//!
//! The nemesis and the trials see only the role: who is primary is the engine's to say.

mod auto_failover;
mod auto_failover_watch;
mod builtin;
mod cut_off;
mod external;
mod orchestrator;
mod patroni;
mod patroni_watch;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::Result;
use crate::events::EventLog;
use crate::fault::net_shape::Reach;
use crate::fault::{FaultKind, Injected, NetFault};
use crate::pg::Endpoint;
use crate::topology::{AnyTopology, SharedTopology};

pub(crate) use auto_failover::AutoFailoverEngine;
pub(crate) use builtin::Builtin;
pub(crate) use external::ExternalEngine;
pub(crate) use orchestrator::OrchestratorConfig;
pub(crate) use patroni::PatroniEngine;

/// A boxed future borrowing the manager (the role is used as `dyn Manager`).
pub(crate) type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One cluster manager, as the nemesis and the trials use it.
pub(crate) trait Manager: Send + Sync {
    /// The engine's name, for events and errors.
    fn engine(&self) -> &'static str;

    /// Carries out `kind` on the node the engine says it concerns (its primary now, its
    /// synchronous standby, its coordination service); returns once the fault is in place.
    fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>>;

    /// Lays a network fault (`partition`, `packet-loss`, `bandwidth`) on the hosts' network;
    /// `resume` lifts it. Only where every host is in a namespace of its own.
    fn inject_net<'a>(&'a self, fault: &'a NetFault) -> Pending<'a, Result<(Injected, Reach)>> {
        Box::pin(async move {
            Err(crate::error::Error::config(
                "--fault",
                format!("`{fault}` needs every host in a network namespace of its own (--net namespaces), which {} topologies do not have yet", self.engine()),
            ))
        })
    }

    /// Ends a lasting fault on `target` (what `inject` returned): Ok(false) when there was
    /// nothing to undo.
    fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>>;

    /// Whether `inject` carried `kind` out to its end itself (the built-in manager's planned
    /// switchover): the nemesis then waits for the write endpoint and logs it ready. An engine
    /// that decides by itself logs that from its own watch.
    fn completes(&self, _kind: FaultKind) -> bool {
        false
    }

    /// The task that decides failovers (habench's orchestrator) or watches the engine decide,
    /// logging events until `stop`; None when there is nothing to watch.
    fn watch(&self, log: EventLog, stop: watch::Receiver<bool>) -> Option<Pending<'static, ()>>;
}

/// The manager of a run's target: the external cluster's engine, Patroni when it runs the
/// topology, habench's orchestrator otherwise; None without a target (`--target-dsn`).
pub(crate) async fn of_target(
    topology: Option<&SharedTopology>,
    cluster: Option<&Arc<crate::cluster::External>>,
    (orchestrator, endpoint): (&OrchestratorConfig, &Endpoint),
    stop: &watch::Receiver<bool>,
) -> Option<Box<dyn Manager>> {
    if let Some(c) = cluster {
        return Some(Box::new(ExternalEngine::new(c.clone(), stop.clone())));
    }
    let topo = topology?;
    let manager: Box<dyn Manager> = match &*topo.lock().await {
        AnyTopology::Patroni(_) => Box::new(PatroniEngine::new(topo.clone())),
        AnyTopology::AutoFailover(_) => Box::new(AutoFailoverEngine::new(topo.clone())),
        t => {
            let net = builtin::network_of(t);
            Box::new(Builtin::new(topo.clone(), orchestrator.clone(), endpoint.clone(), net))
        }
    };
    Some(manager)
}

/// Lays a shape on a topology's network, off the runtime's threads (it runs `nft` in every
/// namespace).
pub(super) async fn lay(net: Arc<crate::netns::Network>, shape: crate::netns::Shape) -> Result<()> {
    tokio::task::spawn_blocking(move || net.apply(&shape))
        .await
        .map_err(|e| crate::error::Error::node("netns", format!("laying a shape: {e}")))?
}

/// Polls the write endpoint until a read-write session answers.
pub(crate) async fn wait_endpoint(endpoint: &Endpoint, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Ok(c) = endpoint.connect_once().await {
            if let Ok(row) = c.query_one("SELECT pg_is_in_recovery()", &[]).await {
                if !row.get::<_, bool>(0) {
                    return true;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}
