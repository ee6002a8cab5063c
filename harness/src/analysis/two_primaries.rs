//! Writes acknowledged by two primaries at once, counted from the ledger alone for every
//! topology and engine (no event of any orchestrator needed): a publish acknowledged by one
//! server while another server was acknowledging publishes around it, that is between two of
//! the other's acknowledgements less than [`GAP_US`] apart. Servers are told apart by the port
//! the publisher reached (each node has its own, on loopback and through the namespaces' doors).
//! A failover's ordinary hand-over never counts (the old primary's last acknowledgement comes
//! before the new one's first), nor does a primary that comes back after a later switchover
//! (the other's acknowledgements around it are then more than the gap apart). Its limits: a
//! server acknowledging less than once a second is not seen as taking writes, and an old
//! primary whose clients all stayed with it while the new one took none is not counted here
//! (the split-brain section, from the engine's events, says that case).

use std::collections::{BTreeMap, HashSet};

use crate::measure::exposure::MessageAck;
use crate::summary::TwoPrimariesSection;

/// The longest gap between two acknowledgements of a server still taking writes.
pub(crate) const GAP_US: i64 = 1_000_000;

/// None when fewer than two servers acknowledged publishes (no failover, or one server all
/// along). `start_us`: the run's start, for the times in seconds.
pub(crate) fn section(acks: &[MessageAck], lost_ids: &[i64], start_us: i64) -> Option<TwoPrimariesSection> {
    let mut by_port: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
    for a in acks.iter().filter(|a| a.server_port != 0) {
        by_port.entry(a.server_port).or_default().push(a.at_us);
    }
    if by_port.len() < 2 {
        return None;
    }
    for times in by_port.values_mut() {
        times.sort_unstable();
    }
    let lost: HashSet<i64> = lost_ids.iter().copied().collect();
    let mut out = TwoPrimariesSection { servers: by_port.keys().copied().collect(), ..Default::default() };
    let mut ports = HashSet::new();
    for a in acks.iter().filter(|a| a.server_port != 0) {
        let at_once = by_port.iter().filter(|(p, _)| **p != a.server_port).any(|(_, times)| {
            let i = times.partition_point(|t| *t <= a.at_us);
            i > 0 && i < times.len() && times[i] - times[i - 1] < GAP_US
        });
        if !at_once {
            continue;
        }
        out.acked += 1;
        out.lost += u64::from(lost.contains(&a.msg_id));
        ports.insert(a.server_port);
        let t = (a.at_us - start_us) as f64 / 1e6;
        out.first_s = Some(out.first_s.map_or(t, |f: f64| f.min(t)));
        out.last_s = Some(out.last_s.map_or(t, |l: f64| l.max(t)));
    }
    let mut ports: Vec<u16> = ports.into_iter().collect();
    ports.sort_unstable();
    out.by = ports;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acks(port: u16, from_ms: i64, to_ms: i64, every_ms: i64, first_id: i64) -> Vec<MessageAck> {
        (0..)
            .map(|k| from_ms + k * every_ms)
            .take_while(|t| *t <= to_ms)
            .enumerate()
            .map(|(k, t)| MessageAck { at_us: t * 1000, msg_id: first_id + k as i64, server_port: port })
            .collect()
    }

    #[test]
    fn a_hand_over_counts_nothing_and_an_old_primary_taking_writes_beside_the_new_one_counts_each() {
        // One primary until 10 s, the next from 12 s: an ordinary failover.
        let mut a = acks(5432, 0, 10_000, 10, 1);
        a.extend(acks(5433, 12_000, 20_000, 10, 10_000));
        let s = section(&a, &[], 0).unwrap();
        assert_eq!((s.acked, s.servers.clone()), (0, vec![5432, 5433]));
        // The old primary goes on taking writes from 12 s to 14 s (every 100 ms: 21 of them),
        // three of them lost.
        a.extend(acks(5432, 12_050, 14_050, 100, 50_000));
        let s = section(&a, &[50_000, 50_001, 50_002], 0).unwrap();
        assert_eq!(s.by, vec![5432, 5433]);
        assert_eq!(s.lost, 3);
        // Each of the old primary's 21 and the new primary's acknowledgements between them.
        let old = 21;
        let new = acks(5433, 12_050, 14_050, 10, 0).len() as u64 - 1;
        assert_eq!(s.acked, old + new);
        assert_eq!((s.first_s, s.last_s), (Some(12.05), Some(14.05)));
    }

    #[test]
    fn one_server_or_a_primary_back_after_a_pause_is_no_split_brain() {
        assert!(section(&acks(5432, 0, 1000, 10, 1), &[], 0).is_none());
        // Switchover there and back: 0-10 s, 12-20 s, 22-30 s.
        let mut a = acks(5432, 0, 10_000, 10, 1);
        a.extend(acks(5433, 12_000, 20_000, 10, 10_000));
        a.extend(acks(5432, 22_000, 30_000, 10, 20_000));
        assert_eq!(section(&a, &[], 0).unwrap().acked, 0);
    }
}
