//! The capacity table: one row per run (topology, standbys, sync level, rate, throughput, p99
//! commit, p99 end to end, RTO, lost), to put single, shared-disk, sync and async side by side.

use serde_json::Value;

use crate::config::Load;
use crate::summary::Summary;

/// One run's row, read from its `summary.json` and `manifest.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
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

pub(crate) fn row(summary: &Summary, manifest: &Value) -> Row {
    let spec = &manifest["config"]["target"]["topology"];
    let op = summary.commit_op();
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
    let rate = match &summary.load {
        Load::Open { rate, .. } => format!("{}/s", Value::from(*rate)),
        Load::Closed { clients } => format!("{clients} clients"),
    };
    let rto = summary.failover.as_ref().and_then(|f| f.rto_ms);
    Row {
        run_id: summary.run_id.clone(),
        topology: summary.topology.clone(),
        standbys: spec["standbys"].as_u64().filter(|n| *n > 0),
        sync,
        rate,
        throughput: summary.rate(op),
        p99_commit_us: summary.latency(op).map(|l| l.p99),
        p99_e2e_us: summary.latency("end_to_end").map(|l| l.p99),
        rto_p50_ms: rto.map(|r| r.p50),
        rto_max_ms: rto.map(|r| r.max),
        lost: summary.check_report().map(|c| c.lost),
        complete: summary.complete,
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

pub(crate) fn markdown(rows: &[Row]) -> String {
    let records: Vec<Vec<String>> = rows.iter().map(|r| cells(r).to_vec()).collect();
    crate::text_table::markdown(&HEADER, &records)
}

pub(crate) fn csv(rows: &[Row]) -> String {
    let records: Vec<Vec<String>> = rows.iter().map(|r| cells(r).to_vec()).collect();
    crate::text_table::table(&HEADER, &records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sync_run_with_a_failover_becomes_one_row() {
        let mut summary = Summary::blank("messaging-20261129T170000Z")
            .with_latency("publish", 1000, 4200, 499.5)
            .with_latency("end_to_end", 1000, 612_000, 499.0);
        summary.load = Load::Open { rate: 500.0, arrival: crate::config::Arrival::Poisson, publishers: 16 };
        summary.failover = Some(crate::summary::FailoverSection {
            rto_ms: Some(crate::summary::Spread { p50: 9799.0, max: 9886.0, n: 5 }),
            ..Default::default()
        });
        summary.check = Some(crate::summary::CheckSection::Report(Default::default()));
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
