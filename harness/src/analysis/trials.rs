//! The trials: one timeline per injected fault, from the event log, the acknowledgement times of publishes
//! and the per-interval digests. Times are ms from the injection.

use crate::events::{Event, EventKind};
use crate::run_result::IntervalDigest;
use crate::summary::{FailedFault, FailoverSection, Spread, TimedEvent, Trial};

use crate::measure::RunClock;

/// The failover section of these trials: the trials and the spread of each phase over them.
pub(crate) fn failover_section(trials: Vec<Trial>) -> FailoverSection {
    let agg = |f: &dyn Fn(&Trial) -> Option<f64>| spread(trials.iter().filter_map(f));
    FailoverSection {
        rto_ms: agg(&|t| t.rto_ms),
        detected_ms: agg(&|t| t.detected_ms),
        promoted_ms: agg(&|t| t.promoted_ms),
        endpoint_ready_ms: agg(&|t| t.endpoint_ready_ms),
        p99_recovered_ms: agg(&|t| t.p99_recovered_ms),
        backlog_recovered_ms: agg(&|t| t.backlog_recovered_ms),
        trials,
        failed_faults: Vec::new(),
    }
}

/// Sets each trial's predicted RTO band (from `model`) and whether its RTO falls inside.
pub(crate) fn annotate_bands(trials: &mut [Trial], model: &crate::failover::band::RtoModel) {
    for t in trials {
        t.band = crate::failover::band::predict(model, &t.fault).map(|mut b| {
            b.inside = t.rto_ms.map(|r| r >= b.lo_ms && r <= b.hi_ms);
            b
        });
    }
}

/// Builds the trials. `acks_us` are the wall-clock µs of every acknowledged publish, sorted;
/// `schedule_end_us`: when the publish schedule ended (the measured phase's planned end).
///
/// Over 80 lines: one trial's phases in the order they happen (detected, fenced, promoted,
/// endpoint ready, outage, p99 and backlog recovered), each from the events or the digests.
pub(crate) fn build(
    events: &[Event],
    clock: &RunClock,
    acks_us: &[i64],
    digests: &[IntervalDigest],
    p99_factor: f64,
    schedule_end_us: i64,
) -> Vec<Trial> {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.at);
    let starts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, EventKind::Injected { .. }))
        .map(|(i, _)| i)
        .collect();
    // A fault on habench's own workers (a host instance's death, the secret server) does not
    // end the window of a server fault before it: the orchestrator's actions stay with the
    // fault that caused them, and the worker fault's window holds only its own events.
    let on_workers = |i: usize| matches!(&events[i].kind, EventKind::Injected { fault, .. } if fault.kind.on_workers());
    let mut trials = Vec::new();
    for (k, &i) in starts.iter().enumerate() {
        let next = if on_workers(i) { starts.get(k + 1) } else { starts[k + 1..].iter().find(|&&j| !on_workers(j)) };
        let end = next.copied().unwrap_or(events.len());
        let window: Vec<&Event> =
            events[i..end].iter().copied().filter(|e| !on_workers(i) || !is_orchestrator_action(&e.kind)).collect();
        let t0 = events[i].at;
        let EventKind::Injected { fault, target, .. } = &events[i].kind else { continue };
        let ms = |e: &Event| e.at.saturating_duration_since(t0).as_secs_f64() * 1e3;
        let first = |pred: &dyn Fn(&EventKind) -> bool| window.iter().find(|e| pred(&e.kind)).map(|e| ms(e));
        let fault_us = clock.epoch_us(t0);
        let until_us = next.map(|&j| clock.epoch_us(events[j].at)).unwrap_or(i64::MAX);
        let gap = outage(acks_us, fault_us, until_us, schedule_end_us);
        let injected_at_s = clock.elapsed_s(t0);
        let outage_end_s = gap.map(|(_, e)| injected_at_s + e / 1e3).unwrap_or(injected_at_s);
        let pre: Vec<&IntervalDigest> = digests.iter().filter(|d| d.measured && d.t_s <= injected_at_s).collect();
        let pre_p99 = median(pre.iter().filter_map(|d| d.publish_p99_us).collect());
        let pre_queue = mean(pre.iter().filter_map(|d| d.queue_total).collect());
        let after = digests.iter().filter(|d| d.t_s > outage_end_s && d.t_s > injected_at_s);
        let p99_recovered_ms = pre_p99.and_then(|p| {
            after
                .clone()
                .find(|d| d.publish_p99_us.is_some_and(|x| x as f64 <= p as f64 * p99_factor))
                .map(|d| (d.t_s - injected_at_s) * 1e3)
        });
        let backlog_recovered_ms = pre_queue.and_then(|q| {
            after
                .clone()
                .find(|d| d.queue_total.is_some_and(|x| x as f64 <= q * 1.5 + 10.0))
                .map(|d| (d.t_s - injected_at_s) * 1e3)
        });
        let recovered_at_s = p99_recovered_ms.map(|m| injected_at_s + m / 1e3).unwrap_or(f64::INFINITY);
        let p99_during_recovery_us = digests
            .iter()
            .filter(|d| d.t_s > injected_at_s && d.t_s <= recovered_at_s)
            .filter_map(|d| d.publish_p99_us)
            .max();
        let recovery_ms = window.iter().find_map(|e| match &e.kind {
            EventKind::Restarted { recovery_ms, .. } => *recovery_ms,
            _ => None,
        });
        let redo_bytes = window.iter().find_map(|e| match &e.kind {
            EventKind::Restarted { redo_bytes, .. } => *redo_bytes,
            _ => None,
        });
        let promoted_node = window.iter().find_map(|e| match &e.kind {
            EventKind::Promoted { node, .. } | EventKind::Restarted { node, .. } => Some(node.clone()),
            _ => None,
        });
        trials.push(Trial {
            fault: fault.clone(),
            target: target.clone(),
            injected_at_s,
            detected_ms: first(&|k| matches!(k, EventKind::Detected { .. })),
            fenced_ms: first(&|k| matches!(k, EventKind::Fenced { .. })),
            promoted_ms: first(&|k| matches!(k, EventKind::Promoted { .. } | EventKind::Restarted { .. })),
            endpoint_ready_ms: first(&|k| matches!(k, EventKind::EndpointReady)),
            rto_ms: gap.map(|(s, e)| e - s),
            last_ack_before_ms: gap.map(|(s, _)| s),
            first_ack_after_ms: gap.map(|(_, e)| e),
            p99_recovered_ms,
            pre_fault_p99_us: pre_p99,
            p99_during_recovery_us,
            backlog_recovered_ms,
            recovery_ms,
            redo_bytes,
            promoted_node,
            band: None,
            events: window.iter().map(|e| TimedEvent { at_ms: ms(e), event: e.kind.clone() }).collect(),
        });
    }
    trials
}

/// Every fault (or step of one) that failed: an injection refused, a command that failed or
/// timed out; on the run's clock.
pub(crate) fn failed_faults(events: &[Event], clock: &RunClock) -> Vec<FailedFault> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Failed { what, error } => {
                Some(FailedFault { at_s: clock.elapsed_s(e.at), what: what.clone(), error: error.clone() })
            }
            _ => None,
        })
        .collect()
}

/// What the orchestrator or a cluster manager does about a server fault.
fn is_orchestrator_action(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::Detected { .. }
            | EventKind::Fenced { .. }
            | EventKind::Promoted { .. }
            | EventKind::Restarted { .. }
            | EventKind::EndpointReady
    )
}

/// The longest gap between consecutive acknowledgements from just before the fault until the
/// next fault: (start, end) in ms relative to the fault. None when the acknowledgements did not
/// resume, or stopped for longer than that gap before `scheduled_end_us` (the end of the
/// publish schedule): the outage outlasted the run.
pub(crate) fn outage(acks_us: &[i64], fault_us: i64, until_us: i64, scheduled_end_us: i64) -> Option<(f64, f64)> {
    let from = acks_us.partition_point(|&a| a < fault_us);
    let to = acks_us.partition_point(|&a| a < until_us);
    if from >= to {
        return None;
    }
    let trailing = scheduled_end_us.min(until_us).saturating_sub(acks_us[to - 1]);
    // Start from the last acknowledgement before the fault (or the fault itself).
    let mut prev = if from > 0 { acks_us[from - 1] } else { fault_us };
    let mut best = (prev, acks_us[from]);
    for &a in &acks_us[from..to] {
        if a - prev > best.1 - best.0 {
            best = (prev, a);
        }
        prev = a;
    }
    if trailing > best.1 - best.0 {
        return None; // silence to the end of the window: not recovered within it
    }
    let rel = |x: i64| (x - fault_us) as f64 / 1e3;
    Some((rel(best.0), rel(best.1)))
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

fn mean(v: Vec<i64>) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<i64>() as f64 / v.len() as f64)
}

pub(crate) fn spread(values: impl Iterator<Item = f64>) -> Option<Spread> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(Spread { p50: v[v.len() / 2], max: v[v.len() - 1], n: v.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_is_the_longest_gap_around_the_fault() {
        // acks every 10 ms, a hole from 1000 to 3500 ms, the fault at 1005 ms
        let mut acks: Vec<i64> = (0..=100).map(|i| i * 10_000).collect();
        acks.extend((350..=400).map(|i| i * 10_000));
        let (s, e) = outage(&acks, 1_005_000, i64::MAX, 4_000_000).unwrap();
        assert_eq!((s, e), (-5.0, 2495.0));
        assert!(outage(&acks, 5_000_000, i64::MAX, 6_000_000).is_none(), "nothing acknowledged after");
        // Acknowledgements stop for good shortly after the fault: the outage did not end.
        assert!(outage(&acks[..105], 1_005_000, i64::MAX, 9_000_000).is_none());
    }

    #[test]
    fn in_flight_acks_just_after_the_fault_do_not_hide_the_outage() {
        let acks = vec![0, 10_000, 20_000, 21_000, 22_000, 900_000, 910_000];
        let (s, e) = outage(&acks, 20_500, i64::MAX, 910_000).unwrap();
        assert_eq!((s, e), (1.5, 879.5));
    }

    #[test]
    fn a_worker_fault_during_a_failover_leaves_the_orchestrator_s_actions_with_the_server_fault() {
        use std::time::{Duration, Instant};
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let injected = |kind: &str| EventKind::Injected {
            fault: format!("{kind}@10s").parse().unwrap(),
            target: "x".into(),
            detail: String::new(),
        };
        let events = vec![
            Event { at: at(0), kind: injected("kill-primary") },
            Event { at: at(1_000), kind: injected("kill-host-instance") },
            Event { at: at(8_000), kind: EventKind::Detected { node: "primary".into(), missed_probes: 10 } },
            Event {
                at: at(8_200),
                kind: EventKind::Promoted { node: "s1".into(), promote_ms: 200.0, detail: String::new() },
            },
            Event { at: at(9_000), kind: EventKind::HostInstanceKilled { host: "send-1".into() } },
        ];
        let trials = build(&events, &RunClock::start_now(), &[], &[], 3.0, 0);
        assert_eq!(trials.len(), 2);
        assert_eq!((trials[0].detected_ms, trials[0].promoted_ms), (Some(8_000.0), Some(8_200.0)));
        assert_eq!((trials[1].detected_ms, trials[1].promoted_ms), (None, None));
        assert_eq!(trials[1].events.len(), 2, "its injection and the death: {:?}", trials[1].events);
    }

    #[test]
    fn spreads_are_p50_and_max() {
        let s = spread([3.0, 1.0, 2.0].into_iter()).unwrap();
        assert_eq!((s.p50, s.max, s.n), (2.0, 3.0, 3));
        assert!(spread(std::iter::empty()).is_none());
    }
}
