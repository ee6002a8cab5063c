//! Faults on a cluster that runs elsewhere: the file's command for the action on the node that
//! is primary now (or its sync standby), Patroni's REST API for planned moves, the DCS commands.

use std::sync::Arc;

use tokio::sync::watch;

use crate::cluster::External;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::fault::{FaultKind, Injected};
use crate::manager::{auto_failover_watch, patroni_watch, Manager, Pending};

/// A cluster file's engine. Its commands are killed with their process groups when the run
/// ends while they run.
#[derive(Debug)]
pub(crate) struct ExternalEngine {
    cluster: Arc<External>,
    stop: watch::Receiver<bool>,
}

impl ExternalEngine {
    pub(crate) fn new(cluster: Arc<External>, stop: watch::Receiver<bool>) -> ExternalEngine {
        ExternalEngine { cluster, stop }
    }
}

impl Manager for ExternalEngine {
    fn engine(&self) -> &'static str {
        "external"
    }

    fn inject(&self, kind: FaultKind) -> Pending<'_, Result<Injected>> {
        Box::pin(until_run_end(inject(kind, &self.cluster), &self.cluster, self.stop.clone()))
    }

    fn resume<'a>(&'a self, kind: FaultKind, target: &'a str) -> Pending<'a, Result<bool>> {
        Box::pin(until_run_end(resume(&self.cluster, kind, target), &self.cluster, self.stop.clone()))
    }

    /// The engine's REST API or pg_auto_failover's monitor, when the file names one: only watched.
    fn watch(&self, log: EventLog, stop: watch::Receiver<bool>) -> Option<Pending<'static, ()>> {
        if let Some(m) = self.cluster.monitor() {
            let nodes = auto_failover_watch::Formation::Remote(self.cluster.node_configs());
            return Some(Box::pin(auto_failover_watch::run(m, nodes, log, stop)));
        }
        let urls = self.cluster.rest_urls();
        if urls.is_empty() {
            return None;
        }
        let api = (urls, self.cluster.rest_client());
        Some(Box::pin(patroni_watch::run(api, None, log, stop)))
    }
}

/// Runs a cluster file's command (`fut`) until it ends; when the run ends first, every command
/// still running is killed with its process group (and `fut` ends with that). A command started
/// after the run's end (a fault lasting past it is undone) runs to its own timeout.
async fn until_run_end<T>(
    fut: impl std::future::Future<Output = T>,
    c: &External,
    mut stop: watch::Receiver<bool>,
) -> T {
    tokio::pin!(fut);
    if *stop.borrow() {
        return fut.await;
    }
    tokio::select! {
        out = &mut fut => out,
        _ = stop.changed() => {
            c.kill_running_commands();
            fut.await
        }
    }
}

async fn inject(kind: FaultKind, c: &External) -> Result<Injected> {
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
        FaultKind::Switchover | FaultKind::Failover if c.monitor().is_some() => {
            let what = kind.as_str();
            let said = c.monitor().expect("checked").perform(what).await?;
            Ok(Injected { target: primary, detail: format!("{what} asked of pg_auto_failover's monitor: {said}") })
        }
        FaultKind::Switchover | FaultKind::Failover => {
            let view = c.view().await.ok_or_else(|| Error::node("cluster", "no Patroni REST API answers"))?;
            let (path, body, candidate) = super::patroni::planned_move(kind, &primary, &view)?;
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
        FaultKind::Partition | FaultKind::PacketLoss | FaultKind::Bandwidth => {
            Err(Error::config("--fault", format!("{kind} needs --net namespaces and says what after `=`")))
        }
    }
}

/// Ends a lasting fault with the file's `resume` command (node or DCS): Ok(false) when the
/// fault has nothing to undo, the command's error (it failed or timed out) otherwise.
async fn resume(c: &External, kind: FaultKind, target: &str) -> Result<bool> {
    match kind {
        FaultKind::PausePrimary => c.run_action(target, "resume").await.map(|_| true),
        FaultKind::DcsOutage => c.run_dcs("resume").await.map(|_| true),
        _ => Ok(false),
    }
}
