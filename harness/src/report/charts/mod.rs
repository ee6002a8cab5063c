//! Charts, one per file: each draws itself on any plotters backend; [`render`] writes it as SVG
//! and PNG under `charts/` and returns the SVG text for inlining.

pub mod distance;
pub mod lag;
pub mod offload;
pub mod rto;
pub mod spectrum;
pub mod timeline;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::fonts;

pub const SIZE: (u32, u32) = (960, 520);

/// A line of a chart: its label and points.
pub type Series = (String, Vec<(f64, f64)>);

/// A chart that can draw itself.
pub trait Chart {
    /// File name stem under `charts/`.
    fn name(&self) -> String;
    fn title(&self) -> String;
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

/// A rendered chart.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: String,
    pub title: String,
    pub svg: String,
}

/// Draws `chart` to `<dir>/<name>.svg` and `.png`; returns the SVG.
pub fn render<C: Chart>(chart: &C, dir: &Path) -> Result<Rendered, String> {
    fonts::ensure()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = chart.name();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        chart.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join(format!("{name}.svg")), &svg).map_err(|e| e.to_string())?;
    let png = dir.join(format!("{name}.png"));
    {
        let area = BitMapBackend::new(&png, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        chart.draw(&area)?;
        area.present().map_err(|e| e.to_string())?;
    }
    Ok(Rendered { name, title: chart.title(), svg })
}

/// The colour of the i-th series.
pub fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Text style of a caption.
pub fn caption_font() -> (&'static str, u32) {
    (fonts::FAMILY, 22)
}

/// Largest y over the series (at least `floor`).
pub fn y_max(series: &[Series], floor: f64) -> f64 {
    series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(floor, f64::max)
}

/// Smallest and largest x over the series.
pub fn x_range(series: &[Series]) -> (f64, f64) {
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}
