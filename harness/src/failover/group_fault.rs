//! Faults on a parallel group (the first): `crash-group` (every server of the group crashes;
//! started again after the duration, or never) and `drain-group` (a rolling patch: out of the
//! balancer's rotation, its hosts empty its queues, its servers stop cleanly for the duration
//! and start again). Each runs in a task of its own: later faults happen during it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use habench_workloads::duration::format_duration;
use habench_workloads::messagebox::{queue_depths, MessageBoxConfig};
use tokio::sync::watch;

use super::SharedTopology;
use crate::balancer::Group;
use crate::events::{EventKind, EventLog};
use crate::fault::{FaultKind, FaultSpec};

/// How long a drain waits for the group's queues to empty before it stops the servers anyway.
const EMPTY_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn run(
    (group, topo): (Arc<Group>, SharedTopology),
    f: &FaultSpec,
    mb: &MessageBoxConfig,
    log: &EventLog,
    stop: watch::Receiver<bool>,
) {
    let t_inject = Instant::now();
    let injected = |detail: String| EventKind::Injected { fault: f.clone(), target: group.name.clone(), detail };
    match f.kind {
        FaultKind::CrashGroup => {
            let (running, killed) = crash_all(&topo).await;
            let back = match f.duration {
                Some(d) => format!("started again after {}", format_duration(d)),
                None => "never started again".into(),
            };
            log.push_at(
                t_inject,
                injected(format!("{killed} processes of {} killed at once; {back}", running.join(", "))),
            );
            let Some(d) = f.duration else {
                group.set_gone();
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                wait(d, stop).await;
                restart(&group, &topo, &running, &log).await;
            });
        }
        FaultKind::DrainGroup => {
            group.set_drained(true);
            log.push_at(t_inject, injected("out of the balancer's rotation; its hosts empty its queues".into()));
            let (log, mb, d) = (log.clone(), mb.clone(), f.duration.unwrap_or_default());
            tokio::spawn(async move {
                let left = wait_empty(&group, &mb, stop.clone()).await;
                log.push(EventKind::GroupEmptied { group: group.name.clone(), left });
                let running = stop_all(&topo, &log).await;
                wait(d, stop).await;
                restart(&group, &topo, &running, &log).await;
                group.set_drained(false);
            });
        }
        _ => log.push(EventKind::Failed { what: f.kind.to_string(), error: "not a group fault".into() }),
    }
}

/// Waits `d`, or until the run stops (already stopped: not at all).
async fn wait(d: Duration, mut stop: watch::Receiver<bool>) {
    if *stop.borrow() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

/// Every running server of the group crashed at once: their names, and the processes killed.
async fn crash_all(topo: &SharedTopology) -> (Vec<String>, usize) {
    let mut t = topo.lock().await;
    let (mut running, mut killed) = (Vec::new(), 0);
    for node in t.as_topology_mut().nodes_mut() {
        if node.is_running() {
            running.push(node.name().to_string());
            killed += node.crash().await;
        }
    }
    (running, killed)
}

/// Every running server of the group stopped cleanly (a shutdown checkpoint): their names.
async fn stop_all(topo: &SharedTopology, log: &EventLog) -> Vec<String> {
    let mut t = topo.lock().await;
    let mut running = Vec::new();
    for node in t.as_topology_mut().nodes_mut() {
        if node.is_running() {
            running.push(node.name().to_string());
            if let Err(e) = node.stop().await {
                log.push(EventKind::Failed { what: format!("stopping {}", node.name()), error: e.to_string() });
            }
        }
    }
    running
}

/// The servers that ran before started again (crash recovery after a crash), in the group's
/// order; the group is back when the last one is ready.
async fn restart(group: &Group, topo: &SharedTopology, names: &[String], log: &EventLog) {
    let mut t = topo.lock().await;
    for name in names {
        let Some(node) = t.as_topology_mut().node_mut(name) else { continue };
        if let Err(e) = node.start().await {
            log.push(EventKind::Failed { what: format!("starting {name} of {}", group.name), error: e.to_string() });
            return;
        }
    }
    log.push(EventKind::Resumed { node: group.name.clone() });
}

/// Polls the group's queues until they are empty twice in a row (a publish sent just before the
/// drain may still land), or the wait times out; the entries left.
async fn wait_empty(group: &Group, mb: &MessageBoxConfig, mut stop: watch::Receiver<bool>) -> i64 {
    let deadline = Instant::now() + EMPTY_TIMEOUT;
    let (mut left, mut empty_polls) = (-1, 0);
    let mut client = None;
    while Instant::now() < deadline && !*stop.borrow() {
        if client.as_ref().is_none_or(|c: &tokio_postgres::Client| c.is_closed()) {
            client = group.endpoint.connect_once().await.ok();
        }
        if let Some(c) = &client {
            if let Ok(d) = queue_depths(c, mb).await {
                left = d.queues.iter().sum();
                empty_polls = if left == 0 { empty_polls + 1 } else { 0 };
                if empty_polls >= 2 {
                    return 0;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => {}
        }
    }
    left
}
