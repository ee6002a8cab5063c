//! The effective configuration of a run: a scenario file (optional) with the flags on top,
//! validated once into typed values. Everything downstream reads only these types.

pub mod overrides;
pub mod receive;
pub mod reports;
pub mod scenario;
pub mod sso;
pub mod throttle;
pub mod topology;

use std::path::PathBuf;
use std::time::Duration;

use habench_workloads::duration::serde_str;
use habench_workloads::messagebox::MessageBoxConfig;
use serde::Serialize;

pub use overrides::{Overrides, TopologyOverrides};
pub use receive::{ReceiveConfig, ReceiveLock};
pub use reports::{ReportsConfig, ReportsOn};
pub use scenario::{Arrival, Driver, LoadMode, WorkloadKind};
pub use sso::{SsoConfig, SsoMode};
pub use throttle::ThrottleConfig;

use crate::error::{Error, Result};
use crate::pg::dsn;
use crate::topology::{TopologyKind, TopologySpec};

/// What the load is run against.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A topology habench starts.
    Topology(TopologySpec),
    /// An existing server (`--target-dsn`), parsed once; serialized without its password.
    Dsn { dsn: dsn::UserDsn },
    /// A cluster that runs elsewhere (`--cluster FILE`); faults through its commands or REST API.
    Cluster { cluster: crate::cluster::ClusterFile },
}

/// How publishes are paced.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Load {
    /// A schedule at `rate` publishes/s; latency counts from each intended start.
    Open { rate: f64, arrival: Arrival, publishers: u16 },
    /// `clients` connections publishing back to back.
    Closed { clients: u16 },
}

/// Open loop: from `at` after the start of the measured phase, the schedule runs at `rate`
/// (an overdrive and the lower load after it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateChange {
    #[serde(with = "serde_str")]
    pub at: Duration,
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// insert: bytes per row.
    pub payload_bytes: u32,
    /// insert: the client library.
    pub driver: Driver,
    pub messagebox: MessageBoxConfig,
}

/// A stall of habench longer than this in the measured phase compromises a run.
pub const DEFAULT_MAX_HARNESS_STALL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub scenario: String,
    /// The scenario's variant (`[[variants]]`), when it has several.
    pub variant: Option<String>,
    pub scenario_source: String,
    pub target: Target,
    pub workload: Workload,
    pub load: Load,
    #[serde(with = "serde_str")]
    pub duration: Duration,
    #[serde(with = "serde_str")]
    pub warmup: Duration,
    pub seed: u64,
    #[serde(with = "serde_str")]
    pub op_timeout: Duration,
    /// `--sync-wait-timeout`: commits still waiting for a standby after this are cancelled.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_duration")]
    pub sync_wait_timeout: Option<Duration>,
    /// Longest wait, after the measured phase, for the host queues to empty.
    #[serde(with = "serde_str")]
    pub drain_timeout: Duration,
    /// Length of one timeline interval.
    #[serde(with = "serde_str")]
    pub interval: Duration,
    /// Faults, from the start of the measured phase.
    pub faults: Vec<crate::fault::FaultSpec>,
    pub orchestrator: crate::failover::OrchestratorConfig,
    /// The checker fails on duplicated deliveries.
    pub exactly_once: bool,
    /// Repetitions of the run (each on a fresh topology) when there are faults.
    pub trials: u32,
    /// Report queries beside the message traffic.
    pub reports: ReportsConfig,
    /// Client threads for the publishers (pgbench's -j); None: one per core.
    pub threads: Option<u16>,
    /// Publishing throttled above a message count in the MessageBox (`--throttle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// Open loop: rate changes during the measured phase (set by `habench capacity --overdrive`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_changes: Vec<RateChange>,
    /// A receive location: files a feeder writes, read and published by receive instances
    /// (instead of the publishers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive: Option<ReceiveConfig>,
    /// The SSO master secret: its server, and what of the load needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoConfig>,
    /// Leave the servers of the last trial running for inspection.
    #[serde(skip)]
    pub keep: bool,
    /// A stall of habench itself longer than this in the measured phase compromises the run.
    #[serde(with = "serde_str")]
    pub max_harness_stall: Duration,
    #[serde(skip)]
    pub out: Option<PathBuf>,
    #[serde(skip)]
    pub quiet: bool,
}

impl RunConfig {
    /// Merges scenario and flags (flags win) and validates the result (the first variant when
    /// the scenario has several).
    pub fn from_overrides(args: &Overrides) -> Result<RunConfig> {
        Ok(Self::variants(args)?.remove(0))
    }

    /// One configuration per variant of the scenario (`[[variants]]`: the same load and faults
    /// on different topologies), or just one. `--topology` and `--target-dsn` pick one target;
    /// `--reports-on` sets where every variant's reports go (variants that differ only in that
    /// become one run).
    pub fn variants(args: &Overrides) -> Result<Vec<RunConfig>> {
        match &args.scenario {
            Some(s) => {
                let l = scenario::load(s).map_err(|e| Error::config("SCENARIO", e))?;
                Self::variants_of(args, l.file, &l.source, &l.text)
            }
            None => Self::variants_of(args, scenario::ScenarioFile::default(), "flags only", ""),
        }
    }

    /// The same for a scenario given as text (`source` names it in errors).
    pub fn variants_from_text(args: &Overrides, source: &str, text: &str) -> Result<Vec<RunConfig>> {
        let file = scenario::parse(text).map_err(|e| Error::config(source, e))?;
        Self::variants_of(args, file, source, text)
    }

    fn variants_of(args: &Overrides, file: scenario::ScenarioFile, source: &str, text: &str) -> Result<Vec<RunConfig>> {
        let at = Origin { source, text };
        let own_topology = file.variants.iter().any(|v| v.topology.is_some());
        if file.variants.is_empty()
            || (own_topology && (args.topology.is_some() || args.target_dsn.is_some() || args.cluster.is_some()))
            || (!own_topology && args.reports_on.is_some())
        {
            return Ok(vec![Self::build(args, &file, &at, file.topology.as_ref(), &file.faults, None)?]);
        }
        file.variants
            .iter()
            .map(|v| {
                let topology = v.topology.as_ref().or(file.topology.as_ref());
                let faults = v.faults.as_ref().unwrap_or(&file.faults);
                let mut cfg = Self::build(args, &file, &at, topology, faults, Some(v.name.clone()))?;
                if let (Some(on), None) = (v.reports_on, args.reports_on) {
                    cfg.reports.on = on;
                    check_reports(&cfg, &at.key(false, "--reports-on", "variants.reports_on"))?;
                }
                Ok(cfg)
            })
            .collect()
    }

    fn build(
        args: &Overrides,
        file: &scenario::ScenarioFile,
        at: &Origin<'_>,
        topology: Option<&scenario::TopologySection>,
        file_faults: &[crate::fault::FaultEntry],
        variant: Option<String>,
    ) -> Result<RunConfig> {
        let faults = if args.faults.is_empty() {
            file_faults
                .iter()
                .map(|f| f.to_spec())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::config(at.key(false, "--fault", "faults"), e))?
        } else {
            args.faults.clone()
        };
        let target = target(args, at, topology, &faults)?;
        let workload = workload(args, file, at)?;
        let load = load(args, file, at)?;
        let lsec = file.load.clone().unwrap_or_default();
        let duration = args.duration.or(file.duration.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
        if duration < Duration::from_secs(1) || duration > MAX_DURATION {
            return Err(Error::config(at.key(args.duration.is_some(), "--duration", "duration"), "give 1s to 7d"));
        }
        let warmup = args.warmup.or(file.warmup.map(|d| d.0)).unwrap_or(Duration::from_secs(5));
        if warmup > MAX_DURATION {
            return Err(Error::config(at.key(args.warmup.is_some(), "--warmup", "warmup"), "give 0s to 7d"));
        }
        let op_timeout = args.op_timeout.or(lsec.op_timeout.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
        if op_timeout < Duration::from_millis(10) || op_timeout > Duration::from_secs(3600) {
            return Err(Error::config(
                at.key(args.op_timeout.is_some(), "--op-timeout", "load.op_timeout"),
                "give 10ms to 1h",
            ));
        }
        let max_harness_stall = args.max_harness_stall.unwrap_or(DEFAULT_MAX_HARNESS_STALL);
        if max_harness_stall < crate::measure::stall::RECORD_OVER || max_harness_stall > Duration::from_secs(3600) {
            return Err(Error::config("--max-harness-stall", "give 50ms to 1h (default 200ms)"));
        }
        let sync_wait_timeout = args.sync_wait_timeout.or(lsec.sync_wait_timeout.map(|d| d.0));
        if let Some(d) = sync_wait_timeout {
            let key = at.key(args.sync_wait_timeout.is_some(), "--sync-wait-timeout", "load.sync_wait_timeout");
            if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
                return Err(Error::config(key, "give 1ms to 1h"));
            }
            if let Target::Topology(s) = &target {
                if !matches!(s.kind, TopologyKind::Sync | TopologyKind::Patroni) {
                    return Err(Error::config(
                        key,
                        format!(
                            "{} has no synchronous standby, so no commit waits; use --topology sync or patroni",
                            s.kind
                        ),
                    ));
                }
            }
        }
        let drain_timeout = lsec.drain_timeout.map(|d| d.0).unwrap_or(Duration::from_secs(60));
        if drain_timeout > Duration::from_secs(3600) {
            return Err(Error::config(at.key(false, "drain_timeout", "load.drain_timeout"), "give 0s to 1h"));
        }
        let seed = args.seed.or(file.seed).unwrap_or_else(random_seed);
        let scenario = file.name.clone().unwrap_or_else(|| match workload.kind {
            WorkloadKind::Insert => "insert".into(),
            WorkloadKind::Messagebox => "run".into(),
        });
        scenario::check_plain_name(&scenario).map_err(|e| Error::config(at.key(false, "name", "name"), e))?;
        let topo_kind = match &target {
            Target::Topology(s) => Some(s.kind),
            Target::Dsn { .. } | Target::Cluster { .. } => None,
        };
        let fault_source = at.key(!args.faults.is_empty(), "--fault", "faults");
        for f in &faults {
            match &target {
                Target::Cluster { cluster } if !f.kind.on_workers() => f.kind.applies_to_cluster(cluster),
                _ => check_fault(f.kind, topo_kind, workload.kind),
            }
            .map_err(|e| Error::config(fault_source.clone(), e))?;
            // A fault may last past the measured phase (a long pause, say), but one that would
            // start after it would never be injected.
            if f.at >= duration {
                return Err(Error::config(
                    fault_source.clone(),
                    format!(
                        "{}@{}: the measured phase is {} long, so it would never be injected; \
                         inject it earlier or run longer (--duration)",
                        f.kind,
                        habench_workloads::duration::format_duration(f.at),
                        habench_workloads::duration::format_duration(duration)
                    ),
                ));
            }
        }
        let orchestrator = orchestrator(args, file, at)?;
        if !orchestrator.fence {
            check_no_fence(topo_kind)
                .map_err(|e| Error::config(at.key(args.no_fence, "--no-fence", "orchestrator.fence"), e))?;
        }
        let exactly_once = args.exactly_once || file.check.as_ref().and_then(|c| c.exactly_once).unwrap_or(false);
        let trials = args.trials.or(file.trials).unwrap_or(1);
        let trials_at = at.key(args.trials.is_some(), "--trials", "trials");
        if trials == 0 || trials > 100 {
            return Err(Error::config(trials_at, "give 1 to 100"));
        }
        if trials > 1 && faults.is_empty() {
            return Err(Error::config(trials_at, "trials repeat a fault; give one with --fault or [[faults]]"));
        }
        let reports = reports_config(args, file, at)?;
        if args.threads.is_some_and(|t| t == 0 || t > 64) {
            return Err(Error::config("--threads", "give 1 to 64 client threads"));
        }
        let throttle = throttle(args, workload.kind)?;
        let receive = receive::receive(args.receive, file.receive.as_ref(), at, workload.kind, &load)?;
        if receive.is_none() && faults.iter().any(|f| f.kind == crate::fault::FaultKind::KillReceiveInstance) {
            return Err(Error::config(
                fault_source.clone(),
                "kill-receive-instance needs a receive location: use `habench run receive`, or add [receive]",
            ));
        }
        let sso = sso::sso(args.sso, file.sso.as_ref(), at, workload.kind, &target)?;
        if sso.as_ref().is_none_or(|s| s.mode != SsoMode::Separate)
            && faults.iter().any(|f| f.kind == crate::fault::FaultKind::SsoOutage)
        {
            return Err(Error::config(
                fault_source.clone(),
                "sso-outage stops a separate secret server: add --sso separate (co-located, the secret server is \
                 the MessageBox's own cluster: use a fault of the database)",
            ));
        }
        let cfg = RunConfig {
            scenario,
            variant,
            scenario_source: at.source.to_string(),
            target,
            workload,
            load,
            duration,
            warmup,
            seed,
            op_timeout,
            sync_wait_timeout,
            drain_timeout,
            interval: Duration::from_secs(1),
            faults,
            orchestrator,
            exactly_once,
            trials,
            reports,
            threads: args.threads,
            throttle,
            rate_changes: Vec::new(),
            receive,
            sso,
            keep: args.keep,
            max_harness_stall,
            out: args.out.clone(),
            quiet: args.quiet,
        };
        check_parallel(&cfg)?;
        check_reports(&cfg, &at.key(args.reports_on.is_some(), "--reports-on", "reports.on"))?;
        Ok(cfg)
    }

    /// Whether the run has standbys that can serve reads.
    pub fn has_readable_standbys(&self) -> bool {
        match &self.target {
            Target::Topology(s) => {
                matches!(s.kind, TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping) && s.standbys > 0
            }
            Target::Dsn { .. } | Target::Cluster { .. } => false,
        }
    }
}

/// `--throttle N`: only the MessageBox has queues to count.
fn throttle(args: &Overrides, kind: WorkloadKind) -> Result<Option<ThrottleConfig>> {
    let Some(n) = args.throttle else { return Ok(None) };
    if kind != WorkloadKind::Messagebox {
        return Err(Error::config("--throttle", "it counts MessageBox queue entries; the insert workload has none"));
    }
    ThrottleConfig::with_threshold(n).map(Some)
}

/// The longest measured phase or warm-up habench accepts.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where the values of a run come from, so that an error names its true source: the flag when
/// one was given, else the scenario's line and key.
#[derive(Debug)]
pub(crate) struct Origin<'a> {
    pub source: &'a str,
    pub text: &'a str,
}

impl Origin<'_> {
    /// `flag` when it was given (or the file does not set `key`), else `SOURCE, line N: [table] key`.
    pub fn key(&self, flag_given: bool, flag: &str, key: &str) -> String {
        if flag_given {
            return flag.to_string();
        }
        match scenario::line_of(self.text, key) {
            Some(n) => {
                let shown = match key.rsplit_once('.') {
                    Some((table, name)) => format!("[{table}] {name}"),
                    None => key.to_string(),
                };
                format!("{}, line {n}: {shown}", self.source)
            }
            None => flag.to_string(),
        }
    }
}

fn target(
    args: &Overrides,
    at: &Origin<'_>,
    section: Option<&scenario::TopologySection>,
    faults: &[crate::fault::FaultSpec],
) -> Result<Target> {
    if let Some(path) = &args.cluster {
        let flags = &args.topology_flags;
        if flags.standbys.is_some() || flags.sync_commit.is_some() || !flags.pg_set.is_empty() || flags.nodes.is_some()
        {
            return Err(Error::config(
                "--cluster",
                "runs against a cluster that already runs: habench starts nothing, so drop the topology flags",
            ));
        }
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::config("--cluster", format!("{shown}: {e}")))?;
        let cluster = crate::cluster::ClusterFile::parse(&shown, &text).map_err(|e| Error::config("--cluster", e))?;
        return Ok(Target::Cluster { cluster });
    }
    if let Some(raw) = &args.target_dsn {
        let parsed = dsn::UserDsn::parse(raw).map_err(|e| Error::config("--target-dsn", e))?;
        let flags = &args.topology_flags;
        if flags.standbys.is_some() || flags.sync_commit.is_some() || !flags.pg_set.is_empty() {
            return Err(Error::config(
                "--target-dsn",
                "runs against an existing server: habench starts no topology, so drop --standbys, --sync-commit and --pg-set",
            ));
        }
        return Ok(Target::Dsn { dsn: parsed });
    }
    let kind = match (args.topology, section) {
        (Some(k), _) => k,
        (None, Some(t)) => t.kind,
        (None, None) => TopologyKind::Single,
    };
    let mut spec = if kind == TopologyKind::Parallel {
        topology::parallel(section, &args.topology_flags, at)?
    } else {
        topology::refuse_parallel_keys(kind, section, &args.topology_flags, at)?;
        let spec = topology::from_section(TopologySpec::new(kind), section, at)?;
        topology::apply(spec, &args.topology_flags)?
    };
    for f in faults {
        f.kind
            .applies_to(spec.kind)
            .map_err(|e| Error::config(at.key(!args.faults.is_empty(), "--fault", "faults"), e))?;
    }
    // A partitioned Patroni node needs links around every node (postgres, REST, DCS).
    if let (Some(engine), true) =
        (spec.engine.as_mut(), faults.iter().any(|f| f.kind == crate::fault::FaultKind::PartitionPrimary))
    {
        if engine.engine_set.get("failsafe_mode").and_then(|v| v.as_bool()) == Some(true) {
            return Err(Error::config(
                at.key(!args.faults.is_empty(), "--fault", "faults"),
                "partition-primary with failsafe_mode on: the partitioned leader would still reach the other \
                 members' REST API (links are emulated per node, not per pair), so the partition would be \
                 incomplete; drop failsafe_mode=true for this fault",
            ));
        }
        engine.links = true;
    }
    // Faults on links need links: zero-delay ones where none were given.
    if matches!(spec.kind, TopologyKind::Sync | TopologyKind::Async) {
        if faults.iter().any(|f| f.kind.needs_links()) {
            for name in spec.node_names().into_iter().skip(1) {
                spec.links.entry(name).or_default();
            }
        }
        if faults.iter().any(|f| f.kind.needs_client_links()) {
            spec.client_link.get_or_insert_with(Default::default);
        }
    }
    Ok(Target::Topology(spec))
}

fn workload(args: &Overrides, file: &scenario::ScenarioFile, at: &Origin<'_>) -> Result<Workload> {
    let wsec = file.workload.clone().unwrap_or_default();
    let kind = args.workload.or(wsec.kind).unwrap_or(WorkloadKind::Messagebox);
    let payload_bytes = args.payload_bytes.or(wsec.payload_bytes).unwrap_or(100);
    if payload_bytes == 0 || payload_bytes > 100 * 1024 * 1024 {
        return Err(Error::config(
            at.key(args.payload_bytes.is_some(), "--payload-bytes", "workload.payload_bytes"),
            "give 1 byte to 100 MiB",
        ));
    }
    if args.payload_bytes.is_some() && kind != WorkloadKind::Insert {
        return Err(Error::config("--payload-bytes", "applies to --workload insert only"));
    }
    let driver = args.driver.or(wsec.driver).unwrap_or(Driver::Wire);
    if args.driver.is_some() && kind != WorkloadKind::Insert {
        return Err(Error::config(
            "--driver",
            "applies to --workload insert only (MessageBox operations use tokio-postgres)",
        ));
    }
    let messagebox = file.messagebox.clone().unwrap_or_default();
    messagebox.validate().map_err(|e| Error::config(at.key(false, "[messagebox]", "messagebox"), e))?;
    Ok(Workload { kind, payload_bytes, driver, messagebox })
}

fn load(args: &Overrides, file: &scenario::ScenarioFile, at: &Origin<'_>) -> Result<Load> {
    let lsec = file.load.clone().unwrap_or_default();
    let mode = if args.clients.is_some() {
        LoadMode::Closed
    } else if args.rate.is_some() {
        LoadMode::Open
    } else {
        lsec.mode.unwrap_or(if lsec.clients.is_some() && lsec.rate.is_none() {
            LoadMode::Closed
        } else {
            LoadMode::Open
        })
    };
    Ok(match mode {
        LoadMode::Open => {
            let rate = args.rate.or(lsec.rate).unwrap_or(100.0);
            if !(rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0) {
                return Err(Error::config(
                    at.key(args.rate.is_some(), "--rate", "load.rate"),
                    format!(
                        "{rate} is not a rate; give publishes per second, more than 0 and at most 1000000, e.g. 500"
                    ),
                ));
            }
            let arrival = args.arrival.or(lsec.arrival).unwrap_or(Arrival::Poisson);
            let publishers = args.publishers.or(lsec.publishers).unwrap_or(8);
            if publishers == 0 || publishers > 500 {
                return Err(Error::config(
                    at.key(args.publishers.is_some(), "--publishers", "load.publishers"),
                    "give 1 to 500 connections",
                ));
            }
            Load::Open { rate, arrival, publishers }
        }
        LoadMode::Closed => {
            let clients = args.clients.or(lsec.clients).unwrap_or(4);
            if clients == 0 || clients > 500 {
                return Err(Error::config(
                    at.key(args.clients.is_some(), "--clients", "load.clients"),
                    "give 1 to 500",
                ));
            }
            Load::Closed { clients }
        }
    })
}

fn orchestrator(
    args: &Overrides,
    file: &scenario::ScenarioFile,
    at: &Origin<'_>,
) -> Result<crate::failover::OrchestratorConfig> {
    let osec = file.orchestrator.clone().unwrap_or_default();
    let mut o = crate::failover::OrchestratorConfig::default();
    if let Some(d) = args.probe_interval.or(osec.probe_interval.map(|d| d.0)) {
        o.probe_interval = d;
    }
    if let Some(n) = args.probe_threshold.or(osec.probe_threshold) {
        o.probe_threshold = n;
    }
    if let Some(d) = args.manual_delay.or(osec.manual_delay.map(|d| d.0)) {
        o.manual_delay = d;
    }
    if let Some(f) = osec.p99_factor {
        o.p99_factor = f;
    }
    o.heal = !args.no_heal && osec.heal.unwrap_or(true);
    o.fence = !args.no_fence && osec.fence.unwrap_or(true);
    if o.probe_interval < Duration::from_millis(10) || o.probe_interval > Duration::from_secs(600) {
        return Err(Error::config(
            at.key(args.probe_interval.is_some(), "--probe-interval", "orchestrator.probe_interval"),
            "give 10ms to 10m",
        ));
    }
    if o.probe_threshold == 0 || o.probe_threshold > 10_000 {
        return Err(Error::config(
            at.key(args.probe_threshold.is_some(), "--probe-threshold", "orchestrator.probe_threshold"),
            "give 1 to 10000 missed probes",
        ));
    }
    if o.manual_delay > Duration::from_secs(24 * 3600) {
        return Err(Error::config(
            at.key(args.manual_delay.is_some(), "--manual-delay", "orchestrator.manual_delay"),
            "give 0s to 24h",
        ));
    }
    if !(o.p99_factor.is_finite() && (1.0..=1000.0).contains(&o.p99_factor)) {
        return Err(Error::config(at.key(false, "p99_factor", "orchestrator.p99_factor"), "give 1 to 1000"));
    }
    Ok(o)
}

fn reports_config(args: &Overrides, file: &scenario::ScenarioFile, at: &Origin<'_>) -> Result<ReportsConfig> {
    let sec = file.reports.clone().unwrap_or_default();
    let mut r = ReportsConfig::default();
    r.on = args.reports_on.or(sec.on).unwrap_or(r.on);
    r.rate = args.report_rate.or(sec.rate).unwrap_or(r.rate);
    r.clients = args.report_clients.or(sec.clients).unwrap_or(r.clients);
    r.window = sec.window.map(|d| d.0).unwrap_or(r.window);
    r.mix = args.report_mix.or(sec.mix).unwrap_or(r.mix);
    r.standbys =
        if args.report_standbys.is_empty() { sec.standbys.unwrap_or_default() } else { args.report_standbys.clone() };
    if !(r.rate.is_finite() && r.rate > 0.0 && r.rate <= 100_000.0) {
        return Err(Error::config(
            at.key(args.report_rate.is_some(), "--report-rate", "reports.rate"),
            format!(
                "{} is not a rate; give report queries per second, more than 0 and at most 100000, e.g. 20",
                r.rate
            ),
        ));
    }
    if r.clients == 0 || r.clients > 200 {
        return Err(Error::config(
            at.key(args.report_clients.is_some(), "--report-clients", "reports.clients"),
            "give 1 to 200 concurrent report workers",
        ));
    }
    if r.window < Duration::from_secs(1) || r.window > MAX_DURATION {
        return Err(Error::config(at.key(false, "window", "reports.window"), "give 1s to 7d"));
    }
    r.mix.validate().map_err(|e| Error::config(at.key(args.report_mix.is_some(), "--report-mix", "reports.mix"), e))?;
    Ok(r)
}

/// Reports need the MessageBox's tables, and standbys to go to; `source` is where `on` was set.
fn check_reports(cfg: &RunConfig, source: &str) -> Result<()> {
    let on = cfg.reports.on;
    if on != ReportsOn::None && cfg.workload.kind != WorkloadKind::Messagebox {
        return Err(Error::config(source, "report queries read the MessageBox tables: use --workload messagebox"));
    }
    if let Target::Topology(spec) = &cfg.target {
        let names = spec.node_names();
        if let Some(n) = cfg.reports.standbys.iter().find(|n| !names[1..].contains(n)) {
            return Err(Error::config(
                "--report-standbys",
                format!("`{n}` is not a standby of {}; its standbys are {}", spec.kind, names[1..].join(", ")),
            ));
        }
    }
    if on == ReportsOn::Standbys && !cfg.has_readable_standbys() {
        return Err(Error::config(
            source,
            "standbys: this target has no readable standby; use --topology sync, async or log-shipping with --standbys 1 or more",
        ));
    }
    Ok(())
}

/// What parallel groups run: the MessageBox's own publishers and host instances, per group.
fn check_parallel(cfg: &RunConfig) -> Result<()> {
    let Target::Topology(spec) = &cfg.target else { return Ok(()) };
    if spec.kind != TopologyKind::Parallel {
        return Ok(());
    }
    let refuse = |field: &str, why: &str| Err(Error::config(field, format!("{why} (--topology parallel)")));
    if cfg.workload.kind != WorkloadKind::Messagebox {
        return refuse("--workload", "parallel groups spread MessageBox publishes: use --workload messagebox");
    }
    if cfg.reports.on != ReportsOn::None {
        return refuse("--reports-on", "report queries are not spread over groups: use --reports-on none");
    }
    if cfg.receive.is_some() {
        return refuse("[receive]", "a receive location feeds one MessageBox: run the receive scenario on one group");
    }
    if cfg.sso.as_ref().is_some_and(|s| s.mode == SsoMode::CoLocated) {
        return refuse(
            "--sso",
            "co-located puts the secret on one MessageBox cluster and parallel groups have several: use --sso separate",
        );
    }
    if cfg.throttle.is_some() {
        return refuse("--throttle", "each group's MessageBox would throttle on its own; drop --throttle");
    }
    Ok(())
}

/// Whether a fault can be injected into this run; the error says why not.
fn check_fault(
    fault: crate::fault::FaultKind,
    topology: Option<TopologyKind>,
    workload: WorkloadKind,
) -> std::result::Result<(), String> {
    use crate::fault::FaultKind as F;
    let bad = |why: String| Err(format!("{fault}: {why}"));
    match (fault, topology) {
        (F::KillHostInstance, _) if workload != WorkloadKind::Messagebox => bad("needs the messagebox workload".into()),
        (F::KillHostInstance, _) => Ok(()),
        (F::KillReceiveInstance, _) | (F::SsoOutage, _) => Ok(()),
        (_, None) => {
            bad("needs a topology habench starts (or --cluster FILE); --target-dsn servers are not broken".into())
        }
        (_, Some(k)) if k == TopologyKind::Patroni || fault.applies_to(k).is_err() => fault.applies_to(k),
        (F::Switchover, Some(TopologyKind::Single | TopologyKind::SharedDisk)) => {
            bad("a switchover needs standbys: use sync, async or log-shipping".into())
        }
        (F::PartitionStandby | F::SlowLink | F::PartitionPrimary, Some(k))
            if !matches!(k, TopologyKind::Sync | TopologyKind::Async) =>
        {
            bad(format!("{k} has no replication link to cut or slow; use --topology sync or async"))
        }
        (F::KillSyncStandby, Some(k)) if k != TopologyKind::Sync && k != TopologyKind::Patroni => {
            bad(format!("{k} has no synchronous standby; use --topology sync"))
        }
        _ => Ok(()),
    }
}

/// Where a takeover without fencing can run. Shared disk cannot: the passive node would start a
/// second server on the data directory the hung one still has open (PostgreSQL's postmaster.pid
/// interlock refuses it on one machine; on real shared storage across machines nothing would,
/// and the data directory would be corrupted).
fn check_no_fence(kind: Option<TopologyKind>) -> std::result::Result<(), String> {
    match kind {
        Some(TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping) => Ok(()),
        Some(TopologyKind::SharedDisk) => {
            Err("shared-disk has one data directory: a takeover without fencing would run two \
             servers on it and corrupt it, so habench refuses; measure split-brain writes on replicas \
             (--topology async or sync) where the old primary keeps its own copy"
                .into())
        }
        Some(TopologyKind::Single) => Err("single has no other node to take over; use --topology async or sync".into()),
        Some(TopologyKind::Patroni) => {
            Err("Patroni fences by itself (the old leader demotes when it loses its key); drop --no-fence".into())
        }
        Some(TopologyKind::Parallel) => {
            Err("parallel groups have no takeover (a group comes back, or does not)".into())
        }
        None => Err("the built-in orchestrator only acts on topologies habench starts".into()),
    }
}

fn opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&habench_workloads::duration::format_duration(*d)),
        None => s.serialize_none(),
    }
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    t.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(scenario: Option<&str>) -> Overrides {
        Overrides { scenario: scenario.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn flags_override_the_scenario() {
        let mut a = args(Some("quick"));
        a.rate = Some(50.0);
        a.duration = Some(Duration::from_secs(2));
        a.topology = Some(TopologyKind::Sync);
        a.topology_flags.standbys = Some(2);
        let c = RunConfig::from_overrides(&a).unwrap();
        assert!(matches!(c.load, Load::Open { rate, publishers: 8, .. } if rate == 50.0));
        assert_eq!(c.duration, Duration::from_secs(2));
        assert_eq!(c.seed, 1, "from the scenario");
        match c.target {
            Target::Topology(s) => assert_eq!((s.kind, s.standbys), (TopologyKind::Sync, 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clients_switch_to_a_closed_loop_and_target_dsn_is_redacted() {
        let mut a = args(None);
        a.clients = Some(4);
        a.workload = Some(WorkloadKind::Insert);
        a.target_dsn = Some("host=127.0.0.1 port=5 user=u password=pw".into());
        let c = RunConfig::from_overrides(&a).unwrap();
        assert!(matches!(c.load, Load::Closed { clients: 4 }));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("pw\""), "{json}");
        assert!(json.contains("password=***"));
    }

    #[test]
    fn reports_need_standbys_to_go_to_and_the_messagebox() {
        let mut a = args(None);
        a.reports_on = Some(ReportsOn::Standbys);
        let err = RunConfig::from_overrides(&a).unwrap_err().to_string();
        assert!(err.contains("--reports-on") && err.contains("--topology sync"), "{err}");
        a.topology = Some(TopologyKind::Async);
        assert_eq!(RunConfig::from_overrides(&a).unwrap().reports.on, ReportsOn::Standbys);
        let mut a = args(None);
        a.reports_on = Some(ReportsOn::Primary);
        a.workload = Some(WorkloadKind::Insert);
        assert!(RunConfig::from_overrides(&a).unwrap_err().to_string().contains("--workload messagebox"));
        let mut a = args(None);
        a.report_rate = Some(-1.0);
        assert!(RunConfig::from_overrides(&a).unwrap_err().to_string().contains("--report-rate"));
    }

    #[test]
    fn offload_variants_share_the_scenario_topology_and_set_where_reports_go() {
        let v = RunConfig::variants(&args(Some("offload"))).unwrap();
        let on: Vec<_> = v.iter().map(|c| c.reports.on).collect();
        assert_eq!(on, [ReportsOn::None, ReportsOn::Primary, ReportsOn::Standbys]);
        assert!(v.iter().all(|c| matches!(&c.target, Target::Topology(s) if s.standbys == 2)));
        let mut one = args(Some("offload"));
        one.reports_on = Some(ReportsOn::Primary);
        assert_eq!(RunConfig::variants(&one).unwrap().len(), 1, "a flag picks one way");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let mut a = args(None);
        a.rate = Some(0.0);
        assert!(RunConfig::from_overrides(&a).unwrap_err().to_string().contains("--rate"));
        let mut a = args(None);
        a.payload_bytes = Some(10);
        assert!(RunConfig::from_overrides(&a).unwrap_err().to_string().contains("--workload insert"));
        let mut a = args(Some("no-such-scenario"));
        a.rate = Some(1.0);
        let err = RunConfig::from_overrides(&a).unwrap_err().to_string();
        assert!(
            err.contains("shipped scenarios: quick, messaging, failover-compare, offload, distance, exposure"),
            "{err}"
        );
    }

    #[test]
    fn a_variant_s_own_faults_replace_the_scenario_s() {
        let v = RunConfig::variants(&args(Some("exposure"))).unwrap();
        let names: Vec<&str> = v.iter().map(|c| c.variant.as_deref().unwrap()).collect();
        assert_eq!(names, ["first-1-of-1", "first-1-of-2", "any-1-of-2", "patroni-on", "patroni-strict"]);
        let kinds = |c: &RunConfig| c.faults.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>();
        assert_eq!(kinds(&v[0]), ["kill-sync-standby", "crash-primary"]);
        assert_eq!(kinds(&v[3]), ["kill-sync-standby"]);
        assert!(v.iter().all(|c| !c.orchestrator.heal));
    }

    #[test]
    fn no_fence_is_refused_where_two_servers_would_share_a_data_directory() {
        let mut a = args(None);
        a.topology = Some(TopologyKind::SharedDisk);
        a.no_fence = true;
        let err = RunConfig::from_overrides(&a).unwrap_err().to_string();
        assert!(err.contains("--no-fence") && err.contains("corrupt"), "{err}");
        a.topology = Some(TopologyKind::Async);
        let cfg = RunConfig::from_overrides(&a).unwrap();
        assert!(!cfg.orchestrator.fence && cfg.orchestrator.heal);
        a.no_heal = true;
        assert!(!RunConfig::from_overrides(&a).unwrap().orchestrator.heal);
    }

    fn from_text(text: &str) -> Result<Vec<RunConfig>> {
        let dir = std::env::temp_dir().join(format!("habench-cfg-{}-{}", std::process::id(), random_seed()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, text).unwrap();
        let r = RunConfig::variants(&args(Some(path.to_str().unwrap())));
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn an_error_names_the_flag_it_came_from_once_and_not_a_line_of_the_file() {
        let mut a = args(Some("offload"));
        a.rate = Some(0.0);
        let err = RunConfig::variants(&a).unwrap_err().to_string();
        assert!(err.starts_with("--rate: 0 is not a rate"), "{err}");
        assert!(!err.contains("line"), "the flag, not [reports] rate: {err}");
        assert_eq!(err.matches("rate").count(), 2, "named once: {err}");
    }

    #[test]
    fn an_error_from_the_file_names_its_line_table_and_key() {
        let err = from_text("[reports]\nrate = 5\n[load]\nmode = \"open\"\nrate = 0\n").unwrap_err().to_string();
        assert!(err.contains("line 5: [load] rate: 0 is not a rate"), "{err}");
        let err = from_text("duration = \"0s\"\n").unwrap_err().to_string();
        assert!(err.contains("line 1: duration: give 1s"), "{err}");
    }

    #[test]
    fn variant_names_are_plain_and_unique_before_anything_runs() {
        for (name, why) in
            [("../../../var/tmp/escaped", "names a results folder"), ("..", "not . or .."), ("a/b", "letters")]
        {
            let text = format!("[[variants]]\nname = \"{name}\"\n[[variants]]\nname = \"b\"\n");
            let err = from_text(&text).unwrap_err().to_string();
            assert!(err.contains("variants[0].name") && err.contains(why), "{name}: {err}");
        }
        let err = from_text("[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"\n").unwrap_err().to_string();
        assert!(err.contains("variants[1].name") && err.contains("used twice"), "{err}");
        let err = from_text("name = \"../x\"\n").unwrap_err().to_string();
        assert!(err.contains("name: `../x`"), "{err}");
    }

    #[test]
    fn reports_on_keeps_variants_that_have_their_own_topology() {
        let mut a = args(Some("exposure"));
        a.reports_on = Some(ReportsOn::Primary);
        let v = RunConfig::variants(&a).unwrap();
        let kinds: Vec<_> = v
            .iter()
            .map(|c| match &c.target {
                Target::Topology(s) => s.kind,
                Target::Dsn { .. } | Target::Cluster { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(kinds[..3], [TopologyKind::Sync; 3]);
        assert_eq!(kinds[3..], [TopologyKind::Patroni; 2]);
        assert!(v.iter().all(|c| c.reports.on == ReportsOn::Primary));
        // failover-compare's parallel groups refuse report queries, naming the flag.
        let mut a = args(Some("failover-compare"));
        a.reports_on = Some(ReportsOn::Primary);
        assert!(RunConfig::variants(&a).unwrap_err().to_string().contains("--reports-on"));
        let kinds: Vec<_> = RunConfig::variants(&args(Some("failover-compare")))
            .unwrap()
            .iter()
            .map(|c| match &c.target {
                Target::Topology(s) => s.kind,
                Target::Dsn { .. } | Target::Cluster { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(
            kinds,
            [TopologyKind::SharedDisk, TopologyKind::Sync, TopologyKind::Patroni, TopologyKind::Parallel]
        );
    }

    #[test]
    fn archive_timeout_in_a_file_is_whole_seconds_like_the_flag() {
        let err =
            from_text("[topology]\nkind = \"log-shipping\"\narchive_timeout = \"1500ms\"\n").unwrap_err().to_string();
        assert!(err.contains("line 3: [topology] archive_timeout") && err.contains("whole seconds"), "{err}");
        let ok = from_text("[topology]\nkind = \"log-shipping\"\narchive_timeout = \"2s\"\n").unwrap();
        assert!(matches!(&ok[0].target, Target::Topology(s) if s.archive_timeout == Duration::from_secs(2)));
    }

    #[test]
    fn a_fault_must_start_within_the_measured_phase_and_may_last_past_it() {
        let mut a = args(Some("quick"));
        a.topology = Some(TopologyKind::Sync);
        a.faults = vec!["pause-primary@10s:15s".parse().unwrap()];
        assert!(RunConfig::from_overrides(&a).is_ok(), "the README's example: a pause outlasting the 15 s");
        a.faults = vec!["kill-primary@20s".parse().unwrap()];
        let err = RunConfig::from_overrides(&a).unwrap_err().to_string();
        assert!(err.starts_with("--fault: kill-primary@20s") && err.contains("never be injected"), "{err}");
    }
}
