//! Service-level objectives of a capacity search: `publish.p99=50ms,end_to_end.p99=5s`, each a
//! latency statistic of one operation and the limit it must stay under.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::measure::Op;
use crate::summary::{Latency, Summary};

/// Which statistic of an operation's latency a term bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stat {
    P50,
    P90,
    P99,
    P999,
    Max,
}

impl Stat {
    const NAMES: [(&'static str, Stat); 6] = [
        ("p50", Stat::P50),
        ("p90", Stat::P90),
        ("p99", Stat::P99),
        ("p99.9", Stat::P999),
        ("p999", Stat::P999),
        ("max", Stat::Max),
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::P999 => "p99.9",
            Stat::Max => "max",
        }
    }

    pub(crate) fn of(self, l: &Latency) -> u64 {
        match self {
            Stat::P50 => l.p50,
            Stat::P90 => l.p90,
            Stat::P99 => l.p99,
            Stat::P999 => l.p999,
            Stat::Max => l.max,
        }
    }
}

/// One objective: `op.stat <= limit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Term {
    pub op: String,
    pub stat: Stat,
    pub limit_us: u64,
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} <= {}", self.op, self.stat.as_str(), limit_text(self.limit_us))
    }
}

impl Term {
    /// The measured value of this term in a run (None: the operation did not complete once).
    pub(crate) fn measured_us(&self, s: &Summary) -> Option<u64> {
        s.latency(&self.op).filter(|l| l.count > 0).map(|l| self.stat.of(l))
    }
}

/// Operations whose latency a term may bound.
const OPS: [Op; 6] = [Op::Publish, Op::Insert, Op::Dequeue, Op::Complete, Op::EndToEnd, Op::Report];

/// Parses `--slo`: comma-separated `op.stat=duration` terms. Errors name the term and the fix.
pub(crate) fn parse(text: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    for raw in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (key, value) =
            raw.split_once('=').ok_or_else(|| format!("`{raw}`: write op.statistic=limit, e.g. publish.p99=50ms"))?;
        let (op, stat) = key
            .trim()
            .split_once('.')
            .ok_or_else(|| format!("`{raw}`: name the operation and the statistic, e.g. publish.p99=50ms"))?;
        let op = op.trim();
        if !OPS.iter().any(|o| o.as_str() == op) {
            let known: Vec<&str> = OPS.iter().map(|o| o.as_str()).collect();
            return Err(format!("`{raw}`: unknown operation `{op}`; give one of {}", known.join(", ")));
        }
        let stat =
            Stat::NAMES.iter().find(|(n, _)| *n == stat.trim()).map(|(_, s)| *s).ok_or_else(|| {
                format!("`{raw}`: unknown statistic `{}`; give p50, p90, p99, p99.9 or max", stat.trim())
            })?;
        let limit = habench_workloads::duration::parse_duration(value).map_err(|e| format!("`{raw}`: {e}"))?;
        if limit.is_zero() {
            return Err(format!("`{raw}`: a limit of 0 can never hold; give a positive duration"));
        }
        if terms.iter().any(|t: &Term| t.op == op && t.stat == stat) {
            return Err(format!("`{raw}`: {op}.{} is given twice; keep one", stat.as_str()));
        }
        terms.push(Term { op: op.to_string(), stat, limit_us: micros(limit) });
    }
    if terms.is_empty() {
        return Err("give at least one term, e.g. publish.p99=50ms,end_to_end.p99=5s".into());
    }
    Ok(terms)
}

/// A limit as it was likely written: whole seconds, whole milliseconds, else microseconds.
pub(crate) fn limit_text(us: u64) -> String {
    if us >= 1_000_000 && us.is_multiple_of(1_000_000) {
        format!("{} s", us / 1_000_000)
    } else if us >= 1000 && us.is_multiple_of(1000) {
        format!("{} ms", us / 1000)
    } else if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_parse_with_their_units() {
        let t = parse("publish.p99=50ms, end_to_end.p99.9=5s,dequeue.max=800us").unwrap();
        assert_eq!(t[0], Term { op: "publish".into(), stat: Stat::P99, limit_us: 50_000 });
        assert_eq!(t[1], Term { op: "end_to_end".into(), stat: Stat::P999, limit_us: 5_000_000 });
        assert_eq!(t[2].limit_us, 800);
        assert_eq!(t[0].to_string(), "publish.p99 <= 50 ms");
    }

    #[test]
    fn bad_terms_are_refused_naming_the_term() {
        let err = |s: &str| parse(s).unwrap_err();
        assert!(err("publsh.p99=50ms").contains("unknown operation `publsh`"), "{}", err("publsh.p99=50ms"));
        assert!(err("publish.p98=50ms").contains("unknown statistic `p98`"));
        assert!(err("publish.p99=50").contains("needs a unit"));
        assert!(err("publish.p99=50kg").contains("unknown unit `kg`"));
        assert!(err("publish.p99=0ms").contains("can never hold"));
        assert!(err("publish.p99").contains("op.statistic=limit"));
        assert!(err("p99=5ms").contains("name the operation"));
        assert!(err("publish.p99=5ms,publish.p99=6ms").contains("given twice"));
        assert!(err("").contains("at least one term"));
    }
}
