//! Where a long command is, on stderr: on a terminal one line that updates every second while
//! a step runs and a kept line per finished step; otherwise (a log, CI) a plain line for each.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    quiet: bool,
    tty: bool,
}

/// The updating line of a running step; dropping it stops the updates.
#[derive(Debug)]
pub(crate) struct Ticker(Option<tokio::task::JoinHandle<()>>);

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Progress {
        Progress { quiet, tty: std::io::stderr().is_terminal() }
    }

    /// A step begins: a plain line, or on a terminal a line that counts its seconds.
    pub(crate) fn begin(&self, text: String, expected: Duration) -> Ticker {
        if self.quiet {
            return Ticker(None);
        }
        if !self.tty {
            eprintln!("habench: {text}");
            return Ticker(None);
        }
        let started = Instant::now();
        Ticker(Some(tokio::spawn(async move {
            loop {
                let s = started.elapsed().as_secs();
                eprint!("\r\x1b[2Khabench: {text} [{s} s of ~{} s]", expected.as_secs());
                let _ = std::io::stderr().flush();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })))
    }

    /// A line that stays (a finished step's verdict), replacing the updating one.
    pub(crate) fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        if self.tty {
            eprintln!("\r\x1b[2Khabench: {text}");
        } else {
            eprintln!("habench: {text}");
        }
    }
}
