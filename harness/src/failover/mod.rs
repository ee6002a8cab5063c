//! Failover experiments: the nemesis injects the scheduled faults through the target's cluster
//! manager (`crate::manager`: habench's orchestrator, Patroni, an external cluster's engine),
//! which decides or is watched deciding. Both log timestamped events; `trials` turns them and
//! the acknowledgement times into one timeline per fault.

pub(crate) mod band;
mod group_fault;
mod nemesis;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::events::EventLog;
use crate::fault::FaultSpec;
use crate::manager;
use crate::pg::Endpoint;

pub(crate) use crate::manager::OrchestratorConfig;
/// The topology under test, shared by the nemesis and its manager.
pub(crate) use crate::topology::SharedTopology;

/// What the runner hands the failover tasks.
#[derive(Debug, Clone)]
pub struct FailoverPlan {
    pub faults: Vec<FaultSpec>,
    pub orchestrator: OrchestratorConfig,
    pub topology: Option<SharedTopology>,
    /// A cluster habench did not start (`--cluster`): faults through its commands or REST API.
    pub cluster: Option<Arc<crate::cluster::External>>,
    pub write_endpoint: Endpoint,
    /// A separate SSO master secret server (`--sso separate`), for `sso-outage`.
    pub sso: Option<Arc<tokio::sync::Mutex<crate::topology::SsoServer>>>,
    /// Parallel groups, each with its servers, for `crash-group` and `drain-group`.
    pub groups: Vec<(Arc<crate::balancer::Group>, SharedTopology)>,
    /// The MessageBox's hosts (a drained group's queues are read).
    pub messagebox: habench_workloads::messagebox::MessageBoxConfig,
}

/// Runs the nemesis (faults at their times, counted from `measure_start`) and the target's
/// manager (habench's orchestrator deciding, or an engine watched), until `stop` is set. `kills`
/// asks the runner to kill one of its workers (a host instance holding a batch, a receive
/// instance).
pub(crate) async fn drive(
    plan: FailoverPlan,
    measure_start: Instant,
    log: EventLog,
    kills: Arc<crate::fault::WorkerKills>,
    stop: watch::Receiver<bool>,
) {
    let manager = manager::of_target(
        plan.topology.as_ref(),
        plan.cluster.as_ref(),
        (&plan.orchestrator, &plan.write_endpoint),
        &stop,
    )
    .await;
    if let Some(m) = &manager {
        tracing::info!(engine = m.engine(), "the target's cluster manager");
    }
    let watching = manager.as_ref().and_then(|m| m.watch(log.clone(), stop.clone())).map(tokio::spawn);
    nemesis::run(&plan, manager.as_deref(), measure_start, (&log, &kills), stop).await;
    if let Some(w) = watching {
        let _ = w.await;
    }
}
