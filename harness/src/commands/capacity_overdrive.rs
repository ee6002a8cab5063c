//! The overdrive run after a search (`--overdrive F:D`): the low load (half the MST) in the
//! warm-up, F x MST for D, then the low load again for twice D; its timeline read back for the
//! backlog's peak, the throttled time and the time to drain.

use crate::capacity::overdrive::{analyse, OverdrivePlan, OverdriveResult, Sample, LOW_SHARE};
use crate::config::{RateChange, RunConfig};
use crate::failover::SharedTopology;
use crate::run_data::Timeline;

use super::capacity_step::{run_step, StepCtx, StepLoad};

pub(super) async fn overdrive(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    (mst, o): (f64, OverdrivePlan),
    servers: Option<SharedTopology>,
) -> (OverdriveResult, Option<SharedTopology>) {
    let (plan, label) = (ctx.plan, ctx.label);
    let rate = (mst * o.factor).round();
    let low = (mst * LOW_SHARE).round().max(1.0);
    let folder = format!("{label}/overdrive-{rate:.0}");
    let tick = plan.progress.begin(
        format!(
            "capacity {label}: overdrive {rate:.0}/s ({}x the MST) for {:?}, then {low:.0}/s for {:?}",
            o.factor,
            o.duration,
            o.recovery()
        ),
        o.duration + o.recovery() + plan.warmup,
    );
    let load = StepLoad {
        rate: low,
        changes: vec![RateChange { at: std::time::Duration::ZERO, rate }, RateChange { at: o.duration, rate: low }],
    };
    let mut out = OverdriveResult {
        factor: o.factor,
        rate,
        low_rate: low,
        duration_s: o.duration.as_secs_f64(),
        recovery_s: o.recovery().as_secs_f64(),
        folder: folder.clone(),
        backlog: Default::default(),
        achieved: 0.0,
        failed: 0,
        error: None,
    };
    let run = run_step(cfg, ctx, (load, o.duration + o.recovery()), 0, &folder, servers).await;
    let servers = match run {
        Ok((s, topo)) => {
            out.achieved = s.rate(s.commit_op()).unwrap_or(0.0);
            out.failed = s.ops.values().map(|c| c.fail + c.unknown).sum();
            let routed = s.messages.as_ref().map(|m| (m.routed_ok as f64 / m.published_ok.max(1) as f64).max(1.0));
            // Drained: back within one second of the low load's queue entries of the start.
            let allowance = low * routed.unwrap_or(1.0);
            match std::fs::read_to_string(ctx.dir.join(&folder).join("timeline.csv")) {
                Ok(text) => {
                    let samples = samples(&Timeline::parse(&text), plan.warmup.as_secs_f64());
                    out.backlog = analyse(&samples, o.duration.as_secs_f64(), cfg.interval.as_secs_f64(), allowance);
                }
                Err(e) => out.error = Some(format!("reading its timeline: {e}")),
            }
            if !s.complete {
                out.error = Some(s.stop_reason.clone().unwrap_or_else(|| "the run did not complete".into()));
            }
            topo
        }
        Err(e) => {
            out.error = Some(super::error_line(&e));
            None
        }
    };
    drop(tick);
    plan.progress.line(&format!("capacity {label}: overdrive: {}", line(&out)));
    (out, servers)
}

/// The timeline's rows as samples timed from the start of the measured phase (`warmup_s` after
/// the run's start).
fn samples(t: &Timeline, warmup_s: f64) -> Vec<Sample> {
    let queues: Vec<&[Option<f64>]> =
        t.names.iter().filter(|n| n.starts_with("queue_")).filter_map(|n| t.col(n)).collect();
    let (Some(times), throttled) = (t.col("t_s"), t.col("throttled")) else { return Vec::new() };
    times
        .iter()
        .enumerate()
        .filter_map(|(i, at)| {
            let queued = (!queues.is_empty())
                .then(|| queues.iter().map(|q| q.get(i).copied().flatten()).sum::<Option<f64>>())
                .flatten();
            let on = throttled.and_then(|c| c.get(i).copied().flatten()).is_some_and(|v| v > 0.0);
            Some(Sample { t_s: (*at)? - warmup_s, queued, throttled: on })
        })
        .collect()
}

fn line(o: &OverdriveResult) -> String {
    if let Some(e) = &o.error {
        return format!("not measured ({e})");
    }
    let b = &o.backlog;
    let peak = b.peak.map(|p| format!("backlog peak {p:.0}")).unwrap_or_else(|| "backlog not sampled".into());
    let drain = match (b.drain_s, b.drain_estimate_s) {
        (Some(d), _) => format!("drained {d:.0} s after it"),
        (None, Some(e)) => format!("not drained in {:.0} s (estimate {e:.0} s)", o.recovery_s),
        (None, None) => format!("not drained in {:.0} s", o.recovery_s),
    };
    format!("{peak}, throttled {:.0} s, {drain}", b.throttled_s)
}
