//! One row of the per-interval series.

use serde::Serialize;

use crate::measure::stats::Stats;

/// Which part of the run an interval belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Warmup,
    Measure,
    Drain,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Warmup => "warmup",
            Phase::Measure => "measure",
            Phase::Drain => "drain",
        }
    }
}

/// Replication lag of one standby as the primary sees it (`pg_stat_replication`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StandbyLag {
    pub name: String,
    pub write_ms: Option<f64>,
    pub flush_ms: Option<f64>,
    pub replay_ms: Option<f64>,
    /// Bytes between the primary's current WAL position and the standby's replay position.
    pub replay_bytes: Option<i64>,
}

/// One interval's publishing throttling (`--throttle`), as decided at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleSample {
    pub throttled: bool,
    /// The delay each publish waits from now on.
    pub delay: std::time::Duration,
    /// The message count it was decided on (None: not sampled this interval).
    pub messages: Option<i64>,
}

/// What happened in one interval.
#[derive(Debug, Clone)]
pub struct IntervalRow {
    /// Interval end, seconds since the start of the run (warm-up start).
    pub t_s: f64,
    pub interval_s: f64,
    pub phase: Phase,
    pub stats: Stats,
    /// Queue depth per host, in config order (None when it could not be sampled).
    pub queue_depths: Option<Vec<i64>>,
    pub spool_rows: Option<i64>,
    /// Publishing throttling decided at the end of the interval (`--throttle` runs only).
    pub throttle: Option<ThrottleSample>,
    pub lag: Vec<StandbyLag>,
    pub loadavg_1m: Option<f64>,
    /// Resident memory of habench itself (it must stay flat however long the run).
    pub rss_bytes: Option<u64>,
}
