//! `habench capacity`: flags -> SLO, search bounds and the topologies to search; one search per
//! topology (`capacity_search`); capacity.json after every step, and capacity.md, capacity.html
//! and charts at the end (also when stopped: the finished steps are kept).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};

use crate::capacity::outcome::{CapacityOutcome, SCHEMA_VERSION};
use crate::capacity::overdrive::OverdrivePlan;
use crate::capacity::search::Params;
use crate::capacity::slo;
use crate::capacity::verdict::Rules;
use crate::cli::CapacityArgs;
use crate::commands::options;
use crate::config::{Load, RunConfig};

use super::capacity_search::search_topology;
use super::capacity_step::{StepCtx, StepPlan};

pub(crate) async fn run(args: CapacityArgs) -> anyhow::Result<()> {
    let plan = plan(&args)?;
    let abort_rx = super::abort_on_signal()?;
    std::fs::create_dir_all(&plan.dir).with_context(|| format!("creating {}", plan.dir.display()))?;
    let mut outcome = CapacityOutcome {
        schema_version: SCHEMA_VERSION,
        complete: false,
        stop_reason: None,
        created_at: crate::timefmt::rfc3339(SystemTime::now()),
        scenario: plan.variants[0].scenario.clone(),
        rules_text: plan.steps.rules.describe(),
        rules: plan.steps.rules.clone(),
        params: plan.steps.params.clone(),
        step_s: plan.steps.step.as_secs_f64(),
        warmup_s: plan.steps.warmup.as_secs_f64(),
        target_load: plan.target,
        topologies: Vec::new(),
        planning: Vec::new(),
    };
    save(&plan.dir, &mut outcome)?;
    for cfg in &plan.variants {
        if *abort_rx.borrow() {
            break;
        }
        let label = cfg.variant.clone().unwrap_or_else(|| super::run_once::target_name(cfg));
        let save_partial = |partial: &crate::capacity::outcome::TopologySearch| {
            let mut o = outcome.clone();
            o.topologies.push(partial.clone());
            save(&plan.dir, &mut o)
        };
        let ctx = StepCtx { plan: &plan.steps, args: &args.run, dir: &plan.dir, label: &label, abort: &abort_rx };
        let (mut search, mut servers) = search_topology(cfg, ctx, None, &mut |p| save_partial(p)).await;
        if let (Some(o), Some(mst), Some(_)) = (plan.steps.overdrive, search.mst, search.end) {
            if !*abort_rx.borrow() {
                let (r, s) = super::capacity_overdrive::overdrive(cfg, ctx, (mst, o), servers).await;
                search.overdrive = Some(r);
                servers = s;
            }
        }
        if args.n_minus_1 && search.mst.is_some() && !*abort_rx.borrow() {
            let healthy = search.clone();
            let n1 = n_minus_1(cfg, ctx, &healthy, servers, &mut |degraded| {
                let mut t = healthy.clone();
                t.n_minus_1 = Some(Box::new(degraded.clone()));
                save_partial(&t)
            })
            .await;
            search.n_minus_1 = Some(Box::new(n1));
        } else {
            drop(servers);
        }
        outcome.topologies.push(search);
        save(&plan.dir, &mut outcome)?;
    }
    let stopped = *abort_rx.borrow();
    outcome.complete = !stopped && outcome.topologies.iter().all(|t| t.end.is_some() && t.error.is_none());
    if stopped {
        outcome.stop_reason = Some("interrupted (SIGINT/SIGTERM); every finished step is kept".into());
    }
    save(&plan.dir, &mut outcome)?;
    match crate::report::capacity::write(&plan.dir, &outcome) {
        Ok(out) => out.warnings.iter().for_each(|w| eprintln!("habench: warning: {w}")),
        Err(e) => eprintln!("habench: warning: no capacity report: {e}"),
    }
    print_table(&plan.dir, &outcome, &args);
    if stopped {
        bail!(
            "the capacity search was stopped; finished steps and the partial planning table are in {}",
            plan.dir.display()
        );
    }
    if let Some(t) = outcome.topologies.iter().find(|t| t.error.is_some()) {
        bail!("the search on {} failed: {}", t.label, t.error.as_deref().unwrap_or_default());
    }
    Ok(())
}

/// The node taken away (a fault run at half the MST), then the search again on what is left,
/// starting at the healthy MST.
async fn n_minus_1(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    healthy: &crate::capacity::outcome::TopologySearch,
    servers: Option<crate::failover::SharedTopology>,
    on_step: &mut dyn FnMut(&crate::capacity::outcome::Degraded) -> anyhow::Result<()>,
) -> crate::capacity::outcome::Degraded {
    let mst = healthy.mst.unwrap_or(ctx.plan.params.start);
    let kind = match super::capacity_degrade::fault_for(cfg) {
        Ok(k) => k,
        Err(why) => {
            return crate::capacity::outcome::Degraded {
                fault: "-".into(),
                target: None,
                folder: String::new(),
                rto_ms: None,
                lost: None,
                search: None,
                error: Some(why),
            }
        }
    };
    let low = (mst * crate::capacity::overdrive::LOW_SHARE).round().max(1.0);
    let (mut degraded, servers) = super::capacity_degrade::degrade(cfg, ctx, (kind, low), servers).await;
    let _ = on_step(&degraded);
    if degraded.error.is_some() || *ctx.abort.borrow() {
        return degraded;
    }
    let mut steps = ctx.plan.clone();
    steps.params.start = mst;
    steps.confirm = None;
    steps.overdrive = None;
    let n1_label = format!("{}/n-1", ctx.label);
    let n1 = StepCtx { plan: &steps, label: &n1_label, ..ctx };
    let (search, _servers) = search_topology(cfg, n1, servers, &mut |p| {
        let mut d = degraded.clone();
        d.search = Some(p.clone());
        on_step(&d)
    })
    .await;
    degraded.search = Some(search);
    degraded
}

/// Everything the searches need, from the flags.
struct Plan {
    variants: Vec<RunConfig>,
    steps: StepPlan,
    target: Option<f64>,
    dir: PathBuf,
}

fn plan(args: &CapacityArgs) -> anyhow::Result<Plan> {
    let r = &args.run;
    let refused = [
        (r.rate.is_some(), "--rate", "the search sets the rate of each step"),
        (r.clients.is_some(), "--clients", "the search runs an open loop"),
        (r.duration.is_some(), "--duration", "use --step for the measured time of each step"),
        (r.trials.is_some(), "--trials", "each step is one run"),
        (!r.faults.is_empty(), "--fault", "a search measures the healthy state"),
        (r.keep, "--keep", "every step reuses the servers; they stop at the end"),
    ];
    if let Some((_, flag, why)) = refused.iter().find(|(given, _, _)| *given) {
        bail!("{flag} is not a capacity flag: {why}");
    }
    let terms = slo::parse(&args.slo).map_err(|e| anyhow::anyhow!("--slo: {e}"))?;
    let quick = args.quick;
    let precision = match &args.precision {
        Some(p) => parse_share(p).map_err(|e| anyhow::anyhow!("--precision: {e}"))?,
        None if quick => 0.15,
        None => 0.05,
    };
    let mut variants = variants(args)?;
    // A search measures the healthy state: a scenario's own faults are not injected (only
    // --n-minus-1's, in a run of its own).
    variants.iter_mut().for_each(|v| v.faults.clear());
    if let Some(t) = args.target_load {
        if !(t > 0.0 && t.is_finite()) {
            bail!("--target-load: give the planned publishes per second, e.g. 800");
        }
    }
    let scenario_rate = match variants[0].load {
        Load::Open { rate, .. } => rate,
        Load::Closed { .. } => 100.0,
    };
    let params = Params {
        start: args.target_load.unwrap_or(scenario_rate),
        min: args.min_rate.unwrap_or(20.0),
        max: args.max_rate.unwrap_or(20_000.0),
        precision,
        factor: 2.0,
        max_steps: args.max_steps.unwrap_or(12),
    };
    params.check().map_err(|e| anyhow::anyhow!(e))?;
    let step = args.step.unwrap_or(if quick { Duration::from_secs(6) } else { Duration::from_secs(20) });
    if step < Duration::from_secs(2) {
        bail!("--step {step:?} is too short to judge a backlog; give at least 2s");
    }
    let overdrive = match &args.overdrive {
        Some(text) => Some(OverdrivePlan::parse(text).map_err(|e| anyhow::anyhow!("--overdrive: {e}"))?),
        None => None,
    };
    let warmup = r.warmup.unwrap_or(if quick { Duration::from_secs(2) } else { Duration::from_secs(3) });
    let stamp = crate::timefmt::compact(SystemTime::now());
    let dir = r.out.clone().unwrap_or_else(|| Path::new("results").join(format!("capacity-{stamp}")));
    Ok(Plan {
        variants,
        steps: StepPlan {
            rules: Rules::new(terms),
            params,
            step,
            warmup,
            confirm: args.confirm,
            overdrive,
            progress: super::progress::Progress::new(r.quiet),
        },
        target: args.target_load,
        dir,
    })
}

/// The configurations to search: `--topologies`, else the scenario's variants, else the one.
fn variants(args: &CapacityArgs) -> anyhow::Result<Vec<RunConfig>> {
    let mut ov = options::overrides(&args.run);
    if args.topologies.is_empty() {
        return Ok(RunConfig::variants(&ov)?);
    }
    if args.run.topology.is_some() {
        bail!("--topology and --topologies: give one of them");
    }
    if args.run.target_dsn.is_some() || args.run.cluster.is_some() {
        bail!("--topologies starts servers; it cannot go with --target-dsn or --cluster");
    }
    let mut out = Vec::new();
    for k in &args.topologies {
        ov.topology = Some(options::kind(*k));
        let mut cfg = RunConfig::from_overrides(&ov)?;
        cfg.variant = Some(options::kind(*k).as_str().to_string());
        if out.iter().any(|c: &RunConfig| c.variant == cfg.variant) {
            bail!("--topologies names {} twice", options::kind(*k).as_str());
        }
        out.push(cfg);
    }
    Ok(out)
}

/// `5%` or `0.05`.
fn parse_share(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}` is not a share; write e.g. 5%"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!("`{text}`: give a share above 0 and below 100 %, e.g. 5%"));
    }
    Ok(v)
}

/// capacity.json with the planning rows recomputed (atomic: a crash leaves the last one whole).
fn save(dir: &Path, o: &mut CapacityOutcome) -> anyhow::Result<()> {
    o.planning = o.topologies.iter().map(|t| t.plan_row(o.target_load)).collect();
    let mut text = serde_json::to_vec_pretty(o)?;
    text.push(b'\n');
    crate::store::write_atomic(&dir.join("capacity.json"), &text).context("writing capacity.json")
}

fn print_table(dir: &Path, o: &CapacityOutcome, args: &CapacityArgs) {
    use std::io::IsTerminal;
    if super::nested() {
        return;
    }
    if !args.run.json && std::io::stdout().is_terminal() {
        println!("{}", crate::report::capacity::planning_markdown(o));
        println!("  report: {}", dir.join("capacity.html").display());
    } else {
        let line = serde_json::json!({ "results": dir, "complete": o.complete, "planning": o.planning });
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_as_percent_or_fraction() {
        assert_eq!(parse_share("5%"), Ok(0.05));
        assert_eq!(parse_share("0.1"), Ok(0.1));
        assert!(parse_share("0%").unwrap_err().contains("above 0"));
        assert!(parse_share("five").unwrap_err().contains("not a share"));
    }
}
