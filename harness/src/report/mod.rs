//! `habench report RUN_DIR`: report.md, a self-contained report.html and every chart as PNG
//! and SVG under charts/, from a results folder. Also written at the end of every run.

pub(crate) mod advice;
pub(crate) mod capacity;
pub(crate) mod charts;
pub(crate) mod compare;
pub(crate) mod doc;
pub(crate) mod fonts;
pub(crate) mod sections;

use std::path::Path;

pub(crate) use crate::run_data::RunData;
use charts::Rendered;
use doc::Block;

/// What writing a report produced.
#[derive(Debug, Default)]
pub struct ReportOutput {
    /// The report as Markdown and as HTML.
    pub markdown: std::path::PathBuf,
    pub html: std::path::PathBuf,
    pub charts: Vec<String>,
    /// Charts that could not be drawn (the report is written without them).
    pub warnings: Vec<String>,
    /// Those charts' files (`charts/NAME.png`) and why, for the run's list of missing outputs.
    pub missing: Vec<(String, String)>,
}

/// Draws a chart into `charts/`, or notes why it could not be drawn.
fn chart<C: charts::Chart>(c: &C, dir: &Path, out: &mut ReportOutput) -> Option<Rendered> {
    match charts::render(c, &dir.join("charts")) {
        Ok(r) => {
            out.charts.push(r.name.clone());
            Some(r)
        }
        Err(e) => {
            out.warnings.push(format!("chart {}: {e}", c.name()));
            out.missing.push((format!("charts/{}.png", c.name()), e.clone()));
            None
        }
    }
}

/// Writes report.md, report.html and charts/ into the run folder `dir` (capacity.md and
/// capacity.html into a capacity search's folder).
pub fn write(dir: &Path) -> Result<ReportOutput, String> {
    if !dir.join("summary.json").exists() && dir.join("capacity.json").exists() {
        return capacity::write(dir, &crate::run_data::load_capacity(dir)?);
    }
    let data = RunData::load(dir)?;
    let mut out = ReportOutput::default();
    let blocks = match &data.summary {
        crate::summary::FolderSummary::Repeated(s) => sections::repeated_run(s, &mut |c| chart_any(c, dir, &mut out)),
        crate::summary::FolderSummary::Run(s) => sections::single_run(&data, s, &mut |c| chart_any(c, dir, &mut out)),
    };
    let title = format!("habench report: {}", data.title());
    // Whole or not at all: a full disk leaves no empty or cut report.
    crate::store::write_atomic(&dir.join("report.md"), doc::to_markdown(&blocks).as_bytes())
        .map_err(|e| format!("report.md: {e}"))?;
    crate::store::write_atomic(&dir.join("report.html"), doc::to_html(&title, &blocks).as_bytes())
        .map_err(|e| format!("report.html: {e}"))?;
    (out.markdown, out.html) = (dir.join("report.md"), dir.join("report.html"));
    Ok(out)
}

/// Any of the chart kinds, drawn by [`chart`].
pub(crate) enum AnyChart {
    Spectrum(charts::spectrum::SpectrumChart),
    Timeline(charts::timeline::TimelineChart),
    Lag(charts::lag::LagChart),
    Lost(charts::lost::LostChart),
    Rto(charts::rto::RtoChart),
    Offload(charts::offload::OffloadChart),
    Distance(charts::distance::DistanceChart),
}

fn chart_any(c: AnyChart, dir: &Path, out: &mut ReportOutput) -> Option<Block> {
    let r = match &c {
        AnyChart::Spectrum(c) => chart(c, dir, out),
        AnyChart::Timeline(c) => chart(c, dir, out),
        AnyChart::Lag(c) => chart(c, dir, out),
        AnyChart::Lost(c) => chart(c, dir, out),
        AnyChart::Rto(c) => chart(c, dir, out),
        AnyChart::Offload(c) => chart(c, dir, out),
        AnyChart::Distance(c) => chart(c, dir, out),
    };
    r.map(Block::Chart)
}

impl std::fmt::Debug for AnyChart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnyChart")
    }
}
