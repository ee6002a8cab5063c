//! habench: *how* high-availability PostgreSQL setups are run, broken and measured.
//!
//! The library holds everything; the `habench` binary only parses flags and prints.

pub(crate) mod analysis;
pub mod autofailover;
pub(crate) mod balancer;
pub(crate) mod capacity;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub(crate) mod error;
pub mod events;
pub mod export;
pub mod failover;
pub(crate) mod fault;
pub mod link;
pub(crate) mod manager;
pub mod measure;
pub mod netns;
pub mod patroni;
pub mod pg;
pub(crate) mod receive;
pub mod report;
pub mod run_data;
pub mod run_result;
pub mod runner;
pub(crate) mod sso;
pub mod store;
pub(crate) mod summary;
pub mod sysinfo;
pub(crate) mod text_table;
pub(crate) mod timefmt;
pub mod topology;
