//! A measured run: warm-up, measured phase, drain. Publishers and host instances run as tokio
//! tasks with their own connections; once per interval the recorders are merged, the database
//! is sampled, and the sink (the results store) gets the interval.

mod alarm;
mod calibration;
mod host_instance;
pub mod ledger;
pub mod pacing;
mod publisher;
pub mod reporter;
pub mod sampler;
mod shared;
mod threads;
mod watchdog;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use habench_workloads::messagebox::cleanup;
use habench_workloads::Outcome;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Arrival, Load, RunConfig, WorkloadKind};
use crate::failover::trials::IntervalDigest;
use crate::failover::{EventLog, FailoverPlan};
use crate::measure::clock;
use crate::measure::{IntervalRow, Op, Phase, RunClock, Stats};
use crate::pg::Endpoint;
use ledger::LedgerTx;
use pacing::Schedule;
use publisher::Pace;
use reporter::{ReportPlan, ReportShared};
use sampler::DbSampler;
pub use shared::ErrorLog;
use shared::{Counters, Shared};

/// Receives each interval as the run goes (the results store, the progress line).
pub trait RunSink: Send {
    fn interval(&mut self, row: &IntervalRow, so_far: &Progress<'_>);
}

/// The state of the run after an interval.
#[derive(Debug)]
pub struct Progress<'a> {
    pub totals: &'a Stats,
    pub measured_s: f64,
    pub run: &'a RunConfig,
    pub elapsed_s: f64,
    pub planned_s: f64,
}

/// Whole-run message counts (warm-up and drain included).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageCounts {
    pub published_ok: u64,
    /// Queue entries created by acknowledged publishes (one per subscribed host).
    pub routed_ok: u64,
    pub completed_ok: u64,
    pub suspended_ok: u64,
    /// Operations whose outcome is unknown (connection lost or timed out at commit).
    pub unknown: u64,
    /// Scheduled publishes never attempted (the run was stopped, or no server came back).
    pub not_attempted: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DrainResult {
    /// Every host queue was empty when the run ended.
    pub drained: bool,
    pub drain_ms: f64,
    pub left_in_queues: Option<i64>,
}

/// Open loop, measured phase: how well the publishers kept the schedule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pacing {
    /// Slots a publisher was idle for and waited until the intended start.
    pub woken: u64,
    /// How late those publishers woke after the intended start (µs): habench's timing error.
    pub wake_late_us_mean: f64,
    pub wake_late_us_max: u64,
    /// Slots that found every publisher busy and started late (their latency counts from the
    /// intended start all the same).
    pub started_late: u64,
}

impl Pacing {
    fn of(c: &shared::PacingCounters) -> Pacing {
        let woken = Counters::get(&c.woken);
        Pacing {
            woken,
            wake_late_us_mean: Counters::get(&c.wake_late_sum_us) as f64 / woken.max(1) as f64,
            wake_late_us_max: Counters::get(&c.wake_late_max_us),
            started_late: Counters::get(&c.started_late),
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Measured phase only (warm-up and drain excluded).
    pub totals: Stats,
    pub measured_s: f64,
    pub messages: MessageCounts,
    /// Open loop only.
    pub pacing: Option<Pacing>,
    pub drain: DrainResult,
    pub errors: ErrorLog,
    /// None when the run completed; otherwise why it stopped.
    pub stop_reason: Option<String>,
    pub clock: RunClock,
    /// Per interval, what the failover analysis needs.
    pub digests: Vec<IntervalDigest>,
    /// Faults injected and what the orchestrator did.
    pub events: Vec<crate::failover::Event>,
    /// When the publish schedule ended: the planned end of the measured phase (wall-clock µs).
    pub schedule_end_us: i64,
    /// Server CPU over the measured phase (topologies habench started).
    pub cpu: Option<crate::measure::cpu::CpuUsage>,
    /// What the report queries measured, when there were any.
    pub reports: Option<ReportResult>,
}

/// The report load's results.
#[derive(Debug)]
pub struct ReportResult {
    pub stats: crate::measure::reports::ReportStats,
    /// Standby -> growth of `pg_stat_database_conflicts` (tablespace, lock, snapshot,
    /// bufferpin, deadlock) over the run.
    pub server_conflicts: BTreeMap<String, [i64; 5]>,
}

/// Runs the configured load against `endpoint`. The MessageBox schema must be installed.
pub async fn run(
    cfg: Arc<RunConfig>,
    endpoint: Endpoint,
    ledger: LedgerTx,
    sink: &mut dyn RunSink,
    mut abort: watch::Receiver<bool>,
    failover: Option<FailoverPlan>,
    report_plan: ReportPlan,
) -> RunResult {
    let clock = RunClock::start_now();
    let start = clock.start();
    let measure_start = start + cfg.warmup;
    let publish_end = measure_start + cfg.duration;
    let drain_end = publish_end + cfg.drain_timeout;
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        clock,
        endpoint: endpoint.clone(),
        recorders: crate::measure::Recorders::new(),
        ledger,
        counters: Counters::default(),
        errors: Mutex::new(ErrorLog::default()),
        measure_start,
        publish_end,
        hard_end: drain_end + Duration::from_secs(5),
        next_seq: AtomicU64::new(0),
        kill_host: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        events: EventLog::default(),
        last_completion: Mutex::new(None),
    });
    let (stop_pub_tx, stop_pub_rx) = watch::channel(false);
    let (stop_hosts_tx, stop_hosts_rx) = watch::channel(false);

    let mut publishers = JoinSet::new();
    let mut schedule = None;
    let tasks: Vec<_> = match &cfg.load {
        Load::Open { rate, arrival, publishers: n } => {
            let s = schedule.insert(Arc::new(Mutex::new(Schedule::new(start, publish_end, *rate, *arrival, cfg.seed))));
            (0..*n).map(|_| publisher::publisher(sh.clone(), Pace::Open(s.clone()), stop_pub_rx.clone())).collect()
        }
        Load::Closed { clients } => {
            (0..*clients).map(|_| publisher::publisher(sh.clone(), Pace::Closed, stop_pub_rx.clone())).collect()
        }
    };
    let cores = match cfg.threads {
        Some(n) => usize::from(n),
        None => crate::sysinfo::cores(),
    };
    threads::spawn_on_threads(&mut publishers, cores, tasks);
    let messagebox = cfg.workload.kind == WorkloadKind::Messagebox;
    let mut hosts = JoinSet::new();
    if messagebox {
        for (i, h) in cfg.workload.messagebox.hosts.iter().enumerate() {
            for n in 1..=h.instances {
                hosts.spawn(host_instance::host_instance(sh.clone(), i, n, stop_hosts_rx.clone()));
            }
        }
        hosts.spawn(cleanup_job(sh.clone(), stop_hosts_rx.clone()));
    }
    let reports = (cfg.reports.on != crate::config::ReportsOn::None && !report_plan.targets.is_empty())
        .then(|| Arc::new(ReportShared::new(report_plan.targets.clone(), measure_start)));
    let mut conflicts_before = BTreeMap::new();
    if let Some(rs) = &reports {
        conflicts_before = reporter::server_conflicts(&rs.targets).await;
        let r = &cfg.reports;
        let s = Arc::new(Mutex::new(Schedule::new(start, publish_end, r.rate, Arrival::Poisson, cfg.seed ^ 0x5E9)));
        for w in 0..usize::from(r.clients) {
            hosts.spawn(reporter::reporter(sh.clone(), rs.clone(), s.clone(), w, stop_hosts_rx.clone()));
        }
        if rs.targets.iter().any(|t| t.standby) {
            hosts.spawn(reporter::track_primary_lsn(endpoint.clone(), rs.clone(), stop_hosts_rx.clone()));
        }
    }
    let mut cpu_start = None;
    let mut cpu = None;

    let (stop_failover_tx, stop_failover_rx) = watch::channel(false);
    let failover_task = failover.filter(|p| !p.faults.is_empty()).map(|plan| {
        tokio::spawn(crate::failover::drive(
            plan,
            measure_start,
            sh.events.clone(),
            sh.kill_host.clone(),
            stop_failover_rx,
        ))
    });
    let mut digests = Vec::new();

    let mb = messagebox.then_some(&cfg.workload.messagebox);
    let mut sampler = DbSampler::new(endpoint);
    let mut interval = Stats::default();
    let mut totals = Stats::default();
    let mut measured_s = 0.0;
    let mut stop_reason = None;
    let mut drain = DrainResult::default();
    let planned_s = (cfg.warmup + cfg.duration).as_secs_f64();
    let mut prev_tick = start;
    let mut drain_start = None;
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
        while publishers.try_join_next().is_some() {}
        // The measured phase lasts until every publish scheduled in it was done: publishes
        // delayed by an outage count with the latency they had.
        let phase = if end_at <= measure_start {
            Phase::Warmup
        } else if prev_tick < publish_end || !publishers.is_empty() {
            Phase::Measure
        } else {
            Phase::Drain
        };
        if cpu_start.is_none() && end_at >= measure_start {
            cpu_start = Some((crate::measure::cpu::snapshot(&report_plan.nodes), end_at));
        } else if cpu.is_none() && end_at >= publish_end {
            if let Some((first, at)) = &cpu_start {
                let last = crate::measure::cpu::snapshot(&report_plan.nodes);
                let pids = reports.as_ref().map(|r| r.backends.lock().expect("backends lock").clone());
                let wall_s = end_at.saturating_duration_since(*at).as_secs_f64();
                cpu = Some(crate::measure::cpu::usage(first, &last, &pids.unwrap_or_default(), wall_s));
            }
        }
        sh.recorders.drain_into(&mut interval);
        let db = sampler.sample(mb).await;
        if phase == Phase::Measure {
            totals.add(&interval);
            measured_s += end_at.saturating_duration_since(prev_tick.max(measure_start)).as_secs_f64();
        }
        let depths = db.queue_depths.clone();
        digests.push(IntervalDigest {
            t_s: clock.elapsed_s(end_at),
            measured: phase == Phase::Measure,
            publish_p99_us: interval
                .op(Op::Publish)
                .or(interval.op(Op::Insert))
                .filter(|s| s.ok > 0)
                .map(|s| s.latency().p99),
            queue_total: depths.as_ref().map(|d| d.iter().sum()),
        });
        let row = IntervalRow {
            t_s: clock.elapsed_s(end_at),
            interval_s: end_at.saturating_duration_since(prev_tick).as_secs_f64(),
            phase,
            stats: interval.clone(),
            queue_depths: db.queue_depths,
            spool_rows: db.spool_rows,
            lag: db.lag,
            loadavg_1m: crate::sysinfo::loadavg().map(|l| l[0]),
            rss_bytes: crate::sysinfo::rss_bytes(),
        };
        let progress =
            Progress { totals: &totals, measured_s, run: &cfg, elapsed_s: clock.elapsed_s(end_at), planned_s };
        sink.interval(&row, &progress);
        interval.reset();
        prev_tick = end_at;
        if stop_reason.is_some() {
            break;
        }
        if now >= publish_end && publishers.is_empty() {
            // Drain: publishing is over (late publishes included); wait for the queues to empty.
            let since = *drain_start.get_or_insert(now);
            let left = if messagebox { depths.map(|d| d.iter().sum::<i64>()) } else { Some(0) };
            drain.left_in_queues = left;
            drain.drain_ms = now.saturating_duration_since(since).as_secs_f64() * 1e3;
            if left == Some(0) {
                drain.drained = true;
                break;
            }
            if now >= since + cfg.drain_timeout {
                break;
            }
        }
    }
    let _ = stop_failover_tx.send(true);
    if let Some(t) = failover_task {
        // The orchestrator finishes what it is doing (a promotion holds the topology).
        let _ = t.await;
    }
    let _ = stop_pub_tx.send(true);
    let _ = stop_hosts_tx.send(true);
    let grace = cfg.op_timeout + Duration::from_secs(5);
    for set in [&mut publishers, &mut hosts] {
        if tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await.is_err() {
            set.abort_all();
        }
    }
    if let Some(s) = schedule {
        Counters::add(&sh.counters.not_attempted, s.lock().expect("schedule lock").take_remaining());
    }
    let reports = match reports {
        Some(rs) => Some(report_result(&rs, &conflicts_before).await),
        None => None,
    };
    let errors = std::mem::take(&mut *sh.errors.lock().expect("error log lock"));
    let c = &sh.counters;
    RunResult {
        totals,
        measured_s,
        messages: MessageCounts {
            published_ok: Counters::get(&c.published_ok),
            routed_ok: Counters::get(&c.routed_ok),
            completed_ok: Counters::get(&c.completed_ok),
            suspended_ok: Counters::get(&c.suspended_ok),
            unknown: Counters::get(&c.unknown),
            not_attempted: Counters::get(&c.not_attempted),
        },
        pacing: matches!(cfg.load, Load::Open { .. }).then(|| Pacing::of(&c.pacing)),
        drain,
        errors,
        stop_reason,
        clock,
        digests,
        events: sh.events.events(),
        schedule_end_us: clock.epoch_us(publish_end),
        cpu,
        reports,
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
async fn cleanup_job(sh: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let rec = sh.recorders.register();
    let every = sh.cfg.workload.messagebox.cleanup_interval;
    let mut client = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
        if client.as_ref().is_none_or(|c: &tokio_postgres::Client| c.is_closed()) {
            client = sh.endpoint.connect_once().await.ok();
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
