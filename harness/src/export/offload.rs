//! The offload comparison: the same message load with no reports, reports on the primary and
//! reports on the standbys; what moving reports to readable secondaries buys the primary.

use std::fmt::Write;

use serde_json::Value;

use crate::export::TableReport;
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

/// None when no run had report queries.
pub fn offload_report(runs: &[(String, u32, Summary)]) -> Option<TableReport<OffloadSection>> {
    if !runs.iter().any(|(_, _, s)| s.reports.is_some()) {
        return None;
    }
    let rows: Vec<OffloadRow> = runs.iter().map(|(v, _, s)| row(v, s)).collect();
    let find = |on: &str| rows.iter().find(|r| r.reports_on == on);
    let summary = OffloadSection {
        standbys_vs_primary: gain(find("standbys"), find("primary")),
        primary_vs_none: gain(find("primary"), find("none")),
        standbys_vs_none: gain(find("standbys"), find("none")),
        variants: rows.clone(),
    };
    let (markdown, csv) = table(&rows, summary.standbys_vs_primary);
    Some(TableReport { summary, markdown, csv })
}

const COLUMNS: [(&str, &str); 14] = [
    ("variant", "variant"),
    ("reports_on", "reports on"),
    ("publish_per_s", "publish/s"),
    ("publish_p99_us", "publish p99 µs"),
    ("complete_per_s", "complete/s"),
    ("complete_p99_us", "complete p99 µs"),
    ("report_per_s", "reports/s"),
    ("report_p99_us", "report p99 µs"),
    ("staleness_ms_p50", "staleness p50 ms"),
    ("staleness_ms_p99", "staleness p99 ms"),
    ("ryw_violations", "RYW violations"),
    ("conflict_cancellations", "conflicts"),
    ("primary_cpu_s", "primary CPU s"),
    ("primary_report_cpu_s", "of which reports s"),
];

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.1}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn table(rows: &[OffloadRow], standbys_vs_primary: Option<Gain>) -> (String, String) {
    // The table's cells by column key: the rows as their JSON fields.
    let rows: Vec<Value> = rows.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect();
    let mut md = String::from("## Offload: reports on the primary or on readable secondaries\n\n");
    md.push_str(&format!("| {} |\n", COLUMNS.iter().map(|(_, h)| *h).collect::<Vec<_>>().join(" | ")));
    md.push_str(&format!("|{}\n", "---|".repeat(COLUMNS.len())));
    let mut header: Vec<&str> = COLUMNS.iter().map(|(k, _)| *k).collect();
    header.push("ryw_checks");
    let mut records = Vec::new();
    for r in rows {
        let mut cells: Vec<String> = COLUMNS.iter().map(|(k, _)| cell(&r[*k])).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        cells.push(cell(&r["ryw_checks"]));
        records.push(cells);
    }
    let csv = crate::csvfmt::table(&header, &records);
    let x = |v: Option<f64>| v.map(|f| format!("{f:.2}")).unwrap_or_else(|| "-".into());
    if let Some(g) = standbys_vs_primary {
        let _ = write!(
            md,
            "\nReports on the standbys instead of the primary: publish throughput x{}, publish p99 x{}, \
             complete p99 x{}, primary CPU x{}.\n",
            x(g.publish_per_s_ratio),
            x(g.publish_p99_ratio),
            x(g.complete_p99_ratio),
            x(g.primary_cpu_ratio),
        );
    }
    (md, csv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{CheckSection, CpuSection, NodeCpu, ReportsSection};

    fn run(on: Option<&str>, p99: u64, cpu: f64) -> Summary {
        let mut s =
            Summary::blank("r").with_latency("publish", 1000, p99, 500.0).with_latency("complete", 1000, 3000, 875.0);
        s.cpu = Some(CpuSection {
            primary: Some("n1".into()),
            nodes: [("n1".to_string(), NodeCpu { cpu_s: cpu, ..Default::default() })].into(),
            ..Default::default()
        });
        s.check = Some(CheckSection::Report(Default::default()));
        if let Some(on) = on {
            let mut r: ReportsSection = serde_json::from_value(serde_json::json!({
                "on": on, "rate": 20.0, "clients": 2, "mix": { "counts": 1, "lookup": 1, "slowest": 0, "depth": 0, "scan": 0 },
                "queries": { "ok": 400, "fail": 0, "unknown": 0, "ok_per_sec": 40.0 },
                "latency_us": { "count": 400, "mean": 1.0, "p50": 1000, "p90": 1, "p99": 9000, "p999": 1, "max": 1 },
                "targets": {}, "staleness_ms": null, "staleness_bytes": null,
                "read_your_writes": { "checks": 100, "violations": 3, "violation_share": 0.03 },
                "recovery_conflicts": { "client_cancellations": 0, "server_counted": 0 }, "misrouted": 0
            }))
            .unwrap();
            r.rate = 20.0;
            s.reports = Some(r);
        }
        s
    }

    #[test]
    fn the_gain_compares_standbys_with_primary() {
        let runs = vec![
            ("no-reports".to_string(), 1, run(None, 10_000, 50.0)),
            ("on-primary".to_string(), 1, run(Some("primary"), 40_000, 80.0)),
            ("on-standbys".to_string(), 1, run(Some("standbys"), 10_000, 40.0)),
        ];
        let r = offload_report(&runs).unwrap();
        let g = r.summary.standbys_vs_primary.unwrap();
        assert_eq!((g.publish_p99_ratio, g.primary_cpu_ratio), (Some(0.25), Some(0.5)));
        assert_eq!(r.summary.variants[0].reports_on, "none");
        assert!(r.markdown.contains("| on-standbys | standbys | 500.0 | 10000 |"), "{}", r.markdown);
        assert!(r.markdown.contains("publish p99 x0.25"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 4);
        assert!(offload_report(&[("x".into(), 1, run(None, 1, 1.0))]).is_none());
    }
}
