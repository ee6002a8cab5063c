//! `manifest.json`: everything needed to know what was run, written before the load starts and
//! again once the servers are known.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::RunConfig;
use crate::sysinfo::{Load, Machine};
use crate::topology::info::TopologyInfo;

#[derive(Debug, Serialize)]
pub(crate) struct Manifest<'a> {
    pub habench_version: &'static str,
    pub git_commit: &'static str,
    pub created_at: String,
    pub run_id: String,
    pub seed: u64,
    pub config: &'a RunConfig,
    pub machine: Machine,
    pub load_at_start: Load,
    /// `SELECT version()` of the server under test.
    pub postgres_version: Option<String>,
    pub topology: Option<TopologyInfo>,
    /// A cluster that runs elsewhere (`--cluster`), as discovered at the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::ClusterInfo>,
    /// The separate SSO master secret server (`--sso separate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_server: Option<crate::topology::NodeInfo>,
    /// Parallel groups: each group's topology (`topology` is then empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupInfo>,
    /// Per node: settings whose source is not the built-in default.
    pub server_settings: BTreeMap<String, BTreeMap<String, String>>,
    /// What the hardware alone costs a commit (see the report's physical floor).
    pub physical_floor: Option<crate::measure::floor::Floor>,
}

/// One parallel group in the manifest.
#[derive(Debug, Serialize)]
pub(crate) struct GroupInfo {
    pub name: String,
    pub topology: TopologyInfo,
}

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
pub(crate) const GIT_COMMIT: &str = env!("HABENCH_GIT_COMMIT");
