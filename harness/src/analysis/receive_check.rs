//! The summary's receive section, a checker: compares what the feeder wrote with what the
//! receive instances read and published. Every acknowledged read is a message; a file read twice
//! is a duplicate; a read that is not the whole file (length and checksum from its name) is an
//! incomplete read.

use std::collections::HashMap;

use crate::config::ReceiveConfig;
use crate::events::{Event, EventKind};
use crate::measure::RunClock;
use crate::receive::{Receipt, ReceiveRecords};
use crate::summary::{PickupDelay, ReceiveKill, ReceiveSection};

pub(crate) fn section(rc: &ReceiveConfig, r: &ReceiveRecords, events: &[Event], clock: &RunClock) -> ReceiveSection {
    let acked: Vec<&Receipt> = r.receipts.iter().filter(|x| x.outcome.acknowledged()).collect();
    let mut per_file: HashMap<u64, Vec<&Receipt>> = HashMap::new();
    for x in &acked {
        per_file.entry(x.seq).or_default().push(x);
    }
    let written = r.feeds.len() as u64;
    let per_10k = |n: u64| if written == 0 { 0.0 } else { n as f64 * 10_000.0 / written as f64 };
    let duplicate_receipts: u64 = per_file.values().map(|v| v.len() as u64 - 1).sum();
    let incomplete_reads = acked.iter().filter(|x| !x.whole).count() as u64;
    let whole_files = per_file.values().filter(|v| v.iter().any(|x| x.whole)).count() as u64;
    let done: HashMap<u64, i64> = r.feeds.iter().map(|f| (f.seq, f.done_us)).collect();
    let mut delays: Vec<f64> = per_file
        .iter()
        .filter_map(|(seq, v)| {
            let first = v.iter().filter(|x| x.whole).map(|x| x.read_us).min()?;
            Some((first - done.get(seq)?).max(0) as f64 / 1e3)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let q = |p: f64| delays[((delays.len() - 1) as f64 * p).round() as usize];
    ReceiveSection {
        lock: rc.lock.as_str().to_string(),
        instances: rc.instances,
        files_written: written,
        files_received: whole_files,
        receipts: acked.len() as u64,
        duplicate_receipts,
        files_duplicated: per_file.values().filter(|v| v.len() > 1).count() as u64,
        duplicates_per_10k: per_10k(duplicate_receipts),
        incomplete_reads,
        incomplete_per_10k: per_10k(incomplete_reads),
        files_never_whole: written.saturating_sub(whole_files),
        failed_publishes: r.receipts.iter().filter(|x| x.outcome == habench_workloads::Outcome::Fail).count() as u64,
        unknown_publishes: r.receipts.iter().filter(|x| x.outcome == habench_workloads::Outcome::Unknown).count()
            as u64,
        left_on_disk: r.left_on_disk.len() as u64,
        pickup_delay_ms: (!delays.is_empty()).then(|| PickupDelay { p50: q(0.5), p99: q(0.99), max: q(1.0) }),
        kills: kills(r, events, clock),
    }
}

/// Each death: who took over and when (clustered), the pickup gap after it, and whether the file
/// it held (published, not deleted) was read again.
fn kills(r: &ReceiveRecords, events: &[Event], clock: &RunClock) -> Vec<ReceiveKill> {
    let start_us = clock.epoch_us(clock.start());
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ReceiveInstanceKilled { instance, holding } => Some((e, instance, holding)),
            _ => None,
        })
        .map(|(e, instance, holding)| {
            let at_us = clock.epoch_us(e.at);
            let takeover = events.iter().filter(|t| t.at >= e.at).find_map(|t| match &t.kind {
                EventKind::ReceiveTakeover { from, to } if from == instance => Some((t, to.clone())),
                _ => None,
            });
            let restarted = events
                .iter()
                .filter(|t| t.at >= e.at)
                .find(|t| matches!(&t.kind, EventKind::ReceiveInstanceRestarted { instance: i } if i == instance));
            let next_read = r.receipts.iter().map(|x| x.read_us).filter(|t| *t >= at_us).min();
            let read_again = holding
                .as_ref()
                .map_or(0, |file| r.receipts.iter().filter(|x| x.file == *file && x.read_us >= at_us).count() as u64);
            ReceiveKill {
                instance: instance.clone(),
                at_s: (at_us - start_us) as f64 / 1e6,
                taken_over_by: takeover.as_ref().map(|(_, to)| to.clone()),
                takeover_ms: takeover.as_ref().map(|(t, _)| t.at.saturating_duration_since(e.at).as_secs_f64() * 1e3),
                pickup_gap_ms: next_read.map(|t| (t - at_us) as f64 / 1e3),
                restarted_after_ms: restarted.map(|t| t.at.saturating_duration_since(e.at).as_secs_f64() * 1e3),
                read_again,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReceiveLock;
    use crate::receive::Feed;
    use habench_workloads::Outcome;
    use std::time::Duration;

    fn rc() -> ReceiveConfig {
        ReceiveConfig {
            instances: 2,
            lock: ReceiveLock::None,
            poll_interval: Duration::from_secs(1),
            write_time: Duration::from_millis(50),
            pieces: 4,
            detect_interval: Duration::from_secs(1),
            detect_threshold: 3,
            dir: None,
        }
    }

    fn feed(seq: u64) -> Feed {
        Feed { seq, file: format!("f{seq}"), bytes: 10, created_us: 0, done_us: 1_000 }
    }

    fn receipt(seq: u64, msg_id: i64, whole: bool, outcome: Outcome, read_us: i64) -> Receipt {
        let instance = format!("recv-{}", msg_id % 2 + 1);
        Receipt { seq, file: format!("f{seq}"), instance, msg_id, bytes: 10, whole, read_us, outcome }
    }

    #[test]
    fn a_file_read_twice_is_one_duplicate_and_a_truncated_read_is_incomplete() {
        let r = ReceiveRecords {
            feeds: vec![feed(1), feed(2), feed(3), feed(4)],
            receipts: vec![
                receipt(1, 1, true, Outcome::Ok, 2_000),
                receipt(1, 2, true, Outcome::Ok, 3_000),
                receipt(2, 3, false, Outcome::Ok, 500),
                receipt(3, 4, true, Outcome::Fail, 2_000),
                receipt(3, 5, true, Outcome::Ok, 11_000),
            ],
            left_on_disk: vec!["f4".into()],
        };
        let s = section(&rc(), &r, &[], &RunClock::start_now());
        assert_eq!((s.files_written, s.receipts, s.duplicate_receipts, s.files_duplicated), (4, 4, 1, 1));
        assert_eq!(s.duplicates_per_10k, 2_500.0);
        assert_eq!((s.incomplete_reads, s.files_received, s.files_never_whole), (1, 2, 2));
        assert_eq!((s.failed_publishes, s.left_on_disk), (1, 1));
        let d = s.pickup_delay_ms.unwrap();
        assert_eq!((d.p50, d.max), (10.0, 10.0));
    }
}
