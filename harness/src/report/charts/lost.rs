//! Lost writes against the timeline switch: each lost acknowledged publish at its
//! acknowledgement time, in ms before (negative) or after the promotion that lost it, counted up;
//! exposure windows shaded orange, the switch a vertical line. All loss close left of the line
//! is a failover's last moments; loss inside a shaded band was acknowledged while exposed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::charts::{color, fonts_label, linear_axes, Chart};

#[derive(Debug, Clone)]
pub(crate) struct LostChart {
    pub title: String,
    /// (ms relative to the switch, lost so far).
    pub points: Vec<(f64, f64)>,
    /// Exposure windows, ms relative to the switch.
    pub windows: Vec<(f64, f64)>,
    /// The vertical line's label (`timeline 2 from 0/5A0000D8`).
    pub switch_label: String,
    /// The faults injected, ms relative to the switch (dashed lines, labelled).
    pub faults: Vec<(f64, String)>,
}

impl Chart for LostChart {
    fn name(&self) -> String {
        "lost-writes".into()
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let xs = self.points.iter().map(|p| p.0).chain([0.0]).chain(self.faults.iter().map(|f| f.0));
        let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(x), h.max(x)));
        let pad = ((hi - lo) * 0.08).max(10.0);
        let (x_lo, x_hi) = (lo - pad, hi + pad);
        let y_hi = (self.points.len() as f64 * 1.15).max(1.0);
        let axes = ("ms from the timeline switch (promotion)", "lost acknowledged publishes (cumulative)");
        let mut chart = linear_axes(area, &self.title, x_lo..x_hi, 0f64..y_hi, axes)?;
        for &(from, to) in &self.windows {
            let (from, to) = (from.max(x_lo), to.min(x_hi));
            if from < to {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(from, 0.0), (to, y_hi)],
                        RGBColor(255, 140, 0).mix(0.18).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
        // Labels left of their line (the switch is at the right end of the loss), right of it
        // near the plot's left edge.
        let anchored = |h| TextStyle::from(fonts_label().into_font()).pos(Pos::new(h, VPos::Top));
        let marks = std::iter::once((0.0, self.switch_label.clone(), 0.96))
            .chain(self.faults.iter().enumerate().map(|(i, (x, l))| (*x, l.clone(), 0.88 - 0.08 * (i % 3) as f64)));
        for (x, label, at) in marks {
            if x < x_lo || x > x_hi {
                continue;
            }
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, y_hi)], BLACK.mix(0.6))))
                .map_err(|e| e.to_string())?;
            let near_left = x - x_lo < (x_hi - x_lo) * 0.25;
            let (text, style) = if near_left {
                (format!(" {label}"), anchored(HPos::Left))
            } else {
                (format!("{label} "), anchored(HPos::Right))
            };
            chart.draw_series(std::iter::once(Text::new(text, (x, y_hi * at), style))).map_err(|e| e.to_string())?;
        }
        let c = color(3);
        chart
            .draw_series(self.points.iter().map(|&(x, y)| Circle::new((x, y), 3, c.filled())))
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
