//! How long a run lasts and waits: the measured phase, the warm-up, an operation's timeout, the
//! wait for a synchronous commit, the drain, and the longest stall of habench a run tolerates.

use std::time::Duration;

use crate::config::{scenario, Origin, Overrides, Target};
use crate::error::{Error, Result};
use crate::topology::TopologyKind;

/// The longest measured phase or warm-up habench accepts.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A stall of habench longer than this in the measured phase compromises a run.
pub(crate) const DEFAULT_MAX_HARNESS_STALL: Duration = Duration::from_millis(200);

/// The run's durations, each checked against its range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub duration: Duration,
    pub warmup: Duration,
    pub op_timeout: Duration,
    pub sync_wait_timeout: Option<Duration>,
    pub drain_timeout: Duration,
    pub max_harness_stall: Duration,
}

pub(crate) fn timing(
    args: &Overrides,
    file: &scenario::ScenarioFile,
    at: &Origin<'_>,
    target: &Target,
) -> Result<Timing> {
    let lsec = file.load.clone().unwrap_or_default();
    let duration = args.duration.or(file.duration.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
    if duration < Duration::from_secs(1) || duration > MAX_DURATION {
        return Err(Error::config(at.key(args.duration.is_some(), "--duration", "duration"), "give 1s to 7d"));
    }
    let warmup = args.warmup.or(file.warmup.map(|d| d.0)).unwrap_or(Duration::from_secs(5));
    if warmup > MAX_DURATION {
        return Err(Error::config(at.key(args.warmup.is_some(), "--warmup", "warmup"), "give 0s to 7d"));
    }
    let op_timeout = args.op_timeout.or(lsec.op_timeout.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
    if op_timeout < Duration::from_millis(10) || op_timeout > Duration::from_secs(3600) {
        return Err(Error::config(
            at.key(args.op_timeout.is_some(), "--op-timeout", "load.op_timeout"),
            "give 10ms to 1h",
        ));
    }
    let max_harness_stall = args.max_harness_stall.unwrap_or(DEFAULT_MAX_HARNESS_STALL);
    if max_harness_stall < crate::measure::stall::RECORD_OVER || max_harness_stall > Duration::from_secs(3600) {
        return Err(Error::config("--max-harness-stall", "give 50ms to 1h (default 200ms)"));
    }
    let sync_wait_timeout = args.sync_wait_timeout.or(lsec.sync_wait_timeout.map(|d| d.0));
    if let Some(d) = sync_wait_timeout {
        let key = at.key(args.sync_wait_timeout.is_some(), "--sync-wait-timeout", "load.sync_wait_timeout");
        if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
            return Err(Error::config(key, "give 1ms to 1h"));
        }
        if let Target::Topology(s) = target {
            if !matches!(s.kind, TopologyKind::Sync | TopologyKind::Patroni) {
                return Err(Error::config(
                    key,
                    format!(
                        "{} has no synchronous standby, so no commit waits; use --topology sync or patroni",
                        s.kind
                    ),
                ));
            }
        }
    }
    let drain_timeout = lsec.drain_timeout.map(|d| d.0).unwrap_or(Duration::from_secs(60));
    if drain_timeout > Duration::from_secs(3600) {
        return Err(Error::config(at.key(false, "drain_timeout", "load.drain_timeout"), "give 0s to 1h"));
    }
    Ok(Timing { duration, warmup, op_timeout, sync_wait_timeout, drain_timeout, max_harness_stall })
}
