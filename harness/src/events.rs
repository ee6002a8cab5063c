//! The run's history: every timestamped event of a run (a fault injected, a node detected down,
//! fenced, promoted or restarted, the endpoint ready, a cluster manager's decision, a balancer
//! taking a group out, a command that failed). The nemesis, the orchestrator and the watchers
//! append to one shared `EventLog`; the analysis turns it into trials and sections.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::fault::FaultSpec;

/// The separate SSO secret server's name in the event log.
pub(crate) const SSO_NODE: &str = "sso";

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Injected {
        fault: FaultSpec,
        target: String,
        detail: String,
    },
    Resumed {
        node: String,
    },
    /// `--net namespaces`: who hears whom from now on. `dropped`: [from, to] pairs whose
    /// packets are dropped; `impaired`: [host, what] (a loss rate, a bandwidth). Empty both:
    /// the whole network again.
    Reach {
        hosts: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dropped: Vec<[String; 2]>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        impaired: Vec<[String; 2]>,
    },
    Detected {
        node: String,
        missed_probes: u32,
    },
    Fenced {
        node: String,
        processes: usize,
    },
    Promoted {
        node: String,
        promote_ms: f64,
        detail: String,
    },
    Restarted {
        node: String,
        start_ms: f64,
        recovery_ms: Option<f64>,
        redo_bytes: Option<u64>,
    },
    /// An old primary left running: by a takeover without fencing (`--no-fence`), or cut off
    /// from its peers by a partition while clients still reach it (`cut_off`); `port` is its
    /// own, `client_port` where clients reach it.
    LeftRunning {
        node: String,
        port: u16,
        client_port: u16,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cut_off: bool,
    },
    /// An old primary left running answered as read-write beside the new one.
    SplitBrain {
        node: String,
    },
    StandbyDropped {
        node: String,
    },
    StandbyRejoined {
        node: String,
        detail: String,
    },
    EndpointReady,
    /// What a cluster manager (Patroni) shows changing: leader key, leader state, timeline.
    Engine {
        node: String,
        what: String,
    },
    HostInstanceKilled {
        host: String,
    },
    /// A receive instance died (`kill-receive-instance`), holding the file it had published
    /// and not deleted, if any (its successor may read it again).
    ReceiveInstanceKilled {
        instance: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holding: Option<String>,
    },
    /// A receive instance started again after its death.
    ReceiveInstanceRestarted {
        instance: String,
    },
    /// clustered receive host: a waiting instance took over from one that stopped beating.
    ReceiveTakeover {
        from: String,
        to: String,
    },
    /// Parallel groups: the balancer's probes failed `failed_probes` times in a row and it took
    /// the group out of its rotation.
    BalancerOut {
        group: String,
        failed_probes: u32,
    },
    /// Parallel groups: a probe answered and the group is back in the rotation.
    BalancerIn {
        group: String,
    },
    /// drain-group: the drained group's queues emptied (or the wait ended with `left` entries).
    GroupEmptied {
        group: String,
        left: i64,
    },
    Failed {
        what: String,
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub kind: EventKind,
}

/// The shared, append-only event log.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventLog(Arc<Mutex<Vec<Event>>>);

impl EventLog {
    pub(crate) fn push(&self, kind: EventKind) {
        tracing::info!(?kind, "failover event");
        self.0.lock().expect("event log lock").push(Event { at: Instant::now(), kind });
    }

    /// Logs an event that happened at `at` (e.g. a step inside a longer action).
    pub(crate) fn push_at(&self, at: Instant, kind: EventKind) {
        tracing::info!(?kind, "failover event");
        self.0.lock().expect("event log lock").push(Event { at, kind });
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        self.0.lock().expect("event log lock").clone()
    }
}
