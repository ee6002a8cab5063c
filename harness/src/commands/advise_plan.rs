//! The experiments `habench advise` runs when it is not given all its evidence: per design a
//! capacity search, and per design and outage class the failover trials, each an ordinary
//! results folder under the advise folder. A folder that already holds a complete result is
//! not run again (the same command after Ctrl-C continues where it stopped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use habench_workloads::duration::format_duration;

use crate::analysis::advise::predict::{self, fault_of, Tuning, FAULT_AT};
use crate::failover::band::RtoModel;
use crate::summary::Outage;
use crate::topology::TopologyKind;

/// What the plan judges: a topology habench starts, or the user's cluster as it is.
#[derive(Debug, Clone)]
pub(crate) enum Design {
    Topology(TopologyKind),
    /// A cluster file (`--cluster`), read and checked once before planning: faults through its
    /// commands, no pruning or tuning.
    Cluster(PathBuf, std::sync::Arc<crate::cluster::ClusterFile>),
}

impl PartialEq for Design {
    fn eq(&self, other: &Design) -> bool {
        match (self, other) {
            (Design::Topology(a), Design::Topology(b)) => a == b,
            (Design::Cluster(a, _), Design::Cluster(b, _)) => a == b,
            _ => false,
        }
    }
}

impl Design {
    /// The name the decision and the folders use (a run's summary `topology`, a capacity label).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Design::Topology(k) => k.as_str(),
            Design::Cluster(..) => "cluster",
        }
    }

    /// The flags that point a run at it.
    fn target(&self) -> [String; 2] {
        match self {
            Design::Topology(k) => ["--topology".into(), k.as_str().into()],
            Design::Cluster(f, _) => ["--cluster".into(), f.display().to_string()],
        }
    }

    /// Whether the fault of an outage can be injected into it (the same checks a run makes).
    fn applies(&self, kind: crate::fault::FaultKind) -> Result<(), String> {
        match self {
            Design::Topology(k) => {
                crate::config::faults::check_fault(kind, Some(*k), crate::config::WorkloadKind::Messagebox)
            }
            Design::Cluster(_, c) => kind.applies_to_cluster(c),
        }
    }
}

/// What the plan is made from.
#[derive(Debug, Clone)]
pub(crate) struct PlanOptions {
    pub scenario: String,
    pub designs: Vec<Design>,
    pub outages: Vec<Outage>,
    pub trials: u32,
    pub quick: bool,
    pub slo: String,
    pub load: f64,
    pub n_minus_1: bool,
    /// The RTO asked for, and who decides each design's failovers (the band model's input):
    /// designs it rules out are pruned before running.
    pub rto: Duration,
    pub models: Vec<(TopologyKind, RtoModel)>,
    /// Run a pruned design with the setting predicted to meet the RTO (`--tune`).
    pub tune: bool,
}

/// One experiment: the `habench` command line that makes its folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Experiment {
    pub name: String,
    pub folder: PathBuf,
    pub argv: Vec<String>,
    /// A capacity search (`capacity.json`), else a run (`summary.json`).
    pub capacity: bool,
    /// What it is evidence for: the design, and the outage class (None: its capacity).
    pub design: Design,
    pub outage: Option<Outage>,
}

/// An outage class that does not apply to a design, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Skipped {
    pub design: Design,
    pub outage: Outage,
    pub why: String,
}

/// A design the configuration rules out before running, why, and the setting predicted to
/// meet the RTO (measured instead with `--tune`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pruned {
    pub design: TopologyKind,
    pub outage: Outage,
    pub why: String,
    pub tuning: Option<Tuning>,
}

/// What the plan runs and what it does not.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub experiments: Vec<Experiment>,
    pub skipped: Vec<Skipped>,
    pub pruned: Vec<Pruned>,
    /// Designs that run with a setting the band model chose (`--tune`).
    pub tuned: Vec<(Design, Tuning)>,
    /// Designs that run at their defaults although the band straddles the RTO: the setting
    /// predicted to meet it, in words with its flags (named in the decision if they miss).
    pub hints: Vec<(String, String)>,
}

/// The designs to run, each with the tuning it runs with; the pruned ones aside.
fn designs_to_run(
    o: &PlanOptions,
    pruned: &mut Vec<Pruned>,
    hints: &mut Vec<(String, String)>,
) -> Vec<(Design, Option<Tuning>)> {
    let mut out = Vec::new();
    for d in &o.designs {
        let Design::Topology(design) = *d else {
            out.push((d.clone(), None));
            continue;
        };
        let Some((_, model)) = o.models.iter().find(|(k, _)| *k == design) else {
            out.push((d.clone(), None));
            continue;
        };
        let Some((outage, why)) = predict::ruled_out(design, &o.outages, model, o.rto) else {
            let straddles =
                o.outages.iter().any(|&x| predict::predict(design, x, model, o.rto) == predict::Prediction::Straddles);
            if let Some(t) = predict::tune(design, &o.outages, model, o.rto).filter(|_| straddles) {
                hints.push((design.as_str().to_string(), format!("{} ({})", t.what, t.flags.join(" "))));
            }
            out.push((d.clone(), None));
            continue;
        };
        let tuning = predict::tune(design, &o.outages, model, o.rto);
        match tuning {
            Some(t) if o.tune => out.push((d.clone(), Some(t))),
            _ => pruned.push(Pruned { design, outage, why, tuning }),
        }
    }
    out
}

/// Every experiment of the plan, in order (capacity searches first), and what was left out.
pub(crate) fn plan(o: &PlanOptions, dir: &Path) -> Plan {
    let mut plan = Plan::default();
    let designs = designs_to_run(o, &mut plan.pruned, &mut plan.hints);
    let runs = &mut plan.experiments;
    for (design, _) in &designs {
        let d = design.as_str();
        let folder = dir.join(format!("capacity-{d}"));
        let mut argv = vec!["capacity".to_string(), o.scenario.clone(), "--slo".into(), o.slo.clone()];
        match design {
            Design::Topology(_) => argv.extend(["--topologies".into(), d.into()]),
            Design::Cluster(..) => argv.extend(design.target()),
        }
        argv.extend(["--target-load".into(), format!("{}", o.load)]);
        // Not quiet: its step lines ("capacity sync: step 3, 800/s (about 4 steps left)") are
        // the progress within the experiment.
        argv.extend(["--out".into(), folder.display().to_string()]);
        if o.quick {
            argv.push("--quick".into());
        }
        if o.n_minus_1 {
            argv.push("--n-minus-1".into());
        }
        let (name, design) = (format!("capacity of {d}"), design.clone());
        runs.push(Experiment { name, folder, argv, capacity: true, design, outage: None });
    }
    for (design, tuning) in designs {
        if let Some(t) = &tuning {
            plan.tuned.push((design.clone(), t.clone()));
        }
        for &outage in &o.outages {
            let (kind, lasts) = fault_of(outage);
            if let Err(why) = design.applies(kind) {
                plan.skipped.push(Skipped { design: design.clone(), outage, why });
                continue;
            }
            let d = design.as_str();
            let fault = match lasts {
                Some(l) => format!("{kind}@{}:{}", format_duration(FAULT_AT), format_duration(l)),
                None => format!("{kind}@{}", format_duration(FAULT_AT)),
            };
            // The measured phase outlasts the outage by 15 s, so that recovery is inside it.
            let duration = FAULT_AT + lasts.unwrap_or_default() + Duration::from_secs(15);
            let suffix = if tuning.is_some() { "-tuned" } else { "" };
            let folder = dir.join(format!("{d}-{}{suffix}", outage.as_str()));
            let mut argv = vec!["run".to_string(), o.scenario.clone()];
            argv.extend(design.target());
            argv.extend(["--fault".into(), fault, "--trials".into(), o.trials.to_string()]);
            argv.extend(["--duration".into(), format_duration(duration)]);
            argv.extend(["--out".into(), folder.display().to_string(), "--quiet".into(), "--json".into()]);
            // A lost host stays lost: neither restarted in place nor rejoined (habench's own
            // orchestrator; a cluster's manager does what it does).
            if outage == Outage::NodeCrash && matches!(design, Design::Topology(_)) {
                argv.push("--no-heal".into());
            }
            argv.extend(tuning.iter().flat_map(|t| t.flags.iter().cloned()));
            plan.experiments.push(Experiment {
                name: format!("{} on {d}", outage.as_str()),
                folder,
                argv,
                capacity: false,
                design: design.clone(),
                outage: Some(outage),
            });
        }
    }
    plan
}

/// The configuration a `habench run ...` command line (without the program name) resolves to,
/// parsed and checked as the run itself would.
pub(crate) fn run_config_of(argv: &[String]) -> Result<crate::config::RunConfig, String> {
    let argv = std::iter::once("habench".to_string()).chain(argv.iter().cloned());
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv).map_err(|err| err.to_string())?;
    let crate::cli::Command::Run(a) = cli.command else { return Err("not a run's command line".into()) };
    super::options::run_config(&a).map_err(|err| err.to_string())
}

/// About how long an experiment takes on this kind of machine: a quick capacity search about
/// 150 s, a full one about 12 steps of 27 s; a run's trials each their warm-up and measured
/// phase plus about 15 s of start, check and teardown.
pub(crate) fn estimate(e: &Experiment, o: &PlanOptions) -> Duration {
    if e.capacity {
        return Duration::from_secs(if o.quick { 150 } else { 330 });
    }
    let measured = e.argv.iter().position(|a| a == "--duration").and_then(|i| e.argv.get(i + 1));
    let measured = measured.and_then(|d| habench_workloads::duration::parse_duration(d).ok()).unwrap_or_default();
    (measured + Duration::from_secs(18)) * o.trials
}

/// The experiments (by folder) that reused folders answer (`advise_reuse`).
pub(crate) type Covered = [PathBuf];

/// Whether the experiment is to run: not answered by a reused folder, not complete already.
pub(crate) fn to_run(e: &Experiment, covered: &Covered) -> bool {
    !done(e) && !covered.contains(&e.folder)
}

/// The estimate of what the plan still has to run.
pub(crate) fn total(o: &PlanOptions, dir: &Path, covered: &Covered) -> Duration {
    plan(o, dir).experiments.iter().filter(|e| to_run(e, covered)).map(|e| estimate(e, o)).sum()
}

/// The plan trimmed to `budget`: first one trial per outage, then node crash only, then the
/// last designs of the list; what was dropped, in words. Err when not even one design's node
/// crash fits.
pub(crate) fn fit(
    o: &PlanOptions,
    dir: &Path,
    covered: &Covered,
    budget: Duration,
) -> Result<(PlanOptions, Vec<String>), String> {
    let mut p = o.clone();
    let mut dropped = Vec::new();
    if total(&p, dir, covered) > budget && p.trials > 1 {
        dropped.push(format!("trials {} -> 1 per outage", p.trials));
        p.trials = 1;
    }
    if total(&p, dir, covered) > budget && p.outages.iter().any(|x| *x != Outage::NodeCrash) {
        let gone: Vec<&str> = p.outages.iter().filter(|x| **x != Outage::NodeCrash).map(|x| x.as_str()).collect();
        dropped.push(format!("outages {} (node-crash kept)", gone.join(", ")));
        p.outages = vec![Outage::NodeCrash];
    }
    // Designs ruled out before running cost nothing and stay, to be said in the decision.
    let runs = |p: &PlanOptions| {
        let pruned: Vec<Design> = plan(p, dir).pruned.iter().map(|x| Design::Topology(x.design)).collect();
        p.designs
            .iter()
            .rposition(|d| !pruned.contains(d))
            .filter(|_| p.designs.iter().filter(|d| !pruned.contains(d)).count() > 1)
    };
    while total(&p, dir, covered) > budget {
        let Some(i) = runs(&p) else { break };
        let d = p.designs.remove(i);
        dropped.push(format!("design {}", d.as_str()));
    }
    let need = total(&p, dir, covered);
    if need > budget {
        return Err(format!(
            "the smallest plan (one design, node crash, one trial) takes about {} and the budget is {}; give --budget {} or more",
            about(need),
            format_duration(budget),
            format_duration(Duration::from_secs(need.as_secs().div_ceil(60) * 60))
        ));
    }
    Ok((p, dropped))
}

/// An estimate as a person reads it: `16 min`, `45 s`.
pub(crate) fn about(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 120 => format!("{} min", s.div_ceil(60)),
        s => format!("{s} s"),
    }
}

/// Whether the experiment's folder already holds a complete result (then it is not run again).
/// A small file read on the runtime between experiments, when no run is in progress.
pub(crate) fn done(e: &Experiment) -> bool {
    let file = if e.capacity { "capacity.json" } else { "summary.json" };
    std::fs::read_to_string(e.folder.join(file))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["complete"] == true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> PlanOptions {
        PlanOptions {
            scenario: "quick".into(),
            designs: vec![Design::Topology(TopologyKind::Single), Design::Topology(TopologyKind::Sync)],
            outages: vec![Outage::NodeCrash, Outage::StandbyLoss, Outage::Hang],
            trials: 3,
            quick: true,
            slo: "publish.p99=50ms".into(),
            load: 200.0,
            n_minus_1: false,
            rto: Duration::from_secs(300),
            models: Vec::new(),
            tune: false,
        }
    }

    fn builtin() -> RtoModel {
        RtoModel::Builtin {
            interval: Duration::from_secs(1),
            threshold: 10,
            manual_delay: Duration::ZERO,
            kernel: false,
        }
    }

    #[test]
    fn designs_the_band_rules_out_are_pruned_and_tune_runs_them_with_the_setting_named() {
        let dir = Path::new("/tmp/advise-plan-test");
        let mut o = options();
        o.outages = vec![Outage::NodeCrash];
        o.models = vec![(TopologyKind::Single, builtin()), (TopologyKind::Sync, builtin())];
        let p = plan(&o, dir);
        assert_eq!(p.pruned.len(), 1, "a single server on a lost host: {:?}", p.pruned);
        assert!(p.pruned[0].why.contains("no other node") && p.pruned[0].tuning.is_none());
        assert!(
            p.experiments.iter().all(|e| e.design == Design::Topology(TopologyKind::Sync)),
            "nothing of single runs"
        );
        let crash = p.experiments.iter().find(|e| e.outage == Some(Outage::NodeCrash)).unwrap();
        assert!(crash.argv.contains(&"--no-heal".to_string()), "a lost host stays lost: {:?}", crash.argv);
        o.rto = Duration::from_secs(5);
        let p = plan(&o, dir);
        assert_eq!(p.pruned.len(), 2, "9-14 s is all above 5 s");
        let sync = p.pruned.iter().find(|x| x.design == TopologyKind::Sync).unwrap();
        assert_eq!(sync.tuning.as_ref().unwrap().flags, ["--probe-interval", "500ms", "--probe-threshold", "3"]);
        assert!(p.experiments.is_empty());
        o.tune = true;
        let p = plan(&o, dir);
        assert_eq!((p.pruned.len(), p.tuned.len()), (1, 1));
        let tuned: Vec<String> = p.experiments.iter().map(|e| e.folder.display().to_string()).collect();
        assert_eq!(tuned, ["/tmp/advise-plan-test/capacity-sync", "/tmp/advise-plan-test/sync-node-crash-tuned"]);
        assert!(p.experiments[1].argv.join(" ").ends_with("--no-heal --probe-interval 500ms --probe-threshold 3"));
        // 12 s: the default probes straddle it (9-14 s): run at the defaults, the setting hinted.
        (o.rto, o.tune) = (Duration::from_secs(12), false);
        let p = plan(&o, dir);
        assert_eq!(p.hints, [("sync".to_string(), p.hints[0].1.clone())]);
        assert!(p.hints[0].1.contains("--probe-threshold"), "{:?}", p.hints);
    }

    #[test]
    fn a_cluster_is_the_only_design_with_its_file_s_faults() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("c.toml");
        let nodes = "[[nodes]]\nname = \"n1\"\ndsn = \"host=127.0.0.1 port=1 user=postgres\"\n[nodes.commands]\nkill = \"true\"\n";
        let cluster = crate::cluster::ClusterFile::parse(&file.display().to_string(), nodes).unwrap();
        let mut o = options();
        let design = Design::Cluster(file.clone(), std::sync::Arc::new(cluster));
        (o.designs, o.outages) = (vec![design], vec![Outage::NodeCrash, Outage::PostmasterKill]);
        let p = plan(&o, tmp.path());
        let argv: Vec<String> = p.experiments.iter().map(|e| e.argv.join(" ")).collect();
        assert_eq!(argv.len(), 2, "{argv:?}");
        assert!(argv[0].contains(&format!("--cluster {}", file.display())) && !argv[0].contains("--topologies"));
        assert!(argv[1].contains("--fault kill-primary@5s") && !argv[1].contains("--no-heal"), "{}", argv[1]);
        assert_eq!(p.experiments[1].folder, tmp.path().join("cluster-postmaster-kill"));
        assert!(p.skipped[0].why.contains("commands.crash"), "{:?}", p.skipped);
    }

    #[test]
    fn the_plan_runs_each_design_s_search_and_trials_and_says_what_does_not_apply() {
        let dir = Path::new("/tmp/advise-plan-test");
        let p = plan(&options(), dir);
        let (runs, skipped) = (p.experiments, p.skipped);
        let names: Vec<&str> = runs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "capacity of single",
                "capacity of sync",
                "node-crash on single",
                "hang on single",
                "node-crash on sync",
                "standby-loss on sync",
                "hang on sync"
            ]
        );
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(
            (&skipped[0].design, skipped[0].outage),
            (&Design::Topology(TopologyKind::Single), Outage::StandbyLoss)
        );
        let hang = runs.iter().find(|e| e.name == "hang on sync").unwrap();
        let argv = hang.argv.join(" ");
        assert!(argv.contains("--fault pause-primary@5s:30s") && argv.contains("--duration 50s"), "{argv}");
        assert!(argv.contains("--trials 3") && argv.contains("--topology sync"), "{argv}");
        assert!(runs[0].argv.join(" ").contains("--quick"));
    }

    #[test]
    fn the_plan_is_trimmed_to_the_budget_trials_first_then_outages_then_designs() {
        let dir = Path::new("/tmp/advise-plan-test");
        let mut o = options();
        o.outages = vec![Outage::NodeCrash, Outage::PostmasterKill];
        let all = total(&o, dir, &[]);
        let (same, dropped) = fit(&o, dir, &[], all).unwrap();
        assert!(dropped.is_empty() && same.trials == 3, "{dropped:?}");
        let (p, dropped) = fit(&o, dir, &[], all - Duration::from_secs(1)).unwrap();
        assert_eq!((p.trials, dropped.len()), (1, 1), "{dropped:?}");
        let (p, dropped) = fit(&o, dir, &[], Duration::from_secs(6 * 60)).unwrap();
        assert_eq!((p.designs.len(), p.outages.len()), (1, 1), "{dropped:?}");
        assert_eq!(dropped.last().unwrap(), "design sync");
        let err = fit(&o, dir, &[], Duration::from_secs(60)).unwrap_err();
        assert!(err.contains("--budget"), "{err}");
    }

    #[test]
    fn a_folder_with_a_complete_result_is_not_run_again() {
        let tmp = std::env::temp_dir().join(format!("habench-advise-done-{}", std::process::id()));
        let runs = plan(&options(), &tmp).experiments;
        let e = &runs[2];
        assert!(!done(e), "nothing there yet");
        std::fs::create_dir_all(&e.folder).unwrap();
        std::fs::write(e.folder.join("summary.json"), r#"{"complete": false}"#).unwrap();
        assert!(!done(e), "an interrupted run runs again");
        std::fs::write(e.folder.join("summary.json"), r#"{"complete": true}"#).unwrap();
        assert!(done(e));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
