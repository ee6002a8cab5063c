//! The capacity table: one row per run (topology, standbys, sync level, rate, throughput, p99
//! commit, p99 end to end, RTO, lost), to put single, shared-disk, sync and async side by side.

use std::fmt::Write;

use serde_json::Value;

/// One run's row, read from its `summary.json` and `manifest.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub run_id: String,
    pub topology: String,
    pub standbys: Option<u64>,
    pub sync: String,
    pub rate: String,
    pub throughput: Option<f64>,
    pub p99_commit_us: Option<u64>,
    pub p99_e2e_us: Option<u64>,
    pub rto_p50_ms: Option<f64>,
    pub rto_max_ms: Option<f64>,
    pub lost: Option<u64>,
    pub complete: bool,
}

pub fn row(summary: &Value, manifest: &Value) -> Row {
    let spec = &manifest["config"]["target"]["topology"];
    let op = if summary["throughput"].get("insert").is_some() { "insert" } else { "publish" };
    let sync = match (spec["kind"].as_str(), spec["quorum"].as_str()) {
        (Some("sync"), Some(q)) => format!(
            "{} {} {}",
            q.to_uppercase(),
            spec["sync_count"].as_u64().unwrap_or(1),
            spec["sync_commit"].as_str().unwrap_or("on")
        ),
        _ => spec["sync_commit"].as_str().unwrap_or("").to_string(),
    };
    // Emulated links: the one-way delay of each standby's.
    let links: Vec<String> = spec["links"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, l)| format!("{name} {}", l["delay"].as_str().unwrap_or("?")))
        .collect();
    let sync = if links.is_empty() { sync } else { format!("{sync} (link {})", links.join(", ")).trim().to_string() };
    let load = &summary["load"];
    let rate = match load["mode"].as_str() {
        Some("open") => format!("{}/s", load["rate"]),
        Some("closed") => format!("{} clients", load["clients"]),
        _ => String::new(),
    };
    Row {
        run_id: summary["run_id"].as_str().unwrap_or("").to_string(),
        topology: summary["topology"].as_str().unwrap_or("").to_string(),
        standbys: spec["standbys"].as_u64().filter(|n| *n > 0),
        sync,
        rate,
        throughput: summary["throughput"][op]["ops_per_sec"].as_f64(),
        p99_commit_us: summary["latency_us"][op]["p99"].as_u64(),
        p99_e2e_us: summary["latency_us"]["end_to_end"]["p99"].as_u64(),
        rto_p50_ms: summary["failover"]["rto_ms"]["p50"].as_f64(),
        rto_max_ms: summary["failover"]["rto_ms"]["max"].as_f64(),
        lost: summary["check"]["lost"].as_u64(),
        complete: summary["complete"] == true,
    }
}

fn cells(r: &Row) -> [String; 12] {
    let f = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_default();
    let us_ms = |v: Option<u64>| v.map(|x| format!("{:.2}", x as f64 / 1000.0)).unwrap_or_default();
    [
        r.run_id.clone(),
        r.topology.clone(),
        r.standbys.map(|n| n.to_string()).unwrap_or_default(),
        r.sync.clone(),
        r.rate.clone(),
        f(r.throughput, 1),
        us_ms(r.p99_commit_us),
        us_ms(r.p99_e2e_us),
        f(r.rto_p50_ms, 0),
        f(r.rto_max_ms, 0),
        r.lost.map(|n| n.to_string()).unwrap_or_default(),
        r.complete.to_string(),
    ]
}

const HEADER: [&str; 12] = [
    "run",
    "topology",
    "standbys",
    "sync",
    "load",
    "throughput_ops_per_sec",
    "p99_commit_ms",
    "p99_end_to_end_ms",
    "rto_p50_ms",
    "rto_max_ms",
    "lost",
    "complete",
];

pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(HEADER.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
    out
}

pub fn csv(rows: &[Row]) -> String {
    let records: Vec<Vec<String>> = rows.iter().map(|r| cells(r).to_vec()).collect();
    crate::csvfmt::table(&HEADER, &records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sync_run_with_a_failover_becomes_one_row() {
        let summary = json!({
            "run_id": "messaging-20261129T170000Z", "topology": "sync", "complete": true,
            "load": { "mode": "open", "rate": 500.0, "arrival": "poisson", "publishers": 16 },
            "throughput": { "publish": { "ops_per_sec": 499.5 } },
            "latency_us": { "publish": { "p99": 4200 }, "end_to_end": { "p99": 612000 } },
            "failover": { "rto_ms": { "p50": 9799.0, "max": 9886.0, "n": 5 } },
            "check": { "lost": 0 },
        });
        let manifest = json!({ "config": { "target": { "topology": {
            "kind": "sync", "standbys": 2, "quorum": "first", "sync_count": 1, "sync_commit": "on" } } } });
        let r = row(&summary, &manifest);
        assert_eq!(r.sync, "FIRST 1 on");
        let md = markdown(std::slice::from_ref(&r));
        assert!(md.contains("| messaging-20261129T170000Z | sync | 2 | FIRST 1 on | 500.0/s | 499.5 | 4.20 | 612.00 | 9799 | 9886 | 0 | true |"), "{md}");
        let csv = csv(&[r]);
        assert_eq!(csv.lines().count(), 2);
        assert_eq!(csv.lines().next().unwrap().split(',').count(), csv.lines().nth(1).unwrap().split(',').count());
    }
}
