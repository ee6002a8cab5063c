//! What runs beside the load for the whole run: habench's own stall detector (a heartbeat on
//! the main runtime), the nemesis and orchestrator, and the sampler of the primary's
//! synchronous setting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::WorkloadKind;
use crate::failover::FailoverPlan;
use crate::measure::exposure::SyncSample;
use crate::measure::stall::{Stall, StallDetector};
use crate::runner::shared::Shared;
use crate::runner::sync_watch::sync_watch;

pub(super) struct Watchers {
    stalls: StallDetector,
    main_beat: JoinHandle<()>,
    stop_failover: watch::Sender<bool>,
    failover: Option<JoinHandle<()>>,
    stop_sync_watch: watch::Sender<bool>,
    sync_watch: Option<JoinHandle<()>>,
    sync_samples: Arc<Mutex<Vec<SyncSample>>>,
}

/// What the watchers saw.
pub(super) struct Watched {
    pub stalls: Vec<Stall>,
    pub largest_lateness: Duration,
    pub sync_samples: Vec<SyncSample>,
}

impl Watchers {
    /// `stalls`: the detector, already watching the main runtime's heartbeat.
    pub(crate) fn start(
        sh: &Arc<Shared>,
        (stalls, main_beat): (StallDetector, JoinHandle<()>),
        failover: Option<FailoverPlan>,
    ) -> Watchers {
        let (stop_failover, stop_failover_rx) = watch::channel(false);
        let failover = failover.filter(|p| !p.faults.is_empty()).map(|plan| {
            tokio::spawn(crate::failover::drive(
                plan,
                sh.measure_start,
                sh.events.clone(),
                sh.kills.clone(),
                stop_failover_rx,
            ))
        });
        // Durability exposure: the primary's synchronous setting, sampled every 50 ms
        // (MessageBox runs; the calibration insert measures habench's own overhead and gets no
        // extra load).
        let sync_samples = Arc::new(Mutex::new(Vec::new()));
        let (stop_sync_watch, stop_rx) = watch::channel(false);
        let sync_watch = (sh.cfg.workload.kind == WorkloadKind::Messagebox && sh.balancer.is_none())
            .then(|| tokio::spawn(sync_watch(sh.endpoint.clone(), sh.clock, sync_samples.clone(), stop_rx)));
        Watchers { stalls, main_beat, stop_failover, failover, stop_sync_watch, sync_watch, sync_samples }
    }

    /// Stops the faults; the orchestrator finishes what it is doing (a promotion holds the
    /// topology).
    pub(crate) async fn stop_failover(mut self) -> Watchers {
        let _ = self.stop_failover.send(true);
        if let Some(t) = self.failover.take() {
            let _ = t.await;
        }
        self
    }

    /// Stops the rest and hands over what they saw.
    pub(crate) async fn finish(self) -> Watched {
        let _ = self.stop_sync_watch.send(true);
        if let Some(t) = self.sync_watch {
            let _ = t.await;
        }
        self.main_beat.abort();
        let largest_lateness = self.stalls.largest_lateness();
        let stalls = self.stalls.finish();
        let sync_samples = std::mem::take(&mut *self.sync_samples.lock().expect("sync samples lock"));
        Watched { stalls, largest_lateness, sync_samples }
    }
}
