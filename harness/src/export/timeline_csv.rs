//! `timeline.csv`: one row per interval. Columns are fixed when the run starts.

use crate::measure::{IntervalRow, Op};

/// The columns of one run's timeline.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    pub ops: Vec<Op>,
    pub hosts: Vec<String>,
    pub standbys: Vec<String>,
    /// `--throttle` runs: the throttling state and the delay per interval.
    pub throttle: bool,
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn opt_f(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

/// The header record (with its line end).
pub(crate) fn header(c: &Columns) -> String {
    crate::text_table::line(&header_cells(c))
}

fn header_cells(c: &Columns) -> Vec<String> {
    let mut h: Vec<String> = ["t_s", "interval_s", "phase"].map(String::from).to_vec();
    for op in &c.ops {
        let o = op.as_str();
        for m in ["ok", "fail", "unknown", "ops_per_sec", "p50_us", "p99_us", "max_us"] {
            h.push(format!("{o}_{m}"));
        }
    }
    h.push("dequeue_empty".into());
    h.extend(c.hosts.iter().map(|host| format!("queue_{host}")));
    h.push("spool_rows".into());
    if c.throttle {
        h.extend(["messagebox_messages", "throttled", "throttle_delay_ms"].map(String::from));
    }
    for s in &c.standbys {
        for m in ["write_ms", "flush_ms", "replay_ms", "replay_bytes"] {
            h.push(format!("lag_{s}_{m}"));
        }
    }
    h.push("loadavg_1m".into());
    h.push("habench_rss_bytes".into());
    h
}

/// One interval's record (with its line end).
pub(crate) fn row(c: &Columns, r: &IntervalRow) -> String {
    let mut cells = vec![format!("{:.3}", r.t_s), format!("{:.3}", r.interval_s), r.phase.as_str().to_string()];
    for op in &c.ops {
        match r.stats.op(*op) {
            Some(s) => {
                let l = s.latency();
                let rate = if r.interval_s > 0.0 { s.ok as f64 / r.interval_s } else { 0.0 };
                let (p50, p99, max) = if l.count > 0 {
                    (l.p50.to_string(), l.p99.to_string(), l.max.to_string())
                } else {
                    Default::default()
                };
                cells.extend([s.ok.to_string(), s.fail.to_string(), s.unknown.to_string(), format!("{rate:.1}")]);
                cells.extend([p50, p99, max]);
            }
            None => cells.extend(["0", "0", "0", "0.0", "", "", ""].map(String::from)),
        }
    }
    cells.push(r.stats.empty_dequeues.to_string());
    for i in 0..c.hosts.len() {
        cells.push(opt(r.queue_depths.as_ref().and_then(|d| d.get(i))));
    }
    cells.push(opt(r.spool_rows));
    if c.throttle {
        let t = r.throttle;
        cells.push(opt(t.and_then(|t| t.messages)));
        cells.push(opt(t.map(|t| u8::from(t.throttled))));
        cells.push(opt_f(t.map(|t| t.delay.as_secs_f64() * 1e3)));
    }
    for s in &c.standbys {
        match r.lag.iter().find(|l| &l.name == s) {
            Some(l) => cells.extend([opt_f(l.write_ms), opt_f(l.flush_ms), opt_f(l.replay_ms), opt(l.replay_bytes)]),
            None => cells.extend(["", "", "", ""].map(String::from)),
        }
    }
    cells.push(opt_f(r.loadavg_1m));
    cells.push(opt(r.rss_bytes));
    crate::text_table::line(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{Phase, StandbyLag, Stats};
    use habench_workloads::Outcome;

    #[test]
    fn rows_have_as_many_fields_as_the_header() {
        let c = Columns {
            ops: vec![Op::Publish, Op::Complete],
            hosts: vec!["send".into()],
            standbys: vec!["s1".into(), "s2".into()],
            throttle: true,
        };
        let mut stats = Stats::default();
        stats.record(Op::Publish, Outcome::Ok, 1200);
        stats.record(Op::Publish, Outcome::Unknown, 0);
        let r = IntervalRow {
            t_s: 2.0,
            interval_s: 1.0,
            phase: Phase::Measure,
            stats,
            queue_depths: Some(vec![7]),
            spool_rows: None,
            throttle: Some(crate::measure::ThrottleSample {
                throttled: true,
                delay: std::time::Duration::from_millis(20),
                messages: Some(51_000),
            }),
            lag: vec![StandbyLag { name: "s1".into(), write_ms: Some(0.5), ..Default::default() }],
            loadavg_1m: Some(1.25),
            rss_bytes: Some(10 << 20),
        };
        let h = header(&c);
        let line = row(&c, &r);
        assert_eq!(h.split(',').count(), line.split(',').count(), "{h}{line}");
        assert!(line.starts_with("2.000,1.000,measure,1,0,1,1.0,"), "{line}");
        assert!(h.contains("lag_s2_replay_bytes") && h.contains("queue_send"));
        assert!(h.contains("spool_rows,messagebox_messages,throttled,throttle_delay_ms,"), "{h}");
        assert!(line.contains(",7,,51000,1,20.000,"), "{line}");
    }
}
