//! What a fault does to a formation: crash, kill, freeze a data node's host or the monitor's.

use crate::autofailover::Formation;
use crate::error::{Error, Result};

impl Formation {
    /// Every process of the node (its keeper, its postgres) killed at once; returns how many.
    pub async fn crash_node(&mut self, name: &str) -> Result<usize> {
        Ok(self.keeper_mut(name)?.crash_async().await)
    }

    /// SIGKILL to the node's postmaster alone; its keeper keeps running (and restarts it).
    pub fn kill_postmaster(&mut self, name: &str) -> Result<u32> {
        let n = self.nodes().iter().find(|n| n.name() == name).ok_or_else(|| Error::node(name, "no such node"))?;
        let pm = crate::pg::workdir::running_postmaster(n.data_dir())
            .ok_or_else(|| Error::node(name, "no postmaster running"))?;
        crate::pg::procs::signal(pm, nix::sys::signal::Signal::SIGKILL);
        Ok(pm.pid)
    }

    /// The node's `pg_autoctl` stopped (SIGTERM: it stops its postgres too) and started again;
    /// returns how long the stop took.
    pub async fn restart_keeper(&mut self, name: &str) -> Result<std::time::Duration> {
        self.keeper_mut(name)?.restart(std::time::Duration::from_secs(60)).await
    }

    /// Freezes (true) or thaws every process of the node (a hung host).
    pub fn freeze_node(&mut self, name: &str, frozen: bool) -> Result<()> {
        self.keeper_mut(name)?.freeze(frozen)
    }

    pub fn is_frozen(&self, name: &str) -> bool {
        self.keeper(name).is_some_and(|h| h.is_frozen())
    }

    /// Freezes (true) or thaws the monitor (the coordination service gone).
    pub fn freeze_monitor(&self, frozen: bool) -> Result<()> {
        self.monitor_host().freeze(frozen)
    }

    pub fn monitor_frozen(&self) -> bool {
        self.monitor_host().is_frozen()
    }
}
