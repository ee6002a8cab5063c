//! Faults: what breaks, when, and for how long. The schedule is parsed once from the scenario
//! (`[[faults]]`) and the flags (`--fault KIND@TIME[:DURATION]`); the nemesis injects them.

mod net_fault;
pub(crate) mod net_shape;
mod worker_kill;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use habench_workloads::duration::{format_duration, parse_duration};
use serde::{Deserialize, Serialize};

pub use net_fault::{HostRef, NetFault, PartitionShape};
pub(crate) use worker_kill::WorkerKills;

/// What an injection did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Injected {
    /// The node it hit (or the host instance).
    pub target: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL of the primary's postmaster (a process crash).
    KillPrimary,
    /// Every process of the primary at once (a node crash).
    CrashPrimary,
    /// SIGSTOP of every process of the primary for the duration (a hung server).
    PausePrimary,
    /// Planned, graceful: stop the primary cleanly and promote a standby.
    Switchover,
    /// Every process of a synchronous standby (loss of a secondary).
    KillSyncStandby,
    /// A host instance dies holding a dequeued batch; the others must take its messages.
    KillHostInstance,
    /// The first standby's replication link is cut (blackholed) for the duration.
    PartitionStandby,
    /// Every standby link gets 50 ms more one-way delay for the duration.
    SlowLink,
    /// The primary is cut from its clients and its standbys for the duration (client links).
    PartitionPrimary,
    /// Cluster manager: a failover to a chosen replica asked of it (Patroni `POST /failover`).
    Failover,
    /// Cluster manager: SIGTERM of the leader's manager (Patroni), started again once it exits.
    RestartEngine,
    /// Cluster manager: every DCS (etcd) member frozen for the duration; pg_auto_failover's
    /// monitor (`monitor-outage` names the same fault).
    #[serde(alias = "monitor-outage")]
    DcsOutage,
    /// A receive instance dies (the active one of a clustered host); with a duration it is
    /// started again after it.
    KillReceiveInstance,
    /// The separate SSO master secret server crashes and comes back after the duration.
    SsoOutage,
    /// Parallel groups: every server of the first group crashes; with a duration it is started
    /// again after it (crash recovery), without one it never comes back.
    CrashGroup,
    /// Parallel groups, planned: the balancer stops sending to the first group, its hosts empty
    /// its queues, its servers stop cleanly for the duration and start again (a rolling patch).
    DrainGroup,
    /// `--net namespaces`: a partition of the hosts in a shape (`partition@T:D=SHAPE`).
    Partition,
    /// `--net namespaces`: a share of one host's packets dropped (`packet-loss@T:D=5%:HOST`).
    PacketLoss,
    /// `--net namespaces`: one host's line limited to a rate (`bandwidth@T:D=1mbit:HOST`).
    Bandwidth,
}

impl FaultKind {
    pub(crate) const ALL: [FaultKind; 19] = [
        FaultKind::KillPrimary,
        FaultKind::CrashPrimary,
        FaultKind::PausePrimary,
        FaultKind::Switchover,
        FaultKind::KillSyncStandby,
        FaultKind::KillHostInstance,
        FaultKind::PartitionStandby,
        FaultKind::SlowLink,
        FaultKind::PartitionPrimary,
        FaultKind::Failover,
        FaultKind::RestartEngine,
        FaultKind::DcsOutage,
        FaultKind::KillReceiveInstance,
        FaultKind::SsoOutage,
        FaultKind::CrashGroup,
        FaultKind::DrainGroup,
        FaultKind::Partition,
        FaultKind::PacketLoss,
        FaultKind::Bandwidth,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FaultKind::KillPrimary => "kill-primary",
            FaultKind::CrashPrimary => "crash-primary",
            FaultKind::PausePrimary => "pause-primary",
            FaultKind::Switchover => "switchover",
            FaultKind::KillSyncStandby => "kill-sync-standby",
            FaultKind::KillHostInstance => "kill-host-instance",
            FaultKind::PartitionStandby => "partition-standby",
            FaultKind::SlowLink => "slow-link",
            FaultKind::PartitionPrimary => "partition-primary",
            FaultKind::Failover => "failover",
            FaultKind::RestartEngine => "restart-engine",
            FaultKind::DcsOutage => "dcs-outage",
            FaultKind::KillReceiveInstance => "kill-receive-instance",
            FaultKind::SsoOutage => "sso-outage",
            FaultKind::CrashGroup => "crash-group",
            FaultKind::DrainGroup => "drain-group",
            FaultKind::Partition => "partition",
            FaultKind::PacketLoss => "packet-loss",
            FaultKind::Bandwidth => "bandwidth",
        }
    }

    /// Faults that last a while and are then undone.
    pub(crate) fn needs_duration(self) -> bool {
        matches!(
            self,
            FaultKind::PausePrimary
                | FaultKind::PartitionStandby
                | FaultKind::SlowLink
                | FaultKind::PartitionPrimary
                | FaultKind::DcsOutage
                | FaultKind::SsoOutage
                | FaultKind::DrainGroup
                | FaultKind::Partition
                | FaultKind::PacketLoss
                | FaultKind::Bandwidth
        )
    }

    /// Faults on the network of hosts (`--net namespaces`): they say what after `=`.
    pub(crate) fn on_network(self) -> bool {
        matches!(self, FaultKind::Partition | FaultKind::PacketLoss | FaultKind::Bandwidth)
    }

    /// Faults that may last a while: with a duration they are undone after it, without one not.
    pub(crate) fn takes_optional_duration(self) -> bool {
        matches!(self, FaultKind::KillReceiveInstance | FaultKind::CrashGroup)
    }

    /// Faults that act on a group of parallel groups.
    pub(crate) fn on_group(self) -> bool {
        matches!(self, FaultKind::CrashGroup | FaultKind::DrainGroup)
    }

    /// Faults that habench carries out on what it runs itself (its workers, the secret server),
    /// whatever the servers under test.
    pub(crate) fn on_workers(self) -> bool {
        matches!(self, FaultKind::KillHostInstance | FaultKind::KillReceiveInstance | FaultKind::SsoOutage)
    }

    /// Whether the fault can be carried out on an existing cluster, before anything runs; the
    /// error names the missing key.
    pub(crate) fn applies_to_cluster(self, c: &crate::cluster::ClusterFile) -> Result<(), String> {
        let need = |actions: &[&str]| {
            match c.missing_action(actions) {
            Some((node, action)) => Err(format!(
                "{self} needs `commands.{action}` on every node of {}; node {node} has none (add it under [nodes.commands])",
                c.path
            )),
            None => Ok(()),
        }
        };
        match self {
            FaultKind::CrashPrimary | FaultKind::KillSyncStandby => need(&["crash"]),
            FaultKind::KillPrimary => need(&["kill"]),
            FaultKind::PausePrimary => need(&["pause", "resume"]),
            FaultKind::RestartEngine => need(&["restart_engine"]),
            FaultKind::Switchover | FaultKind::Failover if !c.has_manager() => Err(format!(
                "{self} is asked of the cluster manager: give `patroni = \"http://HOST:PORT\"` on the nodes of {}, \
                 or manager = \"pg_auto_failover\" with its `monitor`",
                c.path
            )),
            FaultKind::DcsOutage if !c.has_dcs_commands() => {
                Err(format!("dcs-outage needs [dcs] `pause` and `resume` commands in {}", c.path))
            }
            FaultKind::PartitionStandby | FaultKind::SlowLink | FaultKind::PartitionPrimary => {
                Err(format!("{self} needs habench's emulated links, which a cluster it did not start has not"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the fault can be injected into `kind`; the error says what to use instead.
    pub(crate) fn applies_to(self, kind: crate::topology::TopologyKind) -> Result<(), String> {
        use crate::topology::TopologyKind as K;
        let engine_only = matches!(self, FaultKind::Failover | FaultKind::RestartEngine | FaultKind::DcsOutage);
        match kind {
            K::Parallel if self.on_group() || self == FaultKind::KillHostInstance => Ok(()),
            K::Parallel => Err(format!(
                "{self} acts on one primary; parallel groups take crash-group@TIME[:DURATION], \
                 drain-group@TIME:DURATION or kill-host-instance"
            )),
            _ if self.on_group() => {
                Err(format!("{self} acts on parallel groups: use --topology parallel (not {kind})"))
            }
            K::Patroni if self.needs_links() && self != FaultKind::PartitionPrimary => Err(format!(
                "{self} acts on replication links between standbys, which a patroni topology does not emulate; \
                 use partition-primary, crash-primary, kill-primary, pause-primary, switchover, failover, \
                 kill-sync-standby, restart-engine or dcs-outage"
            )),
            K::Patroni => Ok(()),
            K::PgAutoFailover => match self {
                FaultKind::CrashPrimary
                | FaultKind::KillPrimary
                | FaultKind::PausePrimary
                | FaultKind::Switchover
                | FaultKind::Failover
                | FaultKind::KillSyncStandby
                | FaultKind::RestartEngine
                | FaultKind::DcsOutage
                | FaultKind::PartitionPrimary
                | FaultKind::KillHostInstance => Ok(()),
                // Shapes, loss and bandwidth: laid on the formation's network (--net namespaces).
                _ if self.on_network() => Ok(()),
                _ => Err(format!(
                    "{self} is not built for pg_auto_failover yet; use crash-primary, kill-primary, pause-primary, \
                     switchover, failover, kill-sync-standby, restart-engine (the primary's pg_autoctl), \
                     dcs-outage (the monitor frozen), partition-primary (cut from the monitor and the other nodes) \
                     or, with --net namespaces, partition=SHAPE, packet-loss and bandwidth"
                )),
            },
            _ if engine_only => Err(format!(
                "{self} asks a cluster manager: it needs --topology patroni or pg_auto_failover (not {kind})"
            )),
            _ => Ok(()),
        }
    }

    /// Faults that act on the standbys' replication links.
    pub(crate) fn needs_links(self) -> bool {
        matches!(self, FaultKind::PartitionStandby | FaultKind::SlowLink | FaultKind::PartitionPrimary)
    }

    /// Faults that act on the client path too.
    pub(crate) fn needs_client_links(self) -> bool {
        self == FaultKind::PartitionPrimary
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// When, counted from the start of the measured phase.
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub at: Duration,
    /// How long (pause-primary: how long the node hangs).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_dur",
        deserialize_with = "opt_dur_de"
    )]
    pub duration: Option<Duration>,
    /// A network fault's shape, loss or rate (what follows `=`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_net",
        deserialize_with = "opt_net_de"
    )]
    pub net: Option<NetFault>,
}

fn opt_net<S: serde::Serializer>(n: &Option<NetFault>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.serialize_str(&n.to_string()),
        None => s.serialize_none(),
    }
}

fn opt_net_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NetFault>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| s.parse().map_err(serde::de::Error::custom)).transpose()
}

fn opt_dur<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_none(),
    }
}

fn opt_dur_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom)).transpose()
}

impl FromStr for FaultSpec {
    type Err = String;

    /// `KIND@TIME[:DURATION][=WHAT]`, e.g. `kill-primary@20s`, `pause-primary@10s:5s`,
    /// `partition@10s:20s=halves`.
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "write KIND@TIME[:DURATION], e.g. kill-primary@20s or pause-primary@10s:5s";
        let (s, what) = match s.split_once('=') {
            Some((head, what)) => (head, Some(what)),
            None => (s, None),
        };
        let (kind, rest) = s.split_once('@').ok_or_else(|| format!("`{s}`: {usage}"))?;
        // pg_auto_failover's coordination service is its monitor: the same fault.
        let kind = if kind == "monitor-outage" { "dcs-outage" } else { kind };
        let kind = FaultKind::ALL.into_iter().find(|k| k.as_str() == kind).ok_or_else(|| {
            let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("`{kind}` is not a fault; use one of {}", names.join(", "))
        })?;
        let (at, duration) = match rest.split_once(':') {
            Some((a, d)) => (a, Some(parse_duration(d).map_err(|e| format!("`{s}`: duration {e}"))?)),
            None => (rest, None),
        };
        let at = parse_duration(at).map_err(|e| format!("`{s}`: time {e}"))?;
        let net = what.map(|w| NetFault::parse(kind, w).map_err(|e| format!("`{s}={w}`: {e}"))).transpose()?;
        let spec = FaultSpec { kind, at, duration, net };
        spec.validate()?;
        Ok(spec)
    }
}

impl FaultSpec {
    /// `partition@..=isolate:primary` (the kernel partition `partition-primary` lays too) or
    /// `clients-from:primary`: habench's clients and its orchestrator's probes (which leave from
    /// the clients' host) lose the primary alike, so the built-in band is the same.
    pub(crate) fn cuts_primary_from_clients(&self) -> bool {
        matches!(
            &self.net,
            Some(NetFault::Partition(
                PartitionShape::Isolate(HostRef::Primary) | PartitionShape::ClientsFrom(HostRef::Primary)
            ))
        )
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.kind.on_network() && self.net.is_none() {
            let example = match self.kind {
                FaultKind::PacketLoss => "packet-loss@10s:30s=5%:standby",
                FaultKind::Bandwidth => "bandwidth@10s:30s=1mbit:standby",
                _ => "partition@10s:20s=halves",
            };
            return Err(format!("{} needs what after `=`, e.g. {example}", self.kind));
        }
        if !self.kind.on_network() && self.net.is_some() {
            return Err(format!(
                "{} takes nothing after `=` (only partition, packet-loss and bandwidth do)",
                self.kind
            ));
        }
        if self.kind.takes_optional_duration() {
            return Ok(());
        }
        match (self.kind.needs_duration(), self.duration) {
            (true, None) => Err(format!("{k} needs a duration: {k}@TIME:DURATION, e.g. {k}@10s:5s", k = self.kind)),
            (false, Some(_)) => {
                Err(format!("{} takes no duration (only pause-primary, partition-standby, partition-primary, slow-link, dcs-outage, sso-outage and drain-group do; kill-receive-instance and crash-group may)", self.kind))
            }
            _ => Ok(()),
        }
    }
}

/// A fault as written in a scenario file: `{ kind = "kill-primary", at = "20s" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultEntry {
    pub kind: FaultKind,
    pub at: String,
    pub duration: Option<String>,
    /// A network fault's shape, loss or rate: `shape = "halves"`, `shape = "5%:standby"`.
    pub shape: Option<String>,
}

impl FaultEntry {
    pub(crate) fn to_spec(&self) -> Result<FaultSpec, String> {
        let spec = FaultSpec {
            kind: self.kind,
            at: parse_duration(&self.at).map_err(|e| format!("faults.at: {e}"))?,
            duration: self
                .duration
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| format!("faults.duration: {e}"))?,
            net: self
                .shape
                .as_deref()
                .map(|w| NetFault::parse(self.kind, w))
                .transpose()
                .map_err(|e| format!("faults.shape: {e}"))?,
        };
        spec.validate().map_err(|e| format!("faults.kind: {e}"))?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_the_command_line_form() {
        let f: FaultSpec = "pause-primary@10s:5s".parse().unwrap();
        assert_eq!(
            f,
            FaultSpec {
                kind: FaultKind::PausePrimary,
                at: Duration::from_secs(10),
                duration: Some(Duration::from_secs(5)),
                net: None,
            }
        );
        let k: FaultSpec = "kill-primary@1.5s".parse().unwrap();
        assert_eq!((k.kind, k.at, k.duration), (FaultKind::KillPrimary, Duration::from_millis(1500), None));
    }

    #[test]
    fn monitor_outage_is_the_dcs_outage_of_pg_auto_failover() {
        let f: FaultSpec = "monitor-outage@5s:20s".parse().unwrap();
        assert_eq!((f.kind, f.duration), (FaultKind::DcsOutage, Some(Duration::from_secs(20))));
        let e: FaultEntry = toml::from_str("kind = \"monitor-outage\"\nat = \"5s\"\nduration = \"2s\"").unwrap();
        assert_eq!(e.to_spec().unwrap().kind, FaultKind::DcsOutage);
    }

    #[test]
    fn pg_auto_failover_takes_the_engine_faults_it_has_and_names_them_for_the_others() {
        use crate::topology::TopologyKind as K;
        let built =
            [FaultKind::CrashPrimary, FaultKind::RestartEngine, FaultKind::DcsOutage, FaultKind::PartitionPrimary];
        for k in built.into_iter().chain([FaultKind::Switchover]) {
            assert_eq!(k.applies_to(K::PgAutoFailover), Ok(()), "{k}");
        }
        let e = FaultKind::PartitionStandby.applies_to(K::PgAutoFailover).unwrap_err();
        assert!(e.contains("not built for pg_auto_failover") && e.contains("partition-primary"), "{e}");
    }

    #[test]
    fn bad_faults_say_how_to_write_them() {
        assert!("kill-primary".parse::<FaultSpec>().unwrap_err().contains("KIND@TIME"));
        assert!("nuke@1s".parse::<FaultSpec>().unwrap_err().contains("kill-primary, crash-primary"));
        assert!("pause-primary@1s".parse::<FaultSpec>().unwrap_err().contains("needs a duration"));
        assert!("kill-primary@1s:2s".parse::<FaultSpec>().unwrap_err().contains("takes no duration"));
        assert!("kill-primary@soon".parse::<FaultSpec>().unwrap_err().contains("time"));
        assert!("partition@1s:2s".parse::<FaultSpec>().unwrap_err().contains("=halves"));
        assert!("kill-primary@1s=halves".parse::<FaultSpec>().unwrap_err().contains("nothing after `=`"));
        assert!("partition@1s=halves".parse::<FaultSpec>().unwrap_err().contains("needs a duration"));
    }

    #[test]
    fn network_faults_carry_their_shape_through_flags_scenarios_and_results() {
        let f: FaultSpec = "partition@10s:20s=one-way:primary>s2".parse().unwrap();
        assert_eq!(f.kind, FaultKind::Partition);
        assert_eq!(f.net.as_ref().unwrap().to_string(), "one-way:primary>s2");
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains("\"net\":\"one-way:primary>s2\""), "{json}");
        assert_eq!(serde_json::from_str::<FaultSpec>(&json).unwrap(), f);
        let e: FaultEntry =
            toml::from_str("kind = \"packet-loss\"\nat = \"5s\"\nduration = \"30s\"\nshape = \"5%:standby\"").unwrap();
        assert_eq!(e.to_spec().unwrap().net.unwrap().to_string(), "5%:standby");
        let bad: FaultEntry =
            toml::from_str("kind = \"partition\"\nat = \"5s\"\nduration = \"30s\"\nshape = \"thirds\"").unwrap();
        assert!(bad.to_spec().unwrap_err().starts_with("faults.shape"));
    }
}
