//! A measured run: warm-up, measured phase, drain. Publishers and host instances run as tokio
//! tasks with their own connections; once per interval the recorders are merged, the database
//! is sampled, and the sink (the results store) gets the interval.

mod alarm;
mod balancer_probe;
mod calibration;
pub(crate) mod group_ledger;
mod host_instance;
pub mod ledger;
pub(crate) mod pacing;
mod publisher;
mod receive_feeder;
mod receive_instance;
pub mod reporter;
pub(crate) mod sampler;
mod shared;
mod sso_worker;
mod sync_watch;
mod threads;
pub(crate) mod throttle;
mod watchdog;
mod watchers;
mod wire_messagebox;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use habench_workloads::messagebox::cleanup;
use habench_workloads::Outcome;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Arrival, Load, RunConfig, WorkloadKind};
use crate::events::EventLog;
use crate::failover::FailoverPlan;
use crate::measure::clock;
use crate::measure::{IntervalRow, Op, Phase, RunClock, Stats};
use crate::pg::Endpoint;
use crate::run_result::IntervalDigest;
use ledger::LedgerTx;
use pacing::Schedule;
use publisher::Pace;
use reporter::{ReportPlan, ReportShared};
use sampler::DbSampler;
use shared::{Counters, Shared};
use watchers::{Watched, Watchers};

use crate::run_result::{DrainResult, ErrorLog, MessageCounts, Pacing, Progress, ReportResult, RunResult, RunSink};

/// The tasks of a run's load, and what they share.
struct RunningLoad {
    publishers: JoinSet<()>,
    receive: Option<Arc<crate::receive::ReceiveLog>>,
    hosts: JoinSet<()>,
    schedule: Option<Arc<Mutex<Schedule>>>,
    reports: Option<Arc<ReportShared>>,
    conflicts_before: BTreeMap<String, [i64; 5]>,
    stop_publishers: watch::Sender<bool>,
    stop_hosts: watch::Sender<bool>,
}

/// Starts the publishers (on their threads), the host instances and the purge job, and the
/// report workers.
async fn start_load(
    sh: &Arc<Shared>,
    endpoint: &Endpoint,
    report_plan: &ReportPlan,
    stalls: crate::measure::stall::StallHandle,
) -> RunningLoad {
    let cfg = &sh.cfg;
    let start = sh.clock.start();
    let (stop_publishers, stop_pub_rx) = watch::channel(false);
    let (stop_hosts, stop_hosts_rx) = watch::channel(false);
    let mut publishers = JoinSet::new();
    let mut schedule = None;
    let mut receive = None;
    let tasks: Vec<_> = match &cfg.load {
        // A receive location: the feeder writes files on the schedule; receive instances publish.
        Load::Open { rate, arrival, .. } if cfg.receive.is_some() => {
            let s = Schedule::new(start, sh.publish_end, *rate, *arrival, cfg.seed);
            let s = schedule.insert(Arc::new(Mutex::new(s)));
            let log = receive_log(cfg);
            publishers.spawn(receive_feeder::feeder(sh.clone(), log.clone(), s.clone(), stop_pub_rx.clone()));
            receive = Some(log);
            Vec::new()
        }
        Load::Open { rate, arrival, publishers: n } => {
            let changes = cfg.rate_changes.iter().map(|c| ((cfg.warmup + c.at).as_secs_f64(), c.rate)).collect();
            let s = Schedule::with_changes(start, sh.publish_end, *rate, changes, *arrival, cfg.seed);
            let s = schedule.insert(Arc::new(Mutex::new(s)));
            (0..*n).map(|_| publisher::publisher(sh.clone(), Pace::Open(s.clone()), stop_pub_rx.clone())).collect()
        }
        Load::Closed { clients } => {
            (0..*clients).map(|_| publisher::publisher(sh.clone(), Pace::Closed, stop_pub_rx.clone())).collect()
        }
    };
    let cores = cfg.threads.map(usize::from).unwrap_or_else(crate::sysinfo::cores);
    threads::spawn_on_threads(&mut publishers, cores, tasks, Some(stalls));
    let mut hosts = JoinSet::new();
    if cfg.workload.kind == WorkloadKind::Messagebox {
        // Every parallel group has its own host instances and purge job.
        for g in 0..sh.balancer.as_ref().map_or(1, |b| b.groups().len()) {
            for (i, h) in cfg.workload.messagebox.hosts.iter().enumerate() {
                for n in 1..=h.instances {
                    hosts.spawn(host_instance::host_instance(sh.clone(), g, i, n, stop_hosts_rx.clone()));
                }
            }
            hosts.spawn(cleanup_job(sh.clone(), sh.group_endpoint(g).clone(), stop_hosts_rx.clone()));
        }
        if let Some(b) = &sh.balancer {
            hosts.spawn(balancer_probe::probes(b.clone(), sh.events.clone(), stop_hosts_rx.clone()));
        }
        if sh.sso.is_some() {
            hosts.spawn(sso_worker::configuration_changes(sh.clone(), stop_hosts_rx.clone()));
        }
    }
    if let (Some(log), Some(rc)) = (&receive, &cfg.receive) {
        for n in 1..=rc.instances {
            hosts.spawn(receive_instance::receive_instance(sh.clone(), log.clone(), n, stop_hosts_rx.clone()));
        }
    }
    let reports = (cfg.reports.on != crate::config::ReportsOn::None && !report_plan.targets.is_empty())
        .then(|| Arc::new(ReportShared::new(report_plan.targets.clone(), sh.measure_start)));
    let mut conflicts_before = BTreeMap::new();
    if let Some(rs) = &reports {
        conflicts_before = reporter::server_conflicts(&rs.targets).await;
        let r = &cfg.reports;
        let s = Schedule::new(start, sh.publish_end, r.rate, Arrival::Poisson, cfg.seed ^ 0x5E9);
        let s = Arc::new(Mutex::new(s));
        for w in 0..usize::from(r.clients) {
            hosts.spawn(reporter::reporter(sh.clone(), rs.clone(), s.clone(), w, stop_hosts_rx.clone()));
        }
        if rs.targets.iter().any(|t| t.standby) {
            hosts.spawn(reporter::track_primary_lsn(endpoint.clone(), rs.clone(), stop_hosts_rx.clone()));
        }
    }
    RunningLoad { publishers, receive, hosts, schedule, reports, conflicts_before, stop_publishers, stop_hosts }
}

/// The receive location's log, in its directory (`receive/` of the results folder, else a
/// temporary one).
fn receive_log(cfg: &RunConfig) -> Arc<crate::receive::ReceiveLog> {
    let dir = cfg.receive.as_ref().and_then(|r| r.dir.clone()).unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "habench-receive-{}-{}",
            std::process::id(),
            crate::timefmt::compact(std::time::SystemTime::now())
        ))
    });
    let log =
        crate::receive::ReceiveLog::new(&dir).unwrap_or_else(|e| panic!("receive location {}: {e}", dir.display()));
    Arc::new(log)
}

/// Where the load goes: the write endpoint, and a separate SSO secret server's (`--sso
/// separate`; co-located, the secret lives behind the write endpoint).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub write: Endpoint,
    pub sso: Option<Endpoint>,
    /// Parallel groups: the balancer and each group's endpoint (`write` is the first group's).
    pub balancer: Option<Arc<crate::balancer::Balancer>>,
}

impl From<Endpoint> for Endpoints {
    fn from(write: Endpoint) -> Endpoints {
        Endpoints { write, sso: None, balancer: None }
    }
}

/// What the interval loop accumulates.
#[derive(Default)]
struct Tally {
    interval: Stats,
    totals: Stats,
    measured_s: f64,
    digests: Vec<IntervalDigest>,
    drain: DrainResult,
    drain_start: Option<Instant>,
    cpu_start: Option<(crate::measure::cpu::CpuSnapshot, Instant)>,
    cpu: Option<crate::measure::cpu::CpuUsage>,
    throttle: Option<crate::run_result::Throttling>,
}

impl Tally {
    /// Server CPU from the start of the measured phase to the end of publishing.
    fn account_cpu(&mut self, sh: &Shared, nodes: &[(String, u32)], reports: Option<&ReportShared>, end_at: Instant) {
        if self.cpu_start.is_none() && end_at >= sh.measure_start {
            self.cpu_start = Some((crate::measure::cpu::snapshot(nodes), end_at));
        } else if self.cpu.is_none() && end_at >= sh.publish_end {
            if let Some((first, at)) = &self.cpu_start {
                let last = crate::measure::cpu::snapshot(nodes);
                let pids = reports.map(|r| r.backends.lock().expect("backends lock").clone());
                let wall_s = end_at.saturating_duration_since(*at).as_secs_f64();
                self.cpu = Some(crate::measure::cpu::usage(first, &last, &pids.unwrap_or_default(), wall_s));
            }
        }
    }

    /// Closes the interval that ran from `span.0` to `span.1`: its totals, its digest for the
    /// trials, the throttle's share, and its row.
    fn close_interval(
        &mut self,
        sh: &Shared,
        phase: Phase,
        (prev_tick, end_at): (Instant, Instant),
        db: sampler::DbSample,
        throttle: Option<&mut throttle::ThrottleController>,
    ) -> IntervalRow {
        let interval_s = end_at.saturating_duration_since(prev_tick).as_secs_f64();
        if phase == Phase::Measure {
            self.totals.add(&self.interval);
            self.measured_s += end_at.saturating_duration_since(prev_tick.max(sh.measure_start)).as_secs_f64();
        }
        let messages = db.queue_depths.as_ref().zip(db.suspended).map(|(d, s)| d.iter().sum::<i64>() + s);
        let throttled = throttle.map(|t| t.update(messages, &sh.throttle));
        self.digests.push(IntervalDigest {
            t_s: sh.clock.elapsed_s(end_at),
            measured: phase == Phase::Measure,
            publish_p99_us: self
                .interval
                .op(Op::Publish)
                .or(self.interval.op(Op::Insert))
                .filter(|s| s.ok > 0)
                .map(|s| s.latency().p99),
            queue_total: db.queue_depths.as_ref().map(|d| d.iter().sum()),
            standbys: db.lag.len() as u32,
            write_lag_ms: db.lag.iter().filter_map(|l| l.write_ms).reduce(f64::min),
        });
        if let (Some(t), Some(sample)) = (self.throttle.as_mut(), throttled.as_ref()) {
            t.add(sample, interval_s, phase == Phase::Measure);
        }
        IntervalRow {
            t_s: sh.clock.elapsed_s(end_at),
            interval_s,
            phase,
            stats: self.interval.clone(),
            queue_depths: db.queue_depths,
            spool_rows: db.spool_rows,
            throttle: throttled,
            lag: db.lag,
            loadavg_1m: crate::sysinfo::loadavg().map(|l| l[0]),
            rss_bytes: crate::sysinfo::rss_bytes(),
        }
    }

    /// Whether the drain is over: the queues of the hosts that run instances are empty (a
    /// stopped host's never empties), or the drain timed out.
    fn drained(&mut self, sh: &Shared, now: Instant, depths: Option<Vec<i64>>, files: usize) -> bool {
        let since = *self.drain_start.get_or_insert(now);
        let messagebox = sh.cfg.workload.kind == WorkloadKind::Messagebox;
        // Files not yet received count as messages still to come.
        let left = if messagebox { depths.as_ref().map(|d| d.iter().sum::<i64>() + files as i64) } else { Some(0) };
        let hosts = &sh.cfg.workload.messagebox.hosts;
        let running = |d: &Vec<i64>| d.iter().zip(hosts).filter(|(_, h)| h.instances > 0).map(|(n, _)| n).sum::<i64>();
        let to_deliver = if messagebox { depths.as_ref().map(|d| running(d) + files as i64) } else { Some(0) };
        self.drain.left_in_queues = left;
        self.drain.drain_ms = now.saturating_duration_since(since).as_secs_f64() * 1e3;
        if to_deliver == Some(0) {
            self.drain.drained = true;
            return true;
        }
        now >= since + sh.cfg.drain_timeout
    }
}

/// Runs the configured load against `endpoint`. The MessageBox schema must be installed (and
/// the SSO schema where `--sso` puts it: on `sso_endpoint` when the secret server is separate,
/// else on `endpoint`).
pub async fn run(
    cfg: Arc<RunConfig>,
    endpoints: Endpoints,
    ledger: LedgerTx,
    sink: &mut dyn RunSink,
    mut abort: watch::Receiver<bool>,
    failover: Option<FailoverPlan>,
    report_plan: ReportPlan,
) -> RunResult {
    let sh = shared(cfg, endpoints, ledger);
    // habench watching itself: the main runtime's and every client thread's heartbeat.
    let stall_detector = crate::measure::stall::StallDetector::start();
    let main_beat = tokio::spawn(stall_detector.heartbeat("main"));
    let mut load = start_load(&sh, &sh.endpoint, &report_plan, stall_detector.handle()).await;
    let watchers = Watchers::start(&sh, (stall_detector, main_beat), failover);
    let mut tally = Tally {
        throttle: sh
            .cfg
            .throttle
            .map(|t| crate::run_result::Throttling { threshold: t.threshold, ..Default::default() }),
        ..Tally::default()
    };
    let stop_reason = intervals(&sh, &mut load, &mut tally, &report_plan, sink, &mut abort).await;
    let watchers = watchers.stop_failover().await;
    let receive = load.receive.clone();
    let reports = stop_load(&sh, load).await;
    let watched = watchers.finish().await;
    result(&sh, tally, stop_reason, watched, reports, receive.map(|r| r.records()))
}

/// What every task of the run shares.
fn shared(cfg: Arc<RunConfig>, endpoints: Endpoints, ledger: LedgerTx) -> Arc<Shared> {
    let Endpoints { write: endpoint, sso: sso_endpoint, balancer } = endpoints;
    let clock = RunClock::start_now();
    let measure_start = clock.start() + cfg.warmup;
    let publish_end = measure_start + cfg.duration;
    let drain_end = publish_end + cfg.drain_timeout;
    let sso =
        cfg.sso.as_ref().map(|_| Arc::new(crate::sso::SsoState::new(sso_endpoint.unwrap_or_else(|| endpoint.clone()))));
    Arc::new(Shared {
        cfg,
        clock,
        endpoint,
        recorders: crate::measure::Recorders::new(),
        ledger,
        counters: Counters::default(),
        errors: Mutex::new(ErrorLog::default()),
        measure_start,
        publish_end,
        hard_end: drain_end + Duration::from_secs(5),
        next_seq: AtomicU64::new(0),
        kills: Arc::default(),
        events: EventLog::default(),
        last_completion: Mutex::new(None),
        throttle: throttle::ThrottleGate::default(),
        balancer,
        sso,
        op_watch: watchdog::OpWatch::start(),
    })
}

/// The run's clock: one interval row per tick to the sink, until the drain is over or the run
/// is stopped; returns why it was stopped, if it was.
async fn intervals(
    sh: &Shared,
    load: &mut RunningLoad,
    tally: &mut Tally,
    report_plan: &ReportPlan,
    sink: &mut dyn RunSink,
    abort: &mut watch::Receiver<bool>,
) -> Option<String> {
    let cfg = &sh.cfg;
    let start = sh.clock.start();
    let mb = (cfg.workload.kind == WorkloadKind::Messagebox).then_some(&cfg.workload.messagebox);
    let mut sampler = match &sh.balancer {
        Some(b) => sampler::Sampler::groups(b.clone()),
        None => sampler::Sampler::One(Box::new(DbSampler::new(sh.endpoint.clone()))),
    };
    let mut throttle = cfg.throttle.map(throttle::ThrottleController::new);
    let mut stop_reason = None;
    let planned_s = (cfg.warmup + cfg.duration).as_secs_f64();
    let mut prev_tick = start;
    for tick in 1u32.. {
        let tick_at = start + cfg.interval * tick;
        tokio::select! {
            _ = tokio::time::sleep_until(tick_at.into()) => {}
            _ = abort.changed() => {
                stop_reason = Some("interrupted (SIGINT/SIGTERM) before the run finished".to_string());
            }
        }
        let now = Instant::now();
        let end_at = if stop_reason.is_some() { now } else { tick_at };
        while load.publishers.try_join_next().is_some() {}
        // The measured phase lasts until every publish scheduled in it was done: publishes
        // delayed by an outage count with the latency they had.
        let phase = if end_at <= sh.measure_start {
            Phase::Warmup
        } else if prev_tick < sh.publish_end || !load.publishers.is_empty() {
            Phase::Measure
        } else {
            Phase::Drain
        };
        tally.account_cpu(sh, &report_plan.nodes, load.reports.as_deref(), end_at);
        sh.recorders.drain_into(&mut tally.interval);
        let db = sampler.sample(mb).await;
        let row = tally.close_interval(sh, phase, (prev_tick, end_at), db, throttle.as_mut());
        let elapsed_s = sh.clock.elapsed_s(end_at);
        let progress = Progress { totals: &tally.totals, measured_s: tally.measured_s, run: cfg, elapsed_s, planned_s };
        sink.interval(&row, &progress);
        tally.interval.reset();
        prev_tick = end_at;
        if stop_reason.is_some() {
            break;
        }
        // Drain: publishing is over (late publishes included); wait for the queues to empty.
        let files = load.receive.as_ref().map_or(0, |r| r.readable());
        if now >= sh.publish_end && load.publishers.is_empty() && tally.drained(sh, now, row.queue_depths, files) {
            break;
        }
    }
    stop_reason
}

/// The run's result from what it counted, tallied and watched.
fn result(
    sh: &Shared,
    tally: Tally,
    stop_reason: Option<String>,
    watched: Watched,
    reports: Option<ReportResult>,
    receive: Option<crate::receive::ReceiveRecords>,
) -> RunResult {
    let errors = std::mem::take(&mut *sh.errors.lock().expect("error log lock"));
    let c = &sh.counters;
    RunResult {
        totals: tally.totals,
        measured_s: tally.measured_s,
        messages: MessageCounts {
            published_ok: Counters::get(&c.published_ok),
            routed_ok: Counters::get(&c.routed_ok),
            completed_ok: Counters::get(&c.completed_ok),
            suspended_ok: Counters::get(&c.suspended_ok),
            unknown: Counters::get(&c.unknown),
            not_attempted: Counters::get(&c.not_attempted),
        },
        pacing: matches!(sh.cfg.load, Load::Open { .. }).then(|| pacing_of(&c.pacing)),
        drain: tally.drain,
        errors,
        stop_reason,
        clock: sh.clock,
        digests: tally.digests,
        events: sh.events.events(),
        schedule_end_us: sh.clock.epoch_us(sh.publish_end),
        stalls: watched.stalls,
        largest_lateness: watched.largest_lateness,
        measure_start: sh.measure_start,
        max_harness_stall: sh.cfg.max_harness_stall,
        cpu: tally.cpu,
        reports,
        sync_samples: watched.sync_samples,
        receive,
        sso: sh.sso.clone(),
        throttle: tally
            .throttle
            .map(|t| crate::run_result::Throttling { delayed_publishes: Counters::get(&c.throttled_publishes), ..t }),
    }
}

/// Stops every task of the load (each finishes its operation, within the operation timeout),
/// counts the publishes never attempted, and collects the report results.
async fn stop_load(sh: &Shared, mut load: RunningLoad) -> Option<ReportResult> {
    let _ = load.stop_publishers.send(true);
    let _ = load.stop_hosts.send(true);
    let grace = sh.cfg.op_timeout + Duration::from_secs(5);
    for set in [&mut load.publishers, &mut load.hosts] {
        if tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await.is_err() {
            set.abort_all();
        }
    }
    if let Some(s) = load.schedule {
        Counters::add(&sh.counters.not_attempted, s.lock().expect("schedule lock").take_remaining());
    }
    match load.reports {
        Some(rs) => Some(report_result(&rs, &load.conflicts_before).await),
        None => None,
    }
}

/// How well the publishers kept the schedule, from their counters.
fn pacing_of(c: &shared::PacingCounters) -> Pacing {
    let woken = Counters::get(&c.woken);
    Pacing {
        woken,
        wake_late_us_mean: Counters::get(&c.wake_late_sum_us) as f64 / woken.max(1) as f64,
        wake_late_us_max: Counters::get(&c.wake_late_max_us),
        started_late: Counters::get(&c.started_late),
    }
}

/// The report statistics, with the standbys' own count of recovery conflicts (their counters
/// reach the statistics system shortly after the cancelled backend goes idle: poll briefly).
async fn report_result(rs: &ReportShared, before: &BTreeMap<String, [i64; 5]>) -> ReportResult {
    let stats = rs.stats.lock().expect("report stats lock").clone();
    let seen: u64 = stats.targets.values().map(|t| t.conflicts).sum();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let after = reporter::server_conflicts(&rs.targets).await;
        let grown = after
            .iter()
            .map(|(name, a)| {
                let b = before.get(name).copied().unwrap_or_default();
                (name.clone(), std::array::from_fn(|i| a[i] - b[i]))
            })
            .collect::<BTreeMap<String, [i64; 5]>>();
        let counted: i64 = grown.values().flat_map(|c| c.iter()).sum();
        if counted as u64 >= seen || Instant::now() >= deadline {
            return ReportResult { stats, server_conflicts: grown };
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The purge job: deletes spool rows and parts nobody references, every cleanup interval.
async fn cleanup_job(sh: Arc<Shared>, endpoint: Endpoint, mut stop: watch::Receiver<bool>) {
    let rec = sh.recorders.register();
    let every = sh.cfg.workload.messagebox.cleanup_interval;
    let mut client = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
        if client.as_ref().is_none_or(|c: &tokio_postgres::Client| c.is_closed()) {
            client = endpoint.connect_once().await.ok();
        }
        let Some(c) = client.as_ref() else { continue };
        let t0 = Instant::now();
        let outcome = match tokio::time::timeout(sh.cfg.op_timeout, cleanup(c)).await {
            Ok(Ok(_)) => Outcome::Ok,
            Ok(Err(e)) => {
                sh.note_error("cleanup", &e.message);
                e.outcome
            }
            Err(_) => {
                client = None;
                Outcome::Unknown
            }
        };
        rec.record(Op::Cleanup, outcome, clock::micros_between(t0, Instant::now()));
    }
}
