//! `habench compare BEFORE AFTER`, the statistics: each metric of two runs side by side, the change, a bootstrap
//! 95% confidence interval of the change, and a verdict. Latency percentiles are resampled over
//! the measured intervals' histograms, throughput over the per-interval rates, RTO over trials.

use std::collections::BTreeMap;

use habench_workloads::rng::Rng;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::run_data::RunData;

/// Resamples per interval estimate.
pub(crate) const RESAMPLES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Better,
    Worse,
    NoSignificantChange,
    /// One side is missing, too few samples for the percentile, or nothing to resample.
    NotComparable,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::NotComparable => "not comparable",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MetricChange {
    /// `publish.p99_us`, `complete.ops_per_sec`, `rto_ms`, `lost`...
    pub metric: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// (after - before) / before, percent.
    pub change_pct: Option<f64>,
    /// 95% bootstrap interval of the change, percent.
    pub ci95_pct: Option<[f64; 2]>,
    pub higher_is_better: bool,
    pub verdict: Verdict,
}

/// A sample set to resample: per-interval histograms (latency) or values (rates, RTOs).
enum Samples {
    Hists(Vec<Vec<(usize, u64)>>, usize),
    Values(Vec<f64>),
}

/// Histograms as (bucket index, count) over one shared ladder of values.
fn ladder(a: &[Histogram<u64>], b: &[Histogram<u64>]) -> (Vec<u64>, Samples, Samples) {
    let mut values: Vec<u64> =
        a.iter().chain(b).flat_map(|h| h.iter_recorded().map(|v| v.value_iterated_to())).collect();
    values.sort_unstable();
    values.dedup();
    let index: BTreeMap<u64, usize> = values.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let conv = |hs: &[Histogram<u64>]| {
        hs.iter()
            .map(|h| h.iter_recorded().map(|v| (index[&v.value_iterated_to()], v.count_at_value())).collect())
            .collect::<Vec<Vec<(usize, u64)>>>()
    };
    let (ha, hb) = (conv(a), conv(b));
    let n = values.len();
    (values, Samples::Hists(ha, n), Samples::Hists(hb, n))
}

fn quantile(counts: &[u64], values: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let target = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= target {
            return Some(values[i] as f64);
        }
    }
    values.last().map(|v| *v as f64)
}

/// The statistic of one resample (or of the whole set when `rng` is None).
fn stat(s: &Samples, values: &[u64], q: Option<f64>, rng: Option<&mut Rng>) -> Option<f64> {
    match s {
        Samples::Hists(hs, n) => {
            if hs.is_empty() {
                return None;
            }
            let mut counts = vec![0u64; *n];
            let mut add = |h: &Vec<(usize, u64)>| h.iter().for_each(|(i, c)| counts[*i] += c);
            match rng {
                Some(r) => (0..hs.len()).for_each(|_| add(&hs[r.range(0, hs.len() as u64 - 1) as usize])),
                None => hs.iter().for_each(add),
            }
            quantile(&counts, values, q.unwrap_or(0.5))
        }
        Samples::Values(v) => {
            if v.is_empty() {
                return None;
            }
            let sum: f64 = match rng {
                Some(r) => (0..v.len()).map(|_| v[r.range(0, v.len() as u64 - 1) as usize]).sum(),
                None => v.iter().sum(),
            };
            Some(sum / v.len() as f64)
        }
    }
}

fn judge(
    metric: String,
    (a, b): (&Samples, &Samples),
    values: &[u64],
    q: Option<f64>,
    higher_is_better: bool,
    rng: &mut Rng,
) -> MetricChange {
    let before = stat(a, values, q, None);
    let after = stat(b, values, q, None);
    let change_pct = match (before, after) {
        (Some(x), Some(y)) if x > 0.0 => Some((y - x) / x * 100.0),
        _ => None,
    };
    let n = |s: &Samples| match s {
        Samples::Hists(h, _) => h.len(),
        Samples::Values(v) => v.len(),
    };
    // A percentile needs enough samples to exist: 10 beyond it on each side (p99: 1000).
    let total = |s: &Samples| match s {
        Samples::Hists(h, _) => h.iter().flat_map(|i| i.iter().map(|(_, c)| *c)).sum::<u64>(),
        Samples::Values(v) => v.len() as u64,
    };
    let enough = q.is_none_or(|q| {
        let need = (10.0 / (1.0 - q).max(1e-9)).max(20.0) as u64;
        total(a) >= need && total(b) >= need
    });
    let mut ci = None;
    if enough && change_pct.is_some() && n(a) >= 2 && n(b) >= 2 {
        let mut changes: Vec<f64> = (0..RESAMPLES)
            .filter_map(|_| {
                let x = stat(a, values, q, Some(rng))?;
                let y = stat(b, values, q, Some(rng))?;
                (x > 0.0).then(|| (y - x) / x * 100.0)
            })
            .collect();
        changes.sort_by(f64::total_cmp);
        if changes.len() > RESAMPLES / 2 {
            let at = |p: f64| changes[((changes.len() - 1) as f64 * p).round() as usize];
            ci = Some([at(0.025), at(0.975)]);
        }
    }
    let verdict = match ci {
        None => Verdict::NotComparable,
        Some([lo, _]) if lo > 0.0 => {
            if higher_is_better {
                Verdict::Better
            } else {
                Verdict::Worse
            }
        }
        Some([_, hi]) if hi < 0.0 => {
            if higher_is_better {
                Verdict::Worse
            } else {
                Verdict::Better
            }
        }
        Some(_) => Verdict::NoSignificantChange,
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    MetricChange {
        metric,
        before,
        after,
        change_pct: change_pct.map(round),
        ci95_pct: ci.map(|[l, h]| [round(l), round(h)]),
        higher_is_better,
        verdict,
    }
}

/// Counts compared without an interval: any increase of a bad count is worse.
fn count(metric: &str, before: Option<u64>, after: Option<u64>) -> Option<MetricChange> {
    let (b, a) = (before? as f64, after? as f64);
    let verdict = if a > b {
        Verdict::Worse
    } else if a < b {
        Verdict::Better
    } else {
        Verdict::NoSignificantChange
    };
    Some(MetricChange {
        metric: metric.into(),
        before: Some(b),
        after: Some(a),
        change_pct: (b > 0.0).then(|| (a - b) / b * 100.0),
        ci95_pct: None,
        higher_is_better: false,
        verdict,
    })
}

fn rtos(d: &RunData) -> Vec<f64> {
    d.run().map(|s| s.trials().iter().filter_map(|t| t.rto_ms).collect()).unwrap_or_default()
}

/// Operations whose one call handles a batch of messages: their call rate is not a throughput.
const BATCH_OPS: [&str; 1] = ["dequeue"];

/// Every comparable metric of the two runs. `seed` makes the intervals reproducible.
pub(crate) fn compare(before: &RunData, after: &RunData, seed: u64) -> Vec<MetricChange> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let ops: Vec<String> = before.ops().into_iter().filter(|o| after.ops().contains(o) && o != "cleanup").collect();
    for op in &ops {
        // A dequeue call is a batch: fewer, fuller calls are not worse, more, emptier ones not
        // better. Messages per second are judged where they are counted one by one (complete).
        if !BATCH_OPS.contains(&op.as_str()) {
            let rate = format!("{op}_ops_per_sec");
            let (a, b) =
                (Samples::Values(before.timeline.measured(&rate)), Samples::Values(after.timeline.measured(&rate)));
            out.push(judge(format!("{op}.ops_per_sec"), (&a, &b), &[], None, true, &mut rng));
        }
        let empty = Vec::new();
        let (values, a, b) =
            ladder(before.intervals.get(op).unwrap_or(&empty), after.intervals.get(op).unwrap_or(&empty));
        for (name, q) in [("p50_us", 0.5), ("p99_us", 0.99), ("p999_us", 0.999)] {
            out.push(judge(format!("{op}.{name}"), (&a, &b), &values, Some(q), false, &mut rng));
        }
    }
    let (ra, rb) = (rtos(before), rtos(after));
    if !ra.is_empty() || !rb.is_empty() {
        out.push(judge("rto_ms".into(), (&Samples::Values(ra), &Samples::Values(rb)), &[], None, false, &mut rng));
    }
    type Pick = fn(&habench_workloads::checker::CheckReport) -> u64;
    for (k, pick) in [("lost", (|c| c.lost) as Pick), ("duplicated", |c| c.duplicated)] {
        let of = |d: &RunData| d.run().and_then(|s| s.check_report()).map(pick);
        if let Some(m) = count(k, of(before), of(after)) {
            out.push(m);
        }
    }
    out.extend(harm_counts(before.run(), after.run()));
    if !compromised(before, after).is_empty() {
        refuse_better(&mut out);
    }
    out
}

/// Which of the two runs habench compromised by stalling (`BEFORE: why`, `AFTER: why`).
pub(crate) fn compromised(before: &RunData, after: &RunData) -> Vec<String> {
    [("BEFORE", before), ("AFTER", after)]
        .into_iter()
        .filter_map(|(side, d)| {
            let s = d.run().filter(|s| s.compromised)?;
            Some(format!("{side} is compromised ({})", s.compromised_reason.as_deref().unwrap_or("habench stalled")))
        })
        .collect()
}

/// A compromised run is never called better, nor is a run better than a compromised one: its
/// figures may not be what the servers did. Worse stays worse (a gate still fails).
fn refuse_better(changes: &mut [MetricChange]) {
    for c in changes.iter_mut().filter(|c| c.verdict == Verdict::Better) {
        c.verdict = Verdict::NotComparable;
    }
}

/// Counts of harm: durability exposure and split brain (acknowledged commits without the
/// promised copies, writes a second primary took), a receive location's duplicate and incomplete
/// reads, what an SSO outage stopped. Compared when either run measured them (the other counts 0).
fn harm_counts(before: Option<&crate::summary::Summary>, after: Option<&crate::summary::Summary>) -> Vec<MetricChange> {
    let mut out = Vec::new();
    type Counted = fn(&crate::summary::Summary) -> Option<u64>;
    let harms: [(&str, Counted); 13] = [
        ("exposure.acked_exposed", |s| s.exposure.as_ref().map(|e| e.acked_exposed)),
        ("exposure.lost_in_windows", |s| s.exposure.as_ref().map(|e| e.lost_in_windows)),
        ("acked_unreplicated", |s| {
            let n: u64 = s.ops.values().map(|c| c.acked_unreplicated).sum();
            (n > 0).then_some(n)
        }),
        ("split_brain.acked", |s| s.split_brain.as_ref().map(|b| b.acked)),
        ("split_brain.lost", |s| s.split_brain.as_ref().map(|b| b.lost)),
        ("receive.duplicate_receipts", |s| s.receive.as_ref().map(|r| r.duplicate_receipts)),
        ("receive.incomplete_reads", |s| s.receive.as_ref().map(|r| r.incomplete_reads)),
        ("receive.files_never_whole", |s| s.receive.as_ref().map(|r| r.files_never_whole)),
        ("sso.decryptions_failed", |s| s.sso.as_ref().map(|x| x.decryptions_failed)),
        ("sso.encryptions_failed", |s| s.sso.as_ref().map(|x| x.encryptions_failed + x.encryptions_unknown)),
        ("sso.starts_blocked", |s| s.sso.as_ref().map(|x| x.starts_blocked)),
        ("parallel.stranded", |s| s.parallel.as_ref().map(|p| p.maneuvers.iter().map(|m| m.stranded).sum())),
        ("parallel.failed_before_out", |s| {
            s.parallel.as_ref().map(|p| p.maneuvers.iter().map(|m| m.failed_before_out).sum())
        }),
    ];
    for (k, pick) in harms {
        let (b, a) = (before.and_then(pick), after.and_then(pick));
        if b.is_some() || a.is_some() {
            out.extend(count(k, Some(b.unwrap_or(0)), Some(a.unwrap_or(0))));
        }
    }
    out
}

/// Metrics that got worse by more than `pct` percent with the interval excluding zero.
pub(crate) fn regressions<'a>(changes: &'a [MetricChange], pct: f64, only: &[String]) -> Vec<&'a MetricChange> {
    changes
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|m| m == &c.metric))
        .filter(|c| c.verdict == Verdict::Worse)
        .filter(|c| match c.change_pct {
            Some(p) => {
                if c.higher_is_better {
                    -p > pct
                } else {
                    p > pct
                }
            }
            None => c.ci95_pct.is_none(), // a count that went from 0 up
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(rng: &mut Rng, scale: f64) -> Histogram<u64> {
        let mut h = crate::measure::stats::new_histogram();
        for _ in 0..500 {
            h.record((rng.exponential(1000.0) * scale).max(1.0) as u64).unwrap();
        }
        h
    }

    #[test]
    fn a_twenty_percent_slower_tail_is_worse_and_the_same_distribution_is_not() {
        let mut rng = Rng::new(1);
        let base: Vec<_> = (0..30).map(|_| hist(&mut rng, 1.0)).collect();
        let same: Vec<_> = (0..30).map(|_| hist(&mut rng, 1.0)).collect();
        let slow: Vec<_> = (0..30).map(|_| hist(&mut rng, 1.2)).collect();
        let mut r = Rng::new(9);
        let (v, a, b) = ladder(&base, &slow);
        let worse = judge("p99".into(), (&a, &b), &v, Some(0.99), false, &mut r);
        let few = judge("p999".into(), (&a, &b), &v, Some(0.9999), false, &mut r);
        assert_eq!(few.verdict, Verdict::NotComparable, "15,000 samples cannot tell a p99.99 apart");
        assert_eq!(worse.verdict, Verdict::Worse, "{worse:?}");
        assert!((10.0..30.0).contains(&worse.change_pct.unwrap()), "{worse:?}");
        let (v, a, b) = ladder(&base, &same);
        let flat = judge("p99".into(), (&a, &b), &v, Some(0.99), false, &mut r);
        assert_eq!(flat.verdict, Verdict::NoSignificantChange, "{flat:?}");
        assert_eq!(regressions(std::slice::from_ref(&worse), 10.0, &[]).len(), 1);
        assert!(regressions(&[worse], 50.0, &[]).is_empty());
    }

    #[test]
    fn throughput_down_is_worse_and_counts_compare_plainly() {
        let mut r = Rng::new(3);
        let a = Samples::Values((0..20).map(|i| 1000.0 + f64::from(i % 3)).collect());
        let b = Samples::Values((0..20).map(|i| 800.0 + f64::from(i % 3)).collect());
        assert_eq!(judge("t".into(), (&a, &b), &[], None, true, &mut r).verdict, Verdict::Worse);
        let lost = count("lost", Some(0), Some(3)).unwrap();
        assert_eq!(lost.verdict, Verdict::Worse);
        assert_eq!(regressions(&[lost], 10.0, &[]).len(), 1, "0 -> 3 lost fails any gate");
    }

    #[test]
    fn a_compromised_side_makes_nothing_better_and_keeps_what_is_worse() {
        let mut r = Rng::new(3);
        let slow = Samples::Values((0..20).map(|i| 800.0 + f64::from(i % 3)).collect());
        let fast = Samples::Values((0..20).map(|i| 1000.0 + f64::from(i % 3)).collect());
        let better = judge("t".into(), (&slow, &fast), &[], None, true, &mut r);
        let worse = judge("u".into(), (&fast, &slow), &[], None, true, &mut r);
        assert_eq!((better.verdict, worse.verdict), (Verdict::Better, Verdict::Worse));
        let mut changes = vec![better, worse];
        refuse_better(&mut changes);
        assert_eq!(changes[0].verdict, Verdict::NotComparable);
        assert_eq!(changes[1].verdict, Verdict::Worse, "a gate still fails on what got worse");
    }

    #[test]
    fn exposure_and_split_brain_compare_as_counts_when_either_run_has_them() {
        let plain = crate::summary::Summary::blank("a");
        assert!(harm_counts(Some(&plain), Some(&plain)).is_empty(), "neither run measured them");
        let mut split = plain.clone();
        split.split_brain = Some(crate::summary::SplitBrainSection { acked: 32, lost: 32, ..Default::default() });
        let c = harm_counts(Some(&plain), Some(&split));
        let names: Vec<&str> = c.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, ["split_brain.acked", "split_brain.lost"]);
        assert!(c.iter().all(|m| m.verdict == Verdict::Worse && m.before == Some(0.0) && m.after == Some(32.0)));
    }

    #[test]
    fn a_receive_location_compares_its_duplicates_and_incomplete_reads() {
        let mut none = crate::summary::Summary::blank("a");
        none.receive = Some(crate::summary::ReceiveSection {
            duplicate_receipts: 7_504,
            incomplete_reads: 29,
            ..Default::default()
        });
        let mut exclusive = none.clone();
        exclusive.receive = Some(crate::summary::ReceiveSection::default());
        let c = harm_counts(Some(&none), Some(&exclusive));
        let dup = c.iter().find(|m| m.metric == "receive.duplicate_receipts").unwrap();
        assert_eq!((dup.before, dup.after, dup.verdict), (Some(7_504.0), Some(0.0), Verdict::Better));
        assert!(regressions(&c, 10.0, &[]).is_empty(), "fewer duplicates is no regression");
        let back = harm_counts(Some(&exclusive), Some(&none));
        assert!(!regressions(&back, 10.0, &[]).is_empty(), "duplicates appearing fail the gate");
    }
}
