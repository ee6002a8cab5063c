//! The distance sweep: commit latency and throughput per setup (single, async, sync at each
//! synchronous_commit level) against the link's round trip, with the slope of p50 per setup.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};

use crate::export::TableReport;

/// The setup a run belongs to: `single`, `async`, `sync on`, `sync remote_apply`...
pub fn setup_name(s: &Value) -> String {
    let kind = s["setup"]["kind"].as_str().unwrap_or("?");
    match kind {
        "sync" => format!("sync {}", s["setup"]["sync_commit"].as_str().unwrap_or("on")),
        other => other.to_string(),
    }
}

/// The commit operation of a run: publish for the MessageBox, insert for the calibration.
fn commit_op(s: &Value) -> &'static str {
    if s["latency_us"]["insert"]["count"].as_u64().unwrap_or(0) > 0 {
        "insert"
    } else {
        "publish"
    }
}

/// Least-squares slope of y on x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    Some(points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx)
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// None unless some run went through a link.
pub fn distance_report(runs: &[(String, u32, Value)]) -> Option<TableReport> {
    if !runs.iter().any(|(_, _, s)| s["setup"]["links"].as_object().is_some_and(|l| !l.is_empty())) {
        return None;
    }
    let rows: Vec<Value> = runs
        .iter()
        .map(|(variant, _, s)| {
            let op = commit_op(s);
            let delay = s["setup"]["one_way_delay_ms"].as_f64().unwrap_or(0.0);
            json!({
                "variant": variant,
                "setup": setup_name(s),
                "one_way_delay_ms": delay,
                "round_trip_ms": delay * 2.0,
                "commit_p50_ms": s["latency_us"][op]["p50"].as_f64().map(|v| r3(v / 1000.0)),
                "commit_p99_ms": s["latency_us"][op]["p99"].as_f64().map(|v| r3(v / 1000.0)),
                "throughput_per_s": s["throughput"][op]["ops_per_sec"],
                "floor_flush_us": s["setup"]["floor_flush_us"],
                "complete": s["complete"],
            })
        })
        .collect();
    let mut by_setup: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        if let (Some(rtt), Some(p50)) = (r["round_trip_ms"].as_f64(), r["commit_p50_ms"].as_f64()) {
            by_setup.entry(r["setup"].as_str().unwrap_or("?").to_string()).or_default().push((rtt, p50));
        }
    }
    let slopes: serde_json::Map<String, Value> =
        by_setup.iter().map(|(k, pts)| (k.clone(), json!(slope(pts).map(r3)))).collect();
    let summary = json!({ "rows": rows, "p50_slope_per_round_trip": slopes });
    let mut md = String::from("## Distance: commit latency against the link's round trip\n\n");
    md.push_str("| variant | setup | one-way ms | round trip ms | commit p50 ms | commit p99 ms | commits/s |\n|---|---|---|---|---|---|---|\n");
    let header =
        ["variant", "setup", "one_way_delay_ms", "round_trip_ms", "commit_p50_ms", "commit_p99_ms", "throughput_per_s"];
    let mut records = Vec::new();
    let cell = |v: &Value| v.as_f64().map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
    for r in &rows {
        let cells = [
            r["variant"].as_str().unwrap_or("").to_string(),
            r["setup"].as_str().unwrap_or("").to_string(),
            cell(&r["one_way_delay_ms"]),
            cell(&r["round_trip_ms"]),
            cell(&r["commit_p50_ms"]),
            cell(&r["commit_p99_ms"]),
            cell(&r["throughput_per_s"]),
        ];
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        records.push(cells.to_vec());
    }
    let csv = crate::csvfmt::table(&header, &records);
    md.push_str("\nSlope of commit p50 per ms of round trip (1.0: each commit waits one round trip):\n\n");
    for (k, v) in &slopes {
        let _ = writeln!(md, "- {k}: {}", v.as_f64().map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()));
    }
    Some(TableReport { summary, markdown: md, csv })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: &str, level: &str, delay: f64, p50_us: f64) -> Value {
        json!({
            "complete": true,
            "setup": { "kind": kind, "sync_commit": level, "one_way_delay_ms": delay, "links": { "s1": format!("delay:{delay}ms") } },
            "latency_us": { "insert": { "count": 10, "p50": p50_us, "p99": p50_us * 2.0 } },
            "throughput": { "insert": { "ops_per_sec": 8.0e6 / p50_us } },
        })
    }

    #[test]
    fn the_slope_of_sync_is_one_round_trip_and_async_is_flat() {
        let mut runs = Vec::new();
        for d in [0.0, 1.0, 5.0, 20.0] {
            runs.push((format!("sync-{d}"), 1, run("sync", "on", d, 300.0 + 2000.0 * d)));
            runs.push((format!("async-{d}"), 1, run("async", "on", d, 250.0)));
        }
        let r = distance_report(&runs).unwrap();
        assert_eq!(r.summary["p50_slope_per_round_trip"]["sync on"], json!(1.0));
        assert_eq!(r.summary["p50_slope_per_round_trip"]["async"], json!(0.0));
        assert!(r.markdown.contains("| sync-20 | sync on | 20.00 | 40.00 | 40.30 |"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 9);
        let no_links: Vec<_> = runs
            .iter()
            .map(|(v, n, s)| {
                let mut s = s.clone();
                s["setup"]["links"] = json!({});
                (v.clone(), *n, s)
            })
            .collect();
        assert!(distance_report(&no_links).is_none());
    }
}
