//! A primary cut off by a partition while habench's clients still reach it (pg_auto_failover's
//! `partition-primary`): from the watcher's rounds, probes it directly and logs that it was left
//! running (`LeftRunning`, cut off), that it still answered as a primary once the monitor had
//! another (`SplitBrain`), and when it stopped answering as one (`Fenced`, by itself: no process
//! killed). The split-brain section counts what it acknowledged in between from the ledger.

use std::time::{Duration, Instant};

use crate::events::{EventKind, EventLog};

/// How often the cut-off primary is probed.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Failed probes in a row before it counts as stopped (one slow answer is not a shutdown).
const STOPPED_AFTER: u32 = 2;

#[derive(Debug)]
pub(super) struct CutOff {
    node: String,
    port: u16,
    seen_beside: bool,
    failed: u32,
    first_failed: Option<Instant>,
    stopped: bool,
    next_probe: Instant,
}

impl CutOff {
    /// The cut has just been seen: logs the primary as left running.
    pub(super) fn begin(node: &str, port: u16, log: &EventLog) -> CutOff {
        log.push(EventKind::LeftRunning { node: node.into(), port, client_port: port, cut_off: true });
        CutOff {
            node: node.into(),
            port,
            seen_beside: false,
            failed: 0,
            first_failed: None,
            stopped: false,
            next_probe: Instant::now(),
        }
    }

    pub(super) fn node(&self) -> &str {
        &self.node
    }

    /// One round: `other_primary` is whether the monitor now has another node as primary.
    /// `answers` says whether the node answers read-write (probed at most every 250 ms).
    pub(super) async fn round<F, Fut>(&mut self, other_primary: bool, answers: F, log: &EventLog)
    where
        F: FnOnce(u16) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        if self.stopped || Instant::now() < self.next_probe {
            return;
        }
        self.next_probe = Instant::now() + PROBE_EVERY;
        let at = Instant::now();
        self.observe(at, answers(self.port).await, other_primary, log);
    }

    fn observe(&mut self, at: Instant, read_write: bool, other_primary: bool, log: &EventLog) {
        if read_write {
            self.failed = 0;
            self.first_failed = None;
            if other_primary && !self.seen_beside {
                self.seen_beside = true;
                log.push_at(at, EventKind::SplitBrain { node: self.node.clone() });
            }
            return;
        }
        self.failed += 1;
        let first = *self.first_failed.get_or_insert(at);
        if self.failed >= STOPPED_AFTER {
            self.stopped = true;
            log.push_at(first, EventKind::Fenced { node: self.node.clone(), processes: 0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(log: &EventLog) -> Vec<String> {
        log.events().iter().map(|e| format!("{:?}", e.kind).split([' ', '{']).next().unwrap().to_string()).collect()
    }

    #[test]
    fn a_cut_off_primary_is_seen_beside_the_new_one_then_stopped_after_two_failed_probes() {
        let log = EventLog::default();
        let mut c = CutOff::begin("n1", 5001, &log);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        c.observe(at(0), true, false, &log);
        c.observe(at(250), true, true, &log);
        c.observe(at(500), true, true, &log);
        // One slow answer is not a shutdown; two in a row are, timed at the first.
        c.observe(at(750), false, true, &log);
        c.observe(at(1000), true, true, &log);
        c.observe(at(1250), false, true, &log);
        c.observe(at(1500), false, true, &log);
        assert_eq!(kinds(&log), vec!["LeftRunning", "SplitBrain", "Fenced"]);
        assert_eq!(log.events()[2].at, at(1250));
        assert!(c.stopped);
    }
}
