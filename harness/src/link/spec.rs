//! What a link is like: one-way delay, jitter, bandwidth (`delay:20ms,jitter:2ms,bandwidth:100mbit`).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LinkSpec {
    /// Added to every byte, each direction.
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub delay: Duration,
    /// Up to this much more or less, uniformly (byte order is kept).
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub jitter: Duration,
    /// Bits per second each direction; None: unlimited.
    pub bandwidth_bps: Option<u64>,
}

/// The longest one-way delay an emulated link takes.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(60);

impl LinkSpec {
    pub fn parse(text: &str) -> Result<LinkSpec, String> {
        let mut spec = LinkSpec::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once(':')
                .ok_or_else(|| format!("`{item}`: write KEY:VALUE, e.g. delay:20ms, jitter:2ms, bandwidth:100mbit"))?;
            match k.trim() {
                "delay" => spec.delay = habench_workloads::duration::parse_duration(v.trim())?,
                "jitter" => spec.jitter = habench_workloads::duration::parse_duration(v.trim())?,
                "bandwidth" => spec.bandwidth_bps = Some(parse_bandwidth(v.trim())?),
                other => return Err(format!("`{other}` is not a link property: delay, jitter, bandwidth")),
            }
        }
        if spec.delay > MAX_DELAY {
            return Err(format!("delay {:?} is more than a link can hold here; give at most 60s", spec.delay));
        }
        if spec.jitter > spec.delay {
            return Err(format!(
                "jitter {:?} is larger than the delay {:?}; a link cannot deliver early",
                spec.jitter, spec.delay
            ));
        }
        Ok(spec)
    }

    /// The round trip this link adds (both directions).
    #[cfg(test)]
    pub(crate) fn round_trip(&self) -> Duration {
        self.delay * 2
    }
}

fn parse_bandwidth(v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let (num, mult) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .iter()
        .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|n| (n.to_string(), *m)))
        .ok_or_else(|| format!("bandwidth `{v}` needs a unit: kbit, mbit or gbit (e.g. 100mbit)"))?;
    let n: f64 = num.trim().parse().map_err(|_| format!("bandwidth `{v}` is not a number with a unit"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("bandwidth `{v}` must be above 0"));
    }
    Ok((n * mult) as u64)
}

impl fmt::Display for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delay:{}ms", self.delay.as_secs_f64() * 1e3)?;
        if !self.jitter.is_zero() {
            write!(f, ",jitter:{}ms", self.jitter.as_secs_f64() * 1e3)?;
        }
        if let Some(b) = self.bandwidth_bps {
            write!(f, ",bandwidth:{}mbit", b as f64 / 1e6)?;
        }
        Ok(())
    }
}

/// Parses `NODE=delay:...` (the `--link` flag).
pub(crate) fn parse_node_link(text: &str) -> Result<(String, LinkSpec), String> {
    let (node, spec) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: write NODE=delay:20ms[,jitter:2ms][,bandwidth:100mbit]"))?;
    Ok((node.trim().to_string(), LinkSpec::parse(spec)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_and_bad_ones_say_how() {
        let l = LinkSpec::parse("delay:20ms,jitter:2ms,bandwidth:100mbit").unwrap();
        assert_eq!(
            (l.delay, l.jitter, l.bandwidth_bps),
            (Duration::from_millis(20), Duration::from_millis(2), Some(100_000_000))
        );
        assert_eq!(l.round_trip(), Duration::from_millis(40));
        assert_eq!(parse_node_link("s1=delay:5ms").unwrap().0, "s1");
        assert!(LinkSpec::parse("delay:5").unwrap_err().contains("unit"));
        assert!(LinkSpec::parse("latency:5ms").unwrap_err().contains("delay, jitter, bandwidth"));
        assert!(LinkSpec::parse("bandwidth:100").unwrap_err().contains("mbit"));
        assert!(LinkSpec::parse("delay:1ms,jitter:2ms").unwrap_err().contains("early"));
        assert!(parse_node_link("delay:5ms").unwrap_err().contains("NODE="));
    }
}
