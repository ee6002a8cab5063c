//! RTO breakdown per trial, stacked: detect, fence, promote/recover, reconnect (to the first
//! acknowledged write).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_bars, Chart};

pub(crate) const STEPS: [&str; 4] = ["detect", "fence", "promote/recover", "reconnect"];

#[derive(Debug, Clone)]
pub(crate) struct RtoChart {
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
        let cats: Vec<(String, Vec<f64>)> = self.trials.iter().map(|(l, s)| (l.clone(), s.to_vec())).collect();
        draw_bars(area, &self.title, "ms from the fault", &cats, &STEPS, true)
    }
}
