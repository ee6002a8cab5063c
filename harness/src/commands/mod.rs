//! What each subcommand does; `options` turns flags into typed config once.

pub mod options;
pub mod run_cmd;
pub mod summary_cmd;
pub mod topology_cmd;

use crate::cli::{Cli, Command, TopologyCommand};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run_cmd::run(*args).await,
        Command::Summary(args) => summary_cmd::run(args),
        Command::Topology(TopologyCommand::Up(args)) => topology_cmd::up(args).await,
        Command::Topology(TopologyCommand::Clean(args)) => topology_cmd::clean(args).await,
    }
}
