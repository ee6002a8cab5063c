//! Replication lag per standby over time (replay lag in ms, from `pg_stat_replication`).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{caption_font, color, x_range, y_max, Chart, Series};

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
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, 0f64..y_hi)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("replay lag (ms)")
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (label, pts)) in self.series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
