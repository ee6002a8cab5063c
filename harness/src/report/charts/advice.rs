//! advise.html's charts: bars per design, one bar per measure side by side (RTO per outage,
//! MST against the required rate, commit p99).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_bars, Chart};

#[derive(Debug, Clone)]
pub(crate) struct DesignBars {
    /// File name stem under `charts/`.
    pub name: String,
    pub title: String,
    pub y_desc: String,
    pub measures: Vec<String>,
    /// (design, one value per measure).
    pub designs: Vec<(String, Vec<f64>)>,
}

impl Chart for DesignBars {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let measures: Vec<&str> = self.measures.iter().map(String::as_str).collect();
        draw_bars(area, &self.title, &self.y_desc, &self.designs, &measures, false)
    }
}
