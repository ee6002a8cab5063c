//! The offload comparison (computed in `analysis::offload`) as Markdown and CSV.

use std::fmt::Write;

use serde_json::Value;

use crate::export::TableReport;
use crate::summary::{Gain, OffloadRow, OffloadSection};

/// The section with its table as Markdown and CSV.
pub(crate) fn offload_report(summary: OffloadSection) -> TableReport<OffloadSection> {
    let (markdown, csv) = table(&summary.variants, summary.standbys_vs_primary);
    TableReport { summary, markdown, csv }
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
    let md_header: Vec<&str> = COLUMNS.iter().map(|(_, h)| *h).collect();
    let mut md_rows = Vec::new();
    let mut header: Vec<&str> = COLUMNS.iter().map(|(k, _)| *k).collect();
    header.push("ryw_checks");
    let mut records = Vec::new();
    for r in rows {
        let mut cells: Vec<String> = COLUMNS.iter().map(|(k, _)| cell(&r[*k])).collect();
        md_rows.push(cells.clone());
        cells.push(cell(&r["ryw_checks"]));
        records.push(cells);
    }
    let csv = crate::text_table::table(&header, &records);
    md.push_str(&crate::text_table::markdown(&md_header, &md_rows));
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
    use crate::analysis::offload::offload_section;
    use crate::summary::Summary;
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
        let r = offload_report(offload_section(&runs).unwrap());
        let g = r.summary.standbys_vs_primary.unwrap();
        assert_eq!((g.publish_p99_ratio, g.primary_cpu_ratio), (Some(0.25), Some(0.5)));
        assert_eq!(r.summary.variants[0].reports_on, "none");
        assert!(r.markdown.contains("| on-standbys | standbys | 500.0 | 10000 |"), "{}", r.markdown);
        assert!(r.markdown.contains("publish p99 x0.25"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 4);
        assert!(offload_section(&[("x".into(), 1, run(None, 1, 1.0))]).is_none());
    }
}
