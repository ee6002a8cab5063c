//! The summary's exposure section: the windows of unprotected commits (from the samples of the
//! primary's synchronous setting), what caused each (the event just before it), and the
//! acknowledged and lost publishes inside each (from the ledger and the checker); and an
//! asynchronous setup's exposure, from the standbys' write lag.

use std::collections::HashSet;

use crate::events::{Event, EventKind};
use crate::measure::exposure::{self, MessageAck, SyncSample};
use crate::measure::RunClock;
use crate::run_result::IntervalDigest;
use crate::summary::{AsyncAtFault, AsyncExposureSection, ExposureSection, ExposureWindow};

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

/// An asynchronous setup's exposure: every publish acknowledged without waiting for a standby, alone for
/// as long as the nearest standby's write lag. At each fault on the servers, the publishes
/// acknowledged within the lag last sampled before it were on no standby when it struck. None
/// when no standby streamed (one copy, or WAL shipped by archive).
pub(crate) fn asynchronous(
    digests: &[IntervalDigest],
    clock: &RunClock,
    events: &[Event],
    acks: &[MessageAck],
) -> Option<AsyncExposureSection> {
    let standbys = digests.iter().map(|d| d.standbys).max().filter(|&n| n > 0)?;
    let mut lags: Vec<f64> = digests.iter().filter_map(|d| d.write_lag_ms).collect();
    lags.sort_by(f64::total_cmp);
    let at_faults = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Injected { fault, .. } if !fault.kind.on_workers() => {
                let at_s = clock.elapsed_s(e.at);
                let lag = digests.iter().rev().find(|d| d.t_s <= at_s && d.write_lag_ms.is_some());
                let write_lag_ms = lag.and_then(|d| d.write_lag_ms);
                let at_us = clock.epoch_us(e.at);
                let from = at_us - (write_lag_ms.unwrap_or(0.0) * 1e3).ceil() as i64;
                let acked_in_lag =
                    write_lag_ms.map_or(0, |_| exposure::acks_between(acks, from, at_us + 1).len() as u64);
                Some(AsyncAtFault { fault: fault.kind.to_string(), at_s, write_lag_ms, acked_in_lag })
            }
            _ => None,
        })
        .collect();
    Some(AsyncExposureSection {
        standbys,
        samples: lags.len() as u32,
        median_write_lag_ms: lags.get(lags.len() / 2).copied(),
        max_write_lag_ms: lags.last().copied(),
        acked: acks.len() as u64,
        at_faults,
    })
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn digest(t_s: f64, standbys: u32, write_lag_ms: Option<f64>) -> IntervalDigest {
        IntervalDigest { t_s, measured: true, standbys, write_lag_ms, ..Default::default() }
    }

    #[test]
    fn an_asynchronous_run_counts_the_publishes_acknowledged_within_the_lag_before_the_fault() {
        let clock = RunClock::start_now();
        let fault_at = clock.start() + Duration::from_millis(2_500);
        let events = vec![Event {
            at: fault_at,
            kind: EventKind::Injected {
                fault: "crash-primary@2s".parse().unwrap(),
                target: "primary".into(),
                detail: String::new(),
            },
        }];
        let f_us = clock.epoch_us(fault_at);
        // One publish a millisecond up to the fault.
        let acks: Vec<MessageAck> =
            (0..2_000).map(|i| MessageAck { at_us: f_us - 2_000_000 + i * 1_000, msg_id: i, server_port: 1 }).collect();
        let digests = [digest(1.0, 1, Some(3.0)), digest(2.0, 1, Some(12.0)), digest(3.0, 0, None)];
        let a = asynchronous(&digests, &clock, &events, &acks).expect("a standby streamed");
        assert_eq!((a.standbys, a.samples, a.max_write_lag_ms), (1, 2, Some(12.0)));
        assert_eq!(a.acked, 2_000);
        let f = &a.at_faults[0];
        assert_eq!(f.write_lag_ms, Some(12.0), "the last sample before the fault");
        assert_eq!(f.acked_in_lag, 12, "a publish a millisecond for the 12 ms before it");
        assert!(asynchronous(&[digest(1.0, 0, None)], &clock, &events, &acks).is_none(), "no standby: one copy");
    }
}
