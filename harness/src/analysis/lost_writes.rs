//! The summary's lost-writes section: every lost acknowledged publish placed on the run's time
//! axis and against the timeline switch that lost it (the promotion after it, and the fork
//! point from the new primary's history file).

use std::collections::HashSet;

use crate::events::{Event, EventKind};
use crate::measure::exposure::MessageAck;
use crate::measure::RunClock;
use crate::summary::{ExposureSection, LostWritesSection};

/// Most acknowledgement times kept in the summary.
const MAX_POINTS: usize = 10_000;

/// The new primary's timeline and its fork point, as read from its history file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimelineSwitch {
    pub timeline: u32,
    pub lsn: String,
}

/// None when nothing acknowledged was lost.
pub(crate) fn section(
    events: &[Event],
    clock: &RunClock,
    acks: &[MessageAck],
    lost_ids: &[i64],
    exposure: Option<&ExposureSection>,
    switch: Option<TimelineSwitch>,
) -> Option<LostWritesSection> {
    let lost: HashSet<i64> = lost_ids.iter().copied().collect();
    let times: Vec<i64> = acks.iter().filter(|a| lost.contains(&a.msg_id)).map(|a| a.at_us).collect();
    if times.is_empty() {
        return None;
    }
    let start_us = clock.epoch_us(clock.start());
    let t_s = |us: i64| (us - start_us) as f64 / 1e6;
    let (first, last) = (times[0], times[times.len() - 1]);
    // The promotion that lost them: the first at or after the last lost acknowledgement.
    let promotions = events.iter().filter_map(|e| match &e.kind {
        EventKind::Promoted { node, .. } => Some((clock.epoch_us(e.at), node.clone())),
        _ => None,
    });
    let switch_at = promotions.filter(|(at, _)| *at >= last).min_by_key(|(at, _)| *at);
    let windows = exposure.map(|e| e.windows.as_slice()).unwrap_or_default();
    let in_windows = times.iter().filter(|&&t| windows.iter().any(|w| t >= w.start_us && t < w.end_us)).count();
    Some(LostWritesSection {
        lost: times.len() as u64,
        switch_node: switch_at.as_ref().map(|s| s.1.clone()),
        switch_s: switch_at.as_ref().map(|s| t_s(s.0)),
        timeline: switch.as_ref().map(|s| s.timeline),
        switch_lsn: switch.map(|s| s.lsn),
        earliest_s: Some(t_s(first)),
        latest_s: Some(t_s(last)),
        before_switch_ms: switch_at.map(|s| (s.0 - first) as f64 / 1e3),
        in_windows: in_windows as u64,
        at_s: times.iter().take(MAX_POINTS).map(|&t| (t_s(t) * 1e6).round() / 1e6).collect(),
    })
}

/// The last switch in a timeline history file (`parent<TAB>lsn<TAB>reason` per line) for
/// timeline `timeline`.
pub(crate) fn parse_history(timeline: u32, text: &str) -> Option<TimelineSwitch> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with('#'))?;
    let lsn = line.split_whitespace().nth(1)?;
    lsn.contains('/').then(|| TimelineSwitch { timeline, lsn: lsn.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_file_s_last_line_is_the_switch_point() {
        let text = "1\t0/3000148\tno recovery target specified\n\n2\t0/5A0000D8\tno recovery target specified\n";
        assert_eq!(parse_history(3, text), Some(TimelineSwitch { timeline: 3, lsn: "0/5A0000D8".into() }));
        assert_eq!(parse_history(2, ""), None);
        assert_eq!(parse_history(2, "garbage"), None);
    }
}
