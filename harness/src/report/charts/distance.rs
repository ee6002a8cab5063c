//! Commit latency against the link's round trip, one line per setup, with the physical floor of
//! a synchronous commit (round trip plus the local and the standby's flush) drawn beside them.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{caption_font, color, x_range, y_max, Chart, Series};

#[derive(Debug, Clone)]
pub struct DistanceChart {
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
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, 0f64..y_hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("link round trip (ms)")
            .y_desc("commit p50 (ms)")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (label, pts)) in self.series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(|e| e.to_string())?;
        }
        if let Some(flush) = self.flush_ms {
            let floor = [(x_lo, x_lo + 2.0 * flush), (x_hi, x_hi + 2.0 * flush)];
            chart
                .draw_series(DashedLineSeries::new(floor, 6, 4, BLACK.stroke_width(1)))
                .map_err(|e| e.to_string())?
                .label("floor: round trip + local and standby flush")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
