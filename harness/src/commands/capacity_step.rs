//! One step of a capacity search: the scenario at a rate (or a rate that changes) for a while,
//! on the servers of the last step, with the MessageBox schema reinstalled first so that one
//! step's backlog does not bill the next; in a results folder of its own.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::capacity::overdrive::OverdrivePlan;
use crate::capacity::search::Params;
use crate::capacity::verdict::Rules;
use crate::cli::RunArgs;
use crate::config::{Arrival, Load, RunConfig};
use crate::failover::SharedTopology;
use crate::store::ResultsDir;

/// How every step is run and judged.
#[derive(Debug, Clone)]
pub(crate) struct StepPlan {
    pub rules: Rules,
    pub params: Params,
    pub step: Duration,
    pub warmup: Duration,
    pub confirm: Option<Duration>,
    pub overdrive: Option<OverdrivePlan>,
    pub progress: super::progress::Progress,
}

/// What every run of one topology's search shares: how steps run and are judged, the command's
/// run flags, the results folder, the topology's label (its runs' folders start with it) and
/// the abort signal.
#[derive(Clone, Copy)]
pub(crate) struct StepCtx<'a> {
    pub plan: &'a StepPlan,
    pub args: &'a RunArgs,
    pub dir: &'a Path,
    pub label: &'a str,
    pub abort: &'a watch::Receiver<bool>,
}

/// Longest wait after a step for its queues to empty: the next step reinstalls the schema.
const STEP_DRAIN: Duration = Duration::from_secs(3);
/// A step's offered load: a rate (for the warm-up too), and the changes in the measured phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepLoad {
    pub rate: f64,
    pub changes: Vec<crate::config::RateChange>,
}

impl StepLoad {
    pub(crate) fn flat(rate: f64) -> StepLoad {
        StepLoad { rate, changes: Vec::new() }
    }

    /// The highest rate it offers (what the publishers must serve).
    fn peak(&self) -> f64 {
        self.changes.iter().map(|c| c.rate).fold(self.rate, f64::max)
    }
}

/// One step's run: the scenario at `load` for `duration`, on the servers of the last step, in
/// `folder` under the search's results folder.
pub(crate) async fn run_step(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    (load, duration): (StepLoad, Duration),
    index: usize,
    folder: &str,
    servers: Option<SharedTopology>,
) -> anyhow::Result<(crate::summary::Summary, Option<SharedTopology>)> {
    let (plan, path) = (ctx.plan, ctx.dir.join(folder));
    let path = path.as_path();
    let mut c = cfg.clone();
    let (arrival, publishers) = match cfg.load {
        Load::Open { arrival, publishers, .. } => (arrival, publishers),
        Load::Closed { .. } => (Arrival::Poisson, 8),
    };
    c.load = Load::Open { rate: load.rate, arrival, publishers: step_publishers(publishers, load.peak()) };
    c.rate_changes = load.changes;
    c.duration = duration;
    c.warmup = plan.warmup;
    c.drain_timeout = STEP_DRAIN;
    c.trials = 1;
    c.seed = cfg.seed.wrapping_add(index as u64);
    c.quiet = true;
    c.keep = false;
    c.out = Some(path.to_path_buf());
    let c = Arc::new(c);
    let d = ResultsDir::create(Some(path), &c.scenario, "", true)?;
    let (summary, servers) = super::run_once::run_once(c.clone(), ctx.args, d, ctx.abort.clone(), servers).await?;
    if !summary.compromised || *ctx.abort.borrow() {
        return Ok((summary, servers.topology));
    }
    // habench stalled in the step's measured phase: its figures are not the servers'. The step
    // is run once again (the first run kept beside it); compromised again, it is not sustainable.
    let kept = path.with_file_name(format!("{}-compromised", path.file_name().unwrap_or_default().to_string_lossy()));
    tokio::fs::rename(path, &kept).await?;
    let d = ResultsDir::create(Some(path), &c.scenario, "", true)?;
    let (summary, servers) = super::run_once::run_once(c, ctx.args, d, ctx.abort.clone(), servers.topology).await?;
    Ok((summary, servers.topology))
}

/// Enough publisher connections that a rate is not capped by them: one per 10/s (at most 64,
/// at least the scenario's own). At a few ms per publish, all of them are busy at once only
/// when the server stalls for longer than publishers / rate (100 ms), so a late start means the
/// server (or the machine) fell behind, not that a burst of Poisson arrivals found a small pool
/// busy: with one per 40/s, steps failed on 1 % late starts with their p99 well inside the SLO.
fn step_publishers(scenario: u16, rate: f64) -> u16 {
    let wanted = (rate / 10.0).ceil().min(64.0) as u16;
    scenario.max(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_grow_with_the_rate() {
        assert_eq!(step_publishers(8, 50.0), 8, "never fewer than the scenario's");
        assert_eq!(step_publishers(40, 200.0), 40);
        assert_eq!(step_publishers(8, 300.0), 30);
        assert_eq!(step_publishers(8, 1e6), 64);
    }
}
