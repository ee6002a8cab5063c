//! The capacity search's charts: latency against offered load per topology (the hockey stick,
//! on a log axis, with the SLO line and each MST marked), achieved against offered throughput,
//! and the queue growth of each step.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{
    axis_font, color, draw_legend, draw_lines, frame, label_font, linear_axes, x_range, y_max, Chart, Series,
};

/// What a capacity chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The first SLO term (ms, log scale) against offered publishes/s.
    Latency,
    /// Acknowledged publishes/s against offered.
    Throughput,
    /// Host-queue growth (entries/s) against offered.
    Backlog,
}

#[derive(Debug, Clone)]
pub(crate) struct CapacityChart {
    pub kind: Kind,
    pub title: String,
    pub y_desc: String,
    /// Per topology: (offered, value), sorted by offered.
    pub series: Vec<Series>,
    /// Latency: the SLO limit (ms).
    pub limit: Option<f64>,
    /// Latency: each topology's MST (same order as `series`).
    pub msts: Vec<Option<f64>>,
}

impl Chart for CapacityChart {
    fn name(&self) -> String {
        match self.kind {
            Kind::Latency => "capacity-latency",
            Kind::Throughput => "capacity-throughput",
            Kind::Backlog => "capacity-backlog",
        }
        .into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (x_lo, x_hi) = x_range(&self.series);
        let x = (x_lo * 0.9).max(0.0)..x_hi * 1.05;
        let x_desc = "offered load (publishes/s)";
        match self.kind {
            Kind::Latency => self.draw_latency(area, x, x_desc),
            Kind::Throughput | Kind::Backlog => {
                let y_lo = self.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).fold(0.0, f64::min);
                let y_hi = y_max(&self.series, 1.0) * 1.1;
                let mut chart = linear_axes(area, &self.title, x.clone(), y_lo..y_hi, (x_desc, &self.y_desc))?;
                if self.kind == Kind::Throughput {
                    let diag = [(x.start, x.start), (x.end, x.end)];
                    chart
                        .draw_series(DashedLineSeries::new(diag, 6, 4, BLACK.stroke_width(1)))
                        .map_err(|e| e.to_string())?
                        .label("achieved = offered")
                        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
                }
                draw_lines(&mut chart, &self.series)?;
                for (i, (_, pts)) in self.series.iter().enumerate() {
                    chart
                        .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color(i).filled())))
                        .map_err(|e| e.to_string())?;
                }
                draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
            }
        }
    }
}

impl CapacityChart {
    fn draw_latency<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x: std::ops::Range<f64>,
        x_desc: &str,
    ) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let ys = self.series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).chain(self.limit);
        let (lo, hi) = ys.filter(|y| *y > 0.0).fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let (lo, hi) = if lo > hi { (0.1, 10.0) } else { (lo / 1.5, hi * 1.5) };
        let mut chart =
            frame(area, &self.title).build_cartesian_2d(x.clone(), (lo..hi).log_scale()).map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .label_style(label_font())
            .axis_desc_style(axis_font())
            .x_desc(x_desc)
            .y_desc(self.y_desc.as_str())
            .draw()
            .map_err(|e| e.to_string())?;
        if let Some(limit) = self.limit {
            chart
                .draw_series(DashedLineSeries::new([(x.start, limit), (x.end, limit)], 8, 5, RED.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(format!("SLO {limit} ms"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        for (i, ((label, pts), mst)) in self.series.iter().zip(&self.msts).enumerate() {
            let c = color(i);
            let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.1 > 0.0).collect();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(|e| e.to_string())?;
            if let Some(m) = mst {
                chart
                    .draw_series(DashedLineSeries::new([(*m, lo), (*m, hi)], 4, 4, c.stroke_width(1)))
                    .map_err(|e| e.to_string())?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
