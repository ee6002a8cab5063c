//! The offload comparison: per variant (no reports, on the primary, on the standbys), publish
//! and complete p99 and the primary's CPU, as grouped bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{caption_font, color, Chart};

pub const MEASURES: [&str; 3] = ["publish p99 (ms)", "complete p99 (ms)", "primary CPU (s)"];

#[derive(Debug, Clone)]
pub struct OffloadChart {
    pub title: String,
    /// (variant, values in [`MEASURES`] order).
    pub variants: Vec<(String, [f64; 3])>,
}

impl Chart for OffloadChart {
    fn name(&self) -> String {
        "offload".into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let n = self.variants.len().max(1);
        let top = self.variants.iter().flat_map(|(_, v)| v.iter().copied()).fold(1.0, f64::max) * 1.15;
        let labels: Vec<String> = self.variants.iter().map(|(l, _)| l.clone()).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, caption_font())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| labels.get(x.round() as usize).cloned().unwrap_or_default())
            .draw()
            .map_err(|e| e.to_string())?;
        let width = 0.8 / MEASURES.len() as f64;
        for (k, m) in MEASURES.iter().enumerate() {
            let c = color(k);
            let bars = self.variants.iter().enumerate().map(|(i, (_, v))| {
                let x0 = i as f64 - 0.4 + width * k as f64;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.9, v[k])], c.filled())
            });
            chart
                .draw_series(bars)
                .map_err(|e| e.to_string())?
                .label(*m)
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
