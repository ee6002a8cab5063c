//! The report's content, one file per section: headline, key figures and floor, check and
//! failover, reports, charts, configuration; and the repeated run's own report.

mod charts;
mod configuration;
mod figures;
pub(crate) mod headline;
mod outcome;
mod parallel;
mod reach;
mod receive;
mod repeated;
mod reports;
mod sso;
mod values;

use crate::report::charts::lag::LagChart;
use crate::report::doc::Block;
use crate::report::AnyChart;
use crate::run_data::RunData;
use crate::summary::Summary;

pub(crate) use repeated::repeated_run;

type Draw<'a> = dyn FnMut(AnyChart) -> Option<Block> + 'a;

/// The report of one run: the answer first, then the figures behind it, then how it was set up.
pub(crate) fn single_run(d: &RunData, s: &Summary, draw: &mut Draw<'_>) -> Vec<Block> {
    let mut out =
        vec![Block::Heading(1, format!("habench report: {}", d.title())), Block::Headline(headline::facts(d, s))];
    out.extend(figures::key_figures(d, s));
    out.extend(outcome::check(s));
    out.extend(outcome::failover(s, draw));
    out.extend(outcome::exposure(s));
    out.extend(outcome::split_brain(s));
    out.extend(reach::reach(s));
    out.extend(outcome::lost_writes(s, draw));
    out.extend(parallel::parallel(s));
    out.extend(receive::receive(s));
    out.extend(sso::sso(s));
    out.extend(figures::physical_floor(d, s));
    out.extend(reports::reports(s));
    out.push(Block::Heading(2, "Charts".into()));
    if let Some(c) = charts::spectrum_chart(d) {
        out.extend(draw(AnyChart::Spectrum(c)));
    }
    if d.timeline.col("t_s").is_some() {
        out.extend(draw(AnyChart::Timeline(charts::timeline_chart(d, s))));
        let lag: Vec<_> = d
            .timeline
            .standbys()
            .into_iter()
            .map(|s| (s.clone(), d.timeline.points(&format!("lag_{s}_replay_ms"), &[])))
            .collect();
        if lag.iter().any(|(_, p)| !p.is_empty()) {
            out.extend(draw(AnyChart::Lag(LagChart {
                title: "Replication replay lag per standby".into(),
                series: lag,
            })));
        }
    }
    out.extend(configuration::configuration(d, s));
    out
}
