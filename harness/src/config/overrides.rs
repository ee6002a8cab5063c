//! What a user set on top of a scenario, already typed: the command line's values as the
//! configuration sees them. `commands::options` fills it from clap; config never sees clap.

use std::path::PathBuf;
use std::time::Duration;

use habench_workloads::reporting::ReportMix;

use crate::config::{Arrival, Driver, ReportsOn, WorkloadKind};
use crate::fault::FaultSpec;
use crate::link::LinkSpec;
use crate::topology::{Quorum, SyncCommit, TopologyKind};

/// Every value a run can take from a flag; None where the flag was not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub scenario: Option<String>,
    pub topology: Option<TopologyKind>,
    pub topology_flags: TopologyOverrides,
    pub rate: Option<f64>,
    pub clients: Option<u16>,
    pub arrival: Option<Arrival>,
    pub publishers: Option<u16>,
    pub threads: Option<u16>,
    /// `--throttle [N]`: the message-count threshold.
    pub throttle: Option<u64>,
    pub duration: Option<Duration>,
    pub warmup: Option<Duration>,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub target_dsn: Option<String>,
    pub cluster: Option<PathBuf>,
    pub workload: Option<WorkloadKind>,
    pub payload_bytes: Option<u32>,
    pub driver: Option<Driver>,
    pub op_timeout: Option<Duration>,
    pub sync_wait_timeout: Option<Duration>,
    pub faults: Vec<FaultSpec>,
    pub probe_interval: Option<Duration>,
    pub probe_threshold: Option<u32>,
    pub manual_delay: Option<Duration>,
    pub no_heal: bool,
    pub no_fence: bool,
    pub trials: Option<u32>,
    pub keep: bool,
    pub max_harness_stall: Option<Duration>,
    pub exactly_once: bool,
    pub reports_on: Option<ReportsOn>,
    pub report_rate: Option<f64>,
    pub report_clients: Option<u16>,
    pub report_mix: Option<ReportMix>,
    pub report_standbys: Vec<String>,
    pub receive: crate::config::receive::ReceiveOverrides,
    pub sso: crate::config::sso::SsoOverrides,
    pub quiet: bool,
}

/// Topology values from flags (`run` and `topology up`).
#[derive(Debug, Clone, Default)]
pub struct TopologyOverrides {
    pub standbys: Option<u8>,
    pub quorum: Option<Quorum>,
    pub sync_count: Option<u8>,
    pub sync_commit: Option<SyncCommit>,
    pub archive_timeout: Option<Duration>,
    pub pg_set: Vec<(String, String)>,
    pub pin: Vec<(String, Vec<usize>)>,
    pub links: Vec<(String, LinkSpec)>,
    pub client_link: Option<LinkSpec>,
    pub nodes: Option<u8>,
    pub dcs_members: Option<u8>,
    pub rest_tls: bool,
    pub sync_mode: Option<crate::patroni::SyncMode>,
    pub engine_set: Vec<(String, serde_json::Value)>,
    pub groups: Option<u8>,
    pub group_topology: Option<TopologyKind>,
    pub balancer_probe: Option<Duration>,
    pub balancer_threshold: Option<u32>,
    pub net: Option<crate::topology::NetMode>,
}
