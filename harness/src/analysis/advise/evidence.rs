//! The evidence a decision rests on, per design: its capacity search (MST, N-1) and, per outage
//! class, every trial's RTO and loss with the commits left unconfirmed; gathered from results
//! folders (a run's summary and manifest, a capacity search's `capacity.json`).

use std::collections::BTreeMap;

use crate::capacity::outcome::CapacityOutcome;
use crate::fault::FaultKind;
use crate::summary::{Outage, Summary};

/// One trial of one outage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialEvidence {
    pub folder: String,
    /// The clients' write outage; None: writes never came back within the run, or (node
    /// crash) only because the lost host itself was restarted.
    pub rto_ms: Option<f64>,
    /// Node crash: the recovery restarted the crashed node in place, which a lost host cannot
    /// do (a single server has no other node to take over).
    pub host_restarted: bool,
    /// Acknowledged messages the checker found lost (None: not checked).
    pub lost: Option<u64>,
    /// How long before the switch the first lost message was acknowledged.
    pub lost_before_switch_ms: Option<f64>,
    /// Commits acknowledged while fewer standbys than required had confirmed them, in windows
    /// open when the fault struck, and the longest such window (ms); for an asynchronous setup,
    /// the publishes acknowledged within the write lag before the fault and the longest write
    /// lag sampled. None when the run did not watch.
    pub unconfirmed: Option<u64>,
    pub longest_unconfirmed_ms: Option<f64>,
    /// The RTO band the configuration predicted (ms).
    pub band: Option<(f64, f64)>,
}

/// A capacity search of the design.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CapacityEvidence {
    pub folder: String,
    /// The highest rate that held and the lowest above it that failed.
    pub mst: Option<f64>,
    pub unsustainable: Option<f64>,
    /// The same after losing a node (`--n-minus-1`), when searched.
    pub n1: Option<(Option<f64>, Option<f64>)>,
}

/// Everything measured of one design.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DesignEvidence {
    /// The topology, and its failover setting when not the default: `sync (probes 500ms x 3)`.
    pub design: String,
    pub topology: String,
    pub servers: Option<u32>,
    /// Whether a commit waits for a standby's confirmation before it is acknowledged: true
    /// (sync, Patroni's synchronous modes), false (async, log shipping: a failover goes to a
    /// copy that may lack acknowledged commits), None (one copy of the data: nothing to confirm).
    pub commits_confirmed: Option<bool>,
    pub capacity: Option<CapacityEvidence>,
    pub outages: BTreeMap<Outage, Vec<TrialEvidence>>,
    /// The publish (commit) p99 at the load (µs): the capacity search's publish.p99 interpolated
    /// between the steps around the load (None: not among its SLO terms, or the load outside
    /// its steps). A failover run's p99 holds its outage, so it is not used.
    pub commit_p99_us: Option<u64>,
    /// The failover setting its runs had when not the default (the design's name says it too).
    pub tuning: Option<String>,
}

/// The outage class a fault belongs to, when it is one the decision knows.
pub(crate) fn outage_of(kind: FaultKind) -> Option<Outage> {
    Some(match kind {
        FaultKind::CrashPrimary => Outage::NodeCrash,
        FaultKind::KillPrimary => Outage::PostmasterKill,
        FaultKind::PausePrimary => Outage::Hang,
        FaultKind::KillSyncStandby => Outage::StandbyLoss,
        FaultKind::DcsOutage => Outage::Dcs,
        FaultKind::PartitionPrimary => Outage::Partition,
        _ => return None,
    })
}

/// A results folder read back, named as the decision cites it.
#[derive(Debug)]
pub(crate) struct RunFolder<'a> {
    pub folder: String,
    pub summary: &'a Summary,
    pub manifest: &'a serde_json::Value,
}

/// The evidence of every design the folders hold: runs by their topology, capacity searches by
/// the label of each topology they searched (with the commit p99 at `load`).
pub(crate) fn gather(
    runs: &[RunFolder<'_>],
    searches: &[(String, &CapacityOutcome)],
    load: f64,
) -> Vec<DesignEvidence> {
    let mut designs: BTreeMap<String, DesignEvidence> = BTreeMap::new();
    for r in runs {
        let s = r.summary;
        let tuning = tuning_of(r.manifest);
        let name = match &tuning {
            Some(t) => format!("{} ({t})", s.topology),
            None => s.topology.clone(),
        };
        let d = designs.entry(name.clone()).or_insert_with(|| DesignEvidence {
            design: name,
            topology: s.topology.clone(),
            tuning,
            ..Default::default()
        });
        let nodes = r.manifest["topology"]["nodes"]
            .as_array()
            .or(r.manifest["cluster"]["nodes"].as_array())
            .map(|n| n.len() as u32);
        d.servers = d.servers.or(nodes);
        d.commits_confirmed = d.commits_confirmed.or(commits_confirmed(s));
        for t in s.trials() {
            let Some(outage) = outage_of(t.fault.kind) else { continue };
            // Only what was unprotected when the fault struck can be lost to it: a window that
            // opens after it (the new primary with no standby yet) is exposure to a second failure.
            let before: Vec<_> =
                s.exposure.iter().flat_map(|e| &e.windows).filter(|w| w.start_s < t.injected_at_s).collect();
            let longest = before.iter().map(|w| (w.end_us - w.start_us) as f64 / 1e3).reduce(f64::max);
            // An asynchronous setup: the publishes acknowledged within the write lag before the
            // fault, and the longest lag sampled.
            let lagged = s.async_exposure.as_ref().map(|a| {
                let at = a.at_faults.iter().find(|f| (f.at_s - t.injected_at_s).abs() < 0.5);
                (at.map_or(0, |f| f.acked_in_lag), a.max_write_lag_ms)
            });
            let host_restarted = outage == Outage::NodeCrash && t.promoted_node.as_deref() == Some(t.target.as_str());
            d.outages.entry(outage).or_default().push(TrialEvidence {
                folder: r.folder.clone(),
                rto_ms: t.rto_ms.filter(|_| !host_restarted),
                host_restarted,
                lost: s.check_report().map(|c| c.lost),
                lost_before_switch_ms: s.lost_writes.as_ref().and_then(|l| l.before_switch_ms),
                unconfirmed: s
                    .exposure
                    .as_ref()
                    .map(|_| before.iter().map(|w| w.acked).sum())
                    .or(lagged.map(|(n, _)| n)),
                longest_unconfirmed_ms: longest.or(lagged.and_then(|(_, l)| l)),
                band: t.band.as_ref().map(|b| (b.lo_ms, b.hi_ms)),
            });
        }
    }
    // A capacity search is evidence for every setting of its topology (failover settings do
    // not change what the servers sustain).
    for (folder, o) in searches {
        let publish_p99 =
            o.rules.terms.iter().position(|t| t.op == "publish" && t.stat == crate::capacity::slo::Stat::P99);
        for t in &o.topologies {
            let p99 = publish_p99.and_then(|i| t.term_at(i, load)).map(|us| us.round() as u64);
            let capacity = CapacityEvidence {
                folder: folder.clone(),
                mst: t.mst,
                unsustainable: t.unsustainable,
                n1: t.n_minus_1.as_ref().and_then(|n| n.search.as_ref()).map(|s| (s.mst, s.unsustainable)),
            };
            if !designs.values().any(|d| d.topology == t.label) {
                let d = DesignEvidence { design: t.label.clone(), topology: t.label.clone(), ..Default::default() };
                designs.insert(t.label.clone(), d);
            }
            for d in designs.values_mut().filter(|d| d.topology == t.label) {
                d.capacity = Some(capacity.clone());
                d.commit_p99_us = p99;
            }
        }
    }
    designs.into_values().collect()
}

/// A run's failover setting when it is not the default, from its manifest: the built-in
/// orchestrator's probes, Patroni's timings set with `--engine-set`.
fn tuning_of(manifest: &serde_json::Value) -> Option<String> {
    let c = &manifest["config"];
    let engine = &c["target"]["topology"]["engine"];
    if !engine.is_null() {
        let set = &engine["engine_set"];
        let keys: Vec<String> = ["ttl", "loop_wait", "retry_timeout"]
            .iter()
            .filter(|k| !set[**k].is_null())
            .map(|k| format!("{k} {}", set[*k]).replace('"', ""))
            .collect();
        return (!keys.is_empty()).then(|| keys.join(", "));
    }
    let o = &c["orchestrator"];
    let (i, t) = (o["probe_interval"].as_str()?, o["probe_threshold"].as_u64()?);
    let default = crate::failover::OrchestratorConfig::default();
    let same = i == habench_workloads::duration::format_duration(default.probe_interval)
        && t == u64::from(default.probe_threshold);
    (!same).then(|| format!("probes {i} x {t}"))
}

/// Whether the run's commits waited for a standby: from what the run watched (a synchronous
/// setting, or standbys streaming with none confirming), else from its setup.
fn commits_confirmed(s: &Summary) -> Option<bool> {
    if s.exposure.is_some() {
        return Some(true);
    }
    if s.async_exposure.is_some() {
        return Some(false);
    }
    let setup = s.setup.as_ref()?;
    match setup.kind.as_str() {
        "sync" | "patroni" => Some(!matches!(setup.sync_commit.as_deref(), Some("off" | "local"))),
        "async" | "log-shipping" => Some(false),
        _ => None,
    }
}
