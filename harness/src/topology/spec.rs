//! Typed, validated description of a topology.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pg::Settings;

/// Largest number of standbys (an availability group has at most 8 secondaries).
pub(crate) const MAX_STANDBYS: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyKind {
    Single,
    SharedDisk,
    Sync,
    Async,
    LogShipping,
    /// Patroni + etcd: a real cluster manager decides.
    Patroni,
    /// pg_auto_failover: a monitor node and a keeper per data node decide.
    #[serde(rename = "pg_auto_failover", alias = "pg-auto-failover")]
    PgAutoFailover,
    /// Two to four independent groups behind a load balancer (BizTalk's PROD1/PROD2).
    Parallel,
}

impl TopologyKind {
    pub(crate) const ALL: [TopologyKind; 8] = [
        Self::Single,
        Self::SharedDisk,
        Self::Sync,
        Self::Async,
        Self::LogShipping,
        Self::Patroni,
        Self::PgAutoFailover,
        Self::Parallel,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::SharedDisk => "shared-disk",
            Self::Sync => "sync",
            Self::Async => "async",
            Self::LogShipping => "log-shipping",
            Self::Patroni => "patroni",
            Self::PgAutoFailover => "pg_auto_failover",
            Self::Parallel => "parallel",
        }
    }
}

impl fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TopologyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!(
                "unknown topology `{s}`: use one of single, shared-disk, sync, async, log-shipping, patroni, parallel"
            )
        })
    }
}

/// How `synchronous_standby_names` picks the standbys that confirm a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quorum {
    /// `FIRST k (...)`: the first k connected standbys in list order (priority).
    First,
    /// `ANY k (...)`: any k standbys (quorum commit).
    Any,
}

/// `synchronous_commit` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncCommit {
    Off,
    Local,
    RemoteWrite,
    On,
    RemoteApply,
}

impl SyncCommit {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Local => "local",
            Self::RemoteWrite => "remote_write",
            Self::On => "on",
            Self::RemoteApply => "remote_apply",
        }
    }
}

/// Where the topology's hosts live on the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NetMode {
    /// Every server on this machine's loopback (the default).
    #[default]
    Loopback,
    /// Every node a host of its own: a network namespace with its own address, on a bridge;
    /// habench's clients reach them from one address of their own.
    Namespaces,
}

impl NetMode {
    pub fn is_loopback(&self) -> bool {
        *self == NetMode::Loopback
    }
}

/// Everything needed to bring a topology up.
#[derive(Debug, Clone, Serialize)]
pub struct TopologySpec {
    pub kind: TopologyKind,
    /// Standbys for sync/async (1-8); log-shipping has exactly one; 0 otherwise.
    pub standbys: u8,
    /// Sync only: FIRST or ANY.
    pub quorum: Quorum,
    /// Sync only: how many standbys confirm each commit (1..=standbys).
    pub sync_count: u8,
    /// `synchronous_commit` on every node; None keeps the server default (`on`).
    pub sync_commit: Option<SyncCommit>,
    /// Log-shipping only: `archive_timeout`, the longest a WAL segment waits to be shipped.
    #[serde(with = "millis")]
    pub archive_timeout: Duration,
    /// Passed through to every node, after habench's own settings (so they win).
    #[serde(serialize_with = "settings_as_map")]
    pub pg_settings: Settings,
    /// Node name -> CPUs its processes run on (emulates separate hosts on one machine).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pin: BTreeMap<String, Vec<usize>>,
    /// Standby name -> the emulated link its replication connection goes through.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, crate::link::LinkSpec>,
    /// A link on every node's client path: the listener, the report connections and the
    /// orchestrator's probes go through it (sync and async only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_link: Option<crate::link::LinkSpec>,
    /// pg_auto_failover only: the monitor's, the formation's and the nodes' settings, from
    /// `--engine-set KEY=VALUE`.
    #[serde(default, skip_serializing_if = "crate::autofailover::FormationSettings::is_empty")]
    pub auto_failover: crate::autofailover::FormationSettings,
    /// Patroni only: the DCS, the synchronous mode and the engine's settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::patroni::PatroniSpec>,
    /// Parallel only: the groups, each with its own topology.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<super::ParallelSpec>,
    /// `--net namespaces`: each node in a network namespace of its own (single, sync, async and
    /// log-shipping for now).
    #[serde(default, skip_serializing_if = "NetMode::is_loopback")]
    pub net: NetMode,
}

impl TopologySpec {
    /// A spec with the defaults of `kind` (sync/async: 1 standby, FIRST 1).
    pub fn new(kind: TopologyKind) -> Self {
        let standbys = match kind {
            TopologyKind::Single | TopologyKind::SharedDisk => 0,
            // The usual shape of an engine: a primary and two replicas.
            TopologyKind::Patroni | TopologyKind::PgAutoFailover => 2,
            _ => 1,
        };
        TopologySpec {
            kind,
            standbys,
            quorum: Quorum::First,
            sync_count: 1,
            sync_commit: None,
            archive_timeout: Duration::from_secs(1),
            pg_settings: Settings::new(),
            pin: BTreeMap::new(),
            links: BTreeMap::new(),
            client_link: None,
            auto_failover: Default::default(),
            engine: (kind == TopologyKind::Patroni).then(crate::patroni::PatroniSpec::default),
            parallel: None,
            net: NetMode::Loopback,
        }
    }

    /// The names of the nodes this spec brings up.
    pub(crate) fn node_names(&self) -> Vec<String> {
        match self.kind {
            TopologyKind::Single => vec!["primary".into()],
            TopologyKind::SharedDisk => vec!["node-a".into(), "node-b".into()],
            TopologyKind::LogShipping => vec!["primary".into(), "dr".into()],
            TopologyKind::Sync | TopologyKind::Async => {
                std::iter::once("primary".to_string()).chain((1..=self.standbys).map(|i| format!("s{i}"))).collect()
            }
            TopologyKind::Patroni | TopologyKind::PgAutoFailover => {
                (1..=self.standbys + 1).map(|i| format!("n{i}")).collect()
            }
            // Every group has its own nodes (see its spec).
            TopologyKind::Parallel => Vec::new(),
        }
    }

    pub fn with_standbys(mut self, n: u8) -> Self {
        self.standbys = n;
        self
    }

    pub fn with_quorum(mut self, quorum: Quorum, count: u8) -> Self {
        self.quorum = quorum;
        self.sync_count = count;
        self
    }

    pub fn with_sync_commit(mut self, level: SyncCommit) -> Self {
        self.sync_commit = Some(level);
        self
    }

    pub fn with_setting(mut self, name: &str, value: &str) -> Self {
        self.pg_settings.set(name, value);
        self
    }

    /// What `--net namespaces` takes so far: habench's own topologies except shared-disk and
    /// parallel groups; emulated links on sync and async only.
    fn validate_namespaces(&self) -> Result<()> {
        use TopologyKind as K;
        if !matches!(self.kind, K::Single | K::Sync | K::Async | K::LogShipping | K::Patroni | K::PgAutoFailover) {
            return Err(Error::config(
                "--net",
                format!(
                    "namespaces are built for single, sync, async, log-shipping, patroni and pg_auto_failover so far, not {}: use --net loopback",
                    self.kind
                ),
            ));
        }
        if self.engine.as_ref().is_some_and(|e| e.rest_tls) {
            return Err(Error::config(
                "--net",
                "--rest-tls certificates name loopback only so far: drop --rest-tls or use --net loopback",
            ));
        }
        if (!self.links.is_empty() || self.client_link.is_some()) && !matches!(self.kind, K::Sync | K::Async) {
            return Err(Error::config(
                "--net",
                format!(
                    "emulated links (--link, --client-link) on namespaces are built for sync and async, not {}: \
                     drop them or use --net loopback",
                    self.kind
                ),
            ));
        }
        Ok(())
    }

    /// Checks the combination; the error names the flag and the fix.
    ///
    /// Over 80 lines: one rule after another, each with its own error naming the flag and the fix.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.net == NetMode::Namespaces {
            self.validate_namespaces()?;
        }
        match self.kind {
            TopologyKind::Parallel => {
                return match &self.parallel {
                    Some(p) => p.validate(),
                    None => Err(Error::config("--groups", "parallel needs its groups: give --groups 2 to 4")),
                }
            }
            TopologyKind::PgAutoFailover => {
                if self.standbys == 0 || self.standbys > MAX_STANDBYS {
                    return Err(Error::config(
                        "--nodes",
                        format!(
                            "{} data nodes asked; pg_auto_failover takes 2 to {} (one primary, 1-8 standbys)",
                            self.standbys + 1,
                            MAX_STANDBYS + 1
                        ),
                    ));
                }
                if !self.pin.is_empty() {
                    return Err(Error::config("--pin", "pg_auto_failover nodes are cgroups, not pinned processes"));
                }
            }
            TopologyKind::Patroni => {
                if self.standbys == 0 || self.standbys > MAX_STANDBYS {
                    return Err(Error::config(
                        "--nodes",
                        format!(
                            "{} nodes asked; patroni takes 2 to {} (one primary, 1-8 replicas)",
                            self.standbys + 1,
                            MAX_STANDBYS + 1
                        ),
                    ));
                }
                if !self.pin.is_empty() {
                    return Err(Error::config(
                        "--pin",
                        "patroni nodes are not pinned to CPUs (each node is a cgroup, not a pinned process)",
                    ));
                }
                let engine = self.engine.clone().unwrap_or_default();
                if !matches!(engine.dcs_members, 1 | 3) {
                    return Err(Error::config(
                        "--dcs-members",
                        format!("{} etcd members asked; use 1 or 3", engine.dcs_members),
                    ));
                }
                if self.sync_count == 0 || self.sync_count > self.standbys {
                    return Err(Error::config(
                        "--sync-count",
                        format!(
                            "{} synchronous replicas asked of {}; give 1 to {} (or more --nodes)",
                            self.sync_count, self.standbys, self.standbys
                        ),
                    ));
                }
            }
            TopologyKind::Sync | TopologyKind::Async => {
                if self.standbys == 0 || self.standbys > MAX_STANDBYS {
                    return Err(Error::config(
                        "--standbys",
                        format!("{} standbys asked; {} takes 1 to {MAX_STANDBYS}", self.standbys, self.kind),
                    ));
                }
            }
            TopologyKind::LogShipping => {
                if self.standbys != 1 {
                    return Err(Error::config(
                        "--standbys",
                        "log-shipping has exactly 1 restore-only standby; drop --standbys",
                    ));
                }
            }
            TopologyKind::Single | TopologyKind::SharedDisk => {
                if self.standbys != 0 {
                    return Err(Error::config(
                        "--standbys",
                        format!("{} has no standbys; use sync, async or log-shipping for replicas", self.kind),
                    ));
                }
            }
        }
        if self.kind == TopologyKind::Sync && (self.sync_count == 0 || self.sync_count > self.standbys) {
            return Err(Error::config(
                "--sync-count",
                format!(
                    "{} confirming standbys asked of {}; give 1 to {} (or add --standbys)",
                    self.sync_count, self.standbys, self.standbys
                ),
            ));
        }
        let names = self.node_names();
        let cores = crate::sysinfo::cores();
        for (node, cpus) in &self.pin {
            if !names.contains(node) {
                return Err(Error::config(
                    "--pin",
                    format!("`{node}` is not a node of {}; its nodes are {}", self.kind, names.join(", ")),
                ));
            }
            if let Some(c) = cpus.iter().find(|c| **c >= cores) {
                return Err(Error::config(
                    "--pin",
                    format!("{node}: CPU {c} does not exist; this machine has CPUs 0 to {}", cores - 1),
                ));
            }
        }
        if self.client_link.is_some() && !matches!(self.kind, TopologyKind::Sync | TopologyKind::Async) {
            return Err(Error::config(
                "--client-link",
                format!("client links are built for sync and async, not {}", self.kind),
            ));
        }
        if !self.links.is_empty() && !matches!(self.kind, TopologyKind::Sync | TopologyKind::Async) {
            return Err(Error::config(
                "--link",
                format!(
                    "{} has no streaming standby; links go on the replication connections of sync or async",
                    self.kind
                ),
            ));
        }
        if let Some(node) = self.links.keys().find(|n| !names[1..].contains(n)) {
            return Err(Error::config(
                "--link",
                format!("`{node}` is not a standby of {}; its standbys are {}", self.kind, names[1..].join(", ")),
            ));
        }
        if self.archive_timeout < Duration::from_secs(1) && self.kind == TopologyKind::LogShipping {
            return Err(Error::config(
                "--archive-timeout",
                "PostgreSQL's archive_timeout is whole seconds, at least 1s",
            ));
        }
        Ok(())
    }

    /// `synchronous_standby_names` for the given standby names (empty unless sync).
    pub(crate) fn standby_names(&self, standbys: &[&str]) -> String {
        if self.kind != TopologyKind::Sync || standbys.is_empty() {
            return String::new();
        }
        let k = usize::from(self.sync_count).min(standbys.len());
        let method = match self.quorum {
            Quorum::First => "FIRST",
            Quorum::Any => "ANY",
        };
        format!("{method} {k} ({})", standbys.join(", "))
    }

    /// The `sync_state` that `pg_stat_replication` should show for the standby at `index`.
    pub(crate) fn expected_sync_state(&self, index: usize) -> &'static str {
        match (self.kind, self.quorum) {
            (TopologyKind::Sync, Quorum::Any) => "quorum",
            (TopologyKind::Sync, Quorum::First) if index < usize::from(self.sync_count) => "sync",
            (TopologyKind::Sync, Quorum::First) => "potential",
            _ => "async",
        }
    }
}

mod millis {
    pub(crate) fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

fn settings_as_map<S: serde::Serializer>(settings: &Settings, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(None)?;
    for (k, v) in settings.iter() {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_combinations_name_the_flag() {
        let too_many = TopologySpec::new(TopologyKind::Sync).with_standbys(9);
        assert!(too_many.validate().unwrap_err().to_string().contains("--standbys"));
        let big_k = TopologySpec::new(TopologyKind::Sync).with_standbys(2).with_quorum(Quorum::Any, 3);
        assert!(big_k.validate().unwrap_err().to_string().contains("--sync-count"));
        let single = TopologySpec::new(TopologyKind::Single).with_standbys(1);
        assert!(single.validate().unwrap_err().to_string().contains("no standbys"));
        assert!(TopologySpec::new(TopologyKind::Async).with_standbys(8).validate().is_ok());
    }

    #[test]
    fn standby_names_follow_the_quorum_method() {
        let first = TopologySpec::new(TopologyKind::Sync).with_standbys(2);
        assert_eq!(first.standby_names(&["s1", "s2"]), "FIRST 1 (s1, s2)");
        assert_eq!(first.expected_sync_state(0), "sync");
        assert_eq!(first.expected_sync_state(1), "potential");
        let any = first.clone().with_quorum(Quorum::Any, 2);
        assert_eq!(any.standby_names(&["s1", "s2"]), "ANY 2 (s1, s2)");
        assert_eq!(any.standby_names(&["s2"]), "ANY 1 (s2)", "k is clamped to the standbys left");
        assert_eq!(any.expected_sync_state(1), "quorum");
        let asynchronous = TopologySpec::new(TopologyKind::Async).with_standbys(2);
        assert_eq!(asynchronous.standby_names(&["s1", "s2"]), "");
        assert_eq!(asynchronous.expected_sync_state(0), "async");
    }

    #[test]
    fn a_patroni_cluster_has_2_to_9_nodes_and_1_or_3_etcd_members() {
        assert_eq!(TopologySpec::new(TopologyKind::Patroni).node_names(), vec!["n1", "n2", "n3"]);
        let two = TopologySpec::new(TopologyKind::Patroni).with_standbys(1);
        assert_eq!(two.node_names(), vec!["n1", "n2"]);
        assert!(two.validate().is_ok());
        let ten = TopologySpec::new(TopologyKind::Patroni).with_standbys(9);
        assert!(ten.validate().unwrap_err().to_string().contains("--nodes"));
        let mut two_dcs = TopologySpec::new(TopologyKind::Patroni);
        two_dcs.engine.as_mut().unwrap().dcs_members = 2;
        assert!(two_dcs.validate().unwrap_err().to_string().contains("--dcs-members"));
        let k = TopologySpec::new(TopologyKind::Patroni).with_standbys(2).with_quorum(Quorum::First, 3);
        assert!(k.validate().unwrap_err().to_string().contains("--sync-count"));
    }

    #[test]
    fn kinds_parse_from_their_cli_names() {
        for k in TopologyKind::ALL {
            assert_eq!(k.as_str().parse::<TopologyKind>(), Ok(k));
        }
        assert!("cluster".parse::<TopologyKind>().unwrap_err().contains("single, shared-disk"));
    }
}

/// Parses `NODE=CPUS` (`s2=1`, `primary=0-1`, `s1=0,1`).
pub(crate) fn parse_pin(text: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let (node, cpus) =
        text.split_once('=').ok_or_else(|| format!("`{text}`: write NODE=CPUS, e.g. s2=1 or primary=0-1"))?;
    Ok((node.trim().to_string(), parse_cpu_list(cpus)?))
}

/// The highest CPU number a list may name (the kernel's CPU_SETSIZE is 1024).
pub(crate) const MAX_CPU: usize = 1023;

/// Parses a CPU list: `1`, `0-3`, `0,2`. Numbers are bounded before anything is allocated.
pub(crate) fn parse_cpu_list(text: &str) -> std::result::Result<Vec<usize>, String> {
    let bad = || format!("`{}` is not a CPU list (e.g. 1, 0-1, 0,2)", text.chars().take(40).collect::<String>());
    let cpu = |t: &str| -> std::result::Result<usize, String> {
        let n: usize = t.trim().parse().map_err(|_| bad())?;
        if n > MAX_CPU {
            return Err(format!("CPU {n} is out of range: CPUs are numbered 0 to {MAX_CPU} at most"));
        }
        Ok(n)
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (cpu(a)?, cpu(b)?);
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(cpu(part)?),
        }
        if out.len() > MAX_CPU + 1 {
            return Err(format!(
                "`{}...` names more than {} CPUs",
                text.chars().take(40).collect::<String>(),
                MAX_CPU + 1
            ));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod pin_tests {
    use super::*;

    #[test]
    fn pins_parse_and_name_real_nodes_and_cpus() {
        assert_eq!(parse_pin("s2=1").unwrap(), ("s2".to_string(), vec![1]));
        assert_eq!(parse_cpu_list("0-1,3").unwrap(), vec![0, 1, 3]);
        assert!(parse_pin("s2").unwrap_err().contains("NODE=CPUS"));
        assert!(parse_cpu_list("1-0").is_err());
        let mut spec = TopologySpec::new(TopologyKind::Sync).with_standbys(2);
        spec.pin.insert("s3".into(), vec![0]);
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("--pin") && err.contains("primary, s1, s2"), "{err}");
        spec.pin.clear();
        spec.pin.insert("s1".into(), vec![1000]);
        assert!(spec.validate().unwrap_err().to_string().contains("does not exist"));
        // Bounded before allocation: billions of CPUs are refused, not listed.
        assert!(parse_cpu_list("0-4000000000").unwrap_err().contains("out of range"));
        assert!(parse_pin("s1=0-4000000000").is_err());
    }
}

#[cfg(test)]
mod net_tests {
    use super::*;

    #[test]
    fn namespaces_are_refused_by_name_where_they_are_not_built() {
        let mut spec = TopologySpec::new(TopologyKind::Sync);
        spec.net = NetMode::Namespaces;
        assert!(spec.validate().is_ok());
        let mut patroni = TopologySpec::new(TopologyKind::Patroni);
        patroni.net = NetMode::Namespaces;
        assert!(patroni.validate().is_ok());
        patroni.engine.as_mut().unwrap().rest_tls = true;
        let e = patroni.validate().unwrap_err().to_string();
        assert!(e.contains("--net") && e.contains("--rest-tls"), "{e}");
        let mut paf = TopologySpec::new(TopologyKind::PgAutoFailover);
        paf.net = NetMode::Namespaces;
        assert!(paf.validate().is_ok());
        let mut shared = TopologySpec::new(TopologyKind::SharedDisk);
        shared.net = NetMode::Namespaces;
        let e = shared.validate().unwrap_err().to_string();
        assert!(e.contains("--net") && e.contains("not shared-disk"), "{e}");
        spec.links.insert("s1".into(), Default::default());
        assert!(spec.validate().is_ok(), "links live in the standbys' hosts");
        let mut single = TopologySpec::new(TopologyKind::Single);
        single.net = NetMode::Namespaces;
        single.client_link = Some(Default::default());
        let e = single.validate().unwrap_err().to_string();
        assert!(e.contains("--net") && e.contains("--link"), "{e}");
    }
}
