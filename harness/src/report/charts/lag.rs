//! Replication lag per standby over time (replay lag in ms, from `pg_stat_replication`).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_legend, draw_lines, linear_axes, x_range, y_max, Chart, Series};

#[derive(Debug, Clone)]
pub(crate) struct LagChart {
    pub title: String,
    /// One series per standby: (t_s, replay lag ms).
    pub series: Vec<Series>,
}

impl Chart for LagChart {
    fn name(&self) -> String {
        "replication-lag".into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (x_lo, x_hi) = x_range(&self.series);
        let y_hi = y_max(&self.series, 0.1) * 1.15;
        let axes = ("seconds since start", "replay lag (ms)");
        let mut chart = linear_axes(area, &self.title, x_lo..x_hi, 0f64..y_hi, axes)?;
        draw_lines(&mut chart, &self.series)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
