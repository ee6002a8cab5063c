//! RTO breakdown per trial, stacked: detect, fence, promote/recover, reconnect (to the first
//! acknowledged write).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{caption_font, color, Chart};

pub const STEPS: [&str; 4] = ["detect", "fence", "promote/recover", "reconnect"];

#[derive(Debug, Clone)]
pub struct RtoChart {
    pub title: String,
    /// (trial label, ms of each step in [`STEPS`] order).
    pub trials: Vec<(String, [f64; 4])>,
}

impl Chart for RtoChart {
    fn name(&self) -> String {
        "rto-breakdown".into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let n = self.trials.len().max(1);
        let total = self.trials.iter().map(|(_, s)| s.iter().sum::<f64>()).fold(1.0, f64::max) * 1.15;
        let labels: Vec<String> = self.trials.iter().map(|(l, _)| l.clone()).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..total)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .y_desc("ms from the fault")
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, step) in STEPS.iter().enumerate() {
            let c = color(k);
            let bars = self.trials.iter().enumerate().map(|(i, (_, s))| {
                let y0: f64 = s[..k].iter().sum();
                let x = i as f64;
                Rectangle::new([(x - 0.3, y0), (x + 0.3, y0 + s[k])], c.filled())
            });
            chart
                .draw_series(bars)
                .map_err(|e| e.to_string())?
                .label(*step)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
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
