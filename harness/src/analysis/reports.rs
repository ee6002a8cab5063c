//! The `reports` and `cpu` sections of summary.json: report query latency per target and query,
//! staleness of standby reads, read-your-writes probes, recovery conflicts, server CPU.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::config::ReportsConfig;
use crate::measure::cpu::CpuUsage;
use crate::measure::reports::TargetReports;
use crate::measure::{LatencySummary, OpStats};
use crate::run_result::ReportResult;
use crate::summary::{
    CpuSection, HarnessCpu, Latency, NodeCpu, Queries, ReportTarget, ReportsSection, RywCounts, Staleness,
    TargetConflicts, TotalConflicts, TotalRyw,
};

const CONFLICT_CAUSES: [&str; 5] = ["tablespace", "lock", "snapshot", "bufferpin", "deadlock"];

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn latency(s: &OpStats) -> Latency {
    s.latency().rounded()
}

fn queries(s: &OpStats, measured_s: f64) -> Queries {
    let per_s = if measured_s > 0.0 { s.ok as f64 / measured_s } else { 0.0 };
    Queries { ok: s.ok, fail: s.fail, unknown: s.unknown, ok_per_sec: round2(per_s) }
}

/// Percentiles of a staleness histogram; `scale` turns recorded units into reported ones.
fn spread(h: Option<&Histogram<u64>>, scale: f64) -> Option<Staleness> {
    let h = h.filter(|h| !h.is_empty())?;
    let l = LatencySummary::of(h);
    let v = |x: u64| round2(x as f64 * scale);
    Some(Staleness {
        count: l.count,
        mean: round2(l.mean * scale),
        p50: v(l.p50),
        p90: v(l.p90),
        p99: v(l.p99),
        max: v(l.max),
    })
}

fn merged(targets: &[&TargetReports], pick: fn(&TargetReports) -> Option<&Histogram<u64>>) -> Option<Histogram<u64>> {
    let mut out: Option<Histogram<u64>> = None;
    for h in targets.iter().filter_map(|t| pick(t)) {
        match &mut out {
            Some(o) => o.add(h).expect("same bounds"),
            None => out = Some(h.clone()),
        }
    }
    out
}

fn target_section(t: &TargetReports, server_conflicts: Option<&[i64; 5]>, measured_s: f64) -> ReportTarget {
    let mut by_kind = BTreeMap::new();
    by_kind.insert("all".to_string(), latency(&t.total()));
    for (k, s) in &t.by_kind {
        by_kind.insert(k.as_str().to_string(), latency(s));
    }
    ReportTarget {
        queries: queries(&t.total(), measured_s),
        latency_us: by_kind,
        staleness_ms: spread(t.staleness_us.as_ref(), 1e-3),
        staleness_bytes: spread(t.staleness_bytes.as_ref(), 1.0),
        read_your_writes: RywCounts { checks: t.ryw_checks, violations: t.ryw_violations },
        recovery_conflicts: TargetConflicts {
            client_cancellations: t.conflicts,
            server: server_conflicts.map(|c| CONFLICT_CAUSES.iter().zip(c).map(|(k, v)| (k.to_string(), *v)).collect()),
        },
        connections: t.connections,
        misrouted: t.misrouted,
    }
}

/// The `reports` section.
pub(crate) fn reports_section(cfg: &ReportsConfig, r: &ReportResult, measured_s: f64) -> ReportsSection {
    let targets = r
        .stats
        .targets
        .iter()
        .map(|(name, t)| (name.clone(), target_section(t, r.server_conflicts.get(name), measured_s)))
        .collect();
    let all: Vec<&TargetReports> = r.stats.targets.values().collect();
    let checks: u64 = all.iter().map(|t| t.ryw_checks).sum();
    let violations: u64 = all.iter().map(|t| t.ryw_violations).sum();
    let client_conflicts: u64 = all.iter().map(|t| t.conflicts).sum();
    let server_conflicts: i64 = r.server_conflicts.values().flat_map(|c| c.iter()).sum();
    let total = r.stats.total();
    ReportsSection {
        on: cfg.on,
        rate: cfg.rate,
        clients: cfg.clients,
        mix: cfg.mix,
        queries: queries(&total, measured_s),
        latency_us: latency(&total),
        targets,
        staleness_ms: spread(merged(&all, |t| t.staleness_us.as_ref()).as_ref(), 1e-3),
        staleness_bytes: spread(merged(&all, |t| t.staleness_bytes.as_ref()).as_ref(), 1.0),
        read_your_writes: TotalRyw {
            checks,
            violations,
            violation_share: if checks > 0 { round2(violations as f64 / checks as f64 * 1e4) / 1e4 } else { 0.0 },
        },
        recovery_conflicts: TotalConflicts { client_cancellations: client_conflicts, server_counted: server_conflicts },
        misrouted: all.iter().map(|t| t.misrouted).sum::<u64>(),
    }
}

/// The `cpu` section: CPU seconds per node and of habench itself over the measured phase, as
/// cores (1.0 = one core busy), and habench's as a share of the machine and per operation
/// (`publishes`: acknowledged publishes or inserts, `messages`: deliveries, measured phase).
pub(crate) fn cpu_section(
    c: &CpuUsage,
    primary: Option<&str>,
    machine_cores: usize,
    (publishes, messages): (u64, u64),
) -> CpuSection {
    let nodes = c
        .by_node
        .iter()
        .map(|(name, s)| {
            let report = c.report_backends.get(name).copied().unwrap_or(0.0);
            let share = if c.wall_s > 0.0 { s / c.wall_s } else { 0.0 };
            (name.clone(), NodeCpu { cpu_s: round2(*s), cores: round2(share), report_backends_cpu_s: round2(report) })
        })
        .collect();
    let cores = if c.wall_s > 0.0 { c.harness_s / c.wall_s } else { 0.0 };
    let per = |n: u64| (n > 0).then(|| round2(c.harness_s * 1e6 / n as f64));
    let harness = HarnessCpu {
        cpu_s: round2(c.harness_s),
        system_s: Some(round2(c.harness_sys_s)),
        cores: (cores * 1e4).round() / 1e4,
        machine_share: (cores / machine_cores.max(1) as f64 * 1e4).round() / 1e4,
        us_per_publish: per(publishes),
        us_per_message: per(messages),
    };
    CpuSection { wall_s: round2(c.wall_s), primary: primary.map(str::to_string), nodes, harness: Some(harness) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::cpu::CpuUsage;
    use crate::measure::reports::{ReportSample, ReportStats};
    use habench_workloads::reporting::ReportKind;
    use habench_workloads::Outcome;
    use serde_json::json;

    #[test]
    fn habench_s_cpu_is_given_per_publish_and_per_message() {
        let c = CpuUsage { harness_s: 2.0, harness_sys_s: 1.5, wall_s: 10.0, ..Default::default() };
        let h = cpu_section(&c, None, 2, (100_000, 150_000)).harness.unwrap();
        assert_eq!((h.us_per_publish, h.us_per_message, h.system_s), (Some(20.0), Some(13.33), Some(1.5)));
        assert_eq!((h.cores, h.machine_share), (0.2, 0.1));
        let none = cpu_section(&c, None, 2, (0, 0)).harness.unwrap();
        assert_eq!((none.us_per_publish, none.us_per_message), (None, None), "nothing to divide by");
    }

    #[test]
    fn the_section_has_per_target_figures_and_totals() {
        let mut stats = ReportStats::default();
        for i in 0..10 {
            stats.record(
                "s1",
                &ReportSample {
                    kind: ReportKind::Lookup,
                    outcome: Outcome::Ok,
                    latency_us: 1000 + i,
                    conflict: false,
                    staleness_ms: Some(1.5),
                    ryw_visible: Some(i != 0),
                },
            );
            stats.target("s1").record_staleness_bytes(8192);
        }
        let r = ReportResult { stats, server_conflicts: [("s1".to_string(), [0, 0, 2, 0, 0])].into() };
        let v = serde_json::to_value(reports_section(&ReportsConfig::default(), &r, 5.0)).unwrap();
        assert_eq!(v["queries"]["ok"], json!(10));
        assert_eq!(v["queries"]["ok_per_sec"], json!(2.0));
        assert_eq!(v["read_your_writes"]["violations"], json!(1));
        assert_eq!(v["targets"]["s1"]["recovery_conflicts"]["server"]["snapshot"], json!(2));
        assert_eq!(v["recovery_conflicts"]["server_counted"], json!(2));
        let p50 = v["staleness_ms"]["p50"].as_f64().unwrap();
        assert!((1.49..1.51).contains(&p50), "{p50}");
        assert!(v["targets"]["s1"]["latency_us"]["lookup"]["p99"].as_u64().unwrap() >= 1000);
    }
}
