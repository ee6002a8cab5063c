//! Replication lag per standby over time (replay lag in ms, from `pg_stat_replication`).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_legend, draw_lines, frame, x_range, y_max, Chart, Series};

#[derive(Debug, Clone)]
pub struct LagChart {
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
        let mut chart =
            frame(area, &self.title).build_cartesian_2d(x_lo..x_hi, 0f64..y_hi).map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("replay lag (ms)")
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &self.series)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
