//! What each subcommand does; `options` turns flags into typed config once.

mod advise_cmd;
mod advise_plan;
mod advise_reuse;
pub(crate) mod capacity_cmd;
mod capacity_degrade;
mod capacity_overdrive;
mod capacity_search;
mod capacity_step;
pub(crate) mod compare_cmd;
pub mod options;
mod progress;
pub(crate) mod report_cmd;
pub mod run_cmd;
mod run_groups;
mod run_once;
mod run_sso;
pub(crate) mod summary_cmd;
pub(crate) mod topology_cmd;

use crate::cli::{Cli, Command, TopologyCommand};

/// Set while `habench advise` runs its experiments: their result lines stay off stdout, which
/// carries advise's own decision.
static NESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn nested() -> bool {
    NESTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run_cmd::run(*args).await,
        Command::Summary(args) => summary_cmd::run(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Compare(args) => compare_cmd::run(args),
        Command::Capacity(args) => capacity_cmd::run(*args).await,
        Command::Advise(args) => advise_cmd::run(args).await,
        Command::Topology(TopologyCommand::Up(args)) => topology_cmd::up(*args).await,
        Command::Topology(TopologyCommand::Clean(args)) => topology_cmd::clean(args).await,
    }
}

/// A flag that turns true on the first SIGINT or SIGTERM: runs and searches stop at the next
/// safe point and keep what they measured.
fn abort_on_signal() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (abort_tx, abort_rx) = tokio::sync::watch::channel(false);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        let _ = abort_tx.send(true);
    });
    Ok(abort_rx)
}

/// A command that ran to its end with a verdict that is not success: the results are kept and
/// the process exits with the verdict's own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `compare --fail-if-worse` found a regression beyond the gate: status 1.
    Regressed = 1,
    /// habench stalled in a run's measured phase past `--max-harness-stall`: status 3.
    Compromised = 3,
    /// A results folder lacks an output or holds a cut one: status 4.
    OutputsIncomplete = 4,
}

/// A verdict and what it says.
#[derive(Debug)]
pub(crate) struct Ended(pub Verdict, pub String);

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for Ended {}

/// The process's exit status for a command's result: 0 success, 1 a comparison found a
/// regression, 2 an error (or a run that did not complete), 3 a compromised measurement,
/// 4 a results folder with outputs missing or cut.
pub fn exit_status(result: &anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => e.downcast_ref::<Ended>().map_or(2, |Ended(v, _)| *v as u8),
    }
}

/// An error and its causes on one line, each said once: a cause whose text the line already
/// holds (libraries often repeat their source in their own message) is left out.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        // A cause that starts with what the line ends with adds only its rest.
        let text = match line.rsplit(": ").next() {
            Some(last) if !last.is_empty() && text.starts_with(last) => {
                text[last.len()..].trim_start_matches(": ").to_string()
            }
            _ => text,
        };
        if text.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error connecting to server: Connection refused")]
    struct Lib(#[source] std::io::Error);

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e = anyhow::Error::new(Lib(io))
            .context("error connecting to server")
            .context("connecting to the write endpoint");
        assert_eq!(error_line(&e), "connecting to the write endpoint: error connecting to server: Connection refused");
        let plain = anyhow::anyhow!("--rate: give 1 to 500");
        assert_eq!(error_line(&plain), "--rate: give 1 to 500");
    }
}
