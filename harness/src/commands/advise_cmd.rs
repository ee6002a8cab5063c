//! `habench advise --load N/s --rpo R --rto T --reuse DIR...`: the decision on the evidence of
//! existing results folders, written as advise.json, advise.md and advise.html.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context};

use crate::analysis::advise::evidence::{gather, RunFolder};
use crate::capacity::outcome::CapacityOutcome;
use crate::cli::AdviseArgs;
use crate::config::requirements::Requirements;
use crate::run_data::RunData;
use crate::summary::FolderSummary;

pub(crate) fn run(args: AdviseArgs) -> anyhow::Result<()> {
    let req = Requirements {
        load: args.load,
        rpo: args.rpo,
        rto: args.rto,
        headroom: args.headroom,
        n_minus_1: args.n_minus_1,
    };
    let mut runs = Vec::new();
    let mut searches = Vec::new();
    for dir in &args.reuse {
        collect(dir, &mut runs, &mut searches).with_context(|| format!("--reuse {}", dir.display()))?;
    }
    let folders: Vec<RunFolder<'_>> = runs
        .iter()
        .filter_map(|(dir, d)| match &d.summary {
            FolderSummary::Run(s) => {
                Some(RunFolder { folder: dir.display().to_string(), summary: s, manifest: &d.manifest })
            }
            FolderSummary::Repeated(_) => None,
        })
        .collect();
    let cited: Vec<(String, &CapacityOutcome)> = searches.iter().map(|(d, o)| (d.display().to_string(), o)).collect();
    let evidence = gather(&folders, &cited);
    if evidence.is_empty() {
        bail!("--reuse: no run or capacity search in the folders given");
    }
    let advice = crate::analysis::advise::decide(&req, &evidence);
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("advise-{}", crate::timefmt::compact(SystemTime::now())))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let json = serde_json::to_string_pretty(&advice)? + "\n";
    crate::store::write_atomic(&out.join("advise.json"), json.as_bytes())?;
    let md = crate::report::advice::write(&out, &advice).map_err(anyhow::Error::msg)?;
    println!("{md}");
    eprintln!("habench: {} (advise.md, advise.html, advise.json)", out.display());
    Ok(())
}

/// A folder as evidence: a capacity search, a run, or a repeated run's trials.
fn collect(
    dir: &Path,
    runs: &mut Vec<(PathBuf, RunData)>,
    searches: &mut Vec<(PathBuf, CapacityOutcome)>,
) -> anyhow::Result<()> {
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
