//! Faults on a cluster that runs elsewhere: the file's command for the action on the node that
//! is primary now (or its sync standby), Patroni's REST API for planned moves, the DCS commands.

use crate::cluster::External;
use crate::error::{Error, Result};
use crate::fault::{FaultKind, Injected};

pub(crate) async fn inject(kind: FaultKind, c: &External) -> Result<Injected> {
    let primary = c.primary().await?;
    let ran = |target: String, action: &str, out: String| Injected {
        target,
        detail: if out.is_empty() { format!("commands.{action} ran") } else { format!("commands.{action} ran: {out}") },
    };
    match kind {
        FaultKind::CrashPrimary => Ok(ran(primary.clone(), "crash", c.run_action(&primary, "crash").await?)),
        FaultKind::KillPrimary => Ok(ran(primary.clone(), "kill", c.run_action(&primary, "kill").await?)),
        FaultKind::PausePrimary => Ok(ran(primary.clone(), "pause", c.run_action(&primary, "pause").await?)),
        FaultKind::RestartEngine => {
            Ok(ran(primary.clone(), "restart_engine", c.run_action(&primary, "restart_engine").await?))
        }
        FaultKind::KillSyncStandby => {
            let standby = c.sync_standby().await?;
            Ok(ran(standby.clone(), "crash", c.run_action(&standby, "crash").await?))
        }
        FaultKind::DcsOutage => Ok(ran("dcs".into(), "pause", c.run_dcs("pause").await?)),
        FaultKind::Switchover | FaultKind::Failover => {
            let view = c.view().await.ok_or_else(|| Error::node("cluster", "no Patroni REST API answers"))?;
            let (path, body, candidate) = super::engine::planned_move(kind, &primary, &view)?;
            let r = c.rest_call(&primary, "POST", path, &body).await?;
            if r.status != 200 {
                return Err(Error::node(
                    &primary,
                    format!("Patroni refused POST {path} ({}): {}", r.status, r.body.trim()),
                ));
            }
            Ok(Injected { target: primary, detail: format!("POST {path} to {candidate}: {}", r.body.trim()) })
        }
        FaultKind::KillHostInstance | FaultKind::KillReceiveInstance | FaultKind::SsoOutage => {
            Err(Error::config("--fault", "injected by the runner on what habench runs itself"))
        }
        FaultKind::CrashGroup | FaultKind::DrainGroup => {
            Err(Error::config("--fault", format!("{kind} acts on parallel groups (--topology parallel)")))
        }
        FaultKind::PartitionStandby | FaultKind::SlowLink | FaultKind::PartitionPrimary => {
            Err(Error::config("--fault", format!("{kind} needs habench's emulated links")))
        }
    }
}

/// Ends a lasting fault with the file's `resume` command (node or DCS): Ok(false) when the
/// fault has nothing to undo, the command's error (it failed or timed out) otherwise.
pub(crate) async fn resume(c: &External, kind: FaultKind, target: &str) -> Result<bool> {
    match kind {
        FaultKind::PausePrimary => c.run_action(target, "resume").await.map(|_| true),
        FaultKind::DcsOutage => c.run_dcs("resume").await.map(|_| true),
        _ => Ok(false),
    }
}
