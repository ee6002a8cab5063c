//! The sections of a run's summary beside its per-operation figures: setup, environment, check,
//! CPU, report queries and failover.

use std::collections::BTreeMap;

use habench_workloads::checker::CheckReport;
use habench_workloads::reporting::ReportMix;
use serde::{Deserialize, Serialize};

use crate::config::ReportsOn;
use crate::summary::Latency;

/// What the run was set up as, in the terms a comparison groups by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Setup {
    /// The topology kind, or `target-dsn`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standbys: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_count: Option<u8>,
    /// Standby -> its emulated link.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// The longest one-way delay of the links.
    #[serde(default)]
    pub one_way_delay_ms: f64,
    #[serde(default)]
    pub floor_flush_us: Option<f64>,
    #[serde(default)]
    pub floor_round_trip_us: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Environment {
    pub load_at_end: crate::sysinfo::Load,
    pub rss_bytes_at_end: Option<u64>,
    pub ledger_rows: u64,
}

/// Messages waiting in every host queue over the measured phase: where they began and ended,
/// their peak, and their growth per second (least-squares slope of the per-interval samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Backlog {
    pub start: i64,
    pub end: i64,
    pub peak: i64,
    pub slope_per_s: f64,
    /// The slope over the second half of the samples: by then the queues have filled to their
    /// steady depth (what `habench capacity` judges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slope_per_s: Option<f64>,
    /// Its standard error (the queue's sampling noise: polls take entries in batches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slope_se_per_s: Option<f64>,
    pub samples: u32,
}

impl Backlog {
    /// From (seconds, depth) samples; None with fewer than two.
    pub(crate) fn of(samples: &[(f64, i64)]) -> Option<Backlog> {
        if samples.len() < 2 {
            return None;
        }
        let points: Vec<(f64, f64)> = samples.iter().map(|s| (s.0, s.1 as f64)).collect();
        let slope = crate::measure::fit::slope(&points).unwrap_or(0.0);
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let half = &points[points.len() / 2..];
        let late = (points.len() >= 4).then(|| crate::measure::fit::slope(half)).flatten();
        let late_se = (points.len() >= 6).then(|| crate::measure::fit::slope_with_error(half)).flatten().map(|f| f.1);
        Some(Backlog {
            start: samples[0].1,
            end: samples[samples.len() - 1].1,
            peak: samples.iter().map(|s| s.1).max().unwrap_or(0),
            slope_per_s: round(slope),
            late_slope_per_s: late.map(round),
            late_slope_se_per_s: late_se.map(round),
            samples: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        })
    }
}

/// Durability exposure: the intervals in which the primary acknowledged commits with fewer
/// synchronous standbys than it started with, what was acknowledged in them, and which of the
/// lost messages were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExposureSection {
    /// `synchronous_standby_names` when the run started, and the standbys it requires.
    pub configured: String,
    pub required: u32,
    pub windows: Vec<ExposureWindow>,
    /// Seconds exposed, and the publishes acknowledged in those seconds.
    pub exposed_s: f64,
    pub acked_exposed: u64,
    /// Acknowledged publishes the checker found lost, and how many of them were acknowledged
    /// inside a window.
    pub lost: u64,
    pub lost_in_windows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExposureWindow {
    /// Seconds since the run started (the timeline's `t_s`); no end: it lasted to the run's end.
    pub start_s: f64,
    pub end_s: Option<f64>,
    /// The same as wall-clock µs (the ledger's `at_us`); the end is the run's end when it lasted.
    /// The start is the last sample that still showed the protected setting, `seen_us` the first
    /// that showed the change (it happened in between).
    pub start_us: i64,
    #[serde(default)]
    pub seen_us: i64,
    pub end_us: i64,
    /// The setting during the window, and what made it so.
    pub names: String,
    pub cause: String,
    pub acked: u64,
    pub lost: u64,
}

/// An asynchronous setup's exposure: no standby confirms a commit, so every publish is
/// acknowledged without waiting for any standby, and lives on the primary alone for the write lag of the nearest
/// standby (`pg_stat_replication.write_lag`, sampled once an interval on the primary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AsyncExposureSection {
    /// The most standbys streaming from the primary at one sample.
    pub standbys: u32,
    /// Interval samples that showed a write lag, its median and largest (ms): the largest is
    /// the longest a commit was seen to stay unconfirmed (a peak between samples is not seen).
    pub samples: u32,
    pub median_write_lag_ms: Option<f64>,
    pub max_write_lag_ms: Option<f64>,
    /// Publishes acknowledged in the run, none of them waiting for a standby.
    pub acked: u64,
    /// At each fault: the write lag last sampled before it, and the publishes acknowledged within
    /// that lag before the fault (not yet on any standby when it struck).
    pub at_faults: Vec<AsyncAtFault>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AsyncAtFault {
    pub fault: String,
    /// Seconds since the run started.
    pub at_s: f64,
    pub write_lag_ms: Option<f64>,
    pub acked_in_lag: u64,
}

/// An old primary left running (a takeover without fencing, or a partition that cut it off
/// while clients still reached it), and what it acknowledged after the new primary was
/// promoted (times in seconds since the run started).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SplitBrainSection {
    /// The old primary, and its port (the ledger's `server_port`).
    pub node: String,
    pub port: u16,
    /// Left running by a partition that cut it off from its peers (its clients still reached
    /// it), not by a takeover without fencing; `fenced_s` is then when it stopped itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut_off: bool,
    pub promoted_node: Option<String>,
    pub promoted_s: Option<f64>,
    /// The promotion as wall-clock µs (the ledger's `at_us`).
    pub promoted_us: Option<i64>,
    /// When the orchestrator saw it answering as a primary again, and fenced it.
    pub seen_s: Option<f64>,
    pub fenced_s: Option<f64>,
    /// Publishes it acknowledged after the promotion, the first and the last of them, and how
    /// long after the promotion it still took writes.
    pub acked: u64,
    pub first_write_s: Option<f64>,
    pub last_write_s: Option<f64>,
    pub accepted_for_ms: Option<f64>,
    /// Of its acknowledged publishes, how many the checker found lost.
    pub lost: u64,
}

/// Publishes acknowledged by two primaries at once, from the ledger alone (every topology and
/// engine; `analysis::two_primaries`): present when two servers or more acknowledged publishes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TwoPrimariesSection {
    /// Every server (port) that acknowledged publishes.
    pub servers: Vec<u16>,
    /// Each of them by name (`n1`, or on a network `n1 at 10.213.1.1:5433`), in the same
    /// order; empty where the topology does not say (a cluster file).
    pub names: Vec<String>,
    /// Publishes acknowledged while another server was acknowledging around them, the servers
    /// that did, the first and the last of them (seconds since the run started).
    pub acked: u64,
    pub by: Vec<u16>,
    pub first_s: Option<f64>,
    pub last_s: Option<f64>,
    /// Of them, how many the checker found lost.
    pub lost: u64,
}

/// Where the lost acknowledged publishes sit in time: against the run's clock and against the
/// timeline switch (the promotion, and the switch point from the new primary's history file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct LostWritesSection {
    pub lost: u64,
    /// The promotion that followed the loss (seconds since the run started).
    pub switch_node: Option<String>,
    pub switch_s: Option<f64>,
    /// The new timeline and where it forked from its parent (`0/3000148`), from the history file.
    pub timeline: Option<u32>,
    pub switch_lsn: Option<String>,
    /// The first and the last lost publish's acknowledgement, and how long before the switch
    /// the first one was acknowledged.
    pub earliest_s: Option<f64>,
    pub latest_s: Option<f64>,
    pub before_switch_ms: Option<f64>,
    /// Of them, acknowledged inside a durability-exposure window.
    pub in_windows: u64,
    /// Every lost publish's acknowledgement, seconds since the run started, sorted (at most
    /// 10,000; `lost` counts them all).
    pub at_s: Vec<f64>,
}

/// The checker's report, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum CheckSection {
    Report(CheckReport),
    Error { error: String },
}

/// CPU over the measured phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CpuSection {
    pub wall_s: f64,
    /// The primary's node name.
    pub primary: Option<String>,
    pub nodes: BTreeMap<String, NodeCpu>,
    /// habench's own CPU (runs before it was measured have none).
    pub harness: Option<HarnessCpu>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct NodeCpu {
    pub cpu_s: f64,
    /// 1.0: one core busy.
    pub cores: f64,
    pub report_backends_cpu_s: f64,
}

/// habench's own CPU.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct HarnessCpu {
    pub cpu_s: f64,
    /// The kernel's part of `cpu_s` (system calls: sockets, timers, file writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_s: Option<f64>,
    pub cores: f64,
    pub machine_share: f64,
    /// habench's CPU µs per acknowledged publish (or insert) and per delivered message of the
    /// measured phase (everything it did in it, divided: ledger, histograms, sampler included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub us_per_publish: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub us_per_message: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Queries {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub ok_per_sec: f64,
}

/// A spread of staleness readings (ms or bytes).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Staleness {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RywCounts {
    pub checks: u64,
    pub violations: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TotalRyw {
    pub checks: u64,
    pub violations: u64,
    pub violation_share: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TargetConflicts {
    pub client_cancellations: u64,
    /// The standby's own count by cause (`pg_stat_database_conflicts`).
    pub server: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TotalConflicts {
    pub client_cancellations: u64,
    pub server_counted: i64,
}

/// Report queries on one target (the primary, or a standby).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ReportTarget {
    pub queries: Queries,
    /// `all` and one entry per report kind.
    pub latency_us: BTreeMap<String, Latency>,
    pub staleness_ms: Option<Staleness>,
    pub staleness_bytes: Option<Staleness>,
    pub read_your_writes: RywCounts,
    pub recovery_conflicts: TargetConflicts,
    pub connections: u64,
    pub misrouted: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReportsSection {
    pub on: ReportsOn,
    pub rate: f64,
    pub clients: u16,
    pub mix: ReportMix,
    pub queries: Queries,
    pub latency_us: Latency,
    pub targets: BTreeMap<String, ReportTarget>,
    pub staleness_ms: Option<Staleness>,
    pub staleness_bytes: Option<Staleness>,
    pub read_your_writes: TotalRyw,
    pub recovery_conflicts: TotalConflicts,
    pub misrouted: u64,
}

#[cfg(test)]
mod backlog_tests {
    use super::Backlog;

    #[test]
    fn the_slope_is_the_least_squares_growth_per_second() {
        let flat = Backlog::of(&[(1.0, 40), (2.0, 60), (3.0, 40), (4.0, 60)]).unwrap();
        assert!(flat.slope_per_s.abs() < 5.0, "{flat:?}");
        let growing = Backlog::of(&[(1.0, 100), (2.0, 200), (3.0, 300), (4.0, 400)]).unwrap();
        assert_eq!((growing.slope_per_s, growing.start, growing.end, growing.peak), (100.0, 100, 400, 400));
        assert_eq!(Backlog::of(&[(1.0, 5)]), None);
        // Queues filling to their steady depth, then flat: growth overall, none once filled.
        let filling = Backlog::of(&[(1.0, 0), (2.0, 200), (3.0, 400), (4.0, 400), (5.0, 400), (6.0, 400)]).unwrap();
        assert!(filling.slope_per_s > 50.0 && filling.late_slope_per_s == Some(0.0), "{filling:?}");
        assert_eq!(Backlog::of(&[(1.0, 5), (2.0, 6), (3.0, 7)]).unwrap().late_slope_per_s, None, "too few samples");
    }
}
