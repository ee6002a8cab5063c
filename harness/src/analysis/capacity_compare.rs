//! `habench compare` on two capacity folders: per topology the MST (and the N-1 MST) before and
//! after a change. An MST is known only to within its search's bracket (the highest rate that
//! held and the lowest above it that failed): it is better or worse when the brackets do not
//! overlap, and no significant change when they do. The overdrive's drain time compares plainly.

use crate::analysis::compare::{MetricChange, Verdict};
use crate::capacity::outcome::{CapacityOutcome, TopologySearch};

/// Every metric the two searches have in common, topology by topology.
pub(crate) fn compare(before: &CapacityOutcome, after: &CapacityOutcome) -> Vec<MetricChange> {
    let mut out = Vec::new();
    for b in &before.topologies {
        let Some(a) = after.topologies.iter().find(|a| a.label == b.label) else { continue };
        out.push(mst(format!("{}.mst", b.label), b, a));
        let n1 = |t: &TopologySearch| t.n_minus_1.as_ref().and_then(|d| d.search.clone());
        if let (Some(nb), Some(na)) = (n1(b), n1(a)) {
            out.push(mst(format!("{}.n1_mst", b.label), &nb, &na));
        }
        let drain = |t: &TopologySearch| t.overdrive.as_ref().and_then(|o| o.backlog.drain_s);
        if let (Some(db), Some(da)) = (drain(b), drain(a)) {
            let verdict = if da > db * 1.1 {
                Verdict::Worse
            } else if da < db / 1.1 {
                Verdict::Better
            } else {
                Verdict::NoSignificantChange
            };
            out.push(MetricChange {
                metric: format!("{}.overdrive_drain_s", b.label),
                before: Some(db),
                after: Some(da),
                change_pct: (db > 0.0).then(|| (da - db) / db * 100.0),
                ci95_pct: None,
                higher_is_better: false,
                verdict,
            });
        }
    }
    out
}

/// One MST judged by its search brackets.
fn mst(metric: String, b: &TopologySearch, a: &TopologySearch) -> MetricChange {
    // The bracket: [highest that held, lowest above it that failed] (open above when none did).
    let bracket = |t: &TopologySearch| (t.mst, t.unsustainable.unwrap_or(f64::INFINITY));
    let ((b_lo, b_hi), (a_lo, a_hi)) = (bracket(b), bracket(a));
    let verdict = match (b_lo, a_lo) {
        (Some(_), Some(al)) if al >= b_hi => Verdict::Better,
        (Some(bl), Some(_)) if a_hi <= bl => Verdict::Worse,
        (None, Some(_)) => Verdict::Better,
        (Some(_), None) => Verdict::Worse,
        (Some(_), Some(_)) => Verdict::NoSignificantChange,
        (None, None) => Verdict::NotComparable,
    };
    MetricChange {
        metric,
        before: b_lo,
        after: a_lo,
        change_pct: match (b_lo, a_lo) {
            (Some(x), Some(y)) if x > 0.0 => Some((y - x) / x * 100.0),
            _ => None,
        },
        ci95_pct: None,
        higher_is_better: true,
        verdict,
    }
}

/// The note under the table.
pub(crate) const NOTE: &str = "An MST is known to within its search's bracket (the highest rate that held, the lowest \
above it that failed): better or worse when the two brackets do not overlap, no significant change when they do. \
Drain times (overdrive) differ significantly here when they differ by more than 10 %.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::search::End;

    fn search(label: &str, mst: f64, above: f64) -> TopologySearch {
        TopologySearch {
            label: label.into(),
            steps: Vec::new(),
            end: Some(End::Converged),
            mst: Some(mst),
            unsustainable: Some(above),
            confirm: None,
            overdrive: None,
            n_minus_1: None,
            error: None,
            elapsed_s: 1.0,
        }
    }

    #[test]
    fn brackets_that_do_not_overlap_are_better_or_worse() {
        let base = search("sync", 800.0, 840.0);
        assert_eq!(mst("m".into(), &base, &search("sync", 900.0, 940.0)).verdict, Verdict::Better);
        assert_eq!(mst("m".into(), &base, &search("sync", 700.0, 730.0)).verdict, Verdict::Worse);
        let same = mst("m".into(), &base, &search("sync", 820.0, 860.0));
        assert_eq!(same.verdict, Verdict::NoSignificantChange, "brackets overlap");
        assert!((same.change_pct.unwrap() - 2.5).abs() < 1e-9);
        let worse = mst("m".into(), &base, &search("sync", 500.0, 520.0));
        assert_eq!(crate::analysis::compare::regressions(&[worse], 10.0, &[]).len(), 1, "gated by --fail-if-worse");
    }
}
