//! What the report queries measured: latency per target and query, staleness of standby reads,
//! read-your-writes probes, recovery-conflict cancellations, misrouted connections.

use std::collections::BTreeMap;

use habench_workloads::reporting::ReportKind;
use habench_workloads::Outcome;
use hdrhistogram::Histogram;

use crate::measure::stats::{new_histogram, OpStats};

/// One report query's measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportSample {
    pub kind: ReportKind,
    pub outcome: Outcome,
    /// From the intended start (open loop), µs.
    pub latency_us: u64,
    /// The server cancelled it for a recovery conflict.
    pub conflict: bool,
    /// Standby reads: ms since the last replayed commit (bytes behind the primary are known
    /// only later, see [`TargetReports::record_staleness_bytes`]).
    pub staleness_ms: Option<f64>,
    /// Lookup probes: whether the just-completed message's tracking row was visible.
    pub ryw_visible: Option<bool>,
}

/// Everything measured on one target (the primary, or one standby).
#[derive(Debug, Clone, Default)]
pub struct TargetReports {
    pub by_kind: BTreeMap<ReportKind, OpStats>,
    /// Staleness of reads, in µs (ms × 1000) and bytes (standbys only).
    pub staleness_us: Option<Histogram<u64>>,
    pub staleness_bytes: Option<Histogram<u64>>,
    pub ryw_checks: u64,
    pub ryw_violations: u64,
    /// Recovery-conflict cancellations the clients saw.
    pub conflicts: u64,
    /// Connections made, each checked for the server's role.
    pub connections: u64,
    /// Connections that landed on a server of the wrong role (e.g. a standby since promoted).
    pub misrouted: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ReportStats {
    /// Target (node name, or "primary") -> what was measured there.
    pub targets: BTreeMap<String, TargetReports>,
}

impl ReportStats {
    pub(crate) fn target(&mut self, name: &str) -> &mut TargetReports {
        self.targets.entry(name.to_string()).or_default()
    }

    pub(crate) fn record(&mut self, target: &str, s: &ReportSample) {
        let t = self.target(target);
        t.by_kind.entry(s.kind).or_default().record(s.outcome, s.latency_us);
        if s.conflict {
            t.conflicts += 1;
        }
        if let Some(ms) = s.staleness_ms {
            let h = t.staleness_us.get_or_insert_with(new_histogram);
            h.saturating_record((ms.max(0.0) * 1000.0).round().max(1.0) as u64);
        }
        if let Some(visible) = s.ryw_visible {
            t.ryw_checks += 1;
            if !visible {
                t.ryw_violations += 1;
            }
        }
    }

    /// All queries on all targets.
    pub(crate) fn total(&self) -> OpStats {
        let mut all = OpStats::default();
        for t in self.targets.values() {
            for s in t.by_kind.values() {
                all.add(s);
            }
        }
        all
    }
}

impl TargetReports {
    /// How far behind the primary a read was, in WAL bytes (0 is recorded as 1).
    pub(crate) fn record_staleness_bytes(&mut self, bytes: u64) {
        let h = self
            .staleness_bytes
            .get_or_insert_with(|| Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds"));
        h.saturating_record(bytes.max(1));
    }

    /// All queries on this target.
    pub fn total(&self) -> OpStats {
        let mut all = OpStats::default();
        for s in self.by_kind.values() {
            all.add(s);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind: ReportKind) -> ReportSample {
        ReportSample {
            kind,
            outcome: Outcome::Ok,
            latency_us: 800,
            conflict: false,
            staleness_ms: None,
            ryw_visible: None,
        }
    }

    #[test]
    fn samples_land_per_target_and_probes_are_counted() {
        let mut r = ReportStats::default();
        r.record("s1", &ReportSample { staleness_ms: Some(2.5), ..sample(ReportKind::Counts) });
        r.target("s1").record_staleness_bytes(4096);
        r.record("s2", &ReportSample { ryw_visible: Some(false), ..sample(ReportKind::Lookup) });
        r.record("s2", &ReportSample { ryw_visible: Some(true), ..sample(ReportKind::Lookup) });
        r.record("s1", &ReportSample { outcome: Outcome::Fail, conflict: true, ..sample(ReportKind::Scan) });
        let s2 = &r.targets["s2"];
        assert_eq!(s2.by_kind[&ReportKind::Lookup].ok, 2);
        assert_eq!((s2.ryw_checks, s2.ryw_violations), (2, 1));
        let s1 = &r.targets["s1"];
        assert_eq!(s1.by_kind[&ReportKind::Scan].fail, 1);
        assert_eq!(s1.conflicts, 1);
        assert!((2500..=2502).contains(&s1.staleness_us.as_ref().unwrap().max()));
        assert_eq!(r.total().total(), 4);
    }
}
