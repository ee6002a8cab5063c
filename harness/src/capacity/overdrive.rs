//! BizTalk's overdrive test (`--overdrive F:D`): after the search, F x MST for D, then back to
//! a low load; how high the backlog got, how long publishing was throttled, and how long the
//! backlog took to drain once the load was low again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `--overdrive F:D`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct OverdrivePlan {
    /// Times the MST.
    pub factor: f64,
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub duration: Duration,
}

/// The low load before and after the overdrive, as a share of the MST.
pub(crate) const LOW_SHARE: f64 = 0.5;
/// The low load after the overdrive lasts this many times the overdrive.
pub(crate) const RECOVERY_FACTOR: u32 = 2;

impl OverdrivePlan {
    /// `1.4:2m`: a factor above 1 and a duration of at least 5 s.
    pub(crate) fn parse(text: &str) -> Result<OverdrivePlan, String> {
        let usage = "write FACTOR:DURATION, e.g. 1.4:2m (1.4 x the MST for 2 minutes)";
        let (f, d) = text.split_once(':').ok_or_else(|| format!("`{text}`: {usage}"))?;
        let factor: f64 = f.trim().parse().map_err(|_| format!("`{f}` is not a factor; {usage}"))?;
        if !(factor > 1.0 && factor <= 10.0) {
            return Err(format!("factor {f}: give more than 1 and at most 10 times the MST, e.g. 1.4"));
        }
        let duration = habench_workloads::duration::parse_duration(d.trim()).map_err(|e| format!("`{d}`: {e}"))?;
        if duration < Duration::from_secs(5) {
            return Err(format!("`{d}`: an overdrive shorter than 5 s builds no backlog to measure; give e.g. 2m"));
        }
        Ok(OverdrivePlan { factor, duration })
    }

    /// The low load after the overdrive.
    pub(crate) fn recovery(&self) -> Duration {
        self.duration * RECOVERY_FACTOR
    }
}

/// One interval of the overdrive run's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Seconds since the overdrive began (the start of the measured phase).
    pub t_s: f64,
    /// Messages waiting in every host queue (None: not sampled).
    pub queued: Option<f64>,
    pub throttled: bool,
}

/// What the overdrive run showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OverdriveResult {
    pub factor: f64,
    /// Publishes/s offered during the overdrive, and in the low load around it.
    pub rate: f64,
    pub low_rate: f64,
    pub duration_s: f64,
    pub recovery_s: f64,
    /// The run's results folder, relative to the capacity folder.
    pub folder: String,
    /// What the queues did (capacity.json keeps these keys flat: `backlog_start`...).
    #[serde(flatten)]
    pub backlog: BacklogFigures,
    /// Acknowledged publishes/s over the whole run, and the failed or unknown operations.
    pub achieved: f64,
    pub failed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The backlog figures from the run's samples; `allowance` is the queue depth above the start
/// that still counts as drained.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct BacklogFigures {
    /// Messages waiting when the overdrive began, at the peak, and when it ended.
    #[serde(rename = "backlog_start")]
    pub start: Option<f64>,
    #[serde(rename = "backlog_peak")]
    pub peak: Option<f64>,
    /// Seconds from the start of the overdrive to the peak.
    pub peak_at_s: Option<f64>,
    #[serde(rename = "backlog_at_overdrive_end")]
    pub at_end_of_overdrive: Option<f64>,
    /// Seconds throttled (`--throttle`), overdrive and recovery together.
    #[serde(default)]
    pub throttled_s: f64,
    /// Seconds from the end of the overdrive until the backlog was back to where it started
    /// (within one second of the low load's queue entries) and stayed there; None: not within
    /// the recovery.
    pub drain_s: Option<f64>,
    /// When it did not drain: what was left at the end, and the time the remaining excess
    /// would take at the recovery's measured drain rate (None when it was not falling).
    pub left_at_end: Option<f64>,
    pub drain_estimate_s: Option<f64>,
}

pub(crate) fn analyse(samples: &[Sample], overdrive_s: f64, interval_s: f64, allowance: f64) -> BacklogFigures {
    let mut f = BacklogFigures::default();
    let sampled = || samples.iter().filter_map(|s| Some((s.t_s, s.queued?)));
    // The start: the last sample at or before the overdrive began (the warm-up's end).
    f.start = sampled().rfind(|s| s.0 <= 0.0).or_else(|| sampled().next()).map(|s| s.1);
    if let Some((t, q)) = sampled().filter(|s| s.0 > 0.0).max_by(|a, b| a.1.total_cmp(&b.1)) {
        f.peak = Some(q);
        f.peak_at_s = Some(t);
    }
    f.at_end_of_overdrive = sampled().rfind(|s| s.0 <= overdrive_s + 1e-9).map(|s| s.1);
    f.throttled_s = samples.iter().filter(|s| s.t_s > 0.0 && s.throttled).count() as f64 * interval_s;
    let base = f.start.unwrap_or(0.0);
    let after: Vec<(f64, f64)> = sampled().filter(|s| s.0 > overdrive_s).collect();
    // Drained from the first sample after which every sample stays down: a queue emptied by
    // throttled publishers comes back when they catch up with the schedule.
    let stays_from = after.iter().rposition(|s| s.1 > base + allowance).map_or(0, |i| i + 1);
    match after.get(stays_from) {
        Some(s) => f.drain_s = Some(s.0 - overdrive_s),
        None => {
            f.left_at_end = after.last().map(|s| s.1);
            let slope = crate::measure::fit::slope(&after);
            if let (Some(left), Some(slope)) = (f.left_at_end, slope) {
                if slope < 0.0 {
                    let end = after.last().map(|s| s.0).unwrap_or(overdrive_s);
                    f.drain_estimate_s = Some(end - overdrive_s + (left - base - allowance).max(0.0) / -slope);
                }
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_json_keeps_the_backlog_figures_as_flat_keys() {
        let r = OverdriveResult {
            factor: 1.4,
            rate: 140.0,
            low_rate: 50.0,
            duration_s: 120.0,
            recovery_s: 600.0,
            folder: "overdrive".into(),
            backlog: BacklogFigures { start: Some(10.0), peak: Some(900.0), drain_s: Some(42.0), ..Default::default() },
            achieved: 139.0,
            failed: 0,
            error: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!((v["backlog_start"].as_f64(), v["backlog_peak"].as_f64()), (Some(10.0), Some(900.0)), "{v}");
        assert_eq!(v["drain_s"].as_f64(), Some(42.0));
        assert!(v["backlog_at_overdrive_end"].is_null() && v.get("backlog").is_none(), "{v}");
        let back: OverdriveResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    fn run(points: &[(f64, f64, bool)]) -> Vec<Sample> {
        points.iter().map(|&(t_s, q, throttled)| Sample { t_s, queued: Some(q), throttled }).collect()
    }

    #[test]
    fn the_plan_parses_and_bad_ones_are_refused_naming_the_part() {
        let p = OverdrivePlan::parse("1.4:2m").unwrap();
        assert_eq!((p.factor, p.duration, p.recovery()), (1.4, Duration::from_secs(120), Duration::from_secs(240)));
        assert!(OverdrivePlan::parse("1.4").unwrap_err().contains("FACTOR:DURATION"));
        assert!(OverdrivePlan::parse("0.9:1m").unwrap_err().contains("more than 1"));
        assert!(OverdrivePlan::parse("2:1s").unwrap_err().contains("shorter than 5 s"));
        assert!(OverdrivePlan::parse("x:1m").unwrap_err().contains("not a factor"));
    }

    #[test]
    fn a_backlog_that_builds_and_drains_is_timed_from_the_end_of_the_overdrive() {
        // 10 s of overdrive: +100/s; then draining at 50/s.
        let mut pts = vec![(-1.0, 20.0, false), (0.0, 20.0, false)];
        for t in 1..=10 {
            pts.push((t as f64, 20.0 + 100.0 * t as f64, t >= 8));
        }
        for t in 11..=40 {
            pts.push((t as f64, (1020.0 - 50.0 * (t - 10) as f64).max(15.0), false));
        }
        let f = analyse(&run(&pts), 10.0, 1.0, 30.0);
        assert_eq!(
            (f.start, f.peak, f.peak_at_s, f.at_end_of_overdrive),
            (Some(20.0), Some(1020.0), Some(10.0), Some(1020.0))
        );
        assert_eq!(f.throttled_s, 3.0);
        // 1020 - 50 k <= 50 first at k = 20 (t = 30 s).
        assert_eq!(f.drain_s, Some(20.0));
        assert_eq!((f.left_at_end, f.drain_estimate_s), (None, None));
    }

    #[test]
    fn a_queue_that_empties_and_fills_again_has_not_drained_until_it_stays_down() {
        // Throttled publishers let the queue empty, then catch up with their schedule.
        let pts: Vec<(f64, f64, bool)> = [
            (0.0, 10.0),
            (5.0, 900.0),
            (10.0, 1000.0),
            (12.0, 0.0),
            (14.0, 800.0),
            (16.0, 300.0),
            (18.0, 5.0),
            (20.0, 8.0),
        ]
        .iter()
        .map(|&(t, q)| (t, q, false))
        .collect();
        let f = analyse(&run(&pts), 10.0, 1.0, 20.0);
        assert_eq!(f.drain_s, Some(8.0), "{f:?}");
    }

    #[test]
    fn a_backlog_still_there_at_the_end_gets_an_estimate_or_none() {
        let falling: Vec<(f64, f64, bool)> = (0..=20)
            .map(|t| (t as f64, if t <= 10 { 100.0 * t as f64 } else { 1000.0 - 10.0 * (t - 10) as f64 }, false))
            .collect();
        let f = analyse(&run(&falling), 10.0, 1.0, 0.0);
        assert_eq!((f.drain_s, f.left_at_end), (None, Some(900.0)));
        // 900 left at 10/s, 10 s after the overdrive: 100 s in all.
        assert!((f.drain_estimate_s.unwrap() - 100.0).abs() < 1e-6, "{f:?}");
        let growing: Vec<(f64, f64, bool)> = (0..=20).map(|t| (t as f64, 100.0 * t as f64, false)).collect();
        let f = analyse(&run(&growing), 10.0, 1.0, 0.0);
        assert_eq!((f.drain_s, f.drain_estimate_s), (None, None), "still growing: no estimate");
    }
}
