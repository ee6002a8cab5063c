//! The offload comparison: per variant (no reports, on the primary, on the standbys), publish
//! and complete p99 and the primary's CPU, as grouped bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_bars, Chart};

pub(crate) const MEASURES: [&str; 3] = ["publish p99 (ms)", "complete p99 (ms)", "primary CPU (s)"];

#[derive(Debug, Clone)]
pub(crate) struct OffloadChart {
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
        let cats: Vec<(String, Vec<f64>)> = self.variants.iter().map(|(l, v)| (l.clone(), v.to_vec())).collect();
        draw_bars(area, &self.title, "", &cats, &MEASURES, false)
    }
}
