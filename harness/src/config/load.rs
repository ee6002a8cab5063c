//! The load section: an open-loop schedule (rate, arrival, publishers) or closed-loop clients.

use std::time::Duration;

use habench_workloads::duration::serde_str;
use serde::Serialize;

use crate::config::{scenario, Arrival, LoadMode, Origin, Overrides};
use crate::error::{Error, Result};

/// How publishes are paced.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Load {
    /// A schedule at `rate` publishes/s; latency counts from each intended start.
    Open { rate: f64, arrival: Arrival, publishers: u16 },
    /// `clients` connections publishing back to back.
    Closed { clients: u16 },
}

/// Open loop: from `at` after the start of the measured phase, the schedule runs at `rate`
/// (an overdrive and the lower load after it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateChange {
    #[serde(with = "serde_str")]
    pub at: Duration,
    pub rate: f64,
}

pub(crate) fn load(args: &Overrides, file: &scenario::ScenarioFile, at: &Origin<'_>) -> Result<Load> {
    let lsec = file.load.clone().unwrap_or_default();
    let mode = if args.clients.is_some() {
        LoadMode::Closed
    } else if args.rate.is_some() {
        LoadMode::Open
    } else {
        lsec.mode.unwrap_or(if lsec.clients.is_some() && lsec.rate.is_none() {
            LoadMode::Closed
        } else {
            LoadMode::Open
        })
    };
    Ok(match mode {
        LoadMode::Open => {
            let rate = args.rate.or(lsec.rate).unwrap_or(100.0);
            if !(rate.is_finite() && rate > 0.0 && rate <= 1_000_000.0) {
                return Err(Error::config(
                    at.key(args.rate.is_some(), "--rate", "load.rate"),
                    format!(
                        "{rate} is not a rate; give publishes per second, more than 0 and at most 1000000, e.g. 500"
                    ),
                ));
            }
            let arrival = args.arrival.or(lsec.arrival).unwrap_or(Arrival::Poisson);
            let publishers = args.publishers.or(lsec.publishers).unwrap_or(8);
            if publishers == 0 || publishers > 500 {
                return Err(Error::config(
                    at.key(args.publishers.is_some(), "--publishers", "load.publishers"),
                    "give 1 to 500 connections",
                ));
            }
            Load::Open { rate, arrival, publishers }
        }
        LoadMode::Closed => {
            let clients = args.clients.or(lsec.clients).unwrap_or(4);
            if clients == 0 || clients > 500 {
                return Err(Error::config(
                    at.key(args.clients.is_some(), "--clients", "load.clients"),
                    "give 1 to 500",
                ));
            }
            Load::Closed { clients }
        }
    })
}
