//! A receive location (`[receive]`): a real directory that a feeder fills with files, polled by
//! receive host instances that publish each file they read. How the instances share it is the
//! point: without locks (FTP, SFTP, POP3) they read files twice or half-written.

use std::time::Duration;

use habench_workloads::duration::serde_str;
use serde::Serialize;

pub(crate) use crate::config::scenario::ReceiveLock;
use crate::config::scenario::ReceiveSection;
use crate::config::{Load, Origin, WorkloadKind};
use crate::error::{Error, Result};

/// The receive location of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiveConfig {
    /// Receive host instances polling the location.
    pub instances: u16,
    pub lock: ReceiveLock,
    /// Each instance waits this long after a poll before the next (the first at an offset of its own).
    #[serde(with = "serde_str")]
    pub poll_interval: Duration,
    /// How long the feeder takes to write one file (an upload), in `pieces` writes.
    #[serde(with = "serde_str")]
    pub write_time: Duration,
    pub pieces: u16,
    /// clustered: the active instance's heartbeat, and the missed beats that declare it dead.
    #[serde(with = "serde_str")]
    pub detect_interval: Duration,
    pub detect_threshold: u32,
    /// The directory (set by the run: `receive/` in its results folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<std::path::PathBuf>,
}

/// The `[receive]` flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiveOverrides {
    pub instances: Option<u16>,
    pub lock: Option<ReceiveLock>,
}

impl ReceiveOverrides {
    fn given(&self) -> Option<&'static str> {
        match (self.instances, self.lock) {
            (Some(_), _) => Some("--receive-instances"),
            (None, Some(_)) => Some("--receive-lock"),
            (None, None) => None,
        }
    }
}

/// The run's receive location, from `[receive]` and the flags; None when the scenario has none.
pub(crate) fn receive(
    flags: ReceiveOverrides,
    section: Option<&ReceiveSection>,
    at: &Origin<'_>,
    kind: WorkloadKind,
    load: &Load,
) -> Result<Option<ReceiveConfig>> {
    let Some(s) = section else {
        return match flags.given() {
            Some(flag) => Err(Error::config(
                flag,
                "the scenario has no receive location: use `habench run receive`, or add a [receive] \
                 section to the scenario file",
            )),
            None => Ok(None),
        };
    };
    let key = |flag: Option<&'static str>, name: &str| match flag {
        Some(f) => f.to_string(),
        None => at.key(false, &format!("receive.{name}"), &format!("receive.{name}")),
    };
    if kind != WorkloadKind::Messagebox {
        return Err(Error::config(
            key(flags.given(), "instances"),
            "a receive location publishes MessageBox messages: drop --workload insert",
        ));
    }
    if !matches!(load, Load::Open { .. }) {
        return Err(Error::config(
            "--clients",
            "the feeder writes files on a schedule: a receive location needs an open load (--rate N)",
        ));
    }
    let instances = flags.instances.or(s.instances).unwrap_or(2);
    if instances == 0 || instances > 16 {
        return Err(Error::config(
            key(flags.instances.map(|_| "--receive-instances"), "instances"),
            "give 1 to 16 receive instances",
        ));
    }
    let lock = flags.lock.or(s.lock).unwrap_or(ReceiveLock::None);
    let poll_interval = s.poll_interval.map_or(Duration::from_secs(1), |d| d.0);
    if poll_interval < Duration::from_millis(10) || poll_interval > Duration::from_secs(600) {
        return Err(Error::config(key(None, "poll_interval"), "give 10ms to 10m"));
    }
    let write_time = s.write_time.map_or(Duration::from_millis(50), |d| d.0);
    if write_time > Duration::from_secs(600) {
        return Err(Error::config(key(None, "write_time"), "give 0s to 10m"));
    }
    let pieces = s.pieces.unwrap_or(4);
    if pieces == 0 || pieces > 1000 {
        return Err(Error::config(key(None, "pieces"), "give 1 to 1000 writes per file"));
    }
    let detect_interval = s.detect_interval.map_or(Duration::from_secs(1), |d| d.0);
    if detect_interval < Duration::from_millis(10) || detect_interval > Duration::from_secs(600) {
        return Err(Error::config(key(None, "detect_interval"), "give 10ms to 10m"));
    }
    let detect_threshold = s.detect_threshold.unwrap_or(3);
    if detect_threshold == 0 || detect_threshold > 100 {
        return Err(Error::config(key(None, "detect_threshold"), "give 1 to 100 missed heartbeats"));
    }
    if lock == ReceiveLock::Clustered && instances < 2 {
        return Err(Error::config(
            key(flags.instances.map(|_| "--receive-instances"), "instances"),
            "a clustered host needs 2 or more instances (one active, the others waiting to take over)",
        ));
    }
    Ok(Some(ReceiveConfig {
        instances,
        lock,
        poll_interval,
        write_time,
        pieces,
        detect_interval,
        detect_threshold,
        dir: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, RunConfig};

    fn refused(scenario: &str, receive: ReceiveOverrides, faults: &[&str]) -> String {
        let args = Overrides {
            scenario: Some(scenario.into()),
            receive,
            faults: faults.iter().map(|f| f.parse().unwrap()).collect(),
            ..Overrides::default()
        };
        RunConfig::from_overrides(&args).unwrap_err().to_string()
    }

    #[test]
    fn receive_flags_on_a_scenario_without_a_receive_location_are_refused_with_the_reason() {
        let e = refused("quick", ReceiveOverrides { lock: Some(ReceiveLock::None), instances: None }, &[]);
        assert!(e.contains("--receive-lock") && e.contains("no receive location"), "{e}");
        let e = refused("quick", ReceiveOverrides { instances: Some(2), lock: None }, &[]);
        assert!(e.contains("--receive-instances") && e.contains("habench run receive"), "{e}");
        let e = refused("quick", ReceiveOverrides::default(), &["kill-receive-instance@1s"]);
        assert!(e.contains("kill-receive-instance needs a receive location"), "{e}");
    }

    #[test]
    fn bad_receive_values_name_the_flag() {
        let e = refused("receive", ReceiveOverrides { instances: Some(0), lock: None }, &[]);
        assert!(e.contains("--receive-instances") && e.contains("1 to 16"), "{e}");
        let one_clustered = ReceiveOverrides { instances: Some(1), lock: Some(ReceiveLock::Clustered) };
        let e = refused("receive", one_clustered, &[]);
        assert!(e.contains("2 or more instances"), "{e}");
    }

    #[test]
    fn the_shipped_receive_scenario_has_a_receive_location_that_flags_override() {
        let args = Overrides {
            scenario: Some("receive".into()),
            receive: ReceiveOverrides { instances: Some(4), lock: Some(ReceiveLock::Exclusive) },
            ..Overrides::default()
        };
        let rc = RunConfig::from_overrides(&args).unwrap().receive.unwrap();
        assert_eq!((rc.instances, rc.lock, rc.pieces), (4, ReceiveLock::Exclusive, 4));
        assert_eq!(rc.poll_interval, Duration::from_secs(1));
    }
}
