//! Throughput and p99 over time, one panel each, with the fault and exposure windows shaded and the
//! failover timeline marked (detected, promoted, first write after).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{caption_font, draw_legend, draw_lines, x_range, y_max, Chart, Series};
use crate::report::fonts;

/// A shaded span of time: a fault, from injection to the first acknowledged write after it
/// (red), a durability exposure, commits acknowledged without the synchronous guarantee
/// (orange), or a stall of habench itself (grey; its length is a mark beside it).
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub from_s: f64,
    pub to_s: f64,
    pub kind: WindowKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    Fault,
    Exposure,
    HarnessStall,
}

#[derive(Debug, Clone)]
pub(crate) struct TimelineChart {
    pub name: String,
    pub title: String,
    /// Operations per second over time.
    pub throughput: Vec<Series>,
    /// p99 in ms over time.
    pub p99_ms: Vec<Series>,
    pub windows: Vec<Window>,
    /// Instants marked with a vertical line (failover steps).
    pub marks: Vec<(f64, String)>,
}

impl TimelineChart {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        series: &[Series],
        y_desc: &str,
        caption: Option<&str>,
        (x_lo, x_hi): (f64, f64),
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let y_hi = y_max(series, 1.0) * 1.15;
        let mut b = ChartBuilder::on(area);
        b.margin(10).x_label_area_size(48).y_label_area_size(84);
        if let Some(c) = caption {
            b.caption(c, caption_font());
        }
        let mut chart = b.build_cartesian_2d(x_lo..x_hi, 0f64..y_hi).map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .label_style(crate::report::charts::label_font())
            .axis_desc_style(crate::report::charts::axis_font())
            .x_desc("seconds since start")
            .y_desc(y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        for w in &self.windows {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(w.from_s.max(x_lo), 0.0), (w.to_s.min(x_hi), y_hi)],
                    match w.kind {
                        WindowKind::Fault => RED.mix(0.15).filled(),
                        WindowKind::Exposure => RGBColor(255, 140, 0).mix(0.18).filled(),
                        WindowKind::HarnessStall => RGBColor(60, 60, 60).mix(0.35).filled(),
                    },
                )))
                .map_err(|e| e.to_string())?;
        }
        for ((t, label), row) in self.marks.iter().zip(label_rows(&self.marks, x_hi - x_lo)) {
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(*t, 0.0), (*t, y_hi)], BLACK.mix(0.5))))
                .map_err(|e| e.to_string())?;
            let y = y_hi * (0.97 - 0.09 * row as f64);
            chart
                .draw_series(std::iter::once(Text::new(label.clone(), (*t, y), (fonts::FAMILY, 15))))
                .map_err(|e| e.to_string())?;
        }
        draw_lines(&mut chart, series)?;
        if !series.is_empty() {
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}

/// The text row of each mark's label: a mark closer than a label's width to the one before it
/// goes one row down, so that labels never print over each other.
pub(crate) fn label_rows(marks: &[(f64, String)], x_span: f64) -> Vec<usize> {
    // A label of ~10 characters at 15 px is ~90 px of a ~860 px wide plot.
    let min_gap = x_span * 0.11;
    let mut rows = vec![0; marks.len()];
    let mut order: Vec<usize> = (0..marks.len()).collect();
    order.sort_by(|a, b| marks[*a].0.total_cmp(&marks[*b].0));
    let mut placed: Vec<(f64, usize)> = Vec::new();
    for i in order {
        let t = marks[i].0;
        let row = (0..).find(|r| placed.iter().all(|(pt, pr)| pr != r || (t - pt).abs() >= min_gap)).unwrap_or(0);
        placed.push((t, row));
        rows[i] = row;
    }
    rows
}

impl Chart for TimelineChart {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let all: Vec<Series> = self.throughput.iter().chain(&self.p99_ms).cloned().collect();
        let x = x_range(&all);
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
        self.panel(&top, &self.throughput, "ops/s", Some(&self.title), x)?;
        self.panel(&bottom, &self.p99_ms, "p99 (ms)", None, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_marks_get_their_own_rows_and_far_ones_share_the_first() {
        let marks =
            vec![(10.0, "detected".to_string()), (10.3, "promoted".to_string()), (40.0, "detected".to_string())];
        assert_eq!(label_rows(&marks, 60.0), vec![0, 1, 0]);
        let far = vec![(10.0, "a".to_string()), (30.0, "b".to_string())];
        assert_eq!(label_rows(&far, 60.0), vec![0, 0]);
    }
}
