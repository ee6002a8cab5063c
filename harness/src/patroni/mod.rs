//! Patroni with etcd, the cluster manager most PostgreSQL high-availability setups run: finding
//! its programs, its specification and timings, its configuration files, its DCS, its REST API
//! and what it says about the cluster. The topology that runs it is `topology::patroni`.

pub(crate) mod cluster;
pub(crate) mod config;
pub(crate) mod etcd;
pub mod http;
pub(crate) mod locate;
pub(crate) mod spec;
pub(crate) mod tls;

pub(crate) use cluster::ClusterView;
pub use locate::EnginePrograms;
pub use spec::{parse_engine_set, parse_key_value, PatroniSpec, SyncMode, Timing};
