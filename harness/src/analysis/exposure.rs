//! The summary's exposure section: the windows of unprotected commits (from the samples of the
//! primary's synchronous setting), what caused each (the event just before it), and the
//! acknowledged and lost publishes inside each (from the ledger and the checker).

use std::collections::HashSet;

use crate::events::{Event, EventKind};
use crate::measure::exposure::{self, MessageAck, SyncSample};
use crate::measure::RunClock;
use crate::summary::{ExposureSection, ExposureWindow};

/// None when the run never saw a synchronous setting (no samples, or an asynchronous setup).
pub(crate) fn section(
    samples: &[SyncSample],
    clock: &RunClock,
    events: &[Event],
    acks: &[MessageAck],
    lost_ids: &[i64],
    run_end_us: i64,
) -> Option<ExposureSection> {
    let configured = samples.iter().find_map(|s| s.names.clone())?;
    let required = exposure::required_standbys(&configured);
    if required == 0 {
        return None;
    }
    let start_us = clock.epoch_us(clock.start());
    let t_s = |us: i64| (us - start_us) as f64 / 1e6;
    let lost: HashSet<i64> = lost_ids.iter().copied().collect();
    let mut out =
        ExposureSection { configured: configured.clone(), required, lost: lost.len() as u64, ..Default::default() };
    for w in exposure::windows(samples, &configured) {
        let end = w.end_us.unwrap_or(run_end_us);
        let inside = exposure::acks_between(acks, w.start_us, end);
        let lost_here = inside.iter().filter(|a| lost.contains(&a.msg_id)).count() as u64;
        let acked = inside.len() as u64;
        out.exposed_s += (end - w.start_us) as f64 / 1e6;
        out.acked_exposed += acked;
        out.lost_in_windows += lost_here;
        out.windows.push(ExposureWindow {
            start_s: t_s(w.start_us),
            end_s: w.end_us.map(t_s),
            start_us: w.start_us,
            seen_us: w.seen_us,
            end_us: end,
            cause: cause(events, clock, w.seen_us, &w.names),
            names: w.names,
            acked,
            lost: lost_here,
        });
    }
    Some(out)
}

/// What opened a window: the last event of the cluster manager before it was seen (a sample is
/// at most 50 ms late), else the setting it changed to.
fn cause(events: &[Event], clock: &RunClock, start_us: i64, names: &str) -> String {
    let before = events.iter().filter(|e| clock.epoch_us(e.at) <= start_us + 100_000);
    let mut said = before.filter_map(|e| match &e.kind {
        EventKind::StandbyDropped { node } => Some(format!("{node} dropped from the synchronous standbys")),
        EventKind::Engine { node, what } => Some(format!("{node}: {what}")),
        EventKind::Promoted { node, .. } if names.trim().is_empty() => {
            Some(format!("{node} promoted with no standby left to confirm"))
        }
        EventKind::Promoted { node, .. } => Some(format!("{node} promoted; '{names}' requires fewer standbys")),
        _ => None,
    });
    said.next_back().unwrap_or_else(|| format!("synchronous_standby_names became '{names}'"))
}
