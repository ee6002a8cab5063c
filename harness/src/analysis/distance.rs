//! The distance sweep: commit latency and throughput per setup (single, async, sync at each
//! synchronous_commit level) against the link's round trip, with the slope of p50 per setup.

use std::collections::BTreeMap;

use crate::measure::fit::slope;
use crate::summary::{DistanceRow, DistanceSection, Summary};

/// The setup a run belongs to: `single`, `async`, `sync on`, `sync remote_apply`...
pub(crate) fn setup_name(s: &Summary) -> String {
    match s.setup.as_ref() {
        Some(setup) if setup.kind == "sync" => format!("sync {}", setup.sync_commit.as_deref().unwrap_or("on")),
        Some(setup) => setup.kind.clone(),
        None => "?".into(),
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The distance section of a repeated run; None unless some run went through a link.
pub(crate) fn distance_section(runs: &[(String, u32, Summary)]) -> Option<DistanceSection> {
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
    Some(DistanceSection { rows, p50_slope_per_round_trip: slopes })
}
