//! What a design must do, as `habench advise` is asked: the peak load, the loss the business
//! accepts (RPO), the outage it accepts (RTO), the headroom over the load, and whether the load
//! must still be carried after losing a node.

use std::time::Duration;

use habench_workloads::duration::{format_duration, parse_duration};
use serde::Serialize;

/// The recovery point objective: how much acknowledged work may be lost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rpo {
    /// At most this many acknowledged messages (`0`, `100msgs`).
    Messages(u64),
    /// Nothing acknowledged more than this long before the failure (`2s`).
    Time(#[serde(with = "habench_workloads::duration::serde_str")] Duration),
}

impl std::fmt::Display for Rpo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rpo::Messages(0) => f.write_str("0 (no acknowledged message lost)"),
            Rpo::Messages(n) => write!(f, "{n} messages"),
            Rpo::Time(d) => f.write_str(&format_duration(*d)),
        }
    }
}

/// Every requirement of one decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Requirements {
    /// Peak publishes per second.
    pub load: f64,
    pub rpo: Rpo,
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub rto: Duration,
    /// The MST must exceed the load by this fraction (0.3: 30 %).
    pub headroom: f64,
    /// The load (with its headroom) must also be carried after losing a node.
    pub n_minus_1: bool,
}

impl Requirements {
    /// The rate a design must sustain: the load plus its headroom.
    pub(crate) fn required_rate(&self) -> f64 {
        self.load * (1.0 + self.headroom)
    }
}

/// `--load`: `800/s` or `800`, publishes per second.
pub fn parse_load(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let n = t.strip_suffix("/s").unwrap_or(t).trim();
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1_000_000.0 => Ok(v),
        _ => Err(format!("`{text}` is not a load; give publishes per second, e.g. 800/s")),
    }
}

/// `--rpo`: `0`, `100msgs` (acknowledged messages) or a duration such as `2s`.
pub fn parse_rpo(text: &str) -> Result<Rpo, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Rpo::Messages(0));
    }
    if let Some(n) = t.strip_suffix("msgs").or_else(|| t.strip_suffix("msg")) {
        return n.trim().parse::<u64>().map(Rpo::Messages).map_err(|_| rpo_error(text));
    }
    parse_duration(t).map(Rpo::Time).map_err(|_| rpo_error(text))
}

fn rpo_error(text: &str) -> String {
    format!("`{text}` is not an RPO; give 0, a count of messages (100msgs) or a time (2s)")
}

/// `--rto`: a duration from 1 s to 1 h.
pub fn parse_rto(text: &str) -> Result<Duration, String> {
    match parse_duration(text.trim()) {
        Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(3600) => Ok(d),
        _ => Err(format!("`{text}` is not an RTO; give a time from 1s to 1h, e.g. 30s")),
    }
}

/// `--headroom`: `30%` or `0.3`, from 0 to 10 (1000 %).
pub fn parse_headroom(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match v {
        Ok(v) if v.is_finite() && (0.0..=10.0).contains(&v) => Ok(v),
        _ => Err(format!("`{text}` is not a headroom; give a share of the load, e.g. 30%")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_in_the_forms_people_write_them() {
        assert_eq!(parse_load("800/s"), Ok(800.0));
        assert_eq!(parse_load("250"), Ok(250.0));
        assert!(parse_load("fast").unwrap_err().contains("800/s"));
        assert!(parse_load("0/s").is_err());
        assert_eq!(parse_rpo("0"), Ok(Rpo::Messages(0)));
        assert_eq!(parse_rpo("100msgs"), Ok(Rpo::Messages(100)));
        assert_eq!(parse_rpo("2s"), Ok(Rpo::Time(Duration::from_secs(2))));
        assert!(parse_rpo("some").unwrap_err().contains("100msgs"));
        assert_eq!(parse_rto("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_rto("10ms").is_err(), "under a second is not an RTO habench can judge");
        assert_eq!(parse_headroom("30%"), Ok(0.3));
        assert_eq!(parse_headroom("0.5"), Ok(0.5));
        assert!(parse_headroom("-5%").is_err());
        let r = Requirements {
            load: 800.0,
            rpo: Rpo::Messages(0),
            rto: Duration::from_secs(30),
            headroom: 0.25,
            n_minus_1: false,
        };
        assert_eq!(r.required_rate(), 1000.0);
    }
}
