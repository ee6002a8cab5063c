//! Which report queries run, in what proportion.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// One kind of report query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Message counts by type and status over the recent window.
    Counts,
    /// The tracking row of a message just completed (the read-your-writes probe).
    Lookup,
    /// The N slowest end-to-end deliveries of the recent window.
    Slowest,
    /// Queue depth per host.
    Depth,
    /// A heavy scan: percentiles of the whole tracking table by host and status.
    Scan,
}

impl ReportKind {
    pub const ALL: [ReportKind; 5] =
        [ReportKind::Counts, ReportKind::Lookup, ReportKind::Slowest, ReportKind::Depth, ReportKind::Scan];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Counts => "counts",
            ReportKind::Lookup => "lookup",
            ReportKind::Slowest => "slowest",
            ReportKind::Depth => "depth",
            ReportKind::Scan => "scan",
        }
    }
}

/// Relative weights of the report queries (`counts=4,lookup=4,slowest=1,depth=1,scan=0`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportMix {
    pub counts: u32,
    pub lookup: u32,
    pub slowest: u32,
    pub depth: u32,
    pub scan: u32,
}

impl Default for ReportMix {
    fn default() -> Self {
        ReportMix { counts: 4, lookup: 4, slowest: 1, depth: 1, scan: 0 }
    }
}

impl ReportMix {
    fn weights(&self) -> [(ReportKind, u32); 5] {
        [
            (ReportKind::Counts, self.counts),
            (ReportKind::Lookup, self.lookup),
            (ReportKind::Slowest, self.slowest),
            (ReportKind::Depth, self.depth),
            (ReportKind::Scan, self.scan),
        ]
    }

    /// Parses `kind=weight,...`; kinds left out get weight 0.
    pub fn parse(text: &str) -> Result<ReportMix, String> {
        let mut mix = ReportMix { counts: 0, lookup: 0, slowest: 0, depth: 0, scan: 0 };
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| format!("`{item}`: write KIND=WEIGHT, e.g. scan=1"))?;
            let w: u32 = v.trim().parse().map_err(|_| format!("`{item}`: the weight is a whole number"))?;
            let slot = match k.trim() {
                "counts" => &mut mix.counts,
                "lookup" => &mut mix.lookup,
                "slowest" => &mut mix.slowest,
                "depth" => &mut mix.depth,
                "scan" => &mut mix.scan,
                other => return Err(format!("`{other}` is not a report query: counts, lookup, slowest, depth, scan")),
            };
            *slot = w;
        }
        mix.validate()?;
        Ok(mix)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.weights().iter().all(|(_, w)| *w == 0) {
            return Err("mix: give at least one report query a weight above 0".into());
        }
        Ok(())
    }

    /// Draws a query kind by weight.
    pub fn pick(&self, rng: &mut Rng) -> ReportKind {
        let total: u64 = self.weights().iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = rng.range(0, total.saturating_sub(1));
        for (k, w) in self.weights() {
            if x < u64::from(w) {
                return k;
            }
            x -= u64::from(w);
        }
        ReportKind::Counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let mix = ReportMix::parse("counts=3, scan=1").unwrap();
        let mut rng = Rng::new(7);
        let mut n = [0u32; 5];
        for _ in 0..4000 {
            n[mix.pick(&mut rng) as usize] += 1;
        }
        assert_eq!((n[1], n[2], n[3]), (0, 0, 0), "weight 0 is never drawn");
        let share = f64::from(n[0]) / 4000.0;
        assert!((0.70..0.80).contains(&share), "{share}");
    }

    #[test]
    fn bad_mixes_name_the_problem() {
        assert!(ReportMix::parse("bam=1").unwrap_err().contains("counts, lookup"));
        assert!(ReportMix::parse("scan").unwrap_err().contains("KIND=WEIGHT"));
        assert!(ReportMix::parse("scan=0").unwrap_err().contains("at least one"));
    }
}
