//! `habench advise [SCENARIO] --load N/s --rpo R --rto T [--designs ...] [--reuse DIR...]`: the
//! experiments the decision needs (each an ordinary results folder under the advise folder),
//! then the decision on their evidence and on the folders reused, written as advise.json,
//! advise.md and advise.html.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context};

use crate::analysis::advise::evidence::{gather, RunFolder};
use crate::capacity::outcome::CapacityOutcome;
use crate::cli::{AdviseArgs, OutageArg};
use crate::config::requirements::Requirements;
use crate::run_data::RunData;
use crate::summary::{AdviceNotRun as NotRun, FolderSummary, Outage};

use super::advise_plan::{self, Design, PlanOptions};

pub(crate) async fn run(args: AdviseArgs) -> anyhow::Result<()> {
    let req = Requirements {
        load: args.load,
        rpo: args.rpo,
        rto: args.rto,
        headroom: args.headroom,
        n_minus_1: args.n_minus_1,
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("advise-{}", crate::timefmt::compact(SystemTime::now())))
    });
    tokio::fs::create_dir_all(&out).await.with_context(|| format!("creating {}", out.display()))?;
    let mut runs = Vec::new();
    let mut searches = Vec::new();
    for dir in &args.reuse {
        collect(dir, &mut runs, &mut searches).with_context(|| format!("--reuse {}", dir.display()))?;
    }
    let mut planned = advise_plan::Plan::default();
    if args.reuse.is_empty() || !args.designs.is_empty() || args.cluster.is_some() {
        // The cluster file, read off the runtime before anything is planned.
        let cluster = match &args.cluster {
            Some(f) => Some(tokio::fs::read_to_string(f).await.with_context(|| format!("--cluster {}", f.display()))?),
            None => None,
        };
        let mut opts = plan_options(&args, cluster.as_deref())?;
        crate::capacity::slo::parse(&opts.slo).map_err(|e| anyhow::anyhow!("--slo: {e}"))?;
        let all = advise_plan::plan(&opts, &out).experiments;
        let (covered, unused) = super::advise_reuse::answered(&all, &opts.scenario, &runs, &searches);
        // With a plan, a reused folder is evidence only for what it answers.
        for (dir, why) in &unused {
            eprintln!("habench advise: --reuse {}: not used ({why})", dir.display());
        }
        runs.retain(|(dir, _)| !unused.iter().any(|(u, _)| u == dir));
        searches.retain(|(dir, _)| !unused.iter().any(|(u, _)| u == dir));
        if let Some(budget) = args.budget {
            let (fitted, dropped) =
                advise_plan::fit(&opts, &out, &covered, budget).map_err(|e| anyhow::anyhow!("--budget: {e}"))?;
            for d in &dropped {
                eprintln!(
                    "habench advise: to fit --budget {}: dropped {d}",
                    habench_workloads::duration::format_duration(budget)
                );
            }
            opts = fitted;
        }
        planned = advise_plan::plan(&opts, &out);
        for dir in run_plan(&planned, &opts, &covered).await? {
            collect(&dir, &mut runs, &mut searches).with_context(|| format!("{}", dir.display()))?;
        }
    }
    let folders: Vec<RunFolder<'_>> = runs
        .iter()
        .filter_map(|(dir, d)| match &d.summary {
            // An incomplete run measured only part of what it was asked, a compromised one was
            // disturbed by habench itself: neither is evidence.
            FolderSummary::Run(s) if s.complete && !s.compromised => {
                Some(RunFolder { folder: dir.display().to_string(), summary: s, manifest: &d.manifest })
            }
            _ => None,
        })
        .collect();
    let cited: Vec<(String, &CapacityOutcome)> = searches.iter().map(|(d, o)| (d.display().to_string(), o)).collect();
    let evidence = gather(&folders, &cited, req.load);
    let not_run = not_run(&planned);
    if evidence.is_empty() && not_run.is_empty() {
        bail!("no complete run or capacity search to judge in the folders given or made");
    }
    let mut advice = crate::analysis::advise::decide(&req, &evidence, &not_run, &asked_outages(&args));
    if !planned.experiments.is_empty() || !planned.pruned.is_empty() {
        advice.reuse_rule = super::advise_reuse::REUSE_RULE.into();
    }
    crate::analysis::advise::hint(&mut advice, &planned.hints);
    let json = serde_json::to_string_pretty(&advice)? + "\n";
    crate::store::write_atomic(&out.join("advise.json"), json.as_bytes())?;
    let md = crate::report::advice::write(&out, &advice).map_err(anyhow::Error::msg)?;
    println!("{md}");
    eprintln!("habench: {} (advise.md, advise.html, advise.json)", out.display());
    Ok(())
}

/// What the plan left out, as the decision states it.
fn not_run(p: &advise_plan::Plan) -> Vec<NotRun> {
    let pruned = p.pruned.iter().map(|x| NotRun {
        design: x.design.as_str().into(),
        outage: None,
        ruled_out_by: Some(x.outage),
        inapplicable: false,
        why: x.why.clone(),
        tuning: x.tuning.as_ref().map(|t| format!("{} ({})", t.what, t.flags.join(" "))),
    });
    let skipped = p.skipped.iter().map(|x| NotRun {
        design: x.design.as_str().into(),
        outage: Some(x.outage),
        ruled_out_by: None,
        // A cluster lacking the command could have the outage; habench cannot cause it.
        inapplicable: matches!(x.design, Design::Topology(_)),
        why: x.why.clone(),
        tuning: None,
    });
    pruned.chain(skipped).collect()
}

/// Who decides the failovers of `design` run from `scenario`: the RunConfig the plan's own run
/// would build, so the prediction uses the scenario's orchestrator section.
fn model(scenario: &str, design: crate::topology::TopologyKind) -> anyhow::Result<crate::failover::band::RtoModel> {
    let argv = ["run", scenario, "--topology", design.as_str()].map(String::from);
    let cfg = advise_plan::run_config_of(&argv)
        .map_err(|e| anyhow::anyhow!("scenario {scenario} on {}: {e}", design.as_str()))?;
    super::run_once::model_of(&cfg).context("no band model for a topology habench starts")
}

fn plan_options(args: &AdviseArgs, cluster_text: Option<&str>) -> anyhow::Result<PlanOptions> {
    use crate::topology::TopologyKind as K;
    let kinds = match args.designs.is_empty() {
        true => vec![K::Single, K::SharedDisk, K::Sync, K::Async, K::Patroni],
        false => args.designs.iter().map(|d| super::options::kind(*d)).collect(),
    };
    let outages = asked_outages(args);
    let (designs, models) = match (&args.cluster, cluster_text) {
        (Some(f), Some(text)) => {
            let c = crate::cluster::ClusterFile::parse(&f.display().to_string(), text)
                .map_err(|e| anyhow::anyhow!("--cluster: {e}"))?;
            (vec![Design::Cluster(f.clone(), std::sync::Arc::new(c))], Vec::new())
        }
        _ => {
            let models = kinds.iter().map(|&d| Ok((d, model(&args.scenario, d)?))).collect::<anyhow::Result<_>>()?;
            (kinds.into_iter().map(Design::Topology).collect(), models)
        }
    };
    Ok(PlanOptions {
        scenario: args.scenario.clone(),
        rto: args.rto,
        tune: args.tune,
        models,
        designs,
        outages,
        trials: args.trials.unwrap_or(if args.quick { 1 } else { 3 }),
        quick: args.quick,
        slo: args.slo.clone(),
        load: args.load,
        n_minus_1: args.n_minus_1,
    })
}

/// The outage classes asked for: `--outages`, else node crash and postmaster kill (`--quick`:
/// node crash).
fn asked_outages(args: &AdviseArgs) -> Vec<Outage> {
    match (args.outages.is_empty(), args.quick) {
        (true, true) => vec![Outage::NodeCrash],
        (true, false) => vec![Outage::NodeCrash, Outage::PostmasterKill],
        (false, _) => args.outages.iter().map(|o| outage(*o)).collect(),
    }
}

fn outage(o: OutageArg) -> Outage {
    match o {
        OutageArg::NodeCrash => Outage::NodeCrash,
        OutageArg::PostmasterKill => Outage::PostmasterKill,
        OutageArg::Hang => Outage::Hang,
        OutageArg::StandbyLoss => Outage::StandbyLoss,
        OutageArg::DcsOutage => Outage::Dcs,
        OutageArg::Partition => Outage::Partition,
    }
}

/// Runs every experiment of the plan whose folder is not complete yet, one after another, as
/// the same commands would from the command line; returns the folders. A failed experiment is
/// said and left out; Ctrl-C stops after the current one (the same command continues).
async fn run_plan(
    plan: &advise_plan::Plan,
    opts: &PlanOptions,
    covered: &advise_plan::Covered,
) -> anyhow::Result<Vec<PathBuf>> {
    let abort = super::abort_on_signal()?;
    super::NESTED.store(true, std::sync::atomic::Ordering::Relaxed);
    let experiments = &plan.experiments;
    let left = left_from(experiments, opts, covered);
    eprintln!("habench advise: {} experiments, about {} to run", experiments.len(), advise_plan::about(left));
    for p in &plan.pruned {
        let tuning = match &p.tuning {
            Some(t) => format!("; predicted to meet it with {} (--tune measures it)", t.what),
            None => String::new(),
        };
        eprintln!("habench advise: {} ruled out before running: {}{tuning}", p.design.as_str(), p.why);
    }
    for (d, t) in &plan.tuned {
        eprintln!("habench advise: {} runs tuned: {} ({})", d.as_str(), t.what, t.flags.join(" "));
    }
    for s in &plan.skipped {
        eprintln!("habench advise: {} on {}: n/a ({})", s.outage.as_str(), s.design.as_str(), s.why);
    }
    let n = experiments.len();
    let mut made = Vec::new();
    for (i, e) in experiments.iter().enumerate() {
        if covered.contains(&e.folder) {
            eprintln!("habench advise: [{}/{n}] {}: from the folders reused", i + 1, e.name);
            continue;
        }
        made.push(e.folder.clone());
        if advise_plan::done(e) {
            eprintln!("habench advise: [{}/{n}] {}: done already ({})", i + 1, e.name, e.folder.display());
            continue;
        }
        eprintln!(
            "habench advise: [{}/{n}] {} -> {} (about {} left)",
            i + 1,
            e.name,
            e.folder.display(),
            advise_plan::about(left_from(&experiments[i..], opts, covered))
        );
        let argv = std::iter::once("habench".to_string()).chain(e.argv.iter().cloned());
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv)
            .map_err(|err| anyhow::anyhow!("{}: {err}", e.name))?;
        let result = match cli.command {
            crate::cli::Command::Run(a) => Box::pin(super::run_cmd::run(*a)).await,
            crate::cli::Command::Capacity(a) => Box::pin(super::capacity_cmd::run(*a)).await,
            _ => unreachable!("the plan runs runs and capacity searches"),
        };
        if let Err(err) = result {
            eprintln!(
                "habench advise: {} did not end cleanly ({err}); an incomplete or compromised run is not evidence",
                e.name
            );
        }
        if *abort.borrow() {
            bail!("stopped after {}; the same command continues where it stopped", e.name);
        }
    }
    Ok(made.into_iter().filter(|f| f.exists()).collect())
}

/// The estimate of what is still to run from here.
fn left_from(
    rest: &[advise_plan::Experiment],
    opts: &PlanOptions,
    covered: &advise_plan::Covered,
) -> std::time::Duration {
    rest.iter().filter(|e| advise_plan::to_run(e, covered)).map(|e| advise_plan::estimate(e, opts)).sum()
}

/// A folder as evidence: a capacity search, a run, a repeated run's trials, or an advise
/// folder's experiments. Its file reads
/// stay on the runtime on purpose: advise reads folders before the first experiment and after
/// the last (or between them), when no load, watcher or stall detector runs and nothing waits.
fn collect(
    dir: &Path,
    runs: &mut Vec<(PathBuf, RunData)>,
    searches: &mut Vec<(PathBuf, CapacityOutcome)>,
) -> anyhow::Result<()> {
    if dir.join("advise.json").is_file() {
        // An advise folder: every experiment folder in it (a directory listing, read like the
        // files below: before the first experiment or between them, when nothing waits).
        let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("summary.json").is_file() || p.join("capacity.json").is_file())
            .collect();
        subs.sort();
        for s in subs {
            collect(&s, runs, searches).with_context(|| s.display().to_string())?;
        }
        return Ok(());
    }
    if dir.join("capacity.json").is_file() && !dir.join("summary.json").is_file() {
        searches.push((dir.to_path_buf(), crate::run_data::load_capacity(dir).map_err(anyhow::Error::msg)?));
        return Ok(());
    }
    let data = RunData::load(dir).map_err(anyhow::Error::msg)?;
    if let FolderSummary::Repeated(_) = data.summary {
        // Every trial below it: VARIANT/trial-N.
        let mut subs: Vec<PathBuf> = Vec::new();
        for variant in std::fs::read_dir(dir)?.flatten().filter(|e| e.path().is_dir()) {
            for trial in
                std::fs::read_dir(variant.path())?.flatten().filter(|e| e.path().join("summary.json").is_file())
            {
                subs.push(trial.path());
            }
        }
        subs.sort();
        for s in subs {
            runs.push((s.clone(), RunData::load(&s).map_err(anyhow::Error::msg)?));
        }
        return Ok(());
    }
    runs.push((dir.to_path_buf(), data));
    Ok(())
}
