//! Failover experiments: the nemesis injects the scheduled faults, and a small orchestrator
//! plays the cluster manager (health probes at an interval with a missed-probe threshold, fence,
//! promote or restart, endpoint ready). Both log timestamped events; `trials` turns them and the
//! acknowledgement times into one timeline per fault.

pub(crate) mod band;
mod engine_watch;
mod group_fault;
mod orchestrator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::events::{EventKind, EventLog, SSO_NODE};
use crate::fault::{self, FaultKind, FaultSpec};
use crate::pg::Endpoint;
use crate::topology::AnyTopology;

pub(crate) use orchestrator::OrchestratorConfig;

/// The topology under test, shared by the nemesis and the orchestrator.
pub(crate) type SharedTopology = Arc<tokio::sync::Mutex<AnyTopology>>;

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

/// Runs the nemesis (faults at their times, counted from `measure_start`) and, when there is a
/// topology, the orchestrator, until `stop` is set. `kills` asks the runner to kill one of its
/// workers (a host instance holding a batch, a receive instance).
pub(crate) async fn drive(
    plan: FailoverPlan,
    measure_start: Instant,
    log: EventLog,
    kills: Arc<crate::fault::WorkerKills>,
    stop: watch::Receiver<bool>,
) {
    // A cluster manager's REST API, when one runs the target: it is only watched; a topology
    // without one gets habench's orchestrator.
    let rest_urls = match (&plan.topology, &plan.cluster) {
        (Some(t), _) => match &*t.lock().await {
            AnyTopology::Patroni(p) => Some((p.rest_urls(), p.rest_client())),
            _ => None,
        },
        (None, Some(c)) => Some((c.rest_urls(), c.rest_client())).filter(|(u, _)| !u.is_empty()),
        (None, None) => None,
    };
    let managed = rest_urls.is_some() || plan.cluster.is_some();
    let orch = match (rest_urls, &plan.topology) {
        (Some(urls), t) => Some(tokio::spawn(engine_watch::run(urls, t.clone(), log.clone(), stop.clone()))),
        (None, Some(t)) if plan.cluster.is_none() => Some(tokio::spawn(orchestrator::run(
            t.clone(),
            plan.orchestrator.clone(),
            plan.write_endpoint.clone(),
            log.clone(),
            stop.clone(),
        ))),
        _ => None,
    };
    nemesis(&plan, managed, measure_start, &log, &kills, stop).await;
    if let Some(o) = orch {
        let _ = o.await;
    }
}

/// Over 80 lines, kept whole on purpose: the cluster-manager role (the manager-interface change)
/// replaces it, and a split now would be moved twice.
async fn nemesis(
    plan: &FailoverPlan,
    managed: bool,
    measure_start: Instant,
    log: &EventLog,
    kills: &crate::fault::WorkerKills,
    mut stop: watch::Receiver<bool>,
) {
    let mut faults = plan.faults.clone();
    faults.sort_by_key(|f| f.at);
    for f in faults {
        tokio::select! {
            _ = tokio::time::sleep_until((measure_start + f.at).into()) => {}
            _ = stop.changed() => return,
        }
        if f.kind == FaultKind::KillHostInstance {
            kills.kill_host_instance();
            log.push(EventKind::Injected {
                fault: f.clone(),
                target: "host instance".into(),
                detail: "dies holding its next batch".into(),
            });
            continue;
        }
        if f.kind == FaultKind::KillReceiveInstance {
            kills.kill_receive_instance(f.duration);
            let detail = match f.duration {
                Some(d) => {
                    format!("dies at its next step, restarts after {}", habench_workloads::duration::format_duration(d))
                }
                None => "dies at its next step, for the rest of the run".into(),
            };
            log.push(EventKind::Injected { fault: f.clone(), target: "receive instance".into(), detail });
            continue;
        }
        if f.kind == FaultKind::SsoOutage {
            sso_outage(plan.sso.clone(), &f, log, stop.clone()).await;
            continue;
        }
        if f.kind.on_group() {
            match plan.groups.first() {
                Some(g) => group_fault::run(g.clone(), &f, &plan.messagebox, log, stop.clone()).await,
                None => log.push(EventKind::Failed { what: f.kind.to_string(), error: "no parallel groups".into() }),
            }
            continue;
        }
        if let Some(c) = &plan.cluster {
            let t_inject = Instant::now();
            match until_run_end(fault::external::inject(f.kind, c), c, stop.clone()).await {
                Ok(i) => {
                    let node = i.target.clone();
                    log.push_at(t_inject, EventKind::Injected { fault: f.clone(), target: i.target, detail: i.detail });
                    if let (true, Some(d)) = (f.kind.needs_duration(), f.duration) {
                        tokio::select! {
                            _ = tokio::time::sleep(d) => {}
                            _ = stop.changed() => {}
                        }
                        match until_run_end(fault::external::resume(c, f.kind, &node), c, stop.clone()).await {
                            Ok(true) => log.push(EventKind::Resumed { node }),
                            Ok(false) => {}
                            Err(e) => log.push(EventKind::Failed {
                                what: format!("{} resume on {node}", f.kind),
                                error: e.to_string(),
                            }),
                        }
                    }
                }
                Err(e) => log.push(EventKind::Failed { what: f.kind.to_string(), error: e.to_string() }),
            }
            continue;
        }
        let Some(topo) = &plan.topology else {
            log.push(EventKind::Failed {
                what: f.kind.to_string(),
                error: "no topology to break (--target-dsn)".into(),
            });
            continue;
        };
        let t_inject = Instant::now();
        let injected = {
            let mut t = topo.lock().await;
            fault::inject(f.kind, &mut t).await
        };
        match injected {
            Ok(i) => {
                let node = i.target.clone();
                log.push_at(t_inject, EventKind::Injected { fault: f.clone(), target: i.target, detail: i.detail });
                if f.kind == FaultKind::Switchover && !managed {
                    // Planned: the nemesis did the whole switchover; the endpoint is ready when
                    // the new primary answers through the listener.
                    if wait_endpoint(&plan.write_endpoint, Duration::from_secs(120)).await {
                        log.push(EventKind::EndpointReady);
                    }
                }
                if let (true, Some(d)) = (f.kind.needs_duration(), f.duration) {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = stop.changed() => {}
                    }
                    let mut t = topo.lock().await;
                    if fault::resume(&mut t, f.kind, &node) {
                        log.push(EventKind::Resumed { node });
                    }
                }
            }
            Err(e) => log.push(EventKind::Failed { what: f.kind.to_string(), error: e.to_string() }),
        }
    }
    // Keep running until the run ends (the orchestrator may still be acting).
    let _ = stop.changed().await;
}

/// Runs a cluster file's command (`fut`) until it ends; when the run ends first, every command
/// still running is killed with its process group (and `fut` ends with that). A command started
/// after the run's end (a fault lasting past it is undone) runs to its own timeout.
async fn until_run_end<T>(
    fut: impl std::future::Future<Output = T>,
    c: &crate::cluster::External,
    mut stop: watch::Receiver<bool>,
) -> T {
    tokio::pin!(fut);
    if *stop.borrow() {
        return fut.await;
    }
    tokio::select! {
        out = &mut fut => out,
        _ = stop.changed() => {
            c.kill_running_commands();
            fut.await
        }
    }
}

/// The separate secret server crashes now and starts again after the fault's duration (in a
/// task of its own: later faults, such as a host instance's death, happen during the outage).
async fn sso_outage(
    sso: Option<Arc<tokio::sync::Mutex<crate::topology::SsoServer>>>,
    f: &FaultSpec,
    log: &EventLog,
    mut stop: watch::Receiver<bool>,
) {
    let Some(server) = sso else {
        log.push(EventKind::Failed {
            what: f.kind.to_string(),
            error: "no separate secret server (--sso separate)".into(),
        });
        return;
    };
    let t_inject = Instant::now();
    let killed = server.lock().await.crash().await;
    let node = SSO_NODE.to_string();
    log.push_at(
        t_inject,
        EventKind::Injected { fault: f.clone(), target: node.clone(), detail: format!("{killed} processes killed") },
    );
    let (log, d) = (log.clone(), f.duration.unwrap_or_default());
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.changed() => {}
        }
        match server.lock().await.start().await {
            Ok(_) => log.push(EventKind::Resumed { node }),
            Err(e) => log.push(EventKind::Failed { what: "sso server start".into(), error: e.to_string() }),
        }
    });
}

/// Polls the write endpoint until a read-write session answers.
pub(crate) async fn wait_endpoint(endpoint: &Endpoint, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(c) = endpoint.connect_once().await {
            if let Ok(row) = c.query_one("SELECT pg_is_in_recovery()", &[]).await {
                if !row.get::<_, bool>(0) {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
