//! The faults of a run: from the flags or the scenario, and whether each can be injected into
//! this target, workload and measured phase.

use crate::config::{Origin, Overrides, ReceiveConfig, SsoConfig, SsoMode, Target, WorkloadKind};
use crate::error::{Error, Result};
use crate::fault::{FaultEntry, FaultKind, FaultSpec};
use crate::topology::TopologyKind;

/// Whether a fault can be injected into this run; the error says why not.
pub(crate) fn check_fault(
    fault: crate::fault::FaultKind,
    topology: Option<TopologyKind>,
    workload: WorkloadKind,
) -> std::result::Result<(), String> {
    use crate::fault::FaultKind as F;
    let bad = |why: String| Err(format!("{fault}: {why}"));
    match (fault, topology) {
        (F::KillHostInstance, _) if workload != WorkloadKind::Messagebox => bad("needs the messagebox workload".into()),
        (F::KillHostInstance, _) => Ok(()),
        (F::KillReceiveInstance, _) | (F::SsoOutage, _) => Ok(()),
        (_, None) => {
            bad("needs a topology habench starts (or --cluster FILE); --target-dsn servers are not broken".into())
        }
        (_, Some(k))
            if matches!(k, TopologyKind::Patroni | TopologyKind::PgAutoFailover) || fault.applies_to(k).is_err() =>
        {
            fault.applies_to(k)
        }
        (F::Switchover, Some(TopologyKind::Single | TopologyKind::SharedDisk)) => {
            bad("a switchover needs standbys: use sync, async or log-shipping".into())
        }
        (F::PartitionStandby | F::SlowLink | F::PartitionPrimary, Some(k))
            if !matches!(k, TopologyKind::Sync | TopologyKind::Async) =>
        {
            bad(format!("{k} has no replication link to cut or slow; use --topology sync or async"))
        }
        (F::KillSyncStandby, Some(k)) if k != TopologyKind::Sync && k != TopologyKind::Patroni => {
            bad(format!("{k} has no synchronous standby; use --topology sync"))
        }
        _ => Ok(()),
    }
}

/// Where a takeover without fencing can run. Shared disk cannot: the passive node would start a
/// second server on the data directory the hung one still has open (PostgreSQL's postmaster.pid
/// interlock refuses it on one machine; on real shared storage across machines nothing would,
/// and the data directory would be corrupted).
pub(crate) fn check_no_fence(kind: Option<TopologyKind>) -> std::result::Result<(), String> {
    match kind {
        Some(TopologyKind::Sync | TopologyKind::Async | TopologyKind::LogShipping) => Ok(()),
        Some(TopologyKind::SharedDisk) => {
            Err("shared-disk has one data directory: a takeover without fencing would run two \
             servers on it and corrupt it, so habench refuses; measure split-brain writes on replicas \
             (--topology async or sync) where the old primary keeps its own copy"
                .into())
        }
        Some(TopologyKind::Single) => Err("single has no other node to take over; use --topology async or sync".into()),
        Some(TopologyKind::Patroni) => {
            Err("Patroni fences by itself (the old leader demotes when it loses its key); drop --no-fence".into())
        }
        Some(TopologyKind::PgAutoFailover) => Err(
            "pg_auto_failover fences by itself (a primary cut from monitor and standbys shuts down); drop --no-fence"
                .into(),
        ),
        Some(TopologyKind::Parallel) => {
            Err("parallel groups have no takeover (a group comes back, or does not)".into())
        }
        None => Err("the built-in orchestrator only acts on topologies habench starts".into()),
    }
}

/// The run's faults: the flags' when given, else the scenario's (or its variant's).
pub(crate) fn resolve(args: &Overrides, at: &Origin<'_>, file_faults: &[FaultEntry]) -> Result<Vec<FaultSpec>> {
    if !args.faults.is_empty() {
        return Ok(args.faults.clone());
    }
    file_faults
        .iter()
        .map(|f| f.to_spec())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config(at.key(false, "--fault", "faults"), e))
}

/// What the run has for its faults to act on.
pub(crate) struct Subject<'a> {
    pub target: &'a Target,
    pub workload: WorkloadKind,
    pub duration: std::time::Duration,
    pub receive: Option<&'a ReceiveConfig>,
    pub sso: Option<&'a SsoConfig>,
    /// Instances of the scenario's first host (the one `kill-host-instance` kills in).
    pub first_host_instances: u16,
}

/// Every fault can be injected into this run: the target, the workload and the measured phase
/// allow it, and what it breaks exists.
pub(crate) fn check(args: &Overrides, at: &Origin<'_>, faults: &[FaultSpec], on: &Subject<'_>) -> Result<()> {
    use habench_workloads::duration::format_duration;
    let topo_kind = on.target.topology_kind();
    let source = at.key(!args.faults.is_empty(), "--fault", "faults");
    for f in faults {
        match on.target {
            Target::Cluster { cluster } if !f.kind.on_workers() => f.kind.applies_to_cluster(cluster),
            _ => check_fault(f.kind, topo_kind, on.workload),
        }
        .map_err(|e| Error::config(source.clone(), e))?;
        // A fault may last past the measured phase (a long pause, say), but one that would
        // start after it would never be injected.
        if f.at >= on.duration {
            return Err(Error::config(
                source.clone(),
                format!(
                    "{}@{}: the measured phase is {} long, so it would never be injected; \
                     inject it earlier or run longer (--duration)",
                    f.kind,
                    format_duration(f.at),
                    format_duration(on.duration)
                ),
            ));
        }
    }
    if on.first_host_instances == 0 && faults.iter().any(|f| f.kind == FaultKind::KillHostInstance) {
        return Err(Error::config(
            source,
            "kill-host-instance kills an instance of the first host, which has none (instances = 0): \
             give it instances, or list a host with instances first",
        ));
    }
    if on.receive.is_none() && faults.iter().any(|f| f.kind == FaultKind::KillReceiveInstance) {
        return Err(Error::config(
            source,
            "kill-receive-instance needs a receive location: use `habench run receive`, or add [receive]",
        ));
    }
    if on.sso.is_none_or(|s| s.mode != SsoMode::Separate) && faults.iter().any(|f| f.kind == FaultKind::SsoOutage) {
        return Err(Error::config(
            source,
            "sso-outage stops a separate secret server: add --sso separate (co-located, the secret server is \
             the MessageBox's own cluster: use a fault of the database)",
        ));
    }
    Ok(())
}
