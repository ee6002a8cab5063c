//! Command-line flags (clap only; values become typed config in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "habench",
    version,
    about = "Measures what a high-availability PostgreSQL design costs and what it buys, on real servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, inspect and tear down PostgreSQL topologies.
    #[command(subcommand)]
    Topology(TopologyCommand),
}

#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Bring a topology up, print one JSON line describing it, keep it until SIGINT/SIGTERM.
    Up(UpArgs),
    /// Stop servers and remove directories left by habench processes that died.
    Clean(EnvArgs),
}

#[derive(Debug, Args, Clone)]
pub struct EnvArgs {
    /// Directory of the PostgreSQL server binaries (default: HABENCH_PG_BIN, `pg_config
    /// --bindir`, newest /usr/lib/postgresql/*/bin).
    #[arg(long, value_name = "DIR", env = "HABENCH_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
    /// OS user for the server processes when habench runs as root.
    #[arg(long, value_name = "NAME", env = "HABENCH_PG_USER")]
    pub pg_user: Option<String>,
    /// Where data directories, logs and port leases live (default: $TMPDIR/habench).
    #[arg(long, value_name = "DIR", env = "HABENCH_WORK")]
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct TopologyArgs {
    /// Which high-availability design to build.
    #[arg(value_enum)]
    pub kind: KindArg,
    /// Standbys (sync, async: 1-8; default 1).
    #[arg(long, value_name = "N")]
    pub standbys: Option<u8>,
    /// sync: `first` (priority: FIRST k; default) or `any` (quorum: ANY k).
    #[arg(long, value_enum)]
    pub quorum: Option<QuorumArg>,
    /// sync: standbys that confirm each commit (1..=standbys; default 1).
    #[arg(long, value_name = "K")]
    pub sync_count: Option<u8>,
    /// synchronous_commit on every node (server default: on).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub sync_commit: Option<SyncCommitArg>,
    /// log-shipping: archive_timeout in whole seconds, e.g. 1s (default), 5s.
    #[arg(long, value_name = "DURATION", value_parser = parse_seconds)]
    pub archive_timeout: Option<std::time::Duration>,
    /// A PostgreSQL setting for every node (repeatable), e.g. --pg-set shared_buffers=256MB.
    #[arg(long = "pg-set", value_name = "NAME=VALUE", value_parser = crate::pg::settings::parse_assignment)]
    pub pg_set: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub topology: TopologyArgs,
    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Single,
    SharedDisk,
    Sync,
    Async,
    LogShipping,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QuorumArg {
    First,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncCommitArg {
    Off,
    Local,
    #[value(name = "remote_write", alias = "remote-write")]
    RemoteWrite,
    On,
    #[value(name = "remote_apply", alias = "remote-apply")]
    RemoteApply,
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let digits = s.strip_suffix('s').unwrap_or(s);
    digits
        .parse::<u64>()
        .map(std::time::Duration::from_secs)
        .map_err(|_| format!("`{s}` is not whole seconds (e.g. 1s, 30s)"))
}
