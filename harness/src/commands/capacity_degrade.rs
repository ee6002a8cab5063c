//! `--n-minus-1`: one node taken away from the searched servers by a real fault under load
//! (sync and Patroni: the synchronous standby crashed, and dropped or replaced; shared disk and
//! async: the primary's node crashed and the other took over), then the same search on what
//! is left.

use std::time::Duration;

use crate::capacity::outcome::Degraded;
use crate::config::{RunConfig, Target};
use crate::failover::SharedTopology;
use crate::fault::{FaultKind, FaultSpec};
use crate::topology::TopologyKind;

use super::capacity_step::{run_step, StepCtx, StepLoad};

/// When the fault is injected in its run, and how long the run lasts: long enough for the
/// orchestrator's detection (probe interval x threshold), the takeover and the crash recovery.
const FAULT_AT: Duration = Duration::from_secs(2);
const FAULT_RUN: Duration = Duration::from_secs(30);

/// The fault that takes one node away, per design; None where there is no node to spare (or
/// none that habench can take over automatically).
pub(super) fn fault_for(cfg: &RunConfig) -> Result<FaultKind, String> {
    let Target::Topology(spec) = &cfg.target else {
        return Err("a cluster habench did not start: take the node away yourself and search again".into());
    };
    match spec.kind {
        TopologyKind::Patroni if spec.engine.as_ref().is_none_or(|e| e.sync_mode == crate::patroni::SyncMode::Off) => {
            Err("Patroni with --sync-mode off has no synchronous standby to lose; give --sync-mode on, strict or \
                 quorum"
                .into())
        }
        TopologyKind::Sync | TopologyKind::Patroni | TopologyKind::PgAutoFailover => Ok(FaultKind::KillSyncStandby),
        TopologyKind::SharedDisk | TopologyKind::Async => Ok(FaultKind::CrashPrimary),
        TopologyKind::Single => Err("one node: losing it is an outage, there is no N-1".into()),
        TopologyKind::LogShipping => Err("the DR standby is promoted by hand: no automatic N-1".into()),
        TopologyKind::Parallel => Err("parallel groups are measured with crash-group and drain-group, not an N-1 \
                                      capacity (a lost group's share goes to the others)"
            .into()),
    }
}

/// Injects the fault in a run at half the MST on `servers`; returns what it cost and the
/// degraded servers.
pub(super) async fn degrade(
    cfg: &RunConfig,
    ctx: StepCtx<'_>,
    (kind, rate): (FaultKind, f64),
    servers: Option<SharedTopology>,
) -> (Degraded, Option<SharedTopology>) {
    let (plan, label) = (ctx.plan, ctx.label);
    let fault = FaultSpec { kind, at: FAULT_AT, duration: None, net: None };
    let folder = format!("{label}/n-1-{kind}");
    let spec = format!("{kind}@{}s", FAULT_AT.as_secs());
    let tick = plan.progress.begin(format!("capacity {label}: N-1: {spec} at {rate:.0}/s"), FAULT_RUN + plan.warmup);
    let mut c = cfg.clone();
    c.faults = vec![fault];
    // The node stays lost: no restart, no rejoin.
    c.orchestrator.heal = false;
    let mut out = Degraded {
        fault: spec,
        target: None,
        folder: folder.clone(),
        rto_ms: None,
        lost: None,
        search: None,
        error: None,
    };
    let run = run_step(&c, ctx, (StepLoad::flat(rate), FAULT_RUN), 0, &folder, servers).await;
    let servers = match run {
        Ok((s, topo)) => {
            let trial = s.failover.as_ref().and_then(|f| f.trials.first());
            out.rto_ms = trial.and_then(|t| t.rto_ms);
            out.target = trial.map(|t| t.target.clone());
            out.lost = s.check_report().map(|r| r.lost);
            if !s.complete {
                out.error = Some(s.stop_reason.clone().unwrap_or_else(|| "the fault run did not complete".into()));
            } else if trial.is_none() {
                out.error = Some("the fault was not injected".into());
            } else if kind == FaultKind::CrashPrimary && trial.is_some_and(|t| t.promoted_ms.is_none()) {
                out.error = Some(format!("no takeover within {} s of the crash", (FAULT_RUN - FAULT_AT).as_secs()));
            }
            topo
        }
        Err(e) => {
            out.error = Some(super::error_line(&e));
            None
        }
    };
    drop(tick);
    plan.progress.line(&format!(
        "capacity {label}: N-1: {}",
        match &out.error {
            Some(e) => format!("no node taken away: {e}"),
            None => format!(
                "{} lost its node (write outage {}, lost {}); searching again on what is left",
                out.target.as_deref().unwrap_or("-"),
                out.rto_ms.map(|ms| format!("{:.1} s", ms / 1e3)).unwrap_or("-".into()),
                out.lost.map(|l| l.to_string()).unwrap_or("-".into())
            ),
        }
    ));
    (out, servers)
}
