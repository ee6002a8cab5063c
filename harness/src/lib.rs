//! habench: *how* high-availability PostgreSQL setups are run, broken and measured.
//!
//! The library holds everything; the `habench` binary only parses flags and prints.

pub mod cli;
pub mod commands;
pub mod error;
pub mod pg;
pub mod topology;

pub use error::{Error, Result};
