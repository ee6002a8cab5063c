//! Charts, one per file: each draws itself on any plotters backend; [`render`] writes it as SVG
//! and PNG under `charts/` and returns the SVG text for inlining.

pub(crate) mod advice;
pub(crate) mod capacity;
pub(crate) mod distance;
pub(crate) mod lag;
pub(crate) mod lost;
pub(crate) mod offload;
pub(crate) mod rto;
pub(crate) mod spectrum;
pub(crate) mod timeline;

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::fonts;

pub(crate) const SIZE: (u32, u32) = (960, 520);

/// A line of a chart: its label and points.
pub(crate) type Series = (String, Vec<(f64, f64)>);

/// A chart that can draw itself.
pub(crate) trait Chart {
    /// File name stem under `charts/`.
    fn name(&self) -> String;
    fn title(&self) -> String;
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Draws `chart` to `<dir>/<name>.svg` and `.png`; returns the SVG.
pub(crate) fn render<C: Chart>(chart: &C, dir: &Path) -> Result<Rendered, String> {
    fonts::ensure()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = chart.name();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        chart.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    crate::store::write_atomic(&dir.join(format!("{name}.svg")), svg.as_bytes())
        .map_err(|e| format!("{name}.svg: {e}"))?;
    // Drawn beside its place and renamed over it: a chart is whole or absent, never cut.
    let png = dir.join(format!("{name}.png"));
    // The image encoder picks its format by extension: the temporary name keeps `.png`.
    let tmp = dir.join(format!(".{name}.tmp.png"));
    let drawn = (|| {
        let area = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        chart.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
        drop(area);
        std::fs::rename(&tmp, &png).map_err(|e| e.to_string())
    })();
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{name}.png: {e}"));
    }
    Ok(Rendered { name, title: chart.title(), svg })
}

/// The colour of the i-th series.
pub(crate) fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Text style of tick labels and legends: readable at 100 % zoom when the chart is shown at
/// the page's width.
pub(crate) fn label_font() -> (&'static str, u32) {
    (fonts::FAMILY, 16)
}

/// Text style of a label drawn inside a plot (a marked instant's name).
pub(crate) fn fonts_label() -> (&'static str, u32) {
    (fonts::FAMILY, 15)
}

/// Text style of an axis's name.
pub(crate) fn axis_font() -> (&'static str, u32) {
    (fonts::FAMILY, 17)
}

/// Text style of a caption.
pub(crate) fn caption_font() -> (&'static str, u32) {
    (fonts::FAMILY, 22)
}

/// Largest y over the series (at least `floor`).
pub(crate) fn y_max(series: &[Series], floor: f64) -> f64 {
    series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(floor, f64::max)
}

/// Smallest and largest x over the series.
pub(crate) fn x_range(series: &[Series]) -> (f64, f64) {
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// A chart's frame: caption, margins and axis label space.
pub(crate) fn frame<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &'b str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(title, caption_font()).margin(12).x_label_area_size(52).y_label_area_size(84);
    b
}

/// Linear x and y axes in the chart's frame, with a mesh and the axes' names.
pub(crate) type Linear<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub(crate) fn linear_axes<'a, DB>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<Linear<'a, DB>, String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    let mut chart = frame(area, title).build_cartesian_2d(x, y).map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .label_style(label_font())
        .axis_desc_style(axis_font())
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Draws each series as a line in its colour, with a legend entry.
pub(crate) fn draw_lines<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, series: &[Series]) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    for (i, (label, pts)) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    Ok(())
}

/// The legend box.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .label_font(label_font())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// Bars per category: `values[i][k]` is measure k of category i, stacked or side by side.
pub(crate) fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    categories: &[(String, Vec<f64>)],
    measures: &[&str],
    stacked: bool,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let n = categories.len().max(1);
    let height = |v: &[f64]| if stacked { v.iter().sum() } else { v.iter().copied().fold(0.0, f64::max) };
    let top = categories.iter().map(|(_, v)| height(v)).fold(1.0, f64::max) * 1.15;
    let labels: Vec<String> = categories.iter().map(|(l, _)| l.clone()).collect();
    let mut chart =
        frame(area, title).build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top).map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .label_style(label_font())
        .axis_desc_style(axis_font())
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
        .y_desc(y_desc)
        .draw()
        .map_err(|e| e.to_string())?;
    let width = if stacked { 0.6 } else { 0.8 / measures.len().max(1) as f64 };
    for (k, m) in measures.iter().enumerate() {
        let c = color(k);
        let bars = categories.iter().enumerate().map(|(i, (_, v))| {
            let value = v.get(k).copied().unwrap_or(0.0);
            let (x0, y0) = if stacked {
                (i as f64 - width / 2.0, v[..k.min(v.len())].iter().sum())
            } else {
                (i as f64 - 0.4 + width * k as f64, 0.0)
            };
            let w = if stacked { width } else { width * 0.9 };
            Rectangle::new([(x0, y0), (x0 + w, y0 + value)], c.filled())
        });
        chart
            .draw_series(bars)
            .map_err(|e| e.to_string())?
            .label(*m)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::distance::DistanceChart;
    use crate::report::charts::lag::LagChart;

    #[test]
    fn line_charts_on_linear_axes_render_with_their_axis_names() {
        let dir = std::env::temp_dir().join(format!("habench-charts-test-{}", std::process::id()));
        let series = vec![("s1".to_string(), vec![(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)])];
        let lag = LagChart { title: "Replay lag".into(), series: series.clone() };
        let distance = DistanceChart { title: "Distance".into(), series, flush_ms: Some(0.3) };
        let r = render(&lag, &dir).unwrap();
        assert!(r.svg.contains("replay lag (ms)") && r.svg.contains("seconds since start") && r.svg.contains("s1"));
        let r = render(&distance, &dir).unwrap();
        assert!(r.svg.contains("link round trip (ms)") && r.svg.contains("floor: round trip"));
        assert!(dir.join("distance.png").metadata().unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
