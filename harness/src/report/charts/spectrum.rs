//! Latency percentile spectrum: latency against percentile, the x axis log of 1/(1-p) as
//! HdrHistogram plots it, so the tail (99%, 99.9%, 99.99%) gets as much room as the median.

use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::charts::{draw_legend, draw_lines, frame, Chart, Series};

#[derive(Debug, Clone)]
pub(crate) struct SpectrumChart {
    pub name: String,
    pub title: String,
    /// (label, points (x = log10(1/(1-p)), latency ms)).
    pub series: Vec<Series>,
}

/// The spectrum of a histogram of µs as (x, ms) points.
pub(crate) fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for v in h.iter_quantiles(4) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        out.push(((1.0 / (1.0 - q)).log10(), v.value_iterated_to() as f64 / 1000.0));
    }
    if let Some((x, _)) = out.last().copied() {
        out.push((x + 0.3, h.max() as f64 / 1000.0));
    }
    out
}

fn percentile_label(x: f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    if x < 0.5 {
        format!("{p:.0}%")
    } else {
        let digits = (x.round() as usize).saturating_sub(2);
        format!("{p:.digits$}%")
    }
}

impl Chart for SpectrumChart {
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
        let x_max = self.series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).fold(2.0, f64::max).ceil();
        let ys = self.series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
        let (y_lo, y_hi) = ys.fold((f64::MAX, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let y_lo = if y_lo == f64::MAX { 0.01 } else { (y_lo * 0.8).max(0.001) };
        let y_hi = (y_hi * 1.3).max(y_lo * 10.0);
        let mut chart = frame(area, &self.title)
            .build_cartesian_2d(0f64..x_max, (y_lo..y_hi).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .label_style(crate::report::charts::label_font())
            .axis_desc_style(crate::report::charts::axis_font())
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .x_labels(x_max as usize + 1)
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines(&mut chart, &self.series)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_labelled_as_people_read_them() {
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(4.0), "99.99%");
    }

    #[test]
    fn the_spectrum_rises_to_the_maximum() {
        let mut h = crate::measure::stats::new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let p = points(&h);
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "monotonic");
        assert!((p.last().unwrap().1 - 10.0).abs() < 0.1, "ends at the max, 10 ms");
    }
}
