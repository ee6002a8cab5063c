//! The summary's parallel-groups section: where the messages went, and what each maneuver on a
//! group (a crash, a drain) cost.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ParallelSection {
    pub groups: u8,
    /// Every group's own topology.
    pub group_topology: String,
    pub probe_interval_ms: f64,
    pub probe_threshold: u32,
    pub per_group: Vec<GroupFigures>,
    pub maneuvers: Vec<Maneuver>,
}

/// One group over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct GroupFigures {
    pub name: String,
    /// Publishes the balancer sent to it: acknowledged, failed, without an answer.
    pub published_ok: u64,
    pub published_failed: u64,
    pub published_unknown: u64,
    /// Messages its own database holds a trace of after the run (None: it could not be read).
    pub in_database: Option<i64>,
    /// Acknowledged publishes of this group the checker did not find.
    pub lost: u64,
}

/// A crash or a drain of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Maneuver {
    /// `crash-group` or `drain-group`.
    pub kind: String,
    pub group: String,
    /// s from the start of the run.
    pub at_s: f64,
    /// When the group's servers were all up again (None: never, in this run).
    pub back_s: Option<f64>,
    /// When the balancer took the group out of its rotation, ms after the fault (a drain takes it
    /// out at once: 0).
    pub out_after_ms: Option<f64>,
    /// Publishes sent to the group from the fault until it was out of the rotation that failed
    /// or got no answer.
    pub failed_before_out: u64,
    /// drain-group: how long its hosts took to empty its queues, and what was left when its
    /// servers stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emptied_after_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_at_stop: Option<i64>,
    /// Messages the group had acknowledged and not delivered (every host queue) when it went
    /// down (a crash: at the fault; a drain: when its servers stopped): held in a group nobody
    /// else can read.
    pub stranded: u64,
    /// Of those, delivered after the group came back, and the extra delay: from its going down
    /// to the last delivery of each (ms).
    pub stranded_delivered: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_delay_ms: Option<DelayFigures>,
    /// Stranded messages never delivered in the run.
    pub stranded_never_delivered: u64,
    /// Acknowledged publishes of every group per second: in the 10 s before the fault (not
    /// before the measured phase), and from the fault until the group was back (or publishing
    /// ended).
    pub throughput_before: f64,
    pub throughput_during: f64,
    /// p99 publish latency (acknowledged, from the intended start), ms, in the same windows.
    pub publish_p99_before_ms: Option<f64>,
    pub publish_p99_during_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DelayFigures {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}
