//! The effective configuration of a run: a scenario file (optional) with the flags on top,
//! validated once into typed values. Everything downstream reads only these types.

pub(crate) mod faults;
mod load;
mod orchestrator;
mod origin;
pub(crate) mod overrides;
pub(crate) mod receive;
pub(crate) mod reports;
pub mod requirements;
pub mod scenario;
pub(crate) mod sso;
mod target;
pub(crate) mod throttle;
mod timing;
pub(crate) mod topology;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use habench_workloads::duration::serde_str;
use serde::Serialize;

pub(crate) use load::{Load, RateChange};
pub(crate) use origin::Origin;
pub use overrides::{Overrides, TopologyOverrides};
pub(crate) use receive::{ReceiveConfig, ReceiveLock};
pub use reports::ReportsConfig;
pub use scenario::ReportsOn;
pub(crate) use scenario::{Arrival, Driver, LoadMode, WorkloadKind};
pub(crate) use sso::{SsoConfig, SsoMode};
pub use target::Target;
pub(crate) use throttle::ThrottleConfig;
pub(crate) use workload::Workload;

use crate::error::{Error, Result};
use crate::topology::TopologyKind;

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
    pub(crate) fn variants(args: &Overrides) -> Result<Vec<RunConfig>> {
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
                    reports::check_reports(&cfg, &at.key(false, "--reports-on", "variants.reports_on"))?;
                }
                Ok(cfg)
            })
            .collect()
    }

    /// One variant's configuration: each section resolved (flags over the file) and checked on
    /// its own, then what sections require of each other.
    fn build(
        args: &Overrides,
        file: &scenario::ScenarioFile,
        at: &Origin<'_>,
        topology: Option<&scenario::TopologySection>,
        file_faults: &[crate::fault::FaultEntry],
        variant: Option<String>,
    ) -> Result<RunConfig> {
        let faults = faults::resolve(args, at, file_faults)?;
        let target = target::target(args, at, topology, &faults)?;
        let workload = workload::workload(args, file, at)?;
        let load = load::load(args, file, at)?;
        let t = timing::timing(args, file, at, &target)?;
        let scenario = file.name.clone().unwrap_or_else(|| match workload.kind {
            WorkloadKind::Insert => "insert".into(),
            WorkloadKind::Messagebox => "run".into(),
        });
        scenario::check_plain_name(&scenario).map_err(|e| Error::config(at.key(false, "name", "name"), e))?;
        let orchestrator = orchestrator::orchestrator(args, file, at)?;
        if !orchestrator.fence {
            faults::check_no_fence(target.topology_kind())
                .map_err(|e| Error::config(at.key(args.no_fence, "--no-fence", "orchestrator.fence"), e))?;
        }
        let trials = args.trials.or(file.trials).unwrap_or(1);
        let trials_at = at.key(args.trials.is_some(), "--trials", "trials");
        if trials == 0 || trials > 100 {
            return Err(Error::config(trials_at, "give 1 to 100"));
        }
        if trials > 1 && faults.is_empty() {
            return Err(Error::config(trials_at, "trials repeat a fault; give one with --fault or [[faults]]"));
        }
        if args.threads.is_some_and(|t| t == 0 || t > 64) {
            return Err(Error::config("--threads", "give 1 to 64 client threads"));
        }
        let receive = receive::receive(args.receive, file.receive.as_ref(), at, workload.kind, &load)?;
        let sso = sso::sso(args.sso, file.sso.as_ref(), at, workload.kind, &target)?;
        let on = faults::Subject {
            target: &target,
            workload: workload.kind,
            duration: t.duration,
            receive: receive.as_ref(),
            sso: sso.as_ref(),
            first_host_instances: workload.messagebox.hosts.first().map_or(0, |h| h.instances),
        };
        faults::check(args, at, &faults, &on)?;
        let cfg = RunConfig {
            scenario,
            variant,
            scenario_source: at.source.to_string(),
            reports: reports::reports_config(args, file, at)?,
            throttle: throttle::throttle(args, workload.kind)?,
            target,
            workload,
            load,
            duration: t.duration,
            warmup: t.warmup,
            seed: args.seed.or(file.seed).unwrap_or_else(random_seed),
            op_timeout: t.op_timeout,
            sync_wait_timeout: t.sync_wait_timeout,
            drain_timeout: t.drain_timeout,
            interval: Duration::from_secs(1),
            faults,
            orchestrator,
            exactly_once: args.exactly_once || file.check.as_ref().and_then(|c| c.exactly_once).unwrap_or(false),
            trials,
            threads: args.threads,
            rate_changes: Vec::new(),
            receive,
            sso,
            keep: args.keep,
            max_harness_stall: t.max_harness_stall,
            out: args.out.clone(),
            quiet: args.quiet,
        };
        target::check_parallel(&cfg)?;
        reports::check_reports(&cfg, &at.key(args.reports_on.is_some(), "--reports-on", "reports.on"))?;
        Ok(cfg)
    }

    /// Whether the run has standbys that can serve reads.
    pub(crate) fn has_readable_standbys(&self) -> bool {
        match &self.target {
            Target::Topology(s) => {
                matches!(s.kind, TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping) && s.standbys > 0
            }
            Target::Dsn { .. } | Target::Cluster { .. } => false,
        }
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
    fn a_stopped_host_is_a_scenario_but_has_no_instance_to_kill() {
        let stopped = "[messagebox]\n[[messagebox.hosts]]\nname = \"send\"\ninstances = 0\n\
                       [[messagebox.message_types]]\nname = \"order\"\nsubscribers = [\"send\"]\n";
        let cfg = from_text(stopped).unwrap();
        assert_eq!(cfg[0].workload.messagebox.hosts[0].instances, 0);
        let err = from_text(&format!("{stopped}[[faults]]\nkind = \"kill-host-instance\"\nat = \"1s\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("kill-host-instance") && err.contains("instances = 0"), "{err}");
        let err = from_text(&stopped.replace("instances = 0", "batch_size = 0")).unwrap_err().to_string();
        assert!(err.contains("hosts[0].batch_size: at least 1"), "{err}");
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
            [
                TopologyKind::SharedDisk,
                TopologyKind::Sync,
                TopologyKind::Patroni,
                TopologyKind::PgAutoFailover,
                TopologyKind::Parallel
            ]
        );
        // engines-compare: each outage once per engine, the engine's own fault on each.
        let v = RunConfig::variants(&args(Some("engines-compare"))).unwrap();
        let pairs: Vec<(TopologyKind, crate::fault::FaultKind)> = v
            .iter()
            .map(|c| match &c.target {
                Target::Topology(s) => (s.kind, c.faults[0].kind),
                Target::Dsn { .. } | Target::Cluster { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(pairs.len(), 8);
        for p in pairs.chunks(2) {
            assert_eq!((p[0].0, p[1].0), (TopologyKind::Patroni, TopologyKind::PgAutoFailover));
            assert_eq!(p[0].1, p[1].1, "the same outage on both engines");
        }
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
