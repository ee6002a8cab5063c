//! The run's clock: monotonic instants for pacing and latency, mapped to wall-clock µs for
//! what is stored in the database (intended publish times) and the ledger.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    start: Instant,
    start_epoch_us: i64,
    pub wall_start: SystemTime,
}

impl RunClock {
    pub(crate) fn start_now() -> RunClock {
        let wall_start = SystemTime::now();
        let start_epoch_us = wall_start.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as i64;
        RunClock { start: Instant::now(), start_epoch_us, wall_start }
    }

    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Wall-clock µs since the Unix epoch of an instant of this run.
    pub(crate) fn epoch_us(&self, t: Instant) -> i64 {
        self.start_epoch_us + t.saturating_duration_since(self.start).as_micros() as i64
    }

    /// The instant of a wall-clock µs value (clamped to the run's start).
    pub(crate) fn instant_of(&self, epoch_us: i64) -> Instant {
        self.start + Duration::from_micros(epoch_us.saturating_sub(self.start_epoch_us).max(0) as u64)
    }

    /// Seconds since the run started.
    pub(crate) fn elapsed_s(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64()
    }
}

/// µs between two instants, saturating at 0.
pub(crate) fn micros_between(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_micros() as u64
}
