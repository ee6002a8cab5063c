//! What each subcommand does; `options` turns flags into typed config once.

pub mod compare_cmd;
pub mod options;
pub mod report_cmd;
pub mod run_cmd;
pub mod summary_cmd;
pub mod topology_cmd;

use crate::cli::{Cli, Command, TopologyCommand};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run_cmd::run(*args).await,
        Command::Summary(args) => summary_cmd::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Compare(args) => compare_cmd::run(args),
        Command::Topology(TopologyCommand::Up(args)) => topology_cmd::up(args).await,
        Command::Topology(TopologyCommand::Clean(args)) => topology_cmd::clean(args).await,
    }
}

/// A comparison found a regression beyond the gate: the process exits with status 1.
#[derive(Debug)]
pub struct Regressed(pub String);

impl std::fmt::Display for Regressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Regressed {}
