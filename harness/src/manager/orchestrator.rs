//! The built-in cluster manager: probes the primary (and the standbys) at an interval; after a
//! threshold of consecutive missed probes it acts: fence, then take over (shared-disk), promote
//! the most advanced standby (replicas; log-shipping after a manual-intervention delay) or
//! restart (single); then waits for the write endpoint. A standby that stops answering is taken
//! out of the synchronous list (commits stop waiting for it) and restarted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use habench_workloads::duration::serde_str;
use serde::Serialize;
use tokio::sync::watch;

use crate::events::{EventKind, EventLog};
use crate::manager::wait_endpoint;
use crate::pg::Endpoint;
use crate::pg::{conn, Role};
use crate::topology::{AnyTopology, SharedTopology, Topology, TopologyKind};

/// The orchestrator's knobs (written to the manifest).
#[derive(Debug, Clone, Serialize)]
pub struct OrchestratorConfig {
    /// Time between health probes (a probe that takes longer is a miss).
    #[serde(with = "serde_str")]
    pub probe_interval: Duration,
    /// Consecutive missed probes before the node is declared failed.
    pub probe_threshold: u32,
    /// log-shipping: the wait for a person to decide to fail over to the DR site.
    #[serde(with = "serde_str")]
    pub manual_delay: Duration,
    /// p99 counts as recovered when an interval's p99 is back under the pre-fault p99 times this.
    pub p99_factor: f64,
    /// After a failover or a dropped standby, bring the lost node back (the old primary as a
    /// standby of the new one, a dead standby restarted). Off for `capacity --n-minus-1`, which
    /// measures what is left after losing it.
    pub heal: bool,
    /// Kill the old primary before a takeover. Off (`--no-fence`): a replica is promoted while
    /// the old primary still runs; when it is seen taking writes again it is fenced then.
    pub fence: bool,
}

impl Default for OrchestratorConfig {
    /// The Windows failover cluster's defaults: a heartbeat every second, 10 missed = down.
    fn default() -> Self {
        OrchestratorConfig {
            probe_interval: Duration::from_secs(1),
            probe_threshold: 10,
            manual_delay: Duration::ZERO,
            p99_factor: 2.0,
            heal: true,
            fence: true,
        }
    }
}

const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) async fn run(
    topo: SharedTopology,
    cfg: OrchestratorConfig,
    endpoint: Endpoint,
    log: EventLog,
    mut stop: watch::Receiver<bool>,
) {
    let mut misses: HashMap<String, u32> = HashMap::new();
    // Old primaries left running (no fence) seen answering as primaries, in a row.
    let mut zombies: HashMap<String, u32> = HashMap::new();
    let probe_timeout = cfg.probe_interval.max(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.probe_interval) => {}
            _ = stop.changed() => return,
        }
        // Who to probe: the primary and the standbys that should be running.
        let (primary, standbys) = {
            let t = topo.lock().await;
            let t = t.as_topology();
            // Probes take the clients' path (through client links, when there are any).
            let p = (t.primary().name().to_string(), t.client_port(t.primary()));
            let s: Vec<(String, u16)> = t
                .nodes()
                .iter()
                .filter(|n| n.role() == Role::Standby)
                .map(|n| (n.name().to_string(), t.client_port(n)))
                .collect();
            (p, s)
        };
        let mut failed_primary = false;
        let mut failed_standbys = Vec::new();
        for (name, port, is_primary) in std::iter::once((primary.0.clone(), primary.1, true))
            .chain(standbys.into_iter().map(|(n, p)| (n, p, false)))
        {
            let ok = probe(port, probe_timeout).await;
            let m = misses.entry(name.clone()).or_insert(0);
            *m = if ok { 0 } else { *m + 1 };
            if *m >= cfg.probe_threshold {
                log.push(EventKind::Detected { node: name.clone(), missed_probes: *m });
                *m = 0;
                if is_primary {
                    failed_primary = true;
                } else {
                    failed_standbys.push(name);
                }
            }
        }
        if failed_primary {
            if !fail_over(&topo, &cfg, &endpoint, &log).await {
                return;
            }
            misses.clear();
        }
        for name in failed_standbys {
            replace_standby(&topo, &name, cfg.heal, &log).await;
        }
        if !cfg.fence {
            fence_split_brain(&topo, &cfg, &log, probe_timeout, &mut zombies).await;
        }
    }
}

/// One health probe: connect and answer `SELECT 1` within the timeout.
async fn probe(port: u16, timeout: Duration) -> bool {
    let attempt = async {
        let c = conn::connect(port, timeout).await.ok()?;
        c.simple_query("SELECT 1").await.ok()
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(_)))
}

/// Over 80 lines: the takeover of each kind the orchestrator manages (shared disk, single,
/// replicas), then the endpoint and the heal, in the order a failover cluster works. False
/// when nothing is left to manage: a single server whose host stays lost (no heal).
async fn fail_over(topo: &SharedTopology, cfg: &OrchestratorConfig, endpoint: &Endpoint, log: &EventLog) -> bool {
    let mut guard = topo.lock().await;
    let result = match &mut *guard {
        // An engine decides by itself; the built-in orchestrator never runs beside one.
        AnyTopology::Patroni(_) | AnyTopology::AutoFailover(_) => Ok(()),
        AnyTopology::SharedDisk(sd) => {
            let t0 = Instant::now();
            match sd.takeover().await {
                Ok(tk) => {
                    log.push_at(
                        t0 + tk.fence,
                        EventKind::Fenced { node: tk.from.clone(), processes: tk.fenced_processes },
                    );
                    log.push_at(
                        t0 + tk.ready,
                        EventKind::Restarted {
                            node: tk.to.clone(),
                            start_ms: tk.start.as_secs_f64() * 1e3,
                            recovery_ms: tk.recovery.map(|d| d.as_secs_f64() * 1e3),
                            redo_bytes: tk.redo_bytes,
                        },
                    );
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        AnyTopology::Single(s) => {
            let node = &mut s.nodes_mut()[0];
            let killed = node.crash().await;
            log.push(EventKind::Fenced { node: node.name().to_string(), processes: killed });
            if !cfg.heal {
                // A lost host stays lost: one server has no other node to take over.
                log.push(EventKind::Failed {
                    what: "failover".into(),
                    error: format!(
                        "{} is the only server and it is not started again (--no-heal): nothing to fail over to",
                        node.name()
                    ),
                });
                return false;
            }
            match node.start().await {
                Ok(start) => {
                    let text = node.log_text_since_start();
                    log.push(EventKind::Restarted {
                        node: node.name().to_string(),
                        start_ms: start.as_secs_f64() * 1e3,
                        recovery_ms: crate::topology::redo_elapsed(&text).map(|d| d.as_secs_f64() * 1e3),
                        redo_bytes: crate::topology::redo_bytes(&text),
                    });
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        AnyTopology::Replicated(r) => {
            let old = r.primary().name().to_string();
            if cfg.fence {
                let killed = r.node_mut(&old).expect("primary").crash().await;
                log.push(EventKind::Fenced { node: old.clone(), processes: killed });
            } else {
                let port = r.client_port(r.primary());
                log.push(EventKind::LeftRunning {
                    node: old.clone(),
                    port: r.primary().port(),
                    client_port: port,
                    cut_off: false,
                });
            }
            if r.kind() == TopologyKind::LogShipping && !cfg.manual_delay.is_zero() {
                tokio::time::sleep(cfg.manual_delay).await;
            }
            let t_promote = Instant::now();
            match promotion_target(r, log).await {
                Ok(target) => match r.promote(&target, cfg.fence).await {
                    Ok(p) => {
                        let detail = p
                            .followers
                            .iter()
                            .map(|f| format!("then {} {:?} in {:.0} ms", f.name, f.method, f.repoint_ms))
                            .collect::<Vec<_>>()
                            .join(", ");
                        // Promoted when it left recovery; the followers were re-pointed after.
                        let at = t_promote + Duration::from_secs_f64(p.promote_ms / 1e3);
                        log.push_at(at, EventKind::Promoted { node: target, promote_ms: p.promote_ms, detail });
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        }
    };
    drop(guard);
    if let Err(e) = result {
        log.push(EventKind::Failed { what: "failover".into(), error: e.to_string() });
        return true;
    }
    if wait_endpoint(endpoint, ENDPOINT_TIMEOUT).await {
        log.push(EventKind::EndpointReady);
    } else {
        log.push(EventKind::Failed {
            what: "endpoint".into(),
            error: format!("no read-write node within {ENDPOINT_TIMEOUT:?}"),
        });
    }
    // Heal: the old primary of a replica set comes back as a standby of the new one.
    if !cfg.heal {
        return true;
    }
    let mut guard = topo.lock().await;
    if let AnyTopology::Replicated(r) = &mut *guard {
        // An old primary left running (no fence) rejoins once it has been fenced, not before.
        let down: Vec<String> = r
            .nodes_mut()
            .iter_mut()
            .filter(|n| n.role() == Role::Down)
            .filter_map(|n| (!n.is_running()).then(|| n.name().to_string()))
            .collect();
        for name in down {
            rejoin(r, &name, log).await;
        }
    }
    true
}

async fn rejoin(r: &mut crate::topology::Replicated, name: &str, log: &EventLog) {
    match r.repoint(name).await {
        Ok(m) => log.push(EventKind::StandbyRejoined { node: name.to_string(), detail: format!("{m:?}") }),
        Err(e) => log.push(EventKind::Failed { what: format!("rejoin {name}"), error: e.to_string() }),
    }
}

/// The standby to promote: the most advanced running one; when none runs (the last standby was
/// lost and not brought back), the most recently running one is started on its own data and
/// promoted, as an availability group's forced failover "with possible data loss": what the old
/// primary acknowledged after that standby stopped is gone, and the exposure section says so.
async fn promotion_target(r: &mut crate::topology::Replicated, log: &EventLog) -> crate::error::Result<String> {
    match r.most_advanced_standby().await {
        Ok(t) => Ok(t),
        Err(e) => {
            let Some(name) = r.start_stopped_standby().await? else { return Err(e) };
            log.push(EventKind::Engine {
                node: name.clone(),
                what:
                    "forced failover: no standby was running; started on its own data, what it never received is lost"
                        .into(),
            });
            Ok(name)
        }
    }
}

/// Old primaries left running by a takeover without fencing that answer as read-write again
/// (a hung primary that woke up): split brain. Logged when first seen; fenced once seen the
/// threshold of probes in a row (the same confirmation a failure needs), then rejoined as a
/// standby when healing is on.
async fn fence_split_brain(
    topo: &SharedTopology,
    cfg: &OrchestratorConfig,
    log: &EventLog,
    timeout: Duration,
    seen: &mut HashMap<String, u32>,
) {
    let candidates: Vec<(String, u16)> = {
        let mut t = topo.lock().await;
        let AnyTopology::Replicated(r) = &mut *t else { return };
        // Through the clients' path, like every probe: a partitioned old primary is not seen
        // until its clients can reach it again.
        let ports: Vec<(String, u16)> = r
            .nodes()
            .iter()
            .filter(|n| n.role() == Role::Down)
            .map(|n| (n.name().to_string(), r.client_port(n)))
            .collect();
        ports
            .into_iter()
            .filter(|(name, _)| r.node_mut(name).is_some_and(|n| n.is_running() && !n.is_paused()))
            .collect()
    };
    for (name, port) in candidates {
        if !answers_read_write(port, timeout).await {
            seen.remove(&name);
            continue;
        }
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            log.push(EventKind::SplitBrain { node: name.clone() });
        }
        if *n < cfg.probe_threshold {
            continue;
        }
        seen.remove(&name);
        let mut t = topo.lock().await;
        let AnyTopology::Replicated(r) = &mut *t else { return };
        let killed = r.node_mut(&name).expect("node").crash().await;
        log.push(EventKind::Fenced { node: name.clone(), processes: killed });
        if cfg.heal {
            rejoin(r, &name, log).await;
        }
    }
}

/// Whether the server behind `port` is up and out of recovery.
async fn answers_read_write(port: u16, timeout: Duration) -> bool {
    let attempt = async {
        let c = conn::connect(port, timeout).await.ok()?;
        let row = c.query_one("SELECT pg_is_in_recovery()", &[]).await.ok()?;
        Some(!row.get::<_, bool>(0))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

async fn replace_standby(topo: &SharedTopology, name: &str, heal: bool, log: &EventLog) {
    let mut guard = topo.lock().await;
    let AnyTopology::Replicated(r) = &mut *guard else { return };
    match r.drop_standby(name).await {
        Ok(()) => log.push(EventKind::StandbyDropped { node: name.to_string() }),
        Err(e) => {
            log.push(EventKind::Failed { what: format!("drop {name}"), error: e.to_string() });
            return;
        }
    }
    if !heal {
        return;
    }
    match r.restart_standby(name).await {
        Ok(()) => log.push(EventKind::StandbyRejoined { node: name.to_string(), detail: "restarted".into() }),
        Err(e) => log.push(EventKind::Failed { what: format!("restart {name}"), error: e.to_string() }),
    }
}
