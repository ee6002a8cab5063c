//! Patroni with etcd, the cluster manager most PostgreSQL high-availability setups run: finding
//! its programs, its specification and timings, its configuration files, its DCS, its REST API
//! and what it says about the cluster. The topology that runs it is `topology::patroni`.

pub mod cluster;
pub mod config;
pub mod etcd;
pub mod http;
pub mod locate;
pub mod spec;
pub mod tls;

pub use cluster::{ClusterView, Member};
pub use locate::EnginePrograms;
pub use spec::{parse_engine_set, PatroniSpec, SyncMode, Timing};
