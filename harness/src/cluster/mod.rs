//! Clusters that run elsewhere (`--cluster FILE`): described by a file, discovered at the start,
//! broken only through the file's commands or Patroni's REST API. habench starts and stops
//! nothing of them; it creates and drops only its own schema.

pub(crate) mod command;
mod external;
mod file;

pub(crate) use external::{ClusterInfo, External};
pub use file::{ClusterFile, ClusterNode, ACTIONS};
