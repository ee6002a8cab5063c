//! Watches pg_auto_failover decide, without ever acting: reads the monitor's table of nodes
//! every 50 ms and logs each change of the nodes' reported and assigned states, plus the phases
//! the trials time: detected (the monitor's health check fails the primary, or it assigns it
//! something other than primary), promoted (another node assigned and reporting primary) or
//! restarted (the same primary back), endpoint ready (the new primary answers read-write).
//! A primary cut off by a partition is probed directly as well (`cut_off.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Config;

use tokio::sync::watch;

use crate::autofailover::{FormationView, Monitor};
use crate::events::{EventKind, EventLog};
use crate::manager::cut_off::CutOff;
use crate::topology::{AnyTopology, SharedTopology};

/// How often the monitor is read.
const POLL: Duration = Duration::from_millis(50);

/// Where an outage stands, from the watcher's view.
#[derive(Debug, Default)]
struct Phase {
    /// The primary before the outage began.
    before: Option<String>,
    detected: bool,
    /// The primary that took over (or came back) and its port, awaiting read-write answers.
    awaiting_endpoint: Option<(String, u16)>,
}

/// Where the watched formation runs: a topology habench started (told who is primary after
/// each change; its nodes on this machine), or a cluster file's nodes by connection.
pub(crate) enum Formation {
    Started(SharedTopology),
    Remote(BTreeMap<String, Config>),
}

/// Watches the monitor until `stop`.
pub(crate) async fn run(monitor: Monitor, formation: Formation, log: EventLog, mut stop: watch::Receiver<bool>) {
    let mut last: Option<FormationView> = None;
    let mut phase = Phase::default();
    let mut cut: Option<CutOff> = None;
    loop {
        if let Some(now) = monitor.view().await {
            if last.as_ref() != Some(&now) {
                log.push(EventKind::Engine { node: "monitor".into(), what: now.brief() });
                step(&mut phase, last.as_ref(), &now, &log);
                if let (Some(_), Formation::Started(topo)) = (now.primary(), &formation) {
                    // Not waited for: a fault being injected holds the topology.
                    if let Ok(mut t) = topo.try_lock() {
                        if let AnyTopology::AutoFailover(a) = &mut *t {
                            a.follow(&now);
                        }
                    }
                }
                last = Some(now);
            }
        }
        if let Some((name, port)) = &phase.awaiting_endpoint {
            let cfg = match &formation {
                Formation::Started(_) => local(*port),
                Formation::Remote(nodes) => nodes.get(name).cloned().unwrap_or_else(|| local(*port)),
            };
            if answers_read_write(&cfg).await {
                log.push(EventKind::EndpointReady);
                phase = Phase::default();
            }
        }
        if let (None, Formation::Started(topo)) = (&cut, &formation) {
            cut = cut_off_node(topo).map(|(node, port)| CutOff::begin(&node, port, &log));
        }
        if let Some(c) = &mut cut {
            let other = last.as_ref().and_then(FormationView::primary).is_some_and(|p| p.name != c.node());
            c.round(other, |port| async move { answers_read_write(&local(port)).await }, &log).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// A data node habench's links cut off now, and its port (not waited for: a fault being
/// injected holds the topology).
fn cut_off_node(topo: &SharedTopology) -> Option<(String, u16)> {
    let t = topo.try_lock().ok()?;
    let AnyTopology::AutoFailover(a) = &*t else { return None };
    let f = a.formation();
    f.nodes().iter().find(|n| f.is_partitioned(n.name())).map(|n| (n.name().to_string(), n.port()))
}

/// One change of the monitor's view: the outage's phases it shows.
fn step(phase: &mut Phase, last: Option<&FormationView>, now: &FormationView, log: &EventLog) {
    if phase.before.is_none() {
        phase.before = last.and_then(FormationView::primary).map(|p| p.name.clone());
    }
    let Some(old) = phase.before.clone() else { return };
    let old_now = now.nodes.iter().find(|n| n.name == old);
    // (`wait_primary` -> `primary` is the same primary getting its standby back.)
    let writable = |state: &str| matches!(state, "primary" | "wait_primary" | "single");
    let still_primary = old_now.is_some_and(|n| n.health != 0 && writable(&n.goal) && writable(&n.reported));
    if !phase.detected && !still_primary {
        phase.detected = true;
        log.push(EventKind::Detected { node: old.clone(), missed_probes: 0 });
    }
    if !phase.detected || phase.awaiting_endpoint.is_some() {
        return;
    }
    let Some(p) = now.primary() else { return };
    if p.name != old {
        log.push(EventKind::Promoted {
            node: p.name.clone(),
            promote_ms: 0.0,
            detail: format!("pg_auto_failover: {} assigned and reporting {}", p.name, p.reported),
        });
    } else if still_primary {
        log.push(EventKind::Restarted { node: p.name.clone(), start_ms: 0.0, recovery_ms: None, redo_bytes: None });
    } else {
        return;
    }
    phase.awaiting_endpoint = Some((p.name.clone(), p.port));
}

/// A server habench started, on this machine.
fn local(port: u16) -> Config {
    let mut c = Config::new();
    c.host("127.0.0.1").port(port).user(crate::pg::conn::SUPERUSER).dbname("postgres");
    c
}

/// Whether the server answers and is out of recovery.
async fn answers_read_write(cfg: &Config) -> bool {
    let attempt = async {
        let c = crate::pg::conn::connect_config(cfg, Duration::from_millis(500)).await.ok()?;
        let row = c.query_one("SELECT pg_is_in_recovery()", &[]).await.ok()?;
        Some(!row.get::<_, bool>(0))
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), attempt).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autofailover::NodeState;

    fn view(nodes: &[(&str, &str, &str)]) -> FormationView {
        let state = |(i, (name, reported, goal)): (usize, &(&str, &str, &str))| NodeState {
            name: name.to_string(),
            port: 5000 + i as u16,
            reported: reported.to_string(),
            goal: goal.to_string(),
            health: 1,
            timeline: 1,
        };
        FormationView { nodes: nodes.iter().enumerate().map(state).collect() }
    }

    fn kinds(log: &EventLog) -> Vec<String> {
        log.events().iter().map(|e| format!("{:?}", e.kind).split([' ', '{']).next().unwrap().to_string()).collect()
    }

    /// The states a node crash went through on this machine (monitor defaults).
    #[test]
    fn a_crashed_primary_is_detected_when_drained_and_the_promoted_standby_awaits_its_endpoint() {
        let steps = [
            view(&[("n1", "primary", "primary"), ("n2", "secondary", "secondary"), ("n3", "secondary", "secondary")]),
            view(&[
                ("n1", "primary", "draining"),
                ("n2", "secondary", "report_lsn"),
                ("n3", "secondary", "report_lsn"),
            ]),
            view(&[("n1", "primary", "demote_timeout"), ("n2", "prepare_promotion", "stop_replication")]),
            view(&[
                ("n1", "primary", "demoted"),
                ("n2", "wait_primary", "wait_primary"),
                ("n3", "join_secondary", "secondary"),
            ]),
            view(&[("n1", "primary", "demoted"), ("n2", "primary", "primary"), ("n3", "secondary", "secondary")]),
        ];
        let (log, mut phase) = (EventLog::default(), Phase::default());
        for w in steps.windows(2) {
            step(&mut phase, Some(&w[0]), &w[1], &log);
        }
        assert_eq!(kinds(&log), vec!["Detected", "Promoted"]);
        assert_eq!(phase.awaiting_endpoint, Some(("n2".into(), 5001)), "promoted once, at wait_primary");
    }

    #[test]
    fn a_primary_whose_health_check_fails_then_passes_again_was_restarted() {
        let up = view(&[("n1", "primary", "primary"), ("n2", "secondary", "secondary")]);
        let mut down = up.clone();
        down.nodes[0].health = 0;
        let (log, mut phase) = (EventLog::default(), Phase::default());
        step(&mut phase, Some(&up), &down, &log);
        step(&mut phase, Some(&down), &up, &log);
        assert_eq!(kinds(&log), vec!["Detected", "Restarted"]);
        // A view that changes nothing about the primary logs nothing more.
        let mut phase = Phase::default();
        let log = EventLog::default();
        let moved = view(&[("n1", "primary", "primary"), ("n2", "catchingup", "secondary")]);
        step(&mut phase, Some(&up), &moved, &log);
        // A new primary getting its standby back (wait_primary -> primary) is no outage.
        let waiting = view(&[("n1", "wait_primary", "wait_primary"), ("n2", "catchingup", "secondary")]);
        let back = view(&[("n1", "wait_primary", "primary"), ("n2", "secondary", "secondary")]);
        let mut phase = Phase::default();
        step(&mut phase, Some(&waiting), &back, &log);
        assert!(kinds(&log).is_empty(), "{:?}", kinds(&log));
    }
}
