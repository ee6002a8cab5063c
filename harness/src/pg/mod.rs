//! Local PostgreSQL servers: binaries, OS user, ports, processes and single nodes.

pub(crate) mod bindir;
pub mod cgroup;
pub mod conn;
pub(crate) mod dsn;
pub(crate) mod endpoint;
pub(crate) mod env;
pub(crate) mod flock;
pub(crate) mod host;
pub(crate) mod lsn;
pub(crate) mod node;
pub(crate) mod node_net;
pub(crate) mod os_user;
pub(crate) mod ports;
pub mod procs;
pub(crate) mod settings;
pub(crate) mod template;
pub mod wire;
pub(crate) mod workdir;
pub(crate) mod worker_conn;

pub use endpoint::Endpoint;
pub use env::{EnvOptions, PgEnv};
pub(crate) use lsn::Lsn;
pub use node::{Node, Role};
pub(crate) use settings::Settings;
