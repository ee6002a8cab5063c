//! Typed errors of the habench library. The CLI adds context with anyhow.

use std::path::PathBuf;
use std::time::Duration;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "PostgreSQL server binaries not found (tried: {tried}). Install them (Debian/Ubuntu: \
         `apt-get install postgresql`) or point habench at a bindir with --pg-bin DIR or \
         HABENCH_PG_BIN=DIR"
    )]
    BinariesNotFound { tried: String },

    #[error("{source_name} `{dir}` is not a PostgreSQL bindir: it has no `{missing}`; give the directory that holds initdb and postgres (e.g. /usr/lib/postgresql/15/bin)")]
    BadBinDir { source_name: String, dir: PathBuf, missing: String },

    #[error("OS user `{0}` for the server processes does not exist: create it (`useradd --system --home /var/lib/postgresql postgres`) or choose another with --pg-user NAME or HABENCH_PG_USER")]
    NoSuchUser(String),

    /// A bad input: `field` is where it came from (a flag, or `file:line: [section] key`).
    #[error("{field}: {reason}")]
    Config { field: String, reason: String },

    #[error("{tool} failed ({status}): {detail}")]
    Tool { tool: String, status: String, detail: String },

    #[error("node {node}: {msg}")]
    Node { node: String, msg: String },

    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout { what: String, waited: Duration },

    #[error("no free loopback port in {first}..{last}: too many servers running, or stale leases in {dir}")]
    NoFreePort { first: u16, last: u16, dir: PathBuf },

    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    #[error("database error on node {node}: {source}")]
    Db { node: String, source: tokio_postgres::Error },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn node(node: &str, msg: impl Into<String>) -> Self {
        Error::Node { node: node.to_string(), msg: msg.into() }
    }
}
