//! One topology's capacity search: its servers started once (or handed over), then one
//! open-loop run per step at the rate the search asks for, each in its own results folder; a
//! line per finished step; then the optional confirmation run at the MST.

use std::time::{Duration, Instant};

use crate::capacity::outcome::{Confirm, Step, TopologySearch};
use crate::capacity::search::Search;
use crate::capacity::verdict::{judge, StepMeasure, Verdict};
use crate::config::RunConfig;
use crate::failover::SharedTopology;

use super::capacity_step::{run_step, StepCtx, StepLoad};

/// Seconds a step costs beyond warm-up and measured time (schema, checkpoint, check, report).
const STEP_OVERHEAD_S: f64 = 4.0;

/// Over 80 lines: the search's loop (a step, its verdict, the next rate, the confirmations)
/// with the servers handed from step to step; the pure search is `capacity::search`.
pub(crate) async fn search_topology(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    mut servers: Option<SharedTopology>,
    on_step: &mut dyn FnMut(&TopologySearch) -> anyhow::Result<()>,
) -> (TopologySearch, Option<SharedTopology>) {
    let (plan, label, abort) = (ctx.plan, ctx.label, ctx.abort);
    let started = Instant::now();
    let mut out = TopologySearch {
        label: label.to_string(),
        steps: Vec::new(),
        end: None,
        mst: None,
        unsustainable: None,
        confirm: None,
        overdrive: None,
        n_minus_1: None,
        error: None,
        elapsed_s: 0.0,
    };
    let mut search = Search::new(plan.params.clone());
    let step_s = plan.warmup.as_secs_f64() + plan.step.as_secs_f64() + STEP_OVERHEAD_S;
    loop {
        let rate = match search.next() {
            Ok(r) => r,
            Err(end) => {
                out.end = Some(end);
                break;
            }
        };
        if *abort.borrow() {
            break;
        }
        let index = out.steps.len() + 1;
        let left = search.steps_left();
        let tick = plan.progress.begin(
            format!(
                "capacity {label}: step {index}, {rate:.0}/s (about {left} step{} left, ~{:.0} min)",
                if left == 1 { "" } else { "s" },
                (left as f64 * step_s / 60.0).ceil()
            ),
            Duration::from_secs_f64(step_s),
        );
        let folder = format!("{label}/step-{index:02}-{rate:.0}");
        let t0 = Instant::now();
        let run = run_step(cfg, ctx, (StepLoad::flat(rate), plan.step), index, &folder, servers.take()).await;
        let mut step = Step { index, rate, folder, measure: None, verdict: None, error: None, elapsed_s: 0.0 };
        match run {
            Ok((summary, topo)) => {
                servers = topo;
                if *abort.borrow() && !summary.complete {
                    step.error = Some("stopped".into());
                } else {
                    let m = StepMeasure::of(&summary, &plan.rules.terms, rate);
                    let v = judge(&m, &plan.rules);
                    search.record(rate, v.sustainable);
                    step.measure = Some(m);
                    step.verdict = Some(v);
                }
            }
            Err(e) => step.error = Some(super::error_line(&e)),
        }
        step.elapsed_s = t0.elapsed().as_secs_f64();
        drop(tick);
        plan.progress.line(&format!("capacity {label}: step {index}, {rate:.0}/s: {}", step_line(&step)));
        let failed = step.error.clone();
        out.steps.push(step);
        out.mst = search.sustainable();
        out.unsustainable = search.unsustainable().map(|u| u.0);
        out.elapsed_s = started.elapsed().as_secs_f64();
        if let Err(e) = on_step(&out) {
            eprintln!("habench: warning: {e:#}");
        }
        if let Some(e) = failed {
            if e != "stopped" {
                out.error = Some(format!("step {index} at {rate:.0}/s: {e}"));
            }
            break;
        }
    }
    if let (Some(d), Some(mst), Some(_)) = (plan.confirm, out.mst, out.end) {
        if !*abort.borrow() {
            let (c, s) = confirm(cfg, ctx, (mst, d), servers.take()).await;
            out.confirm = Some(c);
            servers = s;
        }
    }
    out.elapsed_s = started.elapsed().as_secs_f64();
    (out, servers)
}

async fn confirm(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    (rate, duration): (f64, Duration),
    servers: Option<SharedTopology>,
) -> (Confirm, Option<SharedTopology>) {
    let (plan, label) = (ctx.plan, ctx.label);
    let tick = plan.progress.begin(format!("capacity {label}: confirming {rate:.0}/s for {duration:?}"), duration);
    let folder = format!("{label}/confirm-{rate:.0}");
    let run = run_step(cfg, ctx, (StepLoad::flat(rate), duration), 0, &folder, servers).await;
    let (measure, verdict, servers) = match run {
        Ok((s, topo)) => {
            let m = StepMeasure::of(&s, &plan.rules.terms, rate);
            let v = judge(&m, &plan.rules);
            (Some(m), Some(v), topo)
        }
        Err(e) => (None, Some(Verdict { sustainable: false, reasons: vec![super::error_line(&e)] }), None),
    };
    drop(tick);
    let held = verdict.as_ref().is_some_and(|v| v.sustainable);
    plan.progress.line(&format!(
        "capacity {label}: {rate:.0}/s for {duration:?} {}",
        if held { "held" } else { "did not hold" }
    ));
    (Confirm { rate, duration_s: duration.as_secs_f64(), folder, measure, verdict }, servers)
}

fn step_line(step: &Step) -> String {
    match (&step.verdict, &step.error) {
        (_, Some(e)) => format!("not judged ({e})"),
        (Some(v), None) if v.sustainable => {
            let m = step.measure.as_ref();
            format!("sustainable (achieved {:.0}/s)", m.map(|m| m.achieved).unwrap_or(0.0))
        }
        (Some(v), None) => format!("not sustainable: {}", v.reasons.join("; ")),
        (None, None) => "not judged".into(),
    }
}
