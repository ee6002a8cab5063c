//! advise.md and advise.html: the answer first, the options along the trade-offs, then the
//! decision table (designs x requirements), the tiers table (outage x design: RTO and loss),
//! what was not run and why, then every cell's figure, rule and folders.

use std::path::Path;

use crate::report::charts::advice::DesignBars;
use crate::report::doc::{self, table, Block};
use crate::summary::{Advice, AdviceVerdict as Verdict, DesignDecision};

/// Writes advise.md and advise.html into `dir`; returns the Markdown.
pub(crate) fn write(dir: &Path, a: &Advice) -> Result<String, String> {
    let mut out = crate::report::ReportOutput::default();
    let charts: Vec<Block> =
        chart_specs(a).iter().filter_map(|c| crate::report::chart(c, dir, &mut out)).map(Block::Chart).collect();
    for w in &out.warnings {
        eprintln!("habench: warning: {w}");
    }
    let blocks = blocks(a, charts);
    let md = doc::to_markdown(&blocks);
    crate::store::write_atomic(&dir.join("advise.md"), md.as_bytes()).map_err(|e| format!("advise.md: {e}"))?;
    let html = doc::to_html("habench advise", &blocks);
    crate::store::write_atomic(&dir.join("advise.html"), html.as_bytes()).map_err(|e| format!("advise.html: {e}"))?;
    Ok(md)
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Meets => "meets",
        Verdict::Borderline => "BORDERLINE",
        Verdict::Fails => "FAILS",
        Verdict::NoEvidence => "no evidence",
        Verdict::NotApplicable => "n/a",
    }
}

/// The charts people look at: the worst RTO per design and outage, the MST against the rate
/// required, the commit p99 (designs without the figure are left out of a chart).
fn chart_specs(a: &Advice) -> Vec<DesignBars> {
    let value = |d: &DesignDecision, name: &str| d.cells.iter().find(|c| c.requirement == name).and_then(|c| c.value);
    let mut outages: Vec<String> = a
        .designs
        .iter()
        .flat_map(|d| &d.cells)
        .filter(|c| c.requirement.starts_with("rto "))
        .map(|c| c.requirement.clone())
        .collect();
    outages.sort();
    outages.dedup();
    let rto = a
        .designs
        .iter()
        .filter_map(|d| {
            let v: Option<Vec<f64>> = outages.iter().map(|o| value(d, o).map(|ms| ms / 1e3)).collect();
            v.map(|v| (d.design.clone(), v))
        })
        .collect();
    let load = a.requirements["load"].as_f64().unwrap_or(0.0);
    let required = load * (1.0 + a.requirements["headroom"].as_f64().unwrap_or(0.0));
    let mst = a.designs.iter().filter_map(|d| value(d, "capacity").map(|m| (d.design.clone(), vec![m, required])));
    let p99 = a.designs.iter().filter_map(|d| d.commit_p99_us.map(|p| (d.design.clone(), vec![p as f64 / 1e3])));
    let bars = |name: &str, title: &str, y: &str, measures: Vec<String>, designs: Vec<(String, Vec<f64>)>| DesignBars {
        name: name.into(),
        title: title.into(),
        y_desc: y.into(),
        measures,
        designs,
    };
    [
        bars("advise-rto", "Worst RTO per design and outage (measured)", "s", outages, rto),
        bars(
            "advise-mst",
            "MST against the rate required (load + headroom)",
            "messages/s",
            vec!["MST".into(), "required".into()],
            mst.collect(),
        ),
        bars(
            "advise-commit",
            "Publish (commit) p99 at the load, from the capacity steps around it",
            "ms",
            vec!["commit p99".into()],
            p99.collect(),
        ),
    ]
    .into_iter()
    .filter(|c| !c.designs.is_empty() && !c.measures.is_empty())
    .collect()
}

pub(crate) fn blocks(a: &Advice, charts: Vec<Block>) -> Vec<Block> {
    let mut out = vec![Block::Heading(1, "habench advise".into()), Block::Para(a.answer.clone())];
    if !a.options.is_empty() {
        let rows = a
            .options
            .iter()
            .map(|o| {
                let gives = if o.gives_up.is_empty() { "nothing measured".to_string() } else { o.gives_up.clone() };
                vec![o.trade_offs.join(", "), o.design.clone(), gives]
            })
            .collect();
        let head = ["trade-off", "design", "gives up against the recommended design"];
        out.extend([Block::Heading(2, "Options".into()), table(&head, rows)]);
    }
    out.extend(decision(a));
    out.extend(tiers(a));
    if !charts.is_empty() {
        out.push(Block::Heading(2, "Charts".into()));
        out.extend(charts);
    }
    out.extend(not_run(a));
    out.extend(evidence(a));
    out
}

/// Designs x requirements, each cell its verdict and figure.
fn decision(a: &Advice) -> Vec<Block> {
    let mut out = Vec::new();
    let requirements: Vec<String> =
        a.designs.first().map(|d| d.cells.iter().map(|c| c.requirement.clone()).collect()).unwrap_or_default();
    let mut head = vec!["design", "servers", "eligible", "MST / load"];
    head.extend(requirements.iter().map(String::as_str));
    let rows = a
        .designs
        .iter()
        .map(|d| {
            let mut row = vec![
                d.design.clone(),
                d.servers.map_or("-".into(), |s| s.to_string()),
                if d.eligible { "yes".into() } else { "no".into() },
                d.headroom.map_or("-".into(), |h| format!("{h:.2}x")),
            ];
            row.extend(d.cells.iter().map(|c| format!("{}: {}", mark(c.verdict), c.figure)));
            row
        })
        .collect();
    out.push(Block::Heading(2, "Decision".into()));
    out.push(table(&head, rows));
    for d in a.designs.iter().filter(|d| d.tune_hint.is_some()) {
        out.push(Block::Para(format!(
            "{} misses only on RTO; predicted (not measured) to meet it: {}.",
            d.design,
            d.tune_hint.as_deref().unwrap_or_default()
        )));
    }
    if let Some(r) = &a.relaxation {
        out.push(Block::Para(format!(
            "No design meets every requirement. The smallest relaxation: {} with {}.",
            r.design,
            r.changes.join(", ")
        )));
    }
    out
}

/// The tiers table architects know: per outage class and design, the measured RTO and loss
/// (with what was left unconfirmed), from the decision's cells.
fn tiers(a: &Advice) -> Vec<Block> {
    let mut outages: Vec<&str> =
        a.designs.iter().flat_map(|d| &d.cells).filter_map(|c| c.requirement.strip_prefix("rpo ")).collect();
    outages.sort();
    outages.dedup();
    if outages.is_empty() {
        return Vec::new();
    }
    let cell = |d: &DesignDecision, name: String| {
        d.cells.iter().find(|c| c.requirement == name).map_or("-".to_string(), |c| c.figure.clone())
    };
    let rows = outages
        .iter()
        .flat_map(|o| {
            a.designs.iter().map(move |d| {
                vec![o.to_string(), d.design.clone(), cell(d, format!("rto {o}")), cell(d, format!("rpo {o}"))]
            })
        })
        .collect();
    vec![
        Block::Heading(2, "Tiers: what each outage cost each design".into()),
        table(&["outage", "design", "RTO (measured)", "loss and exposure (measured)"], rows),
    ]
}

/// Designs the configuration ruled out before running, and outages that do not apply.
fn not_run(a: &Advice) -> Vec<Block> {
    if a.not_run.is_empty() {
        return Vec::new();
    }
    let rows = a
        .not_run
        .iter()
        .map(|n| {
            vec![
                n.design.clone(),
                n.outage.map_or("every outage".into(), |o| o.as_str().to_string()),
                n.why.clone(),
                n.tuning.clone().unwrap_or("-".into()),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Not run".into()),
        Block::Para(
            "Predictions, not measurements: the configuration's RTO band (or the outage does not apply). A setting \
             predicted to meet the RTO is measured with `--tune`."
                .into(),
        ),
        table(&["design", "outage", "why", "setting predicted to meet the RTO"], rows),
    ]
}

/// Every cell with its rule and folders.
fn evidence(a: &Advice) -> Vec<Block> {
    let mut out = vec![Block::Heading(2, "Evidence".into())];
    let rows = a
        .designs
        .iter()
        .flat_map(|d| {
            d.cells.iter().map(|c| {
                vec![
                    d.design.clone(),
                    c.requirement.clone(),
                    mark(c.verdict).into(),
                    c.figure.clone(),
                    c.rule.clone(),
                    c.folders.join(", "),
                ]
            })
        })
        .collect();
    out.push(table(&["design", "requirement", "verdict", "figure", "rule", "folders"], rows));
    out.push(Block::Para(format!("Evidence: {}.", a.evidence_rule)));
    if !a.reuse_rule.is_empty() {
        out.push(Block::Para(format!("Reuse: {}.", a.reuse_rule)));
    }
    let tuned: Vec<String> = a
        .designs
        .iter()
        .filter_map(|d| d.tuning.as_ref().map(|t| format!("{} ran its failover trials with {t}", d.design)))
        .collect();
    if !tuned.is_empty() {
        out.push(Block::Para(format!("Tuned: {}.", tuned.join("; "))));
    }
    out
}
