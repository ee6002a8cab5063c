//! Per-worker recorders: each worker records into its own `Stats` (an uncontended lock); once
//! per interval the sampler merges and clears them all.

use std::sync::{Arc, Mutex};

use habench_workloads::Outcome;

use crate::measure::op::Op;
use crate::measure::stats::Stats;

/// The registry of every worker's recorder.
#[derive(Debug, Default)]
pub struct Recorders {
    workers: Mutex<Vec<Arc<Mutex<Stats>>>>,
}

/// One worker's handle.
#[derive(Debug, Clone)]
pub struct WorkerRecorder(Arc<Mutex<Stats>>);

impl Recorders {
    pub fn new() -> Arc<Recorders> {
        Arc::new(Recorders::default())
    }

    pub fn register(&self) -> WorkerRecorder {
        let stats = Arc::new(Mutex::new(Stats::default()));
        self.workers.lock().expect("recorders lock").push(stats.clone());
        WorkerRecorder(stats)
    }

    /// Merges what every worker recorded since the last call into `into`, and clears them.
    pub fn drain_into(&self, into: &mut Stats) {
        let workers = self.workers.lock().expect("recorders lock");
        for w in workers.iter() {
            let mut s = w.lock().expect("worker stats lock");
            into.add(&s);
            s.reset();
        }
    }
}

impl WorkerRecorder {
    pub fn record(&self, op: Op, outcome: Outcome, latency_us: u64) {
        self.0.lock().expect("worker stats lock").record(op, outcome, latency_us);
    }

    /// Several updates under one lock (e.g. a completion and its end-to-end latency).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Stats) -> R) -> R {
        f(&mut self.0.lock().expect("worker stats lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_holds_what_was_recorded_since_the_last_drain() {
        let r = Recorders::new();
        let a = r.register();
        let b = r.register();
        a.record(Op::Publish, Outcome::Ok, 100);
        b.record(Op::Publish, Outcome::Ok, 200);
        let mut first = Stats::default();
        r.drain_into(&mut first);
        assert_eq!(first.op(Op::Publish).unwrap().ok, 2);
        a.record(Op::Publish, Outcome::Unknown, 0);
        let mut second = Stats::default();
        r.drain_into(&mut second);
        let p = second.op(Op::Publish).unwrap();
        assert_eq!((p.ok, p.unknown), (0, 1));
    }
}
