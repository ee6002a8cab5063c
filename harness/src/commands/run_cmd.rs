//! `habench run`: scenario + flags -> topology (or target) -> schema -> load -> results folder.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context};
use serde_json::json;
use tokio::sync::watch;

use crate::cli::RunArgs;
use crate::commands::options;
use crate::config::RunConfig;
use crate::failover::SharedTopology;
use crate::store::ResultsDir;
use crate::topology::describe;

pub use super::run_once::report_plan_for;
use super::run_once::{run_once, target_name, write_report, Servers};

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let variants = RunConfig::variants(&options::overrides(&args))?;
    let abort_rx = super::abort_on_signal()?;
    let stamp = crate::timefmt::compact(SystemTime::now());
    if variants.len() == 1 && variants[0].trials == 1 {
        let cfg = Arc::new(variants.into_iter().next().expect("one variant"));
        return run_single(cfg, &args, &stamp, abort_rx).await;
    }
    run_repeated(variants, &args, &stamp, abort_rx).await
}

/// One run in one folder.
async fn run_single(
    cfg: Arc<RunConfig>,
    args: &RunArgs,
    stamp: &str,
    abort_rx: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let dir = ResultsDir::create(cfg.out.as_deref(), &cfg.scenario, stamp, cfg.quiet)
        .context("creating the results folder")?;
    let (summary, servers) = run_once(cfg.clone(), args, dir, abort_rx.clone(), None).await?;
    let kept = Some(servers).filter(|_| cfg.keep);
    let results = cfg.out.clone().unwrap_or_else(|| std::path::PathBuf::from("results").join(&summary.run_id));
    if super::nested() {
    } else if human_output(args) {
        print_headline(&results);
    } else {
        println!(
            "{}",
            serde_json::to_string(&json!({
                "results": results,
                "complete": summary.complete,
                "compromised": summary.compromised,
                "throughput": summary.throughput,
                "latency_us": summary.latency_us,
                "check": summary.check,
                "failover": summary.failover.as_ref().map(|f| json!({ "rto_ms": f.rto_ms })),
            }))?
        );
    }
    finish(vec![summary], kept, abort_rx).await
}

/// Every trial of every variant in a folder of its own under one top folder, then the top
/// folder's comparison.
async fn run_repeated(
    variants: Vec<RunConfig>,
    args: &RunArgs,
    stamp: &str,
    abort_rx: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let first = &variants[0];
    let quiet = first.quiet;
    let top = ResultsDir::create(first.out.as_deref(), &first.scenario, stamp, first.quiet)
        .context("creating the results folder")?;
    let mut summaries = Vec::new();
    let mut kept = None;
    // Variants without faults on the same topology share one set of servers, back to back.
    let mut reusable: Option<(serde_json::Value, SharedTopology)> = None;
    let n_variants = variants.len();
    for (vi, cfg) in variants.into_iter().enumerate() {
        let label = cfg.variant.clone().unwrap_or_else(|| target_name(&cfg));
        for trial in 1..=cfg.trials {
            if *abort_rx.borrow() {
                break;
            }
            let last = vi + 1 == n_variants && trial == cfg.trials;
            let path = top.path().join(&label).join(format!("trial-{trial}"));
            let dir = ResultsDir::create(Some(&path), &cfg.scenario, stamp, cfg.quiet)?;
            if !cfg.quiet {
                eprintln!("habench: {label}, trial {trial} of {}", cfg.trials);
            }
            let mut trial_cfg = cfg.clone();
            trial_cfg.seed = cfg.seed.wrapping_add(u64::from(trial) - 1);
            let shareable = cfg.faults.is_empty() && cfg.trials == 1;
            let spec = serde_json::to_value(&cfg.target)?;
            let existing = match reusable.take() {
                Some((s, t)) if shareable && s == spec => Some(t),
                _ => None,
            };
            let (summary, servers) = run_once(Arc::new(trial_cfg), args, dir, abort_rx.clone(), existing).await?;
            summaries.push((label.clone(), trial, summary));
            if cfg.keep && last {
                kept = Some(servers);
            } else if shareable {
                reusable = servers.topology.map(|t| (spec, t));
            }
        }
    }
    drop(reusable);
    let report = write_top(&top, &summaries)?;
    write_report(top.path(), quiet);
    if super::nested() {
    } else if human_output(args) {
        println!("{}", report.markdown);
        print_headline(top.path());
    } else {
        println!("{}", serde_json::to_string(&json!({ "results": top.path(), "complete": report.summary.complete }))?);
    }
    finish(summaries.into_iter().map(|(_, _, s)| s).collect(), kept, abort_rx).await
}

/// The top folder of a repeated run: its summary, the variant comparison, and the offload or
/// distance comparison when the runs make one.
fn write_top(
    top: &ResultsDir,
    summaries: &[(String, u32, crate::summary::Summary)],
) -> anyhow::Result<crate::export::variants::TrialsReport> {
    let mut report = crate::export::variants::trials_report(crate::analysis::variants::repeated_summary(summaries));
    if let Some(offload) =
        crate::analysis::offload::offload_section(summaries).map(crate::export::offload::offload_report)
    {
        report.summary.offload = Some(offload.summary);
        crate::store::write_atomic(&top.path().join("offload.md"), offload.markdown.as_bytes())?;
        crate::store::write_atomic(&top.path().join("offload.csv"), offload.csv.as_bytes())?;
        report.markdown = offload.markdown;
    }
    if let Some(distance) =
        crate::analysis::distance::distance_section(summaries).map(crate::export::distance::distance_report)
    {
        report.summary.distance = Some(distance.summary);
        crate::store::write_atomic(&top.path().join("distance.md"), distance.markdown.as_bytes())?;
        crate::store::write_atomic(&top.path().join("distance.csv"), distance.csv.as_bytes())?;
        report.markdown = distance.markdown;
    }
    top.write_summary(&report.summary)?;
    crate::store::write_atomic(&top.path().join("comparison.md"), report.markdown.as_bytes())?;
    crate::store::write_atomic(&top.path().join("comparison.csv"), report.csv.as_bytes())?;
    Ok(report)
}

/// Human lines on a terminal (unless --json), one JSON line for pipes and scripts.
fn human_output(args: &RunArgs) -> bool {
    use std::io::IsTerminal;
    !args.json && std::io::stdout().is_terminal()
}

/// The report's headline as a few terminal lines, and where the report is.
fn print_headline(dir: &std::path::Path) {
    use crate::report::sections::headline;
    use crate::summary::FolderSummary;
    let Ok(data) = crate::run_data::RunData::load(dir) else { return };
    let facts = match &data.summary {
        FolderSummary::Repeated(s) => headline::repeated_facts(s),
        FolderSummary::Run(s) => headline::facts(&data, s),
    };
    println!();
    for line in headline::terminal_lines(&facts) {
        println!("{line}");
    }
    println!("\n  report: {}", dir.join("report.html").display());
}

/// Keeps the servers of the last run when asked to, then turns incomplete runs into an error.
async fn finish(
    summaries: Vec<crate::summary::Summary>,
    kept: Option<Servers>,
    mut abort: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Some(servers) = kept.filter(|k| k.topology.is_some() || k.groups.is_some()) {
        println!("{}", kept_line(&servers).await?);
        eprintln!("habench: servers kept running for inspection; SIGINT or SIGTERM tears them down");
        if !*abort.borrow() {
            let _ = abort.changed().await;
        }
        drop(servers);
    }
    let folders: Vec<String> = summaries
        .iter()
        .filter_map(|s| Some(format!("{}: {}", s.run_id, s.outputs.as_ref().filter(|o| !o.is_empty())?.line())))
        .collect();
    if !folders.is_empty() {
        let why = format!("results folder incomplete ({})", folders.join("; "));
        return Err(super::Ended(super::Verdict::OutputsIncomplete, why).into());
    }
    let incomplete: Vec<String> = summaries
        .iter()
        .filter(|s| !s.complete)
        .map(|s| format!("{}: {}", s.run_id, s.stop_reason.as_deref().unwrap_or("incomplete")))
        .collect();
    if !incomplete.is_empty() {
        bail!("the run did not complete ({}); what was measured is kept with complete: false", incomplete.join("; "));
    }
    let compromised: Vec<String> = summaries
        .iter()
        .filter(|s| s.compromised)
        .map(|s| format!("{}: {}", s.run_id, s.compromised_reason.as_deref().unwrap_or("habench stalled")))
        .collect();
    if !compromised.is_empty() {
        return Err(super::Ended(
            super::Verdict::Compromised,
            format!(
                "COMPROMISED measurement ({}); the results are kept with compromised: true",
                compromised.join("; ")
            ),
        )
        .into());
    }
    Ok(())
}

/// What `--keep` prints, one JSON line that starts with `{"kind"`: the topology as `habench
/// topology up` describes it, or `{"kind":"parallel","groups":[{"name","topology"}...]}`; with a
/// separate SSO secret server, its node as `sso_server`.
async fn kept_line(servers: &Servers) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Kept<T: serde::Serialize> {
        #[serde(flatten)]
        servers: T,
        #[serde(skip_serializing_if = "Option::is_none")]
        sso_server: Option<crate::topology::NodeInfo>,
    }
    #[derive(serde::Serialize)]
    struct Groups {
        kind: &'static str,
        groups: Vec<crate::export::manifest::GroupInfo>,
    }
    let sso_server = match &servers.sso {
        Some(s) => Some(crate::topology::node_info(s.lock().await.node_mut(), None).await),
        None => None,
    };
    if let Some(g) = &servers.groups {
        let groups = Groups { kind: "parallel", groups: g.describe().await };
        return Ok(serde_json::to_string(&Kept { servers: groups, sso_server })?);
    }
    let topo = servers.topology.as_ref().expect("a kept topology");
    let info = describe(topo.lock().await.as_topology_mut()).await;
    Ok(serde_json::to_string(&Kept { servers: info, sso_server })?)
}
