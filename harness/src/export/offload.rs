//! The offload comparison: the same message load with no reports, reports on the primary and
//! reports on the standbys; what moving reports to readable secondaries buys the primary.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::export::TableReport;

fn reports_on(s: &Value) -> &str {
    s["reports"]["on"].as_str().unwrap_or("none")
}

fn row(variant: &str, s: &Value) -> Value {
    let primary = s["cpu"]["primary"].as_str().unwrap_or("");
    let node = &s["cpu"]["nodes"][primary];
    let r = &s["reports"];
    json!({
        "variant": variant,
        "run_id": s["run_id"],
        "reports_on": reports_on(s),
        "complete": s["complete"],
        "publish_per_s": s["throughput"]["publish"]["ops_per_sec"],
        "complete_per_s": s["throughput"]["complete"]["ops_per_sec"],
        "publish_p99_us": s["latency_us"]["publish"]["p99"],
        "complete_p99_us": s["latency_us"]["complete"]["p99"],
        "end_to_end_p99_us": s["latency_us"]["end_to_end"]["p99"],
        "report_per_s": r["queries"]["ok_per_sec"],
        "report_p50_us": r["latency_us"]["p50"],
        "report_p99_us": r["latency_us"]["p99"],
        "report_fail": r["queries"]["fail"],
        "staleness_ms_p50": r["staleness_ms"]["p50"],
        "staleness_ms_p99": r["staleness_ms"]["p99"],
        "staleness_bytes_p99": r["staleness_bytes"]["p99"],
        "ryw_checks": r["read_your_writes"]["checks"],
        "ryw_violations": r["read_your_writes"]["violations"],
        "conflict_cancellations": r["recovery_conflicts"]["client_cancellations"],
        "primary_cpu_s": node["cpu_s"],
        "primary_report_cpu_s": node["report_backends_cpu_s"],
        "lost": s["check"]["lost"],
    })
}

fn ratio(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => json!((a / b * 1000.0).round() / 1000.0),
        _ => Value::Null,
    }
}

/// None when no run had report queries.
pub fn offload_report(runs: &[(String, u32, Value)]) -> Option<TableReport> {
    if !runs.iter().any(|(_, _, s)| s.get("reports").is_some()) {
        return None;
    }
    let rows: Vec<Value> = runs.iter().map(|(v, _, s)| row(v, s)).collect();
    let find = |on: &str| rows.iter().find(|r| r["reports_on"] == on);
    let gain = |a: Option<&Value>, b: Option<&Value>| {
        let (a, b) = (a?, b?);
        Some(json!({
            "publish_per_s_ratio": ratio(&a["publish_per_s"], &b["publish_per_s"]),
            "complete_per_s_ratio": ratio(&a["complete_per_s"], &b["complete_per_s"]),
            "publish_p99_ratio": ratio(&a["publish_p99_us"], &b["publish_p99_us"]),
            "complete_p99_ratio": ratio(&a["complete_p99_us"], &b["complete_p99_us"]),
            "primary_cpu_ratio": ratio(&a["primary_cpu_s"], &b["primary_cpu_s"]),
        }))
    };
    let summary = json!({
        "variants": rows,
        // Reports on the standbys against reports on the primary (below 1: the primary got faster).
        "standbys_vs_primary": gain(find("standbys"), find("primary")),
        // What reports cost where they run, against no reports at all.
        "primary_vs_none": gain(find("primary"), find("none")),
        "standbys_vs_none": gain(find("standbys"), find("none")),
    });
    let (markdown, csv) = table(&rows, &summary);
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

fn table(rows: &[Value], summary: &Value) -> (String, String) {
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
    let g = &summary["standbys_vs_primary"];
    let x = |v: &Value| v.as_f64().map(|f| format!("{f:.2}")).unwrap_or_else(|| "-".into());
    if !g.is_null() {
        let _ = write!(
            md,
            "\nReports on the standbys instead of the primary: publish throughput x{}, publish p99 x{}, \
             complete p99 x{}, primary CPU x{}.\n",
            x(&g["publish_per_s_ratio"]),
            x(&g["publish_p99_ratio"]),
            x(&g["complete_p99_ratio"]),
            x(&g["primary_cpu_ratio"]),
        );
    }
    (md, csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(on: Option<&str>, p99: u64, cpu: f64) -> Value {
        let mut s = json!({
            "run_id": "r", "complete": true,
            "throughput": { "publish": { "ops_per_sec": 500.0 }, "complete": { "ops_per_sec": 875.0 } },
            "latency_us": { "publish": { "p99": p99 }, "complete": { "p99": 3000 } },
            "cpu": { "primary": "n1", "nodes": { "n1": { "cpu_s": cpu, "report_backends_cpu_s": 0.0 } } },
            "check": { "lost": 0 },
        });
        if let Some(on) = on {
            s["reports"] = json!({ "on": on, "queries": { "ok_per_sec": 40.0, "fail": 0 }, "latency_us": { "p99": 9000 },
                "read_your_writes": { "checks": 100, "violations": 3 }, "recovery_conflicts": { "client_cancellations": 0 } });
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
        assert_eq!(r.summary["standbys_vs_primary"]["publish_p99_ratio"], json!(0.25));
        assert_eq!(r.summary["standbys_vs_primary"]["primary_cpu_ratio"], json!(0.5));
        assert_eq!(r.summary["variants"][0]["reports_on"], json!("none"));
        assert!(r.markdown.contains("| on-standbys | standbys | 500.0 | 10000 |"), "{}", r.markdown);
        assert!(r.markdown.contains("publish p99 x0.25"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 4);
        assert!(offload_report(&[("x".into(), 1, run(None, 1, 1.0))]).is_none());
    }
}
