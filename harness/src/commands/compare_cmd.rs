//! `habench compare BEFORE AFTER [--fail-if-worse PCT]`.

use anyhow::{bail, Context};

use crate::analysis::compare;
use crate::cli::CompareArgs;
use crate::commands::{Ended, Verdict};
use crate::report::charts::spectrum::{self, SpectrumChart};
use crate::report::charts::timeline::TimelineChart;
use crate::report::compare::markdown;
use crate::run_data::RunData;

fn label(d: &RunData) -> String {
    d.name()
}

pub(crate) fn run(args: CompareArgs) -> anyhow::Result<()> {
    if let Some(p) = args.fail_if_worse {
        if !(p.is_finite() && p >= 0.0) {
            bail!("--fail-if-worse: {p} is not a percentage; give e.g. 10");
        }
    }
    let capacity = [&args.before, &args.after].map(|d| d.join("capacity.json").is_file());
    match capacity {
        [true, true] => return compare_capacity(&args),
        [true, false] | [false, true] => bail!(
            "{} is a capacity folder and {} is not: compare two capacity searches, or two runs",
            if capacity[0] { "BEFORE" } else { "AFTER" },
            if capacity[0] { "AFTER" } else { "BEFORE" }
        ),
        [false, false] => {}
    }
    let before = RunData::load(&args.before).map_err(|e| anyhow::anyhow!("BEFORE: {e}"))?;
    let after = RunData::load(&args.after).map_err(|e| anyhow::anyhow!("AFTER: {e}"))?;
    let changes = compare::compare(&before, &after, args.seed);
    if changes.is_empty() {
        bail!("BEFORE and AFTER have no metric in common (compare runs of the same workload)");
    }
    let known: Vec<&str> = changes.iter().map(|c| c.metric.as_str()).collect();
    if let Some(m) = args.metrics.iter().find(|m| !known.contains(&m.as_str())) {
        bail!("--metric: `{m}` is not a metric of these runs; they have {}", known.join(", "));
    }
    let out = args.out.clone().unwrap_or_else(|| args.after.join("compare"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let (b, a) = (label(&before), label(&after));
    let mut md = markdown(&b, &a, &changes);
    let compromised = compare::compromised(&before, &after);
    if !compromised.is_empty() {
        md = format!("**COMPROMISED**: {}; no metric is called better.\n\n{md}", compromised.join("; "));
    }
    std::fs::write(out.join("compare.md"), &md)?;
    let json = serde_json::json!({ "before": b, "after": a, "resamples": compare::RESAMPLES, "seed": args.seed, "compromised": compromised, "metrics": changes });
    std::fs::write(out.join("compare.json"), serde_json::to_string_pretty(&json)? + "\n")?;
    for w in overlay_charts(&before, &after, &out) {
        eprintln!("habench: warning: {w}");
    }
    println!("{md}");
    gate(&args, &changes)
}

/// Two capacity folders: MST per topology (and N-1, overdrive drain) before and after.
fn compare_capacity(args: &CompareArgs) -> anyhow::Result<()> {
    use crate::analysis::capacity_compare;
    let before = crate::run_data::load_capacity(&args.before).map_err(|e| anyhow::anyhow!("BEFORE: {e}"))?;
    let after = crate::run_data::load_capacity(&args.after).map_err(|e| anyhow::anyhow!("AFTER: {e}"))?;
    let changes = capacity_compare::compare(&before, &after);
    if changes.is_empty() {
        bail!("BEFORE and AFTER searched no topology in common (their labels differ)");
    }
    let known: Vec<&str> = changes.iter().map(|c| c.metric.as_str()).collect();
    if let Some(m) = args.metrics.iter().find(|m| !known.contains(&m.as_str())) {
        bail!("--metric: `{m}` is not a metric of these searches; they have {}", known.join(", "));
    }
    let out = args.out.clone().unwrap_or_else(|| args.after.join("compare"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let name = |p: &std::path::Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (b, a) = (name(&args.before), name(&args.after));
    let md = format!("{}\n{}\n", markdown(&b, &a, &changes), capacity_compare::NOTE);
    crate::store::write_atomic(&out.join("compare.md"), md.as_bytes())?;
    let json = serde_json::json!({ "before": b, "after": a, "kind": "capacity", "metrics": changes });
    crate::store::write_atomic(&out.join("compare.json"), (serde_json::to_string_pretty(&json)? + "\n").as_bytes())?;
    println!("{md}");
    gate(args, &changes)
}

/// `--fail-if-worse`: exit 1 naming what got worse.
fn gate(args: &CompareArgs, changes: &[compare::MetricChange]) -> anyhow::Result<()> {
    if let Some(pct) = args.fail_if_worse {
        let worse = compare::regressions(changes, pct, &args.metrics);
        if !worse.is_empty() {
            let names: Vec<String> = worse
                .iter()
                .map(|c| format!("{} ({})", c.metric, c.change_pct.map(|p| format!("{p:+.1}%")).unwrap_or_default()))
                .collect();
            let why = format!("worse by more than {pct}%: {}", names.join(", "));
            return Err(Ended(Verdict::Regressed, why).into());
        }
    }
    Ok(())
}

/// Percentile spectra and timelines of both runs on one chart each.
fn overlay_charts(before: &RunData, after: &RunData, out: &std::path::Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let charts = out.join("charts");
    let ops: Vec<String> = before.ops().into_iter().filter(|o| after.ops().contains(o) && o != "cleanup").collect();
    let mut series = Vec::new();
    for op in ops.iter().take(3) {
        for (tag, d) in [("before", before), ("after", after)] {
            if let Some(h) = d.merged(op) {
                series.push((format!("{op} ({tag})"), spectrum::points(&h)));
            }
        }
    }
    let spec = SpectrumChart {
        name: "compare-spectrum".into(),
        title: "Latency by percentile: before and after".into(),
        series,
    };
    if let Err(e) = crate::report::charts::render(&spec, &charts) {
        warnings.push(format!("chart compare-spectrum: {e}"));
    }
    let main = if before.timeline.col("publish_ops_per_sec").is_some() { "publish" } else { "insert" };
    let pts = |d: &RunData, col: &str, scale: f64| {
        d.timeline.points(col, &[]).into_iter().map(|(x, y)| (x, y * scale)).collect()
    };
    let tl = TimelineChart {
        name: "compare-timeline".into(),
        title: format!("{main} per second: before and after"),
        throughput: vec![
            (format!("{main} (before)"), pts(before, &format!("{main}_ops_per_sec"), 1.0)),
            (format!("{main} (after)"), pts(after, &format!("{main}_ops_per_sec"), 1.0)),
        ],
        p99_ms: vec![
            (format!("{main} p99 (before)"), pts(before, &format!("{main}_p99_us"), 1e-3)),
            (format!("{main} p99 (after)"), pts(after, &format!("{main}_p99_us"), 1e-3)),
        ],
        windows: Vec::new(),
        marks: Vec::new(),
    };
    if let Err(e) = crate::report::charts::render(&tl, &charts) {
        warnings.push(format!("chart compare-timeline: {e}"));
    }
    warnings
}
