//! What every worker of a run shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::RunConfig;
use crate::measure::Recorders;
use crate::measure::RunClock;
use crate::pg::Endpoint;
use crate::run_result::ErrorLog;
use crate::runner::ledger::LedgerTx;

/// Whole-run message counts (warm-up and drain included), for the drain and the summary.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub published_ok: AtomicU64,
    /// Queue entries the acknowledged publishes created (one per subscribed host).
    pub routed_ok: AtomicU64,
    pub completed_ok: AtomicU64,
    pub suspended_ok: AtomicU64,
    pub unknown: AtomicU64,
    /// Scheduled publishes never attempted (the run was stopped, or no server came back).
    pub not_attempted: AtomicU64,
    /// Publishes that waited a throttling delay first (`--throttle`).
    pub throttled_publishes: AtomicU64,
    /// Open loop, measured phase: how the publishers kept the schedule.
    pub pacing: PacingCounters,
}

/// What one worker's publishes acknowledged, added to the run's [`Counters`] when the worker
/// ends (on drop: the counts are read once the workers are done): two client threads adding
/// to one shared counter at every operation pass its cache line between their cores.
#[derive(Debug)]
pub(crate) struct Tally<'a> {
    counters: &'a Counters,
    ok: u64,
    routed: u64,
}

impl<'a> Tally<'a> {
    pub(crate) fn new(counters: &'a Counters) -> Tally<'a> {
        Tally { counters, ok: 0, routed: 0 }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        Counters::add(&self.counters.published_ok, self.ok);
        Counters::add(&self.counters.routed_ok, self.routed);
    }
}

/// Open loop, measured phase: publishers that waited for a slot's intended start, and how late
/// they woke (the harness's own timing error); slots that started late because no publisher was
/// free (the load is more than the publishers can carry: their latency includes that wait).
#[derive(Debug, Default)]
pub(crate) struct PacingCounters {
    pub woken: AtomicU64,
    pub wake_late_sum_us: AtomicU64,
    pub wake_late_max_us: AtomicU64,
    pub started_late: AtomicU64,
}

impl PacingCounters {
    pub(crate) fn woke(&self, late_us: u64) {
        self.woken.fetch_add(1, Ordering::Relaxed);
        self.wake_late_sum_us.fetch_add(late_us, Ordering::Relaxed);
        self.wake_late_max_us.fetch_max(late_us, Ordering::Relaxed);
    }
}

impl Counters {
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: Arc<RunConfig>,
    pub clock: RunClock,
    pub endpoint: Endpoint,
    pub recorders: Arc<Recorders>,
    pub ledger: LedgerTx,
    pub counters: Counters,
    pub errors: Mutex<ErrorLog>,
    /// The measured phase starts here (after the warm-up).
    pub measure_start: Instant,
    /// Publishing stops here (end of the measured phase).
    pub publish_end: Instant,
    /// Workers give up reconnecting after this.
    pub hard_end: Instant,
    /// Closed loop: the next message id.
    pub next_seq: AtomicU64,
    /// Set by the nemesis: one of the runner's workers dies.
    pub kills: Arc<crate::fault::WorkerKills>,
    pub events: crate::events::EventLog,
    /// The delay every publish waits now (`--throttle`).
    pub throttle: crate::runner::throttle::ThrottleGate,
    /// Parallel groups: the load balancer in front of them (publishes are spread per message).
    pub balancer: Option<Arc<crate::balancer::Balancer>>,
    /// The SSO master secret (`--sso`): its server and what the workers did with it.
    pub sso: Option<Arc<crate::sso::SsoState>>,
    /// The newest completion acknowledged by the primary (the read-your-writes probe's target).
    pub last_completion: Mutex<Option<Completion>>,
    /// Times the workers' operations out (a thread of its own: no timer on their runtimes).
    pub op_watch: crate::runner::watchdog::OpWatch,
}

/// A completed delivery: message id and host (index in the config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub msg_id: i64,
    pub host: u16,
}

impl Shared {
    pub(crate) fn note_error(&self, context: &str, message: &str) {
        self.errors.lock().expect("error log lock").note(context, message);
    }

    /// A publish's outcome, counted: `acked` (and the queue entries it routed) when it
    /// committed, else the error's outcome, noted under `context`.
    pub(crate) fn count_publish(
        &self,
        tally: &mut Tally<'_>,
        context: &str,
        result: &Result<i64, habench_workloads::messagebox::OpError>,
        acked: habench_workloads::Outcome,
    ) -> habench_workloads::Outcome {
        match result {
            Ok(routed) => {
                tally.ok += 1;
                tally.routed += (*routed).max(0) as u64;
                acked
            }
            Err(e) => {
                self.note_error(context, &e.message);
                if e.outcome == habench_workloads::Outcome::Unknown {
                    Counters::add(&self.counters.unknown, 1);
                }
                e.outcome
            }
        }
    }

    /// Parallel group `group`'s write endpoint (the write endpoint without groups).
    pub(crate) fn group_endpoint(&self, group: usize) -> &Endpoint {
        self.balancer.as_ref().map_or(&self.endpoint, |b| &b.groups()[group].endpoint)
    }

    /// Group `group` as the ledger numbers it: 1, 2...; 0 without groups.
    pub(crate) fn group_no(&self, group: usize) -> u8 {
        if self.balancer.is_some() {
            group as u8 + 1
        } else {
            0
        }
    }

    /// A worker's connection through `endpoint` (the write endpoint, or a parallel group's;
    /// retried until the run's hard end or its stop), with its statements prepared by
    /// `prepare`; a failure is noted, and None.
    pub(crate) async fn worker_session<S, F, Fut>(
        &self,
        endpoint: &Endpoint,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        prepare: F,
    ) -> Option<(S, crate::pg::worker_conn::ConnInfo)>
    where
        F: FnOnce(tokio_postgres::Client) -> Fut,
        Fut: std::future::Future<Output = Result<S, tokio_postgres::Error>>,
    {
        let (client, info) = match endpoint.connect_worker(self.hard_end, stop).await {
            Ok(c) => c,
            Err(e) => {
                self.note_error("connect", &e);
                return None;
            }
        };
        match prepare(client).await {
            Ok(s) => Some((s, info)),
            Err(e) => {
                self.note_error("prepare", &habench_workloads::error_text(&e));
                None
            }
        }
    }

    /// The same over habench's wire client.
    pub(crate) async fn wire_session<S, F, Fut>(
        &self,
        endpoint: &Endpoint,
        stop: &mut tokio::sync::watch::Receiver<bool>,
        prepare: F,
    ) -> Option<S>
    where
        F: FnOnce(crate::pg::wire::WireConn) -> Fut,
        Fut: std::future::Future<Output = Result<S, crate::pg::wire::WireError>>,
    {
        let conn = match endpoint.connect_wire(self.hard_end, stop).await {
            Ok(c) => c,
            Err(e) => {
                self.note_error("connect", &e);
                return None;
            }
        };
        match prepare(conn).await {
            Ok(s) => Some(s),
            Err(e) => {
                self.note_error("prepare", &e.message);
                None
            }
        }
    }
}
