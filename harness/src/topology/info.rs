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
    /// Where habench's clients reach it (`port`, or a client link's or the clients' door's);
    /// the ledger's `server_port` is this one.
    pub clients_port: u16,
    /// `--net namespaces`: the server's own address and port on the network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
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
    Patroni(Box<PatroniInfo>),
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

/// What Patroni is and how it is set, for the manifest and the report.
#[derive(Debug, Clone, Serialize)]
pub struct PatroniInfo {
    pub engine: String,
    pub patroni_version: Option<String>,
    pub etcd_version: Option<String>,
    pub scope: String,
    /// Each node's REST URL (`GET /primary` answers 200 on the leader only).
    pub rest_urls: Vec<(String, String)>,
    pub dcs_urls: Vec<String>,
    /// The timings Patroni runs with (its clamping applied).
    pub timing: crate::patroni::Timing,
    /// The dynamic configuration as the DCS holds it after bootstrap (`GET /config`).
    pub dynamic_config: serde_json::Value,
    /// Lines of Patroni's logs where it adjusted or refused a setting.
    pub engine_notes: Vec<String>,
    /// From the start of the bring-up to a leader, every replica streaming and the sync standby
    /// assigned (ms).
    pub bootstrap_ms: f64,
    /// When each step of the bring-up was first seen (ms from its start).
    pub phases_ms: Phases,
}

/// The bring-up's steps, in ms from its start (0: not seen).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Phases {
    /// Every etcd member healthy (and Patroni's configuration checked).
    pub dcs_ready: f64,
    /// A leader running.
    pub leader: f64,
    /// Every replica streaming on the leader's timeline.
    pub streaming: f64,
    /// The synchronous standbys assigned (the cluster is up).
    pub sync_assigned: f64,
}
