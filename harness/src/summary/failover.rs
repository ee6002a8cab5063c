//! The summary's failover section: one timeline per injected fault (a trial), the spreads of
//! its phases over the trials, and the faults that failed.

use serde::{Deserialize, Serialize};

use crate::events::EventKind;
use crate::failover::band::Band;
use crate::fault::FaultSpec;

/// One timeline per fault, and their spreads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct FailoverSection {
    pub trials: Vec<Trial>,
    /// Faults that failed: an injection refused or a command that failed or timed out (the
    /// run went on; its load was measured as usual).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_faults: Vec<FailedFault>,
    pub rto_ms: Option<Spread>,
    pub detected_ms: Option<Spread>,
    pub promoted_ms: Option<Spread>,
    pub endpoint_ready_ms: Option<Spread>,
    pub p99_recovered_ms: Option<Spread>,
    pub backlog_recovered_ms: Option<Spread>,
}

/// A fault, or a step of one, that did not happen as asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FailedFault {
    /// Seconds since the run started.
    pub at_s: f64,
    /// The fault (and the step: `pause-primary resume on n1`).
    pub what: String,
    /// Why: the node, the action and the command's status or timeout.
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TimedEvent {
    pub at_ms: f64,
    #[serde(flatten)]
    pub event: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Trial {
    pub fault: FaultSpec,
    pub target: String,
    /// Seconds since the run started (the timeline's `t_s`).
    pub injected_at_s: f64,
    pub detected_ms: Option<f64>,
    pub fenced_ms: Option<f64>,
    /// Promoted (replicas) or restarted (shared-disk, single).
    pub promoted_ms: Option<f64>,
    pub endpoint_ready_ms: Option<f64>,
    /// The longest gap between acknowledged publishes around the fault, as clients saw it:
    /// last acknowledged write before the outage to the first after it.
    pub rto_ms: Option<f64>,
    pub last_ack_before_ms: Option<f64>,
    pub first_ack_after_ms: Option<f64>,
    /// First interval end after the outage whose publish p99 is back under the pre-fault p99
    /// times the factor.
    pub p99_recovered_ms: Option<f64>,
    pub pre_fault_p99_us: Option<u64>,
    /// The worst interval publish p99 from the fault until p99 recovered (or the run ended).
    pub p99_during_recovery_us: Option<u64>,
    /// First interval end after the outage with the queues back near their pre-fault level.
    pub backlog_recovered_ms: Option<f64>,
    /// Crash-recovery (redo) time from the server log, when a server restarted on the old data.
    pub recovery_ms: Option<f64>,
    /// WAL that crash recovery replayed.
    pub redo_bytes: Option<u64>,
    pub promoted_node: Option<String>,
    /// The RTO band the configuration predicts, and whether the measurement is inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
    pub events: Vec<TimedEvent>,
}

/// p50 and max of a set of trial values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spread {
    pub p50: f64,
    pub max: f64,
    pub n: usize,
}
