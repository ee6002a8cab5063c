//! The summary's parallel-groups section, from the ledger (where every message went, when its
//! deliveries ended), the event log (faults, the balancer's decisions) and each group's own
//! count read from its database.

use std::collections::HashSet;

use habench_workloads::messagebox::MessageBoxConfig;
use habench_workloads::Outcome;

use crate::balancer::Balancer;
use crate::config::{RunConfig, Target};
use crate::events::{Event, EventKind};
use crate::measure::RunClock;
use crate::runner::group_ledger::{GroupLedger, GroupPublish};
use crate::summary::{DelayFigures, GroupFigures, Maneuver, ParallelSection};

/// Each group's own count read from its database (None: unreadable).
pub(crate) type Holds = Vec<(String, Option<i64>)>;

/// How long before a fault the "before" window is.
const BEFORE_US: i64 = 10_000_000;

/// Over 80 lines: each group's figures, then each maneuver's (stranded messages, their extra
/// delay, the balancer's decisions), in the order the section holds them.
pub(crate) fn section(
    cfg: &RunConfig,
    balancer: &Balancer,
    events: &[Event],
    clock: &RunClock,
    gl: &GroupLedger,
    holds: Holds,
    lost_ids: &[i64],
) -> ParallelSection {
    let lost: HashSet<i64> = lost_ids.iter().copied().collect();
    let names: Vec<String> = balancer.groups().iter().map(|g| g.name.clone()).collect();
    let per_group = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mine = || gl.publishes.iter().filter(move |p| usize::from(p.group) == i + 1);
            let count = |o: fn(Outcome) -> bool| mine().filter(|p| o(p.outcome)).count() as u64;
            GroupFigures {
                name: name.clone(),
                published_ok: count(|o| o.acknowledged()),
                published_failed: count(|o| o == Outcome::Fail),
                published_unknown: count(|o| o == Outcome::Unknown),
                in_database: holds.iter().find(|(n, _)| n == name).and_then(|(_, m)| *m),
                lost: mine().filter(|p| p.outcome.acknowledged() && lost.contains(&p.msg_id)).count() as u64,
            }
        })
        .collect();
    let publish_end_us = gl.publishes.iter().map(|p| p.at_us).max().unwrap_or(0);
    let measure_start_us = clock.epoch_us(clock.start() + cfg.warmup);
    let maneuvers = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Injected { fault, target, .. } if fault.kind.on_group() => Some((e, fault.kind, target)),
            _ => None,
        })
        .map(|(e, kind, target)| {
            let group = names.iter().position(|n| n == target).map_or(0, |i| i as u8 + 1);
            let at_us = clock.epoch_us(e.at);
            let after =
                |pred: &dyn Fn(&EventKind) -> bool| events.iter().filter(|r| r.at >= e.at).find(|r| pred(&r.kind));
            let back = after(&|k| matches!(k, EventKind::Resumed { node } if node == target));
            let out = if kind == crate::fault::FaultKind::DrainGroup {
                Some(e)
            } else {
                after(&|k| matches!(k, EventKind::BalancerOut { group, .. } if group == target))
            };
            let emptied = after(&|k| matches!(k, EventKind::GroupEmptied { group, .. } if group == target));
            let back_us = back.map(|b| clock.epoch_us(b.at));
            let out_us = out.map(|o| clock.epoch_us(o.at));
            let window_end = back_us.unwrap_or(publish_end_us).min(publish_end_us).max(at_us);
            // Up to 10 s before the fault, in the measured phase.
            let before = (at_us - BEFORE_US).max(measure_start_us);
            // The group goes down at the crash; a drained one when its queues were empty and its
            // servers stopped.
            let down_us = emptied.map_or(at_us, |m| clock.epoch_us(m.at));
            let stranded = stranded(gl, &cfg.workload.messagebox, group, down_us);
            let delays: Vec<f64> =
                stranded.iter().filter_map(|&(_, done)| done.map(|d| (d - down_us) as f64 / 1e3)).collect();
            Maneuver {
                kind: kind.to_string(),
                group: target.clone(),
                at_s: clock.elapsed_s(e.at),
                back_s: back.map(|b| clock.elapsed_s(b.at)),
                out_after_ms: out_us.map(|o| (o - at_us) as f64 / 1e3),
                failed_before_out: gl
                    .publishes
                    .iter()
                    .filter(|p| p.group == group && !p.outcome.acknowledged())
                    .filter(|p| p.at_us >= at_us && p.at_us <= out_us.unwrap_or(window_end))
                    .count() as u64,
                emptied_after_ms: emptied.map(|m| (clock.epoch_us(m.at) - at_us) as f64 / 1e3),
                left_at_stop: emptied.and_then(|m| match &m.kind {
                    EventKind::GroupEmptied { left, .. } => Some(*left),
                    _ => None,
                }),
                stranded: stranded.len() as u64,
                stranded_delivered: delays.len() as u64,
                extra_delay_ms: delay_figures(delays.clone()),
                stranded_never_delivered: (stranded.len() - delays.len()) as u64,
                throughput_before: acked_per_s(gl, before, at_us),
                throughput_during: acked_per_s(gl, at_us, window_end),
                publish_p99_before_ms: p99_ms(gl, before, at_us),
                publish_p99_during_ms: p99_ms(gl, at_us, window_end),
            }
        })
        .collect();
    let spec = match &cfg.target {
        Target::Topology(s) => s.parallel.as_ref(),
        _ => None,
    };
    ParallelSection {
        groups: names.len() as u8,
        group_topology: spec.map(|p| p.group.kind.to_string()).unwrap_or_default(),
        probe_interval_ms: balancer.probe_interval.as_secs_f64() * 1e3,
        probe_threshold: balancer.probe_threshold,
        per_group,
        maneuvers,
    }
}

/// The messages group `group` had acknowledged before `at_us` and not delivered to every host
/// queue it was routed to by then: each with when its last delivery ended (None: never).
fn stranded(gl: &GroupLedger, mb: &MessageBoxConfig, group: u8, at_us: i64) -> Vec<(i64, Option<i64>)> {
    let routed = |subject: &str| mb.message_types.iter().find(|t| t.name == subject).map_or(1, |t| t.subscribers.len());
    gl.publishes
        .iter()
        .filter(|p| p.group == group && p.outcome.acknowledged() && p.at_us < at_us)
        .filter_map(|p: &GroupPublish| {
            let n = routed(&p.subject);
            let done = gl.finished_us.get(&p.msg_id).map(Vec::as_slice).unwrap_or_default();
            if done.iter().filter(|&&t| t < at_us).count() >= n {
                return None;
            }
            let last = (done.len() >= n).then(|| done.iter().copied().max()).flatten();
            Some((p.msg_id, last))
        })
        .collect()
}

fn in_window(gl: &GroupLedger, from_us: i64, to_us: i64) -> impl Iterator<Item = &GroupPublish> {
    gl.publishes.iter().filter(move |p| p.outcome.acknowledged() && p.at_us >= from_us && p.at_us < to_us)
}

fn acked_per_s(gl: &GroupLedger, from_us: i64, to_us: i64) -> f64 {
    if to_us <= from_us {
        return 0.0;
    }
    in_window(gl, from_us, to_us).count() as f64 / ((to_us - from_us) as f64 / 1e6)
}

fn p99_ms(gl: &GroupLedger, from_us: i64, to_us: i64) -> Option<f64> {
    let mut v: Vec<f64> = in_window(gl, from_us, to_us).map(|p| p.latency_us as f64 / 1e3).collect();
    quantile(&mut v, 0.99)
}

fn delay_figures(mut v: Vec<f64>) -> Option<DelayFigures> {
    Some(DelayFigures { p50: quantile(&mut v, 0.5)?, p99: quantile(&mut v, 0.99)?, max: quantile(&mut v, 1.0)? })
}

/// The nearest-rank quantile `q` of `v` (None when empty).
fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::ledger::{Event as L, LedgerEntry};

    fn entry(event: L, at_us: i64, msg_id: i64, group: u8, outcome: Outcome) -> LedgerEntry {
        LedgerEntry {
            at_us,
            event,
            msg_id,
            subject: "order".into(),
            host: 0,
            instance: String::new(),
            outcome,
            held: true,
            latency_us: 1000,
            attempts: 1,
            server_port: 0,
            group,
        }
    }

    #[test]
    fn stranded_are_the_group_s_acknowledged_messages_not_delivered_everywhere_at_the_fault() {
        let mut mb = MessageBoxConfig::default();
        mb.message_types.retain(|t| t.name == "order");
        let routed = mb.message_types[0].subscribers.len();
        let mut gl = GroupLedger::default();
        // 1: delivered everywhere before the fault; 2: delivered after it; 3: never; 4: the other
        // group; 5: published after the fault.
        for (id, g) in [(1, 1), (2, 1), (3, 1), (4, 2)] {
            gl.add(&entry(L::Publish, 100, id, g, Outcome::Ok));
        }
        gl.add(&entry(L::Publish, 2_000, 5, 1, Outcome::Ok));
        for _ in 0..routed {
            gl.add(&entry(L::Complete, 500, 1, 1, Outcome::Ok));
            gl.add(&entry(L::Complete, 5_000, 2, 1, Outcome::Ok));
        }
        gl.add(&entry(L::Complete, 500, 3, 1, Outcome::Ok));
        let s = stranded(&gl, &mb, 1, 1_000);
        let expect_3 = if routed > 1 { vec![(2, Some(5_000)), (3, None)] } else { vec![(2, Some(5_000))] };
        assert_eq!(s, expect_3);
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), Some(3.0));
        assert_eq!(quantile(&mut v, 1.0), Some(5.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}
