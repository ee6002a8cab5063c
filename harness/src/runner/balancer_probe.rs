//! The load balancer's health probes: each group's listener is asked `SELECT 1` every probe
//! interval; `probe_threshold` failures in a row take the group out of the rotation, one answer
//! puts it back. Each change is an event.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::balancer::{Balancer, Group};
use crate::events::{EventKind, EventLog};

/// Probes every group until `stop`.
pub(crate) async fn probes(b: Arc<Balancer>, events: EventLog, stop: watch::Receiver<bool>) {
    let mut set = JoinSet::new();
    for g in b.groups() {
        set.spawn(probe_group(g.clone(), b.probe_interval, b.probe_threshold, events.clone(), stop.clone()));
    }
    while set.join_next().await.is_some() {}
}

async fn probe_group(
    g: Arc<Group>,
    every: Duration,
    threshold: u32,
    events: EventLog,
    mut stop: watch::Receiver<bool>,
) {
    let mut failed = 0u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        // A probe that takes longer than the interval failed (as a balancer's timeout).
        let answered = tokio::time::timeout(every, async {
            let c = g.endpoint.connect_once().await.ok()?;
            c.simple_query("SELECT 1").await.ok()
        })
        .await
        .ok()
        .flatten()
        .is_some();
        if answered {
            failed = 0;
            if g.set_in_rotation(true) {
                events.push(EventKind::BalancerIn { group: g.name.clone() });
            }
        } else {
            failed += 1;
            if failed >= threshold && g.set_in_rotation(false) {
                events.push(EventKind::BalancerOut { group: g.name.clone(), failed_probes: failed });
            }
        }
    }
}
