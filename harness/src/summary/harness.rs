//! `summary.harness`: habench watching itself. Every stall of its runtimes or of the whole
//! process over 50 ms, and whether one in the measured phase was long enough to compromise the
//! run's figures.

use serde::{Deserialize, Serialize};

use crate::measure::stall::Stall;
use crate::measure::RunClock;

/// One stall of habench, on the run's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StallRecord {
    /// Seconds since the run started.
    pub at_s: f64,
    pub duration_ms: f64,
    /// `main`, `client-N` (a client thread's runtime) or `process` (the whole process).
    pub runtime: String,
    /// It overlapped the measured phase.
    pub measured: bool,
    /// It was still going on when the run ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ongoing: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct HarnessSection {
    /// The threshold (`--max-harness-stall`): a longer stall in the measured phase compromises
    /// the run.
    pub max_stall_ms: f64,
    /// The longest stall in the measured phase (0 when none was over 50 ms).
    pub largest_measured_stall_ms: f64,
    /// The longest any runtime's heartbeat (or the watching thread) came late over the whole
    /// run, under 50 ms included: a healthy run's margin.
    pub largest_lateness_ms: f64,
    pub stalls: Vec<StallRecord>,
}

impl HarnessSection {
    /// The stalls on the run's clock; the measured phase is `[measured.0, measured.1]` seconds;
    /// `lateness` the longest any runtime was late, recorded or not.
    pub(crate) fn of(
        (stalls, lateness): (&[Stall], std::time::Duration),
        clock: &RunClock,
        measured: (f64, f64),
        max_stall: std::time::Duration,
    ) -> Self {
        let stalls: Vec<StallRecord> = stalls
            .iter()
            .map(|s| {
                let at_s = clock.elapsed_s(s.start);
                let end_s = at_s + s.duration.as_secs_f64();
                StallRecord {
                    at_s,
                    duration_ms: s.duration.as_secs_f64() * 1e3,
                    runtime: s.runtime.clone(),
                    measured: at_s < measured.1 && end_s > measured.0,
                    ongoing: s.ongoing,
                }
            })
            .collect();
        let largest = stalls.iter().filter(|s| s.measured).map(|s| s.duration_ms).fold(0.0, f64::max);
        HarnessSection {
            max_stall_ms: max_stall.as_secs_f64() * 1e3,
            largest_measured_stall_ms: largest,
            largest_lateness_ms: lateness.as_secs_f64() * 1e3,
            stalls,
        }
    }

    /// Why the run's figures cannot be trusted, when a stall in the measured phase passed the
    /// threshold: the longest such stall, when, and where.
    pub(crate) fn compromised_reason(&self) -> Option<String> {
        let (head, detail) = self.compromised_parts()?;
        Some(format!("{head} ({detail})"))
    }

    /// The same in two parts: `habench stalled 2.0 s at 12.0 s`, and where and what it means.
    pub(crate) fn compromised_parts(&self) -> Option<(String, String)> {
        let over: Vec<&StallRecord> =
            self.stalls.iter().filter(|s| s.measured && s.duration_ms > self.max_stall_ms).collect();
        let worst = over.iter().max_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms))?;
        let where_ = match worst.runtime.as_str() {
            "process" => "the whole process was stopped or starved".to_string(),
            "main" => "its main runtime (faults, orchestrator, host instances, sampling) did not run".to_string(),
            r => format!("its publisher thread {r} did not run"),
        };
        let more = match over.len() {
            1 => String::new(),
            n => format!("; {n} stalls over {:.0} ms in all", self.max_stall_ms),
        };
        Some((
            format!("habench stalled {:.1} s at {:.1} s", worst.duration_ms / 1e3, worst.at_s),
            format!("{where_}{more}: figures of the measured phase may not be what the servers did"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_a_stall_in_the_measured_phase_over_the_threshold_compromises() {
        let clock = RunClock::start_now();
        let at = |s: f64| clock.start() + Duration::from_secs_f64(s);
        let stall = |s: f64, ms: u64, rt: &str| Stall {
            runtime: rt.into(),
            start: at(s),
            duration: Duration::from_millis(ms),
            ongoing: false,
        };
        let max = Duration::from_millis(200);
        // Before the measured phase (warm-up), long: recorded, not compromising.
        let h = HarnessSection::of((&[stall(1.0, 3000, "main")], Duration::ZERO), &clock, (5.0, 25.0), max);
        assert_eq!(h.stalls.len(), 1);
        assert!(!h.stalls[0].measured && h.compromised_reason().is_none());
        // In it, under the threshold.
        let h = HarnessSection::of((&[stall(10.0, 150, "client-0")], Duration::ZERO), &clock, (5.0, 25.0), max);
        assert!(h.compromised_reason().is_none());
        assert!((h.largest_measured_stall_ms - 150.0).abs() < 1e-6);
        // Starting in the warm-up and lasting into the measured phase; and a process stop.
        let h = HarnessSection::of(
            (&[stall(4.0, 2500, "main"), stall(12.3, 2000, "process")], Duration::ZERO),
            &clock,
            (5.0, 25.0),
            max,
        );
        let why = h.compromised_reason().expect("compromised");
        assert!(why.starts_with("habench stalled 2.5 s at 4.0 s (its main runtime"), "{why}");
        assert!(why.contains("2 stalls over 200 ms"), "{why}");
    }
}
