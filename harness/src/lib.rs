//! habench: *how* high-availability PostgreSQL setups are run, broken and measured.
//!
//! The library holds everything; the `habench` binary only parses flags and prints.

pub mod analysis;
pub mod balancer;
pub mod capacity;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod error;
pub mod events;
pub mod export;
pub mod failover;
pub mod fault;
pub mod link;
pub mod measure;
pub mod patroni;
pub mod pg;
pub mod receive;
pub mod report;
pub mod run_data;
pub mod run_result;
pub mod runner;
pub mod sso;
pub mod store;
pub mod summary;
pub mod sysinfo;
pub mod text_table;
pub mod timefmt;
pub mod topology;

pub use error::{Error, Result};
