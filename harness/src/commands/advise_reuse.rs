//! Which reused folders answer which experiments of advise's plan (then the experiment does not
//! run). Only a folder that measured what the experiment would have measured answers it;
//! anything else runs again, and stderr says why the folder did not match.

use std::path::PathBuf;

use crate::capacity::outcome::CapacityOutcome;
use crate::run_data::RunData;
use crate::summary::FolderSummary;

use super::advise_plan::Experiment;

/// The rule, as the decision and the docs state it.
pub(crate) const REUSE_RULE: &str = "a reused run answers an experiment of the plan when it ran the same design \
     (topology spec, the manifest's `config.target`) with the same workload and load (`config.workload`, \
     `config.load`), the same failover setting (`config.orchestrator` probes and Patroni timings), a fault of the \
     outage class, and wrote the summary schema this habench reads; a reused capacity search answers a design's \
     search when it searched that design's label on the same scenario with the capacity schema this habench \
     reads; anything else runs again";

/// What the plan's experiment would put in its manifest's `config`: the same command line,
/// parsed and resolved as the run would.
fn planned_config(e: &Experiment) -> Result<serde_json::Value, String> {
    let cfg = super::advise_plan::run_config_of(&e.argv)?;
    serde_json::to_value(&cfg).map_err(|err| err.to_string())
}

/// Why a reused run does not answer a planned failover experiment (None: it does).
fn run_mismatch(e: &Experiment, planned: &serde_json::Value, data: &RunData) -> Option<String> {
    let FolderSummary::Run(s) = &data.summary else { return Some("not a single run".into()) };
    if s.topology != e.design.as_str() {
        return Some(format!("topology {}", s.topology));
    }
    if s.schema_version != crate::summary::SCHEMA_VERSION {
        return Some(format!(
            "summary schema {} (this habench reads {})",
            s.schema_version,
            crate::summary::SCHEMA_VERSION
        ));
    }
    let got = &data.manifest["config"];
    for key in ["target", "workload", "load"] {
        if got[key] != planned[key] {
            return Some(format!("another {key} (manifest config.{key})"));
        }
    }
    let probes = |c: &serde_json::Value| {
        (c["orchestrator"]["probe_interval"].clone(), c["orchestrator"]["probe_threshold"].clone())
    };
    if probes(got) != probes(planned) {
        return Some("other orchestrator probes".into());
    }
    let class = s.trials().iter().filter_map(|t| crate::analysis::advise::evidence::outage_of(t.fault.kind));
    if !class.into_iter().any(|o| Some(o) == e.outage) {
        return Some(format!("no {} fault", e.outage.map_or("", |o| o.as_str())));
    }
    None
}

/// Why a reused capacity search does not answer a planned search (None: it does).
fn capacity_mismatch(e: &Experiment, o: &CapacityOutcome, scenario: &str) -> Option<String> {
    if !o.topologies.iter().any(|t| t.label == e.design.as_str()) {
        return Some(format!("it did not search {}", e.design.as_str()));
    }
    if o.schema_version != crate::capacity::outcome::SCHEMA_VERSION {
        return Some(format!("capacity schema {}", o.schema_version));
    }
    (o.scenario != scenario).then(|| format!("scenario {} (the plan runs {scenario})", o.scenario))
}

/// The experiments the reused folders answer (by folder), and for each reused folder that
/// answers none, why not.
pub(crate) fn answered(
    experiments: &[Experiment],
    scenario: &str,
    runs: &[(PathBuf, RunData)],
    searches: &[(PathBuf, CapacityOutcome)],
) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut answered = Vec::new();
    let mut used = vec![false; runs.len() + searches.len()];
    let mut why: Vec<Option<String>> = vec![None; runs.len() + searches.len()];
    // A reason is kept only from an experiment of the folder's own design: that is the one it
    // could have answered.
    for e in experiments {
        if e.capacity {
            for (i, (_, o)) in searches.iter().enumerate() {
                if !o.topologies.iter().any(|t| t.label == e.design.as_str()) {
                    continue;
                }
                match capacity_mismatch(e, o, scenario) {
                    None => {
                        used[runs.len() + i] = true;
                        answered.push(e.folder.clone());
                    }
                    Some(w) => why[runs.len() + i] = Some(w),
                }
            }
            continue;
        }
        let planned = planned_config(e);
        for (i, (_, d)) in runs.iter().enumerate() {
            if !matches!(&d.summary, FolderSummary::Run(s) if s.topology == e.design.as_str()) {
                continue;
            }
            match planned.as_ref().map(|p| run_mismatch(e, p, d)) {
                Ok(None) => {
                    used[i] = true;
                    answered.push(e.folder.clone());
                }
                Ok(Some(w)) => why[i] = Some(w),
                Err(err) => why[i] = Some(err.clone()),
            }
        }
    }
    answered.sort();
    answered.dedup();
    let folders = runs.iter().map(|(p, _)| p).chain(searches.iter().map(|(p, _)| p));
    let unused = folders
        .zip(used.iter().zip(why))
        .filter(|(_, (u, _))| !**u)
        .map(|(p, (_, w))| (p.clone(), w.unwrap_or_else(|| "the plan runs nothing of its design".into())))
        .collect();
    (answered, unused)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::commands::advise_plan::{plan, PlanOptions};
    use crate::summary::Outage;
    use crate::topology::TopologyKind;

    fn examples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/examples")
    }

    fn options() -> PlanOptions {
        PlanOptions {
            scenario: "quick".into(),
            designs: vec![crate::commands::advise_plan::Design::Topology(TopologyKind::Single)],
            outages: vec![Outage::PostmasterKill],
            trials: 1,
            quick: true,
            slo: "publish.p99=50ms".into(),
            load: 200.0,
            n_minus_1: false,
            rto: Duration::from_secs(30),
            models: Vec::new(),
            tune: false,
        }
    }

    #[test]
    fn a_reused_folder_answers_an_experiment_only_when_it_measured_the_same_thing() {
        let experiments = plan(&options(), Path::new("/tmp/advise-reuse-test")).experiments;
        let trial = examples().join("repeated-kill-primary/single/trial-1");
        let search = examples().join("capacity-quick");
        let searches = vec![(search.clone(), crate::run_data::load_capacity(&search).unwrap())];
        // The fixture ran its own workload at 50/s: it does not answer the plan's quick run.
        let runs = vec![(trial.clone(), RunData::load(&trial).unwrap())];
        let (got, unused) = super::answered(&experiments, "quick", &runs, &searches);
        assert_eq!(got, [PathBuf::from("/tmp/advise-reuse-test/capacity-single")], "the quick search of single");
        assert_eq!(unused.len(), 1);
        assert!(unused[0].1.starts_with("another workload"), "{:?}", unused[0]);
        // The same trials under the configuration the plan's run would have: it answers it.
        let run = experiments.iter().find(|e| e.outage == Some(Outage::PostmasterKill)).unwrap();
        let mut same = RunData::load(&trial).unwrap();
        same.manifest["config"] = planned_config(run).unwrap();
        let (got, unused) = super::answered(&experiments, "quick", &[(trial.clone(), same)], &[]);
        assert_eq!(got, std::slice::from_ref(&run.folder));
        assert!(unused.is_empty(), "{unused:?}");
        // Other probes, or a capacity search of another scenario: run again.
        let mut probes = RunData::load(&trial).unwrap();
        probes.manifest["config"] = planned_config(run).unwrap();
        probes.manifest["config"]["orchestrator"]["probe_threshold"] = 3.into();
        let (_, unused) = super::answered(&experiments, "quick", &[(trial, probes)], &[]);
        assert!(unused[0].1.contains("probes"), "{unused:?}");
        let (got, unused) = super::answered(&experiments, "failover", &[], &searches);
        assert!(got.is_empty() && unused[0].1.contains("scenario quick"), "{unused:?}");
    }
}
