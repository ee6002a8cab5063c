//! The distance sweep: commit latency and throughput per setup (single, async, sync at each
//! synchronous_commit level) against the link's round trip, with the slope of p50 per setup.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::export::TableReport;
use crate::measure::fit::slope;
use crate::summary::{DistanceRow, DistanceSection, Summary};

/// The setup a run belongs to: `single`, `async`, `sync on`, `sync remote_apply`...
pub fn setup_name(s: &Summary) -> String {
    match s.setup.as_ref() {
        Some(setup) if setup.kind == "sync" => format!("sync {}", setup.sync_commit.as_deref().unwrap_or("on")),
        Some(setup) => setup.kind.clone(),
        None => "?".into(),
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// None unless some run went through a link.
pub fn distance_report(runs: &[(String, u32, Summary)]) -> Option<TableReport<DistanceSection>> {
    if !runs.iter().any(|(_, _, s)| s.setup.as_ref().is_some_and(|x| !x.links.is_empty())) {
        return None;
    }
    let rows: Vec<DistanceRow> = runs
        .iter()
        .map(|(variant, _, s)| {
            let op = s.commit_op();
            let delay = s.setup.as_ref().map_or(0.0, |x| x.one_way_delay_ms);
            DistanceRow {
                variant: variant.clone(),
                setup: setup_name(s),
                one_way_delay_ms: delay,
                round_trip_ms: delay * 2.0,
                commit_p50_ms: s.latency(op).map(|l| r3(l.p50 as f64 / 1000.0)),
                commit_p99_ms: s.latency(op).map(|l| r3(l.p99 as f64 / 1000.0)),
                throughput_per_s: s.rate(op),
                floor_flush_us: s.setup.as_ref().and_then(|x| x.floor_flush_us),
                complete: s.complete,
            }
        })
        .collect();
    let mut by_setup: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        if let Some(p50) = r.commit_p50_ms {
            by_setup.entry(r.setup.clone()).or_default().push((r.round_trip_ms, p50));
        }
    }
    let slopes: BTreeMap<String, Option<f64>> =
        by_setup.iter().map(|(k, pts)| (k.clone(), slope(pts).map(r3))).collect();
    let mut md = String::from("## Distance: commit latency against the link's round trip\n\n");
    md.push_str("| variant | setup | one-way ms | round trip ms | commit p50 ms | commit p99 ms | commits/s |\n|---|---|---|---|---|---|---|\n");
    let header =
        ["variant", "setup", "one_way_delay_ms", "round_trip_ms", "commit_p50_ms", "commit_p99_ms", "throughput_per_s"];
    let mut records = Vec::new();
    let cell = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
    for r in &rows {
        let cells = [
            r.variant.clone(),
            r.setup.clone(),
            cell(Some(r.one_way_delay_ms)),
            cell(Some(r.round_trip_ms)),
            cell(r.commit_p50_ms),
            cell(r.commit_p99_ms),
            cell(r.throughput_per_s),
        ];
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        records.push(cells.to_vec());
    }
    let csv = crate::csvfmt::table(&header, &records);
    md.push_str("\nSlope of commit p50 per ms of round trip (1.0: each commit waits one round trip):\n\n");
    for (k, v) in &slopes {
        let _ = writeln!(md, "- {k}: {}", cell(*v));
    }
    Some(TableReport { summary: DistanceSection { rows, p50_slope_per_round_trip: slopes }, markdown: md, csv })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Setup;

    fn run(kind: &str, level: &str, delay: f64, p50_us: f64) -> Summary {
        let mut s = Summary::blank("r").with_latency("insert", p50_us as u64, (p50_us * 2.0) as u64, 8.0e6 / p50_us);
        s.setup = Some(Setup {
            kind: kind.into(),
            sync_commit: Some(level.into()),
            one_way_delay_ms: delay,
            links: [("s1".to_string(), format!("delay:{delay}ms"))].into(),
            ..Default::default()
        });
        s
    }

    #[test]
    fn the_slope_of_sync_is_one_round_trip_and_async_is_flat() {
        let mut runs = Vec::new();
        for d in [0.0, 1.0, 5.0, 20.0] {
            runs.push((format!("sync-{d}"), 1, run("sync", "on", d, 300.0 + 2000.0 * d)));
            runs.push((format!("async-{d}"), 1, run("async", "on", d, 250.0)));
        }
        let r = distance_report(&runs).unwrap();
        assert_eq!(r.summary.p50_slope_per_round_trip["sync on"], Some(1.0));
        assert_eq!(r.summary.p50_slope_per_round_trip["async"], Some(0.0));
        assert!(r.markdown.contains("| sync-20 | sync on | 20.00 | 40.00 | 40.30 |"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 9);
        let no_links: Vec<_> = runs
            .iter()
            .map(|(v, n, s)| {
                let mut s = s.clone();
                s.setup.as_mut().unwrap().links.clear();
                (v.clone(), *n, s)
            })
            .collect();
        assert!(distance_report(&no_links).is_none());
    }
}
