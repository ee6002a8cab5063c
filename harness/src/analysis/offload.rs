//! The offload comparison: the same message load with no reports, reports on the primary and
//! reports on the standbys; what moving reports to readable secondaries buys the primary.

use crate::summary::{Gain, OffloadRow, OffloadSection, Summary};

fn reports_on(s: &Summary) -> String {
    s.reports.as_ref().map(|r| r.on.as_str()).unwrap_or("none").to_string()
}

fn row(variant: &str, s: &Summary) -> OffloadRow {
    let primary = s.cpu.as_ref().and_then(|c| c.primary.as_deref().and_then(|p| c.nodes.get(p)));
    let r = s.reports.as_ref();
    let p99 = |op: &str| s.latency(op).map(|l| l.p99);
    OffloadRow {
        variant: variant.to_string(),
        run_id: s.run_id.clone(),
        reports_on: reports_on(s),
        complete: s.complete,
        publish_per_s: s.rate("publish"),
        complete_per_s: s.rate("complete"),
        publish_p99_us: p99("publish"),
        complete_p99_us: p99("complete"),
        end_to_end_p99_us: p99("end_to_end"),
        report_per_s: r.map(|r| r.queries.ok_per_sec),
        report_p50_us: r.map(|r| r.latency_us.p50),
        report_p99_us: r.map(|r| r.latency_us.p99),
        report_fail: r.map(|r| r.queries.fail),
        staleness_ms_p50: r.and_then(|r| r.staleness_ms).map(|x| x.p50),
        staleness_ms_p99: r.and_then(|r| r.staleness_ms).map(|x| x.p99),
        staleness_bytes_p99: r.and_then(|r| r.staleness_bytes).map(|x| x.p99),
        ryw_checks: r.map(|r| r.read_your_writes.checks),
        ryw_violations: r.map(|r| r.read_your_writes.violations),
        conflict_cancellations: r.map(|r| r.recovery_conflicts.client_cancellations),
        primary_cpu_s: primary.map(|n| n.cpu_s),
        primary_report_cpu_s: primary.map(|n| n.report_backends_cpu_s),
        lost: s.check_report().map(|c| c.lost),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some((a / b * 1000.0).round() / 1000.0),
        _ => None,
    }
}

fn gain(a: Option<&OffloadRow>, b: Option<&OffloadRow>) -> Option<Gain> {
    let (a, b) = (a?, b?);
    let f = |v: Option<u64>| v.map(|x| x as f64);
    Some(Gain {
        publish_per_s_ratio: ratio(a.publish_per_s, b.publish_per_s),
        complete_per_s_ratio: ratio(a.complete_per_s, b.complete_per_s),
        publish_p99_ratio: ratio(f(a.publish_p99_us), f(b.publish_p99_us)),
        complete_p99_ratio: ratio(f(a.complete_p99_us), f(b.complete_p99_us)),
        primary_cpu_ratio: ratio(a.primary_cpu_s, b.primary_cpu_s),
    })
}

/// The offload section of a repeated run; None when no run had report queries.
pub(crate) fn offload_section(runs: &[(String, u32, Summary)]) -> Option<OffloadSection> {
    if !runs.iter().any(|(_, _, s)| s.reports.is_some()) {
        return None;
    }
    let rows: Vec<OffloadRow> = runs.iter().map(|(v, _, s)| row(v, s)).collect();
    let find = |on: &str| rows.iter().find(|r| r.reports_on == on);
    Some(OffloadSection {
        standbys_vs_primary: gain(find("standbys"), find("primary")),
        primary_vs_none: gain(find("primary"), find("none")),
        standbys_vs_none: gain(find("standbys"), find("none")),
        variants: rows.clone(),
    })
}
