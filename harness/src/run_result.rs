//! What a run produces, for whoever stores, exports or reports it: the per-interval sink and
//! progress, and the run's result (counts, pacing, drain, errors, failover events, CPU, reports).
//! The runner fills these; it is not needed to read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::measure::{IntervalRow, RunClock, Stats};

/// Receives each interval as the run goes (the results store, the progress line).
pub trait RunSink: Send {
    fn interval(&mut self, row: &IntervalRow, so_far: &Progress<'_>);
}

/// What the analysis of the trials and of an asynchronous setup's exposure needs of each
/// interval.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IntervalDigest {
    /// Interval end, seconds since the run started.
    pub t_s: f64,
    pub measured: bool,
    /// p99 of publishes acknowledged in the interval (None: none were).
    pub publish_p99_us: Option<u64>,
    /// Messages waiting in every host queue at the end of the interval.
    pub queue_total: Option<i64>,
    /// Standbys streaming from the primary, and the write lag of the nearest of them (ms; None
    /// when none reported one).
    pub standbys: u32,
    pub write_lag_ms: Option<f64>,
}

#[derive(Debug)]
pub struct Progress<'a> {
    pub totals: &'a Stats,
    pub measured_s: f64,
    pub run: &'a RunConfig,
    pub elapsed_s: f64,
    pub planned_s: f64,
}

/// Whole-run message counts (warm-up and drain included).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageCounts {
    pub published_ok: u64,
    /// Queue entries created by acknowledged publishes (one per subscribed host).
    pub routed_ok: u64,
    pub completed_ok: u64,
    pub suspended_ok: u64,
    /// Operations whose outcome is unknown (connection lost or timed out at commit).
    pub unknown: u64,
    /// Scheduled publishes never attempted (the run was stopped, or no server came back).
    pub not_attempted: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrainResult {
    /// Every queue of a host with instances was empty when the run ended (a stopped host's
    /// messages stay in `left_in_queues`).
    pub drained: bool,
    pub drain_ms: f64,
    pub left_in_queues: Option<i64>,
}

/// Open loop, measured phase: how well the publishers kept the schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pacing {
    /// Slots a publisher was idle for and waited until the intended start.
    pub woken: u64,
    /// How late those publishers woke after the intended start (µs): habench's timing error.
    pub wake_late_us_mean: f64,
    pub wake_late_us_max: u64,
    /// Slots that found every publisher busy and started late (their latency counts from the
    /// intended start all the same).
    pub started_late: u64,
}

/// Publishing throttling over the run (`--throttle`): how long and how hard it throttled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttling {
    /// The message-count threshold (host queues plus suspended).
    pub threshold: u64,
    /// Seconds of the measured phase that were throttled.
    pub throttled_s: f64,
    /// Seconds throttled over the whole run (warm-up and drain included).
    pub throttled_total_s: f64,
    /// The longest delay applied to a publish (ms).
    pub max_delay_ms: f64,
    /// Publishes that waited a throttling delay.
    pub delayed_publishes: u64,
    /// The most messages sampled in the MessageBox.
    pub peak_messages: Option<i64>,
}

impl Throttling {
    /// Adds one interval's sample.
    pub(crate) fn add(&mut self, sample: &crate::measure::ThrottleSample, interval_s: f64, measured: bool) {
        if sample.throttled {
            self.throttled_total_s += interval_s;
            if measured {
                self.throttled_s += interval_s;
            }
        }
        self.max_delay_ms = self.max_delay_ms.max(sample.delay.as_secs_f64() * 1e3);
        self.peak_messages = self.peak_messages.max(sample.messages);
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Measured phase only (warm-up and drain excluded).
    pub totals: Stats,
    pub measured_s: f64,
    pub messages: MessageCounts,
    /// Open loop only.
    pub pacing: Option<Pacing>,
    pub drain: DrainResult,
    pub errors: ErrorLog,
    /// None when the run completed; otherwise why it stopped.
    pub stop_reason: Option<String>,
    pub clock: RunClock,
    /// Per interval, what the failover analysis needs.
    pub digests: Vec<IntervalDigest>,
    /// Faults injected and what the orchestrator did.
    pub events: Vec<crate::events::Event>,
    /// When the publish schedule ended: the planned end of the measured phase (wall-clock µs).
    pub schedule_end_us: i64,
    /// Server CPU over the measured phase (topologies habench started).
    pub cpu: Option<crate::measure::cpu::CpuUsage>,
    /// What the report queries measured, when there were any.
    pub reports: Option<ReportResult>,
    /// `--throttle` runs.
    pub throttle: Option<Throttling>,
    /// Changes of the primary's `synchronous_standby_names` (MessageBox runs).
    pub sync_samples: Vec<crate::measure::exposure::SyncSample>,
    /// A receive location's files and reads.
    pub receive: Option<crate::receive::ReceiveRecords>,
    /// The SSO master secret's counts (`--sso`).
    pub sso: Option<std::sync::Arc<crate::sso::SsoState>>,
    /// Every stall of habench itself over 50 ms (its runtimes, or the whole process).
    pub stalls: Vec<crate::measure::stall::Stall>,
    /// The longest any of habench's runtimes (or the process) was late, recorded or not.
    pub largest_lateness: std::time::Duration,
    /// Where the measured phase started (it ends with the last measured interval).
    pub measure_start: std::time::Instant,
    /// A stall longer than this in the measured phase compromises the run.
    pub max_harness_stall: std::time::Duration,
}

/// The report load's results.
#[derive(Debug)]
pub struct ReportResult {
    pub stats: crate::measure::reports::ReportStats,
    /// Standby -> growth of `pg_stat_database_conflicts` (tablespace, lock, snapshot,
    /// bufferpin, deadlock) over the run.
    pub server_conflicts: BTreeMap<String, [i64; 5]>,
}

/// The first occurrences of each distinct error, with counts (bounded).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorLog {
    pub by_message: BTreeMap<String, u64>,
    pub dropped: u64,
}

const MAX_DISTINCT_ERRORS: usize = 50;

impl ErrorLog {
    pub(crate) fn note(&mut self, context: &str, message: &str) {
        let key = format!("{context}: {}", message.lines().next().unwrap_or(message));
        if let Some(n) = self.by_message.get_mut(&key) {
            *n += 1;
        } else if self.by_message.len() < MAX_DISTINCT_ERRORS {
            self.by_message.insert(key, 1);
        } else {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_by_message_and_bounded() {
        let mut log = ErrorLog::default();
        log.note("publish", "connection closed\ndetail");
        log.note("publish", "connection closed");
        for i in 0..100 {
            log.note("dequeue", &format!("error {i}"));
        }
        assert_eq!(log.by_message["publish: connection closed"], 2);
        assert_eq!(log.by_message.len(), MAX_DISTINCT_ERRORS);
        assert_eq!(log.dropped, 51);
    }
}
