//! A serialisable picture of a running topology (what `topology up` prints and the manifest
//! holds): plain data, asked of the servers by `describe`.

use std::path::PathBuf;

use serde::Serialize;

use crate::topology::TopologyKind;

#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub port: u16,
    /// As the server reports it: primary, standby, passive, paused, down, unreachable.
    pub role: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub pid: Option<u32>,
    /// CPUs the server's processes may run on, as the kernel says (`Cpus_allowed_list`).
    pub cpus: Option<String>,
    /// The emulated link of its replication connection.
    pub link: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopologyInfo {
    pub kind: TopologyKind,
    pub write_dsn: String,
    pub read_dsns: Vec<String>,
    pub nodes: Vec<NodeInfo>,
    pub dir: PathBuf,
    pub server_version: String,
    pub server_user: String,
    /// The cluster manager, when one runs the topology (Patroni: versions, REST URLs, timings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineInfo>,
}

/// The cluster manager that runs a topology, as the manifest records it (its `engine` field
/// names which).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum EngineInfo {
    Patroni(Box<crate::topology::patroni::PatroniInfo>),
    AutoFailover(Box<AutoFailoverInfo>),
}

/// pg_auto_failover as habench ran it: its version, the monitor's settings and the formation's
/// and nodes' settings, read back from the monitor.
#[derive(Debug, Clone, Serialize)]
pub struct AutoFailoverInfo {
    /// "pg_auto_failover".
    pub engine: String,
    /// `pg_autoctl version`'s first line.
    pub version: Option<String>,
    /// Where this version stands against upstream's newest, when it is older.
    pub version_note: Option<String>,
    pub monitor_uri: String,
    /// Every `pgautofailover.*` setting of the monitor.
    pub monitor_settings: Vec<(String, String)>,
    pub formation: crate::autofailover::Readback,
    /// From the monitor's start to the formation formed (ms; None: a formation habench did not start).
    pub formed_ms: Option<f64>,
}
