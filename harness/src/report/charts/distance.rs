//! Commit latency against the link's round trip, one line per setup, with the physical floor of
//! a synchronous commit (round trip plus the local and the standby's flush) drawn beside them.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{color, draw_legend, draw_lines, linear_axes, x_range, y_max, Chart, Series};

#[derive(Debug, Clone)]
pub(crate) struct DistanceChart {
    pub title: String,
    /// Per setup: (round trip ms, commit p50 ms), sorted by round trip.
    pub series: Vec<Series>,
    /// Local WAL flush, ms (the floor's constant part).
    pub flush_ms: Option<f64>,
}

impl Chart for DistanceChart {
    fn name(&self) -> String {
        "distance".into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (x_lo, x_hi) = x_range(&self.series);
        let x_lo = x_lo.min(0.0);
        let y_hi = y_max(&self.series, x_hi + 1.0) * 1.1;
        let axes = ("link round trip (ms)", "commit p50 (ms)");
        let mut chart = linear_axes(area, &self.title, x_lo..x_hi, 0f64..y_hi, axes)?;
        draw_lines(&mut chart, &self.series)?;
        for (i, (_, pts)) in self.series.iter().enumerate() {
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color(i).filled()))).map_err(|e| e.to_string())?;
        }
        if let Some(flush) = self.flush_ms {
            let floor = [(x_lo, x_lo + 2.0 * flush), (x_hi, x_hi + 2.0 * flush)];
            chart
                .draw_series(DashedLineSeries::new(floor, 6, 4, BLACK.stroke_width(1)))
                .map_err(|e| e.to_string())?
                .label("floor: round trip + local and standby flush")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
