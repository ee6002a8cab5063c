//! The effective configuration of a run: a scenario file (optional) with the flags on top,
//! validated once into typed values. Everything downstream reads only these types.

pub mod dsn;
pub mod reports;
pub mod scenario;

use std::path::PathBuf;
use std::time::Duration;

use habench_workloads::duration::serde_str;
use habench_workloads::messagebox::MessageBoxConfig;
use serde::Serialize;

pub use reports::{ReportsConfig, ReportsOn};
pub use scenario::{Arrival, Driver, LoadMode, WorkloadKind};

use crate::cli::{ArrivalArg, DriverArg, RunArgs, WorkloadArg};
use crate::commands::options;
use crate::error::{Error, Result};
use crate::topology::{TopologyKind, TopologySpec};

/// What the load is run against.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A topology habench starts.
    Topology(TopologySpec),
    /// An existing server (`--target-dsn`); stored redacted, parsed when connecting.
    Dsn {
        #[serde(rename = "dsn")]
        redacted: String,
        #[serde(skip)]
        raw: String,
    },
}

/// How publishes are paced.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Load {
    /// A schedule at `rate` publishes/s; latency counts from each intended start.
    Open { rate: f64, arrival: Arrival, publishers: u16 },
    /// `clients` connections publishing back to back.
    Closed { clients: u16 },
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
    /// Leave the servers of the last trial running for inspection.
    #[serde(skip)]
    pub keep: bool,
    #[serde(skip)]
    pub out: Option<PathBuf>,
    #[serde(skip)]
    pub quiet: bool,
}

impl RunConfig {
    /// Merges scenario and flags (flags win) and validates the result (the first variant when
    /// the scenario has several).
    pub fn from_args(args: &RunArgs) -> Result<RunConfig> {
        Ok(Self::variants_from_args(args)?.remove(0))
    }

    /// One configuration per variant of the scenario (`[[variants]]`: the same load and faults
    /// on different topologies), or just one. `--topology` and `--target-dsn` pick one target.
    pub fn variants_from_args(args: &RunArgs) -> Result<Vec<RunConfig>> {
        let loaded = match &args.scenario {
            Some(s) => Some(scenario::load(s).map_err(|e| Error::config("SCENARIO", e))?),
            None => None,
        };
        let (file, source, text) = match loaded {
            Some(l) => (l.file, l.source, l.text),
            None => (scenario::ScenarioFile::default(), "flags only".to_string(), String::new()),
        };
        let own_topology = file.variants.iter().any(|v| v.topology.is_some());
        if file.variants.is_empty()
            || (own_topology && (args.topology.is_some() || args.target_dsn.is_some()))
            || args.reports_on.is_some()
        {
            return Ok(vec![Self::build(args, &file, &source, &text, file.topology.as_ref(), None)?]);
        }
        file.variants
            .iter()
            .map(|v| {
                let topology = v.topology.as_ref().or(file.topology.as_ref());
                let mut cfg = Self::build(args, &file, &source, &text, topology, Some(v.name.clone()))?;
                if let Some(on) = v.reports_on {
                    cfg.reports.on = on;
                    check_reports(&cfg)?;
                }
                Ok(cfg)
            })
            .collect()
    }

    fn build(
        args: &RunArgs,
        file: &scenario::ScenarioFile,
        source: &str,
        text: &str,
        topology: Option<&scenario::TopologySection>,
        variant: Option<String>,
    ) -> Result<RunConfig> {
        let bad = |field: &'static str, msg: String| Error::config(field, scenario::at_line(text, &msg));

        let faults = if args.faults.is_empty() {
            file.faults.iter().map(|f| f.to_spec()).collect::<Result<Vec<_>, _>>().map_err(|e| bad("faults", e))?
        } else {
            args.faults.clone()
        };

        // Topology or target.
        let target = if let Some(raw) = &args.target_dsn {
            dsn::parse(raw).map_err(|e| Error::config("--target-dsn", e))?;
            let flags = &args.topology_flags;
            if flags.standbys.is_some() || flags.sync_commit.is_some() || !flags.pg_set.is_empty() {
                return Err(Error::config(
                    "--target-dsn",
                    "runs against an existing server: habench starts no topology, so drop --standbys, --sync-commit and --pg-set",
                ));
            }
            Target::Dsn { redacted: dsn::redact(raw), raw: raw.clone() }
        } else {
            let section = topology;
            let kind = match (args.topology, section) {
                (Some(k), _) => options::kind(k),
                (None, Some(t)) => t.kind,
                (None, None) => TopologyKind::Single,
            };
            let mut spec = TopologySpec::new(kind);
            // The file's values apply when it describes this kind.
            if let Some(t) = section.filter(|t| t.kind == kind) {
                if let Some(n) = t.standbys {
                    spec.standbys = n;
                }
                if let Some(q) = t.quorum {
                    spec.quorum = q;
                }
                if let Some(k) = t.sync_count {
                    spec.sync_count = k;
                }
                if let Some(a) = t.archive_timeout {
                    spec.archive_timeout = a.0;
                }
            }
            if let Some(level) = section.and_then(|t| t.sync_commit) {
                spec.sync_commit = Some(level);
            }
            for (k, v) in section.map(|t| t.settings()).unwrap_or_default() {
                spec.pg_settings.set(&k, v);
            }
            for (node, cpus) in section.map(|t| t.pin.clone()).unwrap_or_default() {
                let cpus = crate::topology::spec::parse_cpu_list(&cpus)
                    .map_err(|e| bad("pin", format!("pin: {node}: {e}")))?;
                spec.pin.insert(node, cpus);
            }
            for (node, link) in section.map(|t| t.links.clone()).unwrap_or_default() {
                let link =
                    crate::link::LinkSpec::parse(&link).map_err(|e| bad("links", format!("links: {node}: {e}")))?;
                spec.links.insert(node, link);
            }
            let mut spec = options::apply_topology_flags(spec, &args.topology_flags)?;
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
            Target::Topology(spec)
        };

        // Workload.
        let wsec = file.workload.clone().unwrap_or_default();
        let kind = match args.workload {
            Some(WorkloadArg::Messagebox) => WorkloadKind::Messagebox,
            Some(WorkloadArg::Insert) => WorkloadKind::Insert,
            None => wsec.kind.unwrap_or(WorkloadKind::Messagebox),
        };
        let payload_bytes = args.payload_bytes.or(wsec.payload_bytes).unwrap_or(100);
        if payload_bytes == 0 || payload_bytes > 100 * 1024 * 1024 {
            return Err(bad("--payload-bytes", "payload_bytes: 1 byte to 100 MiB".into()));
        }
        if args.payload_bytes.is_some() && kind != WorkloadKind::Insert {
            return Err(Error::config("--payload-bytes", "applies to --workload insert only"));
        }
        let driver = match args.driver {
            Some(DriverArg::Wire) => Driver::Wire,
            Some(DriverArg::TokioPostgres) => Driver::TokioPostgres,
            None => wsec.driver.unwrap_or(Driver::Wire),
        };
        if args.driver.is_some() && kind != WorkloadKind::Insert {
            return Err(Error::config(
                "--driver",
                "applies to --workload insert only (MessageBox operations use tokio-postgres)",
            ));
        }
        let messagebox = file.messagebox.clone().unwrap_or_default();
        messagebox.validate().map_err(|e| bad("messagebox", format!("messagebox.{e}")))?;

        // Load.
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
        let load = match mode {
            LoadMode::Open => {
                let rate = args.rate.or(lsec.rate).unwrap_or(100.0);
                if !(rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0) {
                    return Err(bad(
                        "--rate",
                        format!("rate: {rate} is not a rate; give publishes per second, e.g. --rate 500"),
                    ));
                }
                let arrival = match args.arrival {
                    Some(ArrivalArg::Uniform) => Arrival::Uniform,
                    Some(ArrivalArg::Poisson) => Arrival::Poisson,
                    None => lsec.arrival.unwrap_or(Arrival::Poisson),
                };
                let publishers = args.publishers.or(lsec.publishers).unwrap_or(8);
                if publishers == 0 || publishers > 500 {
                    return Err(bad("--publishers", "publishers: 1 to 500 connections".into()));
                }
                Load::Open { rate, arrival, publishers }
            }
            LoadMode::Closed => {
                let clients = args.clients.or(lsec.clients).unwrap_or(4);
                if clients == 0 || clients > 500 {
                    return Err(bad("--clients", "clients: 1 to 500".into()));
                }
                Load::Closed { clients }
            }
        };

        let duration = args.duration.or(file.duration.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
        if duration < Duration::from_secs(1) {
            return Err(bad("--duration", "duration: at least 1s".into()));
        }
        let warmup = args.warmup.or(file.warmup.map(|d| d.0)).unwrap_or(Duration::from_secs(5));
        let op_timeout = args.op_timeout.or(lsec.op_timeout.map(|d| d.0)).unwrap_or(Duration::from_secs(30));
        if op_timeout < Duration::from_millis(10) {
            return Err(bad("--op-timeout", "op_timeout: at least 10ms".into()));
        }
        let drain_timeout = lsec.drain_timeout.map(|d| d.0).unwrap_or(Duration::from_secs(60));
        let seed = args.seed.or(file.seed).unwrap_or_else(random_seed);
        let scenario = file.name.clone().unwrap_or_else(|| match kind {
            WorkloadKind::Insert => "insert".into(),
            WorkloadKind::Messagebox => "run".into(),
        });
        if !scenario.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad("name", format!("name: `{scenario}` names the results folder: letters, digits, - and _")));
        }
        let topo_kind = match &target {
            Target::Topology(s) => Some(s.kind),
            Target::Dsn { .. } => None,
        };
        for f in &faults {
            check_fault(f.kind, topo_kind, kind)?;
        }
        let osec = file.orchestrator.clone().unwrap_or_default();
        let mut orchestrator = crate::failover::OrchestratorConfig::default();
        if let Some(d) = args.probe_interval.or(osec.probe_interval.map(|d| d.0)) {
            orchestrator.probe_interval = d;
        }
        if let Some(n) = args.probe_threshold.or(osec.probe_threshold) {
            orchestrator.probe_threshold = n;
        }
        if let Some(d) = args.manual_delay.or(osec.manual_delay.map(|d| d.0)) {
            orchestrator.manual_delay = d;
        }
        if let Some(f) = osec.p99_factor {
            orchestrator.p99_factor = f;
        }
        if orchestrator.probe_threshold == 0 || orchestrator.probe_interval < Duration::from_millis(10) {
            return Err(bad(
                "--probe-threshold",
                "orchestrator: probe_threshold at least 1, probe_interval at least 10ms".into(),
            ));
        }
        if orchestrator.p99_factor.is_nan() || orchestrator.p99_factor < 1.0 {
            return Err(bad("p99_factor", "p99_factor: 1 or more".into()));
        }
        let exactly_once = args.exactly_once || file.check.as_ref().and_then(|c| c.exactly_once).unwrap_or(false);
        let trials = args.trials.or(file.trials).unwrap_or(1);
        if trials == 0 || trials > 100 {
            return Err(bad("--trials", "trials: 1 to 100".into()));
        }
        if trials > 1 && faults.is_empty() {
            return Err(bad("--trials", "trials: repeats a fault; give one with --fault or [[faults]]".into()));
        }
        let reports = reports_config(args, file, &bad)?;
        if args.threads.is_some_and(|t| t == 0 || t > 64) {
            return Err(Error::config("--threads", "1 to 64 client threads"));
        }
        let cfg = RunConfig {
            scenario,
            variant,
            scenario_source: source.to_string(),
            target,
            workload: Workload { kind, payload_bytes, driver, messagebox },
            load,
            duration,
            warmup,
            seed,
            op_timeout,
            drain_timeout,
            interval: Duration::from_secs(1),
            faults,
            orchestrator,
            exactly_once,
            trials,
            reports,
            threads: args.threads,
            keep: args.keep,
            out: args.out.clone(),
            quiet: args.quiet,
        };
        check_reports(&cfg)?;
        Ok(cfg)
    }

    /// Whether the run has standbys that can serve reads.
    pub fn has_readable_standbys(&self) -> bool {
        match &self.target {
            Target::Topology(s) => {
                matches!(s.kind, TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping) && s.standbys > 0
            }
            Target::Dsn { .. } => false,
        }
    }
}

fn reports_config(
    args: &RunArgs,
    file: &scenario::ScenarioFile,
    bad: &dyn Fn(&'static str, String) -> Error,
) -> Result<ReportsConfig> {
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
        return Err(bad(
            "--report-rate",
            format!("rate: {} is not a rate; give report queries per second, e.g. --report-rate 20", r.rate),
        ));
    }
    if r.clients == 0 || r.clients > 200 {
        return Err(bad("--report-clients", "clients: 1 to 200 concurrent report workers".into()));
    }
    if r.window < Duration::from_secs(1) {
        return Err(bad("window", "window: at least 1s".into()));
    }
    r.mix.validate().map_err(|e| bad("--report-mix", e))?;
    Ok(r)
}

/// Reports need the MessageBox's tables, and standbys to go to.
fn check_reports(cfg: &RunConfig) -> Result<()> {
    let on = cfg.reports.on;
    if on != ReportsOn::None && cfg.workload.kind != WorkloadKind::Messagebox {
        return Err(Error::config(
            "--reports-on",
            "report queries read the MessageBox tables: use --workload messagebox",
        ));
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
            "--reports-on",
            "standbys: this target has no readable standby; use --topology sync, async or log-shipping with --standbys 1 or more",
        ));
    }
    Ok(())
}

/// Whether a fault can be injected into this run; the error says why not.
fn check_fault(fault: crate::fault::FaultKind, topology: Option<TopologyKind>, workload: WorkloadKind) -> Result<()> {
    use crate::fault::FaultKind as F;
    let bad = |why: String| Err(Error::config("--fault", format!("{fault}: {why}")));
    match (fault, topology) {
        (F::KillHostInstance, _) if workload != WorkloadKind::Messagebox => bad("needs the messagebox workload".into()),
        (F::KillHostInstance, _) => Ok(()),
        (_, None) => bad("needs a topology habench starts; --target-dsn servers are not broken".into()),
        (F::Switchover, Some(TopologyKind::Single | TopologyKind::SharedDisk)) => {
            bad("a switchover needs standbys: use sync, async or log-shipping".into())
        }
        (F::PartitionStandby | F::SlowLink | F::PartitionPrimary, Some(k))
            if !matches!(k, TopologyKind::Sync | TopologyKind::Async) =>
        {
            bad(format!("{k} has no replication link to cut or slow; use --topology sync or async"))
        }
        (F::KillSyncStandby, Some(k)) if k != TopologyKind::Sync => {
            bad(format!("{k} has no synchronous standby; use --topology sync"))
        }
        _ => Ok(()),
    }
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    t.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(scenario: Option<&str>) -> RunArgs {
        RunArgs { scenario: scenario.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn flags_override_the_scenario() {
        let mut a = args(Some("quick"));
        a.rate = Some(50.0);
        a.duration = Some(Duration::from_secs(2));
        a.topology = Some(crate::cli::KindArg::Sync);
        a.topology_flags.standbys = Some(2);
        let c = RunConfig::from_args(&a).unwrap();
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
        a.workload = Some(WorkloadArg::Insert);
        a.target_dsn = Some("host=127.0.0.1 port=5 user=u password=pw".into());
        let c = RunConfig::from_args(&a).unwrap();
        assert!(matches!(c.load, Load::Closed { clients: 4 }));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("pw\""), "{json}");
        assert!(json.contains("password=***"));
    }

    #[test]
    fn reports_need_standbys_to_go_to_and_the_messagebox() {
        let mut a = args(None);
        a.reports_on = Some(ReportsOn::Standbys);
        let err = RunConfig::from_args(&a).unwrap_err().to_string();
        assert!(err.contains("--reports-on") && err.contains("--topology sync"), "{err}");
        a.topology = Some(crate::cli::KindArg::Async);
        assert_eq!(RunConfig::from_args(&a).unwrap().reports.on, ReportsOn::Standbys);
        let mut a = args(None);
        a.reports_on = Some(ReportsOn::Primary);
        a.workload = Some(WorkloadArg::Insert);
        assert!(RunConfig::from_args(&a).unwrap_err().to_string().contains("--workload messagebox"));
        let mut a = args(None);
        a.report_rate = Some(-1.0);
        assert!(RunConfig::from_args(&a).unwrap_err().to_string().contains("--report-rate"));
    }

    #[test]
    fn offload_variants_share_the_scenario_topology_and_set_where_reports_go() {
        let v = RunConfig::variants_from_args(&args(Some("offload"))).unwrap();
        let on: Vec<_> = v.iter().map(|c| c.reports.on).collect();
        assert_eq!(on, [ReportsOn::None, ReportsOn::Primary, ReportsOn::Standbys]);
        assert!(v.iter().all(|c| matches!(&c.target, Target::Topology(s) if s.standbys == 2)));
        let mut one = args(Some("offload"));
        one.reports_on = Some(ReportsOn::Primary);
        assert_eq!(RunConfig::variants_from_args(&one).unwrap().len(), 1, "a flag picks one way");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let mut a = args(None);
        a.rate = Some(0.0);
        assert!(RunConfig::from_args(&a).unwrap_err().to_string().contains("--rate"));
        let mut a = args(None);
        a.payload_bytes = Some(10);
        assert!(RunConfig::from_args(&a).unwrap_err().to_string().contains("--workload insert"));
        let mut a = args(Some("no-such-scenario"));
        a.rate = Some(1.0);
        let err = RunConfig::from_args(&a).unwrap_err().to_string();
        assert!(err.contains("shipped scenarios: quick, messaging, failover-compare, offload, distance"), "{err}");
    }
}
