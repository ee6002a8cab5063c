//! Latency histograms and outcome counts per operation.

use habench_workloads::Outcome;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::measure::op::Op;

/// Highest latency a histogram records: one hour, in µs (larger values are clamped).
pub(crate) const MAX_LATENCY_US: u64 = 3_600_000_000;

/// One operation's latencies (of ok outcomes) and its outcome counts.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub hist: Histogram<u64>,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    /// Acknowledged after a cancelled synchronous-replication wait (in the histogram, not in ok).
    pub acked_unreplicated: u64,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats { hist: new_histogram(), ok: 0, fail: 0, unknown: 0, acked_unreplicated: 0 }
    }
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

impl OpStats {
    pub(crate) fn record(&mut self, outcome: Outcome, latency_us: u64) {
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                self.hist.saturating_record(latency_us.clamp(1, MAX_LATENCY_US));
            }
            Outcome::AckedUnreplicated => {
                self.acked_unreplicated += 1;
                self.hist.saturating_record(latency_us.clamp(1, MAX_LATENCY_US));
            }
            Outcome::Fail => self.fail += 1,
            Outcome::Unknown => self.unknown += 1,
        }
    }

    pub(crate) fn add(&mut self, other: &OpStats) {
        self.hist.add(&other.hist).expect("same bounds");
        self.ok += other.ok;
        self.fail += other.fail;
        self.unknown += other.unknown;
        self.acked_unreplicated += other.acked_unreplicated;
    }

    pub(crate) fn reset(&mut self) {
        self.hist.reset();
        self.ok = 0;
        self.fail = 0;
        self.unknown = 0;
        self.acked_unreplicated = 0;
    }

    pub fn total(&self) -> u64 {
        self.ok + self.fail + self.unknown + self.acked_unreplicated
    }

    pub fn latency(&self) -> LatencySummary {
        LatencySummary::of(&self.hist)
    }
}

/// Percentiles of one histogram, µs (also what summary.json stores per operation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl LatencySummary {
    /// The same with the mean rounded to 0.01 µs, as stored.
    pub(crate) fn rounded(self) -> LatencySummary {
        LatencySummary { mean: (self.mean * 100.0).round() / 100.0, ..self }
    }

    pub(crate) fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Everything one worker (or a merge of workers) recorded.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    ops: [Option<OpStats>; Op::COUNT],
    /// Dequeues that found nothing (no transaction id, nothing waited for a standby).
    pub empty_dequeues: u64,
    /// Deliveries dequeued more than once.
    pub redelivered: u64,
    /// Completions refused because the instance no longer held the message.
    pub not_held: u64,
}

impl Stats {
    pub(crate) fn record(&mut self, op: Op, outcome: Outcome, latency_us: u64) {
        self.ops[op.index()].get_or_insert_with(OpStats::default).record(outcome, latency_us);
    }

    pub fn op(&self, op: Op) -> Option<&OpStats> {
        self.ops[op.index()].as_ref()
    }

    /// Operations that were recorded at least once, in `Op::ALL` order.
    pub(crate) fn ops(&self) -> impl Iterator<Item = (Op, &OpStats)> {
        Op::ALL.into_iter().filter_map(|op| self.op(op).map(|s| (op, s)))
    }

    pub(crate) fn add(&mut self, other: &Stats) {
        for (op, s) in other.ops() {
            self.ops[op.index()].get_or_insert_with(OpStats::default).add(s);
        }
        self.empty_dequeues += other.empty_dequeues;
        self.redelivered += other.redelivered;
        self.not_held += other.not_held;
    }

    /// Clears counts, keeping allocations.
    pub(crate) fn reset(&mut self) {
        for s in self.ops.iter_mut().flatten() {
            s.reset();
        }
        self.empty_dequeues = 0;
        self.redelivered = 0;
        self.not_held = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ok_outcomes_are_timed_and_every_outcome_is_counted() {
        let mut s = Stats::default();
        for us in [100, 200, 300] {
            s.record(Op::Publish, Outcome::Ok, us);
        }
        s.record(Op::Publish, Outcome::Fail, 5);
        s.record(Op::Publish, Outcome::Unknown, 9_000_000);
        let p = s.op(Op::Publish).unwrap();
        assert_eq!((p.ok, p.fail, p.unknown), (3, 1, 1));
        let l = p.latency();
        assert_eq!(l.count, 3);
        assert!(l.p50 <= l.p99 && l.p99 <= l.max);
        assert!((299..=300).contains(&l.max));
        assert!(s.op(Op::Complete).is_none());
    }

    #[test]
    fn merging_adds_counts_and_histograms() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        a.record(Op::Complete, Outcome::Ok, 10);
        b.record(Op::Complete, Outcome::Ok, 1_000_000);
        b.empty_dequeues = 2;
        a.add(&b);
        let c = a.op(Op::Complete).unwrap();
        assert_eq!(c.ok, 2);
        assert!(c.latency().max >= 999_000);
        assert_eq!(a.empty_dequeues, 2);
        a.reset();
        assert_eq!(a.op(Op::Complete).unwrap().total(), 0);
    }

    #[test]
    fn huge_latencies_are_clamped_not_lost() {
        let mut s = OpStats::default();
        s.record(Outcome::Ok, u64::MAX);
        assert_eq!(s.ok, 1);
        assert!(s.latency().max >= MAX_LATENCY_US / 2);
    }
}
