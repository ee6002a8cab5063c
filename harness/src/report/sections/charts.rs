//! The charts of a run, built from its data (drawn elsewhere).

use crate::report::charts::rto::RtoChart;
use crate::report::charts::spectrum::{self, SpectrumChart};
use crate::report::charts::timeline::{TimelineChart, Window, WindowKind};
use crate::run_data::RunData;
use crate::summary::Summary;
use crate::summary::Trial;

/// Stacked RTO steps of each (label, trial).
pub(crate) fn rto_chart(trials: &[(String, &Trial)]) -> RtoChart {
    let steps = |t: &Trial| {
        let detected = t.detected_ms.unwrap_or(0.0);
        let fenced = t.fenced_ms.unwrap_or(detected).max(detected);
        let promoted = t.promoted_ms.unwrap_or(fenced).max(fenced);
        let rto = t.rto_ms.or(t.first_ack_after_ms).unwrap_or(promoted).max(promoted);
        [detected, fenced - detected, promoted - fenced, rto - promoted]
    };
    RtoChart {
        title: "RTO breakdown per trial (ms)".into(),
        trials: trials.iter().map(|(label, t)| (label.clone(), steps(t))).collect(),
    }
}

pub(super) fn timeline_chart(d: &RunData, s: &Summary) -> TimelineChart {
    let t = &d.timeline;
    let main = if t.col("publish_ops_per_sec").is_some() { "publish" } else { "insert" };
    let ops: Vec<&str> =
        [main, "complete", "report"].into_iter().filter(|o| t.col(&format!("{o}_ok")).is_some()).collect();
    let mut windows = Vec::new();
    let mut marks = Vec::new();
    let run_end = t.col("t_s").and_then(|c| c.iter().rev().find_map(|v| *v)).unwrap_or(0.0);
    for tr in s.trials() {
        let at = tr.injected_at_s;
        // The secret server's outage stops no write: its window is its own duration; a host
        // instance's death is a mark, not a window; a parallel group is down until it is back
        // (the others take the writes); any other fault lasts up to the first write after it (a
        // receive instance's death stops publishes too).
        let maneuver = s.parallel.iter().flat_map(|p| &p.maneuvers).find(|m| (m.at_s - at).abs() < 1e-3);
        let end_s = match (tr.fault.kind, tr.fault.duration, maneuver) {
            (crate::fault::FaultKind::SsoOutage, Some(d), _) => Some(d.as_secs_f64()),
            (crate::fault::FaultKind::KillHostInstance, _, _) => None,
            (_, _, Some(m)) => {
                if let Some(out) = m.out_after_ms.filter(|&ms| ms > 0.0) {
                    marks.push((at + out / 1000.0, "out of rotation".to_string()));
                }
                Some(m.back_s.unwrap_or(run_end) - at)
            }
            _ => Some(tr.first_ack_after_ms.or(tr.rto_ms).unwrap_or(0.0) / 1000.0),
        };
        match end_s {
            Some(e) => windows.push(Window { from_s: at, to_s: at + e, kind: WindowKind::Fault }),
            None => marks.push((at, tr.fault.kind.to_string())),
        }
        for (v, label) in [(tr.detected_ms, "detected"), (tr.promoted_ms, "promoted")] {
            if let Some(v) = v {
                marks.push((at + v / 1000.0, label.to_string()));
            }
        }
    }
    // Durability exposure: acknowledged commits without the synchronous guarantee.
    for w in s.exposure.iter().flat_map(|e| &e.windows) {
        windows.push(Window { from_s: w.start_s, to_s: w.end_s.unwrap_or(run_end), kind: WindowKind::Exposure });
    }
    // habench's own stalls: grey, and marked with their length (they are easy to miss).
    for st in s.harness.iter().flat_map(|h| &h.stalls) {
        let to_s = st.at_s + st.duration_ms / 1e3;
        windows.push(Window { from_s: st.at_s, to_s, kind: WindowKind::HarnessStall });
        marks.push((st.at_s, format!("habench stalled {:.0} ms", st.duration_ms)));
    }
    TimelineChart {
        name: "timeline".into(),
        title: "Throughput and p99 per second".into(),
        throughput: ops.iter().map(|o| (o.to_string(), t.points(&format!("{o}_ops_per_sec"), &[]))).collect(),
        p99_ms: ops
            .iter()
            .map(|o| {
                (
                    o.to_string(),
                    t.points(&format!("{o}_p99_us"), &[]).into_iter().map(|(x, y)| (x, y / 1000.0)).collect(),
                )
            })
            .collect(),
        windows,
        marks,
    }
}

pub(super) fn spectrum_chart(d: &RunData) -> Option<SpectrumChart> {
    let series: Vec<_> = d
        .ops()
        .into_iter()
        .filter(|o| o != "cleanup")
        .filter_map(|o| d.merged(&o).map(|h| (o.clone(), spectrum::points(&h))))
        .collect();
    (!series.is_empty()).then(|| SpectrumChart {
        name: "latency-spectrum".into(),
        title: "Latency by percentile (measured phase)".into(),
        series,
    })
}
