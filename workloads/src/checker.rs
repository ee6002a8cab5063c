//! The checker (Jepsen's total-queue): after the run has drained, compares the ledger (what
//! clients were told) with what the surviving database holds.
//!
//! * lost: an acknowledged publish with no trace left, or an acknowledged completion whose
//!   tracking row is gone;
//! * duplicated: a delivery (message, host) completed more than once;
//! * recovered: a publish whose outcome was unknown but which did commit;
//! * unexpected: a message in the database that no publish attempted, or whose publish failed;
//! * undelivered: an acknowledged message still waiting in a queue after the drain (not lost).
//!
//! Message ids are dense (1, 2, 3...), so both sides are flat vectors indexed by id: a few bytes
//! per message, whatever the run's length.

use serde::Serialize;

use crate::Outcome;

const PUB_NONE: u8 = 0;
const PUB_OK: u8 = 1;
const PUB_FAIL: u8 = 2;
const PUB_UNKNOWN: u8 = 3;

// Per (message, host) ledger cell: completions acknowledged (low 4 bits, saturating), and flags.
const DONE_MASK: u8 = 0x0F;
const FIN_UNKNOWN: u8 = 0x10;

/// What the clients were told, per message and per delivery.
#[derive(Debug, Clone, Default)]
pub struct LedgerIndex {
    hosts: usize,
    publishes: Vec<u8>,
    finishes: Vec<u8>,
}

impl LedgerIndex {
    pub fn new(hosts: usize) -> LedgerIndex {
        LedgerIndex { hosts: hosts.max(1), publishes: Vec::new(), finishes: Vec::new() }
    }

    fn grow(&mut self, id: usize) {
        if id >= self.publishes.len() {
            let n = (id + 1).next_power_of_two();
            self.publishes.resize(n, PUB_NONE);
            self.finishes.resize(n * self.hosts, 0);
        }
    }

    pub fn record_publish(&mut self, msg_id: i64, outcome: Outcome) {
        let Ok(id) = usize::try_from(msg_id) else { return };
        self.grow(id);
        self.publishes[id] = match outcome {
            Outcome::Ok | Outcome::AckedUnreplicated => PUB_OK,
            Outcome::Fail => PUB_FAIL,
            Outcome::Unknown => PUB_UNKNOWN,
        };
    }

    /// A completion or suspension by some instance of host `host` (index in config order).
    /// `held` false: the instance no longer held the message, nothing happened.
    pub fn record_finish(&mut self, msg_id: i64, host: usize, outcome: Outcome, held: bool) {
        let Ok(id) = usize::try_from(msg_id) else { return };
        if host >= self.hosts {
            return;
        }
        self.grow(id);
        let cell = &mut self.finishes[id * self.hosts + host];
        match outcome {
            Outcome::Ok | Outcome::AckedUnreplicated if held => {
                *cell = (*cell & !DONE_MASK) | ((*cell & DONE_MASK) + 1).min(DONE_MASK)
            }
            Outcome::Unknown => *cell |= FIN_UNKNOWN,
            _ => {}
        }
    }

    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Every id whose publish was acknowledged.
    pub fn acknowledged(&self) -> impl Iterator<Item = i64> + '_ {
        self.publishes.iter().enumerate().filter(|(_, p)| **p == PUB_OK).map(|(i, _)| i as i64)
    }

    fn len(&self) -> usize {
        self.publishes.len()
    }
}

/// What the surviving database holds, per message and per delivery.
#[derive(Debug, Clone, Default)]
pub struct DbState {
    hosts: usize,
    /// bit 0: spool row, bit 1: in some queue or suspended queue.
    present: Vec<u8>,
    /// Tracking rows per (message, host), saturating at 255.
    tracking: Vec<u8>,
    /// Still queued (not suspended) for (message, host).
    queued: Vec<bool>,
}

impl DbState {
    pub fn new(hosts: usize) -> DbState {
        DbState { hosts: hosts.max(1), ..Default::default() }
    }

    fn grow(&mut self, id: usize) {
        if id >= self.present.len() {
            let n = (id + 1).next_power_of_two();
            self.present.resize(n, 0);
            self.tracking.resize(n * self.hosts, 0);
            self.queued.resize(n * self.hosts, false);
        }
    }

    pub fn add_spool(&mut self, msg_id: i64) {
        let Ok(id) = usize::try_from(msg_id) else { return };
        self.grow(id);
        self.present[id] |= 1;
    }

    /// In host `host`'s queue (`suspended` false) or its suspended queue.
    pub fn add_queued(&mut self, msg_id: i64, host: usize, suspended: bool) {
        let Ok(id) = usize::try_from(msg_id) else { return };
        self.grow(id);
        self.present[id] |= 2;
        if !suspended && host < self.hosts {
            self.queued[id * self.hosts + host] = true;
        }
    }

    pub fn add_tracking(&mut self, msg_id: i64, host: usize, rows: i64) {
        let Ok(id) = usize::try_from(msg_id) else { return };
        if host >= self.hosts {
            return;
        }
        self.grow(id);
        let cell = &mut self.tracking[id * self.hosts + host];
        *cell = (i64::from(*cell) + rows).clamp(0, 255) as u8;
    }

    fn len(&self) -> usize {
        self.present.len()
    }

    fn exists(&self, id: usize) -> bool {
        id < self.present.len()
            && (self.present[id] != 0 || (0..self.hosts).any(|h| self.tracking[id * self.hosts + h] > 0))
    }
}

/// How many examples of each anomaly the report lists.
const EXAMPLES: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CheckReport {
    pub acknowledged: u64,
    /// Acknowledged publishes with no trace, plus acknowledged completions whose tracking is gone.
    pub lost: u64,
    pub lost_publishes: u64,
    pub lost_completions: u64,
    pub duplicated: u64,
    pub recovered: u64,
    pub unexpected: u64,
    pub undelivered: u64,
    /// Nothing lost and nothing unexpected (and, with an exactly-once expectation, nothing
    /// duplicated).
    pub valid: bool,
    pub exactly_once: bool,
    pub lost_ids: Vec<i64>,
    pub duplicated_ids: Vec<i64>,
    pub unexpected_ids: Vec<i64>,
}

/// Every acknowledged publish with no trace in the database (the report lists only examples).
pub fn lost_publish_ids(ledger: &LedgerIndex, db: &DbState) -> Vec<i64> {
    (1..ledger.len()).filter(|&id| ledger.publishes[id] == PUB_OK && !db.exists(id)).map(|id| id as i64).collect()
}

/// Compares what clients were told with what survived.
pub fn check(ledger: &LedgerIndex, db: &DbState, exactly_once: bool) -> CheckReport {
    assert_eq!(ledger.hosts, db.hosts.max(1), "ledger and database describe the same hosts");
    let hosts = ledger.hosts;
    let mut r = CheckReport { exactly_once, ..Default::default() };
    let n = ledger.len().max(db.len());
    for id in 1..n {
        let p = ledger.publishes.get(id).copied().unwrap_or(PUB_NONE);
        let exists = db.exists(id);
        match (p, exists) {
            (PUB_OK, false) => {
                r.lost_publishes += 1;
                push(&mut r.lost_ids, id);
            }
            (PUB_UNKNOWN, true) => r.recovered += 1,
            (PUB_NONE | PUB_FAIL, true) => {
                r.unexpected += 1;
                push(&mut r.unexpected_ids, id);
            }
            _ => {}
        }
        if p == PUB_OK {
            r.acknowledged += 1;
        }
        let mut duplicated = false;
        for h in 0..hosts {
            let cell = ledger.finishes.get(id * hosts + h).copied().unwrap_or(0);
            let acked = cell & DONE_MASK;
            let rows = db.tracking.get(id * hosts + h).copied().unwrap_or(0);
            if acked >= 1 && rows == 0 && exists {
                // The message survived but this acknowledged completion did not (a message that
                // vanished whole counts once, as a lost publish).
                r.lost_completions += 1;
                push(&mut r.lost_ids, id);
            }
            if acked >= 2 || rows >= 2 {
                duplicated = true;
            }
            if p == PUB_OK && db.queued.get(id * hosts + h).copied().unwrap_or(false) {
                r.undelivered += 1;
            }
        }
        if duplicated {
            r.duplicated += 1;
            push(&mut r.duplicated_ids, id);
        }
    }
    r.lost = r.lost_publishes + r.lost_completions;
    r.valid = r.lost == 0 && r.unexpected == 0 && (!exactly_once || r.duplicated == 0);
    r
}

fn push(v: &mut Vec<i64>, id: usize) {
    if v.len() < EXAMPLES && v.last() != Some(&(id as i64)) {
        v.push(id as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> LedgerIndex {
        let mut l = LedgerIndex::new(2);
        for id in 1..=6 {
            l.record_publish(id, Outcome::Ok);
        }
        l.record_publish(7, Outcome::Unknown);
        l.record_publish(8, Outcome::Unknown);
        l.record_publish(9, Outcome::Fail);
        l
    }

    #[test]
    fn a_clean_run_is_valid() {
        let mut l = ledger();
        let mut db = DbState::new(2);
        for id in 1..=6 {
            l.record_finish(id, 0, Outcome::Ok, true);
            db.add_tracking(id, 0, 1);
        }
        let r = check(&l, &db, true);
        assert_eq!((r.acknowledged, r.lost, r.duplicated, r.unexpected, r.recovered), (6, 0, 0, 0, 0));
        assert!(r.valid);
    }

    #[test]
    fn every_anomaly_is_counted_once_with_examples() {
        let mut l = ledger();
        let mut db = DbState::new(2);
        db.add_spool(1); // 1: still in the spool, queued for host 1 (undelivered)
        db.add_queued(1, 1, false);
        db.add_tracking(2, 0, 1); // 2: completed by host 0
                                  // 3: acknowledged, gone without trace -> lost publish
        l.record_finish(4, 0, Outcome::Ok, true); // 4: completion acknowledged but no tracking row
        db.add_spool(4);
        l.record_finish(5, 1, Outcome::Ok, true); // 5: completed twice -> duplicated
        l.record_finish(5, 1, Outcome::Ok, true);
        db.add_tracking(5, 1, 2);
        db.add_tracking(6, 0, 1);
        db.add_spool(7); // 7: unknown publish that committed -> recovered; 8: unknown, absent
        db.add_spool(9); // 9: a failed publish that exists -> unexpected
        db.add_spool(12); // 12: never attempted -> unexpected
        let r = check(&l, &db, false);
        assert_eq!(r.lost_publishes, 1);
        assert_eq!(r.lost_completions, 1);
        assert_eq!(r.lost, 2);
        assert_eq!(r.lost_ids, [3, 4]);
        assert_eq!((r.duplicated, r.duplicated_ids.clone()), (1, vec![5]));
        assert_eq!(r.recovered, 1);
        assert_eq!((r.unexpected, r.unexpected_ids.clone()), (2, vec![9, 12]));
        assert_eq!(r.undelivered, 1);
        assert!(!r.valid);
        let strict = check(&l, &db, true);
        assert!(!strict.valid);
    }

    #[test]
    fn duplicates_fail_only_an_exactly_once_expectation() {
        let mut l = LedgerIndex::new(1);
        l.record_publish(1, Outcome::Ok);
        l.record_finish(1, 0, Outcome::Ok, true);
        l.record_finish(1, 0, Outcome::Ok, true);
        let mut db = DbState::new(1);
        db.add_tracking(1, 0, 1);
        assert!(check(&l, &db, false).valid);
        assert!(!check(&l, &db, true).valid);
        // A completion refused because the message was no longer held is no completion.
        let mut l2 = LedgerIndex::new(1);
        l2.record_publish(1, Outcome::Ok);
        l2.record_finish(1, 0, Outcome::Ok, false);
        assert_eq!(check(&l2, &db, true).duplicated, 0);
    }
}
