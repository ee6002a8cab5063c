//! Local PostgreSQL servers: binaries, OS user, ports, processes and single nodes.

pub mod bindir;
pub mod cgroup;
pub mod conn;
pub mod dsn;
pub mod endpoint;
pub mod env;
pub mod flock;
pub mod host;
pub mod lsn;
pub mod node;
pub mod os_user;
pub mod ports;
pub mod procs;
pub mod settings;
pub mod template;
pub mod wire;
pub mod workdir;
pub mod worker_conn;

pub use endpoint::Endpoint;
pub use env::{EnvOptions, PgEnv};
pub use lsn::Lsn;
pub use node::{Node, Role};
pub use settings::Settings;
