//! capacity.md and capacity.html from a capacity search's outcome: the planning table and its
//! sentence first, then the charts, the rules a step was judged by, and every step.

use std::path::Path;

use crate::capacity::outcome::{verdict_sentence, CapacityOutcome, PlanRow, TopologySearch, PLAN_FRACTIONS};
use crate::capacity::search::End;
use crate::capacity::slo::limit_text;
use crate::report::charts::capacity::{CapacityChart, Kind};
use crate::report::doc::{self, table, Block, Fact, Tone};
use crate::report::ReportOutput;

/// Writes capacity.md, capacity.html and charts/ into `dir`.
pub(crate) fn write(dir: &Path, o: &CapacityOutcome) -> Result<ReportOutput, String> {
    let mut out = ReportOutput::default();
    let mut charts = Vec::new();
    for c in chart_specs(o) {
        if let Some(r) = super::chart(&c, dir, &mut out) {
            charts.push(Block::Chart(r));
        }
    }
    let blocks = blocks(o, charts);
    let md = doc::to_markdown(&blocks);
    let html = doc::to_html("habench capacity", &blocks);
    crate::store::write_atomic(&dir.join("capacity.md"), md.as_bytes()).map_err(|e| format!("capacity.md: {e}"))?;
    crate::store::write_atomic(&dir.join("capacity.html"), html.as_bytes())
        .map_err(|e| format!("capacity.html: {e}"))?;
    (out.markdown, out.html) = (dir.join("capacity.md"), dir.join("capacity.html"));
    Ok(out)
}

/// The planning table and its sentence, as Markdown (the terminal's answer).
pub(crate) fn planning_markdown(o: &CapacityOutcome) -> String {
    let mut blocks = vec![planning_table(o)];
    if let Some(s) = verdict_sentence(&o.planning, o.target_load) {
        blocks.push(Block::Para(s));
    }
    doc::to_markdown(&blocks)
}

pub(crate) fn blocks(o: &CapacityOutcome, charts: Vec<Block>) -> Vec<Block> {
    let mut b = vec![Block::Heading(1, format!("Capacity: maximum sustainable throughput, scenario `{}`", o.scenario))];
    if !o.complete {
        b.push(Block::Para(format!(
            "**Incomplete**: {}. The table holds the steps that finished.",
            o.stop_reason.as_deref().unwrap_or("a search did not end")
        )));
    }
    b.push(Block::Headline(o.planning.iter().map(|r| fact(r, o.target_load)).collect()));
    b.push(planning_table(o));
    if let Some(s) = verdict_sentence(&o.planning, o.target_load) {
        b.push(Block::Para(s));
    }
    b.push(Block::Para(format!(
        "A step is sustainable when, over its measured phase: {}. Each step runs {:.0} s measured after {:.0} s of \
         warm-up, open loop, on the same servers with the schema reinstalled before it. The search doubles the rate \
         until a step fails, then bisects until the bounds are within {:.0} %; the failing bound is run twice before \
         the search ends on it. Latency at a share of the MST is interpolated between the steps around that rate \
         (- where no step was run below that rate).",
        o.rules_text,
        o.step_s,
        o.warmup_s,
        o.params.precision * 100.0
    )));
    b.extend(charts);
    b.extend(overdrive_blocks(o));
    for t in &o.topologies {
        b.push(Block::Heading(2, format!("{}: {}", t.label, end_text(t))));
        b.push(steps_table(o, t));
        if let Some(d) = &t.n_minus_1 {
            b.extend(degraded_blocks(o, d));
        }
        if let Some(c) = &t.confirm {
            let held = c.verdict.as_ref().is_some_and(|v| v.sustainable);
            let why = c.verdict.as_ref().map(|v| v.reasons.join("; ")).unwrap_or_default();
            b.push(Block::Para(format!(
                "Confirmation: {:.0}/s for {:.0} s {} ({}){}.",
                c.rate,
                c.duration_s,
                if held { "held" } else { "did not hold" },
                c.folder,
                if why.is_empty() { String::new() } else { format!(": {why}") }
            )));
        }
    }
    b
}

/// The node taken away and the search afterwards.
fn degraded_blocks(o: &CapacityOutcome, d: &crate::capacity::outcome::Degraded) -> Vec<Block> {
    let mut b = Vec::new();
    if d.fault == "-" {
        b.push(Block::Para(format!("N-1: not searched: {}.", d.error.as_deref().unwrap_or("no node to spare"))));
        return b;
    }
    let cost = format!(
        "write outage {}, {} acknowledged messages lost",
        d.rto_ms.map(|ms| format!("{:.1} s", ms / 1e3)).unwrap_or("-".into()),
        d.lost.map(|l| l.to_string()).unwrap_or("-".into())
    );
    b.push(Block::Para(format!(
        "N-1: `{}`{} under half the MST ({}): {cost}{}.",
        d.fault,
        d.target.as_ref().map(|t| format!(" hit {t}")).unwrap_or_default(),
        d.folder,
        d.error.as_ref().map(|e| format!("; **{e}**: no N-1 search")).unwrap_or_default()
    )));
    if let Some(s) = &d.search {
        b.push(Block::Heading(3, format!("{} (after losing a node): {}", s.label, end_text(s))));
        b.push(steps_table(o, s));
    }
    b
}

/// BizTalk's overdrive test, one row per topology that ran it.
fn overdrive_blocks(o: &CapacityOutcome) -> Vec<Block> {
    let runs: Vec<(&str, &crate::capacity::overdrive::OverdriveResult)> =
        o.topologies.iter().filter_map(|t| Some((t.label.as_str(), t.overdrive.as_ref()?))).collect();
    let Some((_, first)) = runs.first() else { return Vec::new() };
    let n = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or("-".into());
    let rows = runs
        .iter()
        .map(|(label, r)| {
            let b = &r.backlog;
            let drain = match (b.drain_s, b.drain_estimate_s, &r.error) {
                (_, _, Some(e)) => format!("not measured: {e}"),
                (Some(d), _, None) => format!("{d:.0} s"),
                (None, Some(e), None) => format!("**not in {:.0} s** (~{e:.0} s at the recovery's pace)", r.recovery_s),
                (None, None, None) => format!("**not in {:.0} s** (not falling)", r.recovery_s),
            };
            vec![
                label.to_string(),
                format!("{:.0} ({:.2}x)", r.rate, r.factor),
                format!("{:.0}", r.achieved),
                n(b.start),
                match (b.peak, b.peak_at_s) {
                    (Some(p), Some(t)) => format!("{p:.0} at {t:.0} s"),
                    _ => "-".into(),
                },
                n(b.at_end_of_overdrive),
                format!("{:.0} s", b.throttled_s),
                drain,
                r.failed.to_string(),
                r.folder.clone(),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Overdrive".into()),
        Block::Para(format!(
            "BizTalk's overdrive test: {:.0} s at the factor times each MST, after a warm-up at half the MST and \
             followed by {:.0} s at half the MST again. Backlog: messages waiting in every host queue; drained: back \
             within one second's worth of the low load's queue entries of where it started. Throttled: seconds of \
             publishing throttling (`--throttle`).",
            first.duration_s, first.recovery_s
        )),
        table(
            &[
                "topology",
                "overdrive/s",
                "achieved/s (whole run)",
                "backlog before",
                "backlog peak",
                "at the end of overdrive",
                "throttled",
                "drain time",
                "fail+unknown",
                "folder",
            ],
            rows,
        ),
    ]
}

fn fact(r: &PlanRow, target: Option<f64>) -> Fact {
    let value = match (r.mst, &r.bound) {
        (Some(m), Some(b)) => format!("{b} {m:.0}/s"),
        (Some(m), None) => format!("{m:.0}/s"),
        (None, Some(b)) => format!("{b} min"),
        (None, None) => "-".into(),
    };
    let (note, tone) = match (r.headroom, target) {
        (Some(h), Some(t)) => (
            format!("{h:.2}x over {t:.0}/s"),
            if h >= crate::capacity::outcome::HEADROOM_NEEDED { Tone::Good } else { Tone::Bad },
        ),
        _ => ("MST".into(), Tone::Plain),
    };
    let note = match r.n1.as_ref().and_then(|n| n.mst) {
        Some(m) => format!("{note}; N-1 {m:.0}/s"),
        None => note,
    };
    Fact { label: r.label.clone(), value, note, tone }
}

fn planning_table(o: &CapacityOutcome) -> Block {
    let term = o.rules.terms.first().map(|t| format!("{}.{}", t.op, t.stat.as_str())).unwrap_or_default();
    let mut head: Vec<String> = vec!["topology".into(), "MST (publishes/s)".into()];
    head.extend(PLAN_FRACTIONS.iter().map(|f| format!("{term} at {:.0} % of MST", f * 100.0)));
    if let Some(t) = o.target_load {
        head.push(format!("headroom over {t:.0}/s"));
    }
    let n1 = o.planning.iter().any(|r| r.n1.is_some());
    if n1 {
        head.push("N-1 MST".into());
        if let Some(t) = o.target_load {
            head.push(format!("N-1 headroom over {t:.0}/s"));
        }
        head.push("losing the node (RTO, lost)".into());
    }
    head.extend(["steps".to_string(), "search".to_string()]);
    let rows = o
        .planning
        .iter()
        .zip(&o.topologies)
        .map(|(r, t)| {
            let mut row = vec![
                r.label.clone(),
                match (r.mst, &r.bound) {
                    (Some(m), Some(b)) => format!("{b} {m:.0}"),
                    (Some(m), None) => format!("{m:.0}"),
                    _ => "-".into(),
                },
            ];
            row.extend(r.latency_at_us.iter().map(|v| v.map(|us| limit_text(us.round() as u64)).unwrap_or("-".into())));
            if o.target_load.is_some() {
                row.push(r.headroom.map(|h| format!("{h:.2}x")).unwrap_or("-".into()));
            }
            if n1 {
                row.extend(n1_cells(r.n1.as_ref(), o.target_load.is_some()));
            }
            row.push(r.steps.to_string());
            row.push(end_text(t));
            row
        })
        .collect();
    Block::Table { head, rows }
}

/// The N-1 MST, its headroom (when there is a target) and what losing the node cost.
fn n1_cells(n: Option<&crate::capacity::outcome::NMinus1Row>, target: bool) -> Vec<String> {
    let Some(n) = n else {
        return vec!["-".into(); if target { 3 } else { 2 }];
    };
    let mut cells = vec![match (&n.error, n.mst, &n.bound) {
        (Some(e), _, _) => format!("- ({e})"),
        (None, Some(m), Some(b)) => format!("{b} {m:.0}"),
        (None, Some(m), None) => format!("{m:.0}"),
        (None, None, Some(b)) => format!("{b} min"),
        (None, None, None) => "-".into(),
    }];
    if target {
        cells.push(n.headroom.map(|h| format!("{h:.2}x")).unwrap_or("-".into()));
    }
    cells.push(if n.fault == "-" {
        "-".into()
    } else {
        let rto = n.rto_ms.map(|ms| format!("{:.1} s", ms / 1e3)).unwrap_or("-".into());
        let lost = n.lost.map(|l| l.to_string()).unwrap_or("-".into());
        format!("{}: {rto}, lost {lost}", n.fault)
    });
    cells
}

fn end_text(t: &TopologySearch) -> String {
    let bound = |v: Option<f64>| v.map(|x| format!("{x:.0}/s")).unwrap_or("-".into());
    match (&t.error, t.end) {
        (Some(e), _) => format!("failed: {e}"),
        (None, Some(End::Converged)) => {
            format!("MST {} (next rate up, {}, failed twice)", bound(t.mst), bound(t.unsustainable))
        }
        (None, Some(End::MaxHeld)) => format!("even the maximum, {}, held", bound(t.mst)),
        (None, Some(End::MinFailed)) => format!("even the minimum, {}, failed", bound(t.unsustainable)),
        (None, Some(End::StepLimit)) => {
            format!("step limit reached between {} and {}", bound(t.mst), bound(t.unsustainable))
        }
        (None, None) => "stopped before the search ended".into(),
    }
}

fn steps_table(o: &CapacityOutcome, t: &TopologySearch) -> Block {
    let mut head = vec!["step", "offered/s", "verdict", "achieved/s", "delivered/s"];
    let terms: Vec<String> = o.rules.terms.iter().map(|t| format!("{}.{}", t.op, t.stat.as_str())).collect();
    head.extend(terms.iter().map(String::as_str));
    head.extend(["backlog growth/s", "backlog at end", "started late", "folder", "why"]);
    let mut steps: Vec<_> = t.steps.iter().collect();
    steps.sort_by_key(|s| s.index);
    let rows = steps
        .iter()
        .map(|s| {
            let m = s.measure.as_ref();
            let mut row = vec![
                s.index.to_string(),
                format!("{:.0}", s.rate),
                match (&s.verdict, &s.error) {
                    (Some(v), _) if v.sustainable => "sustainable".into(),
                    (Some(_), _) => "**not sustainable**".into(),
                    (None, _) => "not judged".into(),
                },
                m.map(|m| format!("{:.0}", m.achieved)).unwrap_or("-".into()),
                m.map(|m| format!("{:.0}", m.delivered)).unwrap_or("-".into()),
            ];
            for i in 0..terms.len() {
                row.push(m.and_then(|m| *m.slo_us.get(i)?).map(limit_text).unwrap_or("-".into()));
            }
            row.push(m.and_then(|m| m.backlog_slope).map(|v| format!("{v:.1}")).unwrap_or("-".into()));
            row.push(m.and_then(|m| m.backlog_end).map(|v| v.to_string()).unwrap_or("-".into()));
            row.push(m.map(|m| format!("{:.1} %", m.late_share * 100.0)).unwrap_or("-".into()));
            row.push(s.folder.clone());
            row.push(match (&s.verdict, &s.error) {
                (_, Some(e)) => e.clone(),
                (Some(v), None) => v.reasons.join("; "),
                _ => String::new(),
            });
            row
        })
        .collect();
    table(&head, rows)
}

/// The three charts, from every finished step.
fn chart_specs(o: &CapacityOutcome) -> Vec<CapacityChart> {
    let series = |f: &dyn Fn(&crate::capacity::verdict::StepMeasure) -> Option<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
        o.topologies
            .iter()
            .map(|t| {
                let mut pts: Vec<(f64, f64)> =
                    t.steps.iter().filter_map(|s| Some((s.rate, f(s.measure.as_ref()?)?))).collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                pts.dedup_by(|a, b| a.0 == b.0);
                (t.label.clone(), pts)
            })
            .collect()
    };
    let Some(first) = o.rules.terms.first() else { return Vec::new() };
    let term = format!("{}.{}", first.op, first.stat.as_str());
    vec![
        CapacityChart {
            kind: Kind::Latency,
            title: format!("{term} against offered load"),
            y_desc: format!("{term} (ms, log scale)"),
            series: series(&|m| Some(*m.slo_us.first()?.as_ref()? as f64 / 1e3)),
            limit: Some(first.limit_us as f64 / 1e3),
            msts: o.topologies.iter().map(|t| t.mst).collect(),
        },
        CapacityChart {
            kind: Kind::Throughput,
            title: "Achieved against offered throughput".into(),
            y_desc: "acknowledged publishes/s".into(),
            series: series(&|m| Some(m.achieved)),
            limit: None,
            msts: Vec::new(),
        },
        CapacityChart {
            kind: Kind::Backlog,
            title: "Host-queue growth per step".into(),
            y_desc: "queue entries/s (least-squares slope)".into(),
            series: series(&|m| m.backlog_slope),
            limit: None,
            msts: Vec::new(),
        },
    ]
}
